"""Tests of tvl1_remap: OpenCV's bicubic remap, bit-exact.

(The TensorFlow TV-L1 of I3D's flow stream: Carreira & Zisserman, "Quo
Vadis, Action Recognition?", CVPR 2017.) The reference is `cv2.remap`
(INTER_CUBIC, BORDER_CONSTANT 0) called directly.
"""

from unittest import mock

from absl.testing import parameterized
import cv2
import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_remap
from kinetics_i3d.flow import tvl1_tf_test

_H, _W = 64, 80


def _opencv_remap(image, map_x, map_y):
  return cv2.remap(image, map_x, map_y, cv2.INTER_CUBIC,
                   borderMode=cv2.BORDER_CONSTANT, borderValue=0)


class RemapTest(tf.test.TestCase, parameterized.TestCase):

  def test_remap_cubic_matches_opencv(self):
    rng = np.random.default_rng(0)
    x = (rng.random((_H, _W)) * 255).astype(np.float32)
    mx = (np.arange(_W)[None] + rng.standard_normal((_H, _W)) * 3)
    my = (np.arange(_H)[:, None] + rng.standard_normal((_H, _W)) * 3)
    mx, my = mx.astype(np.float32), my.astype(np.float32)
    # Whole pixels, a tiny negative position and far outside, too.
    mx[0, :4] = (-1e-8, 5.0, -3.5, 1e6)
    ours = tvl1_remap.remap_cubic(tf.constant(x[None, None]),
                                  tf.constant(mx[None]),
                                  tf.constant(my[None])).numpy()[0, 0]
    tvl1_tf_test.assert_reproduces(self, ours, _opencv_remap(x, mx, my))

  @parameterized.parameters(1024, 2 ** 40)  # int32 and int64 indices.
  def test_remap_cubic_batch_channels_and_borders_match_opencv(
      self, max_pairs):
    # Two pairs with their own maps, three channels each, and positions
    # at and beyond every border, where taps fall outside the image.
    rng = np.random.default_rng(6)
    images = (rng.random((2, 3, _H, _W)) * 255).astype(np.float32)
    maps = []
    for _ in range(2):
      mx = np.arange(_W)[None] + rng.standard_normal((_H, _W)) * 2
      my = np.arange(_H)[:, None] + rng.standard_normal((_H, _W)) * 2
      edges = np.array([-6.5, -5, -4.5, -3.5, -3, -2.5, -1.5, -0.5, 0.5])
      mx[1, :edges.size] = edges
      mx[2, :edges.size] = _W - 1 - edges
      my[:edges.size, 1] = edges
      my[:edges.size, 2] = _H - 1 - edges
      maps.append((mx.astype(np.float32), my.astype(np.float32)))
    with mock.patch.object(tvl1_remap, 'MAX_PAIRS_PER_CALL', max_pairs):
      ours = tvl1_remap.remap_cubic(
          tf.constant(images), tf.constant(np.stack([m[0] for m in maps])),
          tf.constant(np.stack([m[1] for m in maps]))).numpy()
    for n in range(2):
      for c in range(3):
        tvl1_tf_test.assert_reproduces(
            self, ours[n, c], _opencv_remap(images[n, c], *maps[n]))


if __name__ == '__main__':
  tf.test.main()
