"""Tests of tvl1_stencils: the 5x5 median against OpenCV's, bit for bit.

(The TensorFlow TV-L1 of I3D's flow stream: Carreira & Zisserman, "Quo
Vadis, Action Recognition?", CVPR 2017.) The reference is `cv2.medianBlur`;
the derivative and divergence stencils are checked through the flow
(tvl1_tf_test.py), as OpenCV does not export them.
"""

import cv2
import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_stencils


class MedianTest(tf.test.TestCase):

  def test_median_matches_opencv(self):
    u = np.random.default_rng(1).standard_normal((64, 80)).astype(np.float32)
    ours = tvl1_stencils.median_blur5(tf.constant(u[None])).numpy()[0]
    self.assertAllEqual(ours, cv2.medianBlur(u, 5))

  def test_median_with_ties_matches_opencv(self):
    rng = np.random.default_rng(2)
    u = rng.integers(-2, 3, (2, 9, 11)).astype(np.float32)
    ours = tvl1_stencils.median_blur5(tf.constant(u)).numpy()
    for i in range(2):
      self.assertAllEqual(ours[i], cv2.medianBlur(u[i], 5))


if __name__ == '__main__':
  tf.test.main()
