"""Tests for the I3D module (Carreira & Zisserman, CVPR 2017).

The first three tests are those of DeepMind's kinetics-i3d (shapes with and
without the spatial squeeze, and the unknown-endpoint error); the rest check
every endpoint's shape, eager against compiled execution, BatchNorm in both
modes against a hand computation, dropout semantics and bad arguments.
"""

import functools
import pydoc
from typing import Tuple
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import streams

_BATCH_SIZE = 5
_NUM_FRAMES = 64
_IMAGE_SIZE = streams.CROP
_NUM_CLASSES = i3d.KINETICS_400_CLASSES

# Endpoint shapes [B, T, H, W, C] for a [5, 64, 224, 224, 3] clip, written out
# by hand from the paper's figure 3: stride-2 stages halve (rounding up, TF
# 'SAME'), the first two max pools keep time, channels are the Inception
# blocks' four branches summed.
_EXPECTED_ENDPOINT_SHAPES = {
    'Conv3d_1a_7x7': (5, 32, 112, 112, 64),
    'MaxPool3d_2a_3x3': (5, 32, 56, 56, 64),
    'Conv3d_2b_1x1': (5, 32, 56, 56, 64),
    'Conv3d_2c_3x3': (5, 32, 56, 56, 192),
    'MaxPool3d_3a_3x3': (5, 32, 28, 28, 192),
    'Mixed_3b': (5, 32, 28, 28, 64 + 128 + 32 + 32),
    'Mixed_3c': (5, 32, 28, 28, 128 + 192 + 96 + 64),
    'MaxPool3d_4a_3x3': (5, 16, 14, 14, 480),
    'Mixed_4b': (5, 16, 14, 14, 192 + 208 + 48 + 64),
    'Mixed_4c': (5, 16, 14, 14, 160 + 224 + 64 + 64),
    'Mixed_4d': (5, 16, 14, 14, 128 + 256 + 64 + 64),
    'Mixed_4e': (5, 16, 14, 14, 112 + 288 + 64 + 64),
    'Mixed_4f': (5, 16, 14, 14, 256 + 320 + 128 + 128),
    'MaxPool3d_5a_2x2': (5, 8, 7, 7, 832),
    'Mixed_5b': (5, 8, 7, 7, 256 + 320 + 128 + 128),
    'Mixed_5c': (5, 8, 7, 7, 384 + 384 + 128 + 128),
    'Logits': (5, _NUM_CLASSES),
    'Predictions': (5, _NUM_CLASSES),
}


def symbolic_outputs(model, input_shape, **call_kwargs):
  """Traces `model` on a symbolic input: shapes without running the network."""
  spec = tf.TensorSpec(input_shape, tf.float32)
  traced = tf.function(lambda x: model(x, **call_kwargs)).get_concrete_function(
      spec)
  return traced.structured_outputs


def _small_clip(batch=2, frames=9, channels=3, seed=0):
  rng = np.random.default_rng(seed)
  return tf.constant(
      rng.uniform(-1, 1, (batch, frames, _IMAGE_SIZE, _IMAGE_SIZE,
                          channels)).astype(np.float32))


@functools.lru_cache(maxsize=None)
def _built_model() -> Tuple[i3d.InceptionI3d, tf.Tensor, tf.Tensor]:
  """One network with random weights, built by an eager pass, for the module.

  Returns:
    (model, clip, eager logits of the clip); tests must not change the
    model's variables.
  """
  tf.random.set_seed(0)
  model = i3d.InceptionI3d(num_classes=11)
  clip = _small_clip(batch=2, frames=9)
  logits, _ = model(clip, is_training=False)
  return model, clip, logits


@functools.lru_cache(maxsize=None)
def _logits_model(channels: int) -> i3d.InceptionI3d:
  """The default network (Logits, squeezed), shared by the shape tests.

  Creating the variables is most of a first trace's cost; later traces of
  other batch and clip sizes reuse them.

  Args:
    channels: The input channels its first trace fixes (the cache key).

  Returns:
    One network per channel count.
  """
  del channels  # Only the cache key.
  return i3d.InceptionI3d(num_classes=_NUM_CLASSES, final_endpoint='Logits')


class I3dOriginalTest(tf.test.TestCase):
  """The three tests of DeepMind's i3d_test.py, on TF2 symbolic shapes."""

  def test_model_shapes_with_squeeze(self):
    model = _logits_model(3)  # InceptionI3d(num_classes=400, 'Logits').
    logits, _ = symbolic_outputs(
        model, [_BATCH_SIZE, _NUM_FRAMES, _IMAGE_SIZE, _IMAGE_SIZE, 3],
        is_training=False, dropout_keep_prob=0.5)
    self.assertEqual(logits.shape.as_list(), [_BATCH_SIZE, _NUM_CLASSES])

  def test_model_shapes_without_squeeze(self):
    model = i3d.InceptionI3d(
        num_classes=_NUM_CLASSES, spatial_squeeze=False,
        final_endpoint='Predictions')
    predictions, _ = symbolic_outputs(
        model, [_BATCH_SIZE, _NUM_FRAMES, _IMAGE_SIZE, _IMAGE_SIZE, 3],
        is_training=False, dropout_keep_prob=0.5)
    self.assertEqual(predictions.shape.as_list(),
                     [_BATCH_SIZE, 1, 1, _NUM_CLASSES])

  def test_init_errors(self):
    with self.assertRaisesRegex(ValueError, 'Unknown final endpoint'):
      i3d.InceptionI3d(final_endpoint='Mixed_5d')


class I3dShapeTest(tf.test.TestCase, parameterized.TestCase):

  def test_valid_endpoints_in_order(self):
    self.assertEqual(tuple(_EXPECTED_ENDPOINT_SHAPES), i3d.VALID_ENDPOINTS)
    self.assertEqual(i3d.InceptionI3d.VALID_ENDPOINTS, i3d.VALID_ENDPOINTS)

  def test_every_endpoint_shape(self):
    model = i3d.InceptionI3d(final_endpoint='Predictions')
    output, end_points = symbolic_outputs(
        model, [_BATCH_SIZE, _NUM_FRAMES, _IMAGE_SIZE, _IMAGE_SIZE, 3],
        is_training=False)
    self.assertEqual(tuple(end_points), i3d.VALID_ENDPOINTS)
    self.assertEqual(output.shape.as_list(), [_BATCH_SIZE, _NUM_CLASSES])
    for name, tensor in end_points.items():
      self.assertEqual(
          tuple(tensor.shape.as_list()), _EXPECTED_ENDPOINT_SHAPES[name], name)
      if name not in ('Logits', 'Predictions'):
        self.assertEqual(
            i3d.feature_shape(_NUM_FRAMES, _IMAGE_SIZE, _IMAGE_SIZE, name),
            _EXPECTED_ENDPOINT_SHAPES[name][1:4])

  @parameterized.parameters('Conv3d_1a_7x7', 'MaxPool3d_3a_3x3', 'Mixed_4b',
                            'MaxPool3d_5a_2x2', 'Mixed_5c')
  def test_final_endpoint_stops_the_network(self, final_endpoint):
    model = i3d.InceptionI3d(final_endpoint=final_endpoint)
    # Small frames: the endpoints before the head take any size.
    output, end_points = symbolic_outputs(model, [2, 16, 64, 64, 3],
                                           is_training=False)
    stop = i3d.VALID_ENDPOINTS.index(final_endpoint) + 1
    self.assertEqual(tuple(end_points), i3d.VALID_ENDPOINTS[:stop])
    self.assertEqual(output.shape, end_points[final_endpoint].shape)
    expected = (2, *i3d.feature_shape(16, 64, 64, final_endpoint),
                _EXPECTED_ENDPOINT_SHAPES[final_endpoint][-1])
    self.assertEqual(tuple(output.shape.as_list()), expected)
    # Nothing is built past the final endpoint.
    self.assertFalse(hasattr(model, 'Logits'))

  @parameterized.parameters((1, 9, 3), (3, 10, 2), (2, 17, 3), (1, 79, 2))
  def test_any_batch_and_clip_length(self, batch, frames, channels):
    model = _logits_model(channels)
    logits, end_points = symbolic_outputs(
        model, [batch, frames, _IMAGE_SIZE, _IMAGE_SIZE, channels],
        is_training=False)
    self.assertEqual(logits.shape.as_list(), [batch, _NUM_CLASSES])
    # Time after the three stride-2 stages, each rounding up.
    expected_time = int(np.ceil(np.ceil(np.ceil(frames / 2) / 2) / 2))
    self.assertEqual(end_points['Mixed_5c'].shape[1], expected_time)

  def test_unknown_batch_and_time(self):
    logits, _ = symbolic_outputs(
        _logits_model(3), [None, None, _IMAGE_SIZE, _IMAGE_SIZE, 3],
        is_training=False)
    self.assertEqual(logits.shape.as_list(), [None, _NUM_CLASSES])

  def test_min_num_frames(self):
    # 9 frames: 5 -> 3 -> 2 time steps before the 2-frame pool; 8 gives 1.
    self.assertEqual(i3d.min_num_frames(), 9)

  def test_module_names_follow_the_original_scopes(self):
    model = i3d.InceptionI3d(final_endpoint='Mixed_5c')
    symbolic_outputs(model, [1, 9, 64, 64, 3], is_training=False)
    names = {v.name for v in model.variables}
    self.assertIn('inception_i3d/Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/w:0',
                  names)
    self.assertIn('inception_i3d/Mixed_5c/Branch_2/Conv3d_0b_3x3/conv_3d/w:0',
                  names)
    self.assertIn(
        'inception_i3d/Mixed_4b/Branch_3/Conv3d_0b_1x1/batch_norm/offset:0',
        names)
    # 57 convolutions up to Mixed_5c, none with a bias.
    kernels = [n for n in names if n.endswith('conv_3d/w:0')]
    self.assertLen(kernels, 57)
    self.assertEmpty([n for n in names if n.endswith('conv_3d/b:0')])


class I3dExecutionTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model, cls.clip, cls.eager_logits = _built_model()

  @parameterized.named_parameters(('function', False), ('xla', True))
  def test_compiled_matches_eager(self, jit_compile):
    compiled = tf.function(
        lambda x: self.model(x, is_training=False)[0], jit_compile=jit_compile)
    self.assertAllClose(
        compiled(self.clip), self.eager_logits, atol=1e-4, rtol=1e-4)

  def test_inference_is_deterministic(self):
    logits, _ = self.model(self.clip, is_training=False)
    self.assertAllEqual(logits, self.eager_logits)

  def test_predictions_are_softmax_of_logits(self):
    model = i3d.InceptionI3d(num_classes=11, final_endpoint='Predictions')
    clip = _small_clip(batch=1, frames=9, seed=3)
    predictions, end_points = model(clip, is_training=False)
    logits = end_points['Logits'].numpy().astype(np.float64)
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    self.assertAllClose(predictions, expected, atol=1e-6)

  def test_channel_count_fixed_once_built(self):
    with self.assertRaisesRegex(ValueError, 'expected 3 channels'):
      self.model(_small_clip(batch=1, frames=9, channels=2), is_training=False)


class I3dDropoutTest(tf.test.TestCase):
  """`dropout_keep_prob` is a keep probability applied before the logits."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model, _, _ = _built_model()
    cls.features = tf.constant(
        np.random.default_rng(5).uniform(0, 1, (1, 3, 7, 7, 1024)),
        tf.float32)

  def test_keep_one_is_identity(self):
    a = self.model._logits(self.features, False, 1.0)
    b = self.model._logits(self.features, False, 1.0)
    self.assertAllEqual(a, b)

  def test_keep_half_is_unbiased_and_random(self):
    tf.random.set_seed(7)
    reference = self.model._logits(self.features, False, 1.0).numpy()
    draws = np.stack([
        self.model._logits(self.features, False, 0.5).numpy()
        for _ in range(400)
    ])
    self.assertGreater(np.abs(draws[0] - draws[1]).max(), 0)
    # Mean of 400 draws: the standard error is a few percent of |logits|.
    standard_error = draws.std(axis=0) / np.sqrt(len(draws))
    self.assertTrue(
        np.all(np.abs(draws.mean(0) - reference) < 5 * standard_error))

  def test_keep_half_drops_half_of_the_pooled_features(self):
    tf.random.set_seed(8)
    with mock.patch.object(
        tf.nn, 'dropout', wraps=tf.nn.dropout) as dropout:
      self.model._logits(self.features, False, 0.5)
    self.assertEqual(dropout.call_args.kwargs['rate'], 0.5)

  def test_seeded_dropout_is_reproducible(self):
    seed = tf.constant([3, 4])
    first = self.model._logits(self.features, False, 0.5, dropout_seed=seed)
    again = self.model._logits(self.features, False, 0.5, dropout_seed=seed)
    other = self.model._logits(self.features, False, 0.5,
                               dropout_seed=tf.constant([3, 5]))
    self.assertAllEqual(first, again)
    self.assertNotAllClose(first, other)
    # Same mask through the whole network as through the head alone.
    clip = _small_clip(batch=1, frames=9)
    logits, end_points = self.model(
        clip, is_training=False, dropout_keep_prob=0.5, dropout_seed=seed)
    self.assertAllClose(
        logits,
        self.model._logits(end_points['Mixed_5c'], False, 0.5, seed),
        atol=1e-5)

  def test_bad_keep_probability(self):
    for keep in (0.0, -0.1, 1.5):
      with self.assertRaisesRegex(ValueError, 'keep probability'):
        self.model(_small_clip(batch=1, frames=9), is_training=False,
                   dropout_keep_prob=keep)


class I3dBadInputTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(0, -3, 2.5, 'ten', True)
  def test_bad_num_classes(self, num_classes):
    with self.assertRaisesRegex(ValueError, 'num_classes'):
      i3d.InceptionI3d(num_classes=num_classes)

  def test_wrong_rank(self):
    model = i3d.InceptionI3d()
    with self.assertRaisesRegex(ValueError, 'rank-5'):
      model(tf.zeros([9, 224, 224, 3]), is_training=False)

  def test_integer_input(self):
    model = i3d.InceptionI3d()
    with self.assertRaisesRegex(ValueError, 'dtype uint8'):
      model(tf.zeros([1, 9, 224, 224, 3], tf.uint8), is_training=False)

  def test_float64_refused_before_any_variable_is_created(self):
    model = i3d.InceptionI3d(final_endpoint='Conv3d_1a_7x7')
    clip = np.zeros([1, 9, 32, 32, 3])  # numpy's default dtype, float64.
    with self.assertRaisesRegex(ValueError, 'float64.*np.float32'):
      model(clip, is_training=False)
    # Only the BatchNorm EMA step counters (int64) exist before the first
    # call; no weight was created, in float64 or otherwise.
    self.assertEmpty([v for v in model.variables if v.dtype.is_floating])
    # The model still works in float32 afterwards.
    out, _ = model(clip.astype(np.float32), is_training=False)
    self.assertEqual(out.dtype, tf.float32)

  def test_help_shows_the_call_signature(self):
    text = pydoc.render_doc(i3d.InceptionI3d, renderer=pydoc.plaintext)
    self.assertIn('__call__(self, inputs', text)
    self.assertIn('is_training: bool, dropout_keep_prob', text)
    self.assertNotIn('TODO(b/', text)

  def test_layer_table_views(self):
    self.assertEqual(i3d.VALID_ENDPOINTS[-2:], ('Logits', 'Predictions'))
    self.assertLen(i3d.MIXED_BLOCKS, 9)
    self.assertEqual(i3d.STEM_CONVS['Conv3d_1a_7x7'],
                     (64, (7, 7, 7), (2, 2, 2)))
    # Written out by hand from the paper's Figure 3: the layers that act on
    # time (kernel, stride) up to Mixed_5c.
    self.assertEqual(
        [row[1:] for row in i3d.temporal_layers()],
        [(7, 2), (3, 1), (3, 1), (3, 1), (3, 2)] + [(3, 1)] * 5 +
        [(2, 2), (3, 1), (3, 1)])

  def test_too_few_frames(self):
    model = i3d.InceptionI3d()
    with self.assertRaisesRegex(ValueError, 'at least 9 frames'):
      model(tf.zeros([1, 8, 224, 224, 3]), is_training=False)

  def test_wrong_spatial_size_for_the_head(self):
    model = i3d.InceptionI3d()
    with self.assertRaisesRegex(ValueError, '224x224'):
      model(tf.zeros([1, 9, 256, 256, 3]), is_training=False)

  def test_larger_frames_without_squeeze(self):
    model = i3d.InceptionI3d(num_classes=3, spatial_squeeze=False)
    logits, _ = symbolic_outputs(model, [1, 9, 256, 256, 3],
                                  is_training=False)
    self.assertEqual(logits.shape.as_list(), [1, 2, 2, 3])

  def test_feature_endpoints_take_any_size(self):
    model = i3d.InceptionI3d(final_endpoint='Mixed_4f')
    features, _ = symbolic_outputs(model, [1, 4, 64, 80, 3],
                                    is_training=False)
    self.assertEqual(features.shape.as_list(), [1, 1, 4, 5, 832])

  @parameterized.parameters(np.nan, np.inf, -np.inf)
  def test_non_finite_values(self, value):
    clip = np.zeros([1, 9, 224, 224, 3], np.float32)
    clip[0, 3, 10, 10, 1] = value
    with self.assertRaisesRegex(ValueError, 'NaN or infinite'):
      i3d.InceptionI3d()(tf.constant(clip), is_training=False)


if __name__ == '__main__':
  tf.test.main()
