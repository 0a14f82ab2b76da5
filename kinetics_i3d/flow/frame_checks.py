"""Checks of the frames both TV-L1 backends take, with one-line messages.

I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017) takes TV-L1 flow between consecutive grey frames; the backends
(`tvl1_opencv`, `tvl1_tf`) accept grey or RGB uint8 frames, converted with
`video.gray.to_gray`, the project's one grey conversion. Numpy only: the
OpenCV backend never loads TensorFlow.
"""

from typing import Any, Tuple

import numpy as np

from kinetics_i3d.video import gray

# OpenCV's TV-L1 stencils (centeredGradient, forwardGradient) assume > 2.
MIN_FRAME_SIZE = 3


def gray_frame(frame: Any, name: str) -> np.ndarray:
  """One frame as uint8 grey [H, W].

  Args:
    frame: uint8 grey [H, W] (or [H, W, 1]) or RGB [H, W, 3].
    name: What `frame` is, for error messages (e.g. 'frames[3]').

  Returns:
    uint8 [H, W], C-contiguous; RGB converted as cv2.COLOR_RGB2GRAY.

  Raises:
    ValueError: If `frame` is not one uint8 frame of these shapes.
  """
  frame = np.asarray(frame)
  if frame.ndim > 3:
    raise ValueError(f'{name} must be grey [H, W] or RGB [H, W, 3], got '
                     f'shape {frame.shape}.')
  return gray.to_gray(frame, name)


def _float_frames(x: Any, name: str) -> np.ndarray:
  """Validates one [N, H, W] argument; returns float32."""
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


def pair_batch(first: Any, second: Any) -> Tuple[np.ndarray, np.ndarray]:
  """A batch of frame pairs as float32 [N, H, W] each, checked.

  Args:
    first: uint8 (or float in [0, 255]) gray frames [N, H, W]; a
      `tf.Tensor` too.
    second: Same shape; the frames after `first`.

  Returns:
    (first, second), float32 [N, H, W] each, values 0..255.

  Raises:
    ValueError: For a bad argument (named in the message): wrong rank or
      dtype, different shapes, empty batch, non-finite or out-of-range
      values, frames smaller than 3x3.
  """
  a = _float_frames(first, 'first')
  b = _float_frames(second, 'second')
  if a.shape != b.shape:
    raise ValueError(f'first and second must have the same shape, got '
                     f'{a.shape} and {b.shape}.')
  n, height, width = a.shape
  if n == 0:
    raise ValueError('first and second are an empty batch (N = 0).')
  if height < MIN_FRAME_SIZE or width < MIN_FRAME_SIZE:
    raise ValueError(f'first/second frames must be at least {MIN_FRAME_SIZE}'
                     f'x{MIN_FRAME_SIZE} pixels, got {height}x{width}.')
  return a, b
