"""Tests for gray: OpenCV's RGB2GRAY, checked against its published weights."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from kinetics_i3d.video import gray


class ToGrayTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters((5, 7, 3), (2, 5, 7, 3), (2, 2, 5, 7, 3))
  def test_matches_the_weights(self, *shape):
    rgb = np.random.RandomState(0).randint(0, 256, shape).astype(np.uint8)
    # OpenCV's documented conversion: Y = 0.299 R + 0.587 G + 0.114 B,
    # in fixed point with 14 fraction bits.
    weights = np.array([4899, 9617, 1868], np.int64)
    expected = (rgb.astype(np.int64) @ weights + (1 << 13)) >> 14
    result = gray.to_gray(rgb)
    self.assertEqual(result.dtype, np.uint8)
    self.assertEqual(result.shape, shape[:-1])
    np.testing.assert_array_equal(result, expected)

  def test_grey_is_kept(self):
    frame = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(gray.to_gray(frame), frame)
    np.testing.assert_array_equal(gray.to_gray(frame[None, ..., None])[0],
                                  frame)

  @parameterized.parameters(((3, 4, 3), np.float32, 'uint8'),
                            ((3, 4, 2), np.uint8, 'shape'),
                            ((4,), np.uint8, 'shape'))
  def test_bad_frames_name_the_argument(self, shape, dtype, text):
    with self.assertRaisesRegex(ValueError, f'frame_a.*{text}'):
      gray.to_gray(np.zeros(shape, dtype), name='frame_a')


if __name__ == '__main__':
  tf.test.main()
