"""RGB to grey, as OpenCV's `cv2.COLOR_RGB2GRAY`: the input of TV-L1 flow.

I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017) computes TV-L1 on grey frames.
Every flow path in this project (both backends, preprocessing, the tests'
oracles) converts through `to_gray`, so all of them see the same pixels:
OpenCV's fixed-point weights 0.299 R + 0.587 G + 0.114 B, rounded.
"""

import cv2
import numpy as np


def to_gray(frames: np.ndarray, name: str = 'frames') -> np.ndarray:
  """uint8 grey [..., H, W] from uint8 RGB [..., H, W, 3] or grey.

  Args:
    frames: uint8 RGB [..., H, W, 3], grey [..., H, W, 1], or a grey frame
      [H, W] (returned as it is).
    name: What `frames` is, for error messages.

  Returns:
    uint8 [..., H, W], C-contiguous.

  Raises:
    ValueError: If `frames` is not uint8 or has none of these shapes.
  """
  frames = np.asarray(frames)
  if frames.dtype != np.uint8:
    raise ValueError(f'{name} must be uint8, got dtype {frames.dtype}.')
  if frames.ndim == 2:
    return np.ascontiguousarray(frames)
  if frames.ndim < 3 or frames.shape[-1] not in (1, 3):
    raise ValueError(f'{name} must be grey [H, W] or RGB [..., H, W, 3], got '
                     f'shape {frames.shape}.')
  if frames.shape[-1] == 1:
    return np.ascontiguousarray(frames[..., 0])
  if frames.ndim == 3:
    return cv2.cvtColor(np.ascontiguousarray(frames), cv2.COLOR_RGB2GRAY)
  flat = frames.reshape((-1,) + frames.shape[-3:])
  gray = np.empty(flat.shape[:-1], np.uint8)
  for i, frame in enumerate(flat):
    gray[i] = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
  return gray.reshape(frames.shape[:-1])
