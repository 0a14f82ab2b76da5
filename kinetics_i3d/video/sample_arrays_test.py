"""Tests for sample_arrays.load: the one reader of `<name>_{rgb,flow}.npy`."""

import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from kinetics_i3d.video import sample_arrays


class LoadTest(tf.test.TestCase, parameterized.TestCase):

  def _save(self, array, name='clip_rgb.npy'):
    path = os.path.join(self.get_temp_dir(), name)
    np.save(path, array)
    return path

  @parameterized.parameters(False, True)
  def test_batch_of_one_is_removed(self, batched):
    clip = np.linspace(-1, 1, 9 * 4 * 4 * 3, dtype=np.float32).reshape(
        1, 9, 4, 4, 3)
    loaded = sample_arrays.load(self._save(clip), 'rgb', '--rgb_sample',
                                batched=batched)
    self.assertIsInstance(loaded, np.memmap)
    self.assertEqual(loaded.shape, (9, 4, 4, 3))
    np.testing.assert_array_equal(loaded, clip[0])

  def test_unbatched_accepted_unless_required(self):
    path = self._save(np.zeros((9, 4, 4, 2), np.float32), 'c_flow.npy')
    self.assertEqual(sample_arrays.load(path, 'flow', 'input').shape,
                     (9, 4, 4, 2))
    with self.assertRaisesRegex(sample_arrays.SampleArrayError,
                                r'^--flow_sample: .*c_flow\.npy holds a '
                                r'float32 array of shape \(9, 4, 4, 2\); '
                                r'expected float \[1, T, H, W, 2\]'):
      sample_arrays.load(path, 'flow', '--flow_sample', batched=True)

  @parameterized.named_parameters(
      ('channels', np.zeros((1, 9, 4, 4, 2), np.float32), {}, 'shape'),
      ('integers', np.zeros((1, 9, 4, 4, 3), np.uint8), {}, 'uint8'),
      ('size', np.zeros((1, 9, 4, 4, 3), np.float32), {'frame_size': 224},
       '4x4 frames; the logits need 224x224'),
      ('frames', np.zeros((1, 8, 4, 4, 3), np.float32), {'min_frames': 9},
       '8 frames; the logits need at least 9'))
  def test_misfits_are_one_line(self, array, kwargs, text):
    with self.assertRaisesRegex(sample_arrays.SampleArrayError,
                                rf'^input: .*clip_rgb\.npy.*{text}'):
      sample_arrays.load(self._save(array), 'rgb', 'input', **kwargs)

  def test_unreadable_files(self):
    text = os.path.join(self.get_temp_dir(), 'text_rgb.npy')
    with open(text, 'w') as f:
      f.write('not an array')
    objects = self._save(np.array([{'a': 1}], dtype=object), 'obj_rgb.npy')
    missing = os.path.join(self.get_temp_dir(), 'missing_rgb.npy')
    for path, message in ((text, 'not a readable .npy array'),
                          (objects, 'never unpickled'),
                          (missing, 'cannot be read')):
      with self.assertRaisesRegex(sample_arrays.SampleArrayError,
                                  f'^input: {path}.*{message}'):
        sample_arrays.load(path, 'rgb', 'input')


if __name__ == '__main__':
  tf.test.main()
