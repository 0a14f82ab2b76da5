r"""TV-L1 optical flow in TensorFlow, reproducing OpenCV's DualTVL1 exactly.

I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017) is trained on TV-L1 optical
flow computed with OpenCV's `cv2.optflow.DualTVL1OpticalFlow_create()` at its
default parameters. The algorithm is the duality-based TV-L1 of Zach, Pock and
Bischof, "A Duality Based Approach for Realtime TV-L1 Optical Flow" (DAGM
2007), in the form described by Sanchez, Meinhardt-Llopis and Facciolo,
"TV-L1 Optical Flow Estimation", Image Processing On Line 3 (2013). This
module runs the same computation as OpenCV 5.0's `tvl1flow.cpp` (CPU path),
batched over frame pairs, inside one compiled `tf.function` per input shape,
so that it runs on whatever device TensorFlow uses (a GPU when present).

Every step that changes the output follows OpenCV, operation by operation in
float32, so that rounding matches:

  * Input: uint8 frames are converted to float32 unchanged (0..255). (OpenCV
    multiplies float input by 255; here float input must already be in
    [0, 255].)
  * Pyramid: level s is `cv::resize(level s-1, Size(), 0.8, 0.8,
    INTER_LINEAR)`, size round(0.8 * previous size). OpenCV's x86 wheels
    hand this resize to Intel IPP (IPP's resize when the size ratio is
    exactly 0.8, else IPP's affine warp, with their own edge rules and
    a + t * (b - a) arithmetic); with IPP off OpenCV's own code runs
    (weights (1 - t, t), a * w0 + b * w1). `resize_linear` reproduces both
    (found by probing the wheel: IPP's source is not public, and OpenCV's
    own source only covers the second), and `resize_arithmetic()` picks the
    one the process's OpenCV uses. Building stops (fewer scales) as soon as
    a level would be smaller than 16 pixels on either side, as OpenCV does.
    Frames smaller than 3 pixels on a side are rejected (OpenCV's stencils
    assume >= 3).
  * Flow upscaling: the same resize to the finer level's size, then
    multiplication by 1 / 0.8.
  * Warping: `cv::remap(..., INTER_CUBIC, BORDER_CONSTANT, 0)` of I1 and of
    its centred derivatives. The OpenCV 5.0 wheels sample at the exact
    float position (no 1/32-pixel table): integer part floor(x + u), Keys
    cubic weights (A = -0.75) of the fraction t in float32 with u = 1 - t,
    w0 = A t u^2, w3 = A u t^2, w1 = fma(fma(1.25, t, -2.25), t^2, 1),
    w2 = 1 - w0 - w1 - w3; each of the 4 rows is a chain of FMAs over its 4
    taps, then the 4 row values the same way; taps outside the image count
    as 0. (The sources in the public repositories still describe the old
    table-based kernel; this arithmetic was established by probing the
    wheel's AVX2 build and is bit-exact there.)
  * Derivatives: centred differences 0.5 * (a - b) with one-sided differences
    on the first/last row and column; forward differences for the flow
    gradient (0 on the last column/row); the divergence with OpenCV's
    operation order, including its different order on the first column.
  * Median filter 5x5 of both flow components (replicated border) before
    every outer iteration, i.e. before inner iterations 0, 30, 60, ...
  * Dual update with |grad u| computed in double (OpenCV calls hypot) and
    rounded to float.
  * Stopping rule: per warp, iterate until the float32 sum over the image (in
    row-major order, accumulated sequentially) of |u_new - u_old|^2 is
    <= float(epsilon^2 * H * W), or 300 iterations. The sum is taken in
    float64 and the sequential float32 sum (a cumsum) is computed only when
    the float64 one is within the float32 sum's error bound of the threshold,
    so the decision is OpenCV's at a fraction of the cost. Each pair in a
    batch has its own mask, so it gets exactly the iterations it would get
    alone.

Speed. Each warp's iterations (median filter and stopping rule included)
run in one XLA-compiled while loop, called from a TensorFlow loop that only
steps in when a stopping decision needs the exact sequential sum; XLA fuses
each iteration's elementwise and stencil work into a few loops. The warp
reads its 16 taps with 1-D gathers from images with a border of zeros.
XLA's CPU compiler would contract a * b + c into FMA instructions (changing
float32 rounding), and only an XLA_FLAGS setting for the whole process
(`--xla_cpu_max_isa=AVX`, no FMA) prevents it; so on a CPU the flow is
computed in a worker process started with that flag (`tvl1_tf_worker`),
which also keeps the compiled loops in XLA's persistent cache for the next
process, and this module changes nothing in the calling process. The
worker checks the flag took effect (`xla_keeps_float_rounding()`); if not,
it runs plain TensorFlow kernels, with identical results, several times
slower. The XLA and plain paths give bit-identical flow (tested). On a CPU
each call runs one pair (a batch iterates until its slowest pair has
converged, and the masked iterations of the others cost as much as real
ones), and as many calls run at once as the process has CPUs. Measured on 2
idle AMD EPYC cores, same run, same 8 bikes.mp4 pairs (`python
benchmarks/flow_benchmark.py`), pairs/s of OpenCV (the faster of in-process
with 2 threads and 2 worker processes) / this module at batch 8: 256x340
0.935 / 1.211 (1.29x), 256x454 0.703 / 0.840 (1.19x), 256x602 0.560 / 0.600
(1.07x); rates vary by ~15 % from run to run there (another run: 1.37x and
1.21x at 256x340 and 256x602). A frame size's first worker compiles its
loops (seconds; README "Optical flow"); later processes load them from the
cache.

Agreement. On a CPU with AVX2 and FMA (the kernels OpenCV's x86 wheels
dispatch there) the building blocks match OpenCV bit for bit, with IPP on
or off. The flow itself, on the first 10 distinct pairs of each sample
video at smaller side 256 (`python benchmarks/flow_benchmark.py
--agreement_pairs=10`): mean EPE 0.0000 px, 99.9th percentile 0.000 px,
100.00 % of values identical after 8-bit quantisation for g1.avi,
retroMars2018.avi and bikes.mp4; 100 %, 98.7 % and 99.99 % of the float
values bit-identical (the rest differ in the last bits; not traced
further: a likely source is that a fused multiply-add emulated in double
rounds twice, which differs from one rounding in rare ties). Remaining
differences elsewhere:
  (a) OpenCV dispatches other remap/resize code on CPUs with AVX-512 (not
      verified here) or without AVX2 (no FMA): 1-2 ulp differences there,
      which TV-L1's thresholds and median grow to ~0.005-0.015 px mean EPE.
  (b) On a GPU, XLA contracts multiply-adds, so GPU results differ at the
      same level.
"""

import concurrent.futures
import dataclasses
import functools
import threading
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import cv2
import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_opencv
from kinetics_i3d.flow import tvl1_tf_worker

# OpenCV's constants.
_MIN_LEVEL_SIZE = 16  # calc() stops building the pyramid below this size.
_MIN_IMAGE_SIZE = 3  # centeredGradient/forwardGradient assume > 2.
_FLT_EPSILON = np.finfo(np.float32).eps
_REMAP_BORDER = 4  # Zeros around images in remap_cubic (>= its 4 taps).
# Pairs per compiled call, at most; remap_cubic's int32 indices assume it.
MAX_PAIRS_PER_CALL = 1024


class FlowOutOfMemoryError(RuntimeError):
  """The device ran out of memory for a batch; names a batch size to try."""


@dataclasses.dataclass(frozen=True)
class TVL1Params:
  """Parameters of DualTVL1 (OpenCV's names; defaults are OpenCV's).

  Attributes:
    tau: Time step of the numerical scheme.
    lambda_: Weight of the data term (OpenCV's `lambda`).
    theta: Coupling between the two flows u and v.
    nscales: Number of pyramid scales (fewer if the image is small).
    warps: Warpings per scale.
    epsilon: Stopping threshold (RMS change of the flow, in pixels).
    inner_iterations: Inner iterations per outer iteration.
    outer_iterations: Outer iterations (each starts with the median filter).
    scale_step: Downscaling factor between pyramid levels.
    gamma: Illumination-change term weight; only 0 is supported.
    median_filtering: Median filter size; only 5 (or <= 1: off) supported.
    use_initial_flow: Only False is supported.
  """
  tau: float = 0.25
  lambda_: float = 0.15
  theta: float = 0.3
  nscales: int = 5
  warps: int = 5
  epsilon: float = 0.01
  inner_iterations: int = 30
  outer_iterations: int = 10
  scale_step: float = 0.8
  gamma: float = 0.0
  median_filtering: int = 5
  use_initial_flow: bool = False

  def validate(self) -> None:
    """Checks that this implementation supports the parameters.

    Raises:
      ValueError: naming the first unsupported parameter.
    """
    if self.gamma != 0:
      raise ValueError(f'params.gamma must be 0, got {self.gamma}.')
    if self.use_initial_flow:
      raise ValueError('params.use_initial_flow must be False.')
    if self.median_filtering not in (0, 1, 5):
      raise ValueError(
          f'params.median_filtering must be 5 (or 0/1 for none), got '
          f'{self.median_filtering}.')
    if self.nscales < 1 or self.warps < 1:
      raise ValueError(
          f'params.nscales and params.warps must be >= 1, got '
          f'{self.nscales}, {self.warps}.')
    if self.inner_iterations < 1 or self.outer_iterations < 1:
      raise ValueError('params.inner_iterations and params.outer_iterations '
                       'must be >= 1.')
    if not 0 < self.scale_step < 1:
      raise ValueError(
          f'params.scale_step must be in (0, 1), got {self.scale_step}.')

  def to_dict(self) -> Dict[str, Any]:
    """Returns the parameters under OpenCV's names, JSON-serialisable."""
    d = dataclasses.asdict(self)
    d['lambda'] = d.pop('lambda_')
    return d


DEFAULT_PARAMS = TVL1Params()


def identity(params: TVL1Params = DEFAULT_PARAMS) -> Dict[str, Any]:
  """The algorithm's identity, to record next to flow computed with it.

  Args:
    params: The parameters used.

  Returns:
    A JSON-serialisable dict: name 'tvl1', backend 'tf', the parameters and
    the TensorFlow version.
  """
  return {
      'name': 'tvl1',
      'backend': 'tf',
      'reference': 'cv2.optflow.DualTVL1OpticalFlow (OpenCV 5.0 CPU path)',
      'params': params.to_dict(),
      'resize_arithmetic': resize_arithmetic(),
      'tensorflow': tf.__version__,
  }


# ----------------------------------------------------------------------------
# Building blocks. Images are float32 [N, H, W] (or [N, C, H, W] for remap).
# ----------------------------------------------------------------------------


def pyramid_sizes(height: int, width: int,
                  params: TVL1Params = DEFAULT_PARAMS) -> List[Tuple[int, int]]:
  """Sizes of the pyramid levels OpenCV builds for an image.

  Args:
    height: Image height.
    width: Image width.
    params: Uses `nscales` and `scale_step`.

  Returns:
    [(height, width), ...] from the finest to the coarsest level; OpenCV
    drops the levels from the first one smaller than 16 pixels on.
  """
  sizes = [(height, width)]
  for _ in range(1, params.nscales):
    h, w = sizes[-1]
    # cv::resize with an empty dsize: saturate_cast<int>(size * fx), which
    # rounds half to even.
    nh = int(np.rint(h * params.scale_step))
    nw = int(np.rint(w * params.scale_step))
    if nh < _MIN_LEVEL_SIZE or nw < _MIN_LEVEL_SIZE:
      break
    sizes.append((nh, nw))
  return sizes


def _opencv_taps(src: int, dst: int, scale: float,
                 clamp_weights: bool) -> Tuple[np.ndarray, np.ndarray,
                                               np.ndarray, np.ndarray]:
  """Indices and float32 weights of OpenCV's own INTER_LINEAR on one axis."""
  d = np.arange(dst, dtype=np.float64)
  f = ((d + 0.5) * scale - 0.5).astype(np.float32)
  s = np.floor(f)
  f = (f - s).astype(np.float32)
  s = s.astype(np.int64)
  if clamp_weights:  # Horizontal pass: out-of-range columns get weight 0.
    low = s < 0
    f[low] = 0
    s[low] = 0
    high = s >= src - 1
    f[high] = 0
    s[high] = src - 1
  i0 = np.clip(s, 0, src - 1)
  i1 = np.clip(s + 1, 0, src - 1)
  w0 = (np.float32(1) - f).astype(np.float32)
  return i0, i1, w0, f


def _ipp_taps(src: int, dst: int, scale: float,
              affine: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Indices and float32 fractions of IPP's linear resampling on one axis.

  The source position is (d + 0.5) * scale - 0.5 in double; its fraction is
  rounded to float once. IPP's resize replicates the edge pixels; its
  affine warp (which OpenCV calls when the scale is not exactly the size
  ratio) instead pins positions before the first pixel to it (fraction 0)
  and those from the last pixel on to the last pair (fraction 1).
  """
  d = np.arange(dst, dtype=np.float64)
  c = (d + 0.5) * scale - 0.5
  s = np.floor(c)
  t = (c - s).astype(np.float32)
  s = s.astype(np.int64)
  if affine:
    low = c < 0
    s[low] = 0
    t[low] = 0
    high = s >= src - 1
    s[high] = src - 2
    t[high] = 1
  return np.clip(s, 0, src - 1), np.clip(s + 1, 0, src - 1), t


def _lerp_ipp(a: tf.Tensor, b: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
  """IPP's a + t * (b - a), the difference rounded, then one fused step."""
  return _fma_f32(t, b - a, a)


def resize_linear(images: tf.Tensor, height: int, width: int,
                  inv_scale: Optional[Tuple[float, float]] = None,
                  arithmetic: str = 'ipp') -> tf.Tensor:
  """cv::resize(INTER_LINEAR) of float32 images, bit-exact.

  OpenCV's x86 wheels hand float32 linear resizing to Intel IPP (through
  its IPP HAL); `cv2.ipp.setUseIPP(False)` selects OpenCV's own code, which
  rounds differently. Both are reproduced:

    * 'ipp': per axis the position (d + 0.5) * scale - 0.5 in double, its
      fraction t rounded to float; each row is interpolated as
      fma(t, b - a, a), then the two rows the same way. OpenCV calls IPP's
      resize (scale = source / destination size, edges replicated) when the
      size ratio equals the requested factor to 1e-10, else IPP's affine
      warp (scale = 1 / factor; positions outside the pixel range pinned).
    * 'opencv': the position rounded to float first, weights (1 - t, t),
      a * w0 + b * w1 without fusion; columns beyond the edge get weight 0.

  Args:
    images: float32 [N, H, W].
    height: Output height.
    width: Output width.
    inv_scale: (fx, fy) as passed to cv::resize with an empty dsize; None
      when the output size is given (then fx = width / W).
    arithmetic: 'ipp' (OpenCV as shipped for x86) or 'opencv'.

  Returns:
    float32 [N, height, width].
  """
  src_h, src_w = images.shape[1], images.shape[2]
  exact = inv_scale is None
  if exact:
    inv_scale = (width / src_w, height / src_h)
  if arithmetic == 'opencv':
    i0, i1, a0, a1 = _opencv_taps(src_w, width, 1.0 / inv_scale[0], True)
    j0, j1, b0, b1 = _opencv_taps(src_h, height, 1.0 / inv_scale[1], False)
    rows = (tf.gather(images, i0, axis=2) * a0 +
            tf.gather(images, i1, axis=2) * a1)
    return (tf.gather(rows, j0, axis=1) * b0[:, None] +
            tf.gather(rows, j1, axis=1) * b1[:, None])
  if arithmetic != 'ipp':
    raise ValueError(f"arithmetic must be 'ipp' or 'opencv', got "
                     f'{arithmetic!r}.')
  affine = not exact and any(
      abs(size / src - fx) / fx > 1e-10
      for size, src, fx in ((width, src_w, inv_scale[0]),
                            (height, src_h, inv_scale[1])))
  scale_x = 1.0 / inv_scale[0] if affine else src_w / width
  scale_y = 1.0 / inv_scale[1] if affine else src_h / height
  i0, i1, tx = _ipp_taps(src_w, width, scale_x, affine)
  j0, j1, ty = _ipp_taps(src_h, height, scale_y, affine)
  rows = _lerp_ipp(tf.gather(images, i0, axis=2),
                   tf.gather(images, i1, axis=2), tf.constant(tx))
  return _lerp_ipp(tf.gather(rows, j0, axis=1), tf.gather(rows, j1, axis=1),
                   tf.constant(ty[:, None]))


def _cubic_coefficients(t: tf.Tensor) -> List[tf.Tensor]:
  """Keys cubic weights (A = -0.75) of the 4 taps at fractional offset t.

  As OpenCV 5.0's x86 remap kernels evaluate them in float32, with
  u = 1 - t: w0 = A t u^2 and w3 = A u t^2 as plain products,
  w1 = fma(fma(1.25, t, -2.25), t^2, 1), and w2 = 1 - w0 - w1 - w3 from
  left to right.
  """
  # Each float32 product is taken exactly in double and rounded once, which
  # is float32 multiplication; spelled this way TensorFlow's graph rewrites
  # cannot regroup the products (they did, in graph mode without XLA).
  def mul(x, y):
    return tf.cast(tf.cast(x, tf.float64) * tf.cast(y, tf.float64),
                   tf.float32)

  a = tf.constant(-0.75, tf.float32)
  u = 1 - t
  t_sq = mul(t, t)
  w0 = mul(a, mul(t, mul(u, u)))
  w1 = _fma_f32(_fma_f32(tf.constant(1.25, tf.float32), t,
                         tf.constant(-2.25, tf.float32)),
                t_sq, tf.constant(1, tf.float32))
  w3 = mul(a, mul(u, t_sq))
  w2 = ((1 - w0) - w1) - w3
  return [w0, w1, w2, w3]


def _fma_f32(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
  """float32 fused a * b + c (one rounding, emulated in double)."""
  return tf.cast(tf.cast(a, tf.float64) * tf.cast(b, tf.float64) +
                 tf.cast(c, tf.float64), tf.float32)


def remap_cubic(images: tf.Tensor, map_x: tf.Tensor,
                map_y: tf.Tensor) -> tf.Tensor:
  """cv::remap(INTER_CUBIC, BORDER_CONSTANT, 0) with float maps.

  OpenCV 5.0 samples at the exact float position (no 1/32-pixel table):
  the integer part is floor(map), the weights are Keys' cubic of the
  fractional part, each of the 4 rows is interpolated horizontally with a
  chain of FMAs, then the 4 row values vertically the same way. Taps
  outside the image count as 0.

  Args:
    images: float32 [N, C, H, W]; all C channels use the same maps.
    map_x: float32 [N, H, W] source x of every output pixel.
    map_y: float32 [N, H, W] source y.

  Returns:
    float32 [N, C, H, W].
  """
  _, channels, height, width = images.shape
  limit = float(2 ** 30)
  map_x = tf.clip_by_value(map_x, -limit, limit)
  map_y = tf.clip_by_value(map_y, -limit, limit)
  fx = tf.floor(map_x)
  fy = tf.floor(map_y)
  cx = [c[:, None] for c in _cubic_coefficients(map_x - fx)]
  cy = [c[:, None] for c in _cubic_coefficients(map_y - fy)]
  # The image gets a border of zeros 4 wide, and the first tap (floor - 1)
  # is clamped to [-4, size]: a first tap beyond that has all 4 taps
  # outside the image, as the clamped one has, so every tap reads either
  # its pixel or a 0. Each tap is then one gather at a fixed offset from
  # the first tap's index into the flattened images (XLA emits a plain
  # 1-D gather much faster than a multi-dimensional one).
  pad = _REMAP_BORDER
  padded_w = width + 2 * pad
  plane_size = (height + 2 * pad) * padded_w
  index_dtype = (tf.int32 if channels * plane_size * MAX_PAIRS_PER_CALL <
                 2 ** 31 else tf.int64)
  ix = tf.clip_by_value(tf.cast(fx, tf.int32) - 1, -pad, width) + pad
  iy = tf.clip_by_value(tf.cast(fy, tf.int32) - 1, -pad, height) + pad
  first = tf.cast(iy * padded_w + ix, index_dtype)
  flat = tf.reshape(
      tf.pad(images, [[0, 0], [0, 0], [pad, pad], [pad, pad]]), [-1])
  planes = tf.range(tf.shape(images)[0] * channels, dtype=index_dtype)
  planes = tf.reshape(planes * plane_size, [-1, channels, 1, 1])
  first = planes + first[:, None]
  out = None
  for ky in range(4):
    acc = None
    for kx in range(4):
      tap = tf.gather(flat, first + (ky * padded_w + kx))
      acc = tap * cx[kx] if acc is None else _fma_f32(tap, cx[kx], acc)
    out = acc * cy[ky] if out is None else _fma_f32(acc, cy[ky], out)
  return out


def _gather_clamped(x: tf.Tensor, axis: int, offset: int) -> tf.Tensor:
  n = x.shape[axis]
  idx = np.clip(np.arange(n) + offset, 0, n - 1)
  return tf.gather(x, idx, axis=axis)


def _odd_even_merge_sort(n: int) -> List[Tuple[int, int]]:
  """Batcher's odd-even merge sort network for n (a power of 2) wires."""
  pairs = []
  p = 1
  while p < n:
    k = p
    while k >= 1:
      for j in range(k % p, n - k, 2 * k):
        for i in range(min(k, n - j - k)):
          if (i + j) // (2 * p) == (i + j + k) // (2 * p):
            pairs.append((i + j, i + j + k))
      k //= 2
    p *= 2
  return pairs


@functools.lru_cache(maxsize=None)
def _median_network(n: int) -> Tuple[Tuple[int, int, bool, bool], ...]:
  """Comparators (i, j, want_min, want_max) that select the median of n.

  A sorting network on 32 wires, the last 32 - n of them +inf, pruned to
  the comparators (and comparator outputs) the middle wire depends on.
  """
  need = {n // 2}
  keep = []
  for i, j in reversed(_odd_even_merge_sort(32)):
    want_min, want_max = i in need, j in need
    if want_min or want_max:
      keep.append((i, j, want_min, want_max))
      need |= {i, j}
  return tuple(reversed(keep))


def _median_of(values: List[tf.Tensor]) -> tf.Tensor:
  """Elementwise median of an odd number of tensors, with min/max only."""
  wires: List[Optional[tf.Tensor]] = list(values) + [None] * (32 - len(values))
  for i, j, want_min, want_max in _median_network(len(values)):
    a, b = wires[i], wires[j]
    if b is None:  # b is +inf: min is a, max is +inf.
      continue
    if a is None:
      wires[i], wires[j] = b, None
      continue
    wires[i] = tf.minimum(a, b) if want_min else None
    wires[j] = tf.maximum(a, b) if want_max else None
  return wires[len(values) // 2]


def median_blur5(images: tf.Tensor) -> tf.Tensor:
  """cv::medianBlur(ksize=5) of float32 images (replicated border).

  The median of the 25 neighbours is selected by a min/max network (exact:
  it returns one of the inputs), which fuses into one loop under XLA.

  Args:
    images: float32 [N, H, W].

  Returns:
    float32 [N, H, W], the median of each 5x5 neighbourhood.
  """
  _, height, width = images.shape
  padded = tf.concat([images[:, :1]] * 2 + [images] + [images[:, -1:]] * 2,
                     axis=1)
  padded = tf.concat([padded[:, :, :1]] * 2 + [padded] +
                     [padded[:, :, -1:]] * 2, axis=2)
  taps = [padded[:, dy:dy + height, dx:dx + width]
          for dy in range(5) for dx in range(5)]
  return _median_of(taps)


def centered_gradient(images: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """OpenCV tvl1's centeredGradient (one-sided at the borders)."""
  half = np.float32(0.5)
  dx = half * (_gather_clamped(images, 2, 1) - _gather_clamped(images, 2, -1))
  dy = half * (_gather_clamped(images, 1, 1) - _gather_clamped(images, 1, -1))
  return dx, dy


def forward_gradient(u: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """OpenCV tvl1's forwardGradient (0 on the last column / row)."""
  dx = tf.pad(u[:, :, 1:] - u[:, :, :-1], [[0, 0], [0, 0], [0, 1]])
  dy = tf.pad(u[:, 1:, :] - u[:, :-1, :], [[0, 0], [0, 1], [0, 0]])
  return dx, dy


def divergence(v1: tf.Tensor, v2: tf.Tensor) -> tf.Tensor:
  """OpenCV tvl1's divergence, with its operation order at the borders."""
  v1x = v1 - tf.pad(v1[:, :, :-1], [[0, 0], [0, 0], [1, 0]])
  v2_up = tf.pad(v2[:, :-1, :], [[0, 0], [1, 0], [0, 0]])
  v2y = v2 - v2_up
  div = v1x + v2y
  # First column: (v1 + v2) - v2(y - 1) (v2(-1) = 0 on the first row).
  first = (v1[:, :, :1] + v2[:, :, :1]) - v2_up[:, :, :1]
  return tf.concat([first, div[:, :, 1:]], axis=2)


def _hypot(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
  """float(hypot(double(x), double(y))), as OpenCV's dual update."""
  x64 = tf.cast(x, tf.float64)
  y64 = tf.cast(y, tf.float64)
  return tf.cast(tf.sqrt(x64 * x64 + y64 * y64), tf.float32)


def _sequential_sum(x: tf.Tensor) -> tf.Tensor:
  """Row-major float32 sum accumulated left to right, per batch item."""
  flat = tf.reshape(x, [tf.shape(x)[0], -1])
  return tf.math.cumsum(flat, axis=1)[:, -1]


# ----------------------------------------------------------------------------
# The algorithm.
# ----------------------------------------------------------------------------


def _inner_step(m1: tf.Tensor, m2: tf.Tensor, u1: tf.Tensor, u2: tf.Tensor,
                p11: tf.Tensor, p12: tf.Tensor, p21: tf.Tensor,
                p22: tf.Tensor, active: tf.Tensor, i1wx: tf.Tensor,
                i1wy: tf.Tensor, rho_c: tf.Tensor, grad: tf.Tensor,
                params: TVL1Params) -> Tuple[tf.Tensor, ...]:
  """One inner iteration: estimateV, estimateU, estimateDualVariables.

  Pure elementwise/stencil work, compiled with XLA into a few fused loops
  (this is where the time goes). `m1, m2` are u after the optional median
  filter; pairs not `active` keep `u1, u2` and their dual variables.

  Returns:
    (u1, u2, p11, p12, p21, p22, error64): the new state and, per pair, the
    sum of |u_new - m|^2 accumulated in float64 (OpenCV's float32 running
    sum is within a known bound of it; see `_classify_error`).
  """
  f32 = np.float32
  l_t = f32(params.lambda_ * params.theta)
  taut = f32(params.tau / params.theta)
  theta = f32(params.theta)
  # estimateV (thresholding step).
  rho = rho_c + (i1wx * m1 + i1wy * m2)
  lt_grad = l_t * grad
  fi = -rho / tf.where(grad > _FLT_EPSILON, grad, tf.ones_like(grad))
  low = rho < -lt_grad
  high = rho > lt_grad
  mid_ok = grad > _FLT_EPSILON
  zeros = tf.zeros_like(rho)
  d1 = tf.where(low, l_t * i1wx, tf.where(
      high, -l_t * i1wx, tf.where(mid_ok, fi * i1wx, zeros)))
  d2 = tf.where(low, l_t * i1wy, tf.where(
      high, -l_t * i1wy, tf.where(mid_ok, fi * i1wy, zeros)))
  # estimateU.
  n1 = (m1 + d1) + theta * divergence(p11, p12)
  n2 = (m2 + d2) + theta * divergence(p21, p22)
  e1 = n1 - m1
  e2 = n2 - m2
  error = tf.reduce_sum(tf.cast(e1 * e1 + e2 * e2, tf.float64), axis=[1, 2])
  # estimateDualVariables.
  u1x, u1y = forward_gradient(n1)
  u2x, u2y = forward_gradient(n2)
  ng1 = f32(1) + taut * _hypot(u1x, u1y)
  ng2 = f32(1) + taut * _hypot(u2x, u2y)
  q11 = (p11 + taut * u1x) / ng1
  q12 = (p12 + taut * u1y) / ng1
  q21 = (p21 + taut * u2x) / ng2
  q22 = (p22 + taut * u2y) / ng2
  mask = active[:, None, None]
  new = [tf.where(mask, a, b) for a, b in (
      (n1, u1), (n2, u2), (q11, p11), (q12, p12), (q21, p21), (q22, p22))]
  return (*new, error)


def _classify_error(error64: tf.Tensor, scaled_eps: np.float32,
                    num_pixels: int) -> Tuple[tf.Tensor, tf.Tensor]:
  """OpenCV's `error > scaledEpsilon` per pair, where float64 settles it.

  OpenCV compares a float32 sum accumulated pixel after pixel. Such a sum
  of n non-negative terms is within gamma = (n - 1) u / (1 - (n - 1) u)
  (u = 2^-24) relative of the exact sum (Higham, "Accuracy and Stability
  of Numerical Algorithms", 2nd ed., eq. 4.4), so the float64 sum settles
  the comparison unless it lies within that bound of the threshold; only
  then (rarely) must the sequential sum (`_sequential_sum`) decide.

  Args:
    error64: float64 [N] sums.
    scaled_eps: OpenCV's float threshold epsilon^2 * H * W.
    num_pixels: H * W.

  Returns:
    (above, ambiguous), bool [N] each: `above` is OpenCV's verdict where
    `ambiguous` is False; where it is True the sequential sum decides.
  """
  unit = 2.0 ** -24
  gamma = (num_pixels - 1) * unit / (1 - (num_pixels - 1) * unit)
  gamma = gamma * (1 + 1e-6) + 1e-12  # Covers the float64 sum's own error.
  eps = float(scaled_eps)
  sure_above = error64 * (1 - gamma) > eps
  sure_below = error64 * (1 + gamma) <= eps
  return sure_above, ~(sure_above | sure_below)


def _one_scale(i0: tf.Tensor, i1: tf.Tensor, u1: tf.Tensor, u2: tf.Tensor,
               params: TVL1Params,
               jit_compile: bool) -> Tuple[tf.Tensor, tf.Tensor]:
  """procOneScale: warps x (outer x inner) iterations at one pyramid level.

  Each warp runs its iterations inside one compiled loop (`iterate`),
  which returns early only when a pair's stopping decision needs the
  sequential float32 sum (TensorFlow's cumsum, outside XLA); that pair's
  decision is then taken here and the loop resumes.
  """
  _, height, width = i0.shape
  scaled_eps = np.float32(params.epsilon * params.epsilon * height * width)
  max_iters = params.inner_iterations * params.outer_iterations
  use_median = params.median_filtering > 1
  i1x, i1y = centered_gradient(i1)
  stack = tf.stack([i1, i1x, i1y], axis=1)
  grid_x = tf.constant(np.arange(width, dtype=np.float32)[None, None, :])
  grid_y = tf.constant(np.arange(height, dtype=np.float32)[None, :, None])
  zeros = tf.zeros_like(i0)
  no_pairs = tf.zeros([tf.shape(i0)[0]], tf.bool)

  def warp(u1, u2):
    """Warps I1 and its gradient by u; calcGradRho."""
    warped = remap_cubic(stack, grid_x + u1, grid_y + u2)
    i1wx, i1wy = warped[:, 1], warped[:, 2]
    grad = i1wx * i1wx + i1wy * i1wy
    rho_c = ((warped[:, 0] - i1wx * u1) - i1wy * u2) - i0
    return i1wx, i1wy, rho_c, grad

  def iterate(t, active, state, i1wx, i1wy, rho_c, grad):
    """Inner iterations until all pairs stop or one needs the exact sum.

    Returns:
      (t, active, pending, state, squares): `pending` marks the pairs whose
      last stopping decision is left to the caller (they are still
      active); `squares` holds their float32 |u_new - u_old|^2 terms.
    """
    def cond(t, active, pending, *unused):
      return ((t < max_iters) & tf.reduce_any(active) &
              ~tf.reduce_any(pending))

    def body(t, active, pending, state, squares):
      u1, u2 = state[0], state[1]
      if use_median:
        m1, m2 = tf.cond(
            tf.equal(t % params.inner_iterations, 0),
            lambda: tuple(tf.split(median_blur5(tf.concat([u1, u2], 0)), 2)),
            lambda: (u1, u2))
      else:
        m1, m2 = u1, u2
      *new, error64 = _inner_step(m1, m2, *state, active, i1wx, i1wy, rho_c,
                                  grad, params)
      e1 = new[0] - m1
      e2 = new[1] - m2
      above, ambiguous = _classify_error(error64, scaled_eps, height * width)
      pending = active & ambiguous
      return (t + 1, active & (above | pending), pending, tuple(new),
              e1 * e1 + e2 * e2)

    return tf.while_loop(cond, body,
                         (t, active, no_pairs, state, zeros))

  warp = tf.function(warp, jit_compile=jit_compile, autograph=False)
  iterate = tf.function(iterate, jit_compile=jit_compile, autograph=False)

  def warp_body(w, u1, u2, p11, p12, p21, p22):
    warped = warp(u1, u2)

    def resume_cond(t, active, *unused):
      return (t < max_iters) & tf.reduce_any(active)

    def resume(t, active, pending, state, squares):
      active = tf.cond(
          tf.reduce_any(pending),
          lambda: tf.where(pending, _sequential_sum(squares) > scaled_eps,
                           active),
          lambda: active)
      return iterate(t, active, state, *warped)

    loop = tf.while_loop(
        resume_cond, resume,
        (tf.constant(0), tf.ones_like(no_pairs), no_pairs,
         (u1, u2, p11, p12, p21, p22), zeros))
    return (w + 1, *loop[3])

  # The dual variables start at 0 once per scale, as in OpenCV.
  out = tf.while_loop(lambda w, *unused: w < params.warps, warp_body,
                      (tf.constant(0), u1, u2, zeros, zeros, zeros, zeros))
  return out[1], out[2]


def _flow_graph(first: tf.Tensor, second: tf.Tensor, params: TVL1Params,
                jit_compile: bool, resize: str) -> tf.Tensor:
  """The whole coarse-to-fine computation on float32 [N, H, W] frames."""
  height, width = first.shape[1], first.shape[2]
  sizes = pyramid_sizes(height, width, params)
  i0s, i1s = [first], [second]
  for h, w in sizes[1:]:
    i0s.append(resize_linear(i0s[-1], h, w, (params.scale_step,) * 2,
                             resize))
    i1s.append(resize_linear(i1s[-1], h, w, (params.scale_step,) * 2,
                             resize))
  u1 = tf.zeros_like(i0s[-1])
  u2 = tf.zeros_like(i0s[-1])
  up = np.float32(1 / params.scale_step)
  for s in range(len(sizes) - 1, -1, -1):
    u1, u2 = _one_scale(i0s[s], i1s[s], u1, u2, params, jit_compile)
    if s == 0:
      break
    h, w = sizes[s - 1]
    u1 = resize_linear(u1, h, w, arithmetic=resize) * up
    u2 = resize_linear(u2, h, w, arithmetic=resize) * up
  return tf.stack([u1, u2], axis=-1)


_FUNCTIONS: Dict[Tuple[TVL1Params, int, int, bool, str], Any] = {}
_FUNCTIONS_LOCK = threading.Lock()


def resize_arithmetic() -> str:
  """How this process's OpenCV resizes float images: 'ipp' or 'opencv'.

  OpenCV's x86 wheels route float32 linear resizing through Intel IPP
  unless IPP is unavailable (other CPUs) or turned off with
  `cv2.ipp.setUseIPP(False)`; the TF flow follows the OpenCV it is
  compared with.
  """
  return 'ipp' if cv2.ipp.useIPP() else 'opencv'


def _compiled(params: TVL1Params, height: int, width: int,
              jit_compile: bool, resize: str):
  key = (params, height, width, jit_compile, resize)
  with _FUNCTIONS_LOCK:
    fn = _FUNCTIONS.get(key)
    if fn is None:
      spec = tf.TensorSpec([None, height, width], tf.float32)
      # The loops stay in a TensorFlow graph (the rare exact sum needs
      # TensorFlow's sequential cumsum); the per-iteration work inside them
      # is XLA-compiled when jit_compile is set.
      fn = tf.function(
          functools.partial(_flow_graph, params=params,
                            jit_compile=jit_compile, resize=resize),
          input_signature=[spec, spec], reduce_retracing=True,
          autograph=False)
      _FUNCTIONS[key] = fn
  return fn


_XLA_CHECK: Dict[str, bool] = {}


def xla_keeps_float_rounding() -> bool:
  """Whether XLA on the CPU rounds a * b + c like plain C++ (no FMA).

  XLA's CPU compiler contracts multiply-adds into FMA instructions when the
  CPU has them, which changes float32 results (OpenCV's tvl1flow.cpp is
  built without FMA). `tvl1_tf_worker` starts its workers with
  `--xla_cpu_max_isa=AVX` (no FMA) in XLA_FLAGS; this check runs a compiled
  multiply-add once and compares it with numpy, so that a worker whose
  flag did not take effect falls back to plain TensorFlow kernels instead
  of drifting. In a process without the flag it is False on FMA CPUs.

  Returns:
    True when compiled a * b + c equals the twice-rounded result.
  """
  if 'cpu' not in _XLA_CHECK:
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(4096).astype(np.float32) for _ in range(3))
    with tf.device('/CPU:0'):
      out = tf.function(lambda a, b, c: a * b + c, jit_compile=True)(a, b, c)
    _XLA_CHECK['cpu'] = bool(np.array_equal(out.numpy(), a * b + c))
  return _XLA_CHECK['cpu']


def _default_jit_compile() -> bool:
  """XLA for the iterations in this process: on a GPU, and on a CPU when it
  keeps rounding (in a `tvl1_tf_worker` process).

  On the CPU the fused loops are several times faster than one TensorFlow
  kernel per operation (benchmarks/flow_benchmark.py).
  """
  if _on_gpu():
    return True
  return xla_keeps_float_rounding()


def _on_gpu() -> bool:
  return bool(tf.config.list_logical_devices('GPU'))


def _run_pairs(fn: Any, a: np.ndarray, b: np.ndarray,
               on_gpu: bool) -> np.ndarray:
  """Runs a compiled program on float32 [N, H, W] pairs that all differ."""
  n, height, width = a.shape
  flow = np.empty((n, height, width, 2), np.float32)
  # A batch iterates until its slowest pair has converged, and on a CPU
  # the other pairs' masked iterations cost as much as real ones (measured:
  # batch 8 took 2.4x the CPU time per pair of batch 1 at 256x340), while
  # a GPU has the parallelism to spare; so a CPU runs the pairs one per
  # call, one call per core at a time (a call keeps about one core busy).
  if on_gpu:
    parts = [np.arange(i, min(n, i + MAX_PAIRS_PER_CALL))
             for i in range(0, n, MAX_PAIRS_PER_CALL)]
    workers = 1
  else:
    parts = [np.arange(i, i + 1) for i in range(n)]
    workers = min(n, tvl1_opencv.default_num_workers())

  def run(part: np.ndarray) -> None:
    flow[part] = fn(tf.constant(a[part]), tf.constant(b[part])).numpy()

  try:
    if workers > 1:
      with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, parts))
    else:
      for part in parts:
        run(part)
  except tf.errors.ResourceExhaustedError as e:
    smaller = max(1, n // 2)
    raise FlowOutOfMemoryError(
        f'Out of device memory computing TV-L1 flow for a batch of '
        f'{n} pairs of {height}x{width}; use batch_size={smaller}'
        f'{" or fewer" if smaller > 1 else " (or a smaller image)"}.') from e
  return flow


class WorkerProgram:
  """One program as a `tvl1_tf_worker` process runs it, on its CPU."""

  def __init__(self, params: TVL1Params, height: int, width: int,
               resize: str):
    """Traces the program (XLA-compiled where that keeps OpenCV's rounding).

    Args:
      params: Algorithm parameters.
      height: Frame height.
      width: Frame width.
      resize: `resize_arithmetic()` of the calling process's OpenCV.
    """
    self.shape = (height, width)
    self.jit_compile = xla_keeps_float_rounding()
    self._fn = _compiled(params, height, width, self.jit_compile, resize)

  def warm_up(self) -> None:
    """Runs a blank pair (converges at once), compiling every loop."""
    blank = np.zeros((1,) + self.shape, np.float32)
    self(blank, blank + 1)

  def __call__(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Flow of float32 [N, H, W] pairs that all differ: [N, H, W, 2]."""
    return _run_pairs(self._fn, first, second, on_gpu=False)


def _in_worker(a: np.ndarray, b: np.ndarray, params: TVL1Params,
               resize: str) -> np.ndarray:
  """`_run_pairs` in the program's `tvl1_tf_worker` process."""
  worker = tvl1_tf_worker.worker(params.to_dict(), a.shape[1], a.shape[2],
                                 resize)
  try:
    return worker.compute(a, b)
  except tvl1_tf_worker.FlowWorkerError as e:
    if e.kind == FlowOutOfMemoryError.__name__:
      raise FlowOutOfMemoryError(str(e)) from e
    raise


# ----------------------------------------------------------------------------
# Public API.
# ----------------------------------------------------------------------------


def _check_frames(x: Any, name: str) -> np.ndarray:
  """Validates one [N, H, W] argument; returns float32."""
  if isinstance(x, tf.Tensor):
    x = x.numpy()
  x = np.asarray(x)
  if x.ndim != 3:
    raise ValueError(
        f'{name} must be gray frames [N, H, W], got shape {x.shape}.')
  if x.dtype == np.uint8:
    return x.astype(np.float32)
  if not np.issubdtype(x.dtype, np.floating):
    raise ValueError(
        f'{name} must be uint8 or float in [0, 255], got dtype {x.dtype}.')
  if not np.all(np.isfinite(x)):
    raise ValueError(f'{name} has non-finite values (NaN or inf).')
  if x.size and (x.min() < 0 or x.max() > 255):
    raise ValueError(f'{name} must be in [0, 255], got values in '
                     f'[{x.min()}, {x.max()}].')
  return x.astype(np.float32)


def compute_flow_batch(first: np.ndarray, second: np.ndarray,
                       params: TVL1Params = DEFAULT_PARAMS,
                       jit_compile: Optional[bool] = None) -> np.ndarray:
  """TV-L1 flow from first[i] to second[i], as OpenCV's calc(first, second).

  Args:
    first: uint8 (or float in [0, 255]) gray frames [N, H, W].
    second: Same shape and dtype kind; the frames after `first`.
    params: Algorithm parameters (OpenCV's defaults).
    jit_compile: Compile with XLA (on a CPU: in the worker process, where
      XLA keeps OpenCV's rounding); False: plain TensorFlow kernels in this
      process (same results, slower); None: XLA.

  Returns:
    float32 [N, H, W, 2] flow (x, y) in pixels. Pairs of identical frames
    get exactly 0, as from OpenCV, without running the solver. On a GPU the
    pairs run as one batch (of at most MAX_PAIRS_PER_CALL); on a CPU one
    per call, as many calls at once as the process has CPUs (same results),
    in a `tvl1_tf_worker` process unless jit_compile is False.

  Raises:
    ValueError: for a bad argument (named in the message): wrong rank or
      dtype, different shapes, empty batch, non-finite or out-of-range
      values, frames smaller than 3x3, unsupported parameters.
    FlowOutOfMemoryError: when the device runs out of memory; the message
      names a smaller batch size to use.
    tvl1_tf_worker.FlowWorkerError: when the worker process fails twice.
  """
  params.validate()
  a = _check_frames(first, 'first')
  b = _check_frames(second, 'second')
  if a.shape != b.shape:
    raise ValueError(f'first and second must have the same shape, got '
                     f'{a.shape} and {b.shape}.')
  n, height, width = a.shape
  if n == 0:
    raise ValueError('first and second are an empty batch (N = 0).')
  if height < _MIN_IMAGE_SIZE or width < _MIN_IMAGE_SIZE:
    raise ValueError(f'first/second frames must be at least {_MIN_IMAGE_SIZE}'
                     f'x{_MIN_IMAGE_SIZE} pixels, got {height}x{width}.')
  flow = np.zeros((n, height, width, 2), np.float32)
  todo = np.flatnonzero(np.any(a != b, axis=(1, 2)))
  if todo.size == 0:
    return flow
  resize = resize_arithmetic()
  on_gpu = _on_gpu()
  if not on_gpu and jit_compile is not False:
    flow[todo] = _in_worker(a[todo], b[todo], params, resize)
    return flow
  if jit_compile is None:
    jit_compile = _default_jit_compile()
  fn = _compiled(params, height, width, bool(jit_compile), resize)
  flow[todo] = _run_pairs(fn, a[todo], b[todo], on_gpu)
  return flow


def to_gray(frame: np.ndarray, name: str = 'frame') -> np.ndarray:
  """uint8 gray [H, W] from uint8 gray [H, W] or RGB [H, W, 3].

  Args:
    frame: The frame.
    name: Argument name for error messages.

  Returns:
    uint8 [H, W]; RGB is converted as cv2.COLOR_RGB2GRAY.

  Raises:
    ValueError: if the frame is not uint8 [H, W] or [H, W, 3].
  """
  frame = np.asarray(frame)
  if frame.dtype != np.uint8:
    raise ValueError(f'{name} must be uint8, got dtype {frame.dtype}.')
  if frame.ndim == 2:
    return frame
  if frame.ndim == 3 and frame.shape[-1] == 3:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
  raise ValueError(
      f'{name} must be gray [H, W] or RGB [H, W, 3], got shape {frame.shape}.')


def iter_flow(frames: Iterable[np.ndarray], batch_size: int = 8,
              params: TVL1Params = DEFAULT_PARAMS,
              jit_compile: Optional[bool] = None) -> Iterator[np.ndarray]:
  """Streams TV-L1 flow between consecutive frames.

  Holds at most `batch_size` pairs at a time: accumulates them, computes
  them in one batch and yields their flows in order.

  Args:
    frames: uint8 frames, gray [H, W] or RGB [H, W, 3], all the same size.
    batch_size: Pairs per TensorFlow call.
    params: Algorithm parameters.
    jit_compile: As in `compute_flow_batch`.

  Yields:
    float32 [H, W, 2] flow from frame t to frame t + 1, for t = 0, 1, ...

  Raises:
    ValueError: for a bad frame (named by its index) or batch_size.
    FlowOutOfMemoryError: as `compute_flow_batch`.
  """
  if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
    raise ValueError(f'batch_size must be a positive int, got {batch_size!r}.')
  prev = None
  firsts, seconds = [], []

  def run():
    try:
      out = compute_flow_batch(np.stack(firsts), np.stack(seconds), params,
                               jit_compile)
    except FlowOutOfMemoryError as e:
      raise FlowOutOfMemoryError(
          f'{e} (iter_flow batch_size={batch_size}; try '
          f'batch_size={max(1, batch_size // 2)}).') from e
    firsts.clear()
    seconds.clear()
    return out

  for t, frame in enumerate(frames):
    gray = to_gray(frame, f'frames[{t}]')
    if (prev is None and jit_compile is not False and
        min(gray.shape) >= _MIN_IMAGE_SIZE and not _on_gpu()):
      # Starts the worker, which warms up while the caller reads frames.
      tvl1_tf_worker.worker(params.to_dict(), *gray.shape,
                            resize_arithmetic())
    if prev is not None:
      if gray.shape != prev.shape:
        raise ValueError(f'frames[{t}] has size {gray.shape}, but earlier '
                         f'frames have {prev.shape}.')
      firsts.append(prev)
      seconds.append(gray)
      if len(firsts) == batch_size:
        yield from run()
    prev = gray
  if firsts:
    yield from run()
