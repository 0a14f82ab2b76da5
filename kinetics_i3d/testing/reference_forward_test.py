"""Tests for reference_forward.py, the raw-op I3D used as ground truth.

Its hand-written TF `SAME` padding and slice-based pools are checked against
TensorFlow's own SAME ops on small inputs, and its tensor generator against
the released checkpoints' layouts.
"""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from kinetics_i3d.testing import reference_forward


class PaddingTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(
      ((5, 9, 8), (7, 7, 7), (2, 2, 2)),
      ((4, 7, 6), (3, 3, 3), (1, 1, 1)),
      ((3, 5, 5), (1, 1, 1), (1, 1, 1)),
      ((6, 11, 10), (3, 2, 5), (2, 3, 2)),
  )
  def test_conv_equals_tf_same(self, size, kernel, stride):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, *size, 3)).astype(np.float32)
    w = rng.normal(size=(*kernel, 3, 4)).astype(np.float32)
    got = reference_forward.conv3d_same(tf.constant(x), tf.constant(w), stride)
    want = tf.nn.conv3d(x, w, strides=[1, *stride, 1], padding='SAME')
    self.assertAllClose(got, want, rtol=1e-5, atol=1e-5)

  @parameterized.parameters(
      ((5, 9, 8), (1, 3, 3), (1, 2, 2)),
      ((5, 7, 7), (3, 3, 3), (2, 2, 2)),
      ((3, 7, 7), (2, 2, 2), (2, 2, 2)),
      ((4, 6, 5), (3, 3, 3), (1, 1, 1)),
  )
  def test_max_pool_equals_tf_same(self, size, window, stride):
    # All-negative values: a zero-padded pool would differ at the borders.
    x = -np.random.default_rng(1).uniform(
        1., 2., size=(2, *size, 3)).astype(np.float32)
    got = reference_forward.max_pool3d_same(tf.constant(x), window, stride)
    want = tf.nn.max_pool3d(
        x, ksize=[1, *window, 1], strides=[1, *stride, 1], padding='SAME')
    self.assertAllEqual(got, want)

  def test_average_pool_equals_tf_valid(self):
    x = np.random.default_rng(2).normal(size=(2, 3, 7, 7, 5)).astype(
        np.float32)
    got = reference_forward.avg_pool3d_valid(tf.constant(x), (2, 7, 7))
    want = tf.nn.avg_pool3d(
        x, ksize=[1, 2, 7, 7, 1], strides=[1, 1, 1, 1, 1], padding='VALID')
    self.assertAllClose(got, want, rtol=1e-6, atol=1e-6)


class RandomTensorsTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters('rgb_imagenet', 'rgb_scratch', 'flow_imagenet',
                            'flow_scratch', 'rgb_scratch_kin600')
  def test_matches_layout(self, layout):
    tensors = reference_forward.random_original_tensors(layout, seed=0)
    spec = reference_forward.load_layouts()[layout]
    self.assertEqual(set(tensors), set(spec))
    for name, value in tensors.items():
      self.assertEqual(list(value.shape), spec[name]['shape'], name)
      self.assertEqual(value.dtype, np.dtype(spec[name]['dtype']), name)
      if name.endswith('moving_variance'):
        self.assertGreater(value.min(), 0., name)
    scope = reference_forward.layout_scope(layout)
    self.assertIn(scope + 'Conv3d_1a_7x7/conv_3d/w', tensors)

  def test_deterministic(self):
    a = reference_forward.random_original_tensors('flow_scratch', seed=3)
    b = reference_forward.random_original_tensors('flow_scratch', seed=3)
    for name in a:
      np.testing.assert_array_equal(a[name], b[name])

  def test_unknown_layout(self):
    with self.assertRaisesRegex(KeyError, 'rgb_kin400'):
      reference_forward.random_original_tensors('rgb_kin400', seed=0)


if __name__ == '__main__':
  absltest.main()
