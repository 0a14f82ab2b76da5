"""Tests of tvl1_resize: OpenCV's pyramid sizes and linear resize, bit-exact.

(The TensorFlow TV-L1 of I3D's flow stream: Carreira & Zisserman, "Quo
Vadis, Action Recognition?", CVPR 2017.) The reference is `cv2.resize`
called directly, with IPP on (as OpenCV's x86 wheels ship) and off.
"""

from absl.testing import parameterized
import cv2
import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_resize
from kinetics_i3d.flow import tvl1_tf_test


class ResizeTest(tf.test.TestCase, parameterized.TestCase):

  # With IPP, OpenCV calls IPP's resize when 0.8 x the size is whole on
  # both axes (40x80 -> 32x64) and IPP's affine warp otherwise (64x80 ->
  # 51.2 x 64, 256x340 -> 204.8 x 272, ...); the upscaling to a given size
  # is always IPP's resize.
  @parameterized.product(size=((64, 80), (40, 80), (21, 29), (256, 341),
                               (256, 340)),
                         use_ipp=(True, False))
  def test_pyramid_resize_matches_opencv(self, size, use_ipp):
    h, w = size
    rng = np.random.default_rng(h + w)
    x = (rng.random((h, w)) * 255).astype(np.float32)
    with tvl1_tf_test.IppState(use_ipp):
      down = cv2.resize(x, None, fx=0.8, fy=0.8,
                        interpolation=cv2.INTER_LINEAR)
      u = rng.standard_normal(down.shape).astype(np.float32)
      up = cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR)
      arithmetic = tvl1_resize.resize_arithmetic()
    self.assertEqual(arithmetic, 'ipp' if use_ipp else 'opencv')
    self.assertEqual(tvl1_resize.pyramid_sizes(h, w)[1], down.shape)
    ours = tvl1_resize.resize_linear(tf.constant(x[None]), *down.shape,
                                     inv_scale=(0.8, 0.8),
                                     arithmetic=arithmetic).numpy()[0]
    tvl1_tf_test.assert_reproduces(self, ours, down)
    ours_up = tvl1_resize.resize_linear(tf.constant(u[None]), h, w,
                                        arithmetic=arithmetic).numpy()[0]
    tvl1_tf_test.assert_reproduces(self, ours_up, up)

  def test_pyramid_stops_below_16_pixels(self):
    self.assertLen(tvl1_resize.pyramid_sizes(256, 341), 5)
    self.assertEqual(tvl1_resize.pyramid_sizes(19, 200), [(19, 200)])
    self.assertEqual(tvl1_resize.pyramid_sizes(30, 30),
                     [(30, 30), (24, 24), (19, 19)])

  def test_unknown_arithmetic(self):
    with self.assertRaisesRegex(ValueError, "arithmetic must be 'ipp' or "
                                "'opencv', got 'cubic'"):
      tvl1_resize.resize_linear(tf.zeros([1, 8, 8]), 4, 4,
                                arithmetic='cubic')


if __name__ == '__main__':
  tf.test.main()
