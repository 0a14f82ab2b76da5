"""A process that has imported TensorFlow once and forks a tool run per case.

The command-line tests of this I3D reimplementation (Carreira & Zisserman,
"Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR
2017) run each tool as a user would: `run()`, the console scripts' entry
point, in a process of its own, whose exit status and stderr are what the
test reads. Starting Python and importing TensorFlow dominates such a run;
this server pays it once per test session. Each request is a list of cases;
each case is run in a child forked from the server, which runs the case's
prelude, imports the tool and calls its `run()` with the case's `sys.argv`,
environment and working folder, with stdin empty and stdout and stderr going
to files of its own. The child's exit status is the tool's.

Protocol (one JSON document a line): the client writes
`{"cases": {name: case}, "timeout_s": s}` with each case
`{"module", "argv0", "args", "prelude", "env", "cwd", "as_main"}` (with
`as_main` the module runs as `__main__`, as `python -m` runs it), and reads
`{name: [returncode, stdout, stderr]}`.
"""

import importlib
import json
import os
import runpy
import signal
import sys
import tempfile
import time
import traceback
from typing import Any, Dict, List, Mapping

# What every tool imports first (TensorFlow, quietly, and absl), and Sonnet.
# pylint: disable=g-import-not-at-top,unused-import
from kinetics_i3d.utils import cli
import sonnet
# pylint: enable=g-import-not-at-top,unused-import


def _exit_status(code: Any) -> int:
  """The exit status of `sys.exit(code)`, as the interpreter computes it."""
  if code is None:
    return 0
  if isinstance(code, int):
    return code
  print(code, file=sys.stderr)
  return 1


def _run_child(case: Mapping[str, Any], stdout_fd: int,
               stderr_fd: int) -> None:
  """In the forked child: runs one case and exits with its status."""
  status = 1
  try:
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    # The interpreter's own streams, now on those files (the server points
    # sys.stdout at stderr; a test runner may have replaced both).
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    os.environ.clear()
    os.environ.update(case['env'])
    if case['cwd']:
      os.chdir(case['cwd'])
    sys.argv = [case['argv0'], *case['args']]
    namespace = {'sys': sys, 'importlib': importlib}
    exec(case['prelude'], namespace)  # pylint: disable=exec-used
    if case['as_main']:
      runpy.run_module(case['module'], run_name='__main__', alter_sys=True)
    else:
      importlib.import_module(case['module']).run()
    status = 0
  except SystemExit as e:
    status = _exit_status(e.code)
  except BaseException:  # pylint: disable=broad-except
    traceback.print_exc()
  finally:
    for stream in (sys.stdout, sys.stderr):
      try:
        stream.flush()
      except Exception:  # pylint: disable=broad-except
        pass
    os._exit(status)  # pylint: disable=protected-access


def _wait(pids: Dict[str, int], timeout_s: float) -> Dict[str, int]:
  """Waits for the children; kills those still running after `timeout_s`."""
  deadline = time.monotonic() + timeout_s
  statuses = {}
  while len(statuses) < len(pids):
    for name, pid in pids.items():
      if name in statuses:
        continue
      done, status = os.waitpid(pid, os.WNOHANG)
      if done:
        statuses[name] = os.waitstatus_to_exitcode(status)
    if time.monotonic() > deadline:
      for name, pid in pids.items():
        if name not in statuses:
          os.kill(pid, signal.SIGKILL)
          os.waitpid(pid, 0)
          statuses[name] = -signal.SIGKILL
    time.sleep(0.01)
  return statuses


def run_cases(cases: Mapping[str, Mapping[str, Any]],
              timeout_s: float) -> Dict[str, List[Any]]:
  """Forks one child per case, all at once, and collects what each left.

  Args:
    cases: {name: case}, each as in the module docstring.
    timeout_s: Seconds before a child still running is killed.

  Returns:
    {name: [exit status (negative: killed by that signal), stdout, stderr]}.
  """
  files, pids = {}, {}
  sys.stdout.flush()
  sys.stderr.flush()
  for name, case in cases.items():
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    files[name] = (out, err)
    pid = os.fork()
    if pid == 0:
      _run_child(case, out.fileno(), err.fileno())
    pids[name] = pid
  statuses = _wait(pids, timeout_s)
  results = {}
  for name, (out, err) in files.items():
    texts = []
    for f in (out, err):
      f.seek(0)
      texts.append(f.read().decode('utf-8', 'replace'))
      f.close()
    results[name] = [statuses[name], *texts]
  return results


def main() -> None:
  """Answers requests from stdin until it closes."""
  replies = sys.stdout
  sys.stdout = sys.stderr  # Nothing but replies on the reply stream.
  for line in sys.stdin:
    request = json.loads(line)
    reply = run_cases(request['cases'], request['timeout_s'])
    replies.write(json.dumps(reply) + '\n')
    replies.flush()


if __name__ == '__main__':
  main()
