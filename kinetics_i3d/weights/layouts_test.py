"""Tests for layouts.py: the tables of DeepMind's I3D checkpoints.

The five released checkpoints of Carreira & Zisserman (CVPR 2017) and the
two layouts they are stored in.
"""

from absl.testing import absltest

import i3d
from kinetics_i3d.weights import layouts


class LayoutsTest(absltest.TestCase):

  def test_each_checkpoint_has_its_layout_and_scope(self):
    specs = layouts.ORIGINAL_CHECKPOINTS
    self.assertEqual(specs['rgb_scratch_kin600'].scope, '')
    self.assertEqual(specs['rgb_scratch_kin600'].num_classes,
                     i3d.KINETICS_600_CLASSES)
    self.assertEqual(specs['flow_imagenet'].scope, 'Flow/inception_i3d/')
    self.assertEqual(specs['flow_imagenet'].num_channels, 2)
    self.assertEqual(specs['rgb_imagenet'].num_channels, 3)
    self.assertEqual([n for n, s in specs.items() if s.on_pypi],
                     ['rgb_scratch'])
    for spec in specs.values():
      self.assertIn(spec.stream, layouts.LAYOUT_TABLE[spec.layout].scopes)
      self.assertIs(layouts.layout_of_scope(spec.scope),
                    layouts.LAYOUT_TABLE[spec.layout])

  def test_scope_of_names(self):
    self.assertEqual(layouts.scope_of('RGB/inception_i3d/Mixed_4b/x'),
                     'RGB/inception_i3d/')
    self.assertEqual(layouts.scope_of('Mixed_4b/x'), '')
    with self.assertRaisesRegex(layouts.CheckpointError, r"'Other/'"):
      layouts.layout_of_scope('Other/')

  def test_unknown_name(self):
    self.assertIs(layouts.check_released_name('flow_scratch'),
                  layouts.ORIGINAL_CHECKPOINTS['flow_scratch'])
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r"Unknown checkpoint 'rgb'.*rgb_imagenet"):
      layouts.check_released_name('rgb')


if __name__ == '__main__':
  absltest.main()
