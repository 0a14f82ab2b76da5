"""Tests of tvl1_float32: OpenCV's float32 rounding in TensorFlow.

(The TensorFlow TV-L1 of I3D's flow stream: Carreira & Zisserman, "Quo
Vadis, Action Recognition?", CVPR 2017.) The references are numpy float32
operations, one rounding at a time.
"""

import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_float32


class Float32Test(tf.test.TestCase):

  def test_sequential_sum_is_left_to_right(self):
    rng = np.random.default_rng(3)
    x = (rng.random((2, 37, 53)) * 10 ** rng.uniform(-3, 3, (2, 37, 53))
         ).astype(np.float32)
    ours = tvl1_float32.sequential_sum(tf.constant(x)).numpy()
    for i in range(2):
      total = np.float32(0)
      for v in x[i].ravel():
        total = np.float32(total + v)
      self.assertEqual(ours[i], total)

  def test_fma_rounds_once_and_products_as_float32(self):
    # 1 + 2^-23 squared is 1 + 2^-22 + 2^-46: float32 multiplication drops
    # the last term, a fused multiply-add keeps it until the one rounding.
    x = np.float32(1 + 2.0 ** -23)
    c = np.float32(-(1 + 2.0 ** -22))
    self.assertEqual(tvl1_float32.mul_f32(x, x).numpy(), x * x)
    self.assertEqual(tvl1_float32.fma_f32(x, x, c).numpy(),
                     np.float32(2.0 ** -46))
    self.assertEqual(np.float32(x * x + c), 0)

  def test_hypot(self):
    self.assertEqual(tvl1_float32.hypot_f32(np.float32(3),
                                            np.float32(4)).numpy(), 5)


if __name__ == '__main__':
  tf.test.main()
