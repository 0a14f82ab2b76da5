"""Tests of I3D's convolution units and Inception blocks (CVPR 2017)."""

import numpy as np
import tensorflow as tf

from kinetics_i3d.model import units


def _hand_conv_bn_relu(clip, kernel, offset, mean, variance, stride=2):
  """Stem unit by hand: TF-SAME padding made explicit, then BN and ReLU."""
  pads = []
  for size, k in zip(clip.shape[1:4], kernel.shape[:3]):
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    pads.append((total // 2, total - total // 2))
  padded = tf.pad(clip, [(0, 0), *pads, (0, 0)])
  conv = tf.nn.conv3d(padded, kernel, [1, stride, stride, stride, 1], 'VALID')
  if mean is None:
    mean, variance = tf.nn.moments(conv, axes=[0, 1, 2, 3])
  normed = (conv - mean) / tf.sqrt(variance + 1e-3) + offset
  return tf.nn.relu(normed), conv


class Unit3DBatchNormTest(tf.test.TestCase):
  """BatchNorm in both modes against a computation written by hand."""

  def setUp(self):
    super().setUp()
    # I3D's stem unit, Conv3d_1a_7x7.
    unit = units.Unit3D(64, (7, 7, 7), (2, 2, 2), name='Conv3d_1a_7x7')
    self.clip = tf.constant(
        np.random.default_rng(1).uniform(-1, 1, (2, 6, 20, 20, 3)),
        tf.float32)
    unit(self.clip, is_training=False)  # Builds the variables.
    rng = np.random.default_rng(2)
    unit.batch_norm.offset.assign(rng.normal(size=64).astype(np.float32))
    self.mean = rng.normal(size=64).astype(np.float32)
    self.variance = rng.uniform(0.5, 2, size=64).astype(np.float32)
    stats_shape = unit.batch_norm.moving_mean.average.shape
    unit.batch_norm.moving_mean.average.assign(self.mean.reshape(stats_shape))
    unit.batch_norm.moving_variance.average.assign(
        self.variance.reshape(stats_shape))
    self.unit = unit

  def test_inference_uses_moving_statistics(self):
    output = self.unit(self.clip, is_training=False)
    expected, _ = _hand_conv_bn_relu(self.clip, self.unit.conv_3d.w,
                                     self.unit.batch_norm.offset, self.mean,
                                     self.variance)
    self.assertAllClose(output, expected, atol=1e-4)

  def test_training_uses_batch_statistics_and_updates_the_average(self):
    output = self.unit(self.clip, is_training=True)
    expected, conv = _hand_conv_bn_relu(self.clip, self.unit.conv_3d.w,
                                        self.unit.batch_norm.offset, None, None)
    self.assertAllClose(output, expected, atol=1e-4)
    # One update with decay 0.999; the EMA was fresh (counter 0 -> 1), so
    # Sonnet's debiased average equals the first batch's statistics.
    batch_mean = np.mean(conv.numpy(), axis=(0, 1, 2, 3))
    self.assertAllClose(
        tf.reshape(self.unit.batch_norm.moving_mean.value, [-1]), batch_mean,
        atol=1e-5)

  def test_eps_and_decay_are_the_originals(self):
    self.assertEqual(self.unit.batch_norm._eps, 1e-3)
    self.assertEqual(self.unit.batch_norm.moving_mean._decay, 0.999)
    self.assertEqual(self.unit.batch_norm.moving_variance._decay, 0.999)
    self.assertFalse(self.unit.batch_norm.scale.trainable)


class InceptionBlockTest(tf.test.TestCase):

  def test_branches_concatenate_on_channels(self):
    block = units.InceptionBlock((4, 2, 5, 2, 3, 6), name='Mixed_3b')
    out = block(tf.zeros([1, 2, 8, 8, 7]), is_training=False)
    self.assertEqual(out.shape, (1, 2, 8, 8, 4 + 5 + 3 + 6))
    self.assertCountEqual(
        {v.name.split('/')[1] for v in block.trainable_variables},
        ['Branch_0', 'Branch_1', 'Branch_2', 'Branch_3'])

  def test_max_pool_same_pads_at_the_end(self):
    pooled = units.max_pool_same(tf.reshape(tf.range(5.), [1, 5, 1, 1, 1]),
                                 (2, 1, 1), (2, 1, 1))
    self.assertAllEqual(tf.reshape(pooled, [-1]), [1., 3., 4.])


if __name__ == '__main__':
  tf.test.main()
