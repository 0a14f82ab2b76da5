"""The kinetics-i3d README's GIFs of I3D's two input streams.

DeepMind's README for Carreira & Zisserman, "Quo Vadis, Action Recognition?
A New Model and the Kinetics Dataset" (CVPR 2017) shows the sample's RGB and
flow inputs as animated GIFs at the model's 25 fps (`streams.FPS`); these
functions draw them the same way.
"""

import numpy as np
from PIL import Image

from kinetics_i3d import streams

# GIF delays are in 10 ms units, so 40 ms per frame is exactly 25 fps.
_FRAME_MS = int(round(1000 / streams.FPS))


def _unbatch(x: np.ndarray, stream: str) -> np.ndarray:
  channels = streams.CHANNELS[stream]
  x = np.asarray(x, np.float32)
  if x.ndim == 5 and x.shape[0] == 1:
    x = x[0]
  if x.ndim != 4 or x.shape[-1] != channels or not len(x):
    raise ValueError(
        f'{stream} must be [T, H, W, {channels}] or [1, T, H, W, {channels}] '
        f'with T >= 1, got shape {x.shape}.')
  return x


def rgb_gif_frames(rgb: np.ndarray) -> np.ndarray:
  """RGB input in [-1, 1] -> uint8 GIF frames: (x + 1) / 2 clipped to [0, 1].

  Args:
    rgb: float [T, H, W, 3] or [1, T, H, W, 3].

  Returns:
    uint8 [T, H, W, 3].

  Raises:
    ValueError: For another shape.
  """
  rgb = _unbatch(rgb, streams.RGB)
  return np.rint(np.clip((rgb + 1) / 2, 0, 1) * 255).astype(np.uint8)


def flow_gif_frames(flow: np.ndarray) -> np.ndarray:
  """Flow input in [-1, 1] -> uint8 GIF frames.

  As the original README: a third channel of zeros, then + 0.5, clipped to
  [0, 1] (so zero flow is mid-gray with no blue).

  Args:
    flow: float [T, H, W, 2] or [1, T, H, W, 2].

  Returns:
    uint8 [T, H, W, 3].

  Raises:
    ValueError: For another shape.
  """
  flow = _unbatch(flow, streams.FLOW)
  rgb = np.concatenate([flow, np.zeros_like(flow[..., :1])], axis=-1) + 0.5
  return np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def write_gif(frames: np.ndarray, path: str) -> None:
  """Writes uint8 [T, H, W, 3] frames to `path` as a looping 25 fps GIF.

  Pillow merges identical consecutive frames, adding their delays. The file
  is written in place: callers that need all-or-nothing writes pass a staged
  path (`atomic_files.staged`).

  Args:
    frames: uint8 [T, H, W, 3], T >= 1 (`rgb_gif_frames`, `flow_gif_frames`).
    path: Destination .gif.
  """
  images = [Image.fromarray(frame) for frame in frames]
  images[0].save(path, format='GIF', save_all=True, append_images=images[1:],
                 duration=_FRAME_MS, loop=0)
