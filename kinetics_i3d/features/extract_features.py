r"""I3D features from many videos: endpoints, windows, resumable batch runs.

The network is the Inception-v1 based I3D of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Beyond classification I3D is mostly used as a feature extractor (temporal
action localisation, retrieval, FVD-style metrics). This module computes the
activations of any endpoint (default 'Mixed_5c', the last one before the
logits head) for the RGB stream, the optical-flow stream or both, pooled as

* 'time':   averaged over space, one vector per temporal step: [T', C];
* 'clip':   averaged over the whole window: [C];
* 'logits': the classifier's logits (endpoint 'Logits'): [num_classes].

Videos are read at 25 fps, the rate the checkpoints were trained at, and cut
into windows of `window` frames every `stride` frames (the last window is
moved back to end at the last frame unless `cover_tail` is off), so every
output has a leading windows axis: [num_windows, T', C], [num_windows, C] or
[num_windows, num_classes]; `window=0` takes the whole video as one window,
and so does a video shorter than the window (down to the 9 frames the network
needs, `i3d.min_num_frames()`; the manifest marks it `shorter_than_window`).
Frames are streamed through the windows: memory stays flat in video length
(only one window per stream plus one batch of windows is held at a time).

Inputs are video files, folders (searched recursively), globs, list files
(`.txt`, one path per line) or pre-made model inputs `<name>_rgb.npy` /
`<name>_flow.npy` ([1, T, H, W, C] or [T, H, W, C] in [-1, 1], as the
original's sample) read by memory map.

Output, in the output folder:

* `<name>_rgb.npy` and/or `<name>_flow.npy` (or `<name>.npz` with arrays
  'rgb', 'flow', 'rgb_windows', 'flow_windows'), float32 features;
* `records/<name>.json`: the record of one video (written last, atomically,
  so it marks a finished video);
* `manifest.jsonl`: every record made with the folder's settings, one JSON
  object per line, rebuilt at the end of each run: video path, source fps,
  duration, windows [start, end] in seconds, endpoint, pooling, checkpoints,
  the flow algorithm (`flow.backends.identity`), feature shapes, status,
  error;
* `extraction_config.json`: the settings the folder's features were made
  with (`ExtractionConfig.identity()`, the flow algorithm's name, backend,
  parameters and library version included), written with the first features;
  a later run with other settings is refused (use another folder or
  `overwrite`).

Everything is checked before anything is written: a run that fails on its
settings, its checkpoints or its folder leaves nothing behind, so the
corrected command runs in the same folder. Every file is written under a
temporary name and renamed into place, so a killed run leaves no partial
output; re-running the same command skips the videos whose record and
outputs exist, and retries failed ones. A video that fails is recorded with
its error and the run goes on. `shard` splits the sorted video list
round-robin, for array jobs on any scheduler; `beam_pipeline` runs the same
extraction on Apache Beam runners. The command-line tools are
`kinetics_i3d.extract_features` (i3d-extract-features) and
`kinetics_i3d.beam_extract_features` (i3d-beam-extract-features).
"""

import collections
import contextlib
import dataclasses
import glob
import hashlib
import io
import json
import os
import sys
import time
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping,
                    NamedTuple, Optional, Sequence, Tuple)

from absl import logging
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.flow import backends
from kinetics_i3d.inference import fast_inference
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.utils import prefetch
from kinetics_i3d.utils import progress as progress_lib
from kinetics_i3d.video import decode
from kinetics_i3d.video import preprocess
from kinetics_i3d.weights import checkpoints

FPS = streams_lib.FPS
STREAMS = streams_lib.STREAMS
NUM_CHANNELS = streams_lib.CHANNELS
STREAM_CHOICES = {'rgb': ('rgb',), 'flow': ('flow',), 'both': ('rgb', 'flow')}
POOLINGS = ('time', 'clip', 'logits')
# Endpoints whose activations can be pooled: everything before the head.
FEATURE_ENDPOINTS = i3d.VALID_ENDPOINTS[:i3d.VALID_ENDPOINTS.index('Logits')]
ENDPOINTS = FEATURE_ENDPOINTS + ('Logits',)
OUTPUT_FORMATS = ('npy', 'npz')
# The logits head pools a 7x7 map: 224x224 frames.
LOGITS_FRAME_SIZE = streams_lib.CROP

VIDEO_EXTENSIONS = ('.avi', '.mp4', '.mkv', '.webm', '.mov', '.m4v', '.ogv',
                    '.mpg', '.mpeg', '.flv', '.wmv', '.gif', '.3gp')
LIST_EXTENSIONS = ('.txt', '.lst', '.list')
PREMADE_SUFFIXES = {'rgb': '_rgb.npy', 'flow': '_flow.npy'}

RECORDS_DIR = 'records'
MANIFEST_NAME = 'manifest.jsonl'
CONFIG_NAME = 'extraction_config.json'
_TMP_MARK = atomic_files.TMP_MARK


class ExtractionError(ValueError):
  """A video (or pre-made input) that cannot be turned into features."""


# ----------------------------------------------------------------------------
# Settings.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExtractionConfig:
  """What to extract and how; everything that decides the output values.

  Attributes:
    endpoint: One of `ENDPOINTS`; 'Logits' goes with pooling 'logits'.
    pooling: 'time' ([T', C] per window), 'clip' ([C]) or 'logits'.
    streams: ('rgb',), ('flow',) or ('rgb', 'flow').
    window: Frames (at 25 fps) per window; 0 for the whole video. A video
      shorter than the window is one window of all its frames.
    stride: Frames between window starts; 0 means `window`.
    cover_tail: Add a last window ending at the last frame when the regular
      windows leave frames uncovered.
    batch_size: Windows per forward pass.
    resize: Smaller side of the resized frames (the paper: 256).
    crop: Side of the centre crop fed to the network (the paper: 224; the
      logits need 224).
    rgb_checkpoint: Name in `checkpoints.ORIGINAL_CHECKPOINTS` or path
      prefix of a TF1 checkpoint in the original layout, for RGB.
    flow_checkpoint: The same for flow.
    checkpoint_dir: The folder holding the released checkpoints as
      `<name>/model.ckpt.*` (the project's `data/checkpoints` by default).
    output_format: 'npy' (one file per stream) or 'npz' (one per video).
    flow_workers: Processes computing TV-L1 flow with OpenCV.
    fast: Run an inference-only copy with BatchNorm folded into the
      convolutions (`fast_inference`): the same features within float32
      round-off, faster on CPU.
    flow_backend: TV-L1 implementation, a member of `backends.BACKENDS`;
      None for `backends.default_backend()`, resolved when the flow stream is
      extracted (it is part of `identity()` then).
  """
  endpoint: str = 'Mixed_5c'
  pooling: str = 'time'
  streams: Tuple[str, ...] = ('rgb',)
  window: int = 64
  stride: int = 0
  cover_tail: bool = True
  batch_size: int = 4
  resize: int = streams_lib.RESIZE
  crop: int = streams_lib.CROP
  rgb_checkpoint: str = 'rgb_scratch'
  flow_checkpoint: str = 'flow_imagenet'
  checkpoint_dir: str = paths.CHECKPOINT_DIR
  output_format: str = 'npy'
  flow_workers: int = 1
  fast: bool = False
  flow_backend: Optional[str] = None
  # backends.identity(flow_backend) when flow is extracted; set by
  # __post_init__ (it reads the library's parameters once).
  flow_identity: Optional[Dict[str, Any]] = dataclasses.field(
      default=None, init=False, compare=False, repr=False)

  def __post_init__(self):
    if self.endpoint not in ENDPOINTS:
      raise ValueError(f'endpoint: unknown endpoint {self.endpoint!r}; choose '
                       f'one of {ENDPOINTS}.')
    if self.pooling not in POOLINGS:
      raise ValueError(f'pooling: unknown pooling {self.pooling!r}; choose '
                       f'one of {POOLINGS}.')
    if (self.pooling == 'logits') != (self.endpoint == 'Logits'):
      raise ValueError(
          f'pooling={self.pooling!r} with endpoint={self.endpoint!r}: the '
          "logits pooling reads endpoint 'Logits' and endpoint 'Logits' only "
          "has logits; pass both as 'logits'/'Logits', or a feature endpoint "
          "with pooling 'time' or 'clip'.")
    streams = tuple(self.streams)
    if not streams or any(s not in STREAMS for s in streams) or len(
        set(streams)) != len(streams):
      raise ValueError(f'streams: expected a non-empty subset of {STREAMS}, '
                       f'got {self.streams!r}.')
    object.__setattr__(self, 'streams', tuple(s for s in STREAMS
                                              if s in streams))
    self._check_windows()
    for name in ('batch_size', 'resize', 'crop', 'flow_workers'):
      value = getattr(self, name)
      if not isinstance(value, int) or value < 1:
        raise ValueError(f'{name}: expected a positive integer, got '
                         f'{value!r}.')
    if self.crop > self.resize:
      raise ValueError(f'crop: the centre crop ({self.crop}) cannot be larger '
                       f'than the resized smaller side ({self.resize}).')
    if self.output_format not in OUTPUT_FORMATS:
      raise ValueError(f'output_format: choose one of {OUTPUT_FORMATS}, got '
                       f'{self.output_format!r}.')
    if self.flow_backend is not None:
      backends.resolve(self.flow_backend)  # Checks the name.
    if 'flow' in self.streams:
      backend = backends.resolve(self.flow_backend)
      object.__setattr__(self, 'flow_backend', backend)
      object.__setattr__(self, 'flow_identity', backends.identity(backend))

  def _check_windows(self) -> None:
    for name in ('window', 'stride'):
      value = getattr(self, name)
      if not isinstance(value, int) or value < 0:
        raise ValueError(f'{name}: expected a number of frames >= 0 (0 for '
                         f'the default), got {value!r}.')
    if self.window == 0 and self.stride:
      raise ValueError('stride: --window=0 takes the whole video as one '
                       f'window; a stride ({self.stride}) has no meaning.')
    if self.endpoint == 'Logits':
      if 0 < self.window < i3d.min_num_frames():
        raise ValueError(
            f'window: the logits need at least {i3d.min_num_frames()} frames, '
            f'got --window={self.window}.')
      if self.crop != LOGITS_FRAME_SIZE:
        raise ValueError(
            f'crop: the logits need {LOGITS_FRAME_SIZE}x{LOGITS_FRAME_SIZE} '
            f'frames, got --crop={self.crop}.')

  @property
  def effective_stride(self) -> int:
    return self.stride or self.window

  def checkpoint(self, stream: str) -> str:
    return self.rgb_checkpoint if stream == 'rgb' else self.flow_checkpoint

  def identity(self) -> Dict[str, Any]:
    """The settings that decide output values (not speed or paths).

    Returns:
      A JSON-able dict; with the flow stream, 'flow' is the algorithm's
      identity (name, backend, parameters, library version).
    """
    identity = {
        'endpoint': self.endpoint,
        'pooling': self.pooling,
        'streams': list(self.streams),
        'window': self.window,
        'stride': self.effective_stride,
        'cover_tail': self.cover_tail,
        'resize': self.resize,
        'crop': self.crop,
        'fps': FPS,
        'checkpoints': {s: self.checkpoint(s) for s in self.streams},
        'output_format': self.output_format,
    }
    if self.flow_identity is not None:
      identity['flow'] = self.flow_identity
    return identity


# ----------------------------------------------------------------------------
# Inputs.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class VideoItem:
  """One unit of work: a video file or a set of pre-made model inputs.

  Attributes:
    key: Name of its outputs in the output folder (unique within a run).
    path: The video file, or for pre-made inputs their common prefix
      (`<dir>/<name>` of `<dir>/<name>_rgb.npy`).
    premade: (stream, .npy path) pairs; empty for a video file.
  """
  key: str
  path: str
  premade: Tuple[Tuple[str, str], ...] = ()

  @property
  def is_premade(self) -> bool:
    return bool(self.premade)

  @property
  def source(self) -> str:
    """The file a user gave: the video, or the (first) pre-made .npy."""
    return self.premade[0][1] if self.premade else self.path


def _premade_stream(path: str) -> Optional[str]:
  for stream, suffix in PREMADE_SUFFIXES.items():
    if path.endswith(suffix):
      return stream
  return None


def _is_candidate(path: str) -> bool:
  """Whether a file found in a folder or glob is an input."""
  lower = path.lower()
  return lower.endswith(VIDEO_EXTENSIONS) or _premade_stream(path) is not None


def _expand(spec: str, origin: str, seen_lists: set) -> List[str]:
  """Expands one input spec into file paths (missing files kept as is)."""
  if os.path.isdir(spec):
    found = []
    for root, dirs, files in os.walk(spec):
      dirs.sort()
      found.extend(os.path.join(root, f) for f in sorted(files)
                   if _is_candidate(f) and not f.startswith('.'))
    if not found:
      raise ValueError(f'{origin}: folder {spec!r} holds no videos '
                       f'({", ".join(VIDEO_EXTENSIONS)}) or *_rgb.npy / '
                       '*_flow.npy inputs.')
    return found
  if glob.has_magic(spec):
    found = sorted(p for p in glob.glob(spec, recursive=True)
                   if os.path.isfile(p) and
                   not p.lower().endswith(LIST_EXTENSIONS))
    if not found:
      raise ValueError(f'{origin}: the glob {spec!r} matches no files.')
    return found
  if spec.lower().endswith(LIST_EXTENSIONS):
    if not os.path.isfile(spec):
      raise ValueError(f'{origin}: list file {spec!r} does not exist.')
    real = os.path.realpath(spec)
    if real in seen_lists:
      raise ValueError(f'{origin}: list file {spec!r} includes itself.')
    seen_lists.add(real)
    base = os.path.dirname(spec)
    paths = []
    with open(spec) as f:
      for number, line in enumerate(f, 1):
        line = line.strip()
        if not line or line.startswith('#'):
          continue
        entry = os.path.join(base, os.path.expanduser(line))
        paths.extend(_expand(entry, f'{spec}:{number}', seen_lists))
    return paths
  if spec.lower().endswith('.npy') and _premade_stream(spec) is None:
    raise ValueError(f'{origin}: {spec!r} is a .npy file but not a pre-made '
                     'input; name model inputs <name>_rgb.npy or '
                     '<name>_flow.npy.')
  # A missing file is not an error of the whole run: it becomes a recorded
  # failure, like an unreadable one.
  return [spec]


def check_named_files(specs: Sequence[str], origin: str = '--inputs') -> None:
  """Refuses a file named on the command line that does not exist.

  A missing file inside a list file is a recorded failure of one video (the
  others go on); one the user typed is a typo, refused before anything is
  written.

  Args:
    specs: The specs of `resolve_inputs`.
    origin: The flag, for the message.

  Raises:
    ValueError: Naming the first missing file.
  """
  for spec in specs:
    if ('://' in spec or glob.has_magic(spec) or
        spec.lower().endswith(LIST_EXTENSIONS)):
      continue  # Remote, a glob or a list: checked where expanded.
    if not os.path.exists(spec):
      raise ValueError(f'{origin}: {spec} does not exist; give video files, '
                       'folders, globs or list files.')


def resolve_inputs(specs: Sequence[str], origin: str = '--inputs'
                  ) -> List[VideoItem]:
  """Turns paths, folders, globs and list files into sorted work items.

  Args:
    specs: Each a video file, a folder (searched recursively for video files
      and pre-made `*_rgb.npy` / `*_flow.npy`), a glob (`**` recursive), or a
      list file (`.txt`, `.lst`, `.list`: one spec per line, relative to the
      list's folder, '#' comments).
    origin: How to call `specs` in error messages.

  Returns:
    Items sorted by path, duplicates removed; pre-made `<p>_rgb.npy` and
    `<p>_flow.npy` form one item. Keys are file stems, with a hash of the
    path appended where two inputs share a stem.

  Raises:
    ValueError: For an empty input list, an empty folder or glob, a missing
      list file or a stray .npy file.
  """
  if not specs:
    raise ValueError(f'{origin}: no inputs given.')
  seen_lists = set()
  videos = {}
  premade = collections.defaultdict(dict)
  for spec in specs:
    for path in _expand(os.path.expanduser(spec), origin, seen_lists):
      path = os.path.normpath(path)
      stream = _premade_stream(path)
      if stream is None:
        videos[os.path.abspath(path)] = path
      else:
        prefix = path[:-len(PREMADE_SUFFIXES[stream])]
        premade[os.path.abspath(prefix)][stream] = path
  return items_from_paths(list(videos.values()), premade)


def items_from_paths(videos: Sequence[str],
                     premade: Mapping[str, Mapping[str, str]] = None
                    ) -> List[VideoItem]:
  """Work items with unique keys from video paths and pre-made inputs.

  Args:
    videos: Video file paths (local or, for Beam, any file system's).
    premade: prefix -> {stream: .npy path}.

  Returns:
    Items sorted by path. Keys are file stems, with a hash of the path
    appended where two inputs share a stem.
  """
  items = [(path, ()) for path in videos]
  for streams in (premade or {}).values():
    stream, path = sorted(streams.items())[0]
    prefix = path[:-len(PREMADE_SUFFIXES[stream])]
    items.append((prefix, tuple(sorted(streams.items()))))
  items.sort()

  def stem(path, is_premade):
    name = path.rstrip('/').split('/')[-1]
    name = os.path.basename(name)
    return name if is_premade else os.path.splitext(name)[0]

  counts = collections.Counter(stem(p, bool(m)) for p, m in items)
  result = []
  for path, made in items:
    key = stem(path, bool(made))
    if counts[key] > 1:
      ident = path if '://' in path else os.path.abspath(path)
      digest = hashlib.sha1(ident.encode()).hexdigest()[:8]
      key = f'{key}-{digest}'
    result.append(VideoItem(key=key, path=path, premade=made))
  return result


def shard(items: Sequence[VideoItem], shard_index: int,
          num_shards: int) -> List[VideoItem]:
  """The round-robin share of a sorted item list for one of `num_shards`.

  Args:
    items: All items, in the same order on every shard (`resolve_inputs`
      sorts them).
    shard_index: In [0, num_shards).
    num_shards: Number of shards, >= 1.

  Returns:
    items[shard_index::num_shards]: every item lands in exactly one shard.

  Raises:
    ValueError: For an index outside [0, num_shards).
  """
  if not isinstance(num_shards, int) or num_shards < 1:
    raise ValueError(f'--num_shards must be >= 1, got {num_shards!r}.')
  if not isinstance(shard_index, int) or not 0 <= shard_index < num_shards:
    raise ValueError(f'--shard_index must be in [0, {num_shards}), got '
                     f'{shard_index!r}.')
  return list(items[shard_index::num_shards])


# ----------------------------------------------------------------------------
# Windows.
# ----------------------------------------------------------------------------


def window_starts(num_frames: int, window: int, stride: int,
                  cover_tail: bool = True) -> List[int]:
  """First frames of the full windows over a stream of `num_frames` frames.

  Args:
    num_frames: Length of the stream.
    window: Frames per window (> 0).
    stride: Frames between consecutive starts (> 0).
    cover_tail: Whether to add a window ending at the last frame when the
      regular windows stop earlier.

  Returns:
    Start indices; empty if `num_frames < window` (`Windower` then takes the
    whole stream as one shorter window).
  """
  if num_frames < window:
    return []
  starts = list(range(0, num_frames - window + 1, stride))
  if cover_tail and starts[-1] + window < num_frames:
    starts.append(num_frames - window)
  return starts


def min_window_frames(window: int) -> int:
  """Fewest frames a stream may have: the window, or the network's minimum.

  A stream shorter than `window` becomes one window of all its frames, as
  long as I3D takes a clip that short (`i3d.min_num_frames()`, 9); a window
  set below that is its own minimum.

  Args:
    window: Frames per window; 0 for whole videos.

  Returns:
    The minimum number of frames (1 for `window` 0: any whole video).
  """
  if window == 0:
    return 1
  return min(window, i3d.min_num_frames())


def _too_short(what: str, num_frames: int, window: int,
               min_frames: int) -> ExtractionError:
  seconds = f'{num_frames} frames at {FPS:g} fps ({num_frames / FPS:.2f} s)'
  if min_frames >= window:
    return ExtractionError(
        f'{what} has {seconds}, fewer than --window={window}; use a smaller '
        '--window, or --window=0 for whole videos.')
  return ExtractionError(
      f'{what} has {seconds}; I3D needs at least {min_frames} frames (a '
      f'video shorter than --window={window} is taken as one window of all '
      'its frames, but not below that).')


class Windower:
  """Cuts a stream of frames into windows, holding at most one window.

  Frames are pushed one at a time; completed windows come back from `push`
  and, for the tail window, from `finish`. Together they are exactly the
  windows of `window_starts(number of frames pushed, ...)`; a stream shorter
  than the window (but not than `min_frames`) is one window of all its
  frames, and `shorter_than_window` is then True.
  """

  def __init__(self, window: int, stride: int, cover_tail: bool = True,
               what: str = 'the video', min_frames: Optional[int] = None):
    """Initializes an empty stream.

    Args:
      window: Frames per window; 0 for one window holding the whole stream
        (memory then grows with the stream).
      stride: Frames between window starts (> 0 when `window` > 0).
      cover_tail: See `window_starts`.
      what: How to call the stream in errors.
      min_frames: Fewest frames the stream may have; None for
        `min_window_frames(window)`.
    """
    if window > 0 and stride < 1:
      raise ValueError(f'stride must be >= 1, got {stride}.')
    self._window = window
    self._stride = stride
    self._cover_tail = cover_tail
    self._what = what
    self._min_frames = (min_window_frames(window) if min_frames is None
                        else min_frames)
    # Invariant: the buffer holds frames [buffer_start, count).
    self._buffer = collections.deque()
    self._buffer_start = 0
    self._count = 0
    self._next_start = 0
    self._last_start = None
    self.shorter_than_window = False

  @property
  def count(self) -> int:
    """Frames pushed so far."""
    return self._count

  @property
  def buffered(self) -> int:
    """Frames held right now."""
    return len(self._buffer)

  def _clip(self, start: int) -> np.ndarray:
    offset = start - self._buffer_start
    return np.stack([self._buffer[i] for i in range(offset,
                                                    offset + self._window)])

  def push(self, frame: np.ndarray) -> List[Tuple[int, np.ndarray]]:
    """Adds the next frame [H, W, C]; returns windows it completes."""
    self._buffer.append(frame)
    self._count += 1
    if self._window == 0:
      return []
    done = []
    if self._count - self._next_start == self._window:
      done.append((self._next_start, self._clip(self._next_start)))
      self._last_start = self._next_start
      self._next_start += self._stride
    # Drop frames neither the next regular window nor a tail window needs.
    # Until the first window is complete nothing is dropped, so a stream
    # shorter than the window is still whole at `finish`.
    keep_from = self._next_start
    if self._cover_tail:
      keep_from = min(keep_from, self._count - self._window)
    while self._buffer and self._buffer_start < keep_from:
      self._buffer.popleft()
      self._buffer_start += 1
    return done

  def finish(self) -> List[Tuple[int, np.ndarray]]:
    """Ends the stream; returns the remaining (tail or whole) window.

    Raises:
      ExtractionError: If the stream is empty or shorter than `min_frames`.
    """
    if self._count == 0:
      raise ExtractionError(f'{self._what} has no frames.')
    if self._count < self._min_frames:
      raise _too_short(self._what, self._count, self._window,
                       self._min_frames)
    if self._window == 0 or self._count < self._window:
      self.shorter_than_window = self._window > 0
      clip = np.stack(self._buffer)
      self._buffer.clear()
      return [(0, clip)]
    if self._cover_tail and self._last_start + self._window < self._count:
      return [(self._count - self._window,
               self._clip(self._count - self._window))]
    return []


def iter_windows(frames: Iterable[np.ndarray], window: int, stride: int,
                 cover_tail: bool = True, what: str = 'the video',
                 min_frames: Optional[int] = None
                ) -> Iterator[Tuple[int, np.ndarray]]:
  """Yields (start, clip [T, H, W, C]) of a frame stream; see Windower."""
  windower = Windower(window, stride, cover_tail, what, min_frames)
  for frame in frames:
    yield from windower.push(frame)
  yield from windower.finish()


# ----------------------------------------------------------------------------
# The network.
# ----------------------------------------------------------------------------

# A network maps float32 clips [B, T, H, W, C] to (output, end_points).
Network = Callable[[tf.Tensor], Tuple[tf.Tensor, Mapping[str, tf.Tensor]]]


def as_network(model: Any) -> Network:
  """Wraps an `i3d.InceptionI3d` (inference mode) or a `FastI3d` as a Network.

  Args:
    model: An `i3d.InceptionI3d`, or any callable taking clips and returning
      `(output, end_points)` (e.g. `fast_inference.FastI3d`).

  Returns:
    The callable.

  Raises:
    ValueError: For anything else.
  """
  if isinstance(model, i3d.InceptionI3d):
    return lambda clips: model(clips, is_training=False)
  if not callable(model):
    raise ValueError(f'Expected an i3d.InceptionI3d or a callable network, '
                     f'got {type(model).__name__}.')
  return model


def _check_checkpoint(config: ExtractionConfig, stream: str) -> None:
  name = config.checkpoint(stream)
  spec = checkpoints.ORIGINAL_CHECKPOINTS.get(name)
  if spec is not None:
    if spec.stream != stream:
      fitting = sorted(n for n, s in checkpoints.ORIGINAL_CHECKPOINTS.items()
                       if s.stream == stream)
      raise checkpoints.CheckpointError(
          f'--{stream}_checkpoint={name} is '
          f'{streams_lib.WITH_ARTICLE[spec.stream]} checkpoint; the {stream} '
          f'stream needs one of {fitting}.')
  elif not tf.io.gfile.exists(name + '.index'):
    raise checkpoints.CheckpointError(
        f'--{stream}_checkpoint={name} is neither a released checkpoint '
        f'({sorted(checkpoints.ORIGINAL_CHECKPOINTS)}) nor a checkpoint '
        f'prefix (no {name}.index).')


def check_checkpoints(config: ExtractionConfig) -> None:
  """Cheap checks of the checkpoint settings, before any worker starts.

  Args:
    config: The settings.

  Raises:
    checkpoints.CheckpointError: For a released checkpoint of the other
      stream, or a checkpoint path without its `.index` file.
  """
  for stream in config.streams:
    _check_checkpoint(config, stream)


def build_network(config: ExtractionConfig, stream: str) -> Network:
  """Loads the checkpoint of one stream, truncated at `config.endpoint`.

  Args:
    config: The settings; `config.checkpoint(stream)` is a name from
      `checkpoints.ORIGINAL_CHECKPOINTS` or a TF1 checkpoint prefix.
    stream: 'rgb' or 'flow'.

  Returns:
    The network (BatchNorm folded in if `config.fast`).

  Raises:
    checkpoints.CheckpointError: For an unknown name, a missing file, or a
      checkpoint of the other stream.
  """
  model = load_stream_model(config, stream)
  if config.fast:
    # 'eager': the extractor traces the whole pooled pass itself.
    return fast_inference.fold_batch_norm(model, mode='eager')
  return as_network(model)


def load_stream_model(config: ExtractionConfig,
                      stream: str) -> i3d.InceptionI3d:
  """Loads the checkpoint of one stream into a model ending at the endpoint.

  A released name is read from `config.checkpoint_dir/<name>/model.ckpt.*`
  (`checkpoints.build_model`, which fetches the public rgb_scratch weights
  there when they are missing; a folder it creates for them is logged).

  Args:
    config: The settings.
    stream: 'rgb' or 'flow'.

  Returns:
    The loaded model, built up to `config.endpoint`.

  Raises:
    checkpoints.CheckpointError: As `build_network`.
  """
  _check_checkpoint(config, stream)
  name = config.checkpoint(stream)
  if name not in checkpoints.ORIGINAL_CHECKPOINTS:
    return _load_checkpoint_file(name, stream, config.endpoint)
  folder = config.checkpoint_dir
  existed = tf.io.gfile.isdir(folder)
  try:
    return checkpoints.build_model(name, final_endpoint=config.endpoint,
                                   checkpoint_dir=folder)
  finally:
    if not existed and tf.io.gfile.isdir(folder):
      logging.info('Created --checkpoint_dir=%s (it did not exist) for the '
                   '%s checkpoint, as %s/model.ckpt.*.', folder, name, name)


def _load_checkpoint_file(prefix: str, stream: str,
                          endpoint: str) -> i3d.InceptionI3d:
  """Builds a model and loads a TF1 checkpoint in the original layout."""
  num_classes = 400
  if endpoint == 'Logits':
    # The logits layer's size comes from the file (400 or 600 classes).
    try:
      shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError):
      shapes = {}  # load_original reports the unreadable file.
    biases = [shape for name, shape in shapes.items()
              if name.endswith('Logits/Conv3d_0c_1x1/conv_3d/b')]
    if len(biases) == 1:
      num_classes = int(biases[0][0])
  model = i3d.InceptionI3d(num_classes=num_classes, final_endpoint=endpoint)
  checkpoints.load_original(model, prefix, stream)
  return model


class FeatureExtractor:
  """Turns windows, videos and pre-made inputs into pooled features.

  Loads (or takes) one network per stream once; the pooled forward pass is
  traced once per stream and window size, for any batch size.
  """

  def __init__(self, config: ExtractionConfig,
               networks: Optional[Mapping[str, Any]] = None):
    """Initializes the extractor.

    Args:
      config: The settings.
      networks: Optional stream -> model (an `i3d.InceptionI3d` or a
        `FastI3d` built at least up to `config.endpoint`); by default each
        stream's checkpoint is loaded with `build_network`.

    Raises:
      ValueError: If a given network lacks a stream of `config.streams`.
      checkpoints.CheckpointError: If a checkpoint cannot be loaded.
    """
    self._config = config
    if networks is None:
      networks = {s: build_network(config, s) for s in config.streams}
    missing = [s for s in config.streams if s not in networks]
    if missing:
      raise ValueError(f'networks: no network for streams {missing}.')
    self._networks = {}
    for stream in config.streams:
      model = networks[stream]
      final = getattr(model, 'final_endpoint', None)
      if final is not None and (i3d.VALID_ENDPOINTS.index(final) <
                                i3d.VALID_ENDPOINTS.index(config.endpoint)):
        raise ValueError(f'The {stream} network stops at {final!r}, before '
                         f'the endpoint {config.endpoint!r}.')
      self._networks[stream] = as_network(model)
    # (stream, T, H, W) -> traced pooled forward pass.
    self._functions = {}

  @property
  def config(self) -> ExtractionConfig:
    return self._config

  def _pooled_forward(self, stream: str, clip_shape: Tuple[Any, int, int]):
    """The traced forward pass for windows of one size, any batch size."""
    key = (stream, *clip_shape)
    if key in self._functions:
      return self._functions[key]
    network = self._networks[stream]
    endpoint = self._config.endpoint
    pooling = self._config.pooling

    # Known T, H, W: graphs with static spatial shapes run about 20% faster
    # on CPU than fully dynamic ones; the batch axis stays open for the
    # smaller last batch.
    @tf.function(input_signature=[
        tf.TensorSpec([None, *clip_shape, NUM_CHANNELS[stream]], tf.float32)
    ])
    @tf.autograph.experimental.do_not_convert
    def forward(clips):
      _, end_points = network(clips)
      net = end_points[endpoint]
      if pooling == 'time':
        return tf.reduce_mean(net, axis=[2, 3])
      if pooling == 'clip':
        return tf.reduce_mean(net, axis=[1, 2, 3])
      return net

    self._functions[key] = forward
    return forward

  def features(self, stream: str, clips: np.ndarray) -> np.ndarray:
    """Pooled features of a batch of windows of one stream.

    Args:
      stream: 'rgb' or 'flow'.
      clips: [B, T, H, W, C] float32 model inputs in [-1, 1].

    Returns:
      [B, T', C'] ('time'), [B, C'] ('clip') or [B, num_classes] ('logits').

    Raises:
      ValueError: For clips the network cannot take.
    """
    clips = np.asarray(clips, np.float32)
    validate_windows(self._config, stream, clips)
    return self._checked_features(stream, clips)

  def _checked_features(self, stream: str, clips: np.ndarray) -> np.ndarray:
    """`features` of float32 clips that passed `validate_windows`."""
    clip_shape = tuple(clips.shape[1:4])
    if self._config.window == 0 or clip_shape[0] != self._config.window:
      # Whole videos (and videos shorter than the window) differ in length:
      # one trace with an open time axis.
      clip_shape = (None, *clip_shape[1:])
    forward = self._pooled_forward(stream, clip_shape)
    return forward(tf.constant(clips)).numpy()

  def extract(self, item: VideoItem,
              read_path: Optional[str] = None,
              inputs: Optional['VideoInputs'] = None) -> 'VideoFeatures':
    """Features of every window of every stream of one video.

    The video is decoded, resized, scaled, windowed and checked in a
    background thread, a batch of windows ahead of the network.

    Args:
      item: A video file or pre-made inputs.
      read_path: Read the video from this (local) file instead of
        `item.path` (Beam workers copy remote files first).
      inputs: The video's batches, already being made (`InputStream`, which
        prepares the next videos while this one runs); by default
        `prepare_inputs(item, config, read_path)`.

    Returns:
      The features and where their windows lie.

    Raises:
      ExtractionError, preprocess.PreprocessError, OSError, ValueError: For
        an input that cannot be read or is too short.
    """
    config = self._config
    if inputs is None:
      inputs = prepare_inputs(item, config, read_path)
      batches = prefetch.Prefetcher(inputs.batches, depth=1,
                                    name='features-inputs')
    else:
      batches = inputs.batches
    # stream -> [(first frame, number of frames)] of the windows done.
    spans = {s: [] for s in config.streams}
    outputs = {s: [] for s in config.streams}
    with contextlib.closing(batches):
      for stream, batch_spans, clips in batches:
        spans[stream].extend(batch_spans)
        outputs[stream].append(self._checked_features(stream, clips))

    windowers = inputs.windowers
    return VideoFeatures(
        item=item,
        features={s: np.concatenate(outputs[s]) for s in config.streams},
        windows={
            s: np.array([[t / FPS, (t + n) / FPS] for t, n in spans[s]],
                        np.float64) for s in config.streams
        },
        num_frames={s: windowers[s].count for s in config.streams},
        source_fps=inputs.info.get('source_fps'),
        duration_s=inputs.info.get('duration_s'),
        shorter_than_window={
            s: windowers[s].shorter_than_window for s in config.streams
        },
    )


def validate_windows(config: ExtractionConfig, stream: str,
                     clips: np.ndarray) -> None:
  """Raises ValueError for float32 windows the network cannot take."""
  i3d.validate_inputs(clips, final_endpoint=config.endpoint,
                      num_channels=NUM_CHANNELS[stream],
                      name=f'{stream} windows')


# (stream, [(first frame, number of frames)], float32 windows [B, T, H, W, C]
# that passed `validate_windows`).
InputBatch = Tuple[str, List[Tuple[int, int]], np.ndarray]


@dataclasses.dataclass
class VideoInputs:
  """One video's network inputs, made batch by batch as `batches` is read.

  `windowers` (frame counts) and `info` ('source_fps', 'duration_s') are
  complete once `batches` is exhausted.
  """
  batches: Iterator[InputBatch]
  windowers: Dict[str, Windower]
  info: Dict[str, Any]


def prepare_inputs(item: VideoItem, config: ExtractionConfig,
                   read_path: Optional[str] = None) -> VideoInputs:
  """Opens a video (or pre-made inputs) for `FeatureExtractor.extract`.

  Args:
    item: The video.
    config: The settings.
    read_path: A local copy of `item.path` to read instead.

  Returns:
    The video's inputs; nothing is decoded before `batches` is read.

  Raises:
    ExtractionError: For an input that does not exist.
  """
  if item.is_premade:
    sources, info = _premade_sources(item, config)
  else:
    sources, info = _video_sources(read_path or item.path, config)
  windowers = {
      s: Windower(config.window, config.effective_stride, config.cover_tail,
                  f'{s} stream of {item.path}') for s in config.streams
  }
  return VideoInputs(_window_batches(sources, windowers, config), windowers,
                     info)


def _window_batches(sources: Iterator[Tuple[str, np.ndarray]],
                    windowers: Dict[str, Windower],
                    config: ExtractionConfig) -> Iterator[InputBatch]:
  """Batches of `config.batch_size` windows per stream, in window order."""
  pending = {s: [] for s in config.streams}

  def ready(stream, final=False):
    while pending[stream] and (final or
                               len(pending[stream]) >= config.batch_size):
      batch = pending[stream][:config.batch_size]
      del pending[stream][:config.batch_size]
      clips = np.stack([clip for _, clip in batch]).astype(np.float32,
                                                           copy=False)
      # Here, in the thread making the batches, not in series with the model.
      validate_windows(config, stream, clips)
      yield stream, [(start, len(clip)) for start, clip in batch], clips

  # Sources yield (stream, frame) in decoding order, so both streams are
  # windowed while the video is read once.
  for stream, frame in sources:
    pending[stream].extend(windowers[stream].push(frame))
    yield from ready(stream)
  for stream in config.streams:
    pending[stream].extend(windowers[stream].finish())
    yield from ready(stream, final=True)


class _Event(NamedTuple):
  """What `InputStream`'s thread hands over: one batch of one video."""
  index: int  # In the list of videos.
  inputs: Optional[VideoInputs]  # None if they could not be made.
  batch: Optional[InputBatch]  # None for a video without (more) batches.
  last: bool  # The video's last event.
  error: Optional[Exception] = None  # Raised where the batch would be.


class InputStream:
  """The inputs of a list of videos, made in one thread ahead of the model.

  While the network runs on one video's last batch, the thread decodes and
  windows the next video's first (it reads one batch ahead to know which is
  last), so that neither waits for the other. Ask for the videos in list
  order (`inputs`); the rest of a video not fully read is dropped, and a
  video the thread did not make (`wanted` said no) gets None. Use as a
  context manager.
  """

  def __init__(self, items: Sequence[VideoItem], config: ExtractionConfig,
               wanted: Callable[[VideoItem], bool]):
    """Starts making inputs.

    Args:
      items: The videos, in the order they will be asked for.
      config: The settings.
      wanted: Whether the thread should make a video's inputs (False for a
        video that will be skipped).
    """
    self._events = prefetch.Prefetcher(
        self._produce(items, config, wanted), depth=1, name='features-inputs')
    self._head: Optional[_Event] = None

  @staticmethod
  def _produce(items: Sequence[VideoItem], config: ExtractionConfig,
               wanted: Callable[[VideoItem], bool]) -> Iterator[_Event]:
    for index, item in enumerate(items):
      if not wanted(item):
        continue
      inputs = None
      try:
        inputs = prepare_inputs(item, config)
        batches = iter(inputs.batches)
        batch = next(batches, None)
        while True:
          following = next(batches, None)
          yield _Event(index, inputs, batch, following is None)
          if following is None:
            break
          batch = following
      except Exception as e:  # pylint: disable=broad-except
        # Raised in the consumer, recorded as the video's failure there.
        yield _Event(index, inputs, None, True, e)

  def _peek(self) -> Optional[_Event]:
    if self._head is None:
      self._head = next(self._events, None)
    return self._head

  def _batches(self, index: int) -> Iterator[InputBatch]:
    while True:
      event = self._peek()
      if event is None or event.index != index:
        return
      self._head = None
      if event.error is not None:
        raise event.error
      if event.batch is not None:
        yield event.batch
      if event.last:
        return

  def inputs(self, index: int) -> Optional[VideoInputs]:
    """The inputs of video `items[index]`, or None if the thread skipped it."""
    while True:
      event = self._peek()
      if event is None or event.index > index:
        return None
      if event.index == index:
        break
      self._head = None  # The rest of a video not asked for, or cut short.
    made = event.inputs
    return VideoInputs(self._batches(index),
                       made.windowers if made else {},
                       made.info if made else {})

  def close(self) -> None:
    self._events.close()

  def __enter__(self) -> 'InputStream':
    return self

  def __exit__(self, *unused_exc_info: object) -> None:
    self.close()


@dataclasses.dataclass
class VideoFeatures:
  """The features of one video.

  Attributes:
    item: The input.
    features: stream -> float32 [num_windows, ...].
    windows: stream -> [num_windows, 2] (start, end) in seconds; a window of
      n frames starting at frame t spans [t, t + n) / 25.
    num_frames: stream -> frames (flow fields) the stream had at 25 fps.
    source_fps: Frame rate of the file (None for pre-made inputs).
    duration_s: Duration of the 25 fps stream in seconds.
    shorter_than_window: stream -> whether the stream was shorter than the
      window, hence one window of all its frames.
  """
  item: VideoItem
  features: Dict[str, np.ndarray]
  windows: Dict[str, np.ndarray]
  num_frames: Dict[str, int]
  source_fps: Optional[float]
  duration_s: Optional[float]
  shorter_than_window: Dict[str, bool] = dataclasses.field(
      default_factory=dict)


# ----------------------------------------------------------------------------
# Frame sources.
# ----------------------------------------------------------------------------

_NPY_MAGIC = b'\x93NUMPY'
_PREPROCESS_HINT = ('make model inputs with i3d-preprocess (smaller side 256, '
                    'centre crop 224) or pass the video itself')


def _open_premade(path: str) -> np.ndarray:
  """Memory-maps a pre-made .npy; a one-line error naming it otherwise."""
  try:
    with open(path, 'rb') as f:
      if f.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
        raise ExtractionError(
            f'{path}: not a valid .npy array (no .npy header); write model '
            'inputs with numpy.save, or ' + _PREPROCESS_HINT + '.')
      f.seek(0)
      version = np.lib.format.read_magic(f)
      if version == (1, 0):
        _, _, dtype = np.lib.format.read_array_header_1_0(f)
      else:
        _, _, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
      raise ExtractionError(
          f'{path}: not a valid .npy array of numbers (it holds Python '
          'objects, which are never unpickled).')
    return np.load(path, mmap_mode='r', allow_pickle=False)
  except OSError as e:
    raise ExtractionError(
        f'{path}: cannot be read ({e.strerror or e}).') from None
  except ValueError as e:
    if isinstance(e, ExtractionError):
      raise
    reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
    raise ExtractionError(
        f'{path}: not a valid .npy array ({reason}).') from None


def _check_premade(path: str, array: np.ndarray, stream: str,
                   config: ExtractionConfig) -> np.ndarray:
  """`array` as [T, H, W, C] if the network can take it; else an error."""
  if array.ndim == 5 and array.shape[0] == 1:
    array = array[0]
  channels = NUM_CHANNELS[stream]
  if array.ndim != 4 or array.shape[-1] != channels or array.dtype.kind != 'f':
    raise ExtractionError(
        f'{path}: expected float model inputs [T, H, W, {channels}] or '
        f'[1, T, H, W, {channels}] in [-1, 1], got {array.dtype} '
        f'{array.shape}.')
  height, width = array.shape[1:3]
  if config.endpoint == 'Logits' and (height, width) != (LOGITS_FRAME_SIZE,
                                                          LOGITS_FRAME_SIZE):
    raise ExtractionError(
        f'{path}: the logits need {LOGITS_FRAME_SIZE}x{LOGITS_FRAME_SIZE} '
        f'frames, got {height}x{width}; {_PREPROCESS_HINT}, or extract '
        'features of an endpoint before the logits (e.g. --endpoint=Mixed_5c '
        '--pooling=time), which take any frame size.')
  return array


def _premade_sources(item: VideoItem, config: ExtractionConfig):
  """Streams frames of `<name>_rgb.npy` / `<name>_flow.npy` (memory-mapped)."""
  available = dict(item.premade)
  arrays = {}
  for stream in config.streams:
    if stream not in available:
      raise ExtractionError(
          f'{item.path}{PREMADE_SUFFIXES[stream]} does not exist; the '
          f'{stream} stream needs it (or choose --streams accordingly).')
    path = available[stream]
    arrays[stream] = _check_premade(path, _open_premade(path), stream, config)

  def frames():
    for stream, array in arrays.items():
      for t in range(array.shape[0]):
        yield stream, np.asarray(array[t], np.float32)

  num_frames = max(a.shape[0] for a in arrays.values())
  return frames(), {'source_fps': None, 'duration_s': num_frames / FPS}


def _video_sources(path: str, config: ExtractionConfig):
  """Streams (stream, frame) of a video file, decoded once for both streams.

  Frames come from `preprocess.iter_model_input_frames`: 25 fps, smaller side
  `config.resize`, centre crop `config.crop`, flow by `config.flow_backend`;
  with flow, step t holds RGB frame t and the flow from frame t to t + 1, so
  N frames give N - 1 steps for both streams (N for RGB alone).
  """
  if not os.path.isfile(path):
    raise ExtractionError(f'{path}: no such file or folder.')
  info = {'source_fps': decode.source_fps(path), 'duration_s': None}

  def frames():
    steps = 0
    for step in preprocess.iter_model_input_frames(
        path, config.streams, fps=FPS, resize=config.resize,
        crop_size=config.crop, num_workers=config.flow_workers,
        flow_backend=config.flow_backend):
      steps += 1
      for stream in config.streams:
        yield stream, step[stream]
    # With flow the last frame has no step of its own but is still video.
    info['duration_s'] = (steps + ('flow' in config.streams)) / FPS

  return frames(), info


# ----------------------------------------------------------------------------
# Output files.
# ----------------------------------------------------------------------------


def _not_writable(output_dir: str, reason: str) -> ValueError:
  return ValueError(f'--output_dir={output_dir} cannot be written ({reason}); '
                    'choose a writable folder.')


class LocalStorage:
  """Atomic file operations on the local file system.

  `beam_pipeline` provides the same methods on Beam's file systems (GCS, S3,
  HDFS, ...).
  """

  def join(self, *parts: str) -> str:
    return os.path.join(*parts)

  def exists(self, path: str) -> bool:
    return os.path.exists(path)

  def makedirs(self, path: str) -> None:
    os.makedirs(path, exist_ok=True)

  def read_bytes(self, path: str) -> bytes:
    with open(path, 'rb') as f:
      return f.read()

  def list_names(self, folder: str) -> List[str]:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

  def write_bytes(self, path: str, data: bytes) -> None:
    """Writes under a temporary name in the same folder, then renames."""
    atomic_files.write_bytes(path, data)

  def remove_stale_temporaries(self, folder: str, name: str) -> None:
    """Removes temporaries of `name` a killed run left behind."""
    atomic_files.remove_temporaries(os.path.join(folder, name))

  def check_writable(self, output_dir: str) -> None:
    """Checks that `output_dir` can be made and written (a probe file).

    Raises:
      ValueError: Naming the folder and why not.
    """
    folder = atomic_files.nearest_existing(output_dir)
    if not os.path.isdir(folder):
      raise _not_writable(output_dir, f'{folder} is not a folder')
    for path in (output_dir, os.path.join(output_dir, RECORDS_DIR)):
      problem = atomic_files.write_problem(path, folder=True)
      if problem:
        raise _not_writable(output_dir, problem)


def output_names(key: str, config: ExtractionConfig) -> Dict[str, str]:
  """stream (or 'all' for .npz) -> file name of a video's features."""
  if config.output_format == 'npz':
    return {'all': f'{key}.npz'}
  return {s: f'{key}_{s}.npy' for s in config.streams}


def _npy_bytes(array: np.ndarray) -> bytes:
  buffer = io.BytesIO()
  np.save(buffer, array, allow_pickle=False)
  return buffer.getvalue()


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  return buffer.getvalue()



def _record_path(output_dir: str, key: str, storage) -> str:
  return storage.join(output_dir, RECORDS_DIR, f'{key}.json')


def _json_bytes(value: Any) -> bytes:
  return (json.dumps(value, indent=1, sort_keys=True) + '\n').encode()


def write_features(result: VideoFeatures, config: ExtractionConfig,
                   output_dir: str, storage=None) -> Dict[str, str]:
  """Writes a video's features atomically; returns stream -> file name."""
  storage = storage or LocalStorage()
  names = output_names(result.item.key, config)
  if config.output_format == 'npz':
    arrays = {}
    for stream in config.streams:
      arrays[stream] = result.features[stream].astype(np.float32)
      arrays[f'{stream}_windows'] = result.windows[stream]
    storage.write_bytes(storage.join(output_dir, names['all']),
                        _npz_bytes(arrays))
  else:
    for stream in config.streams:
      storage.write_bytes(storage.join(output_dir, names[stream]),
                          _npy_bytes(result.features[stream].astype(
                              np.float32)))
  return names


def make_record(item: VideoItem, config: ExtractionConfig,
                result: Optional[VideoFeatures] = None,
                names: Optional[Mapping[str, str]] = None,
                error: Optional[str] = None,
                elapsed_s: Optional[float] = None) -> Dict[str, Any]:
  """The manifest entry of one video (status 'ok' or 'failed')."""
  record = {
      'key': item.key,
      'video': item.source,
      'inputs': dict(item.premade) or None,
      'status': 'failed' if error else 'ok',
      'error': error,
      'endpoint': config.endpoint,
      'pooling': config.pooling,
      'window': config.window,
      'stride': config.effective_stride,
      'fps': FPS,
      'checkpoints': {s: config.checkpoint(s) for s in config.streams},
      # How the flow was made: algorithm, backend, parameters, version.
      'flow': config.flow_identity,
      # All the settings, so that a resume never takes features made with
      # other ones (left by an interrupted --overwrite run) as done.
      'settings': config.identity(),
      'elapsed_s': None if elapsed_s is None else round(elapsed_s, 3),
  }
  if result is not None:
    record['source_fps'] = result.source_fps
    record['duration_s'] = result.duration_s
    record['streams'] = {}
    for stream in config.streams:
      record['streams'][stream] = {
          'file': names.get(stream, names.get('all')),
          'shape': list(result.features[stream].shape),
          'num_frames': result.num_frames[stream],
          'windows': result.windows[stream].round(6).tolist(),
          # One window of all the frames: the video is shorter than
          # config.window.
          'shorter_than_window': bool(
              result.shorter_than_window.get(stream, False)),
      }
  return record


def is_done(item: VideoItem, config: ExtractionConfig, output_dir: str,
            storage=None) -> bool:
  """Whether a finished record made with these settings and its files exist."""
  storage = storage or LocalStorage()
  path = _record_path(output_dir, item.key, storage)
  if not storage.exists(path):
    return False
  try:
    record = json.loads(storage.read_bytes(path))
  except (OSError, ValueError):
    return False
  if (record.get('status') != 'ok' or record.get('video') != item.source or
      record.get('settings') != config.identity()):
    return False
  return all(
      storage.exists(storage.join(output_dir, name))
      for name in output_names(item.key, config).values())


def check_output_dir(output_dir: str, config: ExtractionConfig,
                     overwrite: bool = False, storage=None) -> None:
  """Refuses a folder that cannot be written or holds other features.

  Writes nothing: the folder and its settings file are made with the first
  features (`commit_settings`), so a run that fails before any video is done
  leaves nothing behind that would refuse the corrected re-run.

  Args:
    output_dir: The output folder.
    config: The settings.
    overwrite: Replace features made with other settings.
    storage: `LocalStorage` (default) or a Beam file-system storage.

  Raises:
    ValueError: If the folder cannot be written or holds features made with
      other settings (and not `overwrite`).
  """
  storage = storage or LocalStorage()
  config_path = storage.join(output_dir, CONFIG_NAME)
  identity = config.identity()
  try:
    if not overwrite and storage.exists(config_path):
      try:
        previous = json.loads(storage.read_bytes(config_path))
      except ValueError:
        previous = None
      if previous != identity:
        differ = sorted(k for k in set(identity) | set(previous or {})
                        if (previous or {}).get(k) != identity.get(k))
        raise ValueError(
            f'--output_dir={output_dir} holds features made with other '
            f'settings ({", ".join(differ)} differ; see {config_path}). Use '
            'another --output_dir, or --overwrite to replace them.')
    storage.check_writable(output_dir)
  except OSError as e:
    raise _not_writable(output_dir, e.strerror or str(e)) from e


def commit_settings(output_dir: str, config: ExtractionConfig,
                    storage=None) -> None:
  """Writes `extraction_config.json` unless it already holds these settings.

  Called with each video's features, before its record: the folder's
  settings file appears with the first committed output.

  Args:
    output_dir: The output folder (it exists).
    config: The settings.
    storage: `LocalStorage` (default) or a Beam file-system storage.
  """
  storage = storage or LocalStorage()
  path = storage.join(output_dir, CONFIG_NAME)
  data = _json_bytes(config.identity())
  if not storage.exists(path) or storage.read_bytes(path) != data:
    storage.write_bytes(path, data)


def write_manifest(output_dir: str, storage=None,
                   settings: Optional[Mapping[str, Any]] = None) -> str:
  """Rebuilds `manifest.jsonl` from the folder's records, atomically.

  Args:
    output_dir: The output folder.
    storage: `LocalStorage` (default) or a Beam file-system storage.
    settings: If given, only records made with these settings
      (`ExtractionConfig.identity()`) are listed; records another run left
      (e.g. failures with settings that were then changed) are not.

  Returns:
    The manifest's path.
  """
  storage = storage or LocalStorage()
  folder = storage.join(output_dir, RECORDS_DIR)
  lines = []
  for name in storage.list_names(folder):
    if not name.endswith('.json') or name.startswith('.'):
      continue
    try:
      record = json.loads(storage.read_bytes(storage.join(folder, name)))
    except (OSError, ValueError):
      continue
    if settings is not None and record.get('settings') != settings:
      continue
    lines.append(json.dumps(record, sort_keys=True))
  storage.makedirs(output_dir)
  path = storage.join(output_dir, MANIFEST_NAME)
  storage.write_bytes(path, ''.join(line + '\n' for line in lines).encode())
  return path


def _describe_error(error: BaseException) -> str:
  message = str(error).strip().splitlines()
  text = message[0] if message else ''
  if isinstance(error, tf.errors.OpError):
    text = error.message.strip().splitlines()[0]
  return f'{type(error).__name__}: {text}'


def process_item(item: VideoItem, extractor_fn: Callable[[], FeatureExtractor],
                 config: ExtractionConfig, output_dir: str,
                 overwrite: bool = False, storage=None,
                 localize: Optional[Callable[[str], Any]] = None,
                 inputs: Optional[VideoInputs] = None
                ) -> Tuple[str, Dict[str, Any]]:
  """Extracts, writes and records one video; never raises for a bad video.

  Args:
    item: The video.
    extractor_fn: Returns the (shared, lazily built) extractor.
    config: The settings.
    output_dir: The output folder (checked with `check_output_dir`).
    overwrite: Recompute even if finished outputs exist.
    storage: `LocalStorage` (default) or a Beam file-system storage.
    localize: Optional context manager factory: path -> a local copy's path
      (for videos on remote file systems).
    inputs: The video's inputs if already being made (`InputStream`).

  Returns:
    ('ok' | 'failed' | 'skipped', the video's record).
  """
  storage = storage or LocalStorage()
  record_path = _record_path(output_dir, item.key, storage)
  if not overwrite and is_done(item, config, output_dir, storage):
    return 'skipped', json.loads(storage.read_bytes(record_path))
  if isinstance(storage, LocalStorage):
    for name in output_names(item.key, config).values():
      storage.remove_stale_temporaries(output_dir, name)
    storage.remove_stale_temporaries(storage.join(output_dir, RECORDS_DIR),
                                     f'{item.key}.json')
  begin = time.monotonic()
  extractor = extractor_fn()
  try:
    if localize is not None and not item.is_premade:
      with localize(item.path) as local_path:
        result = extractor.extract(item, read_path=local_path)
    else:
      result = extractor.extract(item, inputs=inputs)
    storage.makedirs(output_dir)
    names = write_features(result, config, output_dir, storage)
    commit_settings(output_dir, config, storage)
    record = make_record(item, config, result, names,
                         elapsed_s=time.monotonic() - begin)
  except (KeyboardInterrupt, SystemExit):
    raise
  except Exception as e:  # pylint: disable=broad-except
    # Whatever one video does, the batch goes on; the error is recorded.
    logging.warning('Failed: %s: %s', item.source, _describe_error(e))
    record = make_record(item, config, error=_describe_error(e),
                         elapsed_s=time.monotonic() - begin)
  storage.makedirs(storage.join(output_dir, RECORDS_DIR))
  storage.write_bytes(record_path, _json_bytes(record))
  return record['status'], record


@dataclasses.dataclass
class Summary:
  """Counts of a run; `failures` lists (video, error)."""
  succeeded: int = 0
  failed: int = 0
  skipped: int = 0
  failures: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
  manifest: Optional[str] = None
  elapsed_s: float = 0.

  def add(self, status: str, record: Mapping[str, Any]) -> None:
    if status == 'ok':
      self.succeeded += 1
    elif status == 'skipped':
      self.skipped += 1
    else:
      self.failed += 1
      self.failures.append((record['video'], record['error']))

  def counts(self) -> str:
    return (f'{self.succeeded} succeeded, {self.failed} failed, '
            f'{self.skipped} skipped')

  def __str__(self) -> str:
    total = self.succeeded + self.failed + self.skipped
    return (f'{total} videos: {self.succeeded} succeeded, {self.failed} '
            f'failed, {self.skipped} skipped (already done) in '
            f'{self.elapsed_s:.1f} s.')


def run(items: Sequence[VideoItem], config: ExtractionConfig,
        output_dir: str, extractor: Optional[FeatureExtractor] = None,
        overwrite: bool = False, progress: bool = True) -> Summary:
  """Extracts features of `items` into `output_dir`, resumably.

  Everything is checked before anything is written: the checkpoint
  settings, the folder (writable; not holding features made with other
  settings) and the checkpoints themselves, loaded when the first unfinished
  video comes. The folder and its settings file are written with the first
  features.

  Args:
    items: The videos (e.g. one shard of `resolve_inputs`).
    config: The settings.
    output_dir: Output folder (created with the first output).
    extractor: A ready extractor; by default one is built (checkpoints
      loaded) when the first unfinished video comes.
    overwrite: Recompute finished videos and replace features made with other
      settings.
    progress: Show a progress bar (videos/s, time left) when stderr is a
      terminal; progress is logged every few seconds either way.

  Returns:
    The counts; the manifest is rebuilt at the end.

  Raises:
    ValueError: If `output_dir` cannot be written or holds other features.
    checkpoints.CheckpointError: If a checkpoint cannot be loaded.
  """
  begin = time.monotonic()
  if extractor is None:
    check_checkpoints(config)
  check_output_dir(output_dir, config, overwrite)
  holder = [extractor]

  def extractor_fn():
    if holder[0] is None:
      holder[0] = FeatureExtractor(config)
    return holder[0]

  logging.info('Extracting %s features (%s) of %d videos into %s.',
               config.endpoint, ','.join(config.streams), len(items),
               output_dir)
  summary = Summary()

  def wanted(item):
    return overwrite or not is_done(item, config, output_dir)

  with progress_lib.Progress(
      'Features', len(items), 'video',
      bar=progress and sys.stderr.isatty()) as report, InputStream(
          items, config, wanted) as stream:
    try:
      for index, item in enumerate(items):
        if holder[0] is None and wanted(item):
          # Loading the checkpoint is a setting error for the whole run,
          # not a failure of this video: let it raise, before anything is
          # written.
          extractor_fn()
        status, record = process_item(item, extractor_fn, config, output_dir,
                                      overwrite, inputs=stream.inputs(index))
        summary.add(status, record)
        report.set_note(summary.counts())
        report.update()
    except KeyboardInterrupt:
      # Ctrl-C: the manifest lists the videos finished so far.
      if os.path.isdir(output_dir):
        write_manifest(output_dir, settings=config.identity())
      raise
  summary.manifest = write_manifest(output_dir, settings=config.identity())
  summary.elapsed_s = time.monotonic() - begin
  return summary
