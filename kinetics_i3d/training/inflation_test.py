"""Tests for inflation.py: the inflation of Inception-v1 into I3D.

The defining property (Carreira & Zisserman, CVPR 2017, section 2.4): on a
"boring" video, one image repeated T times, the inflated I3D computes the 2D
network's activations on that image at every time step whose temporal
receptive field stays inside the clip. TF `SAME` convolutions pad time with
zeros, so steps near the ends differ; `interior_steps` works out, from the
paper's figure 3 alone (temporal kernel, stride and padding of every layer),
exactly which steps of each endpoint are untouched by the padding, and the
test checks that those steps match and the others do not.

Tolerance: an inflated convolution sums N copies of w/N times the same input
in float32 where the 2D one applies w once, and the two use different kernels
(conv3d against conv2d), so they differ by float32 rounding, compounded over
up to 22 layers. Measured here (112 frames, 64x64, seed 8): at most 1.9e-6 of
each endpoint's largest magnitude at interior steps; the test allows 1e-5
(`RTOL`). The boundary steps differ by 1.9e-5 (deep endpoints, steps whose
padding is far back) to 0.5 (the clip's first and last steps).
"""

import functools
import json
import os
from typing import Dict, NamedTuple

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.training import inception_v1
from kinetics_i3d.training import inception_v1_weights
from kinetics_i3d.training import inflation
from kinetics_i3d.weights import checkpoints

LAYOUTS = os.path.join(paths.TESTDATA_DIR, 'checkpoint_layouts.json')

# Of each endpoint's largest magnitude; see the module docstring.
RTOL = 1e-5

# The fewest multiple of 8 frames with interior Mixed_5c steps.
BORING_FRAMES = 112

# The temporal structure of I3D read off the paper's figure 3, independently
# of i3d.py's tables: (endpoint, kind, temporal kernel, temporal stride).
# 'conv' pads time with zeros; 'pool' (max) ignores its padding; 'mixed' is an
# Inception block (branches 1x1; 1x1 then 3x3x3; 1x1 then 3x3x3; 3x3x3 stride
# 1 max pool then 1x1).
_TEMPORAL_LAYERS = (
    ('Conv3d_1a_7x7', 'conv', 7, 2),
    ('MaxPool3d_2a_3x3', 'pool', 1, 1),
    ('Conv3d_2b_1x1', 'conv', 1, 1),
    ('Conv3d_2c_3x3', 'conv', 3, 1),
    ('MaxPool3d_3a_3x3', 'pool', 1, 1),
    ('Mixed_3b', 'mixed', None, None),
    ('Mixed_3c', 'mixed', None, None),
    ('MaxPool3d_4a_3x3', 'pool', 3, 2),
    ('Mixed_4b', 'mixed', None, None),
    ('Mixed_4c', 'mixed', None, None),
    ('Mixed_4d', 'mixed', None, None),
    ('Mixed_4e', 'mixed', None, None),
    ('Mixed_4f', 'mixed', None, None),
    ('MaxPool3d_5a_2x2', 'pool', 2, 2),
    ('Mixed_5b', 'mixed', None, None),
    ('Mixed_5c', 'mixed', None, None),
)


def _same_windows(length, kernel, stride):
  """[start, stop) input indices of each output step of a TF SAME op."""
  out = -(-length // stride)
  total = max((out - 1) * stride + kernel - length, 0)
  before = total // 2  # TF pads the odd element at the end.
  return [(t * stride - before, t * stride - before + kernel)
          for t in range(out)]


def _conv_exact(exact, kernel, stride):
  # Exact iff the window lies inside the clip (no zero padding) and reads
  # only exact steps.
  n = len(exact)
  return np.array([lo >= 0 and hi <= n and exact[lo:hi].all()
                   for lo, hi in _same_windows(n, kernel, stride)])


def _pool_exact(exact, kernel, stride):
  # Max pooling ignores padding: exact iff its in-clip inputs are exact.
  n = len(exact)
  return np.array([exact[max(lo, 0):min(hi, n)].all()
                   for lo, hi in _same_windows(n, kernel, stride)])


def interior_steps(num_frames):
  """{endpoint: bool [T'] mask of the steps equal to the 2D network's}."""
  exact = np.ones(num_frames, bool)
  masks = {}
  for endpoint, kind, kernel, stride in _TEMPORAL_LAYERS:
    if kind == 'conv':
      exact = _conv_exact(exact, kernel, stride)
    elif kind == 'pool':
      exact = _pool_exact(exact, kernel, stride)
    else:
      one = _conv_exact(exact, 1, 1)
      exact = (one & _conv_exact(one, 3, 1) &
               _conv_exact(_pool_exact(exact, 3, 1), 1, 1))
    masks[endpoint] = exact
  return masks


def random_2d_tensors(num_classes, input_channels=3, seed=0):
  """Random Inception-v1 weights with non-trivial BatchNorm statistics."""
  rng = np.random.default_rng(seed)
  tensors = {}
  for name, shape in inception_v1.variable_shapes(num_classes,
                                                  input_channels).items():
    if name.endswith('Logits/Conv2d_0c_1x1/conv_2d/w'):
      value = rng.normal(0, 1 / np.sqrt(np.prod(shape[:-1])), shape)
    elif name.endswith('/w'):  # He-normal keeps activations O(1).
      value = rng.normal(0, np.sqrt(2 / np.prod(shape[:-1])), shape)
    elif name.endswith('moving_variance'):
      value = rng.uniform(0.5, 2., shape)
    else:  # Biases, offsets, means.
      value = rng.normal(0, 0.2, shape)
    tensors[name] = value.astype(np.float32)
  return tensors


def load_into_i3d(model, tensors_3d, scope):
  """Assigns original-layout tensors to a built I3D, every one used once.

  Written here rather than taken from the checkpoint loader so that this
  test depends on nothing but the original naming scheme.
  """
  unused = dict(tensors_3d)
  for variable in model.variables:
    name = variable.name[:-len(':0')]
    if name.endswith(('/counter', '/hidden', '/batch_norm/scale')):
      continue  # EMA bookkeeping and the constant unit scale: not stored.
    name = name.replace('/batch_norm/offset', '/batch_norm/beta')
    name = name.replace('/moving_mean/average', '/moving_mean')
    name = name.replace('/moving_variance/average', '/moving_variance')
    assert name.startswith('inception_i3d/'), name
    value = unused.pop(scope + name[len('inception_i3d/'):])
    variable.assign(np.reshape(value, variable.shape))
  assert not unused, sorted(unused)


def boring(image, num_frames):
  """[B, H, W, C] images -> [B, T, H, W, C] clips of the image repeated."""
  return np.repeat(image[:, np.newaxis], num_frames, axis=1)


def max_rel_error(actual, expected):
  return np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-12)


class InflationTableTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(('rgb_imagenet', 3, 'rgb'),
                            ('flow_imagenet', 2, 'flow'))
  def test_output_is_exactly_the_released_layout(self, layout, channels,
                                                 stream):
    with open(LAYOUTS) as f:
      expected = {
          name: tuple(info['shape'])
          for name, info in json.load(f)[layout].items()
      }
    tensors = inflation.inflate_tensors(
        random_2d_tensors(i3d.KINETICS_400_CLASSES, channels),
        scope=checkpoints.STREAM_SCOPES[stream])
    self.assertEqual({n: t.shape for n, t in tensors.items()}, expected)
    self.assertTrue(all(t.dtype == np.float32 for t in tensors.values()))

  def test_every_2d_tensor_used_once(self):
    table = inflation.inflation_table(num_classes=1000)
    names_2d = [row.name_2d for row in table]
    names_3d = [row.name_3d for row in table]
    self.assertLen(table, 230)
    self.assertCountEqual(names_2d, inception_v1.variable_shapes(1000))
    self.assertLen(set(names_3d), 230)

  def test_temporal_sizes_are_the_papers(self):
    times = {row.name_3d: row.time for row in inflation.inflation_table(10)}
    self.assertEqual(times['Conv3d_1a_7x7/conv_3d/w'], 7)
    self.assertEqual(times['Conv3d_2b_1x1/conv_3d/w'], 1)
    self.assertEqual(times['Conv3d_2c_3x3/conv_3d/w'], 3)
    self.assertEqual(times['Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/w'], 3)
    self.assertEqual(times['Mixed_4d/Branch_3/Conv3d_0b_1x1/conv_3d/w'], 1)
    self.assertEqual(times['Logits/Conv3d_0c_1x1/conv_3d/w'], 1)
    self.assertEqual(times['Mixed_3b/Branch_1/Conv3d_0b_3x3/batch_norm/beta'],
                     0)

  def test_values_repeat_divide_and_copy(self):
    tensors_2d = random_2d_tensors(10, seed=3)
    tensors_3d = inflation.inflate_tensors(tensors_2d, scope='')
    stem_2d = tensors_2d['Conv2d_1a_7x7/conv_2d/w']
    stem_3d = tensors_3d['Conv3d_1a_7x7/conv_3d/w']
    for t in range(7):
      self.assertAllEqual(stem_3d[t], stem_2d / np.float32(7))
    self.assertAllClose(stem_3d.sum(axis=0), stem_2d, rtol=1e-6, atol=1e-7)
    w_2d = tensors_2d['Mixed_4c/Branch_2/Conv2d_0b_3x3/conv_2d/w']
    w_3d = tensors_3d['Mixed_4c/Branch_2/Conv3d_0b_3x3/conv_3d/w']
    self.assertAllEqual(w_3d, np.stack([w_2d / np.float32(3)] * 3))
    for name_2d, name_3d in (
        ('Mixed_4c/Branch_0/Conv2d_0a_1x1/conv_2d/w',
         'Mixed_4c/Branch_0/Conv3d_0a_1x1/conv_3d/w'),
        ('Logits/Conv2d_0c_1x1/conv_2d/w', 'Logits/Conv3d_0c_1x1/conv_3d/w')):
      self.assertAllEqual(tensors_3d[name_3d], tensors_2d[name_2d][None])
    for suffix in ('beta', 'moving_mean', 'moving_variance'):
      self.assertAllEqual(
          tensors_3d[f'Mixed_5b/Branch_2/Conv3d_0a_3x3/batch_norm/{suffix}'],
          tensors_2d[f'Mixed_5b/Branch_2/Conv2d_0a_3x3/batch_norm/{suffix}'])
    self.assertAllEqual(tensors_3d['Logits/Conv3d_0c_1x1/conv_3d/b'],
                        tensors_2d['Logits/Conv2d_0c_1x1/conv_2d/b'])

  def test_input_is_not_modified(self):
    tensors_2d = random_2d_tensors(10, seed=4)
    copy = {n: t.copy() for n, t in tensors_2d.items()}
    tensors_3d = inflation.inflate_tensors(tensors_2d)
    tensors_3d['RGB/inception_i3d/Conv3d_2b_1x1/batch_norm/beta'][:] = 7.
    for name in copy:
      self.assertAllEqual(tensors_2d[name], copy[name])


class InflationErrorsTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.tensors = random_2d_tensors(10, seed=5)

  @parameterized.parameters('Mixed_4e/Branch_1/Conv2d_0b_3x3/conv_2d/w',
                            'Mixed_3b/Branch_3/Conv2d_0b_1x1/batch_norm/beta',
                            'Conv2d_2c_3x3/batch_norm/moving_variance',
                            'Logits/Conv2d_0c_1x1/conv_2d/w',
                            'Conv2d_1a_7x7/conv_2d/w',
                            'Logits/Conv2d_0c_1x1/conv_2d/b')
  def test_missing_tensor_is_named(self, name):
    del self.tensors[name]
    with self.assertRaisesRegex(ValueError, f'[Mm]issing.*{name}'):
      inflation.inflate_tensors(self.tensors)

  @parameterized.parameters('Mixed_5b/Branch_2/Conv2d_0b_3x3/conv_2d/w',
                            'Conv2d_1a_7x7/batch_norm/gamma',
                            'global_step')
  def test_extra_tensor_is_named(self, name):
    self.tensors[name] = np.zeros([3], np.float32)
    with self.assertRaisesRegex(ValueError, f'unexpected.*{name}'):
      inflation.inflate_tensors(self.tensors)

  @parameterized.parameters(
      ('Mixed_4b/Branch_1/Conv2d_0b_3x3/conv_2d/w', (3, 3, 96, 200)),
      ('Mixed_4b/Branch_1/Conv2d_0b_3x3/conv_2d/w', (3, 3, 3, 96, 208)),
      ('Conv2d_2b_1x1/batch_norm/moving_mean', (1, 1, 1, 64)),
      ('Conv2d_1a_7x7/batch_norm/beta', (65,)),
      ('Logits/Conv2d_0c_1x1/conv_2d/w', (1, 1, 1000, 10)))
  def test_misshaped_tensor_is_named(self, name, shape):
    self.tensors[name] = np.zeros(shape, np.float32)
    with self.assertRaisesRegex(ValueError, name):
      inflation.inflate_tensors(self.tensors)

  def test_inconsistent_classes_are_named(self):
    self.tensors['Logits/Conv2d_0c_1x1/conv_2d/b'] = np.zeros([11], np.float32)
    with self.assertRaisesRegex(ValueError, 'Logits/Conv2d_0c_1x1/conv_2d/w'):
      inflation.inflate_tensors(self.tensors)

  def test_integer_tensor_is_named(self):
    name = 'Mixed_3c/Branch_0/Conv2d_0a_1x1/batch_norm/moving_mean'
    self.tensors[name] = np.zeros([128], np.int32)
    with self.assertRaisesRegex(ValueError, f'{name}.*floating'):
      inflation.inflate_tensors(self.tensors)

  @parameterized.parameters(
      ('Mixed_4f/Branch_3/Conv2d_0b_1x1/batch_norm/moving_variance', np.nan),
      ('Conv2d_1a_7x7/conv_2d/w', np.inf),
      ('Logits/Conv2d_0c_1x1/conv_2d/b', -np.inf))
  def test_non_finite_tensor_is_named(self, name, bad):
    self.tensors[name].flat[5] = bad
    with self.assertRaisesRegex(ValueError,
                                f'{name}.* 1 non-finite value.*NaN or Inf'):
      inflation.inflate_tensors(self.tensors)


class BoringRun(NamedTuple):
  """Inception-v1 on images and the inflated I3D on them repeated in time.

  Attributes:
    images: [2, 64, 64, 3] images in [-1, 1].
    tensors_2d: The 2D weights, with a 1001-class head as TF-Slim's release.
    tensors_3d: `inflate_tensors(tensors_2d)` in the RGB stream's scope.
    end_points_2d: Inception-v1's endpoints on `images`, up to Mixed_5c.
    end_points_3d: I3D's endpoints on the boring clips, up to Mixed_5c.
    interior: `interior_steps(BORING_FRAMES)`.
  """
  images: np.ndarray
  tensors_2d: Dict[str, np.ndarray]
  tensors_3d: Dict[str, np.ndarray]
  end_points_2d: Dict[str, tf.Tensor]
  end_points_3d: Dict[str, tf.Tensor]
  interior: Dict[str, np.ndarray]


@functools.lru_cache(maxsize=None)
def boring_run() -> BoringRun:
  """The one 112-frame I3D forward pass of the session (also inflate_test's)."""
  rng = np.random.default_rng(7)
  images = rng.uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)
  # The logits are drawn last: the other tensors do not depend on the classes.
  tensors_2d = random_2d_tensors(num_classes=1001, seed=8)
  features_2d = {
      n: t for n, t in tensors_2d.items() if not n.startswith('Logits/')
  }
  net_2d = inception_v1.InceptionV1(final_endpoint='Mixed_5c')
  net_2d(images, is_training=False)
  inception_v1_weights.assign_tensors(net_2d, features_2d)
  _, end_points_2d = net_2d(images, is_training=False)

  scope = checkpoints.STREAM_SCOPES[streams.RGB]
  tensors_3d = inflation.inflate_tensors(tensors_2d, scope=scope)
  net_3d = i3d.InceptionI3d(final_endpoint='Mixed_5c')
  clip = boring(images, BORING_FRAMES)
  net_3d(clip[:, :8], is_training=False)  # Builds the variables.
  load_into_i3d(net_3d, {
      n: t for n, t in tensors_3d.items()
      if not n.startswith(scope + 'Logits/')
  }, scope)
  _, end_points_3d = net_3d(clip, is_training=False)
  return BoringRun(images, tensors_2d, tensors_3d, end_points_2d,
                   end_points_3d, interior_steps(BORING_FRAMES))


class BoringVideoTest(tf.test.TestCase):
  """Inflated I3D on a repeated image equals Inception-v1 on the image."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    run = boring_run()
    cls.end_points_2d = run.end_points_2d
    cls.end_points_3d = run.end_points_3d
    cls.interior = run.interior

  def test_interior_steps_at_every_endpoint(self):
    for endpoint, mask in self.interior.items():
      self.assertLen(mask, self.end_points_3d[endpoint].shape[1], endpoint)
      self.assertTrue(mask.any(), endpoint)
      self.assertFalse(mask.all(), endpoint)
    # Worked by hand for 112 frames: Conv3d_1a_7x7 has 56 steps and pads 2
    # frames before and 3 after, so step t reads frames 2t-2 .. 2t+4: step 0
    # reads two padding frames, steps 54 and 55 read frames 112 and beyond.
    self.assertEqual(
        np.flatnonzero(~self.interior['Conv3d_1a_7x7']).tolist(), [0, 54, 55])
    self.assertEqual(np.flatnonzero(self.interior['Mixed_5c']).tolist(),
                     [6, 7])

  def test_interior_steps_equal_the_2d_network(self):
    for endpoint_2d, endpoint_3d in inception_v1.I3D_ENDPOINTS.items():
      if endpoint_3d not in self.interior:
        continue
      expected = self.end_points_2d[endpoint_2d].numpy()
      actual = self.end_points_3d[endpoint_3d].numpy()
      self.assertEqual(actual.shape[2:], expected.shape[1:], endpoint_3d)
      self.assertGreater(np.abs(expected).max(), 0.1, endpoint_2d)
      for t in np.flatnonzero(self.interior[endpoint_3d]):
        error = max_rel_error(actual[:, t], expected)
        self.assertLess(error, RTOL, f'{endpoint_3d} step {t}: {error:.2g}')

  def test_boundary_steps_differ(self):
    # The mask is tight: every step it excludes really is changed by the
    # zero padding, so the comparison above skips nothing it could check.
    for endpoint, mask in self.interior.items():
      expected = self.end_points_2d[
          dict(zip(inception_v1.I3D_ENDPOINTS.values(),
                   inception_v1.I3D_ENDPOINTS))[endpoint]].numpy()
      actual = self.end_points_3d[endpoint].numpy()
      for t in np.flatnonzero(~mask):
        error = max_rel_error(actual[:, t], expected)
        self.assertGreater(error, RTOL, f'{endpoint} step {t}')


class BoringVideoLogitsTest(tf.test.TestCase):
  """The logits head, on 224x224 frames.

  `BoringVideoTest` shows that interior Mixed_5c steps equal the 2D
  Mixed_5c. Here I3D's own head (2x7x7 average pool, the inflated 1x1x1
  logits convolution, mean over time) runs on a clip of such steps and must
  give the 2D logits. (The whole I3D on full-size frames would need the 112
  frames it takes to have interior Mixed_5c steps: too slow for a test.)
  """

  def test_head_on_interior_features_gives_the_2d_logits(self):
    rng = np.random.default_rng(9)
    images = rng.uniform(-1, 1, (2, streams.CROP, streams.CROP, 3)).astype(
        np.float32)
    tensors_2d = random_2d_tensors(num_classes=12, seed=10)
    net_2d = inception_v1.InceptionV1(num_classes=12)
    net_2d(images, is_training=False)
    inception_v1_weights.assign_tensors(net_2d, tensors_2d)
    logits_2d, end_points_2d = net_2d(images, is_training=False)

    tensors_3d = inflation.inflate_tensors(tensors_2d, scope='')
    net_3d = i3d.InceptionI3d(num_classes=12)
    features = boring(end_points_2d['Mixed_5c'].numpy(), 3)  # [2, 3, 7, 7, C]
    # Builds the logits unit.
    net_3d.Logits(features[:, :1, :1, :1], is_training=False)
    net_3d.Logits.conv_3d.w.assign(tensors_3d['Logits/Conv3d_0c_1x1/conv_3d/w'])
    net_3d.Logits.conv_3d.b.assign(tensors_3d['Logits/Conv3d_0c_1x1/conv_3d/b'])
    logits_3d = i3d.logits_head(
        features, lambda x: net_3d.Logits(x, is_training=False))
    self.assertEqual(logits_3d.shape, (2, 12))
    self.assertGreater(np.abs(logits_2d).max(), 0.1)
    self.assertLess(max_rel_error(logits_3d.numpy(), logits_2d.numpy()),
                    RTOL)


if __name__ == '__main__':
  tf.test.main()
