"""Exact I3D logits of a video file of any length, preprocessed as it is read.

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750: frames at
25 fps, the smaller side resized to 256 and centre-cropped to 224, TV-L1
flow. The steps `preprocess.iter_model_input_frames` yields go to
`chunked.StreamingLogits` as they come, so memory does not grow with the
video's length; the logits equal the whole-clip pass (see `chunked`).
"""

import contextlib
import itertools
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np
import tqdm

import i3d
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.inference import chunked
from kinetics_i3d.video import decode
from kinetics_i3d.video import preprocess

def _count_steps(path: str, streams: Sequence[str],
                 start_time: Optional[float], end_time: Optional[float]) -> int:
  """Model input steps `preprocess.iter_model_input_frames` will yield.

  A decode-only pass (no resizing, no flow): T frames at 25 fps give T steps
  for RGB alone and T - 1 with flow.
  """
  num_frames = sum(1 for _ in decode.iter_video_frames(
      path, streams_lib.FPS, start_time, end_time))
  return num_frames - 1 if 'flow' in streams else num_frames


def _check_num_steps(num_steps: int, path: str,
                     streams: Sequence[str]) -> None:
  """Raises chunked.ChunkError if a video gives too few steps for the logits."""
  if num_steps < i3d.min_num_frames():
    raise chunked.ChunkError(
        f'{path}: the logits need at least {i3d.min_num_frames()} frames at '
        f'25 fps{" (plus one for flow)" if "flow" in streams else ""}; the '
        f'video (or clip) gives {num_steps} model input steps.')


def _blocks(items: Iterator[Any], size: int) -> Iterator[List[Any]]:
  """`items` in lists of `size` (the last one shorter if need be)."""
  while True:
    block = list(itertools.islice(items, size))
    if not block:
      return
    yield block


def _stream_logits(models: Dict[str, i3d.InceptionI3d],
                   streams: Sequence[str], num_steps: int, chunk_frames: int,
                   path: str, show_progress: bool, head: List[Any],
                   steps: Iterator[Any]) -> Dict[str, np.ndarray]:
  """Feeds the steps read ahead, then the rest, to each stream's logits."""
  bars, logits = {}, {}
  with contextlib.ExitStack() as stack:
    for stream in streams:
      bars[stream] = stack.enter_context(tqdm.tqdm(
          total=len(chunked.plan_chunks(num_steps, chunk_frames)),
          desc=f'I3D {stream}', unit='chunk', disable=not show_progress,
          delay=3))
      logits[stream] = chunked.StreamingLogits(
          models[stream], num_steps, chunk_frames,
          name=f'{path} ({stream})', progress=bars[stream])

    def push(block):
      for stream in streams:
        logits[stream].push(np.stack([step[stream] for step in block]))

    push(head)
    del head
    for block in _blocks(steps, chunked.PUSH_FRAMES):
      push(block)
    return {stream: logits[stream].result() for stream in streams}


def video_logits(models: Dict[str, i3d.InceptionI3d],
                 path: str,
                 chunk_frames: int = chunked.DEFAULT_CHUNK_FRAMES,
                 show_progress: bool = False,
                 start_time: Optional[float] = None,
                 end_time: Optional[float] = None,
                 num_workers: Optional[int] = None,
                 flow_backend: Optional[str] = None) -> Dict[str, np.ndarray]:
  """Logits of each stream for a video file, preprocessed as in the paper.

  Frames are decoded, preprocessed (`preprocess.iter_model_input_frames`:
  25 fps, smaller side 256, centre crop 224, TV-L1 flow) and fed to the
  network as they come, so memory does not grow with the video's length. A
  clip of at most `chunk_frames` steps is classified in one pass; a longer
  one needs its length before its first chunk (see
  `chunked.StreamingLogits`), which costs one extra decode-only pass over the
  file.

  Args:
    models: {stream: loaded network}, streams 'rgb' and/or 'flow'.
    path: A video file any FFmpeg build reads.
    chunk_frames: Most frames per forward pass.
    show_progress: Whether to show progress bars.
    start_time: Clip start in seconds (as Kinetics clips); None for 0.
    end_time: Clip end in seconds (exclusive); None for the whole video.
    num_workers: TV-L1 processes (OpenCV backend); None for every CPU.
    flow_backend: TV-L1 implementation (`flow.backends`); None for the
      default.

  Returns:
    {stream: [num_classes] float32 logits}. With flow, both streams see the
    T - 1 steps for which a flow field exists (`preprocess`'s convention);
    RGB alone sees all T frames.

  Raises:
    decode.PreprocessError: For a file that cannot be decoded.
    chunked.ChunkError: If the clip is too short for the logits.
  """
  streams = tuple(s for s in streams_lib.STREAMS if s in models)
  steps = iter(preprocess.iter_model_input_frames(
      path, streams, start_time=start_time, end_time=end_time,
      num_workers=num_workers, progress=show_progress,
      flow_backend=flow_backend))
  # Read up to one chunk ahead: a clip that ends within it is one pass and
  # its length is known without a second decode.
  head = list(itertools.islice(steps, chunk_frames + 1))
  num_steps = len(head)
  if num_steps > chunk_frames:
    num_steps = _count_steps(path, streams, start_time, end_time)
  _check_num_steps(num_steps, path, streams)
  return _stream_logits(models, streams, num_steps, chunk_frames, path,
                        show_progress, head, steps)


