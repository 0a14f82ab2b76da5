# Copyright 2026 The kinetics-i3d TF2 authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
"""FVD preprocessing: checked pixel values, the protocol's resize, scaling.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) feeds I3D (Carreira &
Zisserman, CVPR 2017) frames resized to the network's crop with TF1's
`resize_bilinear` and scaled to [-1, 1]; `protocols` says which resize.
"""

import math
from typing import Any, Tuple, Union

import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import streams
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.errors import too_few_frames

# The network's input side (224).
INPUT_SIZE = streams.CROP
# The reference's assertion on the network input.
INPUT_BOUND = 1.001
VALUE_RANGES = (255, 1)


def check_value_range(value_range: Any, name: str) -> int:
  """`value_range` as an int, 255 or 1.

  Raises:
    FVDError: For any other value, naming `name`.
  """
  try:
    value = int(value_range)
  except (TypeError, ValueError):
    value = None
  if value not in VALUE_RANGES or float(value_range) != value:
    raise FVDError(f'{name}: value_range must be 255 (values in [0, 255]) or '
                   f'1 (values in [0, 1]), got {value_range!r}.')
  return value


def check_values(frames: np.ndarray, value_range: int, name: str) -> None:
  """Refuses NaN or infinite values and values outside [0, value_range].

  The bound allows what the reference's input assertion allows: values that
  map into [-1.001, 1.001].

  Raises:
    FVDError: Naming `name`, the offending value and the remedy.
  """
  frames = np.asarray(frames)
  if frames.dtype == np.bool_ or not (np.issubdtype(frames.dtype, np.floating)
                                      or np.issubdtype(frames.dtype,
                                                       np.integer)):
    raise FVDError(f'{name}: expected uint8 or float pixel values, got dtype '
                   f'{frames.dtype}.')
  if frames.size == 0:
    raise FVDError(f'{name}: is empty (shape {frames.shape}).')
  if np.issubdtype(frames.dtype, np.floating) and not np.all(
      np.isfinite(frames)):
    raise FVDError(f'{name}: contains NaN or infinite values.')
  if frames.dtype == np.uint8 and value_range == 255:
    return
  low, high = float(frames.min()), float(frames.max())
  slack = (INPUT_BOUND - 1.) / 2. * value_range
  if low < -slack or high > value_range + slack:
    other = 1 if value_range == 255 else 255
    raise FVDError(
        f'{name}: values span [{low:g}, {high:g}], outside the declared '
        f'range [0, {value_range}] (value_range={value_range}); declare '
        f'value_range={other} if that is how they are stored, or rescale them.')


def _crop_shape(height: int, width: int) -> Tuple[int, int]:
  """Frame size with the shorter side INPUT_SIZE, the longer one rounded."""
  if height <= width:
    return INPUT_SIZE, max(INPUT_SIZE,
                           int(math.floor(width * INPUT_SIZE / height + 0.5)))
  return max(INPUT_SIZE, int(math.floor(height * INPUT_SIZE / width + 0.5))
            ), INPUT_SIZE


def resize_frames(
    frames: Union[np.ndarray, tf.Tensor],
    protocol: Union[str, protocols.Protocol] = 'reference') -> tf.Tensor:
  """Resizes frames to 224x224 as `protocol` says.

  Args:
    frames: [N, H, W, 3] frames, values in [0, 255] (any real dtype).
    protocol: A protocol name or `Protocol`.

  Returns:
    float32 [N, 224, 224, 3], values in [0, 255].
  """
  protocol = protocols.get_protocol(protocol)
  frames = tf.convert_to_tensor(frames)
  if frames.dtype != tf.uint8:
    frames = tf.cast(frames, tf.float32)
  height, width = int(frames.shape[1]), int(frames.shape[2])
  size = ((INPUT_SIZE, INPUT_SIZE) if protocol.resize == 'squash' else
          _crop_shape(height, width))
  if (height, width) != size:
    # TF1's ResizeBilinear kernel, which the reference's
    # `tf.image.resize_bilinear` (`tf.compat.v1.image.resize_bilinear`)
    # runs; called directly to skip its deprecation warning.
    # uint8 frames go in as they are: the kernel converts each tap to float32
    # exactly, so the result equals resizing their float32 copy, without
    # making that copy of the full-size frames.
    frames = tf.raw_ops.ResizeBilinear(
        images=frames, size=size, align_corners=False,
        half_pixel_centers=protocol.half_pixel_centers)
  frames = tf.cast(frames, tf.float32)
  if protocol.resize == 'crop':
    top = (size[0] - INPUT_SIZE) // 2
    left = (size[1] - INPUT_SIZE) // 2
    frames = frames[:, top:top + INPUT_SIZE, left:left + INPUT_SIZE, :]
  return frames


def _check_clip_shape(clip: np.ndarray, name: str) -> None:
  if clip.ndim != 4 or clip.shape[-1] != 3:
    raise FVDError(f'{name}: expected RGB frames [T, H, W, 3], got shape '
                   f'{tuple(clip.shape)}.')
  if clip.shape[0] < i3d.min_num_frames():
    raise too_few_frames(name, clip.shape[0])
  if clip.shape[1] < 1 or clip.shape[2] < 1:
    raise FVDError(f'{name}: frames of size {clip.shape[1]}x{clip.shape[2]}.')


def preprocess_clip(clip: np.ndarray,
                    protocol: Union[str, protocols.Protocol] = 'reference',
                    value_range: int = 255,
                    name: str = 'clip') -> np.ndarray:
  """One video as the network's input under `protocol`.

  Args:
    clip: [T, H, W, 3] frames, values in [0, value_range], T >= 9.
    protocol: A protocol name or `Protocol`.
    value_range: 255 or 1 (values in [0, 1] are multiplied by 255 first).
    name: The clip's name in error messages.

  Returns:
    float32 [T, 224, 224, 3], 2 * x / 255 - 1, within [-1.001, 1.001].

  Raises:
    FVDError: For a bad shape, too few frames, NaN or values out of range.
  """
  return preprocess_clip_tensor(clip, protocol, value_range, name).numpy()


def preprocess_clip_tensor(clip: np.ndarray,
                           protocol: Union[str, protocols.Protocol],
                           value_range: int, name: str) -> tf.Tensor:
  """`preprocess_clip` as a tensor, for a batch made without a copy.

  Every clip-sized array after the decoded frames is a tensor: TensorFlow's
  allocator keeps and reuses that memory, where a new numpy array of this
  size is fresh pages from the kernel every time (their faults cost a
  tenth of the model's time when made beside it, in `embed_set`'s thread).
  Arguments, result and errors are `preprocess_clip`'s.
  """
  value_range = check_value_range(value_range, name)
  clip = np.asarray(clip)
  _check_clip_shape(clip, name)
  check_values(clip, value_range, name)
  if clip.dtype == np.uint8 and value_range == 255:
    frames = tf.convert_to_tensor(clip)
  else:
    frames = tf.convert_to_tensor(np.asarray(clip, np.float32))
    if value_range == 1:
      frames = frames * 255.
  scaled = 2. * resize_frames(frames, protocol) / 255. - 1.  # The reference's.
  if (tf.reduce_min(scaled) < -INPUT_BOUND or
      tf.reduce_max(scaled) > INPUT_BOUND):
    raise FVDError(f'{name}: the model input leaves [-{INPUT_BOUND}, '
                   f'{INPUT_BOUND}] (the reference asserts it).')
  return scaled

