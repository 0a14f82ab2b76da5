"""Tests for checkpoints.py: the names callers import from it keep working.

`checkpoints` gathers the public names of the I3D checkpoint modules
(Carreira & Zisserman, CVPR 2017); each must be the very object its defining
module holds, so that a test patching the definition patches every caller.
Their behaviour is tested beside their definitions.
"""

from absl.testing import absltest

from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import name_mapping
from kinetics_i3d.weights import resolution
from kinetics_i3d.weights import saved_model
from kinetics_i3d.weights import tf2_checkpoints

# Every name README documents or another package uses, by defining module.
_DEFINED_IN = {
    layouts: ('CheckpointError', 'CheckpointSpec', 'ORIGINAL_CHECKPOINTS',
              'STREAM_SCOPES'),
    resolution: ('checkpoint_path', 'resolve_checkpoint'),
    name_mapping: ('build_variables',),
    loading: ('load_original', 'build_model', 'load_resolved'),
    tf2_checkpoints: ('save', 'restore'),
    saved_model: ('ServingSignature', 'SERVING_DEFAULT',
                  'check_export_num_frames', 'export_saved_model'),
}


class ReexportsTest(absltest.TestCase):

  def test_each_name_is_its_definition(self):
    for module, names in _DEFINED_IN.items():
      for name in names:
        self.assertIs(getattr(checkpoints, name), getattr(module, name),
                      f'checkpoints.{name}')

  def test_nothing_else(self):
    public = {n for n in vars(checkpoints) if not n.startswith('_')}
    modules = {m.__name__.rsplit('.', 1)[1] for m in _DEFINED_IN}
    self.assertEqual(
        public - modules,
        {n for names in _DEFINED_IN.values() for n in names})


if __name__ == '__main__':
  absltest.main()
