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


if __name__ == '__main__':
  absltest.main()
