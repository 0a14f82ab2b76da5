"""DualTVL1's stencils: 5x5 median, derivatives and divergence, as OpenCV's.

The TensorFlow TV-L1 (`tvl1_tf`) reproduces OpenCV's DualTVL1, the flow of
I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017), operation by operation in float32. Its stencils: centred
differences 0.5 * (a - b), one-sided on the first/last row and column (the
warped image's derivatives); forward differences, 0 on the last column/row
(the flow's gradient); the divergence with OpenCV's operation order,
including its different order on the first column; and the 5x5 median of
each flow component (replicated border) before every outer iteration.
Images are float32 [N, H, W].
"""

import functools
from typing import List, Optional, Tuple

import numpy as np
import tensorflow as tf

# The median network sorts this many wires (a power of 2 >= 25).
_NETWORK_WIRES = 32
_MEDIAN_SIZE = 5


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
  for i, j in reversed(_odd_even_merge_sort(_NETWORK_WIRES)):
    want_min, want_max = i in need, j in need
    if want_min or want_max:
      keep.append((i, j, want_min, want_max))
      need |= {i, j}
  return tuple(reversed(keep))


def _median_of(values: List[tf.Tensor]) -> tf.Tensor:
  """Elementwise median of an odd number of tensors, with min/max only."""
  wires: List[Optional[tf.Tensor]] = (
      list(values) + [None] * (_NETWORK_WIRES - len(values)))
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
  half = _MEDIAN_SIZE // 2
  padded = tf.concat([images[:, :1]] * half + [images] +
                     [images[:, -1:]] * half, axis=1)
  padded = tf.concat([padded[:, :, :1]] * half + [padded] +
                     [padded[:, :, -1:]] * half, axis=2)
  taps = [padded[:, dy:dy + height, dx:dx + width]
          for dy in range(_MEDIAN_SIZE) for dx in range(_MEDIAN_SIZE)]
  return _median_of(taps)


def _gather_clamped(x: tf.Tensor, axis: int, offset: int) -> tf.Tensor:
  """x shifted by `offset` along `axis`, the edge value repeated."""
  n = x.shape[axis]
  idx = np.clip(np.arange(n) + offset, 0, n - 1)
  return tf.gather(x, idx, axis=axis)


def centered_gradient(images: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """OpenCV tvl1's centeredGradient (one-sided at the borders).

  Args:
    images: float32 [N, H, W].

  Returns:
    (dx, dy), float32 [N, H, W] each.
  """
  half = np.float32(0.5)
  dx = half * (_gather_clamped(images, 2, 1) - _gather_clamped(images, 2, -1))
  dy = half * (_gather_clamped(images, 1, 1) - _gather_clamped(images, 1, -1))
  return dx, dy


def forward_gradient(u: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """OpenCV tvl1's forwardGradient (0 on the last column / row).

  Args:
    u: float32 [N, H, W].

  Returns:
    (dx, dy), float32 [N, H, W] each.
  """
  dx = tf.pad(u[:, :, 1:] - u[:, :, :-1], [[0, 0], [0, 0], [0, 1]])
  dy = tf.pad(u[:, 1:, :] - u[:, :-1, :], [[0, 0], [0, 1], [0, 0]])
  return dx, dy


def divergence(v1: tf.Tensor, v2: tf.Tensor) -> tf.Tensor:
  """OpenCV tvl1's divergence, with its operation order at the borders.

  Args:
    v1: float32 [N, H, W], the x component of the dual field.
    v2: float32 [N, H, W], its y component.

  Returns:
    float32 [N, H, W].
  """
  v1x = v1 - tf.pad(v1[:, :, :-1], [[0, 0], [0, 0], [1, 0]])
  v2_up = tf.pad(v2[:, :-1, :], [[0, 0], [1, 0], [0, 0]])
  v2y = v2 - v2_up
  div = v1x + v2y
  # First column: (v1 + v2) - v2(y - 1) (v2(-1) = 0 on the first row).
  first = (v1[:, :, :1] + v2[:, :, :1]) - v2_up[:, :, :1]
  return tf.concat([first, div[:, :, 1:]], axis=2)
