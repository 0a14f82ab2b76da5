"""Tests of i3d-train's command line (I3D's training recipe, CVPR 2017).

Training, and the tool's handling of datasets and config files, are tested
in training/train_test.py (`ToolTest`).
"""

from absl.testing import absltest

from kinetics_i3d.testing import tool_runs

# Ctrl-C during training (training/train_test.py checks what it saves).
_INTERRUPTED = ('from kinetics_i3d.utils import cli; '
                'from kinetics_i3d.training import train; '
                'train.train = lambda *a, **k: '
                '(_ for _ in ()).throw(KeyboardInterrupt()); ')


class TrainToolTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    model_dir = '--config.model_dir=' + absltest.get_default_test_tmpdir()
    cls.results = tool_runs.run_tools('kinetics_i3d.train', {
        'unknown_flag': ['--confg=x.py'],
        'repeated_flag': ['--config.mode=eval', '--config.mode=train'],
    })
    cls.results['interrupted'] = tool_runs.run_tool(
        'kinetics_i3d.train', [model_dir], prelude=_INTERRUPTED)

  def _one_line(self, case, returncode, message):
    result = self.results[case]
    self.assertEqual(result.returncode, returncode, result.stderr)
    self.assertNotIn('Traceback', result.stderr)
    lines = [line for line in result.stderr.splitlines()
             if line.startswith('i3d-train')]
    self.assertLen(lines, 1, result.stderr)
    self.assertRegex(lines[0], '^i3d-train: ' + message)

  def test_flags(self):
    self._one_line('unknown_flag', 2, "Unknown command line flag 'confg'")
    self._one_line('repeated_flag', 2, '--config.mode given more than once')

  def test_ctrl_c(self):
    self._one_line('interrupted', 130,
                   'interrupted; re-run the same command to resume$')


if __name__ == '__main__':
  absltest.main()
