"""Opening video files and reading what their headers declare.

I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017) takes frames at 25 fps; `decode` resamples
any file to that rate through FFmpeg (PyAV). This module opens the file,
refusing what is not a readable video with a message naming it, and reads
the container's declared frame rate, duration and frame count: for progress
estimates, and to tell a truncated file (decoded video well short of its
declared duration: an error; of its frame count: a warning) from a whole one.
"""

import fractions
import math
import os
import re
from typing import Optional, Tuple

from absl import logging
import av

from kinetics_i3d import streams
from kinetics_i3d.utils import errors

Fraction = fractions.Fraction

# Tolerance before a decoded stream counts as shorter than its header says.
_TRUNCATION_SLACK_S = 1.0
_TRUNCATION_SLACK_FRACTION = 0.1
# The same for a header's frame count (only warned about).
_MISSING_FRAMES_SLACK = 2


class PreprocessError(ValueError):
  """A video cannot be decoded or preprocessed; the message names the file."""


def ffmpeg_reason(error: av.error.FFmpegError) -> str:
  """FFmpeg's own words for `error` (its strerror), else its first line."""
  return getattr(error, 'strerror', None) or errors.first_line(error)


def open_video(path: str) -> Tuple[av.container.InputContainer,
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
    raise PreprocessError(
        f'{path}: FFmpeg cannot read it as a video ({ffmpeg_reason(e)}); the '
        'file is truncated, corrupt or not a video.') from None
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
  container, _ = open_video(path)
  container.close()


def source_fps(path: str) -> Optional[float]:
  """The frame rate a file declares; None if it declares none or is unreadable.

  Args:
    path: Video file.

  Returns:
    The video stream's average frame rate in frames per second, or None.
  """
  try:
    with av.open(path, metadata_errors='ignore') as container:
      rate = container.streams.video[0].average_rate
      return float(rate) if rate else None
  except (av.error.FFmpegError, OSError, IndexError):
    return None  # Decoding reports the problem.


def nominal_frame_duration(stream) -> Optional[Fraction]:
  """1 / the stream's declared frame rate in seconds; None if it has none."""
  for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
    if rate:
      return 1 / Fraction(rate)
  return None


def declared_duration(stream) -> Optional[float]:
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


def check_complete(path: str, stream, num_decoded: int,
                   stream_end: Fraction) -> None:
  """Refuses a stream cut short of its duration; warns if short of its count.

  Args:
    path: The file, for messages.
    stream: Its video stream.
    num_decoded: Frames decoded.
    stream_end: Seconds from the first frame to the end of the last one.

  Raises:
    PreprocessError: If the stream's declared duration is well past the end
      of the decoded frames.
  """
  declared = declared_duration(stream)
  if declared is not None and declared - float(stream_end) > max(
      _TRUNCATION_SLACK_S, _TRUNCATION_SLACK_FRACTION * declared):
    raise PreprocessError(
        f'{path}: only {float(stream_end):.2f} s of video could be decoded '
        f'but the file declares {declared:.2f} s; it is truncated or '
        'corrupt.')
  # A truncated AVI keeps its header: the frame count survives where the
  # duration FFmpeg reports comes from the packets that remain.
  declared_frames = int(stream.frames or 0)
  decoded_frames = num_decoded
  if declared_frames - decoded_frames > max(
      _MISSING_FRAMES_SLACK, _TRUNCATION_SLACK_FRACTION * declared_frames):
    nominal = nominal_frame_duration(stream)
    seconds = (f' ({float(declared_frames * nominal):.2f} s)'
               if nominal else '')
    logging.warning(
        '%s: decoding ended after %d frames (%.2f s) but the file declares '
        '%d frames%s; it is probably truncated or corrupt, and only the '
        'decoded part is used.', path, decoded_frames, float(stream_end),
        declared_frames, seconds)


def estimate_num_frames(path: str, fps: float = streams.FPS,
                        start_time: Optional[float] = None,
                        end_time: Optional[float] = None) -> Optional[int]:
  """Output frames to expect from the container's header (for progress).

  Args:
    path: Video file.
    fps: Output frame rate.
    start_time: Clip start in seconds; None for 0.
    end_time: Clip end in seconds; None for the end of the video.

  Returns:
    The expected number of frames at `fps`, or None if the header declares
    no duration (or the file cannot be read).
  """
  try:
    with av.open(path, metadata_errors='ignore') as container:
      if not container.streams.video:
        return None
      duration = declared_duration(container.streams.video[0])
  except (av.error.FFmpegError, OSError):
    return None
  if duration is None:
    return None
  if end_time is not None:
    duration = min(duration, end_time)
  return max(0, math.ceil((duration - (start_time or 0.0)) * fps))
