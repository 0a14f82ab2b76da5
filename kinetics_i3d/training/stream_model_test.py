"""Tests for stream_model.py: I3D's logits, or a pooled head (CVPR 2017)."""

import numpy as np
import tensorflow as tf

from kinetics_i3d.training import stream_model


class StreamModelTest(tf.test.TestCase):

  def test_head_equals_inception_i3d_logits(self):
    model = stream_model.StreamModel(7)
    clip = tf.random.stateless_uniform([1, 9, 224, 224, 3], [1, 2], -1., 1.)
    expected, _ = model.i3d(clip, is_training=False)
    self.assertAllClose(model(clip, is_training=False), expected, atol=1e-5)
    seed = tf.constant([3, 4])
    dropped = model(clip, False, dropout_keep_prob=0.5, dropout_seed=seed)
    self.assertAllEqual(
        dropped, model(clip, False, dropout_keep_prob=0.5, dropout_seed=seed))
    self.assertNotAllClose(dropped, expected)

  def test_truncated_model_pools_features_into_a_linear_head(self):
    model = stream_model.StreamModel(3, 'Mixed_3c')
    model.build(2)
    self.assertTrue(model.truncated)
    clip = tf.random.stateless_uniform([2, 8, 32, 32, 2], [5, 6], -1., 1.)
    features, _ = model.i3d(clip, is_training=False)
    pooled = np.mean(features.numpy(), axis=(1, 2, 3))
    expected = pooled @ model.head.w.numpy() + model.head.b.numpy()
    # An untrained stem in inference mode: features of order 1e8.
    self.assertAllClose(model(clip, is_training=False), expected, rtol=1e-5)
    with self.assertRaisesRegex(ValueError, 'dropout_seed'):
      model(clip, True, dropout_keep_prob=0.5)


if __name__ == '__main__':
  tf.test.main()
