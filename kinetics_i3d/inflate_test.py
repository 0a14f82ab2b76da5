"""Tests of i3d-inflate's command line (I3D's inflation, CVPR 2017, 2.4).

The inflation itself is tested in training/inflate_test.py.
"""

import os
import tempfile

from absl.testing import absltest
import numpy as np

from kinetics_i3d.testing import tool_runs


class InflateToolTest(absltest.TestCase):
  """Bad input: one line naming the flag and path, nothing written."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.a_file = os.path.join(cls.root, 'afile')
    open(cls.a_file, 'w').close()
    cls.truncated = os.path.join(cls.root, 'truncated.npz')
    whole = os.path.join(cls.root, 'whole.npz')
    np.savez(whole, x=np.arange(1000.))
    with open(whole, 'rb') as f:
      data = f.read()
    with open(cls.truncated, 'wb') as f:
      f.write(data[:len(data) // 2])
    out = os.path.join(cls.root, 'out', 'model.ckpt')
    cls.results = tool_runs.run_tools('kinetics_i3d.inflate', {
        'output_under_a_file': [f'--input={whole}',
                                f'--output={cls.a_file}/model.ckpt'],
        'truncated_npz': [f'--input={cls.truncated}', f'--output={out}'],
        'unknown_flag': [f'--input={whole}', '--nmu_classes=3'],
        'repeated_flag': [f'--input={whole}', '--input=other.npz'],
    })

  def _one_line(self, case, returncode, message):
    result = self.results[case]
    self.assertEqual(result.returncode, returncode, result.stderr)
    self.assertNotIn('Traceback', result.stderr)
    self.assertLen(result.stderr.strip().splitlines(), 1, result.stderr)
    self.assertRegex(result.last_line, message)

  def test_output_under_a_file(self):
    self._one_line('output_under_a_file', 1,
                   f'^i3d-inflate: --output={self.a_file}/model.ckpt: '
                   f'{self.a_file} is a file, not a folder')

  def test_truncated_npz(self):
    self._one_line('truncated_npz', 1,
                   f'^i3d-inflate: {self.truncated}: not a readable .npz')
    self.assertFalse(os.path.exists(os.path.join(self.root, 'out')))

  def test_flags(self):
    self._one_line('unknown_flag', 2, "Unknown command line flag 'nmu_classes'")
    self._one_line('repeated_flag', 2, '--input given more than once')


if __name__ == '__main__':
  absltest.main()
