"""OpenCV's bicubic remap, as DualTVL1 warps the second frame by the flow.

The TensorFlow TV-L1 (`tvl1_tf`) reproduces OpenCV's DualTVL1, the flow of
I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017). Each warp samples I1 and its derivatives at x + u with
`cv::remap(..., INTER_CUBIC, BORDER_CONSTANT, 0)`. The OpenCV 5.0 wheels
sample at the exact float position (the public sources still describe a
1/32-pixel table; this arithmetic was established by probing the wheel's
AVX2 build and is bit-exact there): integer part floor(x + u), Keys cubic
weights (A = -0.75) of the fraction in float32, each of the 4 rows a chain
of FMAs over its 4 taps, then the 4 row values the same way; taps outside
the image count as 0.
"""

from typing import List

import tensorflow as tf

from kinetics_i3d.flow import tvl1_float32

# Pairs per compiled call, at most; remap_cubic's int32 indices assume it.
MAX_PAIRS_PER_CALL = 1024
# Zeros around the images (>= the 4 taps), so every tap reads a pixel or 0.
_BORDER = 4
# Keys' cubic convolution parameter, as OpenCV's INTER_CUBIC.
_KEYS_A = -0.75
# Map positions are clipped to this magnitude before the cast to int32.
_POSITION_LIMIT = float(2 ** 30)


def cubic_coefficients(t: tf.Tensor) -> List[tf.Tensor]:
  """Keys cubic weights (A = -0.75) of the 4 taps at fractional offset t.

  As OpenCV 5.0's x86 remap kernels evaluate them in float32, with
  u = 1 - t: w0 = A t u^2 and w3 = A u t^2 as plain products,
  w1 = fma(fma(1.25, t, -2.25), t^2, 1), and w2 = 1 - w0 - w1 - w3 from
  left to right.

  Args:
    t: float32 fractions in [0, 1).

  Returns:
    [w0, w1, w2, w3], float32 tensors of t's shape.
  """
  mul = tvl1_float32.mul_f32
  fma = tvl1_float32.fma_f32
  a = tf.constant(_KEYS_A, tf.float32)
  u = 1 - t
  t_sq = mul(t, t)
  w0 = mul(a, mul(t, mul(u, u)))
  w1 = fma(fma(tf.constant(1.25, tf.float32), t,
               tf.constant(-2.25, tf.float32)),
           t_sq, tf.constant(1, tf.float32))
  w3 = mul(a, mul(u, t_sq))
  w2 = ((1 - w0) - w1) - w3
  return [w0, w1, w2, w3]


def _first_tap_indices(images: tf.Tensor, fx: tf.Tensor,
                       fy: tf.Tensor) -> tf.Tensor:
  """Flat indices of each output's first tap in the zero-bordered images.

  The first tap (floor - 1) is clamped to [-4, size]: a first tap beyond
  that has all 4 taps outside the image, as the clamped one has, so every
  tap reads either its pixel or a 0. Each tap is then one 1-D gather at a
  fixed offset from this index (XLA emits a plain 1-D gather much faster
  than a multi-dimensional one).

  Args:
    images: float32 [N, C, H, W].
    fx: float32 [N, H, W], floor of the source x.
    fy: float32 [N, H, W], floor of the source y.

  Returns:
    int32 (int64 for more than 2^31 padded pixels per call) [N, C, H, W].
  """
  _, channels, height, width = images.shape
  padded_w = width + 2 * _BORDER
  plane_size = (height + 2 * _BORDER) * padded_w
  index_dtype = (tf.int32 if channels * plane_size * MAX_PAIRS_PER_CALL <
                 2 ** 31 else tf.int64)
  ix = tf.clip_by_value(tf.cast(fx, tf.int32) - 1, -_BORDER, width) + _BORDER
  iy = tf.clip_by_value(tf.cast(fy, tf.int32) - 1, -_BORDER, height) + _BORDER
  first = tf.cast(iy * padded_w + ix, index_dtype)
  planes = tf.range(tf.shape(images)[0] * channels, dtype=index_dtype)
  planes = tf.reshape(planes * plane_size, [-1, channels, 1, 1])
  return planes + first[:, None]


def remap_cubic(images: tf.Tensor, map_x: tf.Tensor,
                map_y: tf.Tensor) -> tf.Tensor:
  """cv::remap(INTER_CUBIC, BORDER_CONSTANT, 0) with float maps.

  Args:
    images: float32 [N, C, H, W]; all C channels use the same maps.
    map_x: float32 [N, H, W] source x of every output pixel.
    map_y: float32 [N, H, W] source y.

  Returns:
    float32 [N, C, H, W].
  """
  padded_w = images.shape[3] + 2 * _BORDER
  map_x = tf.clip_by_value(map_x, -_POSITION_LIMIT, _POSITION_LIMIT)
  map_y = tf.clip_by_value(map_y, -_POSITION_LIMIT, _POSITION_LIMIT)
  fx = tf.floor(map_x)
  fy = tf.floor(map_y)
  cx = [c[:, None] for c in cubic_coefficients(map_x - fx)]
  cy = [c[:, None] for c in cubic_coefficients(map_y - fy)]
  first = _first_tap_indices(images, fx, fy)
  flat = tf.reshape(tf.pad(images, [[0, 0], [0, 0], [_BORDER, _BORDER],
                                    [_BORDER, _BORDER]]), [-1])
  fma = tvl1_float32.fma_f32
  out = None
  for ky in range(4):
    acc = None
    for kx in range(4):
      tap = tf.gather(flat, first + (ky * padded_w + kx))
      acc = tap * cx[kx] if acc is None else fma(tap, cx[kx], acc)
    out = acc * cy[ky] if out is None else fma(acc, cy[ky], out)
  return out
