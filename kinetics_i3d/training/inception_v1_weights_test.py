"""Tests for inception_v1_weights.py: Inception-v1's weights by name."""

import numpy as np
import tensorflow as tf

from kinetics_i3d.training import inception_v1
from kinetics_i3d.training import inception_v1_test
from kinetics_i3d.training import inception_v1_weights


class WeightsTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # The stem and one Inception block: every kind of unit but the logits.
    cls.images = inception_v1_test.random_images(batch=2, size=32, seed=1)
    cls.tensors = {
        n: t for n, t in inception_v1_test.random_tensors(10, seed=2).items()
        if n.startswith(('Conv2d', 'Mixed_3b/'))
    }
    cls.model = inception_v1.InceptionV1(final_endpoint='Mixed_3b')
    cls.model(cls.images, is_training=False)
    inception_v1_weights.assign_tensors(cls.model, cls.tensors)

  def test_named_tensors_round_trip(self):
    tensors = inception_v1_weights.named_tensors(self.model)
    model = inception_v1.InceptionV1(final_endpoint='Mixed_3b')
    model(self.images, is_training=False)
    inception_v1_weights.assign_tensors(model, tensors)
    self.assertAllEqual(model(self.images, is_training=False)[0],
                        self.model(self.images, is_training=False)[0])

  def test_training_continues_from_assigned_statistics(self):
    model = inception_v1.InceptionV1(final_endpoint='Conv2d_1a_7x7')
    model(self.images, is_training=False)
    tensors = {
        n: t for n, t in self.tensors.items() if n.startswith('Conv2d_1a_7x7/')
    }
    inception_v1_weights.assign_tensors(model, tensors)
    model(self.images, is_training=True)
    conv = tf.nn.conv2d(self.images, tensors['Conv2d_1a_7x7/conv_2d/w'], 2,
                        'SAME')
    batch_mean = tf.reduce_mean(conv, axis=[0, 1, 2]).numpy()
    # One step of the 0.999 moving average away from the assigned mean.
    expected = (0.999 * tensors['Conv2d_1a_7x7/batch_norm/moving_mean'] +
                0.001 * batch_mean)
    self.assertAllClose(
        inception_v1_weights.named_tensors(model)[
            'Conv2d_1a_7x7/batch_norm/moving_mean'], expected, atol=1e-6)

  def test_weights_of_an_unbuilt_model(self):
    model = inception_v1.InceptionV1()
    with self.assertRaisesRegex(ValueError, 'call it once'):
      inception_v1_weights.named_tensors(model)
    with self.assertRaisesRegex(ValueError, 'call it once'):
      inception_v1_weights.assign_tensors(
          model, inception_v1_test.random_tensors(1000))

  def test_assign_refuses_mismatching_weights(self):
    model, tensors = self.model, self.tensors
    inception_v1_weights.assign_tensors(model, tensors)
    name = 'Mixed_3b/Branch_1/Conv2d_0b_3x3/conv_2d/w'
    with self.assertRaisesRegex(ValueError, f'missing.*{name}'):
      inception_v1_weights.assign_tensors(
          model, {n: t for n, t in tensors.items() if n != name})
    with self.assertRaisesRegex(ValueError, 'unexpected.*Mixed_3c/x'):
      inception_v1_weights.assign_tensors(model, {**tensors, 'Mixed_3c/x': 0})
    with self.assertRaisesRegex(ValueError, f'{name}: shape'):
      inception_v1_weights.assign_tensors(
          model, {**tensors, name: np.zeros([1, 3, 3, 96, 128])})


if __name__ == '__main__':
  tf.test.main()
