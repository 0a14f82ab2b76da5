r"""Exact logits of clips of any length, in bounded memory.

The model is the Inflated 3D ConvNet of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Long clips: exact chunked evaluation. I3D's logits are the mean over time of
per-step logits; each step (a 2x7x7 average of `Mixed_5c`) sees a window of
107 input frames, and TF's `SAME` padding places the network's temporal grid
according to the clip length (its parity at the first convolution and at
`MaxPool3d_4a`). A clip of at most ``chunk_frames`` frames (default 256,
i.e. any 10 s Kinetics clip) goes through the network in one pass, as in the
original. A longer clip is cut into overlapping chunks that start on a
multiple of 8 frames (the network's temporal stride) and whose lengths are
congruent to the clip's modulo 4, so every chunk's grid coincides with the
whole clip's; from each chunk only the steps whose whole receptive field lies
inside it (or reaches only the clip's own ends) are kept. Each step is
therefore computed from exactly the values the whole-clip pass uses, and the
logits equal the whole-clip logits up to float rounding (the tests check
1e-4), while memory is bounded by ``chunk_frames`` whatever the clip's
length. The price is recomputing the overlaps (README gives how much). The
grid depends on the clip's length, so a video longer than one chunk is first
counted with a decode-only pass (`chunked_video`); `.npy` inputs are
memory-mapped and read chunk by chunk.

The network's temporal geometry (kernels and strides along time) is read from
`i3d.LAYERS`; nothing about the architecture is restated here.
"""

import dataclasses
import math
import os
from typing import List, Optional, Tuple

import numpy as np
import tensorflow as tf
import tqdm

import i3d
from kinetics_i3d import streams

# A 10 s Kinetics clip at 25 fps fits in one pass.
DEFAULT_CHUNK_FRAMES = 256
# Frames handed to `StreamingLogits.push` at a time, from an array or a video.
PUSH_FRAMES = 16

# How I3D acts on the time axis up to Mixed_5c: (layer, kernel, stride).
TEMPORAL_LAYERS = i3d.temporal_layers('Mixed_5c')
TEMPORAL_STRIDE = math.prod(stride for _, _, stride in TEMPORAL_LAYERS)


class ChunkError(ValueError):
  """A clip cannot be evaluated: too short, bad shape or chunk size."""


def _temporal_geometry(num_frames: int) -> Tuple[List[int], List[int]]:
  """Lengths along time and the `SAME` padding before each layer.

  Args:
    num_frames: Input frames T.

  Returns:
    (sizes, pads_before): sizes[0] = T and sizes[i + 1] the output length of
    `TEMPORAL_LAYERS[i]`; pads_before[i] the zeros TF's `SAME` puts before
    its input (the rest of the padding goes after).
  """
  sizes, pads = [num_frames], []
  size = num_frames
  for _, kernel, stride in TEMPORAL_LAYERS:
    out = -(-size // stride)
    pads.append(max((out - 1) * stride + kernel - size, 0) // 2)
    size = out
    sizes.append(size)
  return sizes, pads


def num_logit_steps(num_frames: int) -> int:
  """Time steps the logits average over: Mixed_5c's length minus 1."""
  return _temporal_geometry(num_frames)[0][-1] - 1


def receptive_field(step: int, num_frames: int) -> Tuple[int, int]:
  """Input frames a logit step depends on, before clipping to the clip.

  Args:
    step: Index of the logit step, in [0, num_logit_steps(num_frames)).
    num_frames: Clip length T (it fixes the padding, hence the grid).

  Returns:
    (first, last) input frame indices, inclusive; values outside [0, T) are
    padding.
  """
  _, pads = _temporal_geometry(num_frames)
  # The 2-step average pool of the logits head (VALID).
  first, last = step, step + 1
  for (_, kernel, stride), pad in reversed(list(zip(TEMPORAL_LAYERS, pads))):
    first = first * stride - pad
    last = last * stride - pad + kernel - 1
  return first, last


@dataclasses.dataclass(frozen=True)
class Chunk:
  """Frames [start, stop) of the clip give it logit steps [first, stop_step).

  Attributes:
    start: First frame, a multiple of `TEMPORAL_STRIDE`.
    stop: One past the last frame.
    first_step: First logit step (clip-wide index) taken from this chunk.
    stop_step: One past the last logit step taken from this chunk.
  """
  start: int
  stop: int
  first_step: int
  stop_step: int


def plan_chunks(num_frames: int, chunk_frames: int) -> List[Chunk]:
  """Cuts a clip into chunks whose kept logit steps equal the whole clip's.

  Args:
    num_frames: Clip length T; at least `i3d.min_num_frames()`.
    chunk_frames: Most frames per chunk. A clip of at most this many frames
      is one chunk.

  Returns:
    Chunks in order; their [first_step, stop_step) ranges partition the
    clip's logit steps.

  Raises:
    ChunkError: If the clip is too short for the logits, or
      `chunk_frames` too small for a chunk to hold one step's receptive field.
  """
  num_steps = num_logit_steps(num_frames)
  if num_steps < 1:
    raise ChunkError(
        f'The logits need at least {i3d.min_num_frames()} frames, got '
        f'{num_frames}.')
  if num_frames <= chunk_frames:
    return [Chunk(0, num_frames, 0, num_steps)]
  _, pads = _temporal_geometry(num_frames)
  fields = []
  for step in range(num_steps):
    first, last = receptive_field(step, num_frames)
    fields.append((max(first, 0), min(last, num_frames - 1)))
  chunks = []
  start, step = 0, 0
  while step < num_steps:
    stop = min(start + chunk_frames, num_frames)
    # The chunk's padding must equal the clip's, or its grid would shift.
    while stop < num_frames and _temporal_geometry(stop - start)[1] != pads:
      stop -= 1
    stop_step = step
    while stop_step < num_steps and fields[stop_step][1] < stop:
      stop_step += 1
    if stop_step == step:
      raise ChunkError(
          f'--chunk_frames={chunk_frames} is too small: a logit step sees '
          f'{fields[step][1] - fields[step][0] + 1} frames; use at least 128.')
    chunks.append(Chunk(start, stop, step, stop_step))
    step = stop_step
    if step < num_steps:
      start = fields[step][0] // TEMPORAL_STRIDE * TEMPORAL_STRIDE
  return chunks


def _per_step_logits(model: i3d.InceptionI3d,
                     features: tf.Tensor) -> tf.Tensor:
  """The logits head without its mean over time: [T' - 1, num_classes].

  Args:
    model: The network (its 'Logits' unit is used).
    features: Mixed_5c activations [1, T', 7, 7, 1024].
  """
  return model._logits(features, is_training=False, mean_over_time=False)[0]  # pylint: disable=protected-access


class StreamingLogits:
  """I3D's clip logits for frames fed in pieces, in bounded memory.

  Push the clip's frames in order (any piece sizes); each chunk of
  `plan_chunks` runs as soon as its frames are in, and frames no later chunk
  needs are dropped. `result()` gives the logits of the whole clip.
  """

  def __init__(self,
               model: i3d.InceptionI3d,
               num_frames: int,
               chunk_frames: int = DEFAULT_CHUNK_FRAMES,
               name: str = 'inputs',
               progress: Optional[tqdm.tqdm] = None):
    """Plans the chunks.

    Args:
      model: A loaded network with final endpoint 'Logits'.
      num_frames: The clip's length T (it must be known up front: the
        padding, hence every step's value, depends on it).
      chunk_frames: Most frames per forward pass.
      name: The input's name in error messages (a file or flag).
      progress: Advanced by one per chunk run, if given.

    Raises:
      ChunkError: See `plan_chunks`.
    """
    self._model = model
    self._num_frames = num_frames
    self._name = name
    self._progress = progress
    self._chunks = plan_chunks(num_frames, chunk_frames)
    self._next_chunk = 0
    self._pieces: List[np.ndarray] = []
    self._buffer_start = 0  # Clip index of the first buffered frame.
    self._received = 0
    self._sum = None
    self._logits = None

  @property
  def chunks(self) -> List[Chunk]:
    return list(self._chunks)

  def push(self, frames: np.ndarray) -> None:
    """Adds the next frames [t, 224, 224, C] (float32 in [-1, 1]).

    Raises:
      ChunkError: If more than `num_frames` frames are pushed, or a
        chunk is not a valid network input (see `i3d.validate_inputs`).
    """
    if self._received + len(frames) > self._num_frames:
      raise ChunkError(
          f'{self._name}: got more than the announced {self._num_frames} '
          'frames.')
    self._pieces.append(np.asarray(frames, np.float32))
    self._received += len(frames)
    while (self._next_chunk < len(self._chunks) and
           self._chunks[self._next_chunk].stop <= self._received):
      self._run(self._chunks[self._next_chunk])
      self._next_chunk += 1
      if self._next_chunk < len(self._chunks):
        self._drop_before(self._chunks[self._next_chunk].start)

  def _frames(self, start: int, stop: int) -> np.ndarray:
    buffered = np.concatenate(self._pieces, axis=0)
    self._pieces = [buffered]
    return buffered[start - self._buffer_start:stop - self._buffer_start]

  def _drop_before(self, index: int) -> None:
    buffered = np.concatenate(self._pieces, axis=0)
    self._pieces = [buffered[index - self._buffer_start:].copy()]
    self._buffer_start = index

  def _run(self, chunk: Chunk) -> None:
    clip = self._frames(chunk.start, chunk.stop)[None]
    try:
      logits, end_points = self._model(clip, is_training=False)
    except ValueError as e:  # The network's input checks.
      raise ChunkError(
          f'{self._name} (frames {chunk.start}..{chunk.stop - 1}): {e}') from e
    if len(self._chunks) == 1:
      # The whole clip in one pass: exactly the original computation.
      self._logits = logits[0].numpy()
    else:
      steps = _per_step_logits(self._model, end_points['Mixed_5c'])
      offset = chunk.start // TEMPORAL_STRIDE
      kept = steps[chunk.first_step - offset:chunk.stop_step - offset]
      total = tf.reduce_sum(kept, axis=0).numpy().astype(np.float64)
      self._sum = total if self._sum is None else self._sum + total
    if self._progress is not None:
      self._progress.update(1)

  def result(self) -> np.ndarray:
    """The clip's logits [num_classes], float32.

    Raises:
      ChunkError: If fewer than `num_frames` frames were pushed.
    """
    if self._next_chunk < len(self._chunks):
      raise ChunkError(
          f'{self._name}: got {self._received} of the announced '
          f'{self._num_frames} frames.')
    if self._logits is None:
      self._logits = (self._sum / self._chunks[-1].stop_step).astype(
          np.float32)
    return self._logits


def clip_logits(model: i3d.InceptionI3d,
                clip: np.ndarray,
                chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                name: str = 'inputs',
                show_progress: bool = False) -> np.ndarray:
  """Logits of one clip [1, T, 224, 224, C] (or [T, 224, 224, C]).

  Reads the clip in pieces, so a memory-mapped array is never loaded whole.

  Args:
    model: A loaded network with final endpoint 'Logits'.
    clip: Model input in [-1, 1]; C = 3 for RGB, 2 for flow.
    chunk_frames: Most frames per forward pass (see the module docstring).
    name: The input's name in error messages.
    show_progress: Whether to show a progress bar over the chunks.

  Returns:
    [num_classes] float32 logits.

  Raises:
    ChunkError: If the clip has the wrong shape or too few frames.
    ValueError: For values the network refuses (see `i3d.validate_inputs`).
  """
  expected = f'[1, T, {streams.CROP}, {streams.CROP}, C]'
  if clip.ndim == 5:
    if clip.shape[0] != 1:
      raise ChunkError(f'{name}: expected one clip {expected}, got shape '
                       f'{clip.shape}.')
    clip = clip[0]
  if clip.ndim != 4:
    raise ChunkError(f'{name}: expected a clip {expected}, got shape '
                     f'{clip.shape}.')
  progress = tqdm.tqdm(
      total=len(plan_chunks(len(clip), chunk_frames)),
      desc=f'I3D on {os.path.basename(name)}',
      unit='chunk',
      disable=not show_progress,
      delay=3)
  with progress:
    stream = StreamingLogits(
        model, len(clip), chunk_frames, name=name, progress=progress)
    for start in range(0, len(clip), PUSH_FRAMES):
      stream.push(np.asarray(clip[start:start + PUSH_FRAMES], np.float32))
  return stream.result()
