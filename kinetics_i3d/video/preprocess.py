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
r"""From a video file to I3D's RGB and optical-flow inputs, as in the paper.

The model is the Inflated 3D ConvNet of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

DeepMind's kinetics-i3d README states the recipe; Google later released the
pipeline itself in MediaPipe (TV-L1 flow with OpenCV's default parameters on
RGB->gray frames, frame t to t+1; flow stored as 8-bit over [-20, 20]). Steps:

1. Decode and resample to 25 fps (`kinetics_i3d.video.decode`).
2. RGB: resize so the smaller side is 256 pixels (bilinear, aspect ratio
   kept; smaller frames are upsampled), crop 224x224 (centre for evaluation,
   random for training: the same crop for every frame), rescale to [-1, 1]
   as x / 255 * 2 - 1. float32 [1, T, 224, 224, 3].
3. Flow: the resized 256-pixel RGB frames to gray (cv2.COLOR_RGB2GRAY), TV-L1
   from each frame to the next (`kinetics_i3d.flow.backends`: OpenCV's
   DualTVL1 at its defaults, or the same in TensorFlow); clip to [-20, 20],
   divide by 20, the same crop as RGB; keep both channels (x, y). float32
   [1, T, 224, 224, 2]. Optionally round-trip through the 8-bit storage the
   paper's pipeline used (`quantize_flow` / `dequantize_flow`).

The sizes and bounds are `kinetics_i3d.streams`' (RESIZE, CROP, FLOW_BOUND,
FPS).

Frame counts: T frames at 25 fps give T - 1 flow fields (flow[t] is the motion
from frame t to frame t + 1). When both streams are produced, the RGB stream
keeps its first T - 1 frames, so that rgb[t] and flow[t] describe the same
instant and both arrays have the same length, as in DeepMind's sample (79 RGB
frames, 79 flow fields, flow[t] from frame t to t + 1). RGB alone keeps all T
frames. The two-stream model adds the streams' logits, so equal lengths are a
convention, not a requirement. Flow needs at least 2 frames.

Library use: the steps are pure functions on arrays (`resize_smallest_side`,
`center_crop`, `random_crop`, `rgb_to_model_input`, `flow_to_model_input`,
`quantize_flow`, `dequantize_flow`); `video_to_model_inputs` goes from a file
to arrays, `iter_model_input_frames` streams a long video with bounded memory
and `preprocess_to_files` writes DeepMind's sample format (<name>_rgb.npy,
<name>_flow.npy) and the README's two GIFs, as the `i3d-preprocess` tool
(`python -m kinetics_i3d.preprocess`) does.
"""

import collections
import math
import os
from typing import (Deque, Dict, Iterator, List, Optional, Sequence, Tuple,
                    Union)

from absl import logging
import cv2
import numpy as np
from PIL import Image

import i3d
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.flow import backends
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.utils import progress as progress_lib
from kinetics_i3d.video import decode

STREAMS = streams_lib.STREAMS
FPS = streams_lib.FPS
RESIZE = streams_lib.RESIZE
CROP = streams_lib.CROP
FLOW_BOUND = streams_lib.FLOW_BOUND
# 8-bit flow storage: q = round((clip(v, -20, 20) + 20) * 255 / 40), read back
# as (q / 255 - 0.5) * 2 * 20; 256 levels, 40 / 255 = 0.157 apart.
FLOW_QUANT_STEP = 2 * FLOW_BOUND / 255
GIF_FRAME_MS = 40  # 25 fps.

# A crop: 'center', a numpy Generator (random crop), explicit (y, x) offsets
# of the top-left corner, or an int n meaning a centre crop of n x n.
Crop = Union[str, int, Tuple[int, int], np.random.Generator]

# Raised by this module too: a video that cannot be decoded or preprocessed.
PreprocessError = decode.PreprocessError


# ----------------------------------------------------------------------------
# RGB: resize, crop, rescale.
# ----------------------------------------------------------------------------


def _resized_shape(height: int, width: int, size: int) -> Tuple[int, int]:
  if height <= width:
    return size, max(size, int(math.floor(width * size / height + 0.5)))
  return max(size, int(math.floor(height * size / width + 0.5))), size


def resize_smallest_side(frames: np.ndarray, size: int = RESIZE) -> np.ndarray:
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


def crop_offsets(height: int, width: int, size: int = CROP,
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
      raise ValueError(
          f"crop must be 'center', a numpy Generator or (y, x), got {crop!r}.")
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
  raise ValueError(
      f"crop must be 'center', a numpy Generator or (y, x), got {crop!r}.")


def _crop_at(x: np.ndarray, size: int, offsets: Tuple[int, int]) -> np.ndarray:
  y0, x0 = offsets
  return x[..., y0:y0 + size, x0:x0 + size, :]


def center_crop(x: np.ndarray, size: int = CROP) -> np.ndarray:
  """The central `size` x `size` window of every frame.

  Args:
    x: [..., H, W, C] frames (RGB, gray with C = 1, or flow with C = 2).
    size: Crop side.

  Returns:
    [..., size, size, C], a view of `x`; offsets (H - size) // 2 and
    (W - size) // 2.
  """
  x = np.asarray(x)
  return _crop_at(x, size, crop_offsets(*x.shape[-3:-1], size, 'center'))


def random_crop(x: np.ndarray, size: int = CROP,
                rng: Optional[np.random.Generator] = None) -> np.ndarray:
  """A uniformly random `size` x `size` window, the same for every frame.

  Args:
    x: [..., H, W, C] frames.
    size: Crop side.
    rng: Source of the offsets; a fresh `np.random.default_rng()` if None.

  Returns:
    [..., size, size, C], a view of `x`.
  """
  x = np.asarray(x)
  rng = np.random.default_rng() if rng is None else rng
  return _crop_at(x, size, crop_offsets(*x.shape[-3:-1], size, rng))


def scale_rgb(frames: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1]: x / 255 * 2 - 1 (0 -> -1, 255 -> 1)."""
  return np.asarray(frames, np.float32) / np.float32(255) * np.float32(
      2) - np.float32(1)


def rgb_to_model_input(frames: np.ndarray, crop: Crop = 'center',
                       resize: int = RESIZE,
                       crop_size: int = CROP) -> np.ndarray:
  """RGB frames at any resolution -> the RGB stream's input.

  Args:
    frames: uint8 [T, H, W, 3] RGB at any resolution.
    crop: 'center' (evaluation), a `np.random.Generator` (training: one random
      crop for the whole clip), or (y, x) offsets in the resized frames.
    resize: Smaller side after the bilinear resize.
    crop_size: Crop side.

  Returns:
    float32 [T, crop_size, crop_size, 3] in [-1, 1].

  Raises:
    ValueError: For frames that are not uint8 [T, H, W, 3] or a bad crop.
  """
  frames = np.asarray(frames)
  if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
    raise ValueError(
        f'frames must be uint8 [T, H, W, 3], got {frames.dtype} '
        f'{frames.shape}.')
  resized = resize_smallest_side(frames, resize)
  offsets = crop_offsets(*resized.shape[1:3], crop_size, crop)
  return scale_rgb(_crop_at(resized, crop_size, offsets))


def rgb_to_gray(frames: np.ndarray) -> np.ndarray:
  """uint8 [..., H, W, 3] RGB -> uint8 [..., H, W] (cv2.COLOR_RGB2GRAY)."""
  frames = np.asarray(frames)
  if frames.ndim == 3:
    return cv2.cvtColor(frames, cv2.COLOR_RGB2GRAY)
  out = np.empty(frames.shape[:-1], np.uint8)
  for i, frame in enumerate(frames.reshape((-1,) + frames.shape[-3:])):
    out.reshape((-1,) + out.shape[-2:])[i] = cv2.cvtColor(
        frame, cv2.COLOR_RGB2GRAY)
  return out


# ----------------------------------------------------------------------------
# Flow: bound, scale, 8-bit storage.
# ----------------------------------------------------------------------------


def flow_to_model_input(flow: np.ndarray, crop: Crop = 'center',
                        crop_size: int = CROP) -> np.ndarray:
  """Flow at the resized resolution -> the flow stream's input.

  Args:
    flow: float [T, H, W, 2] pixels, computed on frames whose smaller side is
      256 (no resize here: flow vectors are in those frames' pixels).
    crop: As `rgb_to_model_input`; use the same as the RGB stream.
    crop_size: Crop side.

  Returns:
    float32 [T, crop_size, crop_size, 2]: clip(flow, -20, 20) / 20, in
    [-1, 1].

  Raises:
    ValueError: For another shape or a bad crop.
  """
  flow = np.asarray(flow)
  if flow.ndim != 4 or flow.shape[-1] != 2:
    raise ValueError(f'flow must be [T, H, W, 2], got shape {flow.shape}.')
  offsets = crop_offsets(*flow.shape[1:3], crop_size, crop)
  cropped = _crop_at(flow, crop_size, offsets).astype(np.float32)
  return np.clip(cropped, -FLOW_BOUND, FLOW_BOUND) / np.float32(FLOW_BOUND)


def quantize_flow(flow: np.ndarray) -> np.ndarray:
  """Flow in pixels -> uint8, 256 levels over [-20, 20] (the paper's storage).

  q = round((clip(v, -20, 20) + 20) * 255 / 40), rounding half to even: -20
  -> 0, 20 -> 255, 0 -> 128 (127.5 rounded). Google's released pipeline then
  stored q as quality-100 JPEG; that compression is not simulated here.

  Args:
    flow: float flow in pixels, any shape.

  Returns:
    uint8 array of the same shape.
  """
  flow = np.clip(np.asarray(flow, np.float64), -FLOW_BOUND, FLOW_BOUND)
  return np.rint((flow + FLOW_BOUND) * (255 / (2 * FLOW_BOUND))).astype(
      np.uint8)


def dequantize_flow(quantized: np.ndarray) -> np.ndarray:
  """uint8 levels -> float32 pixels: (q / 255 - 0.5) * 2 * 20.

  For flow within [-20, 20], dequantize_flow(quantize_flow(v)) is within half
  a level, 20 / 255 = 0.078 pixels, of v.

  Args:
    quantized: uint8 array from `quantize_flow`.

  Returns:
    float32 array of the same shape in [-20, 20].

  Raises:
    ValueError: For another dtype than uint8.
  """
  quantized = np.asarray(quantized)
  if quantized.dtype != np.uint8:
    raise ValueError(f'quantized flow must be uint8, got {quantized.dtype}.')
  return ((quantized.astype(np.float64) / 255 - 0.5) * 2 *
          FLOW_BOUND).astype(np.float32)


# ----------------------------------------------------------------------------
# Video file -> model inputs.
# ----------------------------------------------------------------------------


def check_streams(streams: Sequence[str]) -> Tuple[str, ...]:
  """`streams` as a tuple if it is a non-empty subset of ('rgb', 'flow').

  Args:
    streams: Stream names (or one name).

  Returns:
    The names, in the given order.

  Raises:
    ValueError: For an empty, unknown or repeated name.
  """
  if isinstance(streams, str):
    streams = (streams,)
  streams = tuple(streams)
  if not streams or any(s not in STREAMS for s in streams) or len(
      set(streams)) != len(streams):
    raise ValueError(
        f'streams must be a non-empty subset of {STREAMS}, got {streams}.')
  return streams


class _ResizedFrames:
  """A video's frames at 25 fps, resized once per source frame.

  Iterating yields uint8 [H', W', 3] frames whose smaller side is `resize`; a
  source frame repeated to fill the rate is the same array each time. The
  first frame fixes the size (a stream that changes resolution midway is
  resized to it, so crops and flow pairs stay aligned) and the crop offsets.
  """

  def __init__(self, path: str, fps: float, start_time: Optional[float],
               end_time: Optional[float], resize: int, crop_size: int,
               crop: Crop):
    self._path = path
    self._times = (fps, start_time, end_time)
    self._resize = resize
    self._crop_size = crop_size
    self._crop = crop
    self._shape = None
    self.offsets = None
    self.count = 0

  def _resized(self, frame: np.ndarray) -> np.ndarray:
    resized = resize_smallest_side(frame, self._resize)
    if self._shape is None:
      self._shape = resized.shape
      try:
        self.offsets = crop_offsets(*resized.shape[:2], self._crop_size,
                                    self._crop)
      except ValueError as e:
        raise PreprocessError(f'{self._path}: {e}') from None
    elif resized.shape != self._shape:
      resized = cv2.resize(frame, (self._shape[1], self._shape[0]),
                           interpolation=cv2.INTER_LINEAR)
    return resized

  def __iter__(self) -> Iterator[np.ndarray]:
    source, resized = None, None
    for frame, _ in decode.iter_video_frames(self._path, *self._times):
      if frame is not source:  # Repeats are the same array: resize once.
        source, resized = frame, self._resized(frame)
      self.count += 1
      yield resized

  def rgb_input(self, resized: np.ndarray) -> np.ndarray:
    """The RGB stream's input of one resized frame: cropped, in [-1, 1]."""
    return scale_rgb(_crop_at(resized, self._crop_size, self.offsets))


def _flow_steps(frames: _ResizedFrames, streams: Tuple[str, ...],
                crop_size: int, quantize: bool, backend: str,
                num_workers: Optional[int], batch_size: Optional[int],
                what: str) -> Iterator[Dict[str, np.ndarray]]:
  """Steps {'flow'[, 'rgb']}: flow from frame t to t + 1, with RGB frame t."""
  waiting_rgb: Deque[np.ndarray] = collections.deque()

  def gray_frames() -> Iterator[np.ndarray]:
    resized, gray = None, None
    for frame in frames:
      if 'rgb' in streams:
        waiting_rgb.append(frames.rgb_input(frame))
      if frame is not resized:  # Repeated frames: convert once.
        resized, gray = frame, cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
      yield gray

  num_flows = 0
  for flow in backends.iter_flow(gray_frames(), backend, num_workers,
                                 batch_size):
    if quantize:
      flow = dequantize_flow(quantize_flow(flow))
    step = {'flow': flow_to_model_input(flow[None], frames.offsets,
                                        crop_size)[0]}
    if 'rgb' in streams:
      step['rgb'] = waiting_rgb.popleft()
    num_flows += 1
    yield step
  if num_flows == 0:
    raise PreprocessError(
        f'{what}: optical flow needs at least 2 frames, the video (or clip) '
        f'gives {frames.count}.')


def iter_model_input_frames(
    path: str,
    streams: Sequence[str] = STREAMS,
    fps: float = FPS,
    start_time: Optional[float] = None,
    end_time: Optional[float] = None,
    crop: Crop = 'center',
    resize: int = RESIZE,
    crop_size: int = CROP,
    quantize: bool = False,
    num_workers: Optional[int] = None,
    progress: bool = False,
    flow_backend: Optional[str] = None,
    flow_batch_size: Optional[int] = None) -> Iterator[Dict[str, np.ndarray]]:
  """Streams a video's model inputs one time step at a time.

  Memory does not grow with the video's length: frames are decoded, resized
  and cropped as they come, and TV-L1 runs on a bounded window of pairs.
  Work that lasts more than a few seconds is reported in the logs.

  Args:
    path: A video file in any container and codec FFmpeg reads.
    streams: 'rgb' and/or 'flow'.
    fps: Output frame rate (the paper: 25).
    start_time: Clip start in seconds; None for 0.
    end_time: Clip end in seconds (exclusive); None for the whole video.
    crop: 'center', a `np.random.Generator` (one random crop for the whole
      video, shared by both streams), (y, x) offsets, or an int n for a
      centre crop of n x n (overrides crop_size).
    resize: Smaller side after resizing (the paper: 256).
    crop_size: Crop side (the paper: 224).
    quantize: Round the flow to the paper's 8-bit storage and back before
      scaling (`quantize_flow`).
    num_workers: OpenCV TV-L1 processes; None for every CPU available.
    progress: Whether to show a progress bar (after a few seconds).
    flow_backend: A member of `backends.BACKENDS`; None for
      `backends.default_backend()`.
    flow_batch_size: Frame pairs per call of the 'tf' backend; None for its
      default.

  Yields:
    {stream: frame}: 'rgb' float32 [crop_size, crop_size, 3] in [-1, 1],
    'flow' float32 [crop_size, crop_size, 2] in [-1, 1]. With flow, step t
    holds RGB frame t and the flow from frame t to t + 1, so T frames give
    T - 1 steps; RGB alone gives T steps.

  Raises:
    PreprocessError: As `decode.iter_video_frames`, and when flow is requested
      from fewer than 2 frames.
    ValueError: For bad streams, crop or flow backend.
  """
  streams = check_streams(streams)
  with_flow = 'flow' in streams
  backend = backends.resolve(flow_backend) if with_flow else None
  if isinstance(crop, (int, np.integer)) and not isinstance(crop, bool):
    crop, crop_size = 'center', int(crop)
  frames = _ResizedFrames(path, fps, start_time, end_time, resize, crop_size,
                          crop)
  total = decode.estimate_num_frames(path, fps, start_time, end_time)
  if total is not None and with_flow:
    total = max(0, total - 1)
  if with_flow:
    desc = f'TV-L1 flow ({backend}) of {path}'
    steps = _flow_steps(frames, streams, crop_size, quantize, backend,
                        num_workers, flow_batch_size, path)
  else:
    desc = f'Decoding {path}'
    steps = ({'rgb': frames.rgb_input(frame)} for frame in frames)
  with progress_lib.Progress(desc, total, 'frame', bar=progress) as report:
    for step in steps:
      report.update()
      yield step


def video_to_model_inputs(
    path: str,
    streams: Sequence[str] = STREAMS,
    fps: float = FPS,
    start_time: Optional[float] = None,
    end_time: Optional[float] = None,
    crop: Crop = 'center',
    resize: int = RESIZE,
    crop_size: int = CROP,
    quantize: bool = False,
    num_workers: Optional[int] = None,
    progress: bool = False,
    flow_backend: Optional[str] = None,
    flow_batch_size: Optional[int] = None) -> Dict[str, np.ndarray]:
  """A video file -> I3D inputs in the format of DeepMind's sample.

  Args:
    path: A video file in any container and codec FFmpeg reads.
    streams: 'rgb' and/or 'flow'.
    fps: Output frame rate (the paper: 25).
    start_time: Clip start in seconds; None for 0.
    end_time: Clip end in seconds (exclusive); None for the whole video.
    crop: As `iter_model_input_frames`.
    resize: Smaller side after resizing (the paper: 256).
    crop_size: Crop side (the paper: 224).
    quantize: Round the flow to the paper's 8-bit storage and back.
    num_workers: OpenCV TV-L1 processes; None for every CPU available.
    progress: Whether to show a progress bar (after a few seconds).
    flow_backend: As `iter_model_input_frames`.
    flow_batch_size: As `iter_model_input_frames`.

  Returns:
    {'rgb': float32 [1, T, 224, 224, 3], 'flow': float32 [1, T, 224, 224, 2]}
    for the requested streams, values in [-1, 1]. From N frames at 25 fps:
    T = N - 1 when flow is requested (for both streams), T = N for RGB alone.

  Raises:
    PreprocessError: As `iter_model_input_frames`.
  """
  streams = check_streams(streams)
  steps: Dict[str, List[np.ndarray]] = {s: [] for s in streams}
  for step in iter_model_input_frames(
      path, streams, fps, start_time, end_time, crop, resize, crop_size,
      quantize, num_workers, progress, flow_backend, flow_batch_size):
    for stream in streams:
      steps[stream].append(step[stream])
  return {s: np.stack(frames)[None] for s, frames in steps.items()}


# ----------------------------------------------------------------------------
# Output files: .npy and GIFs, written atomically.
# ----------------------------------------------------------------------------


def save_npy_atomic(array: np.ndarray, path: str) -> None:
  """Writes `array` to `path` in .npy format, never leaving a partial file.

  Args:
    array: Any numpy array without Python objects.
    path: Destination; its folder must exist.
  """
  atomic_files.save_npy(path, array)


def _write_npy(array: np.ndarray, path: str) -> None:
  with open(path, 'wb') as f:
    np.save(f, np.asarray(array), allow_pickle=False)


def _write_gif(frames: np.ndarray, path: str) -> None:
  """uint8 [T, H, W, 3] -> animated GIF at 25 fps, looping."""
  images = [Image.fromarray(frame) for frame in frames]
  # GIF delays are in 10 ms units, so 40 ms per frame is exactly 25 fps.
  # Pillow merges identical consecutive frames, adding their delays.
  images[0].save(path, format='GIF', save_all=True, append_images=images[1:],
                 duration=GIF_FRAME_MS, loop=0)


def _unbatch(x: np.ndarray, channels: int, name: str) -> np.ndarray:
  x = np.asarray(x, np.float32)
  if x.ndim == 5 and x.shape[0] == 1:
    x = x[0]
  if x.ndim != 4 or x.shape[-1] != channels or not len(x):
    raise ValueError(
        f'{name} must be [T, H, W, {channels}] or [1, T, H, W, {channels}] '
        f'with T >= 1, got shape {x.shape}.')
  return x


def rgb_gif_frames(rgb: np.ndarray) -> np.ndarray:
  """RGB input in [-1, 1] -> uint8 GIF frames: (x + 1) / 2 clipped to [0, 1]."""
  rgb = _unbatch(rgb, 3, 'rgb')
  return np.rint(np.clip((rgb + 1) / 2, 0, 1) * 255).astype(np.uint8)


def flow_gif_frames(flow: np.ndarray) -> np.ndarray:
  """Flow input in [-1, 1] -> uint8 GIF frames.

  As the original README: a third channel of zeros, then + 0.5, clipped to
  [0, 1] (so zero flow is mid-gray with no blue).

  Args:
    flow: float [T, H, W, 2] or [1, T, H, W, 2].

  Returns:
    uint8 [T, H, W, 3].
  """
  flow = _unbatch(flow, 2, 'flow')
  rgb = np.concatenate([flow, np.zeros_like(flow[..., :1])], axis=-1) + 0.5
  return np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def write_rgb_gif(rgb: np.ndarray, path: str) -> None:
  """Writes the README's RGB visualisation, 25 fps, atomically.

  Args:
    rgb: float [T, 224, 224, 3] or [1, T, 224, 224, 3] in [-1, 1].
    path: Destination .gif.
  """
  frames = rgb_gif_frames(rgb)
  with atomic_files.staged([path]) as staged:
    _write_gif(frames, staged[path])


def write_flow_gif(flow: np.ndarray, path: str) -> None:
  """Writes the README's flow visualisation, 25 fps, atomically.

  Args:
    flow: float [T, 224, 224, 2] or [1, T, 224, 224, 2] in [-1, 1].
    path: Destination .gif.
  """
  frames = flow_gif_frames(flow)
  with atomic_files.staged([path]) as staged:
    _write_gif(frames, staged[path])


def output_paths(output_dir: str, name: str, streams: Sequence[str],
                 gifs: bool) -> Dict[str, str]:
  """{'<stream>_npy' | '<stream>_gif': path} of `preprocess_to_files`."""
  paths = {}
  for stream in streams:
    paths[f'{stream}_npy'] = os.path.join(output_dir, f'{name}_{stream}.npy')
    if gifs:
      paths[f'{stream}_gif'] = os.path.join(output_dir, f'{name}_{stream}.gif')
  return paths


def _make_output_dir(output_dir: str) -> None:
  try:
    os.makedirs(output_dir, exist_ok=True)
  except OSError as e:
    raise PreprocessError(
        f'{output_dir}: cannot create the output folder '
        f'({e.strerror or e}).') from None
  if not os.access(output_dir, os.W_OK | os.X_OK):
    raise PreprocessError(f'{output_dir}: the output folder is not writable.')


def _warn_if_too_short(inputs: Dict[str, np.ndarray], video: str) -> None:
  """Warns when the clip is shorter than I3D's logits can take."""
  num_frames = next(iter(inputs.values())).shape[1]
  if num_frames < i3d.min_num_frames():
    logging.warning(
        '%s: the clip has %d frames; I3D\'s logits need at least %d (take a '
        'longer clip: a later --end_time or an earlier --start_time).', video,
        num_frames, i3d.min_num_frames())


def preprocess_to_files(video: str, output_dir: str, name: Optional[str] = None,
                        streams: Sequence[str] = STREAMS,
                        start_time: Optional[float] = None,
                        end_time: Optional[float] = None,
                        crop: Crop = 'center', quantize: bool = False,
                        gifs: bool = True, num_workers: Optional[int] = None,
                        overwrite: bool = False,
                        progress: bool = False,
                        flow_backend: Optional[str] = None) -> Dict[str, str]:
  """Preprocesses `video` and writes its files all-or-nothing.

  Args:
    video: Input video file.
    output_dir: Output folder, created if missing.
    name: File prefix; None for the video's base name without extension.
    streams: 'rgb' and/or 'flow'.
    start_time: Clip start in seconds; None for 0.
    end_time: Clip end in seconds (exclusive); None for the end.
    crop: As `video_to_model_inputs`.
    quantize: Round the flow through 8 bits.
    gifs: Whether to write the GIFs too.
    num_workers: OpenCV TV-L1 processes; None for every CPU available.
    overwrite: Whether existing outputs may be replaced.
    progress: Whether to show progress bars (long work is logged anyway).
    flow_backend: A member of `backends.BACKENDS`; None for
      `backends.default_backend()`.

  Returns:
    {'<stream>_npy' | '<stream>_gif': written path}.

  Raises:
    PreprocessError: For a bad video, bad arguments, outputs that exist
      without `overwrite`, or an output folder that cannot be written.
    ValueError: For bad streams or flow backend.
  """
  streams = check_streams(streams)
  backend = backends.resolve(flow_backend) if 'flow' in streams else None
  if name is None:
    name = os.path.splitext(os.path.basename(os.fspath(video)))[0]
  if not name or os.sep in name or (os.altsep and os.altsep in name):
    raise PreprocessError(f'--name must be a plain file prefix, got {name!r}.')
  paths = output_paths(output_dir, name, streams, gifs)
  existing = [p for p in paths.values() if os.path.exists(p)]
  if existing and not overwrite:
    raise PreprocessError(
        f'{existing[0]} already exists; pass --overwrite to replace it.')
  decode.check_clip_times(video, start_time, end_time)
  problem = atomic_files.write_problem(output_dir, folder=True)
  if problem:
    raise PreprocessError(f'--output_dir={output_dir}: {problem}.')
  decode.check_video(video)
  flow_note = ''
  if backend is not None:
    flow = backends.identity(backend)
    flow_note = f'; flow: {flow["name"]} ({backend}, {flow["params"]})'
  logging.info('Preprocessing %s: streams %s%s.', video, ','.join(streams),
               flow_note)
  inputs = video_to_model_inputs(
      video, streams, start_time=start_time, end_time=end_time, crop=crop,
      quantize=quantize, num_workers=num_workers, progress=progress,
      flow_backend=backend)
  _warn_if_too_short(inputs, video)
  # Made only now: a run that fails (not a video, a start past the end)
  # leaves no new, empty folder behind.
  _make_output_dir(output_dir)
  try:
    with atomic_files.staged(list(paths.values())) as staged:
      for stream in streams:
        _write_npy(inputs[stream], staged[paths[f'{stream}_npy']])
      if gifs and 'rgb' in streams:
        _write_gif(rgb_gif_frames(inputs['rgb']), staged[paths['rgb_gif']])
      if gifs and 'flow' in streams:
        _write_gif(flow_gif_frames(inputs['flow']), staged[paths['flow_gif']])
  except OSError as e:
    raise PreprocessError(
        f'--output_dir={output_dir}: cannot write the output '
        f'({e.strerror or e}).') from None
  return paths
