"""Tests for schedule.py: the README's learning-rate schedules (I3D, 2017)."""

from absl.testing import parameterized
import ml_collections
import tensorflow as tf

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import schedule


def custom_config(**optim) -> ml_collections.ConfigDict:
  """A constant rate of 0.01 for 40 steps, then `optim` overrides."""
  config = config_lib.get_config()
  config.optim.schedule = 'custom'
  config.optim.lr_values = (0.01,)
  config.optim.train_steps = 40
  for key, value in optim.items():
    config.optim[key] = value
  return config


class LearningRateTest(parameterized.TestCase, tf.test.TestCase):

  # From the kinetics-i3d README: "0 - 97k: 1e-1, 97k - 108k: 1e-2, ...".
  @parameterized.parameters(
      ('rgb', 0, 0.1), ('rgb', 96999, 0.1), ('rgb', 97000, 0.01),
      ('rgb', 107999, 0.01), ('rgb', 108000, 0.001), ('rgb', 114999, 0.001),
      ('flow', 104499, 0.01), ('flow', 104500, 0.001), ('flow', 115000, 0.1),
      ('flow', 140000, 0.01), ('flow', 150000, 0.001))
  def test_presets(self, stream, step, expected):
    config = config_lib.get_config()
    config.stream = stream
    boundaries, values, end = schedule.lr_schedule(config)
    self.assertEqual(end, {'rgb': 115000, 'flow': 155000}[stream])
    self.assertAllClose(
        schedule.learning_rate(tf.constant(step, tf.int64), boundaries,
                               values),
        expected)

  def test_custom_schedule_and_scaling(self):
    config = custom_config(lr_boundaries=(10, 20), lr_values=(1., .5, .25))
    boundaries, values, end = schedule.lr_schedule(config)
    self.assertEqual((boundaries, values, end), ((10, 20), (1., .5, .25), 40))
    rates = [float(schedule.learning_rate(tf.constant(s, tf.int64), boundaries,
                                          values, scale=6 / 384))
             for s in (0, 10, 25)]
    self.assertAllClose(rates, [6 / 384, 3 / 384, 1.5 / 384])

  @parameterized.parameters(
      ({'lr_boundaries': (10,), 'lr_values': (1.,)}, 'one more'),
      ({'lr_boundaries': (20, 10), 'lr_values': (1., 1., 1.)}, 'increasing'),
      ({'train_steps': 0}, 'train_steps'),
      ({'lr_values': (-1.,)}, 'positive'),
      ({'schedule': 'cosine'}, 'schedule'))
  def test_bad_schedules(self, overrides, message):
    with self.assertRaisesRegex(config_lib.TrainError, message):
      schedule.lr_schedule(custom_config(**overrides))

  def test_linear_scaling_by_the_reference_batch(self):
    config = config_lib.get_config()
    self.assertEqual(schedule.lr_scale(config, 6), 6 / 384)  # One GPU.
    self.assertEqual(schedule.lr_scale(config, 384), 1.)  # DeepMind's 64 x 6.
    config.optim.lr_scaling = 'none'
    self.assertEqual(schedule.lr_scale(config, 6), 1.)
    config.optim.lr_scaling = 'sqrt'
    with self.assertRaisesRegex(config_lib.TrainError, 'optim.lr_scaling'):
      schedule.lr_scale(config, 6)


if __name__ == '__main__':
  tf.test.main()
