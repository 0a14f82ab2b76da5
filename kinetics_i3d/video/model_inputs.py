"""A video file -> I3D's RGB and flow inputs, streamed one time step at a time.

The recipe of Carreira & Zisserman, "Quo Vadis, Action Recognition? A New
Model and the Kinetics Dataset" (CVPR 2017, https://arxiv.org/abs/1705.07750)
as DeepMind's README states it and Google's MediaPipe pipeline implements it:
decode at 25 fps (`decode`), resize the smaller side to 256 and crop 224
(`rgb`), TV-L1 from each grey frame to the next (`flow.backends`, on
`gray.to_gray` of the resized frames), bounded and scaled (`flow_input`).

Frame counts: T frames give T - 1 flow fields (flow[t] is the motion from
frame t to frame t + 1). When both streams are produced, the RGB stream keeps
its first T - 1 frames, so that rgb[t] and flow[t] describe the same instant,
as in DeepMind's sample (79 RGB frames, 79 flow fields). RGB alone keeps all
T frames. Flow needs at least 2 frames.
"""

import collections
from typing import Any, Deque, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from kinetics_i3d import streams as streams_lib
from kinetics_i3d.flow import backends
from kinetics_i3d.utils import progress as progress_lib
from kinetics_i3d.video import decode
from kinetics_i3d.video import flow_input
from kinetics_i3d.video import gray
from kinetics_i3d.video import rgb

STREAMS = streams_lib.STREAMS


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
               crop: rgb.Crop):
    self.path = path
    self._times = (fps, start_time, end_time)
    self._resize = resize
    self._crop_size = crop_size
    self._crop = crop
    self._shape = None
    self.offsets = None
    self.count = 0

  def _resized(self, frame: np.ndarray) -> np.ndarray:
    resized = rgb.resize_smallest_side(frame, self._resize)
    if self._shape is None:
      self._shape = resized.shape
      try:
        self.offsets = rgb.crop_offsets(*resized.shape[:2], self._crop_size,
                                        self._crop)
      except ValueError as e:
        raise decode.PreprocessError(f'{self.path}: {e}') from None
    elif resized.shape != self._shape:
      resized = cv2.resize(frame, (self._shape[1], self._shape[0]),
                           interpolation=cv2.INTER_LINEAR)
    return resized

  def __iter__(self) -> Iterator[np.ndarray]:
    source, resized = None, None
    for frame, _ in decode.iter_video_frames(self.path, *self._times):
      if frame is not source:  # Repeats are the same array: resize once.
        source, resized = frame, self._resized(frame)
      self.count += 1
      yield resized

  def rgb_input(self, resized: np.ndarray) -> np.ndarray:
    """The RGB stream's input of one resized frame: cropped, in [-1, 1]."""
    return rgb.scale_rgb(rgb.crop_at(resized, self._crop_size, self.offsets))


def _flow_steps(frames: _ResizedFrames, with_rgb: bool, crop_size: int,
                quantize: bool, backend: str, num_workers: Optional[int],
                batch_size: Optional[int]) -> Iterator[Dict[str, np.ndarray]]:
  """Steps {'flow'[, 'rgb']}: flow from frame t to t + 1, with RGB frame t."""
  waiting_rgb: Deque[np.ndarray] = collections.deque()

  def gray_frames() -> Iterator[np.ndarray]:
    resized, grey = None, None
    for frame in frames:
      if with_rgb:
        waiting_rgb.append(frames.rgb_input(frame))
      if frame is not resized:  # Repeated frames: convert once.
        resized, grey = frame, gray.to_gray(frame)
      yield grey

  num_flows = 0
  for flow in backends.iter_flow(gray_frames(), backend, num_workers,
                                 batch_size):
    if quantize:
      flow = flow_input.dequantize_flow(flow_input.quantize_flow(flow))
    step = {'flow': flow_input.flow_to_model_input(
        flow[None], frames.offsets, crop_size)[0]}
    if with_rgb:
      step['rgb'] = waiting_rgb.popleft()
    num_flows += 1
    yield step
  if num_flows == 0:
    raise decode.PreprocessError(
        f'{frames.path}: optical flow needs at least 2 frames, the video (or '
        f'clip) gives {frames.count}.')


def _steps(frames: _ResizedFrames, streams: Tuple[str, ...], crop_size: int,
           quantize: bool, backend: Optional[str], num_workers: Optional[int],
           batch_size: Optional[int]
          ) -> Tuple[str, Iterator[Dict[str, np.ndarray]]]:
  """(what the progress reports say, the steps) of `iter_model_input_frames`."""
  if backend is None:
    return (f'Decoding {frames.path}',
            ({'rgb': frames.rgb_input(frame)} for frame in frames))
  return (f'TV-L1 flow ({backend}) of {frames.path}',
          _flow_steps(frames, streams_lib.RGB in streams, crop_size, quantize,
                      backend, num_workers, batch_size))


def _expected_steps(path: str, fps: float, start_time: Optional[float],
                    end_time: Optional[float], with_flow: bool
                    ) -> Optional[int]:
  """Steps to expect from the header (for progress); None if unknown."""
  total = decode.estimate_num_frames(path, fps, start_time, end_time)
  if total is not None and with_flow:
    total = max(0, total - 1)
  return total


def iter_model_input_frames(
    path: str,
    streams: Sequence[str] = STREAMS,
    fps: float = streams_lib.FPS,
    start_time: Optional[float] = None,
    end_time: Optional[float] = None,
    crop: rgb.Crop = 'center',
    resize: int = streams_lib.RESIZE,
    crop_size: int = streams_lib.CROP,
    quantize: bool = False,
    num_workers: Optional[int] = None,
    progress: bool = False,
    flow_backend: Optional[str] = None,
    flow_batch_size: Optional[int] = None) -> Iterator[Dict[str, np.ndarray]]:
  """Streams a video's model inputs one time step at a time.

  Memory does not grow with the video's length: frames are processed as they
  come, and TV-L1 runs on a bounded window of pairs. Long work is logged.

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
    quantize: Round the flow through the paper's 8-bit storage first.
    num_workers: OpenCV TV-L1 processes; None for every CPU available.
    progress: Whether to show a progress bar (after a few seconds).
    flow_backend: A member of `backends.BACKENDS`; None for the default.
    flow_batch_size: Frame pairs per call of the 'tf' backend; None: default.

  Yields:
    {stream: frame}, float32 [crop_size, crop_size, C] in [-1, 1]. With flow,
    step t holds RGB frame t and the flow from frame t to t + 1, so T frames
    give T - 1 steps; RGB alone gives T steps.

  Raises:
    PreprocessError: As `decode.iter_video_frames`, and when flow is requested
      from fewer than 2 frames.
    ValueError: For bad streams, crop or flow backend.
  """
  streams = check_streams(streams)
  with_flow = streams_lib.FLOW in streams
  backend = backends.resolve(flow_backend) if with_flow else None
  if isinstance(crop, (int, np.integer)) and not isinstance(crop, bool):
    crop, crop_size = 'center', int(crop)
  frames = _ResizedFrames(path, fps, start_time, end_time, resize, crop_size,
                          crop)
  desc, steps = _steps(frames, streams, crop_size, quantize, backend,
                       num_workers, flow_batch_size)
  total = _expected_steps(path, fps, start_time, end_time, with_flow)
  with progress_lib.Progress(desc, total, 'frame', bar=progress) as report:
    for step in steps:
      report.update()
      yield step


def video_to_model_inputs(path: str, streams: Sequence[str] = STREAMS,
                          **options: Any) -> Dict[str, np.ndarray]:
  """A video file -> I3D inputs in the format of DeepMind's sample.

  Args:
    path: A video file in any container and codec FFmpeg reads.
    streams: 'rgb' and/or 'flow'.
    **options: The keyword arguments of `iter_model_input_frames` (fps,
      start_time, end_time, crop, resize, crop_size, quantize, num_workers,
      progress, flow_backend, flow_batch_size), which makes the frames.

  Returns:
    {'rgb': float32 [1, T, 224, 224, 3], 'flow': float32 [1, T, 224, 224, 2]}
    for the requested streams, values in [-1, 1]. From N frames at 25 fps:
    T = N - 1 when flow is requested (for both streams), T = N for RGB alone.

  Raises:
    PreprocessError: As `iter_model_input_frames`.
    TypeError: For a keyword it does not take.
  """
  streams = check_streams(streams)
  steps: Dict[str, List[np.ndarray]] = {s: [] for s in streams}
  for step in iter_model_input_frames(path, streams, **options):
    for stream in streams:
      steps[stream].append(step[stream])
  return {s: np.stack(frames)[None] for s, frames in steps.items()}
