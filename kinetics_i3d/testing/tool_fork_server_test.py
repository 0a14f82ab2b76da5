"""Tests of tool_fork_server.py, which forks the I3D tools' test runs."""

import os
import signal

from absl.testing import absltest

from kinetics_i3d.testing import tool_fork_server

# A tool module made by the prelude: prints, then exits with its last argument.
_FAKE_TOOL = (
    'import types; tool = types.ModuleType("fake_tool"); '
    'tool.run = lambda: print(sys.argv[0], os.getcwd(), os.environ["X"]) or '
    'print("oops", file=sys.stderr) or sys.exit(int(sys.argv[-1])); '
    'import os; sys.modules["fake_tool"] = tool; ')


def _case(args, prelude=_FAKE_TOOL, env=None):
  return {'module': 'fake_tool', 'argv0': 'i3d-fake', 'args': args,
          'prelude': prelude, 'env': env or {'X': 'y'}, 'cwd': '/',
          'as_main': False}


class RunCasesTest(absltest.TestCase):

  def test_each_case_in_its_own_child(self):
    results = tool_fork_server.run_cases(
        {'ok': _case(['0']), 'bad': _case(['3'], env={'X': 'z'})},
        timeout_s=120)
    self.assertEqual(results['ok'], [0, 'i3d-fake / y\n', 'oops\n'])
    self.assertEqual(results['bad'], [3, 'i3d-fake / z\n', 'oops\n'])
    self.assertNotEqual(os.environ.get('X'), 'z')  # The server's unchanged.

  def test_a_crash_is_a_traceback_and_status_1(self):
    (status, _, stderr), = tool_fork_server.run_cases(
        {'crash': _case([], prelude='raise KeyError("a bug"); ')},
        timeout_s=120).values()
    self.assertEqual(status, 1)
    self.assertIn("KeyError: 'a bug'", stderr)

  def test_a_child_past_the_timeout_is_killed(self):
    (status, _, _), = tool_fork_server.run_cases(
        {'slow': _case([], prelude='import time; time.sleep(60); ')},
        timeout_s=1).values()
    self.assertEqual(status, -signal.SIGKILL)

  def test_exit_status_as_the_interpreter_computes_it(self):
    self.assertEqual(tool_fork_server._exit_status(None), 0)
    self.assertEqual(tool_fork_server._exit_status(4), 4)


if __name__ == '__main__':
  absltest.main()
