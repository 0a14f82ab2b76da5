"""Tests for validation.py: the checks of a training configuration.

Clip shapes the network of I3D (Carreira & Zisserman, CVPR 2017) cannot take
are refused before any work; they used to fail with a traceback inside the
first training step. No file is read: the configuration alone is checked.
"""

import ml_collections
import tensorflow as tf

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import validation


def _config(**overrides) -> ml_collections.ConfigDict:
  """A truncated network on 8x32x32 clips, as train_fixtures.tiny_config."""
  config = config_lib.get_config()
  config.model_dir = 'unused'
  config.data.resize = 40
  config.data.crop_size = 32
  config.data.num_frames = 8
  config.model.final_endpoint = 'Mixed_3c'
  config.optim.schedule = 'custom'
  config.optim.lr_values = (0.01,)
  config.optim.train_steps = 40
  for key, value in overrides.items():
    *parents, leaf = key.split('.')
    node = config
    for parent in parents:
      node = node[parent]
    node[leaf] = value
  return config


class ValidateConfigTest(tf.test.TestCase):

  def test_a_good_config_gives_its_schedule(self):
    self.assertEqual(validation.validate_config(_config()), ((), (0.01,), 40))

  def test_clip_shapes_the_network_cannot_take(self):
    for overrides, message in (
        ({'data.num_frames': 0}, 'data.num_frames .* at least 1'),
        ({'optim.per_replica_batch_size': 0}, 'per_replica_batch_size'),
        # The full network's logits need 9 frames and 224x224 crops.
        ({'model.final_endpoint': 'Logits', 'data.num_frames': 16},
         '224x224'),
        ({'model.final_endpoint': 'Logits', 'data.resize': 256,
          'data.crop_size': 224, 'data.num_frames': 4}, 'at least 9 frames')):
      with self.subTest(overrides=overrides):
        with self.assertRaisesRegex(validation.TrainError, message):
          validation.validate_config(_config(**overrides))

  def test_dependent_fields(self):
    for overrides, message in (
        ({'data.crop_size': 48}, r'data.crop_size \(48\) must not exceed'),
        ({'model.init_checkpoint': 'flow_imagenet'}, 'is a flow checkpoint'),
        ({'model.dropout_keep_prob': 0.}, 'keep probability in'),
        ({'model_dir': ''}, 'Set config.model_dir'),
        ({'stream': 'depth'}, "stream must be one of .*'depth'")):
      with self.subTest(overrides=overrides):
        with self.assertRaisesRegex(validation.TrainError, message):
          validation.validate_config(_config(**overrides))


if __name__ == '__main__':
  tf.test.main()
