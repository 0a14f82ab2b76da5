"""Runs a command-line tool of the project as a user would, for tests.

The tools of this I3D reimplementation (Carreira & Zisserman, "Quo Vadis,
Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017) are
tested through their `run()`, the console scripts' entry point, in a
process of their own: exit status and stderr are what a user sees. The
process is forked from `tool_fork_server`, which has imported TensorFlow
once for the whole test session; a case whose environment changes how
Python or TensorFlow start (`PYTHON*`, `TF_*`, `CUDA_*` variables) gets a
fresh interpreter instead, as does any run with `fresh_process=True`.
"""

import atexit
import dataclasses
import functools
import json
import os
import subprocess
import sys
from typing import Dict, Mapping, Optional, Sequence

from kinetics_i3d import paths

# A console script: `sys.argv[0]` is the script, `run()` the entry point.
_ENTRY = ('import sys, importlib; sys.argv[0] = {name!r}; {prelude}'
          'importlib.import_module({module!r}).run()')
# `python -m module`, for a root script such as evaluate_sample.py.
_MAIN_ENTRY = ('import sys, runpy; {prelude}'
               'runpy.run_module({module!r}, run_name="__main__", '
               'alter_sys=True)')


@dataclasses.dataclass(frozen=True)
class ToolResult:
  """What a finished tool run left."""
  returncode: int
  stdout: str
  stderr: str

  @property
  def last_line(self) -> str:
    """The last line of stderr ('' if none)."""
    lines = self.stderr.strip().splitlines()
    return lines[-1] if lines else ''


# Variables read when Python or TensorFlow start: a forked run cannot change
# them.
_STARTUP_VARIABLES = ('PYTHON', 'TF_', 'CUDA_')


def _console_script_name(module: str) -> str:
  return 'i3d-' + module.rsplit('.', 1)[-1].replace('_', '-')


def command(module: str, args: Sequence[str] = (), prelude: str = '',
            as_main: bool = False) -> list:
  """The command line that runs tool `module` (e.g. 'kinetics_i3d.fvd').

  Args:
    module: The tool module.
    args: Its arguments.
    prelude: Python run before the tool is imported (e.g. one that hides a
      package, to test a missing dependency).
    as_main: Run the module as `__main__` (`python -m module`; `sys.argv[0]`
      its file) rather than call its `run()` as a console script would.

  Returns:
    argv for `subprocess`.
  """
  entry = _MAIN_ENTRY if as_main else _ENTRY
  return [sys.executable, '-c',
          entry.format(name=_console_script_name(module), prelude=prelude,
                       module=module), *args]


def _environment(env: Optional[Mapping[str, str]]) -> Dict[str, str]:
  environment = dict(os.environ)
  environment.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  environment['PYTHONPATH'] = os.pathsep.join(
      p for p in (paths.PROJECT_DIR, environment.get('PYTHONPATH')) if p)
  environment.update(env or {})
  return environment


def run_tool(module: str, args: Sequence[str] = (), prelude: str = '',
             env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
             timeout_s: float = 600, fresh_process: bool = False,
             as_main: bool = False) -> ToolResult:
  """Runs tool `module` with `args` in a process of its own and waits for it.

  Args:
    module: The tool module, e.g. 'kinetics_i3d.inflate'.
    args: Its command-line arguments.
    prelude: Python run before the tool is imported.
    env: Extra environment variables.
    cwd: Working folder (default: this process's).
    timeout_s: Seconds before the run is killed (a test failure).
    fresh_process: Start a new interpreter rather than fork the server (for
      tests of the process's own start).
    as_main: Run the module as `__main__` (see `command`).

  Returns:
    Its exit status, stdout and stderr.
  """
  return run_tools(module, {'run': args}, prelude, env, cwd, timeout_s,
                   fresh_process, as_main)['run']


def run_tools(module: str, cases: Mapping[str, Sequence[str]],
              prelude: str = '', env: Optional[Mapping[str, str]] = None,
              cwd: Optional[str] = None,
              timeout_s: float = 600,
              fresh_process: bool = False,
              as_main: bool = False) -> Dict[str, ToolResult]:
  """Runs tool `module` once per case, all at once, each in its own process.

  Args:
    module: The tool module.
    cases: {case name: arguments}.
    prelude: Python run before the tool is imported.
    env: Extra environment variables.
    cwd: Working folder (default: this process's).
    timeout_s: Seconds before a run is killed (a test failure).
    fresh_process: Start a new interpreter per case rather than fork the
      server.
    as_main: Run the module as `__main__` (see `command`).

  Returns:
    {case name: its result}.
  """
  environment = _environment(env)
  server = None if fresh_process else _fork_server()
  if server is None or _changes_startup(environment, server.environment):
    return _run_fresh(module, cases, prelude, environment, cwd, timeout_s,
                      as_main)
  return server.run(
      {name: {'module': module, 'argv0': _console_script_name(module),
              'args': list(args), 'prelude': prelude, 'env': environment,
              'cwd': cwd or os.getcwd(), 'as_main': as_main}
       for name, args in cases.items()}, timeout_s)


def _changes_startup(environment: Mapping[str, str],
                     server_environment: Mapping[str, str]) -> bool:
  """Whether `environment` differs from the server's in a start-up variable."""
  names = set(environment) | set(server_environment)
  return any(name.startswith(_STARTUP_VARIABLES) and
             environment.get(name) != server_environment.get(name)
             for name in names)


class _ForkServer:
  """The client end of a running `tool_fork_server`."""

  def __init__(self):
    self.environment = _environment(None)
    self._process = subprocess.Popen(
        [sys.executable, '-m', 'kinetics_i3d.testing.tool_fork_server'],
        env=self.environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    atexit.register(self.close)

  def run(self, cases: Mapping[str, Mapping[str, object]],
          timeout_s: float) -> Dict[str, ToolResult]:
    """Runs `cases` (the server's format) and returns their results."""
    self._process.stdin.write(
        json.dumps({'cases': cases, 'timeout_s': timeout_s}) + '\n')
    self._process.stdin.flush()
    reply = self._process.stdout.readline()
    if not reply:
      raise RuntimeError('the tool fork server exited with status '
                         f'{self._process.wait()}')
    return {name: ToolResult(*result)
            for name, result in json.loads(reply).items()}

  def close(self) -> None:
    if self._process.poll() is None:
      self._process.stdin.close()
      self._process.wait(timeout=60)


@functools.lru_cache(maxsize=None)
def _fork_server() -> Optional[_ForkServer]:
  """The session's fork server; None where processes cannot fork."""
  if not hasattr(os, 'fork'):
    return None
  return _ForkServer()


def _run_fresh(module: str, cases: Mapping[str, Sequence[str]], prelude: str,
               environment: Mapping[str, str], cwd: Optional[str],
               timeout_s: float, as_main: bool) -> Dict[str, ToolResult]:
  """`run_tools` with a new interpreter per case."""
  processes = {
      name: subprocess.Popen(command(module, args, prelude, as_main),
                             env=environment, cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
      for name, args in cases.items()}
  results = {}
  try:
    for name, process in processes.items():
      stdout, stderr = process.communicate(timeout=timeout_s)
      results[name] = ToolResult(process.returncode, stdout, stderr)
  finally:
    for process in processes.values():
      if process.poll() is None:
        process.kill()
        process.wait()
  return results
