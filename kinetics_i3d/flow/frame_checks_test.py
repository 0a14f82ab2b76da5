"""Tests of frame_checks: the frames both TV-L1 backends accept.

(I3D's flow stream: Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017.) Each bad argument gets a one-line message naming it.
"""

from absl.testing import absltest
from absl.testing import parameterized
import cv2
import numpy as np

from kinetics_i3d.flow import frame_checks


class PairBatchTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ('rank', np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8),
       'first must be gray frames'),
      ('dtype', np.zeros((1, 8, 8), np.int32), np.zeros((1, 8, 8), np.int32),
       'first must be uint8 or float'),
      ('shapes', np.zeros((1, 8, 8), np.uint8), np.zeros((1, 8, 9), np.uint8),
       'same shape'),
      ('empty', np.zeros((0, 8, 8), np.uint8), np.zeros((0, 8, 8), np.uint8),
       'empty batch'),
      ('nan', np.full((1, 8, 8), np.nan, np.float32),
       np.zeros((1, 8, 8), np.float32), 'first has non-finite'),
      ('range', np.zeros((1, 8, 8), np.float32),
       np.full((1, 8, 8), 300, np.float32), r'second must be in \[0, 255\]'),
      ('tiny', np.zeros((1, 2, 8), np.uint8), np.ones((1, 2, 8), np.uint8),
       'at least 3x3'),
  )
  def test_bad_input(self, first, second, message):
    with self.assertRaisesRegex(ValueError, message):
      frame_checks.pair_batch(first, second)

  def test_values_are_kept_as_float32(self):
    first = np.arange(27, dtype=np.uint8).reshape(1, 3, 9)
    a, b = frame_checks.pair_batch(first, first.astype(np.float64))
    self.assertEqual((a.dtype, b.dtype), (np.float32, np.float32))
    np.testing.assert_array_equal(a, first)
    np.testing.assert_array_equal(b, first)


class GrayFrameTest(parameterized.TestCase):

  def test_rgb_is_converted_as_opencv(self):
    rgb = np.random.default_rng(0).integers(0, 256, (6, 7, 3), np.uint8)
    np.testing.assert_array_equal(frame_checks.gray_frame(rgb, 'frames[0]'),
                                  cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))

  @parameterized.named_parameters(
      ('float', np.zeros((8, 8), np.float32), r'frames\[2\] must be uint8'),
      ('channels', np.zeros((8, 8, 2), np.uint8),
       r'frames\[2\] must be grey \[H, W\] or RGB'),
      ('clip', np.zeros((2, 8, 8, 3), np.uint8),
       r'frames\[2\] must be grey \[H, W\] or RGB \[H, W, 3\]'),
  )
  def test_bad_frame(self, frame, message):
    with self.assertRaisesRegex(ValueError, message):
      frame_checks.gray_frame(frame, 'frames[2]')


if __name__ == '__main__':
  absltest.main()
