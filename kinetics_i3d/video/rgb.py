"""The RGB stream's steps: resize the smaller side, crop, rescale to [-1, 1].

As the kinetics-i3d README states the recipe of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

frames are resized so that the smaller side is `streams.RESIZE` (bilinear,
aspect ratio kept; smaller frames are upsampled), cropped to `streams.CROP`
(centre for evaluation, random for training: one crop for every frame of a
clip) and rescaled as x / 255 * 2 - 1. The flow stream takes the same crop
(`flow_input`).
"""

import math
from typing import Tuple, Union

import cv2
import numpy as np

from kinetics_i3d import streams

# A crop: 'center', a numpy Generator (random crop), explicit (y, x) offsets
# of the top-left corner, or an int n meaning a centre crop of n x n.
Crop = Union[str, int, Tuple[int, int], np.random.Generator]


def _resized_shape(height: int, width: int, size: int) -> Tuple[int, int]:
  if height <= width:
    return size, max(size, int(math.floor(width * size / height + 0.5)))
  return max(size, int(math.floor(height * size / width + 0.5))), size


def resize_smallest_side(frames: np.ndarray,
                         size: int = streams.RESIZE) -> np.ndarray:
  """Bilinear resize so that the smaller side is `size`, aspect ratio kept.

  Frames smaller than `size` are upsampled. The longer side is rounded to the
  nearest pixel. OpenCV's INTER_LINEAR samples at pixel centres, as
  TensorFlow's bilinear resize does without antialiasing.

  Args:
    frames: [T, H, W, C] or [H, W, C] uint8 or float32, any C.
    size: Target length of the smaller side.

  Returns:
    The same layout and dtype with min(H', W') == size; `frames` itself if
    it already has that size.

  Raises:
    ValueError: For another rank or a size below 1.
  """
  frames = np.asarray(frames)
  if frames.ndim not in (3, 4):
    raise ValueError(
        f'frames must be [T, H, W, C] or [H, W, C], got shape {frames.shape}.')
  if size < 1:
    raise ValueError(f'size must be positive, got {size}.')
  height, width = frames.shape[-3:-1]
  if min(height, width) == size:
    return frames
  new_height, new_width = _resized_shape(height, width, size)
  batch = frames.reshape((-1,) + frames.shape[-3:])
  out = np.empty((batch.shape[0], new_height, new_width, batch.shape[-1]),
                 frames.dtype)
  for i, frame in enumerate(batch):
    resized = cv2.resize(frame, (new_width, new_height),
                         interpolation=cv2.INTER_LINEAR)
    out[i] = resized.reshape(out.shape[1:])
  return out.reshape(frames.shape[:-3] + out.shape[1:])


def _bad_crop(crop: Crop) -> ValueError:
  return ValueError(
      f"crop must be 'center', a numpy Generator or (y, x), got {crop!r}.")


def crop_offsets(height: int, width: int, size: int = streams.CROP,
                 crop: Crop = 'center') -> Tuple[int, int]:
  """Top-left corner (y, x) of a `size` x `size` crop.

  Args:
    height: Frame height.
    width: Frame width.
    size: Crop side.
    crop: 'center'; a `np.random.Generator` for a uniformly random crop; or
      explicit (y, x) offsets, checked against the frame.

  Returns:
    (y, x) offsets.

  Raises:
    ValueError: If the frame is smaller than the crop or `crop` is invalid.
  """
  if height < size or width < size:
    raise ValueError(
        f'Cannot crop {size}x{size} from {height}x{width} frames; resize '
        'them first (resize_smallest_side).')
  if isinstance(crop, str):
    if crop != 'center':
      raise _bad_crop(crop)
    return (height - size) // 2, (width - size) // 2
  if isinstance(crop, np.random.Generator):
    return (int(crop.integers(0, height - size + 1)),
            int(crop.integers(0, width - size + 1)))
  if (isinstance(crop, (tuple, list)) and len(crop) == 2 and
      all(isinstance(v, (int, np.integer)) for v in crop)):
    y, x = int(crop[0]), int(crop[1])
    if not (0 <= y <= height - size and 0 <= x <= width - size):
      raise ValueError(
          f'Crop offsets {(y, x)} put a {size}x{size} crop outside '
          f'{height}x{width} frames.')
    return y, x
  raise _bad_crop(crop)


def crop_at(x: np.ndarray, size: int, offsets: Tuple[int, int]) -> np.ndarray:
  """The `size` x `size` window at `offsets` (y, x) of [..., H, W, C] `x`."""
  y0, x0 = offsets
  return x[..., y0:y0 + size, x0:x0 + size, :]


def center_crop(x: np.ndarray, size: int = streams.CROP) -> np.ndarray:
  """The central `size` x `size` window of every frame.

  Args:
    x: [..., H, W, C] frames (RGB, gray with C = 1, or flow with C = 2).
    size: Crop side.

  Returns:
    [..., size, size, C], a view of `x`; offsets (H - size) // 2 and
    (W - size) // 2.

  Raises:
    ValueError: If the frames are smaller than the crop.
  """
  x = np.asarray(x)
  return crop_at(x, size, crop_offsets(*x.shape[-3:-1], size, 'center'))


def scale_rgb(frames: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1]: x / 255 * 2 - 1 (0 -> -1, 255 -> 1)."""
  return np.asarray(frames, np.float32) / np.float32(255) * np.float32(
      2) - np.float32(1)
