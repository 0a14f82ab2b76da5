"""Tests for checkpoints.py: DeepMind's five layouts, TF2 checkpoints, export.

For each released layout, a checkpoint with exactly its names and shapes
(testdata/checkpoint_layouts.json) and random values is written the way TF1
wrote them (one SaveV2 of name -> tensor), loaded into `i3d.InceptionI3d`,
and the model's logits are compared with `reference_forward`, an independent
raw-op implementation, within LOGITS_ATOL. A golden test runs the real public
rgb_scratch weights.
"""

# pylint: disable=protected-access  (Sonnet's EMA exposes no counter/hidden)

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import tf1_checkpoint

# Max abs difference allowed between the model's and the reference's logits
# (float32; random weights give logits of magnitude up to about 3, and the
# two implementations differ by about 2e-6 from summation order).
LOGITS_ATOL = 1e-5

LAYOUTS = ('rgb_imagenet', 'rgb_scratch', 'flow_imagenet', 'flow_scratch',
           'rgb_scratch_kin600')


def write_original_checkpoint(tensors, prefix):
  """Writes {name: array} as a TF1-style checkpoint (no object graph)."""
  return tf1_checkpoint.write_tf1_checkpoint(tensors, prefix, overwrite=True,
                                     write_state_file=False)


def random_clip(shape, seed):
  return np.random.default_rng(seed).uniform(-1., 1., shape).astype(np.float32)


class _Fixtures:
  """Random tensors and their checkpoints, made once per test process."""

  _dir = None
  _tensors = {}
  _paths = {}

  @classmethod
  def directory(cls):
    if cls._dir is None:
      cls._dir = tempfile.mkdtemp(prefix='checkpoints_test-')
    return cls._dir

  @classmethod
  def tensors(cls, layout):
    if layout not in cls._tensors:
      cls._tensors[layout] = reference_forward.random_original_tensors(
          layout, seed=LAYOUTS.index(layout))
    return cls._tensors[layout]

  @classmethod
  def path(cls, layout):
    if layout not in cls._paths:
      cls._paths[layout] = write_original_checkpoint(
          cls.tensors(layout),
          os.path.join(cls.directory(), layout, 'model.ckpt'))
    return cls._paths[layout]

  @classmethod
  def write_variant(cls, tensors, name):
    return write_original_checkpoint(
        tensors, os.path.join(cls.directory(), 'variants', name, 'model.ckpt'))


def _bn_rows(mapping):
  return [row for row in mapping.tensors.values()
          if row.kind == 'moving_average']


class OriginalLayoutsTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(*LAYOUTS)
  def test_mapping_is_exactly_the_layout(self, layout):
    spec = checkpoints.ORIGINAL_CHECKPOINTS[layout]
    model = i3d.InceptionI3d(num_classes=spec.num_classes)
    checkpoints.build_variables(model, spec.num_channels)
    mapping = checkpoints.variable_mapping(model, spec.scope, spec.layout)
    expected = {
        name: tuple(info['shape'])
        for name, info in reference_forward.load_layouts()[layout].items()
        if not name.endswith('/Momentum')
    }
    self.assertEqual(
        {n: row.checkpoint_shape for n, row in mapping.tensors.items()},
        expected)
    # Every module variable is a target exactly once.
    targets = [v.ref() for v in mapping.all_variables()]
    self.assertLen(targets, len(set(targets)))
    self.assertEqual(set(targets), {v.ref() for v in model.variables})
    self.assertLen(mapping.constants, 57)  # One BN scale per conv but logits.

  @parameterized.parameters(*LAYOUTS)
  def test_loaded_logits_equal_reference(self, layout):
    spec = checkpoints.ORIGINAL_CHECKPOINTS[layout]
    tensors = _Fixtures.tensors(layout)
    model = i3d.InceptionI3d(num_classes=spec.num_classes)
    result = checkpoints.load_original(model, _Fixtures.path(layout), spec)

    num_slots = sum(n.endswith('/Momentum') for n in tensors)
    self.assertEqual(num_slots, 116 if layout.endswith('kin600') else 0)
    self.assertLen(result.restored, 230)
    self.assertCountEqual(result.ignored,
                          [n for n in tensors if n.endswith('/Momentum')])
    self.assertEmpty(result.reinitialized)
    self.assertEqual(result.layout, spec.layout)

    # 17 frames: odd sizes exercise SAME's asymmetric padding, and two time
    # steps reach the logits' temporal mean.
    clip = random_clip((2, 17, 224, 224, spec.num_channels), seed=10)
    logits, _ = model(tf.constant(clip), is_training=False)
    expected = reference_forward.reference_logits(tensors, clip, spec.scope)
    self.assertEqual(logits.shape, (2, spec.num_classes))
    self.assertLess(np.abs(expected).max(), 50.)
    self.assertGreater(np.abs(expected).max(), 0.5)  # Not a trivial network.
    np.testing.assert_allclose(logits.numpy(), expected, rtol=0,
                               atol=LOGITS_ATOL)

    # Moving statistics: average == hidden == the file's value; counter set
    # so Sonnet's debiasing is a no-op; BN scales are ones.
    mapping = checkpoints.variable_mapping(model, spec.scope, spec.layout)
    for row in _bn_rows(mapping):
      average, hidden, counter = row.variables
      value = tensors[row.original_name].reshape(average.shape)
      np.testing.assert_array_equal(average.numpy(), value)
      np.testing.assert_array_equal(hidden.numpy(), value)
      self.assertEqual(int(counter.numpy()), checkpoints.EMA_COUNTER)
    for scale in mapping.constants.values():
      np.testing.assert_array_equal(scale.numpy(), np.ones(scale.shape))
    self.assertEqual(float(tf.pow(tf.constant(i3d.BATCH_NORM_DECAY),
                                  float(checkpoints.EMA_COUNTER))), 0.)

  def test_training_step_continues_tf1_moving_average(self):
    spec = checkpoints.ORIGINAL_CHECKPOINTS['rgb_scratch']
    tensors = _Fixtures.tensors('rgb_scratch')
    model = i3d.InceptionI3d()
    checkpoints.load_original(model, _Fixtures.path('rgb_scratch'), spec)
    clip = random_clip((1, 9, 224, 224, 3), seed=11)
    model(tf.constant(clip), is_training=True)

    # TF1's update, computed here from the first unit's batch statistics:
    # moving <- moving - (moving - batch) * (1 - decay).
    name = spec.scope + 'Conv3d_1a_7x7/'
    conv = reference_forward.conv3d_same(
        tf.constant(clip), tf.constant(tensors[name + 'conv_3d/w']),
        (2, 2, 2)).numpy().astype(np.float64)
    batch_mean = conv.mean(axis=(0, 1, 2, 3))
    batch_var = conv.var(axis=(0, 1, 2, 3))
    decay = i3d.BATCH_NORM_DECAY
    bn = model.Conv3d_1a_7x7.batch_norm
    for ema, batch, suffix in ((bn.moving_mean, batch_mean, 'moving_mean'),
                               (bn.moving_variance, batch_var,
                                'moving_variance')):
      old = tensors[name + 'batch_norm/' + suffix].astype(np.float64)
      expected = old - (old - batch) * (1. - decay)
      np.testing.assert_allclose(
          ema.value.numpy().reshape(-1), expected, rtol=1e-6, atol=1e-6)
      # The update moved the statistic by far more than the tolerance.
      self.assertGreater(np.abs(expected - old).max(), 1e-4)
      self.assertEqual(int(ema._counter.numpy()),
                       checkpoints.EMA_COUNTER + 1)
      np.testing.assert_array_equal(ema.value.numpy(),
                                    ema._hidden.numpy())

  def test_truncated_model_loads_its_part(self):
    tensors = _Fixtures.tensors('rgb_imagenet')
    model = i3d.InceptionI3d(final_endpoint='Mixed_4c')
    result = checkpoints.load_original(model, _Fixtures.path('rgb_imagenet'),
                                       'rgb_imagenet')
    later = [n for n in tensors if n.split('/')[2] in (
        'Mixed_4d', 'Mixed_4e', 'Mixed_4f', 'Mixed_5b', 'Mixed_5c', 'Logits')]
    self.assertCountEqual(result.ignored, later)
    self.assertLen(result.restored, len(tensors) - len(later))
    clip = random_clip((1, 8, 96, 96, 3), seed=12)  # Any size up to Mixed_4c.
    features, _ = model(tf.constant(clip), is_training=False)
    expected = reference_forward.reference_endpoints(
        tensors, clip, 'RGB/inception_i3d/', final_endpoint='Mixed_4c')
    np.testing.assert_allclose(features.numpy(), expected['Mixed_4c'],
                               rtol=0, atol=LOGITS_ATOL)

  def test_truncated_model_refuses_unrelated_extra(self):
    tensors = dict(_Fixtures.tensors('rgb_imagenet'))
    tensors['RGB/inception_i3d/Mixed_4c/Branch_9/conv_3d/w'] = np.zeros(
        [1], np.float32)
    path = _Fixtures.write_variant(tensors, 'truncated_extra')
    model = i3d.InceptionI3d(final_endpoint='Mixed_4c')
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'unexpected.*Mixed_4c/Branch_9/conv_3d/w'):
      checkpoints.load_original(model, path, 'rgb')

  def test_truncated_model_refuses_checkpoint_without_later_endpoints(self):
    tensors = {
        n: v for n, v in _Fixtures.tensors('rgb_imagenet').items()
        if not n.startswith('RGB/inception_i3d/Mixed_5c/')
    }
    path = _Fixtures.write_variant(tensors, 'no_mixed_5c')
    model = i3d.InceptionI3d(final_endpoint='Mixed_4c')
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'no_mixed_5c.*lacks.*Mixed_5c'):
      checkpoints.load_original(model, path, 'rgb')

  def test_skip_logits_for_fine_tuning(self):
    tensors = _Fixtures.tensors('rgb_imagenet')
    model = i3d.InceptionI3d(num_classes=101)
    result = checkpoints.load_original(
        model, _Fixtures.path('rgb_imagenet'), 'rgb_imagenet',
        skip_logits=True)
    logits_names = ['RGB/inception_i3d/Logits/Conv3d_0c_1x1/conv_3d/w',
                    'RGB/inception_i3d/Logits/Conv3d_0c_1x1/conv_3d/b']
    self.assertCountEqual(result.reinitialized, logits_names)
    self.assertCountEqual(result.ignored, logits_names)
    self.assertLen(result.restored, 228)
    self.assertNotIn(logits_names[0], result.restored)
    w = model.Logits.conv_3d.w.numpy()
    self.assertEqual(w.shape, (1, 1, 1, 1024, 101))
    # Sonnet's default init: truncated normal, stddev 1/sqrt(fan_in).
    self.assertAllClose(w.std(), 1. / 32. * 0.88, rtol=0.1)
    np.testing.assert_array_equal(model.Logits.conv_3d.b.numpy(), 0.)
    np.testing.assert_array_equal(
        model.Mixed_5c.branch_3[0].conv_3d.w.numpy(),
        tensors['RGB/inception_i3d/Mixed_5c/Branch_3/Conv3d_0b_1x1/conv_3d/w'])


class MalformedCheckpointsTest(parameterized.TestCase, tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = i3d.InceptionI3d()
    checkpoints.build_variables(cls.model, 3)
    cls.first_conv = cls.model.Conv3d_1a_7x7.conv_3d.w.numpy()

  def tearDown(self):
    # A refused checkpoint must leave the model untouched.
    np.testing.assert_array_equal(self.model.Conv3d_1a_7x7.conv_3d.w.numpy(),
                                  self.first_conv)
    super().tearDown()

  def _variant(self, name, edit):
    tensors = dict(_Fixtures.tensors('rgb_imagenet'))
    edit(tensors)
    return _Fixtures.write_variant(tensors, name)

  def test_missing_variable(self):
    name = 'RGB/inception_i3d/Mixed_4c/Branch_1/Conv3d_0b_3x3/batch_norm/beta'
    path = self._variant('missing', lambda t: t.pop(name))
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r'missing/model.ckpt: missing 1 variable.*' + name +
        r' \(shape \(224,\)'):
      checkpoints.load_original(self.model, path, 'rgb')

  def test_extra_variable(self):
    name = 'RGB/inception_i3d/Mixed_4c/Branch_4/Conv3d_0a_1x1/conv_3d/w'

    def edit(tensors):
      tensors[name] = np.zeros([1, 1, 1, 512, 8], np.float32)

    path = self._variant('extra', edit)
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r'extra/model.ckpt: 1 unexpected variable.*' + name +
        r' \(shape \(1, 1, 1, 512, 8\)\)'):
      checkpoints.load_original(self.model, path, 'rgb')

  def test_optimizer_slot_in_tf1_layout_is_extra(self):
    name = 'RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w/Momentum'

    def edit(tensors):
      tensors[name] = np.zeros([7, 7, 7, 3, 64], np.float32)

    path = self._variant('slot', edit)
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'unexpected variable.*' + name):
      checkpoints.load_original(self.model, path, 'rgb')

  def test_wrong_shape(self):
    name = 'RGB/inception_i3d/Mixed_3c/Branch_2/Conv3d_0b_3x3/conv_3d/w'

    def edit(tensors):
      tensors[name] = tensors[name][..., :95]

    path = self._variant('wrong_shape', edit)
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r'wrong_shape/model.ckpt: ' + name + r' has shape \(3, 3, 3, 32, 95\) '
        r'in the checkpoint, but the model.s Mixed_3c.branch_2\[1\].conv_3d.w '
        r'needs \(3, 3, 3, 32, 96\)'):
      checkpoints.load_original(self.model, path, 'rgb')

  def test_wrong_batch_norm_layout(self):
    name = 'RGB/inception_i3d/Mixed_3b/Branch_0/Conv3d_0a_1x1/batch_norm/beta'

    def edit(tensors):
      tensors[name] = tensors[name].reshape([1, 1, 1, 1, -1])

    path = self._variant('bn_layout', edit)
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        name + r' has shape \(1, 1, 1, 1, 64\).*needs \(64,\).*wrong layout'):
      checkpoints.load_original(self.model, path, 'rgb')

  def test_wrong_dtype(self):
    name = 'RGB/inception_i3d/Mixed_3b/Branch_0/Conv3d_0a_1x1/batch_norm/beta'

    def edit(tensors):
      tensors[name] = tensors[name].astype(np.float64)

    path = self._variant('dtype', edit)
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                name + r' has dtype float64.*float32'):
      checkpoints.load_original(self.model, path, 'rgb')

  def test_wrong_class_count(self):
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r'Logits/Conv3d_0c_1x1/conv_3d/w has shape \(1, 1, 1, 1024, 600\) in '
        r'the checkpoint, but .* needs \(1, 1, 1, 1024, 400\) \(the checkpoint '
        r'has 600 classes, the model 400'):
      checkpoints.load_original(self.model,
                                _Fixtures.path('rgb_scratch_kin600'), 'rgb')

  def test_kin600_is_not_rgb_scratch(self):
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r'wrong stream or layout.*RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w.*'
        r'no prefix'):
      checkpoints.load_original(self.model,
                                _Fixtures.path('rgb_scratch_kin600'),
                                'rgb_scratch')

  @parameterized.parameters('rgb', 'rgb_imagenet')
  def test_wrong_stream(self, spec_or_stream):
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r'flow_imagenet/model.ckpt: wrong stream.*'
        r'RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w with shape '
        r'\(7, 7, 7, 3, 64\).*Flow/inception_i3d/Conv3d_1a_7x7/conv_3d/w with '
        r'shape \(7, 7, 7, 2, 64\)'):
      checkpoints.load_original(self.model, _Fixtures.path('flow_imagenet'),
                                spec_or_stream)

  def test_flow_weights_into_rgb_model(self):
    # The model was built for 3 channels; the file is a consistent flow one.
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r'Flow/inception_i3d/Conv3d_1a_7x7/conv_3d/w has shape '
        r'\(7, 7, 7, 2, 64\) in the checkpoint, but the model.s '
        r'Conv3d_1a_7x7.conv_3d.w needs \(7, 7, 7, 3, 64\).*2 vs 3'):
      checkpoints.load_original(self.model, _Fixtures.path('flow_imagenet'),
                                'flow')

  def test_two_channel_weights_under_rgb_names(self):
    name = 'RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w'

    def edit(tensors):
      tensors[name] = tensors[name][:, :, :, :2]

    path = self._variant('two_channels', edit)
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        name + r' has shape \(7, 7, 7, 2, 64\).*needs \(7, 7, 7, 3, 64\)'):
      checkpoints.load_original(self.model, path, 'rgb')

  def test_truncated_data_file(self):
    source = _Fixtures.path('rgb_imagenet')
    path = os.path.join(_Fixtures.directory(), 'cut', 'model.ckpt')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copy(source + '.index', path + '.index')
    data = source + '.data-00000-of-00001'
    with open(data, 'rb') as f:
      content = f.read()
    with open(path + '.data-00000-of-00001', 'wb') as f:
      f.write(content[:len(content) // 2])
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r'cut/model.ckpt: cannot read RGB/inception_i3d/\S+ .*truncated'):
      checkpoints.load_original(self.model, path, 'rgb')

  def test_corrupt_index(self):
    path = os.path.join(_Fixtures.directory(), 'garbage', 'model.ckpt')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.index', 'wb') as f:
      f.write(b'not a checkpoint' * 8)
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'garbage/model.ckpt: not a readable'):
      checkpoints.load_original(self.model, path, 'rgb')

  def test_missing_file(self):
    path = os.path.join(_Fixtures.directory(), 'absent', 'model.ckpt')
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'absent/model.ckpt.index: not found'):
      checkpoints.load_original(self.model, path, 'rgb')

  def test_bad_spec(self):
    with self.assertRaisesRegex(ValueError, r"'rbg'"):
      checkpoints.load_original(self.model, _Fixtures.path('rgb_imagenet'),
                                'rbg')


class BuildModelTest(tf.test.TestCase):

  def test_missing_unpublished_checkpoint(self):
    directory = os.path.join(_Fixtures.directory(), 'empty')
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r'^checkpoint .*empty/flow_imagenet/model.ckpt.index not found. '
        r'Fetch it with `i3d-assets --what=flow_imagenet`.*copy '
        r'data/checkpoints/flow_imagenet/ from https://github.com/deepmind/'
        r'kinetics-i3d into .*empty/.$'):
      checkpoints.build_model('flow_imagenet', checkpoint_dir=directory,
                              fetch=False)

  def test_missing_checkpoint_unreachable_release(self):
    directory = os.path.join(_Fixtures.directory(), 'offline')
    with socket.socket() as closed:  # A loopback port nobody listens on.
      closed.bind(('127.0.0.1', 0))
      port = closed.getsockname()[1]
    with mock.patch.dict(os.environ,
                         {'KINETICS_I3D_URL': f'http://127.0.0.1:{port}'}):
      with self.assertRaisesRegex(
          checkpoints.CheckpointError,
          r'flow_imagenet/model.ckpt.index not found, and fetching it '
          rf'failed: .*127.0.0.1:{port}'):
        checkpoints.build_model('flow_imagenet', checkpoint_dir=directory)
    self.assertFalse(os.path.exists(
        os.path.join(directory, 'flow_imagenet', 'model.ckpt.index')))

  def test_resolution(self):
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r"--flow_checkpoint=rgb_imagenet is an RGB checkpoint; the flow "
        r"stream needs one of \['flow_imagenet', 'flow_scratch'\]"):
      checkpoints.resolve_checkpoint('rgb_imagenet', stream='flow',
                                     flag='--flow_checkpoint')
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'--x=/no/such is neither a released'):
      checkpoints.resolve_checkpoint('/no/such', stream='rgb', flag='--x')
    prefix = _Fixtures.path('rgb_imagenet')
    resolved = checkpoints.resolve_checkpoint(prefix, stream='rgb')
    self.assertEqual((resolved.path, resolved.stream, resolved.spec),
                     (prefix, 'rgb', None))
    directory = os.path.dirname(os.path.dirname(prefix))
    resolved = checkpoints.resolve_checkpoint('rgb_imagenet',
                                              checkpoint_dir=directory)
    self.assertEqual(resolved.path, prefix)
    self.assertEqual(resolved.spec.layout, 'tf1')
    self.assertEqual(checkpoints.ORIGINAL_CHECKPOINTS[
        'rgb_scratch_kin600'].scope, '')

  def test_unknown_name(self):
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r"Unknown checkpoint 'rgb'.*rgb_imagenet"):
      checkpoints.build_model('rgb')

  def test_builds_from_released_layout(self):
    directory = os.path.join(_Fixtures.directory(), 'released')
    shutil.copytree(os.path.dirname(_Fixtures.path('flow_scratch')),
                    os.path.join(directory, 'flow_scratch'))
    model = checkpoints.build_model(
        'flow_scratch', final_endpoint='Conv3d_2b_1x1',
        checkpoint_dir=directory)
    self.assertEqual(model.final_endpoint, 'Conv3d_2b_1x1')
    np.testing.assert_array_equal(
        model.Conv3d_2b_1x1.conv_3d.w.numpy(),
        _Fixtures.tensors('flow_scratch')[
            'Flow/inception_i3d/Conv3d_2b_1x1/conv_3d/w'])


class NativeCheckpointTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = i3d.InceptionI3d()
    checkpoints.load_original(cls.model, _Fixtures.path('rgb_scratch'),
                              'rgb_scratch')

  def test_save_restore_round_trip(self):
    directory = os.path.join(_Fixtures.directory(), 'tf2')
    first = checkpoints.save(self.model, directory)
    second = checkpoints.save(self.model, directory)
    self.assertEqual(os.path.basename(first), 'ckpt-1')
    self.assertEqual(os.path.basename(second), 'ckpt-2')
    # Nothing temporary is left behind.
    self.assertEmpty([f for f in os.listdir(directory) if 'temp' in f])

    restored = i3d.InceptionI3d()
    self.assertEqual(checkpoints.restore(restored, directory), second)
    self.assertLen(restored.variables, len(self.model.variables))
    for a, b in zip(self.model.variables, restored.variables):
      self.assertEqual(a.name, b.name)
      np.testing.assert_array_equal(a.numpy(), b.numpy())
    self.assertEqual(
        int(restored.Mixed_5c.branch_0[0].batch_norm.moving_mean._counter),
        checkpoints.EMA_COUNTER)

    truncated = i3d.InceptionI3d(final_endpoint='Mixed_3c')
    checkpoints.restore(truncated, directory)
    np.testing.assert_array_equal(
        truncated.Mixed_3c.branch_1[1].conv_3d.w.numpy(),
        self.model.Mixed_3c.branch_1[1].conv_3d.w.numpy())

    other = i3d.InceptionI3d(num_classes=600)
    checkpoints.build_variables(other, 3)
    before = [v.numpy() for v in other.variables]
    with self.assertRaisesRegex(
        checkpoints.CheckpointError,
        r'ckpt-2: does not fit the model: .*shape \(400,\).*shape \(600,\).*'
        r'Logits/Conv3d_0c_1x1/conv_3d/b'):
      checkpoints.restore(other, directory)
    for value, variable in zip(before, other.variables):  # All or nothing.
      np.testing.assert_array_equal(value, variable.numpy())
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'3 input channels, but 2 were asked for'):
      checkpoints.restore(i3d.InceptionI3d(), directory, num_channels=2)

  def test_restore_without_checkpoint(self):
    directory = os.path.join(_Fixtures.directory(), 'tf2_empty')
    os.makedirs(directory, exist_ok=True)
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'tf2_empty: no TF2 checkpoint found'):
      checkpoints.restore(i3d.InceptionI3d(), directory)

  def test_restore_refuses_original_checkpoint(self):
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'not a TF2 checkpoint.*load_original'):
      checkpoints.restore(i3d.InceptionI3d(), _Fixtures.path('rgb_scratch'))

  def test_save_unbuilt_model(self):
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'no weights'):
      checkpoints.save(i3d.InceptionI3d(), _Fixtures.directory() + '/x')


# Runs in a fresh interpreter outside the repository: only TensorFlow.
_SERVE_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    serve = loaded.signatures['serving_default']
    spec = serve.structured_input_signature[1]['frames']
    print('INPUT', spec.shape.as_list(), spec.dtype.name)
    print('OUTPUTS', sorted(serve.structured_outputs))
    out = serve(frames=tf.constant(np.load(sys.argv[2])))
    np.save(sys.argv[3], out['logits'].numpy())
    np.save(sys.argv[4], out['probabilities'].numpy())
    print('REPO_MODULES',
          [m for m in ('i3d', 'checkpoints') if m in sys.modules])
""")


class SavedModelTest(tf.test.TestCase):

  def test_export_and_serve_without_repo_code(self):
    model = i3d.InceptionI3d()
    checkpoints.load_original(model, _Fixtures.path('rgb_imagenet'),
                              'rgb_imagenet')
    work = tempfile.mkdtemp(dir=_Fixtures.directory())
    export_dir = os.path.join(work, 'export')
    checkpoints.export_saved_model(model, export_dir, num_channels=3)
    self.assertTrue(os.path.exists(os.path.join(export_dir, 'saved_model.pb')))
    self.assertEqual(sorted(os.listdir(work)), ['export'])  # No temp dirs.

    clip = random_clip((1, 10, 224, 224, 3), seed=13)
    np.save(os.path.join(work, 'clip.npy'), clip)
    script = os.path.join(work, 'serve.py')
    with open(script, 'w') as f:
      f.write(_SERVE_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['TF_CPP_MIN_LOG_LEVEL'] = '2'
    out = subprocess.run(
        [sys.executable, '-I', script, export_dir,
         os.path.join(work, 'clip.npy'), os.path.join(work, 'logits.npy'),
         os.path.join(work, 'probs.npy')],
        cwd=work, env=env, capture_output=True, text=True, check=False)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertIn('INPUT [None, None, 224, 224, 3] float32', out.stdout)
    self.assertIn("OUTPUTS ['logits', 'probabilities']", out.stdout)
    self.assertIn('REPO_MODULES []', out.stdout)

    logits = np.load(os.path.join(work, 'logits.npy'))
    probabilities = np.load(os.path.join(work, 'probs.npy'))
    expected, _ = model(tf.constant(clip), is_training=False)
    np.testing.assert_allclose(logits, expected.numpy(), rtol=0,
                               atol=LOGITS_ATOL)
    np.testing.assert_allclose(probabilities, tf.nn.softmax(expected).numpy(),
                               rtol=0, atol=1e-6)

    with self.assertRaisesRegex(FileExistsError, 'export exists'):
      checkpoints.export_saved_model(model, export_dir, num_channels=3)
    with self.assertRaisesRegex(ValueError, 'num_channels=2'):
      checkpoints.export_saved_model(
          model, export_dir, num_channels=2, overwrite=True)

  def test_export_overwrite_replaces(self):
    model = i3d.InceptionI3d(num_classes=5)
    checkpoints.build_variables(model, 2)
    work = tempfile.mkdtemp(dir=_Fixtures.directory())
    export_dir = os.path.join(work, 'export')
    os.makedirs(export_dir)
    with open(os.path.join(export_dir, 'old.txt'), 'w') as f:
      f.write('old')
    checkpoints.export_saved_model(
        model, export_dir, num_channels=2, num_frames=9, overwrite=True)
    self.assertFalse(os.path.exists(os.path.join(export_dir, 'old.txt')))
    self.assertEqual(sorted(os.listdir(work)), ['export'])
    loaded = tf.saved_model.load(export_dir)
    serve = loaded.signatures['serving_default']
    self.assertEqual(
        serve.structured_input_signature[1]['frames'].shape.as_list(),
        [None, 9, 224, 224, 2])

  def test_truncated_model_exports_features(self):
    model = i3d.InceptionI3d(final_endpoint='Conv3d_1a_7x7')
    checkpoints.build_variables(model, 3)
    export_dir = os.path.join(tempfile.mkdtemp(dir=_Fixtures.directory()),
                              'features')
    checkpoints.export_saved_model(model, export_dir, num_channels=3,
                                   num_frames=4)
    serve = tf.saved_model.load(export_dir).signatures['serving_default']
    self.assertEqual(list(serve.structured_outputs), ['features'])
    clip = random_clip((2, 4, 224, 224, 3), seed=5)
    expected, _ = model(tf.constant(clip), is_training=False)
    self.assertAllClose(serve(frames=tf.constant(clip))['features'], expected,
                        rtol=0, atol=1e-6)

  def test_logits_need_enough_frames(self):
    with self.assertRaisesRegex(ValueError, 'num_frames=8 is below 9'):
      checkpoints.export_saved_model(
          i3d.InceptionI3d(), os.path.join(_Fixtures.directory(), 'no_export'),
          num_channels=3, num_frames=8)
    self.assertFalse(
        os.path.exists(os.path.join(_Fixtures.directory(), 'no_export')))


def golden_clip():
  """The deterministic input of the golden test: [1, 16, 224, 224, 3]."""
  t = np.arange(16, dtype=np.float64)[:, None, None, None]
  h = np.arange(224, dtype=np.float64)[None, :, None, None] / 224.
  w = np.arange(224, dtype=np.float64)[None, None, :, None] / 224.
  c = np.arange(3, dtype=np.float64)[None, None, None, :]
  x = np.sin(2 * np.pi * (2 * h + (1 + c) * w) + 0.4 * t) * np.cos(
      np.pi * (h - w) + 0.1 * (c + 1) * t)
  return x[None].astype(np.float32)


# Golden values for rgb_scratch on `golden_clip()`. Computed once (2026-11-25)
# by a throwaway pure-numpy float64 forward pass (im2col-style matmuls per
# kernel offset, TF SAME padding by hand, -inf padded max pools), sharing no
# code with i3d.py, Sonnet or reference_forward.py, on the tensors of
# data/checkpoints/rgb_scratch/model.ckpt as written by
# assets.ensure_rgb_scratch_checkpoint (index sha256 equal to DeepMind's).
# reference_forward in float64 agreed with it to 3e-14; the float32 model to
# 2.0e-5 on the logits (magnitudes up to 33) and 4.1e-5 on Mixed_5c.
GOLDEN_TOP5 = ((327, 33.309198898203086), (35, 17.417483894345846),
               (31, 17.260196423007617), (374, 16.76887515753228),
               (328, 16.287136640510827))
GOLDEN_SELECTED = {0: 1.9129310321376587, 100: 2.2467926542097745,
                   200: -6.672800269296588, 300: 5.074048877138394,
                   399: 9.2176068920769}
GOLDEN_LOGITS_MEAN = 0.008331340087572059
GOLDEN_LOGITS_STD = 5.997364008546597
GOLDEN_MIXED_5C_MEAN = 0.2772712562497282
GOLDEN_MIXED_5C_STD = 0.8307530475386118
GOLDEN_ATOL = 1e-4  # float32 model vs float64 numpy: 5x the observed 2e-5.


class RealWeightsGoldenTest(tf.test.TestCase):

  def test_rgb_scratch_golden(self):
    # Fetches the public weights (47 MB, cached) into the data folder if
    # they are not there yet.
    model = checkpoints.build_model('rgb_scratch',
                                    checkpoint_dir=paths.CHECKPOINT_DIR)
    logits, end_points = model(tf.constant(golden_clip()), is_training=False)
    logits = logits.numpy()[0].astype(np.float64)
    top5 = np.argsort(-logits)[:5]
    self.assertEqual(tuple(top5), tuple(i for i, _ in GOLDEN_TOP5))
    for index, value in GOLDEN_TOP5:
      self.assertAllClose(logits[index], value, rtol=0, atol=GOLDEN_ATOL)
    for index, value in GOLDEN_SELECTED.items():
      self.assertAllClose(logits[index], value, rtol=0, atol=GOLDEN_ATOL)
    self.assertAllClose(logits.mean(), GOLDEN_LOGITS_MEAN, rtol=0, atol=1e-5)
    self.assertAllClose(logits.std(), GOLDEN_LOGITS_STD, rtol=0, atol=1e-5)
    features = end_points['Mixed_5c'].numpy().astype(np.float64)
    self.assertEqual(features.shape, (1, 2, 7, 7, 1024))
    self.assertAllClose(features.mean(), GOLDEN_MIXED_5C_MEAN, rtol=0,
                        atol=1e-6)
    self.assertAllClose(features.std(), GOLDEN_MIXED_5C_STD, rtol=0,
                        atol=1e-6)


def tearDownModule():
  if _Fixtures._dir is not None:
    shutil.rmtree(_Fixtures._dir, ignore_errors=True)


if __name__ == '__main__':
  absltest.main()
