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
r"""Decoding any video file into RGB frames at 25 fps, as I3D's inputs need.

The model is the Inflated 3D ConvNet of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

whose checkpoints were trained on frames sampled at 25 fps (`streams.FPS`).
Decoding uses FFmpeg through PyAV: any container and codec FFmpeg reads.
Frames are turned upright from the stream's display matrix (phone videos).
Optionally only [start_time, end_time) is kept, as for Kinetics clips.

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
MediaPipe's resampler (Google's released pipeline) differs in two details: it
takes the source frame *nearest* to t_k rather than the latest one before it,
and it stops at the last frame's timestamp instead of the end of its duration
(61 frames for the clip above). Either way each output frame is within one
source frame of the other's choice; we keep the display semantics, which are
exact for any frame rate and never show a frame before its time.

Damaged files: a file FFmpeg cannot open, without a video stream or without
a decodable frame is an error naming the file. A file whose decodable video
ends well before the duration its stream declares is an error too (it is
truncated); one that ends well before the frame count its header declares
(AVI and MP4 headers count frames) decodes with a warning naming the file and
both counts.
"""

import dataclasses
import fractions
import math
import numbers
from typing import Iterator, Optional, Tuple

from absl import logging
import av
import numpy as np

from kinetics_i3d import streams
from kinetics_i3d.utils import progress as progress_lib
from kinetics_i3d.video import containers

Fraction = fractions.Fraction

# Opening files and reading their headers (`containers`), from here as the
# tools have always imported them.
PreprocessError = containers.PreprocessError
check_video = containers.check_video
source_fps = containers.source_fps
estimate_num_frames = containers.estimate_num_frames


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


def check_clip_times(path: str, start_time: Optional[float],
                     end_time: Optional[float]) -> None:
  """Raises PreprocessError for clip times no video could have.

  Checked before the video is opened; a start past the video's end is
  found while decoding.
  """
  _check_times(path, 1.0, start_time, end_time)


@dataclasses.dataclass
class _PacketFailures:
  count: int = 0
  first: str = ''

  def add(self, error: av.error.FFmpegError) -> None:
    self.count += 1
    self.first = self.first or containers.ffmpeg_reason(error)


def _decoded_frames(container, stream,
                    failures: _PacketFailures) -> Iterator[av.VideoFrame]:
  """The stream's frames; packets that fail are counted in `failures`."""
  packets = container.demux(stream)
  while True:
    try:
      packet = next(packets)
    except StopIteration:
      return
    except av.error.FFmpegError as e:  # Unreadable container data.
      failures.add(e)
      return
    try:
      frames = packet.decode()
    except av.error.FFmpegError as e:
      failures.add(e)
      continue
    yield from frames


def _iter_source_frames(path: str, container, stream) -> Iterator[_SourceFrame]:
  """Decoded frames with timestamps in seconds from the first frame.

  A packet the decoder rejects is skipped with a warning, as FFmpeg's own
  tools do; a stream that is cut short is caught by
  `containers.check_complete`.
  """
  nominal = containers.nominal_frame_duration(stream)
  origin = None
  previous = None
  index = 0
  failures = _PacketFailures()
  for frame in _decoded_frames(container, stream, failures):
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
      pts = previous.pts + (previous.duration or nominal or 1 / Fraction(streams.FPS))
    if origin is None:
      origin = Fraction(0)
    previous = _SourceFrame(index, pts, duration, frame)
    yield previous
    index += 1
  if failures.count and index == 0:
    raise PreprocessError(
        f'{path}: no decodable video frames ({failures.count} packets '
        f'failed: {failures.first}); the file is corrupt or truncated.')
  if failures.count:
    logging.warning('%s: skipped %d undecodable packets (%s).', path,
                    failures.count, failures.first)


def _frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
  rgb = frame.to_ndarray(format='rgb24')
  # The display matrix rotates counterclockwise by `rotation` degrees, as
  # FFmpeg's own players apply it.
  quarter_turns = int(round((frame.rotation or 0) / 90)) % 4
  if quarter_turns:
    rgb = np.ascontiguousarray(np.rot90(rgb, quarter_turns))
  rgb.flags.writeable = False
  return rgb


def _iter_resampled(path: str, fps: float, start_time: Optional[float],
                    end_time: Optional[float]
                    ) -> Iterator[Tuple[np.ndarray, float]]:
  """Yields (RGB frame, timestamp) at `fps`; see `iter_video_frames`."""
  fps_q, start, end = _check_times(path, fps, start_time, end_time)
  period = 1 / fps_q
  container, stream = containers.open_video(path)
  with container:
    k = 0
    held = None
    converted = (-1, None)
    last_interval = None
    stopped = False

    def show(source: _SourceFrame) -> np.ndarray:
      # A source frame shown several times is converted once: the same
      # read-only array each time.
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
          yield show(held), float(t)
          k += 1
        if stopped:
          break
      held = source
    if held is None:
      raise PreprocessError(f'{path}: no decodable video frames.')
    if stopped:
      return
    duration = (held.duration or last_interval or
                containers.nominal_frame_duration(stream) or period)
    stream_end = held.pts + duration
    containers.check_complete(path, stream, held.index + 1, stream_end)
    if start >= stream_end:
      raise PreprocessError(
          f'{path}: start_time {float(start):g} s is at or past the end of '
          f'the video ({float(stream_end):.3f} s).')
    while True:
      t = start + k * period
      if t >= stream_end or (end is not None and t >= end):
        break
      yield show(held), float(t)
      k += 1


def iter_video_frames(path: str, fps: float = streams.FPS,
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
    repeated to fill the rate is the same array object each time, so callers
    can process it once), and their times in seconds, start_time + k / fps.

  Raises:
    PreprocessError: For a missing, empty, truncated, corrupt or non-video
      file, a file without a video stream or decodable frames, a start time at
      or past the end of the video, or bad times.
  """
  yield from _iter_resampled(path, fps, start_time, end_time)


def decode_video(path: str, fps: float = streams.FPS,
                 start_time: Optional[float] = None,
                 end_time: Optional[float] = None,
                 progress: bool = False) -> Tuple[np.ndarray, np.ndarray]:
  """Decodes a whole video (or a clip of it) at `fps`.

  Args:
    path: A video file in any container and codec FFmpeg reads.
    fps: Output frame rate (the paper: 25).
    start_time: Clip start in seconds from the first frame; None for 0.
    end_time: Clip end in seconds (exclusive); None for the end of the video.
    progress: Whether to show a progress bar (after a few seconds). Long
      decodes are reported in the logs either way.

  Returns:
    frames: uint8 [T, H, W, 3] RGB.
    timestamps: float64 [T] seconds, start_time + k / fps.

  Raises:
    PreprocessError: As `iter_video_frames`.
  """
  frames, timestamps = [], []
  total = estimate_num_frames(path, fps, start_time, end_time)
  with progress_lib.Progress(f'Decoding {path}', total, 'frame',
                             bar=progress) as report:
    for frame, timestamp in iter_video_frames(path, fps, start_time,
                                              end_time):
      frames.append(frame)
      timestamps.append(timestamp)
      report.update()
  return np.stack(frames), np.asarray(timestamps, np.float64)
