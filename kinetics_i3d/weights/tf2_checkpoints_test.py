"""Tests for tf2_checkpoints.py: save and restore round trips, all or nothing.

The model is the I3D of Carreira & Zisserman (CVPR 2017), loaded from a
random checkpoint in DeepMind's rgb_scratch layout.
"""

# pylint: disable=protected-access  (Sonnet's EMA exposes no counter)

import os

from absl.testing import absltest
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import name_mapping
from kinetics_i3d.weights import tf2_checkpoints
from kinetics_i3d.weights.loading_test import OriginalFixtures


class NativeCheckpointTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = i3d.InceptionI3d()
    loading.load_original(cls.model, OriginalFixtures.path('rgb_scratch'),
                          'rgb_scratch')

  def test_save_restore_round_trip(self):
    directory = os.path.join(OriginalFixtures.directory(), 'tf2')
    first = tf2_checkpoints.save(self.model, directory)
    second = tf2_checkpoints.save(self.model, directory)
    self.assertEqual(os.path.basename(first), 'ckpt-1')
    self.assertEqual(os.path.basename(second), 'ckpt-2')
    # Nothing temporary is left behind.
    self.assertEmpty([f for f in os.listdir(directory) if 'temp' in f])

    restored = i3d.InceptionI3d()
    self.assertEqual(tf2_checkpoints.restore(restored, directory), second)
    self.assertLen(restored.variables, len(self.model.variables))
    for a, b in zip(self.model.variables, restored.variables):
      self.assertEqual(a.name, b.name)
      np.testing.assert_array_equal(a.numpy(), b.numpy())
    self.assertEqual(
        int(restored.Mixed_5c.branch_0[0].batch_norm.moving_mean._counter),
        loading.EMA_COUNTER)

    truncated = i3d.InceptionI3d(final_endpoint='Mixed_3c')
    tf2_checkpoints.restore(truncated, directory)
    np.testing.assert_array_equal(
        truncated.Mixed_3c.branch_1[1].conv_3d.w.numpy(),
        self.model.Mixed_3c.branch_1[1].conv_3d.w.numpy())

    other = i3d.InceptionI3d(num_classes=i3d.KINETICS_600_CLASSES)
    name_mapping.build_variables(other, 3)
    before = [v.numpy() for v in other.variables]
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r'ckpt-2: does not fit the model: .*shape \(400,\).*shape \(600,\).*'
        r'Logits/Conv3d_0c_1x1/conv_3d/b'):
      tf2_checkpoints.restore(other, directory)
    for value, variable in zip(before, other.variables):  # All or nothing.
      np.testing.assert_array_equal(value, variable.numpy())
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r'3 input channels, but 2 were asked for'):
      tf2_checkpoints.restore(i3d.InceptionI3d(), directory, num_channels=2)

  def test_restore_without_checkpoint(self):
    directory = os.path.join(OriginalFixtures.directory(), 'tf2_empty')
    os.makedirs(directory, exist_ok=True)
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r'tf2_empty: no TF2 checkpoint found'):
      tf2_checkpoints.restore(i3d.InceptionI3d(), directory)

  def test_restore_refuses_original_checkpoint(self):
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r'not a TF2 checkpoint.*load_original'):
      tf2_checkpoints.restore(i3d.InceptionI3d(),
                              OriginalFixtures.path('rgb_scratch'))

  def test_save_unbuilt_model(self):
    with self.assertRaisesRegex(layouts.CheckpointError, 'no weights'):
      tf2_checkpoints.save(i3d.InceptionI3d(),
                           os.path.join(OriginalFixtures.directory(), 'x'))


if __name__ == '__main__':
  absltest.main()
