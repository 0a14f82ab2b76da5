"""Tests for the inference-only I3D (Carreira & Zisserman, CVPR 2017).

The reference for every numerical check is the unfused `i3d.InceptionI3d`
run with `is_training=False` on random weights whose BatchNorm statistics,
offsets and scales are random and far from the identity, so that a wrong
fold (a missing eps, a mean applied to the wrong side of the scale, a split
in the wrong channel order) moves the logits by far more than the 1e-4
tolerance. Clip lengths include odd ones so that TF `SAME`'s asymmetric
padding of the stride-2 layers is exercised.
"""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d.inference import fast_inference

_BATCH = 2
_SIZE = 224
# Max abs difference allowed between folded and unfused logits (float32
# round-off of a different summation order; observed ~2e-7).
_TOLERANCE = 1e-4


def _randomize_batch_norm(model: i3d.InceptionI3d, seed: int) -> None:
  """Sets every BatchNorm's moving statistics, offset and scale at random."""
  rng = np.random.default_rng(seed)
  for unit in model.submodules:
    if not isinstance(unit, i3d.Unit3D) or unit.batch_norm is None:
      continue
    bn = unit.batch_norm
    stat_shape = bn.moving_mean.average.shape
    channels = bn.offset.shape
    # The EMA's `average` is what inference reads (`moving_mean.value`).
    bn.moving_mean.average.assign(
        rng.normal(0., 0.5, stat_shape).astype(np.float32))
    bn.moving_variance.average.assign(
        rng.uniform(0.2, 3., stat_shape).astype(np.float32))
    bn.offset.assign(rng.normal(0., 0.3, channels).astype(np.float32))
    bn.scale.assign(rng.uniform(0.5, 1.5, channels).astype(np.float32))


def _built_model(num_channels: int, seed: int,
                 **kwargs) -> i3d.InceptionI3d:
  tf.random.set_seed(seed)
  model = i3d.InceptionI3d(**kwargs)
  model(tf.zeros([1, 9, _SIZE, _SIZE, num_channels]), is_training=False)
  _randomize_batch_norm(model, seed)
  return model


def _clips(shape, seed: int) -> tf.Tensor:
  return tf.random.stateless_uniform(
      shape, seed=[seed, 0], minval=-1., maxval=1.)


class FoldBatchNormTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # One model per stream, shared: building and the first call dominate.
    cls.models = {3: _built_model(3, seed=1), 2: _built_model(2, seed=2)}
    cls.fast = {
        (channels, merge): fast_inference.fold_batch_norm(
            model, merge_branch_convs=merge, mode='eager')
        for channels, model in cls.models.items()
        for merge in (True, False)
    }

  @parameterized.named_parameters(
      ('rgb_9_frames_merged', 3, 9, True),
      ('rgb_17_frames_merged', 3, 17, True),
      ('rgb_16_frames_unmerged', 3, 16, False),
      ('flow_13_frames_merged', 2, 13, True),
      ('flow_10_frames_unmerged', 2, 10, False),
  )
  def test_matches_unfused_model(self, channels, frames, merge):
    clips = _clips([_BATCH, frames, _SIZE, _SIZE, channels], seed=frames)
    expected, expected_end_points = self.models[channels](
        clips, is_training=False)
    logits, end_points = self.fast[channels, merge](clips)

    self.assertEqual(logits.shape, (_BATCH, 400))
    # Logits of order 1: the tolerance is meaningful, not trivially met.
    self.assertGreater(float(tf.reduce_max(tf.abs(expected))), 0.1)
    self.assertAllClose(expected, logits, atol=_TOLERANCE, rtol=0.)
    self.assertEqual(list(expected_end_points), list(end_points))
    for name in ('Conv3d_1a_7x7', 'Mixed_3b', 'Mixed_5c'):
      self.assertAllClose(
          expected_end_points[name], end_points[name], atol=_TOLERANCE,
          rtol=0., msg=name)

  @parameterized.parameters('function', 'xla')
  def test_compiled_modes_match(self, mode):
    # Batch 1, 11 frames: XLA's CPU convolutions are slow.
    clips = _clips([1, 11, _SIZE, _SIZE, 3], seed=3)
    expected, _ = self.models[3](clips, is_training=False)
    fast = fast_inference.fold_batch_norm(self.models[3], mode=mode)
    logits, _ = fast(clips)
    self.assertAllClose(expected, logits, atol=_TOLERANCE, rtol=0.)

  def test_feature_endpoint_and_other_frame_sizes(self):
    # A model cut at Mixed_4b takes any frame size; 37x45 is odd in every
    # stride-2 layer.
    model = _built_model(3, seed=4, final_endpoint='Mixed_4b')
    clips = _clips([_BATCH, 9, 37, 45, 3], seed=4)
    expected, expected_end_points = model(clips, is_training=False)
    features, end_points = fast_inference.fold_batch_norm(model)(clips)
    self.assertEqual(list(expected_end_points), list(end_points))
    self.assertAllClose(expected, features, atol=_TOLERANCE, rtol=0.)

  def test_source_model_unchanged(self):
    model = _built_model(2, seed=5)
    before = {v.ref(): v.numpy().copy() for v in model.variables}
    fast = fast_inference.fold_batch_norm(model, mode='eager')
    fast(_clips([1, 9, _SIZE, _SIZE, 2], seed=5))
    after = {v.ref(): v.numpy() for v in model.variables}
    self.assertEqual(before.keys(), after.keys())
    for ref, value in before.items():
      self.assertAllEqual(value, after[ref], msg=ref.deref().name)
    self.assertEmpty(fast.trainable_variables)
    # Separate tensors: the fast model's are not the source's variables.
    source_ids = {id(v) for v in model.variables}
    self.assertTrue(all(id(v) not in source_ids for v in fast.variables))

  def test_predictions_endpoint(self):
    model = _built_model(3, seed=6, final_endpoint='Predictions')
    clips = _clips([1, 9, _SIZE, _SIZE, 3], seed=6)
    expected, _ = model(clips, is_training=False)
    probabilities, end_points = fast_inference.fold_batch_norm(model)(clips)
    self.assertIn('Logits', end_points)
    self.assertAllClose(expected, probabilities, atol=1e-6, rtol=0.)

  @parameterized.named_parameters(
      ('rank_4', [9, _SIZE, _SIZE, 3], tf.float32, 'rank-5'),
      ('integer', [1, 9, _SIZE, _SIZE, 3], tf.int32, 'floating point'),
      ('float64', [1, 9, _SIZE, _SIZE, 3], tf.float64, 'float32'),
      ('flow_channels', [1, 9, _SIZE, _SIZE, 2], tf.float32, '3 channels'),
      ('too_few_frames', [1, 8, _SIZE, _SIZE, 3], tf.float32, '9 frames'),
      ('wrong_size', [1, 9, 112, 112, 3], tf.float32, '224x224'),
  )
  def test_bad_inputs(self, shape, dtype, message):
    with self.assertRaisesRegex(ValueError, message):
      self.fast[3, True](tf.zeros(shape, dtype))

  def test_non_finite_input(self):
    clips = np.zeros([1, 9, _SIZE, _SIZE, 3], np.float32)
    clips[0, 4, 100, 100, 1] = np.nan
    with self.assertRaisesRegex(ValueError, 'NaN'):
      self.fast[3, True](clips)

  def test_bad_arguments(self):
    with self.assertRaisesRegex(ValueError, 'no weights yet'):
      fast_inference.fold_batch_norm(i3d.InceptionI3d())
    with self.assertRaisesRegex(ValueError, 'InceptionI3d'):
      fast_inference.fold_batch_norm('model')
    with self.assertRaisesRegex(ValueError, 'mode'):
      fast_inference.fold_batch_norm(self.models[3], mode='fast')


class ConvFlopsTest(tf.test.TestCase, parameterized.TestCase):

  def test_issue_figure(self):
    # The figure quoted for a 79-frame 224x224 RGB clip.
    self.assertAlmostEqual(fast_inference.conv_flops() / 1e9, 277.9, places=1)
    # Conv3d_1a_7x7 by hand: 40x112x112 outputs x 64 x (7*7*7*3) MACs.
    self.assertEqual(
        fast_inference.conv_flops(final_endpoint='Conv3d_1a_7x7'),
        2 * 40 * 112 * 112 * 64 * 7 * 7 * 7 * 3)

  @parameterized.parameters(
      (9, 64, 48, 3, 'Mixed_5c'),
      (13, 224, 224, 2, 'Logits'),
  )
  def test_matches_traced_graph(self, frames, height, width, channels,
                                endpoint):
    # Independent count: every Conv3D op of the traced plain model, from its
    # static output and filter shapes.
    model = i3d.InceptionI3d(final_endpoint=endpoint)
    # Creating the variables eagerly first makes the trace much cheaper.
    model(tf.zeros([1, 9, height, width, channels]), is_training=False)
    fn = tf.function(lambda x: model(x, is_training=False)[0])
    graph = fn.get_concrete_function(
        tf.TensorSpec([1, frames, height, width, channels])).graph
    expected = 0
    for op in graph.get_operations():
      if op.type == 'Conv3D':
        out, kernel = op.outputs[0].shape, op.inputs[1].shape
        expected += 2 * np.prod(out[1:]) * np.prod(kernel[:4])
    self.assertGreater(expected, 0)
    self.assertEqual(
        fast_inference.conv_flops(frames, height, width, channels, endpoint),
        expected)


if __name__ == '__main__':
  tf.test.main()
