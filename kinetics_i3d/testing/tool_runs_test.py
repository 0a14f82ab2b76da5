"""Tests for tool_runs.py, the runner of the I3D tools' command-line tests."""

import os
import tempfile
import textwrap

from absl.testing import absltest

from kinetics_i3d import paths
from kinetics_i3d.testing import tool_runs

_FAKE_TOOL = textwrap.dedent('''\
    import sys

    def run():
      print(' '.join(sys.argv))
      print('first', file=sys.stderr)
      print(f'{sys.argv[0]}: last', file=sys.stderr)
      sys.exit(int(sys.argv[-1]))
    ''')


class ToolRunsTest(absltest.TestCase):

  def test_runs_run_as_a_console_script(self):
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, 'fake_tool.py'), 'w') as f:
      f.write(_FAKE_TOOL)
    env = {'PYTHONPATH': os.pathsep.join([folder, paths.PROJECT_DIR])}
    results = tool_runs.run_tools('fake_tool', {'ok': ['--a=1', '0'],
                                                'bad': ['3']}, env=env)
    self.assertEqual(results['ok'].returncode, 0)
    self.assertEqual(results['ok'].stdout, 'i3d-fake-tool --a=1 0\n')
    self.assertEqual(results['bad'].returncode, 3)
    self.assertEqual(results['bad'].last_line, 'i3d-fake-tool: last')
    prelude = "sys.argv.append('5'); "
    self.assertEqual(tool_runs.run_tool('fake_tool', env=env,
                                        prelude=prelude).returncode, 5)

  def test_forked_runs_match_fresh_ones(self):
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, 'forked_tool.py'), 'w') as f:
      f.write(_FAKE_TOOL)
    # No start-up variable changes: the runs fork from the server.
    prelude = f'sys.path.insert(0, {folder!r}); '
    cases = {'ok': ['--a=1', '0'], 'bad': ['3']}
    forked = tool_runs.run_tools('forked_tool', cases, prelude=prelude,
                                 env={'I3D_TEST_VARIABLE': '1'})
    fresh = tool_runs.run_tools('forked_tool', cases, prelude=prelude,
                                fresh_process=True)
    self.assertEqual(forked, fresh)
    self.assertEqual(forked['ok'].stdout, 'i3d-forked-tool --a=1 0\n')
    self.assertEqual(forked['bad'].returncode, 3)
    self.assertEqual(forked['bad'].stderr, 'first\ni3d-forked-tool: last\n')


if __name__ == '__main__':
  absltest.main()
