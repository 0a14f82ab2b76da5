"""Tests for name_mapping.py: the table covers each layout, name for name.

The expected names and shapes of DeepMind's five I3D checkpoints (Carreira &
Zisserman, CVPR 2017) are read from testdata/checkpoint_layouts.json, written
from the released files.
"""

import functools

from absl.testing import absltest
from absl.testing import parameterized
import tensorflow as tf

import i3d
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import name_mapping


@functools.lru_cache(maxsize=None)
def _built_model(num_classes, num_channels):
  """A model with variables, one per shape (the layouts share three)."""
  model = i3d.InceptionI3d(num_classes=num_classes)
  name_mapping.build_variables(model, num_channels)
  return model


class VariableMappingTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(*layouts.ORIGINAL_CHECKPOINTS)
  def test_mapping_is_exactly_the_layout(self, name):
    spec = layouts.ORIGINAL_CHECKPOINTS[name]
    model = _built_model(spec.num_classes, spec.num_channels)
    self.assertEqual(name_mapping.model_num_channels(model),
                     spec.num_channels)
    mapping = name_mapping.variable_mapping(model, spec.scope, spec.layout)
    expected = {
        tensor: tuple(info['shape'])
        for tensor, info in reference_forward.load_layouts()[name].items()
        if not tensor.endswith('/Momentum')
    }
    self.assertEqual(
        {n: row.checkpoint_shape for n, row in mapping.tensors.items()},
        expected)
    self.assertEqual(name_mapping.original_names(model, spec.scope),
                     list(mapping.tensors))
    # Every module variable is a target exactly once.
    targets = [v.ref() for v in mapping.all_variables()]
    self.assertLen(targets, len(set(targets)))
    self.assertEqual(set(targets), {v.ref() for v in model.variables})
    self.assertLen(mapping.constants, 57)  # One BN scale per conv but logits.

  def test_unbuilt_model_and_unknown_layout(self):
    model = i3d.InceptionI3d()
    self.assertFalse(name_mapping.is_built(model))
    self.assertIsNone(name_mapping.model_num_channels(model))
    with self.assertRaisesRegex(ValueError, r'build_variables'):
      name_mapping.variable_mapping(model, '', 'kin600')
    model = _built_model(i3d.KINETICS_400_CLASSES, 2)
    self.assertTrue(name_mapping.is_built(model))
    with self.assertRaisesRegex(ValueError, r"'tf2'.*'tf1', 'kin600'"):
      name_mapping.variable_mapping(model, '', 'tf2')


if __name__ == '__main__':
  absltest.main()
