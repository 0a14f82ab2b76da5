"""Runs a command-line tool of the project as a user would, for tests.

The tools of this I3D reimplementation (Carreira & Zisserman, "Quo Vadis,
Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017) are
tested through their `run()`, the console scripts' entry point, in a fresh
Python process: exit status and stderr are what a user sees.
"""

import dataclasses
import os
import subprocess
import sys
from typing import Dict, Mapping, Optional, Sequence

from kinetics_i3d import paths

# A console script: `sys.argv[0]` is the script, `run()` the entry point.
_ENTRY = ('import sys, importlib; sys.argv[0] = {name!r}; {prelude}'
          'importlib.import_module({module!r}).run()')


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


def command(module: str, args: Sequence[str] = (),
            prelude: str = '') -> list:
  """The command line that runs tool `module` (e.g. 'kinetics_i3d.fvd').

  Args:
    module: The tool module.
    args: Its arguments.
    prelude: Python run before the tool is imported (e.g. one that hides a
      package, to test a missing dependency).

  Returns:
    argv for `subprocess`.
  """
  name = 'i3d-' + module.rsplit('.', 1)[-1].replace('_', '-')
  return [sys.executable, '-c',
          _ENTRY.format(name=name, prelude=prelude, module=module), *args]


def _environment(env: Optional[Mapping[str, str]]) -> Dict[str, str]:
  environment = dict(os.environ)
  environment.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  environment['PYTHONPATH'] = os.pathsep.join(
      p for p in (paths.PROJECT_DIR, environment.get('PYTHONPATH')) if p)
  environment.update(env or {})
  return environment


def run_tool(module: str, args: Sequence[str] = (), prelude: str = '',
             env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
             timeout_s: float = 600) -> ToolResult:
  """Runs tool `module` with `args` in a fresh process and waits for it.

  Args:
    module: The tool module, e.g. 'kinetics_i3d.inflate'.
    args: Its command-line arguments.
    prelude: Python run before the tool is imported.
    env: Extra environment variables.
    cwd: Working folder (default: this process's).
    timeout_s: Seconds before the run is killed (a test failure).

  Returns:
    Its exit status, stdout and stderr.
  """
  return run_tools(module, {'run': args}, prelude, env, cwd,
                   timeout_s)['run']


def run_tools(module: str, cases: Mapping[str, Sequence[str]],
              prelude: str = '', env: Optional[Mapping[str, str]] = None,
              cwd: Optional[str] = None,
              timeout_s: float = 600) -> Dict[str, ToolResult]:
  """Runs tool `module` once per case, all at once (each pays TF's start).

  Args:
    module: The tool module.
    cases: {case name: arguments}.
    prelude: Python run before the tool is imported.
    env: Extra environment variables.
    cwd: Working folder (default: this process's).
    timeout_s: Seconds before a run is killed (a test failure).

  Returns:
    {case name: its result}.
  """
  environment = _environment(env)
  processes = {
      name: subprocess.Popen(command(module, args, prelude), env=environment,
                             cwd=cwd, stdout=subprocess.PIPE,
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
