"""The original's preprocessed inputs: `<name>_rgb.npy` and `<name>_flow.npy`.

DeepMind's kinetics-i3d ships its sample as two arrays, float32
[1, T, 224, 224, C] in [-1, 1] (C = 3 for RGB, 2 for flow); `i3d-preprocess`
writes the same format for any video, and I3D (Carreira & Zisserman, "Quo
Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017)
reads it in `evaluate_sample` and `i3d-extract-features`. `load` is the one
reader: memory-mapped, never unpickled, each problem one line naming the file.
"""

from typing import Optional

import numpy as np

from kinetics_i3d import streams


class SampleArrayError(ValueError):
  """A sample array that cannot be read, or is not a model input."""


def _open(path: str, label: str) -> np.ndarray:
  """The array in `path`, memory-mapped; refuses object arrays unread."""
  try:
    with open(path, 'rb') as f:
      version = np.lib.format.read_magic(f)
      read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                     else np.lib.format.read_array_header_2_0)
      _, _, dtype = read_header(f)
    if dtype.hasobject:
      raise SampleArrayError(
          f'{label}: {path} holds Python objects, which are never unpickled; '
          'write a float array (i3d-preprocess does).')
    return np.load(path, mmap_mode='r', allow_pickle=False)
  except SampleArrayError:
    raise
  except OSError as e:
    raise SampleArrayError(
        f'{label}: {path} cannot be read ({e.strerror or e}).') from None
  except (ValueError, EOFError):  # EOFError: an empty file.
    raise SampleArrayError(
        f'{label}: {path} is not a readable .npy array (empty, truncated or '
        'another format).') from None


def load(path: str, stream: str, label: str, batched: bool = False,
         frame_size: Optional[int] = None,
         min_frames: Optional[int] = None) -> np.ndarray:
  """Opens a sample array and checks that the network can take it.

  Args:
    path: The `.npy` file.
    stream: 'rgb' or 'flow': the channels the array must have.
    label: What named the file (a flag, 'input'), for messages.
    batched: Require the original's batch of one, [1, T, H, W, C]; else
      [T, H, W, C] is accepted too.
    frame_size: If set, the frames must be `frame_size` square (the logits
      need 224).
    min_frames: If set, the fewest frames accepted.

  Returns:
    The array, memory-mapped and read-only, with its batch axis removed:
    float [T, H, W, C].

  Raises:
    SampleArrayError: If the file cannot be read or the array does not fit.
  """
  array = _open(path, label)
  channels = streams.CHANNELS[streams.check_stream(stream)]
  size = f'{frame_size}, {frame_size}' if frame_size else 'H, W'
  expected = (f'float [1, T, {size}, {channels}]' if batched else
              f'float [T, {size}, {channels}] or [1, T, {size}, {channels}]')
  has_batch = array.ndim == 5 and array.shape[0] == 1
  if ((batched and not has_batch) or (not has_batch and array.ndim != 4) or
      array.shape[-1] != channels or array.dtype.kind != 'f'):
    raise SampleArrayError(
        f'{label}: {path} holds a {array.dtype} array of shape {array.shape}; '
        f'expected {expected} in [-1, 1] ({stream}).')
  clip = array[0] if has_batch else array
  if frame_size and clip.shape[1:3] != (frame_size, frame_size):
    raise SampleArrayError(
        f'{label}: {path} has {clip.shape[1]}x{clip.shape[2]} frames; the '
        f'logits need {frame_size}x{frame_size} (preprocess the video with '
        'i3d-preprocess).')
  if min_frames and clip.shape[0] < min_frames:
    raise SampleArrayError(
        f'{label}: {path} has {clip.shape[0]} frames; the logits need at '
        f'least {min_frames} (preprocess a longer clip).')
  return clip
