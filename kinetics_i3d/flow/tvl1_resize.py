"""OpenCV's image pyramid for TV-L1: its level sizes and its linear resize.

The TensorFlow TV-L1 (`tvl1_tf`) reproduces OpenCV's DualTVL1, the flow of
I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017). DualTVL1 builds level s of its pyramid as
`cv::resize(level s-1, Size(), 0.8, 0.8, INTER_LINEAR)` and upscales the
flow to the finer level with the same resize to a given size. OpenCV's x86
wheels hand float32 linear resizing to Intel IPP (IPP's resize when the
size ratio is exactly the factor, else IPP's affine warp, each with its own
edge rule and a + t * (b - a) arithmetic); with IPP off OpenCV's own code
runs (weights (1 - t, t), a * w0 + b * w1). `resize_linear` reproduces both
(IPP's by probing the wheel: its source is not public) and
`resize_arithmetic()` names the one this process's OpenCV uses.
"""

from typing import List, Optional, Tuple

import cv2
import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_float32
from kinetics_i3d.flow import tvl1_params

# OpenCV's calc() stops building the pyramid below this size.
_MIN_LEVEL_SIZE = 16
# OpenCV calls IPP's resize when the size ratio equals the factor to this
# relative tolerance, and IPP's affine warp otherwise.
_EXACT_RATIO_TOLERANCE = 1e-10

IPP = 'ipp'
OPENCV = 'opencv'


def resize_arithmetic() -> str:
  """How this process's OpenCV resizes float images: 'ipp' or 'opencv'.

  OpenCV's x86 wheels route float32 linear resizing through Intel IPP
  unless IPP is unavailable (other CPUs) or turned off with
  `cv2.ipp.setUseIPP(False)`; the TF flow follows the OpenCV it is
  compared with.
  """
  return IPP if cv2.ipp.useIPP() else OPENCV


def pyramid_sizes(
    height: int, width: int,
    params: tvl1_params.TVL1Params = tvl1_params.DEFAULT_PARAMS
) -> List[Tuple[int, int]]:
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
  return tvl1_float32.fma_f32(t, b - a, a)


def _resize_opencv(images: tf.Tensor, height: int, width: int,
                   inv_scale: Tuple[float, float]) -> tf.Tensor:
  """OpenCV's own INTER_LINEAR: a * w0 + b * w1 per axis, unfused."""
  src_h, src_w = images.shape[1], images.shape[2]
  i0, i1, a0, a1 = _opencv_taps(src_w, width, 1.0 / inv_scale[0], True)
  j0, j1, b0, b1 = _opencv_taps(src_h, height, 1.0 / inv_scale[1], False)
  rows = (tf.gather(images, i0, axis=2) * a0 +
          tf.gather(images, i1, axis=2) * a1)
  return (tf.gather(rows, j0, axis=1) * b0[:, None] +
          tf.gather(rows, j1, axis=1) * b1[:, None])


def _resize_ipp(images: tf.Tensor, height: int, width: int,
                inv_scale: Tuple[float, float], affine: bool) -> tf.Tensor:
  """IPP's resize (affine=False) or affine warp: fma(t, b - a, a) per axis."""
  src_h, src_w = images.shape[1], images.shape[2]
  scale_x = 1.0 / inv_scale[0] if affine else src_w / width
  scale_y = 1.0 / inv_scale[1] if affine else src_h / height
  i0, i1, tx = _ipp_taps(src_w, width, scale_x, affine)
  j0, j1, ty = _ipp_taps(src_h, height, scale_y, affine)
  rows = _lerp_ipp(tf.gather(images, i0, axis=2),
                   tf.gather(images, i1, axis=2), tf.constant(tx))
  return _lerp_ipp(tf.gather(rows, j0, axis=1), tf.gather(rows, j1, axis=1),
                   tf.constant(ty[:, None]))


def resize_linear(images: tf.Tensor, height: int, width: int,
                  inv_scale: Optional[Tuple[float, float]] = None,
                  arithmetic: str = IPP) -> tf.Tensor:
  """cv::resize(INTER_LINEAR) of float32 images, bit-exact.

  Both of OpenCV's arithmetics are reproduced:

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

  Raises:
    ValueError: For an unknown `arithmetic`.
  """
  src_h, src_w = images.shape[1], images.shape[2]
  exact = inv_scale is None
  if exact:
    inv_scale = (width / src_w, height / src_h)
  if arithmetic == OPENCV:
    return _resize_opencv(images, height, width, inv_scale)
  if arithmetic != IPP:
    raise ValueError(f"arithmetic must be 'ipp' or 'opencv', got "
                     f'{arithmetic!r}.')
  affine = not exact and any(
      abs(size / src - fx) / fx > _EXACT_RATIO_TOLERANCE
      for size, src, fx in ((width, src_w, inv_scale[0]),
                            (height, src_h, inv_scale[1])))
  return _resize_ipp(images, height, width, inv_scale, affine)
