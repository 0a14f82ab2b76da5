"""Tests for loading.py: DeepMind's layouts load, and give the same logits.

For each released layout, a checkpoint with exactly its names and shapes
(testdata/checkpoint_layouts.json) and random values is written the way TF1
wrote them (one SaveV2 of name -> tensor), loaded into `i3d.InceptionI3d`
(Carreira & Zisserman, CVPR 2017), and the model's logits are compared with
`reference_forward`, an independent raw-op implementation, within
LOGITS_ATOL. A golden test runs the real public rgb_scratch weights.

`OriginalFixtures` makes those checkpoints once per test process; the other
tests of `weights/` share them.
"""

# pylint: disable=protected-access  (Sonnet's EMA exposes no counter/hidden)

import atexit
import os
import shutil
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import name_mapping
from kinetics_i3d.weights import resolution
from kinetics_i3d.weights import tf1_checkpoint

# Max abs difference allowed between the model's and the reference's logits
# (float32; random weights give logits of magnitude up to about 3, and the
# two implementations differ by about 2e-6 from summation order).
LOGITS_ATOL = 1e-5

_CROP = streams.CROP  # The logits' input size (their 7x7 average pool).

RELEASED = tuple(layouts.ORIGINAL_CHECKPOINTS)
# One released checkpoint per (layout, stream): the others share its names,
# shapes and code path (rgb_scratch is rgb_imagenet's layout, flow_scratch
# flow_imagenet's).
DISTINCT = ('rgb_imagenet', 'flow_imagenet', 'rgb_scratch_kin600')


def random_clip(shape, seed):
  return np.random.default_rng(seed).uniform(-1., 1., shape).astype(np.float32)


class OriginalFixtures:
  """Random tensors and their checkpoints, made once per test process."""

  _dir = None
  _tensors = {}
  _paths = {}

  @classmethod
  def directory(cls):
    if cls._dir is None:
      cls._dir = tempfile.mkdtemp(prefix='weights_test-')
      atexit.register(shutil.rmtree, cls._dir, True)
    return cls._dir

  @classmethod
  def tensors(cls, name):
    if name not in cls._tensors:
      cls._tensors[name] = reference_forward.random_original_tensors(
          name, seed=RELEASED.index(name))
    return cls._tensors[name]

  @classmethod
  def path(cls, name):
    if name not in cls._paths:
      cls._paths[name] = cls._write(cls.tensors(name), name)
    return cls._paths[name]

  @classmethod
  def write_variant(cls, tensors, name):
    return cls._write(tensors, os.path.join('variants', name))

  @classmethod
  def _write(cls, tensors, folder):
    """Writes {name: array} as a TF1-style checkpoint (no object graph)."""
    return tf1_checkpoint.write_tf1_checkpoint(
        tensors, os.path.join(cls.directory(), folder, 'model.ckpt'),
        overwrite=True, write_state_file=False)


class OriginalLayoutsTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(*DISTINCT)
  def test_loaded_logits_equal_reference(self, name):
    spec = layouts.ORIGINAL_CHECKPOINTS[name]
    tensors = OriginalFixtures.tensors(name)
    model = i3d.InceptionI3d(num_classes=spec.num_classes)
    result = loading.load_original(model, OriginalFixtures.path(name), spec)

    num_slots = sum(n.endswith('/Momentum') for n in tensors)
    self.assertEqual(num_slots, 116 if name.endswith('kin600') else 0)
    self.assertLen(result.restored, 230)
    self.assertCountEqual(result.ignored,
                          [n for n in tensors if n.endswith('/Momentum')])
    self.assertEmpty(result.reinitialized)
    self.assertEqual(result.layout, spec.layout)

    # 17 frames: odd sizes exercise SAME's asymmetric padding, and two time
    # steps reach the logits' temporal mean.
    clip = random_clip((2, 17, _CROP, _CROP, spec.num_channels), seed=10)
    logits, _ = model(tf.constant(clip), is_training=False)
    expected = reference_forward.reference_logits(tensors, clip, spec.scope)
    self.assertEqual(logits.shape, (2, spec.num_classes))
    self.assertLess(np.abs(expected).max(), 50.)
    self.assertGreater(np.abs(expected).max(), 0.5)  # Not a trivial network.
    np.testing.assert_allclose(logits.numpy(), expected, rtol=0,
                               atol=LOGITS_ATOL)
    self._assert_statistics_as_in_the_file(model, spec, tensors)

  def _assert_statistics_as_in_the_file(self, model, spec, tensors):
    """average == hidden == the file's value; debiasing off; BN scales 1."""
    mapping = name_mapping.variable_mapping(model, spec.scope, spec.layout)
    for row in mapping.tensors.values():
      if row.kind != 'moving_average':
        continue
      average, hidden, counter = row.variables
      value = tensors[row.original_name].reshape(average.shape)
      np.testing.assert_array_equal(average.numpy(), value)
      np.testing.assert_array_equal(hidden.numpy(), value)
      self.assertEqual(int(counter.numpy()), loading.EMA_COUNTER)
    for scale in mapping.constants.values():
      np.testing.assert_array_equal(scale.numpy(), np.ones(scale.shape))
    self.assertEqual(float(tf.pow(tf.constant(i3d.BATCH_NORM_DECAY),
                                  float(loading.EMA_COUNTER))), 0.)

  def test_training_step_continues_tf1_moving_average(self):
    spec = layouts.ORIGINAL_CHECKPOINTS['rgb_scratch']
    tensors = OriginalFixtures.tensors('rgb_scratch')
    model = i3d.InceptionI3d()
    loading.load_original(model, OriginalFixtures.path('rgb_scratch'), spec)
    clip = random_clip((1, 9, _CROP, _CROP, 3), seed=11)
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
      self.assertEqual(int(ema._counter.numpy()), loading.EMA_COUNTER + 1)
      np.testing.assert_array_equal(ema.value.numpy(),
                                    ema._hidden.numpy())

  def test_truncated_model_loads_its_part(self):
    tensors = OriginalFixtures.tensors('rgb_imagenet')
    model = i3d.InceptionI3d(final_endpoint='Mixed_4c')
    result = loading.load_original(
        model, OriginalFixtures.path('rgb_imagenet'), 'rgb_imagenet')
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

  def test_skip_logits_for_fine_tuning(self):
    tensors = OriginalFixtures.tensors('rgb_imagenet')
    model = i3d.InceptionI3d(num_classes=101)
    result = loading.load_original(
        model, OriginalFixtures.path('rgb_imagenet'), 'rgb_imagenet',
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


class BuildModelTest(tf.test.TestCase):

  def test_unknown_name(self):
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r"Unknown checkpoint 'rgb'.*rgb_imagenet"):
      loading.build_model('rgb')

  def test_builds_from_released_layout(self):
    directory = os.path.join(OriginalFixtures.directory(), 'released')
    shutil.copytree(os.path.dirname(OriginalFixtures.path('flow_scratch')),
                    os.path.join(directory, 'flow_scratch'))
    model = loading.build_model(
        'flow_scratch', final_endpoint='Conv3d_2b_1x1',
        checkpoint_dir=directory)
    self.assertEqual(model.final_endpoint, 'Conv3d_2b_1x1')
    np.testing.assert_array_equal(
        model.Conv3d_2b_1x1.conv_3d.w.numpy(),
        OriginalFixtures.tensors('flow_scratch')[
            'Flow/inception_i3d/Conv3d_2b_1x1/conv_3d/w'])

  def test_user_checkpoint_needs_load_original(self):
    resolved = resolution.ResolvedCheckpoint('/x/model.ckpt', 'rgb', None)
    with self.assertRaisesRegex(ValueError, r'/x/model.ckpt: .*load_original'):
      loading.load_resolved(resolved)


def golden_clip():
  """The deterministic input of the golden test: [1, 16, 224, 224, 3]."""
  t = np.arange(16, dtype=np.float64)[:, None, None, None]
  h = np.arange(_CROP, dtype=np.float64)[None, :, None, None] / _CROP
  w = np.arange(_CROP, dtype=np.float64)[None, None, :, None] / _CROP
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
    model = loading.build_model('rgb_scratch',
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


if __name__ == '__main__':
  absltest.main()
