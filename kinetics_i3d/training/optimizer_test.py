"""Tests for optimizer.py: momentum SGD with weight decay (I3D, CVPR 2017)."""

import numpy as np
import tensorflow as tf

from kinetics_i3d.training import optimizer
from kinetics_i3d.training import stream_model


class OptimizerTest(tf.test.TestCase):

  def test_weight_decay_applies_to_kernels_only(self):
    model = stream_model.StreamModel(3, 'Mixed_3c')
    model.build(3)
    decayed = sorted(v.name for v in model.trainable_variables
                     if optimizer.decayed(v))
    kernels = sorted(v.name for v in model.trainable_variables
                     if v.shape.rank in (2, 5))
    self.assertEqual(decayed, kernels)
    self.assertNotEmpty(
        [v for v in model.trainable_variables if not optimizer.decayed(v)])

  def test_two_steps_of_momentum_with_decay(self):
    # TF1's MomentumOptimizer with an L2 penalty wd * w**2 / 2 on kernels,
    # written out by hand: a = m * a + g + wd * w; w -= lr * a.
    kernel = tf.Variable([[1., -2.]], name='w')
    bias = tf.Variable([0.5], name='b')
    sgd = optimizer.MomentumSGD([kernel, bias], momentum=0.9, weight_decay=0.1)
    grads = [tf.constant([[0.2, 0.4]]), tf.constant([1.])]
    w, b = np.array([[1., -2.]]), np.array([0.5])
    acc_w, acc_b = np.zeros_like(w), np.zeros_like(b)
    for _ in range(2):
      tf.distribute.get_strategy().extended.call_for_each_replica(
          sgd.apply, args=(grads, [kernel, bias], tf.constant(0.5)))
      acc_w = 0.9 * acc_w + np.array([[0.2, 0.4]]) + 0.1 * w
      acc_b = 0.9 * acc_b + np.array([1.])
      w, b = w - 0.5 * acc_w, b - 0.5 * acc_b
    self.assertAllClose(kernel, w)
    self.assertAllClose(bias, b)
    self.assertAllClose(sgd.accumulators[0], acc_w)


if __name__ == '__main__':
  tf.test.main()
