"""Tests for original_checks.py: every malformed checkpoint is refused.

Variants of a random checkpoint in DeepMind's I3D layout (Carreira &
Zisserman, CVPR 2017), each with one defect, go through
`loading.load_original`, which runs these checks before assigning anything:
each is refused with a message naming the file, the variable and both shapes,
and the model keeps its values.
"""

import os
import shutil

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import name_mapping
from kinetics_i3d.weights.loading_test import OriginalFixtures


class MalformedCheckpointsTest(parameterized.TestCase, tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = i3d.InceptionI3d()
    name_mapping.build_variables(cls.model, 3)
    cls.first_conv = cls.model.Conv3d_1a_7x7.conv_3d.w.numpy()

  def tearDown(self):
    # A refused checkpoint must leave the model untouched.
    np.testing.assert_array_equal(self.model.Conv3d_1a_7x7.conv_3d.w.numpy(),
                                  self.first_conv)
    super().tearDown()

  def _variant(self, name, edit):
    tensors = dict(OriginalFixtures.tensors('rgb_imagenet'))
    edit(tensors)
    return OriginalFixtures.write_variant(tensors, name)

  def test_truncated_model_refuses_unrelated_extra(self):
    tensors = dict(OriginalFixtures.tensors('rgb_imagenet'))
    tensors['RGB/inception_i3d/Mixed_4c/Branch_9/conv_3d/w'] = np.zeros(
        [1], np.float32)
    path = OriginalFixtures.write_variant(tensors, 'truncated_extra')
    model = i3d.InceptionI3d(final_endpoint='Mixed_4c')
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r'unexpected.*Mixed_4c/Branch_9/conv_3d/w'):
      loading.load_original(model, path, 'rgb')

  def test_truncated_model_refuses_checkpoint_without_later_endpoints(self):
    tensors = {
        n: v for n, v in OriginalFixtures.tensors('rgb_imagenet').items()
        if not n.startswith('RGB/inception_i3d/Mixed_5c/')
    }
    path = OriginalFixtures.write_variant(tensors, 'no_mixed_5c')
    model = i3d.InceptionI3d(final_endpoint='Mixed_4c')
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r'no_mixed_5c.*lacks.*Mixed_5c'):
      loading.load_original(model, path, 'rgb')

  def test_missing_variable(self):
    name = 'RGB/inception_i3d/Mixed_4c/Branch_1/Conv3d_0b_3x3/batch_norm/beta'
    path = self._variant('missing', lambda t: t.pop(name))
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r'missing/model.ckpt: missing 1 variable.*' + name +
        r' \(shape \(224,\)'):
      loading.load_original(self.model, path, 'rgb')

  def test_extra_variable(self):
    name = 'RGB/inception_i3d/Mixed_4c/Branch_4/Conv3d_0a_1x1/conv_3d/w'

    def edit(tensors):
      tensors[name] = np.zeros([1, 1, 1, 512, 8], np.float32)

    path = self._variant('extra', edit)
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r'extra/model.ckpt: 1 unexpected variable.*' + name +
        r' \(shape \(1, 1, 1, 512, 8\)\)'):
      loading.load_original(self.model, path, 'rgb')

  def test_optimizer_slot_in_tf1_layout_is_extra(self):
    name = 'RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w/Momentum'

    def edit(tensors):
      tensors[name] = np.zeros([7, 7, 7, 3, 64], np.float32)

    path = self._variant('slot', edit)
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r'unexpected variable.*' + name):
      loading.load_original(self.model, path, 'rgb')

  def test_wrong_shape(self):
    name = 'RGB/inception_i3d/Mixed_3c/Branch_2/Conv3d_0b_3x3/conv_3d/w'

    def edit(tensors):
      tensors[name] = tensors[name][..., :95]

    path = self._variant('wrong_shape', edit)
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r'wrong_shape/model.ckpt: ' + name + r' has shape \(3, 3, 3, 32, 95\) '
        r'in the checkpoint, but the model.s Mixed_3c.branch_2\[1\].conv_3d.w '
        r'needs \(3, 3, 3, 32, 96\)'):
      loading.load_original(self.model, path, 'rgb')

  def test_wrong_batch_norm_layout(self):
    name = 'RGB/inception_i3d/Mixed_3b/Branch_0/Conv3d_0a_1x1/batch_norm/beta'

    def edit(tensors):
      tensors[name] = tensors[name].reshape([1, 1, 1, 1, -1])

    path = self._variant('bn_layout', edit)
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        name + r' has shape \(1, 1, 1, 1, 64\).*needs \(64,\).*wrong layout'):
      loading.load_original(self.model, path, 'rgb')

  def test_wrong_dtype(self):
    name = 'RGB/inception_i3d/Mixed_3b/Branch_0/Conv3d_0a_1x1/batch_norm/beta'

    def edit(tensors):
      tensors[name] = tensors[name].astype(np.float64)

    path = self._variant('dtype', edit)
    with self.assertRaisesRegex(layouts.CheckpointError,
                                name + r' has dtype float64.*float32'):
      loading.load_original(self.model, path, 'rgb')

  def test_wrong_class_count(self):
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r'Logits/Conv3d_0c_1x1/conv_3d/w has shape \(1, 1, 1, 1024, 600\) in '
        r'the checkpoint, but .* needs \(1, 1, 1, 1024, 400\) \(the checkpoint '
        r'has 600 classes, the model 400'):
      loading.load_original(
          self.model, OriginalFixtures.path('rgb_scratch_kin600'), 'rgb')

  def test_kin600_is_not_rgb_scratch(self):
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r'wrong stream or layout.*RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w.*'
        r'no prefix'):
      loading.load_original(self.model,
                                OriginalFixtures.path('rgb_scratch_kin600'),
                                'rgb_scratch')

  @parameterized.parameters('rgb', 'rgb_imagenet')
  def test_wrong_stream(self, spec_or_stream):
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r'flow_imagenet/model.ckpt: wrong stream.*'
        r'RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w with shape '
        r'\(7, 7, 7, 3, 64\).*Flow/inception_i3d/Conv3d_1a_7x7/conv_3d/w with '
        r'shape \(7, 7, 7, 2, 64\)'):
      loading.load_original(self.model, OriginalFixtures.path('flow_imagenet'),
                                spec_or_stream)

  def test_flow_weights_into_rgb_model(self):
    # The model was built for 3 channels; the file is a consistent flow one.
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r'Flow/inception_i3d/Conv3d_1a_7x7/conv_3d/w has shape '
        r'\(7, 7, 7, 2, 64\) in the checkpoint, but the model.s '
        r'Conv3d_1a_7x7.conv_3d.w needs \(7, 7, 7, 3, 64\).*2 vs 3'):
      loading.load_original(self.model, OriginalFixtures.path('flow_imagenet'),
                                'flow')

  def test_two_channel_weights_under_rgb_names(self):
    name = 'RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w'

    def edit(tensors):
      tensors[name] = tensors[name][:, :, :, :2]

    path = self._variant('two_channels', edit)
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        name + r' has shape \(7, 7, 7, 2, 64\).*needs \(7, 7, 7, 3, 64\)'):
      loading.load_original(self.model, path, 'rgb')

  def test_truncated_data_file(self):
    source = OriginalFixtures.path('rgb_imagenet')
    path = os.path.join(OriginalFixtures.directory(), 'cut', 'model.ckpt')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copy(source + '.index', path + '.index')
    data = source + '.data-00000-of-00001'
    with open(data, 'rb') as f:
      content = f.read()
    with open(path + '.data-00000-of-00001', 'wb') as f:
      f.write(content[:len(content) // 2])
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r'cut/model.ckpt: cannot read RGB/inception_i3d/\S+ .*truncated'):
      loading.load_original(self.model, path, 'rgb')

  def test_corrupt_index(self):
    path = os.path.join(OriginalFixtures.directory(), 'garbage', 'model.ckpt')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.index', 'wb') as f:
      f.write(b'not a checkpoint' * 8)
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r'garbage/model.ckpt: not a readable'):
      loading.load_original(self.model, path, 'rgb')

  def test_missing_file(self):
    path = os.path.join(OriginalFixtures.directory(), 'absent', 'model.ckpt')
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r'absent/model.ckpt.index: not found'):
      loading.load_original(self.model, path, 'rgb')

  def test_bad_spec(self):
    with self.assertRaisesRegex(ValueError, r"'rbg'"):
      loading.load_original(self.model, OriginalFixtures.path('rgb_imagenet'),
                                'rbg')



if __name__ == '__main__':
  absltest.main()
