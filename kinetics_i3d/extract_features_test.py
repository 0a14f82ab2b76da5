"""Tests of i3d-extract-features' command line (I3D features, CVPR 2017).

The extraction itself is tested in features/*_test.py; these
cases are refused before any model is built.
"""

import os
import tempfile

from absl.testing import absltest
import numpy as np

from kinetics_i3d.testing import tool_runs


class ExtractFeaturesToolTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.out = os.path.join(cls.root, 'out')
    cls.premade = os.path.join(cls.root, 'clip_rgb.npy')
    np.save(cls.premade, np.zeros((1, 10, 32, 32, 3), np.float32))
    cls.missing = os.path.join(cls.root, 'missing.mp4')
    cls.results = tool_runs.run_tools('kinetics_i3d.extract_features', {
        'missing_input': [f'--inputs={cls.missing}', f'--output_dir={cls.out}'],
        'output_in_proc': [f'--inputs={cls.premade}', '--output_dir=/proc/f'],
        'unknown_flag': [f'--inputs={cls.premade}', f'--output_dir={cls.out}',
                         '--widnow=16'],
        'repeated_flag': [f'--inputs={cls.premade}', f'--inputs={cls.missing}',
                          f'--output_dir={cls.out}'],
    })

  def _one_line(self, case, returncode, message):
    result = self.results[case]
    self.assertEqual(result.returncode, returncode, result.stderr)
    self.assertNotIn('Traceback', result.stderr)
    self.assertLen(result.stderr.strip().splitlines(), 1, result.stderr)
    self.assertRegex(result.last_line, '^i3d-extract-features: ' + message)

  def test_ctrl_c(self):
    result = tool_runs.run_tool(
        'kinetics_i3d.extract_features',
        [f'--inputs={self.premade}', f'--output_dir={self.out}'], prelude=(
            'from kinetics_i3d.utils import cli; '
            'from kinetics_i3d.features import batch_run; '
            'batch_run.run = lambda *a, **k: '
            '(_ for _ in ()).throw(KeyboardInterrupt()); '))
    self.assertEqual(result.returncode, 130, result.stderr)
    self.assertEqual(result.stderr.strip().splitlines(), [
        'i3d-extract-features: interrupted; re-run the same command to '
        'resume'])

  def test_refusals_write_nothing(self):
    self._one_line('missing_input', 2,
                   f'--inputs: {self.missing} does not exist')
    self._one_line('output_in_proc', 1,
                   '--output_dir=/proc/f: /proc cannot be written')
    self._one_line('unknown_flag', 2, "Unknown command line flag 'widnow'")
    self._one_line('repeated_flag', 2, '--inputs given more than once')
    self.assertFalse(os.path.exists(self.out))


if __name__ == '__main__':
  absltest.main()
