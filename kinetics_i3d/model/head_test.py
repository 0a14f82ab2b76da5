"""Tests of I3D's logits head (CVPR 2017): pool, 1x1x1 conv, mean over time."""

import numpy as np
import tensorflow as tf

from kinetics_i3d.model import head


class LogitsHeadTest(tf.test.TestCase):

  def test_pool_then_conv_then_mean_over_time(self):
    features = tf.constant(
        np.random.default_rng(0).uniform(size=(2, 3, 7, 7, 4)), tf.float32)
    conv = lambda net: net * 2.
    per_step = head.logits_head(features, conv, mean_over_time=False,
                                pool_window=(2, 7, 7))
    self.assertEqual(per_step.shape, (2, 2, 4))
    expected = tf.stack([
        tf.reduce_mean(features[:, t:t + 2], axis=[1, 2, 3]) * 2.
        for t in range(2)], axis=1)
    self.assertAllClose(per_step, expected, atol=1e-6)
    logits = head.logits_head(features, conv, pool_window=(2, 7, 7))
    self.assertAllClose(logits, tf.reduce_mean(expected, axis=1), atol=1e-6)

  def test_without_squeeze(self):
    logits = head.logits_head(tf.zeros([1, 2, 8, 8, 4]), lambda net: net,
                              spatial_squeeze=False, pool_window=(2, 7, 7))
    self.assertEqual(logits.shape, (1, 2, 2, 4))


if __name__ == '__main__':
  tf.test.main()
