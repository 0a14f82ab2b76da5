"""Tests of the architecture-free input checks of I3D (CVPR 2017)."""

from unittest import mock

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from kinetics_i3d.model import inputs


class InputsTest(absltest.TestCase):

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
