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
into windows of `--window` frames every `--stride` frames (the last window is
moved back to end at the last frame unless `--nocover_tail`), so every output
has a leading windows axis: [num_windows, T', C], [num_windows, C] or
[num_windows, num_classes]; `--window=0` takes the whole video as one window.
Frames are streamed through the windows: memory stays flat in video length
(only one window per stream plus one batch of windows is held at a time).

Inputs are video files, folders (searched recursively), globs, list files
(`.txt`, one path per line) or pre-computed model inputs `<name>_rgb.npy` /
`<name>_flow.npy` ([1, T, H, W, C] or [T, H, W, C] in [-1, 1], as the
original's sample) read by memory map.

Output, in `--output_dir`:

* `<name>_rgb.npy` and/or `<name>_flow.npy` (or `<name>.npz` with arrays
  'rgb', 'flow', 'rgb_windows', 'flow_windows'), float32 features;
* `records/<name>.json`: the record of one video (written last, atomically,
  so it marks a finished video);
* `manifest.jsonl`: every record, one JSON object per line, rebuilt at the
  end of each run: video path, source fps, duration, windows [start, end]
  in seconds, endpoint, pooling, checkpoints, feature shapes, status, error;
* `extraction_config.json`: the settings the folder's features were made
  with; a later run with other settings is refused (use another folder or
  `--overwrite`).

Every file is written under a temporary name and renamed into place, so a
killed run leaves no partial output; re-running the same command skips the
videos whose record and outputs exist, and retries failed ones. A video that
fails is recorded with its error and the run goes on; the exit status is
non-zero when any video failed. `--shard_index/--num_shards` split the sorted
video list round-robin, for array jobs on any scheduler; `beam_pipeline.py`
runs the same extraction on Apache Beam runners.

Examples:

  python extract_features.py --inputs='videos/**/*.mp4' --output_dir=feats
  python extract_features.py --inputs=list.txt --streams=both \
      --rgb_checkpoint=rgb_imagenet --flow_checkpoint=flow_imagenet \
      --window=64 --stride=32 --pooling=clip --output_dir=feats
  python extract_features.py --inputs=data --endpoint=Logits \
      --pooling=logits --output_dir=logits
"""

import collections
import dataclasses
import glob
import hashlib
import io
import json
import os
import sys
import time
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping,
                    Optional, Sequence, Tuple)

from absl import app
from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

import atomic_files
import i3d

# Frames are resampled to the rate the checkpoints were trained at.
FPS = 25.

STREAMS = ('rgb', 'flow')
STREAM_CHOICES = {'rgb': ('rgb',), 'flow': ('flow',), 'both': ('rgb', 'flow')}
NUM_CHANNELS = {'rgb': 3, 'flow': 2}
_A_STREAM = {'rgb': 'an RGB', 'flow': 'a flow'}
POOLINGS = ('time', 'clip', 'logits')
# Endpoints whose activations can be pooled: everything before the head.
FEATURE_ENDPOINTS = i3d.VALID_ENDPOINTS[:i3d.VALID_ENDPOINTS.index('Logits')]
ENDPOINTS = FEATURE_ENDPOINTS + ('Logits',)
OUTPUT_FORMATS = ('npy', 'npz')

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
    window: Frames (at 25 fps) per window; 0 for the whole video.
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
    checkpoint_dir: Where named checkpoints live.
    output_format: 'npy' (one file per stream) or 'npz' (one per video).
    flow_workers: Processes computing TV-L1 flow.
    fast: Run an inference-only copy with BatchNorm folded into the
      convolutions (`fast_inference.py`): the same features within float32
      round-off, faster on CPU.
  """
  endpoint: str = 'Mixed_5c'
  pooling: str = 'time'
  streams: Tuple[str, ...] = ('rgb',)
  window: int = 64
  stride: int = 0
  cover_tail: bool = True
  batch_size: int = 4
  resize: int = 256
  crop: int = 224
  rgb_checkpoint: str = 'rgb_scratch'
  flow_checkpoint: str = 'flow_imagenet'
  checkpoint_dir: str = os.path.join('data', 'checkpoints')
  output_format: str = 'npy'
  flow_workers: int = 1
  fast: bool = False

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
      if self.crop != 224:
        raise ValueError(f'crop: the logits need 224x224 frames, got '
                         f'--crop={self.crop}.')
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

  @property
  def effective_stride(self) -> int:
    return self.stride or self.window

  def checkpoint(self, stream: str) -> str:
    return self.rgb_checkpoint if stream == 'rgb' else self.flow_checkpoint

  def identity(self) -> Dict[str, Any]:
    """The settings that decide output values (not speed or paths)."""
    return {
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
  """First frames of the windows over a stream of `num_frames` frames.

  Args:
    num_frames: Length of the stream.
    window: Frames per window (> 0).
    stride: Frames between consecutive starts (> 0).
    cover_tail: Whether to add a window ending at the last frame when the
      regular windows stop earlier.

  Returns:
    Start indices; empty if `num_frames < window`.
  """
  if num_frames < window:
    return []
  starts = list(range(0, num_frames - window + 1, stride))
  if cover_tail and starts[-1] + window < num_frames:
    starts.append(num_frames - window)
  return starts


def _too_short(what: str, num_frames: int, window: int) -> ExtractionError:
  return ExtractionError(
      f'{what} has {num_frames} frames at {FPS:g} fps '
      f'({num_frames / FPS:.2f} s), fewer than --window={window}; use a '
      'smaller --window, or --window=0 for whole videos.')


class Windower:
  """Cuts a stream of frames into windows, holding at most one window.

  Frames are pushed one at a time; completed windows come back from `push`
  and, for the tail window, from `finish`. Together they are exactly the
  windows of `window_starts(number of frames pushed, ...)`.
  """

  def __init__(self, window: int, stride: int, cover_tail: bool = True,
               what: str = 'the video'):
    """Initializes an empty stream.

    Args:
      window: Frames per window; 0 for one window holding the whole stream
        (memory then grows with the stream).
      stride: Frames between window starts (> 0 when `window` > 0).
      cover_tail: See `window_starts`.
      what: How to call the stream in errors.
    """
    if window > 0 and stride < 1:
      raise ValueError(f'stride must be >= 1, got {stride}.')
    self._window = window
    self._stride = stride
    self._cover_tail = cover_tail
    self._what = what
    # Invariant: the buffer holds frames [buffer_start, count).
    self._buffer = collections.deque()
    self._buffer_start = 0
    self._count = 0
    self._next_start = 0
    self._last_start = None

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
      ExtractionError: If the stream is empty or shorter than the window.
    """
    if self._count == 0:
      raise ExtractionError(f'{self._what} has no frames.')
    if self._window == 0:
      clip = np.stack(self._buffer)
      self._buffer.clear()
      return [(0, clip)]
    if self._count < self._window:
      raise _too_short(self._what, self._count, self._window)
    if self._cover_tail and self._last_start + self._window < self._count:
      return [(self._count - self._window,
               self._clip(self._count - self._window))]
    return []


def iter_windows(frames: Iterable[np.ndarray], window: int, stride: int,
                 cover_tail: bool = True, what: str = 'the video'
                ) -> Iterator[Tuple[int, np.ndarray]]:
  """Yields (start, clip [window, H, W, C]) of a frame stream; see Windower."""
  windower = Windower(window, stride, cover_tail, what)
  for frame in frames:
    yield from windower.push(frame)
  yield from windower.finish()


def _batched(windows: Iterable[Tuple[int, np.ndarray]], batch_size: int
            ) -> Iterator[Tuple[List[int], np.ndarray]]:
  starts, clips = [], []
  for start, clip in windows:
    starts.append(start)
    clips.append(clip)
    if len(clips) == batch_size:
      yield starts, np.stack(clips)
      starts, clips = [], []
  if clips:
    yield starts, np.stack(clips)
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
  """
  if isinstance(model, i3d.InceptionI3d):
    return lambda clips: model(clips, is_training=False)
  if not callable(model):
    raise ValueError(f'Expected an i3d.InceptionI3d or a callable network, '
                     f'got {type(model).__name__}.')
  return model


def check_checkpoints(config: ExtractionConfig) -> None:
  """Cheap checks of the checkpoint settings, before any worker starts.

  Raises:
    checkpoints.CheckpointError: For a released checkpoint of the other
      stream, or a checkpoint path without its `.index` file.
  """
  import checkpoints  # pylint: disable=g-import-not-at-top
  for stream in config.streams:
    name = config.checkpoint(stream)
    spec = checkpoints.ORIGINAL_CHECKPOINTS.get(name)
    if spec is not None:
      if spec.stream != stream:
        fitting = sorted(n for n, s in checkpoints.ORIGINAL_CHECKPOINTS.items()
                         if s.stream == stream)
        raise checkpoints.CheckpointError(
            f'--{stream}_checkpoint={name} is {_A_STREAM[spec.stream]} '
            f'checkpoint; the {stream} stream needs one of {fitting}.')
    elif not tf.io.gfile.exists(name + '.index'):
      raise checkpoints.CheckpointError(
          f'--{stream}_checkpoint={name} is neither a released checkpoint '
          f'({sorted(checkpoints.ORIGINAL_CHECKPOINTS)}) nor a checkpoint '
          f'prefix (no {name}.index).')


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
  model = build_model(config, stream)
  if config.fast:
    import fast_inference  # pylint: disable=g-import-not-at-top
    # 'eager': the extractor traces the whole pooled pass itself.
    return fast_inference.fold_batch_norm(model, mode='eager')
  return as_network(model)


def build_model(config: ExtractionConfig, stream: str) -> i3d.InceptionI3d:
  """Loads the checkpoint of one stream into a model ending at the endpoint.

  Raises:
    checkpoints.CheckpointError: As `build_network`.
  """
  import checkpoints  # pylint: disable=g-import-not-at-top
  check_checkpoints(dataclasses.replace(config, streams=(stream,)))
  name = config.checkpoint(stream)
  if name in checkpoints.ORIGINAL_CHECKPOINTS:
    return checkpoints.build_model(
        name, final_endpoint=config.endpoint,
        checkpoint_dir=config.checkpoint_dir)
  return _load_checkpoint_file(checkpoints, name, stream, config.endpoint)


def _load_checkpoint_file(checkpoints, prefix: str, stream: str,
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
  traced once per stream for any batch size and frame size.
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

  def _pooled_forward(self, stream: str, clip_shape: Tuple[int, int, int]):
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
    i3d.validate_inputs(clips, final_endpoint=self._config.endpoint,
                        num_channels=NUM_CHANNELS[stream],
                        name=f'{stream} windows')
    clip_shape = tuple(clips.shape[1:4])
    if self._config.window == 0:
      # Whole videos differ in length: one trace with an open time axis.
      clip_shape = (None, *clip_shape[1:])
    forward = self._pooled_forward(stream, clip_shape)
    return forward(tf.constant(clips)).numpy()

  def extract(self, item: VideoItem,
              read_path: Optional[str] = None) -> 'VideoFeatures':
    """Features of every window of every stream of one video.

    Args:
      item: A video file or pre-made inputs.
      read_path: Read the video from this (local) file instead of
        `item.path` (Beam workers copy remote files first).

    Returns:
      The features and where their windows lie.

    Raises:
      ExtractionError, preprocess.PreprocessError, OSError, ValueError: For
        an input that cannot be read or is too short.
    """
    config = self._config
    if item.is_premade:
      sources, info = _premade_sources(item, config)
    else:
      sources, info = _video_sources(read_path or item.path, config)
    windowers = {
        s: Windower(config.window, config.effective_stride, config.cover_tail,
                    f'{s} stream of {item.path}') for s in config.streams
    }
    pending = {s: [] for s in config.streams}
    starts = {s: [] for s in config.streams}
    outputs = {s: [] for s in config.streams}

    def flush(stream, final=False):
      while pending[stream] and (final or
                                 len(pending[stream]) >= config.batch_size):
        batch = pending[stream][:config.batch_size]
        del pending[stream][:config.batch_size]
        starts[stream].extend(start for start, _ in batch)
        outputs[stream].append(
            self.features(stream, np.stack([clip for _, clip in batch])))

    # Sources yield (stream, frame) in decoding order, so both streams are
    # windowed while the video is read once.
    for stream, frame in sources:
      pending[stream].extend(windowers[stream].push(frame))
      flush(stream)
    for stream in config.streams:
      pending[stream].extend(windowers[stream].finish())
      flush(stream, final=True)

    window = {s: config.window or windowers[s].count for s in config.streams}
    return VideoFeatures(
        item=item,
        features={s: np.concatenate(outputs[s]) for s in config.streams},
        windows={
            s: np.array([[t / FPS, (t + window[s]) / FPS] for t in starts[s]],
                        np.float64) for s in config.streams
        },
        num_frames={s: windowers[s].count for s in config.streams},
        source_fps=info.get('source_fps'),
        duration_s=info.get('duration_s'),
    )


@dataclasses.dataclass
class VideoFeatures:
  """The features of one video.

  Attributes:
    item: The input.
    features: stream -> float32 [num_windows, ...].
    windows: stream -> [num_windows, 2] (start, end) in seconds; a window
      starting at frame t spans [t, t + window) / 25.
    num_frames: stream -> frames (flow fields) the stream had at 25 fps.
    source_fps: Frame rate of the file (None for pre-made inputs).
    duration_s: Duration of the 25 fps stream in seconds.
  """
  item: VideoItem
  features: Dict[str, np.ndarray]
  windows: Dict[str, np.ndarray]
  num_frames: Dict[str, int]
  source_fps: Optional[float]
  duration_s: Optional[float]


# ----------------------------------------------------------------------------
# Frame sources.
# ----------------------------------------------------------------------------


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
    try:
      array = np.load(path, mmap_mode='r', allow_pickle=False)
    except (OSError, ValueError) as e:
      raise ExtractionError(f'{path}: not a readable .npy array ({e}).') from e
    if array.ndim == 5 and array.shape[0] == 1:
      array = array[0]
    channels = NUM_CHANNELS[stream]
    if array.ndim != 4 or array.shape[-1] != channels or array.dtype.kind != 'f':
      raise ExtractionError(
          f'{path}: expected float model inputs [T, H, W, {channels}] or '
          f'[1, T, H, W, {channels}] in [-1, 1], got {array.dtype} '
          f'{array.shape}.')
    arrays[stream] = array

  def frames():
    for stream, array in arrays.items():
      for t in range(array.shape[0]):
        yield stream, np.asarray(array[t], np.float32)

  num_frames = max(a.shape[0] for a in arrays.values())
  return frames(), {'source_fps': None, 'duration_s': num_frames / FPS}


def _source_fps(path: str) -> Optional[float]:
  """The frame rate a file declares (None if it declares none)."""
  import av  # pylint: disable=g-import-not-at-top
  try:
    with av.open(path) as container:
      rate = container.streams.video[0].average_rate
      return float(rate) if rate else None
  except (av.error.FFmpegError, OSError, IndexError):
    return None  # Decoding reports the problem.


def _video_sources(path: str, config: ExtractionConfig):
  """Streams (stream, frame) of a video file, decoded once for both streams.

  Frames come from `preprocess.iter_model_input_frames`: 25 fps, smaller side
  `config.resize`, centre crop `config.crop`; with flow, step t holds RGB
  frame t and the flow from frame t to t + 1, so N frames give N - 1 steps
  for both streams (N for RGB alone).
  """
  import preprocess  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(path):
    raise ExtractionError(f'{path}: no such file or folder.')
  info = {'source_fps': _source_fps(path), 'duration_s': None}

  def frames():
    steps = 0
    for step in preprocess.iter_model_input_frames(
        path, config.streams, fps=FPS, resize=config.resize,
        crop_size=config.crop, num_workers=config.flow_workers):
      steps += 1
      for stream in config.streams:
        yield stream, step[stream]
    # With flow the last frame has no step of its own but is still video.
    info['duration_s'] = (steps + ('flow' in config.streams)) / FPS

  return frames(), info


# ----------------------------------------------------------------------------
# Output files.
# ----------------------------------------------------------------------------


class LocalStorage:
  """Atomic file operations on the local file system.

  `beam_pipeline.py` provides the same methods on Beam's file systems (GCS,
  S3, HDFS, ...).
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
      'video': item.path,
      'inputs': dict(item.premade) or None,
      'status': 'failed' if error else 'ok',
      'error': error,
      'endpoint': config.endpoint,
      'pooling': config.pooling,
      'window': config.window,
      'stride': config.effective_stride,
      'fps': FPS,
      'checkpoints': {s: config.checkpoint(s) for s in config.streams},
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
      }
  return record


def is_done(item: VideoItem, config: ExtractionConfig, output_dir: str,
            storage=None) -> bool:
  """Whether a finished record and all its output files exist."""
  storage = storage or LocalStorage()
  path = _record_path(output_dir, item.key, storage)
  if not storage.exists(path):
    return False
  try:
    record = json.loads(storage.read_bytes(path))
  except (OSError, ValueError):
    return False
  if (record.get('status') != 'ok' or record.get('video') != item.path or
      record.get('settings') != config.identity()):
    return False
  return all(
      storage.exists(storage.join(output_dir, name))
      for name in output_names(item.key, config).values())


def prepare_output_dir(output_dir: str, config: ExtractionConfig,
                       overwrite: bool = False, storage=None) -> None:
  """Creates the folder, checks it is writable and holds no other features.

  Args:
    output_dir: The output folder.
    config: The settings; saved as `extraction_config.json`.
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
    storage.makedirs(output_dir)
    storage.makedirs(storage.join(output_dir, RECORDS_DIR))
    if storage.exists(config_path) and not overwrite:
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
    # Writing the settings is also the check that the folder is writable.
    storage.write_bytes(config_path, _json_bytes(identity))
  except OSError as e:
    raise ValueError(f'--output_dir={output_dir} cannot be written '
                     f'({e.strerror or e}); choose a writable folder.') from e


def write_manifest(output_dir: str, storage=None) -> str:
  """Rebuilds `manifest.jsonl` from every record in the folder, atomically.

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
    lines.append(json.dumps(record, sort_keys=True))
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
                 localize: Optional[Callable[[str], Any]] = None
                ) -> Tuple[str, Dict[str, Any]]:
  """Extracts, writes and records one video; never raises for a bad video.

  Args:
    item: The video.
    extractor_fn: Returns the (shared, lazily built) extractor.
    config: The settings.
    output_dir: The output folder (prepared with `prepare_output_dir`).
    overwrite: Recompute even if finished outputs exist.
    storage: `LocalStorage` (default) or a Beam file-system storage.
    localize: Optional context manager factory: path -> a local copy's path
      (for videos on remote file systems).

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
      result = extractor.extract(item)
    names = write_features(result, config, output_dir, storage)
    record = make_record(item, config, result, names,
                         elapsed_s=time.monotonic() - begin)
  except (KeyboardInterrupt, SystemExit):
    raise
  except Exception as e:  # pylint: disable=broad-except
    # Whatever one video does, the batch goes on; the error is recorded.
    logging.warning('Failed: %s: %s', item.path, _describe_error(e))
    record = make_record(item, config, error=_describe_error(e),
                         elapsed_s=time.monotonic() - begin)
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

  def __str__(self) -> str:
    total = self.succeeded + self.failed + self.skipped
    return (f'{total} videos: {self.succeeded} succeeded, {self.failed} '
            f'failed, {self.skipped} skipped (already done) in '
            f'{self.elapsed_s:.1f} s.')


def run(items: Sequence[VideoItem], config: ExtractionConfig,
        output_dir: str, extractor: Optional[FeatureExtractor] = None,
        overwrite: bool = False, progress: bool = True) -> Summary:
  """Extracts features of `items` into `output_dir`, resumably.

  Args:
    items: The videos (e.g. one shard of `resolve_inputs`).
    config: The settings.
    output_dir: Output folder (created if needed).
    extractor: A ready extractor; by default one is built (checkpoints
      loaded) when the first unfinished video comes.
    overwrite: Recompute finished videos and replace features made with other
      settings.
    progress: Show a progress bar (videos/s, time left) on stderr.

  Returns:
    The counts; the manifest is rebuilt at the end.

  Raises:
    ValueError: If `output_dir` cannot be written or holds other features.
    checkpoints.CheckpointError: If a checkpoint cannot be loaded.
  """
  import tqdm  # pylint: disable=g-import-not-at-top
  begin = time.monotonic()
  if extractor is None:
    check_checkpoints(config)
  prepare_output_dir(output_dir, config, overwrite)
  holder = [extractor]

  def extractor_fn():
    if holder[0] is None:
      holder[0] = FeatureExtractor(config)
    return holder[0]

  if any(not item.is_premade for item in items):
    # Imported here, not per video: a broken import is an error of the run,
    # not a failure of every video.
    import preprocess  # pylint: disable=g-import-not-at-top,unused-import
  summary = Summary()
  bar = tqdm.tqdm(items, unit='video', disable=not progress, file=sys.stderr,
                  dynamic_ncols=True)
  for item in bar:
    if holder[0] is None and not (not overwrite and
                                  is_done(item, config, output_dir)):
      # Loading the checkpoint is a setting error for the whole run, not a
      # failure of this video: let it raise.
      extractor_fn()
    status, record = process_item(item, extractor_fn, config, output_dir,
                                  overwrite)
    summary.add(status, record)
    bar.set_postfix(ok=summary.succeeded, failed=summary.failed,
                    skipped=summary.skipped, refresh=False)
  bar.close()
  summary.manifest = write_manifest(output_dir)
  summary.elapsed_s = time.monotonic() - begin
  return summary


# ----------------------------------------------------------------------------
# Command line.
# ----------------------------------------------------------------------------


def define_flags() -> None:
  """Defines the extraction flags (shared with beam_pipeline.py)."""
  flags.DEFINE_list(
      'inputs', None,
      'Comma-separated video files, folders (searched recursively), globs '
      "(quote them; '**' is recursive), list files (.txt: one path per line) "
      'or pre-made <name>_rgb.npy / <name>_flow.npy model inputs.')
  flags.DEFINE_string('output_dir', None,
                      'Folder for the features, records and manifest.jsonl.')
  flags.DEFINE_enum('endpoint', 'Mixed_5c', ENDPOINTS,
                    "Endpoint whose activations are the features ('Logits' "
                    "goes with --pooling=logits).")
  flags.DEFINE_enum(
      'pooling', 'time', POOLINGS,
      "'time': spatial mean per temporal step [T', C]; 'clip': mean over the "
      "window [C]; 'logits': the classifier's logits (endpoint Logits).")
  flags.DEFINE_enum('streams', 'rgb', sorted(STREAM_CHOICES),
                    'Which streams: rgb, flow (TV-L1, slow) or both.')
  flags.DEFINE_integer(
      'window', 64, 'Frames (at 25 fps) per window; 0 for the whole video '
      '(memory then grows with the video).', lower_bound=0)
  flags.DEFINE_integer('stride', None,
                       'Frames between window starts; default --window.',
                       lower_bound=1)
  flags.DEFINE_bool(
      'cover_tail', True, 'Add a last window ending at the last frame when '
      'the strided windows stop before it.')
  flags.DEFINE_integer('batch_size', 4, 'Windows per forward pass.',
                       lower_bound=1)
  flags.DEFINE_integer('resize', 256,
                       'Smaller side of the resized frames, in pixels.',
                       lower_bound=1)
  flags.DEFINE_integer('crop', 224,
                       'Side of the centre crop fed to the network (224 for '
                       'the logits).', lower_bound=1)
  flags.DEFINE_string(
      'rgb_checkpoint', 'rgb_scratch',
      'RGB checkpoint: a released name (rgb_imagenet, rgb_scratch, '
      'rgb_scratch_kin600) or the prefix of a TF1 checkpoint file.')
  flags.DEFINE_string(
      'flow_checkpoint', 'flow_imagenet',
      'Flow checkpoint: a released name (flow_imagenet, flow_scratch) or the '
      'prefix of a TF1 checkpoint file.')
  flags.DEFINE_string('checkpoint_dir', os.path.join('data', 'checkpoints'),
                      'Folder of the released checkpoints.')
  flags.DEFINE_enum('output_format', 'npy', OUTPUT_FORMATS,
                    'npy: <name>_<stream>.npy per stream; npz: <name>.npz '
                    'with features and window times.')
  flags.DEFINE_integer('flow_workers', 1,
                       'Processes computing TV-L1 optical flow.',
                       lower_bound=1)
  flags.DEFINE_bool(
      'fast', False, 'Fold BatchNorm into the convolutions '
      '(fast_inference.py): the same features within float32 round-off, '
      'faster on CPU.')


def config_from_flags(flag_values=None) -> ExtractionConfig:
  """Builds the settings from parsed flags.

  Raises:
    ValueError: For inconsistent flags.
  """
  f = flag_values or flags.FLAGS
  endpoint, pooling = f.endpoint, f.pooling
  # --pooling=logits alone means endpoint Logits, and --endpoint=Logits alone
  # means the logits pooling.
  if pooling == 'logits' and not f['endpoint'].present:
    endpoint = 'Logits'
  if endpoint == 'Logits' and not f['pooling'].present:
    pooling = 'logits'
  return ExtractionConfig(
      endpoint=endpoint,
      pooling=pooling,
      streams=STREAM_CHOICES[f.streams],
      window=f.window,
      stride=f.stride or 0,
      cover_tail=f.cover_tail,
      batch_size=f.batch_size,
      resize=f.resize,
      crop=f.crop,
      rgb_checkpoint=f.rgb_checkpoint,
      flow_checkpoint=f.flow_checkpoint,
      checkpoint_dir=f.checkpoint_dir,
      output_format=f.output_format,
      flow_workers=f.flow_workers,
      fast=f.fast)


def main(argv):
  del argv
  f = flags.FLAGS
  if not f.inputs:
    raise app.UsageError('--inputs is required: video files, folders, globs '
                         'or list files.')
  if not f.output_dir:
    raise app.UsageError('--output_dir is required.')
  import checkpoints  # pylint: disable=g-import-not-at-top
  try:
    config = config_from_flags(f)
    items = resolve_inputs(f.inputs)
    items = shard(items, f.shard_index, f.num_shards)
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  try:
    summary = run(items, config, f.output_dir, overwrite=f.overwrite,
                  progress=f.progress)
  except (ValueError, checkpoints.CheckpointError) as e:
    # A folder that cannot be written, a checkpoint that cannot be loaded.
    raise SystemExit(f'Error: {e}') from None
  print(summary)
  print(f'Manifest: {summary.manifest}')
  if summary.failed:
    for video, error in summary.failures:
      print(f'FAILED {video}: {error}', file=sys.stderr)
    raise SystemExit(f'{summary.failed} video(s) failed; their errors are in '
                     f'{summary.manifest}. Re-run the same command to retry '
                     'them (finished videos are skipped).')


if __name__ == '__main__':
  define_flags()
  flags.DEFINE_integer('shard_index', 0,
                       'Which shard of the sorted inputs this process runs.',
                       lower_bound=0)
  flags.DEFINE_integer('num_shards', 1,
                       'Number of shards (e.g. the size of an array job).',
                       lower_bound=1)
  flags.DEFINE_bool('overwrite', False,
                    'Recompute finished videos and replace features made '
                    'with other settings.')
  flags.DEFINE_bool('progress', True,
                    'Show a progress bar (videos/s, time left) on stderr.')
  flags.mark_flags_as_required(['inputs', 'output_dir'])
  app.run(main)
