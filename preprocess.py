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

1. Decode with FFmpeg (PyAV): any container and codec FFmpeg reads. Frames are
   turned upright from the stream's display matrix (phone videos).
2. Resample to 25 fps by presentation timestamp (see "Resampling" below).
   Optionally keep only [start_time, end_time), as for Kinetics clips.
3. RGB: resize so the smaller side is 256 pixels (bilinear, aspect ratio
   kept; smaller frames are upsampled), crop 224x224 (centre for evaluation,
   random for training: the same crop for every frame), rescale to [-1, 1]
   as x / 255 * 2 - 1. float32 [1, T, 224, 224, 3].
4. Flow: the resized 256-pixel RGB frames to gray (cv2.COLOR_RGB2GRAY), TV-L1
   (`cv2.optflow.DualTVL1OpticalFlow_create()` defaults) from each frame to
   the next, in parallel over frame pairs; clip to [-20, 20], divide by 20,
   the same crop as RGB; keep both channels (x, y). float32 [1, T, 224, 224,
   2]. Optionally round-trip through the 8-bit storage the paper's pipeline
   used (`quantize_flow` / `dequantize_flow`).

Resampling: output frame k is shown at time t_k = start + k / 25 seconds
(start = 0 unless clipped), where time 0 is the first decoded frame's
presentation timestamp. It shows the latest source frame whose timestamp is
<= t_k: a source frame is on screen from its timestamp until the next one's,
and the last one for its own duration (the packet's, else the previous frame
interval, else 1 / the stream's frame rate). Output frames are produced while
t_k is before the end of that last frame (and before end_time), so a 10 fps
clip of 25 frames (2.5 s) gives ceil(2.5 * 25) = 63 frames at 25 fps, frames
repeated 3, 2, 3, 2, ... times; faster sources drop frames. Frames without a
timestamp (raw elementary streams) are placed one duration after the previous
one; timestamps that go backwards are clamped, so the later frame wins.
MediaPipe's resampler differs in two details: it takes the source frame
*nearest* to t_k rather than the latest one before it, and it stops at the
last frame's timestamp instead of the end of its duration (61 frames for the
clip above). Either way each output frame is within one source frame of the
other's choice; we keep the display semantics, which are exact for any frame
rate and never show a frame before its time.

Frame counts: T frames at 25 fps give T - 1 flow fields (flow[t] is the motion
from frame t to frame t + 1). When both streams are produced, the RGB stream
keeps its first T - 1 frames, so that rgb[t] and flow[t] describe the same
instant and both arrays have the same length, as in DeepMind's sample (79 RGB
frames, 79 flow fields, flow[t] from frame t to t + 1). RGB alone keeps all T
frames. The two-stream model adds the streams' logits, so equal lengths are a
convention, not a requirement. Flow needs at least 2 frames.

Library use: the steps are pure functions on arrays (`resize_smallest_side`,
`center_crop`, `random_crop`, `rgb_to_model_input`, `compute_tvl1_flow`,
`flow_to_model_input`, `quantize_flow`, `dequantize_flow`); file input is in
`iter_video_frames` / `decode_video` and `video_to_model_inputs`;
`iter_model_input_frames` streams a long video with bounded memory.

Command line, writing DeepMind's sample format (<name>_rgb.npy,
<name>_flow.npy) and the README's two GIFs:

  python preprocess.py --video=my_clip.mp4 --output_dir=/tmp/out
"""

import collections
import concurrent.futures
import dataclasses
import fractions
import math
import multiprocessing
import numbers
import os
import re
import sys
from typing import (Any, Deque, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple, Union)

from absl import app
from absl import flags
from absl import logging
import av
import cv2
import numpy as np
from PIL import Image
import tqdm

import atomic_files

Fraction = fractions.Fraction

FPS = 25.0
RESIZE = 256
CROP = 224
FLOW_BOUND = 20.0
STREAMS = ('rgb', 'flow')
# 8-bit flow storage: q = round((clip(v, -20, 20) + 20) * 255 / 40), read back
# as (q / 255 - 0.5) * 2 * 20; 256 levels, 40 / 255 = 0.157 apart.
FLOW_QUANT_STEP = 2 * FLOW_BOUND / 255
GIF_FRAME_MS = 40  # 25 fps.

# A crop: 'center', a numpy Generator (random crop), explicit (y, x) offsets
# of the top-left corner, or an int n meaning a centre crop of n x n.
Crop = Union[str, int, Tuple[int, int], np.random.Generator]

# Tolerance before a decoded stream counts as shorter than its header says.
_TRUNCATION_SLACK_S = 1.0
_TRUNCATION_SLACK_FRACTION = 0.1
# Progress bars appear only for work that lasts longer than this.
_PROGRESS_DELAY_S = 3.0


class PreprocessError(ValueError):
  """A video cannot be preprocessed; the message names the file."""


# ----------------------------------------------------------------------------
# Decoding and 25 fps resampling.
# ----------------------------------------------------------------------------


@dataclasses.dataclass
class _SourceFrame:
  index: int  # Decode order.
  pts: Fraction  # Seconds after the first decoded frame.
  duration: Optional[Fraction]  # Seconds, from the packet; None if unknown.
  frame: av.VideoFrame


def _to_fraction(seconds: Optional[float], name: str,
                 path: str) -> Optional[Fraction]:
  if seconds is None:
    return None
  seconds = float(seconds)
  if not math.isfinite(seconds) or seconds < 0:
    raise PreprocessError(
        f'{path}: {name} must be a finite number of seconds >= 0, got '
        f'{seconds}.')
  # repr() gives the shortest decimal, so 0.1 means exactly 1/10 seconds.
  return Fraction(repr(seconds))


def _check_times(path: str, fps: float, start_time: Optional[float],
                 end_time: Optional[float]
                 ) -> Tuple[Fraction, Fraction, Optional[Fraction]]:
  if not (isinstance(fps, numbers.Real) and math.isfinite(fps) and fps > 0):
    raise PreprocessError(f'{path}: fps must be positive, got {fps!r}.')
  start = _to_fraction(start_time, 'start_time', path) or Fraction(0)
  end = _to_fraction(end_time, 'end_time', path)
  if end is not None and end <= start:
    raise PreprocessError(
        f'{path}: end_time ({float(end)} s) must be after start_time '
        f'({float(start)} s).')
  return Fraction(repr(float(fps))), start, end


def _open_video(path: str) -> Tuple[av.container.InputContainer,
                                    av.video.stream.VideoStream]:
  """Opens `path` and returns it with its first video stream."""
  if not isinstance(path, (str, os.PathLike)):
    raise PreprocessError(f'{path!r}: a video path must be a string.')
  path = os.fspath(path)
  if not os.path.exists(path):
    raise PreprocessError(f'{path}: no such file.')
  if os.path.isdir(path):
    raise PreprocessError(f'{path}: is a directory, not a video file.')
  if os.path.getsize(path) == 0:
    raise PreprocessError(f'{path}: the file is empty (0 bytes).')
  try:
    container = av.open(path, metadata_errors='ignore')
  except av.error.FFmpegError as e:
    reason = getattr(e, 'strerror', None) or str(e)
    raise PreprocessError(
        f'{path}: FFmpeg cannot read it as a video ({reason}); the file is '
        'truncated, corrupt or not a video.') from None
  if not container.streams.video:
    kinds = sorted({s.type for s in container.streams}) or ['none']
    container.close()
    raise PreprocessError(
        f'{path}: has no video stream (streams: {", ".join(kinds)}).')
  stream = container.streams.video[0]
  stream.thread_type = 'AUTO'  # Frame and slice threads in the decoder.
  return container, stream


def check_video(path: str) -> None:
  """Checks that `path` is a readable video with a video stream.

  Cheap (opens the container, decodes nothing): lets callers refuse a bad
  file before loading models or creating output folders.

  Args:
    path: Video file.

  Raises:
    PreprocessError: If the file is missing, empty, a directory, not a video,
      or has no video stream.
  """
  container, _ = _open_video(path)
  container.close()


def _nominal_frame_duration(stream) -> Optional[Fraction]:
  for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
    if rate:
      return 1 / Fraction(rate)
  return None


def _declared_duration(stream) -> Optional[float]:
  """The video stream's duration in seconds according to the container."""
  if stream.duration and stream.time_base:
    return float(stream.duration * stream.time_base)
  # Matroska keeps per-track durations as a tag: 'HH:MM:SS.nnnnnnnnn'.
  tag = (stream.metadata or {}).get('DURATION')
  match = re.fullmatch(r'(\d+):(\d+):(\d+(?:\.\d*)?)', (tag or '').strip())
  if match:
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
  return None


def _iter_source_frames(path: str, container, stream) -> Iterator[_SourceFrame]:
  """Decoded frames with timestamps in seconds from the first frame.

  A packet the decoder rejects is skipped with a warning, as FFmpeg's own
  tools do; a stream that is cut short is caught by the duration check in
  `_iter_resampled`.
  """
  nominal = _nominal_frame_duration(stream)
  origin = None
  previous = None
  index = 0
  failures = 0
  first_failure = ''

  def decoded_frames() -> Iterator[av.VideoFrame]:
    nonlocal failures, first_failure
    packets = container.demux(stream)
    while True:
      try:
        packet = next(packets)
      except StopIteration:
        return
      except av.error.FFmpegError as e:  # Unreadable container data.
        failures += 1
        first_failure = first_failure or (getattr(e, 'strerror', None) or
                                          str(e))
        return
      try:
        frames = packet.decode()
      except av.error.FFmpegError as e:
        failures += 1
        first_failure = first_failure or (getattr(e, 'strerror', None) or
                                          str(e))
        continue
      yield from frames

  for frame in decoded_frames():
    time_base = frame.time_base or stream.time_base
    duration = None
    if frame.duration and time_base:
      duration = frame.duration * Fraction(time_base)
    if frame.pts is not None and time_base:
      pts = frame.pts * Fraction(time_base)
      if origin is None:
        origin = pts
      pts -= origin
    elif previous is None:
      pts = Fraction(0)
    else:
      # No timestamp (e.g. a raw .h264 stream): one frame after the last.
      pts = previous.pts + (previous.duration or nominal or 1 / Fraction(25))
    if origin is None:
      origin = Fraction(0)
    previous = _SourceFrame(index, pts, duration, frame)
    yield previous
    index += 1
  if failures and index == 0:
    raise PreprocessError(
        f'{path}: no decodable video frames ({failures} packets failed: '
        f'{first_failure}); the file is corrupt or truncated.')
  if failures:
    logging.warning('%s: skipped %d undecodable packets (%s).', path,
                    failures, first_failure)


def _frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
  rgb = frame.to_ndarray(format='rgb24')
  # The display matrix rotates counterclockwise by `rotation` degrees, as
  # FFmpeg's own players apply it.
  quarter_turns = int(round((frame.rotation or 0) / 90)) % 4
  if quarter_turns:
    rgb = np.ascontiguousarray(np.rot90(rgb, quarter_turns))
  rgb.flags.writeable = False
  return rgb


def _iter_resampled(path: str, fps: float = FPS,
                    start_time: Optional[float] = None,
                    end_time: Optional[float] = None
                    ) -> Iterator[Tuple[int, np.ndarray, float]]:
  """Yields (source frame index, RGB frame, timestamp) at `fps`.

  A source frame shown several times is the same read-only array each time,
  so that callers can process it once.
  """
  fps_q, start, end = _check_times(path, fps, start_time, end_time)
  period = 1 / fps_q
  container, stream = _open_video(path)
  with container:
    k = 0
    held = None
    converted = (-1, None)
    last_interval = None
    stopped = False

    def show(source: _SourceFrame):
      nonlocal converted
      if converted[0] != source.index:
        converted = (source.index, _frame_to_rgb(source.frame))
      return converted[1]

    for source in _iter_source_frames(path, container, stream):
      if held is not None:
        source.pts = max(source.pts, held.pts)
        if source.pts > held.pts:
          last_interval = source.pts - held.pts
        # `held` is on screen for output times in [held.pts, source.pts).
        while True:
          t = start + k * period
          if end is not None and t >= end:
            stopped = True
            break
          if t >= source.pts:
            break
          yield held.index, show(held), float(t)
          k += 1
        if stopped:
          break
      held = source
    if held is None:
      raise PreprocessError(f'{path}: no decodable video frames.')
    if stopped:
      return
    duration = (held.duration or last_interval or
                _nominal_frame_duration(stream) or period)
    stream_end = held.pts + duration
    declared = _declared_duration(stream)
    if declared is not None and declared - float(stream_end) > max(
        _TRUNCATION_SLACK_S, _TRUNCATION_SLACK_FRACTION * declared):
      raise PreprocessError(
          f'{path}: only {float(stream_end):.2f} s of video could be decoded '
          f'but the file declares {declared:.2f} s; it is truncated or '
          'corrupt.')
    if start >= stream_end:
      raise PreprocessError(
          f'{path}: start_time {float(start):g} s is at or past the end of '
          f'the video ({float(stream_end):.3f} s).')
    while True:
      t = start + k * period
      if t >= stream_end or (end is not None and t >= end):
        break
      yield held.index, show(held), float(t)
      k += 1


def _estimate_num_frames(path: str, fps: float, start_time: Optional[float],
                         end_time: Optional[float]) -> Optional[int]:
  """Output frames expected from the container's header (progress bars)."""
  try:
    with av.open(path, metadata_errors='ignore') as container:
      if not container.streams.video:
        return None
      duration = _declared_duration(container.streams.video[0])
  except (av.error.FFmpegError, OSError):
    return None
  if duration is None:
    return None
  if end_time is not None:
    duration = min(duration, end_time)
  return max(0, math.ceil((duration - (start_time or 0.0)) * fps))


def iter_video_frames(path: str, fps: float = FPS,
                      start_time: Optional[float] = None,
                      end_time: Optional[float] = None
                      ) -> Iterator[Tuple[np.ndarray, float]]:
  """Decodes a video and streams its frames resampled to `fps`.

  Memory stays bounded whatever the video's length: one source frame is held
  at a time. See the module docstring for the exact resampling rule. The file
  is decoded from its start (no seeking, so timestamps stay exact); frames
  before start_time are decoded but not converted, and decoding stops at
  end_time.

  Args:
    path: A video file in any container and codec FFmpeg reads.
    fps: Output frame rate (the paper: 25).
    start_time: Seconds from the first frame where output starts (Kinetics
      clip start); None for 0.
    end_time: Seconds from the first frame where output stops (exclusive);
      None for the end of the video.

  Yields:
    (frame, timestamp): uint8 [H, W, 3] RGB frames, read-only (a source frame
    repeated to fill the rate is the same array object each time), and their
    times in seconds, start_time + k / fps.

  Raises:
    PreprocessError: For a missing, empty, truncated, corrupt or non-video
      file, a file without a video stream or decodable frames, a start time at
      or past the end of the video, or bad times.
  """
  for _, frame, timestamp in _iter_resampled(path, fps, start_time, end_time):
    yield frame, timestamp


def decode_video(path: str, fps: float = FPS,
                 start_time: Optional[float] = None,
                 end_time: Optional[float] = None
                 ) -> Tuple[np.ndarray, np.ndarray]:
  """Decodes a whole video (or a clip of it) at `fps`.

  Args:
    path: A video file in any container and codec FFmpeg reads.
    fps: Output frame rate (the paper: 25).
    start_time: Clip start in seconds from the first frame; None for 0.
    end_time: Clip end in seconds (exclusive); None for the end of the video.

  Returns:
    frames: uint8 [T, H, W, 3] RGB.
    timestamps: float64 [T] seconds, start_time + k / fps.

  Raises:
    PreprocessError: As `iter_video_frames`.
  """
  frames, timestamps = [], []
  for frame, timestamp in iter_video_frames(path, fps, start_time, end_time):
    frames.append(frame)
    timestamps.append(timestamp)
  return np.stack(frames), np.asarray(timestamps, np.float64)


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
# TV-L1 optical flow.
# ----------------------------------------------------------------------------

_worker_tvl1 = None


def _init_tvl1_worker() -> None:
  global _worker_tvl1
  # One pair per process already fills the cores; OpenCV's own threads would
  # only oversubscribe them.
  cv2.setNumThreads(1)
  _worker_tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()


def _tvl1_in_worker(pair: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
  return _worker_tvl1.calc(pair[0], pair[1], None)


def default_num_workers() -> int:
  """CPUs this process may run on (its affinity mask), at least 1."""
  try:
    return max(1, len(os.sched_getaffinity(0)))
  except AttributeError:
    return max(1, os.cpu_count() or 1)


def _as_gray(frame: np.ndarray) -> np.ndarray:
  frame = np.asarray(frame)
  if frame.dtype != np.uint8:
    raise ValueError(f'Flow frames must be uint8, got {frame.dtype}.')
  if frame.ndim == 3 and frame.shape[-1] == 3:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
  if frame.ndim == 3 and frame.shape[-1] == 1:
    return np.ascontiguousarray(frame[..., 0])
  if frame.ndim != 2:
    raise ValueError(
        f'Flow frames must be gray [H, W] or RGB [H, W, 3], got '
        f'{frame.shape}.')
  return np.ascontiguousarray(frame)


def iter_tvl1_flow(frames: Iterable[np.ndarray],
                   num_workers: Optional[int] = None) -> Iterator[np.ndarray]:
  """Streams TV-L1 flow between consecutive frames, in order.

  OpenCV's `DualTVL1OpticalFlow` with its default parameters (as Google's
  released MediaPipe graph uses) from frame t to frame t + 1. Pairs run in
  `num_workers` processes (each with its own TV-L1 object: they cannot be
  pickled); at most 2 * num_workers pairs are in flight, so memory stays
  bounded and `frames` may be a lazy generator. Two identical frames give
  exactly zero flow without running TV-L1 (which also returns exactly zero
  for them), which matters for low frame-rate sources whose frames repeat.

  Args:
    frames: uint8 frames, gray [H, W] (or RGB [H, W, 3], converted with
      cv2.COLOR_RGB2GRAY), all the same size.
    num_workers: Processes; None for every CPU this process may use; 1 runs
      in this process.

  Yields:
    float32 [H, W, 2] flow (x, y) in pixels: frame_t(p) ~ frame_t+1(p + flow).
  """
  workers = default_num_workers() if num_workers is None else int(num_workers)
  if workers < 1:
    raise ValueError(f'num_workers must be >= 1, got {num_workers}.')
  iterator = iter(frames)
  first = next(iterator, None)
  if first is None:
    return
  previous = _as_gray(first)
  tvl1 = None
  executor = None
  # Each entry: a finished flow, or (frame pair, future) for a running one.
  pending: Deque[Any] = collections.deque()

  def in_process(pair: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    nonlocal tvl1
    if tvl1 is None:
      tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    return tvl1.calc(pair[0], pair[1], None)

  def result(item) -> np.ndarray:
    nonlocal workers
    if isinstance(item, np.ndarray):
      return item
    pair, future = item
    try:
      return future.result()
    except concurrent.futures.process.BrokenProcessPool:
      # E.g. a main script the workers cannot import (python - < file).
      if workers > 1:
        logging.warning('TV-L1 worker processes failed; computing the flow '
                        'in this process instead.')
        workers = 1
      return in_process(pair)

  try:
    for frame in iterator:
      current = _as_gray(frame)
      if current.shape != previous.shape:
        raise ValueError(
            f'Flow frames must all have one size: {previous.shape} then '
            f'{current.shape}.')
      if np.array_equal(previous, current):
        pending.append(np.zeros(current.shape + (2,), np.float32))
      elif workers == 1:
        pending.append(in_process((previous, current)))
      else:
        if executor is None:
          # forkserver: forking a process whose OpenCV thread pool is running
          # can deadlock, and spawn would re-import the caller's main script
          # (TensorFlow and all) in every worker.
          executor = concurrent.futures.ProcessPoolExecutor(
              max_workers=workers,
              mp_context=multiprocessing.get_context('forkserver'),
              initializer=_init_tvl1_worker)
        pair = (previous, current)
        pending.append((pair, executor.submit(_tvl1_in_worker, pair)))
      previous = current
      while len(pending) > 2 * workers or (
          pending and isinstance(pending[0], np.ndarray)):
        yield result(pending.popleft())
    while pending:
      yield result(pending.popleft())
  finally:
    if executor is not None:
      executor.shutdown(wait=True, cancel_futures=True)


def compute_tvl1_flow(frames: np.ndarray, num_workers: Optional[int] = None,
                      progress: bool = False) -> np.ndarray:
  """TV-L1 optical flow between consecutive frames.

  Args:
    frames: uint8 gray [T, H, W] (or RGB [T, H, W, 3], converted with
      cv2.COLOR_RGB2GRAY), T >= 2. The paper's pipeline uses frames whose
      smaller side is 256.
    num_workers: Processes; None for every CPU this process may use.
    progress: Whether to show a progress bar (after a few seconds).

  Returns:
    float32 [T - 1, H, W, 2]: flow[t] from frame t to frame t + 1, (x, y)
    displacement in pixels, unclipped.

  Raises:
    ValueError: For fewer than 2 frames or a wrong shape or dtype.
  """
  frames = np.asarray(frames)
  if frames.ndim not in (3, 4) or len(frames) < 2:
    raise ValueError(
        f'compute_tvl1_flow needs uint8 [T, H, W] frames with T >= 2, got '
        f'shape {frames.shape}.')
  flows = iter_tvl1_flow(frames, num_workers)
  with tqdm.tqdm(flows, total=len(frames) - 1, desc='TV-L1 flow',
                 unit='pair', disable=not progress,
                 delay=_PROGRESS_DELAY_S) as bar:
    return np.stack(list(bar)).astype(np.float32, copy=False)


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
  """
  quantized = np.asarray(quantized)
  if quantized.dtype != np.uint8:
    raise ValueError(f'quantized flow must be uint8, got {quantized.dtype}.')
  return ((quantized.astype(np.float64) / 255 - 0.5) * 2 *
          FLOW_BOUND).astype(np.float32)


# ----------------------------------------------------------------------------
# Video file -> model inputs.
# ----------------------------------------------------------------------------


def _check_streams(streams: Sequence[str]) -> Tuple[str, ...]:
  if isinstance(streams, str):
    streams = (streams,)
  streams = tuple(streams)
  if not streams or any(s not in STREAMS for s in streams) or len(
      set(streams)) != len(streams):
    raise ValueError(
        f'streams must be a non-empty subset of {STREAMS}, got {streams}.')
  return streams


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
    progress: bool = False) -> Iterator[Dict[str, np.ndarray]]:
  """Streams a video's model inputs one time step at a time.

  Memory does not grow with the video's length: frames are decoded, resized
  and cropped as they come, and TV-L1 runs on a bounded window of pairs.

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
    num_workers: TV-L1 processes; None for every CPU this process may use.
    progress: Whether to show a progress bar (after a few seconds).

  Yields:
    {stream: frame}: 'rgb' float32 [crop_size, crop_size, 3] in [-1, 1],
    'flow' float32 [crop_size, crop_size, 2] in [-1, 1]. With flow, step t
    holds RGB frame t and the flow from frame t to t + 1, so T frames give
    T - 1 steps; RGB alone gives T steps.

  Raises:
    PreprocessError: As `iter_video_frames`, and when flow is requested from
      fewer than 2 frames.
  """
  streams = _check_streams(streams)
  if isinstance(crop, (int, np.integer)) and not isinstance(crop, bool):
    crop, crop_size = 'center', int(crop)
  state: Dict[str, Any] = {'offsets': None, 'frames': 0}
  resized_cache = [-1, None]

  def resized_frames() -> Iterator[np.ndarray]:
    for index, frame, _ in _iter_resampled(path, fps, start_time, end_time):
      if resized_cache[0] != index:
        resized = resize_smallest_side(frame, resize)
        shape = state.setdefault('shape', resized.shape)
        if resized.shape != shape:
          # The stream changed resolution midway: keep the first frame's
          # size so that crops and flow pairs stay aligned.
          resized = cv2.resize(frame, (shape[1], shape[0]),
                               interpolation=cv2.INTER_LINEAR)
        resized_cache[:] = [index, resized]
      resized = resized_cache[1]
      if state['offsets'] is None:
        try:
          state['offsets'] = crop_offsets(*resized.shape[:2], crop_size, crop)
        except ValueError as e:
          raise PreprocessError(f'{path}: {e}') from None
      state['frames'] += 1
      yield resized

  def rgb_input(resized: np.ndarray) -> np.ndarray:
    return scale_rgb(_crop_at(resized, crop_size, state['offsets']))

  total = None
  if progress:
    total = _estimate_num_frames(path, fps, start_time, end_time)
    if total is not None and 'flow' in streams:
      total = max(0, total - 1)
  bar = tqdm.tqdm(total=total, unit='frame', disable=not progress,
                  delay=_PROGRESS_DELAY_S,
                  desc='TV-L1 flow' if 'flow' in streams else 'Decoding')
  with bar:
    if 'flow' not in streams:
      for resized in resized_frames():
        bar.update()
        yield {'rgb': rgb_input(resized)}
      return
    waiting_rgb: Deque[np.ndarray] = collections.deque()
    gray_cache = [-1, None]

    def gray_frames() -> Iterator[np.ndarray]:
      for resized in resized_frames():
        if 'rgb' in streams:
          waiting_rgb.append(rgb_input(resized))
        # Repeated source frames are the same array: convert them once.
        if gray_cache[0] is not resized:
          gray_cache[:] = [resized, cv2.cvtColor(resized, cv2.COLOR_RGB2GRAY)]
        yield gray_cache[1]

    num_flows = 0
    for flow in iter_tvl1_flow(gray_frames(), num_workers):
      if quantize:
        flow = dequantize_flow(quantize_flow(flow))
      step = {'flow': flow_to_model_input(
          flow[None], state['offsets'], crop_size)[0]}
      if 'rgb' in streams:
        step['rgb'] = waiting_rgb.popleft()
      num_flows += 1
      bar.update()
      yield step
    if num_flows == 0:
      raise PreprocessError(
          f'{path}: optical flow needs at least 2 frames at {fps:g} fps, the '
          f'video (or clip) gives {state["frames"]}.')


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
    progress: bool = False) -> Dict[str, np.ndarray]:
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
    num_workers: TV-L1 processes; None for every CPU this process may use.
    progress: Whether to show a progress bar (after a few seconds).

  Returns:
    {'rgb': float32 [1, T, 224, 224, 3], 'flow': float32 [1, T, 224, 224, 2]}
    for the requested streams, values in [-1, 1]. From N frames at 25 fps:
    T = N - 1 when flow is requested (for both streams), T = N for RGB alone.

  Raises:
    PreprocessError: As `iter_model_input_frames`.
  """
  streams = _check_streams(streams)
  steps: Dict[str, List[np.ndarray]] = {s: [] for s in streams}
  for step in iter_model_input_frames(
      path, streams, fps, start_time, end_time, crop, resize, crop_size,
      quantize, num_workers, progress):
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


# ----------------------------------------------------------------------------
# Command line.
# ----------------------------------------------------------------------------

def _define_flags() -> None:
  # Defined only when run as a script, so that modules importing this one
  # (evaluate_sample.py has its own --video) can define flags of these names.
  flags.DEFINE_string(
      'video', None, 'Video file to preprocess (any container/codec FFmpeg '
      'reads).')
  flags.DEFINE_string(
      'output_dir', None, 'Folder for <name>_rgb.npy, <name>_flow.npy and the '
      'GIFs; created if missing.')
  flags.DEFINE_string(
      'name', None, 'Output file prefix; default: the video file name '
      'without its extension.')
  flags.DEFINE_list(
      'streams', list(STREAMS), 'Streams to write: rgb, flow or rgb,flow. '
      'With flow, both streams get T - 1 frames from T frames at 25 fps.')
  flags.DEFINE_float(
      'start_time', None, 'Clip start in seconds from the first frame (as '
      'Kinetics clips); default: 0.')
  flags.DEFINE_float(
      'end_time', None, 'Clip end in seconds (exclusive); default: the end '
      'of the video.')
  flags.DEFINE_enum(
      'crop', 'center', ['center', 'random'], 'center: evaluation crop; '
      'random: one training crop for the whole clip (see --seed).')
  flags.DEFINE_integer(
      'seed', None, 'Seed of the random crop; default: fresh entropy.')
  flags.DEFINE_bool(
      'quantize_flow', False, 'Round the flow to 8 bits over [-20, 20] and '
      'back before scaling, as the paper\'s pipeline stored it.')
  flags.DEFINE_bool(
      'gifs', True, 'Also write <name>_rgb.gif and <name>_flow.gif (the '
      'original README\'s visualisations).')
  flags.DEFINE_integer(
      'num_workers', None, 'Processes for TV-L1; default: every CPU '
      'available.', lower_bound=1)
  flags.DEFINE_bool('overwrite', False, 'Replace existing output files.')


def output_paths(output_dir: str, name: str, streams: Sequence[str],
                 gifs: bool) -> Dict[str, str]:
  """{'<stream>_npy' | '<stream>_gif': path} of the CLI's outputs."""
  paths = {}
  for stream in streams:
    paths[f'{stream}_npy'] = os.path.join(output_dir, f'{name}_{stream}.npy')
    if gifs:
      paths[f'{stream}_gif'] = os.path.join(output_dir, f'{name}_{stream}.gif')
  return paths


def preprocess_to_files(video: str, output_dir: str, name: Optional[str] = None,
                        streams: Sequence[str] = STREAMS,
                        start_time: Optional[float] = None,
                        end_time: Optional[float] = None,
                        crop: Crop = 'center', quantize: bool = False,
                        gifs: bool = True, num_workers: Optional[int] = None,
                        overwrite: bool = False,
                        progress: bool = False) -> Dict[str, str]:
  """The CLI's work: preprocess `video` and write its files all-or-nothing.

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
    num_workers: TV-L1 processes; None for every CPU available.
    overwrite: Whether existing outputs may be replaced.
    progress: Whether to show progress bars.

  Returns:
    {'<stream>_npy' | '<stream>_gif': written path}.

  Raises:
    PreprocessError: For a bad video, bad arguments, outputs that exist
      without `overwrite`, or an output folder that cannot be written.
  """
  streams = _check_streams(streams)
  if name is None:
    name = os.path.splitext(os.path.basename(os.fspath(video)))[0]
  if not name or os.sep in name or (os.altsep and os.altsep in name):
    raise PreprocessError(f'--name must be a plain file prefix, got {name!r}.')
  paths = output_paths(output_dir, name, streams, gifs)
  existing = [p for p in paths.values() if os.path.exists(p)]
  if existing and not overwrite:
    raise PreprocessError(
        f'{existing[0]} already exists; pass --overwrite to replace it.')
  # A file that is not a video must not leave a new, empty folder behind.
  check_video(video)
  try:
    os.makedirs(output_dir, exist_ok=True)
  except OSError as e:
    raise PreprocessError(
        f'{output_dir}: cannot create the output folder '
        f'({e.strerror or e}).') from None
  if not os.access(output_dir, os.W_OK | os.X_OK):
    raise PreprocessError(f'{output_dir}: the output folder is not writable.')
  inputs = video_to_model_inputs(
      video, streams, start_time=start_time, end_time=end_time, crop=crop,
      quantize=quantize, num_workers=num_workers, progress=progress)
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
        f'{e.filename or output_dir}: cannot write the output '
        f'({e.strerror or e}).') from None
  return paths


def main(argv: Sequence[str]) -> None:
  # Every error is one line on stderr (no usage dump, no traceback).
  if len(argv) > 1:
    raise SystemExit(
        f'preprocess.py: error: unexpected arguments {" ".join(argv[1:])}; '
        'write flags as --name=value.')
  args = flags.FLAGS
  if not args.video or not args.output_dir:
    raise SystemExit('preprocess.py: error: --video and --output_dir are '
                     'required.')
  crop = 'center'
  if args.crop == 'random':
    crop = np.random.default_rng(args.seed)
  try:
    streams = _check_streams([s.strip() for s in args.streams])
  except ValueError as e:
    raise SystemExit(f'preprocess.py: error: --streams: {e}') from None
  try:
    paths = preprocess_to_files(
        args.video, args.output_dir, args.name, streams, args.start_time,
        args.end_time, crop, args.quantize_flow, args.gifs, args.num_workers,
        args.overwrite, progress=sys.stderr.isatty())
  except (ValueError, OSError) as e:  # PreprocessError is a ValueError.
    raise SystemExit(f'preprocess.py: error: {e}') from None
  for key, path in paths.items():
    if key.endswith('_npy'):
      array = np.load(path, mmap_mode='r')
      print(f'Wrote {path}: {array.dtype} {tuple(array.shape)}')
    else:
      print(f'Wrote {path}')


if __name__ == '__main__':
  _define_flags()
  app.run(main)
