"""Tests of the architecture-free input checks of I3D (CVPR 2017)."""

from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from kinetics_i3d.model import inputs


class InputsTest(parameterized.TestCase):

  @parameterized.product(bad=[np.nan, np.inf, -np.inf],
                         kind=['numpy', 'tensor'])
  def test_values_that_are_not_finite_are_errors(self, bad, kind):
    clip = np.zeros([1, 9, 8, 8, 3], np.float32)
    clip[0, 4, 3, 2, 1] = bad
    if kind == 'tensor':
      clip = tf.constant(clip)
    with self.assertRaisesRegex(ValueError, 'my_clip: contains NaN or '
                                'infinite'):
      inputs.check_values(clip, name='my_clip')

  @parameterized.parameters('numpy', 'tensor')
  def test_the_warning_names_the_largest_magnitude(self, kind):
    clip = np.zeros([1, 9, 8, 8, 3], np.float32)
    clip[0, 2, 1, 0, 2] = -7.25  # Larger in magnitude than the maximum.
    clip[0, 3, 1, 0, 2] = 3.
    if kind == 'tensor':
      clip = tf.constant(clip)
    with mock.patch.object(inputs.logging, 'warning') as warning:
      inputs.check_values(clip, name='x')
    warning.assert_called_once()
    self.assertEqual(warning.call_args.args[2], 7.25)

  def test_empty_arrays_pass(self):
    inputs.check_values(np.zeros([0, 9, 8, 8, 3], np.float32))

  def test_values_far_outside_range_warn(self):
    clip = np.full([1, 9, 64, 64, 3], 255., np.float32)
    with mock.patch.object(inputs.logging, 'warning') as warning:
      inputs.check_values(clip, name='my_clip.npy')
    warning.assert_called_once()
    self.assertIn('my_clip.npy', warning.call_args.args[1])
    with mock.patch.object(inputs.logging, 'warning') as warning:
      inputs.check_values(clip / 255.)
    warning.assert_not_called()

  def test_error_names_the_input(self):
    with self.assertRaisesRegex(ValueError, 'sample_rgb.npy: .*3 channels'):
      inputs.check_array(np.zeros([1, 9, 32, 32, 2], np.float32),
                         num_channels=3, name='sample_rgb.npy')

  def test_symbolic_inputs_skip_the_value_checks(self):
    inputs.check_values(tf.TensorSpec([1, 9, 32, 32, 3], tf.float32))

  def test_float_dtype(self):
    inputs.check_float_dtype(np.zeros([1], np.float32), tf.float32)
    with self.assertRaisesRegex(ValueError, 'expected float32 values, got '
                                'float64.*np.float32'):
      inputs.check_float_dtype(np.zeros([1]), tf.float32)


if __name__ == '__main__':
  absltest.main()
