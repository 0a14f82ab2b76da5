"""Tests for config.py and the recipes in configs/ (I3D, CVPR 2017)."""

import importlib.util
import os

from absl.testing import absltest
from absl.testing import parameterized
import ml_collections

from kinetics_i3d import paths
from kinetics_i3d.training import config as config_lib

_CONFIGS = os.path.join(paths.PROJECT_DIR, 'configs')


def load_recipe(name: str, *args) -> ml_collections.ConfigDict:
  """get_config(*args) of configs/<name>.py, loaded by path as the tool does."""
  spec = importlib.util.spec_from_file_location(
      f'recipe_{name}', os.path.join(_CONFIGS, f'{name}.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(*args)


def _differences(a: ml_collections.ConfigDict, b: ml_collections.ConfigDict):
  return {
      name: (config_lib.get_field(a, name), config_lib.get_field(b, name))
      for name in config_lib.field_names(a)
      if config_lib.get_field(a, name) != config_lib.get_field(b, name)
  }


class ConfigTest(parameterized.TestCase):

  def test_every_field_is_documented(self):
    names = config_lib.field_names(config_lib.get_config())
    self.assertCountEqual(names, config_lib.FIELD_HELP)
    for name in names:
      self.assertNotEmpty(config_lib.FIELD_HELP[name], name)

  def test_describe_lists_each_field_with_its_default(self):
    text = config_lib.describe(config_lib.get_config())
    self.assertIn('--config.optim.momentum (default: 0.9): SGD momentum.',
                  text)
    self.assertIn("--config.model.checkpoint_dir (default: "
                  f"'{paths.CHECKPOINT_DIR}')", text)
    self.assertLen(text.splitlines(), len(config_lib.FIELD_HELP))

  def test_released_checkpoints_are_found_in_the_project(self):
    # Not relative to the current directory.
    self.assertEqual(config_lib.get_config().model.checkpoint_dir,
                     paths.CHECKPOINT_DIR)
    self.assertTrue(os.path.isabs(paths.CHECKPOINT_DIR))


class RecipesTest(parameterized.TestCase):

  def test_rgb_recipe_is_the_base_config(self):
    self.assertEqual(_differences(load_recipe('kinetics_rgb'),
                                  config_lib.get_config()), {})

  def test_flow_recipe_changes_only_the_stream(self):
    self.assertEqual(
        _differences(load_recipe('kinetics_flow'), config_lib.get_config()),
        {'stream': ('flow', 'rgb')})

  @parameterized.parameters('rgb', 'flow')
  def test_ucf101_recipe(self, stream):
    config = load_recipe('ucf101_finetune', stream)
    self.assertEqual(config.stream, stream)
    self.assertEqual(config.num_classes, 101)
    self.assertEqual(config.data.label_offset, 1)
    self.assertEqual(config.model.init_checkpoint, f'{stream}_imagenet')
    self.assertEqual(config.optim.schedule, 'custom')
    self.assertLess(config.optim.lr_boundaries[-1], config.optim.train_steps)
    self.assertLen(config.optim.lr_values, len(config.optim.lr_boundaries) + 1)
    # The recipe's paths are UCF-101's own names; nothing else is unset.
    self.assertTrue(config.data.train_split.endswith('trainlist01.txt'))
    self.assertTrue(config.data.eval_split.endswith('testlist01.txt'))

  def test_ucf101_recipe_refuses_an_unknown_stream(self):
    with self.assertRaisesRegex(ValueError, 'ucf101_finetune.py:<stream>'):
      load_recipe('ucf101_finetune', 'depth')


if __name__ == '__main__':
  absltest.main()
