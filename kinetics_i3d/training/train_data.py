"""Training and evaluation input pipeline for I3D.

Implements the data side of the training recipe of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

as the kinetics-i3d README describes it: frames at 25 fps, the smaller side
resized to 256, random 224x224 crops and random temporal windows for
training, centre crops for evaluation, videos looped when shorter than the
window. Left-right flips augment both streams; flipping a flow field also
negates its horizontal component.

Decoding, and above all TV-L1 flow, are expensive, so every video is
preprocessed once (`kinetics_i3d.video.decode`, `kinetics_i3d.flow.backends`,
in a parallel `tf.data` pass) into an on-disk cache of uint8 arrays:

* RGB: [T, H, W, 3] frames at 25 fps, smaller side `resize`;
* flow: [T - 1, H, W, 2] TV-L1 fields (frame t -> t + 1) at that size,
  quantised to 8 bits over [-20, 20] pixels as the paper's pipeline stored
  them (`preprocess.quantize_flow`).

A cache file is keyed on the video (path, size, modification time), the
stream, the size and, for flow, the identity of the TV-L1 implementation
(`backends.identity`: backend, parameters, library version), so that a
change of algorithm never reuses stale flow.

Training clips are a pure function of `(seed, step, slot)` (which video,
window, crop and flip), so that a resumed run reads exactly the clips an
uninterrupted run would have read, however many workers prefetch them.
"""

import collections
import concurrent.futures
import dataclasses
import functools
import hashlib
import json
import os
import re
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from absl import logging
import numpy as np
import tensorflow as tf

from kinetics_i3d import streams
from kinetics_i3d.flow import backends
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.utils import progress as progress_lib
from kinetics_i3d.video import decode
from kinetics_i3d.video import preprocess

STREAMS = streams.STREAMS
STREAM_CHANNELS = streams.CHANNELS
VIDEO_EXTENSIONS = ('.avi', '.mp4', '.mkv', '.mov', '.webm', '.mpg', '.mpeg',
                    '.m4v', '.ogv')
# Bump when the cached arrays change meaning, so stale caches are not reused.
CACHE_VERSION = 1


class DatasetError(config_lib.TrainError):
  """A dataset that cannot be used: no videos, bad labels, bad split file."""


@dataclasses.dataclass(frozen=True)
class Example:
  """One labelled video."""
  path: str
  label: int


@dataclasses.dataclass(frozen=True)
class CachedExample:
  """A labelled video with its preprocessed array in the cache."""
  path: str
  label: int
  cache_path: str


def _is_video(name: str) -> bool:
  return name.lower().endswith(VIDEO_EXTENSIONS)


def _subfolders(root: str) -> List[str]:
  return sorted(
      d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))


def list_video_folder(root: str) -> Tuple[List[Example], List[str]]:
  """Lists a UCF101-style folder: one subfolder of videos per class.

  Classes are the subfolder names in sorted order; label i is the i-th.

  Args:
    root: The dataset folder.

  Returns:
    `(examples, class_names)`, examples sorted by path.

  Raises:
    DatasetError: If `root` is not a folder or holds no videos.
  """
  if not os.path.isdir(root):
    raise DatasetError(f'Dataset folder {root!r} does not exist; pass a folder '
                       'with one subfolder of videos per class.')
  class_names = _subfolders(root)
  examples = []
  for label, name in enumerate(class_names):
    folder = os.path.join(root, name)
    for dirpath, _, files in sorted(os.walk(folder)):
      for f in sorted(files):
        if _is_video(f):
          examples.append(Example(os.path.join(dirpath, f), label))
  if not examples:
    raise DatasetError(
        f'Dataset folder {root!r} holds no videos (looked for '
        f'{", ".join(VIDEO_EXTENSIONS)} files in class subfolders, found '
        f'{len(class_names)} subfolders). Expected root/<class>/<video>.')
  return examples, class_names


def read_split_file(path: str,
                    video_root: Optional[str] = None,
                    label_offset: int = 0,
                    class_names: Optional[Sequence[str]] = None,
                    num_classes: Optional[int] = None) -> List[Example]:
  """Reads a split file of `path label` lines (or bare `path` lines).

  Blank lines and lines starting with '#' are ignored. Relative video paths
  are relative to `video_root`, or to the split file's folder if None. A line
  without an integer label (UCF101's `testlist0*.txt`) takes the position of
  the video's parent folder in `class_names`.

  Args:
    path: The split file.
    video_root: Folder that relative video paths start from.
    label_offset: Subtracted from every explicit label (1 for UCF101's
      1-based `trainlist0*.txt`).
    class_names: Class folder names in label order, for bare paths.
    num_classes: If given, every label must lie in [0, num_classes).

  Returns:
    The examples, in file order.

  Raises:
    DatasetError: Naming the file and line, if the file is missing, a line
      is not `path label` with an integer label (in range, given
      `num_classes`) nor a bare path in a class folder, or it lists no
      videos.
  """
  if not os.path.isfile(path):
    raise DatasetError(f'Split file {path!r} does not exist.')
  if video_root is None:
    video_root = os.path.dirname(os.path.abspath(path))
  classes = {name: i for i, name in enumerate(class_names or ())}
  examples = []
  with open(path) as f:
    for line_number, line in enumerate(f, start=1):
      line = line.strip()
      if not line or line.startswith('#'):
        continue
      parts = line.rsplit(maxsplit=1)
      if len(parts) == 2:
        if not re.fullmatch(r'[-+]?\d+', parts[1]):
          raise DatasetError(
              f'{path}:{line_number}: expected "<video path> <integer '
              f'label>", got label {parts[1]!r} in {line!r}; write the '
              'label as an integer.')
        video, label = parts[0], int(parts[1]) - label_offset
      else:
        video = line
        folder = os.path.basename(os.path.dirname(video))
        if folder not in classes:
          raise DatasetError(
              f'{path}:{line_number}: expected "<video path> <integer label>"'
              f', or a path inside one of the class folders of the video '
              f'root; got {line!r}.')
        label = classes[folder]
      if num_classes is not None and not 0 <= label < num_classes:
        raise DatasetError(
            f'{path}:{line_number}: label {label} of {video!r} is outside '
            f'[0, {num_classes}) (after label_offset={label_offset}); set '
            'num_classes to the number of classes (or label_offset=1 for '
            '1-based labels).')
      if not os.path.isabs(video):
        video = os.path.join(video_root, video)
      examples.append(Example(video, label))
  if not examples:
    raise DatasetError(f'Split file {path!r} lists no videos.')
  return examples


def check_labels(examples: Sequence[Example], num_classes: int,
                 source: str) -> None:
  """Raises DatasetError naming the first label outside [0, num_classes)."""
  for example in examples:
    if not 0 <= example.label < num_classes:
      raise DatasetError(
          f'{source}: label {example.label} of {example.path!r} is outside '
          f'[0, {num_classes}); set num_classes to the number of classes (or '
          'label_offset=1 for 1-based labels).')


def load_examples(directory: str, split: str, video_root: str,
                  label_offset: int, num_classes: int, what: str
                 ) -> Tuple[List[Example], Optional[List[str]]]:
  """The examples of a class-subfolder dataset or of a split file.

  Args:
    directory: A folder of class subfolders (UCF-101 layout), or ''.
    split: A split file (see `read_split_file`), or ''.
    video_root: Base of the split file's relative paths ('': its folder).
    label_offset: Subtracted from the split file's labels.
    num_classes: Classes of the model; every label must be below it.
    what: 'train' or 'eval', for messages (`data.<what>_dir`).

  Returns:
    `(examples, class_names)`; class names (label order) for a folder
    dataset, else None.

  Raises:
    DatasetError: Unless exactly one of `directory` and `split` is given,
      for a folder with more class folders than `num_classes` (or, to train,
      another number), or a bad dataset. A split file (or an evaluation
      folder) whose labels cover only some of the classes is logged as a
      warning naming the classes without videos.
  """
  if bool(directory) == bool(split):
    raise DatasetError(f'Give exactly one of data.{what}_dir and '
                       f'data.{what}_split (got {directory!r} and {split!r}).')
  if directory:
    examples, class_names = list_video_folder(directory)
    # Training needs every class the model has; evaluation may test a
    # model on some of its classes (the first ones, in folder order).
    if len(class_names) > num_classes or (
        what == 'train' and len(class_names) != num_classes):
      raise DatasetError(
          f'{directory} has {len(class_names)} class folders but num_classes '
          f'is {num_classes}; set num_classes={len(class_names)}.')
    check_labels(examples, num_classes, directory)
    _warn_unlisted_classes(examples, num_classes, directory)
    return examples, class_names
  folders = None
  if video_root and os.path.isdir(video_root):
    folders = _subfolders(video_root)
  examples = read_split_file(split, video_root or None, label_offset, folders,
                             num_classes)
  check_labels(examples, num_classes, split)
  _warn_unlisted_classes(examples, num_classes, split)
  return examples, None


def _warn_unlisted_classes(examples: Sequence[Example], num_classes: int,
                           source: str) -> List[int]:
  """Warns once about the labels below `num_classes` no example has."""
  used = {example.label for example in examples}
  missing = [label for label in range(num_classes) if label not in used]
  if missing:
    shown = ', '.join(str(label) for label in missing[:20])
    more = f' and {len(missing) - 20} more' if len(missing) > 20 else ''
    logging.warning(
        '%s lists videos of %d of num_classes=%d classes; class(es) %s%s '
        'have no videos (set num_classes if that is not intended).', source,
        num_classes - len(missing), num_classes, shown, more)
  return missing


def preprocess_video(path: str, stream: str, resize: int,
                     flow_workers: Optional[int] = None,
                     flow_backend: Optional[str] = None) -> np.ndarray:
  """Decodes a video and returns the uint8 array the cache stores.

  Args:
    path: A video file.
    stream: 'rgb' or 'flow'.
    resize: Length of the smaller side after resizing (256 in the paper).
    flow_workers: Processes for OpenCV's TV-L1 (None: every CPU; 1: this
      thread).
    flow_backend: A member of `backends.BACKENDS`; None for the default.

  Returns:
    uint8 [T, H, W, 3] frames (RGB) or [T - 1, H, W, 2] quantised flow, with
    min(H, W) == resize.

  Raises:
    decode.PreprocessError: If the video cannot be decoded.
  """
  frames, _ = decode.decode_video(path, fps=streams.FPS)
  frames = preprocess.resize_smallest_side(frames, resize)
  if stream == streams.RGB:
    return np.ascontiguousarray(frames, dtype=np.uint8)
  if len(frames) < 2:
    raise decode.PreprocessError(
        f'{path}: flow needs at least 2 frames, got {len(frames)}.')
  return preprocess.quantize_flow(
      backends.compute_flow(frames, flow_backend, num_workers=flow_workers))


def cache_file(cache_dir: str, video_path: str, stream: str, resize: int,
               flow_identity: Optional[Dict[str, Any]] = None) -> str:
  """Cache file of a video: keyed on the video, the stream and the settings.

  Args:
    cache_dir: The cache folder.
    video_path: The video; its absolute path, size and modification time
      are part of the key.
    stream: 'rgb' or 'flow'.
    resize: Smaller side after resizing.
    flow_identity: For flow, `backends.identity(backend)` of the TV-L1
      implementation; None for the default backend's.

  Returns:
    `<cache_dir>/<stream>/<video name>-<digest of the key>.npy`.

  Raises:
    OSError: If the video cannot be read (stat).
  """
  path = os.path.abspath(video_path)
  stat = os.stat(path)
  key = f'{CACHE_VERSION}|{path}|{stat.st_size}|{stat.st_mtime_ns}|{stream}|'
  key += str(resize)
  if stream == streams.FLOW:
    if flow_identity is None:
      flow_identity = backends.identity(None)
    key += '|' + json.dumps(flow_identity, sort_keys=True)
  digest = hashlib.sha256(key.encode()).hexdigest()[:24]
  stem = os.path.splitext(os.path.basename(path))[0]
  return os.path.join(cache_dir, stream, f'{stem}-{digest}.npy')


def _cache_parallelism(stream: str, backend: Optional[str],
                       parallelism: Optional[int]
                      ) -> Tuple[int, Optional[int]]:
  """(videos preprocessed at once, TV-L1 processes per video)."""
  if stream == streams.FLOW and backend == backends.TF:
    return 1, None  # TensorFlow batches frame pairs itself.
  if stream == streams.FLOW and parallelism is None:
    return 1, None  # One video at a time, its frame pairs on every CPU.
  return parallelism or os.cpu_count() or 1, 1


def _num_frames(path: str) -> int:
  return len(np.load(path, mmap_mode='r', allow_pickle=False))


def build_cache(examples: Sequence[Example],
                cache_dir: str,
                stream: str,
                resize: int = 256,
                min_frames: int = 1,
                parallelism: Optional[int] = None,
                flow_backend: Optional[str] = None) -> List[CachedExample]:
  """Preprocesses every video not yet in the cache; skips unreadable ones.

  Videos are preprocessed in threads; progress (videos done, rate, time
  left) goes to the logs every few seconds and to a bar on terminals. A video
  that fails to decode (or is too short) is logged, counted and left out.

  Args:
    examples: The videos to preprocess.
    cache_dir: Cache folder (created if needed).
    stream: 'rgb' or 'flow'.
    resize: Smaller side after resizing.
    min_frames: Fewest cached frames (or flow fields) a usable video has.
    parallelism: Videos preprocessed at once. None: one per CPU for RGB; for
      flow one video at a time, its TV-L1 frame pairs spread over processes
      on every CPU. With a number, OpenCV's TV-L1 runs in each video's
      thread.
    flow_backend: TV-L1 implementation (`backends.BACKENDS`); None for
      `backends.default_backend()`. Part of the cache key.

  Returns:
    The usable examples, in the order given, with their cache files.

  Raises:
    DatasetError: If no video could be read.
    ValueError: For an unknown stream or flow backend.
  """
  streams.check_stream(stream)
  backend = backends.resolve(flow_backend) if stream == streams.FLOW else None
  identity = backends.identity(backend) if backend else None
  os.makedirs(os.path.join(cache_dir, stream), exist_ok=True)
  targets, errors = _cache_targets(examples, cache_dir, stream, resize,
                                   identity)
  todo = [i for i, t in enumerate(targets) if t and not os.path.exists(t)]
  videos, flow_workers = _cache_parallelism(stream, backend, parallelism)

  def fill(index: int) -> None:
    try:
      array = preprocess_video(examples[index].path, stream, resize,
                               flow_workers, backend)
    except (decode.PreprocessError, OSError, ValueError) as e:
      errors[index] = str(e)
      return
    atomic_files.save_npy(targets[index], array)

  if todo:
    what = f'{stream}, TV-L1 {backend}' if backend else stream
    logging.info('Preprocessing %d of %d videos (%s) into %s.', len(todo),
                 len(examples), what, cache_dir)
  with progress_lib.Progress(f'{stream} cache', len(todo), 'video',
                             bar=sys.stderr.isatty()) as report:
    with concurrent.futures.ThreadPoolExecutor(videos) as pool:
      for future in concurrent.futures.as_completed(
          [pool.submit(fill, i) for i in todo]):
        future.result()
        report.update()
  kept = []
  for index, (example, target) in enumerate(zip(examples, targets)):
    if index not in errors:
      num_frames = _num_frames(target)
      if num_frames < min_frames:
        errors[index] = f'only {num_frames} frames after preprocessing'
      else:
        kept.append(CachedExample(example.path, example.label, target))
  _log_cache(examples, errors, stream, cache_dir, len(kept))
  return kept


def _cache_targets(examples: Sequence[Example], cache_dir: str, stream: str,
                   resize: int, flow_identity: Optional[Dict[str, Any]]
                  ) -> Tuple[List[str], Dict[int, str]]:
  """Each video's cache file ('' if it cannot be read), and the errors."""
  targets, errors = [], {}
  for index, example in enumerate(examples):
    try:
      targets.append(
          cache_file(cache_dir, example.path, stream, resize, flow_identity))
    except OSError as e:
      errors[index] = f'cannot stat: {e}'
      targets.append('')
  return targets, errors


def _log_cache(examples: Sequence[Example], errors: Dict[int, str],
               stream: str, cache_dir: str, num_kept: int) -> None:
  """Logs the skipped videos; raises DatasetError if none is usable."""
  for index in sorted(errors):
    logging.warning('Skipping unreadable video %s: %s', examples[index].path,
                    errors[index])
  logging.info('%s cache in %s: %d usable videos, %d skipped.', stream,
               cache_dir, num_kept, len(errors))
  if not num_kept:
    first = min(errors)
    raise DatasetError(
        f'None of the {len(examples)} videos could be read (first error: '
        f'{examples[first].path}: {errors[first]}).')


def warn_empty_classes(listed: Sequence[Example],
                       kept: Sequence[CachedExample],
                       class_names: Optional[Sequence[str]] = None
                      ) -> List[int]:
  """Warns about every class that has no usable video.

  Such a class is never a training target: the model cannot learn it.

  Args:
    listed: The dataset's examples.
    kept: Those that `build_cache` could preprocess.
    class_names: Class names in label order (a folder dataset's subfolders);
      every one of them is checked. Without names, the labels `listed` uses.

  Returns:
    The labels without a usable video, in increasing order.
  """
  usable = collections.Counter(e.label for e in kept)
  paths = collections.defaultdict(list)
  for example in listed:
    paths[example.label].append(example.path)
  labels = range(len(class_names)) if class_names else sorted(paths)
  empty = [label for label in labels if not usable[label]]
  for label in empty:
    name = f'class {label}'
    if class_names:
      name += f' ({class_names[label]})'
    if paths[label]:
      logging.warning(
          '%s has no usable video: its %d video(s) could not be read (e.g. '
          '%s); training will never show it.', name, len(paths[label]),
          paths[label][0])
    else:
      logging.warning('%s has no video; training will never show it.', name)
  return empty


def _window(length: int, num_frames: int, start: int) -> np.ndarray:
  # Short videos are looped, as in the paper.
  return (start + np.arange(num_frames)) % length


def to_model_input(clip: np.ndarray, stream: str, flip: bool) -> np.ndarray:
  """Converts a cached uint8 clip to float32 model input in [-1, 1].

  Args:
    clip: uint8 [T, H, W, C] from the cache.
    stream: 'rgb' or 'flow'.
    flip: Whether to flip left-right (negating the flow's x component).

  Returns:
    float32 [T, H, W, C] in [-1, 1].
  """
  if stream == 'rgb':
    out = preprocess.scale_rgb(clip)
  else:
    out = preprocess.dequantize_flow(clip) / np.float32(preprocess.FLOW_BOUND)
  if flip:
    out = out[:, :, ::-1]
    if stream == 'flow':
      # A mirrored video moves the other way horizontally.
      out = out * np.array([-1., 1.], np.float32)
  return np.ascontiguousarray(out, dtype=np.float32)


def train_clip(array: np.ndarray, num_frames: int, crop_size: int,
               rng: np.random.Generator) -> Tuple[np.ndarray, bool]:
  """Draws a random window, random crop and random flip from a cached array.

  Args:
    array: uint8 [T, H, W, C] with H, W >= crop_size.
    num_frames: Window length (looping videos shorter than it).
    crop_size: Side of the square crop.
    rng: Source of randomness.

  Returns:
    `(clip, flip)`: uint8 [num_frames, crop_size, crop_size, C] and whether to
    flip it.
  """
  length, height, width = array.shape[:3]
  start = int(rng.integers(0, max(length - num_frames, 0) + 1))
  top = int(rng.integers(0, height - crop_size + 1))
  left = int(rng.integers(0, width - crop_size + 1))
  flip = bool(rng.integers(0, 2))
  clip = array[_window(length, num_frames, start), top:top + crop_size,
               left:left + crop_size]
  return clip, flip


def eval_clip(array: np.ndarray, num_frames: int, crop_size: int,
              min_frames: int = 1) -> np.ndarray:
  """Centre crop and centre window.

  Args:
    array: uint8 [T, H, W, C].
    num_frames: Window length; 0 for the whole video.
    crop_size: Side of the square centre crop.
    min_frames: With `num_frames` 0, videos shorter than this are looped to
      this length (the network's minimum clip).

  Returns:
    uint8 [T', crop_size, crop_size, C].
  """
  length, height, width = array.shape[:3]
  if num_frames <= 0:
    indices = _window(length, max(length, min_frames), 0)
  else:
    indices = _window(length, num_frames, max(length - num_frames, 0) // 2)
  top = (height - crop_size) // 2
  left = (width - crop_size) // 2
  return array[indices, top:top + crop_size, left:left + crop_size]


@functools.lru_cache(maxsize=4)
def _epoch_order(seed: int, epoch: int, size: int) -> np.ndarray:
  return np.random.default_rng([seed, epoch, size]).permutation(size)


def train_example(examples: Sequence[CachedExample], step: int, slot: int,
                  global_batch_size: int, seed: int) -> int:
  """Index of the video in `slot` of the global batch of `step`."""
  position = step * global_batch_size + slot
  epoch, index = divmod(position, len(examples))
  return int(_epoch_order(seed, epoch, len(examples))[index])


def train_dataset(examples: Sequence[CachedExample],
                  stream: str,
                  num_frames: int,
                  crop_size: int,
                  per_replica_batch_size: int,
                  num_replicas: int,
                  replica_ids: Sequence[int],
                  start_step: int,
                  num_steps: int,
                  seed: int,
                  parallelism: Optional[int] = None,
                  deterministic: bool = False) -> tf.data.Dataset:
  """Training batches for some replicas, for steps [start_step, num_steps).

  The global batch of a step has `per_replica_batch_size * num_replicas`
  slots; replica r takes slots [r * b, (r + 1) * b). The dataset yields, for
  each step, one batch per replica in `replica_ids`, in that order (which is
  how `tf.distribute` hands consecutive elements to a worker's replicas).

  Args:
    examples: Cached training videos.
    stream: 'rgb' or 'flow'.
    num_frames: Frames per clip.
    crop_size: Crop side (224 in the paper).
    per_replica_batch_size: Clips per replica per step (6 in the paper).
    num_replicas: Replicas in sync across all workers.
    replica_ids: The replicas this input pipeline feeds.
    start_step: First step (the restored step when resuming).
    num_steps: Step to stop before.
    seed: Seed of the video order, windows, crops and flips.
    parallelism: Clips prepared at once; None for AUTOTUNE.
    deterministic: Set tf.data's deterministic options and no automatic
      map parallelisation, so that nothing in the pipeline depends on thread
      timing. (The clips are a pure function of step and slot, and the
      parallel map keeps their order, in either mode.)

  Returns:
    A dataset of `(clips, labels)`: float32 [b, num_frames, crop_size,
    crop_size, C] in [-1, 1] and int32 [b].
  """
  global_batch = per_replica_batch_size * num_replicas
  channels = STREAM_CHANNELS[stream]
  slots = np.concatenate([
      np.arange(r * per_replica_batch_size, (r + 1) * per_replica_batch_size)
      for r in replica_ids
  ]).astype(np.int64)

  def load(step: np.ndarray, slot: np.ndarray):
    step, slot = int(step), int(slot)
    example = examples[train_example(examples, step, slot, global_batch,
                                     seed)]
    array = np.load(example.cache_path, mmap_mode='r', allow_pickle=False)
    rng = np.random.default_rng([seed, step, slot])
    clip, flip = train_clip(array, num_frames, crop_size, rng)
    return to_model_input(clip, stream, flip), np.int32(example.label)

  def load_tensors(step, slot):
    clip, label = tf.numpy_function(load, [step, slot],
                                    (tf.float32, tf.int32), stateful=False)
    clip.set_shape([num_frames, crop_size, crop_size, channels])
    label.set_shape([])
    return clip, label

  steps = tf.data.Dataset.range(start_step, num_steps)
  pairs = steps.flat_map(lambda step: tf.data.Dataset.from_tensor_slices(
      slots).map(lambda slot: (step, slot)))
  dataset = pairs.map(
      load_tensors,
      num_parallel_calls=parallelism or tf.data.AUTOTUNE,
      deterministic=True).batch(
          per_replica_batch_size, drop_remainder=True).prefetch(2)
  if deterministic:
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_optimization.map_parallelization = False
    dataset = dataset.with_options(options)
  return dataset


def eval_dataset(examples: Sequence[CachedExample],
                 stream: str,
                 num_frames: int,
                 crop_size: int,
                 batch_size: int = 1,
                 min_frames: int = 1) -> tf.data.Dataset:
  """Evaluation batches in `examples` order: centre crops, no flips.

  Args:
    examples: Cached evaluation videos.
    stream: 'rgb' or 'flow'.
    num_frames: Frames of the centre window; 0 for the whole video (as the
      paper evaluates), which needs `batch_size` 1.
    crop_size: Crop side.
    batch_size: Clips per batch.
    min_frames: Whole videos shorter than this are looped to this length.

  Returns:
    A dataset of `(clips, labels, indices)`: float32 [B, T, crop, crop, C],
    int32 [B] and the int64 [B] positions in `examples`.

  Raises:
    ValueError: If whole videos are asked for with a batch above 1.
  """
  if num_frames <= 0 and batch_size != 1:
    raise ValueError('Whole-video evaluation (num_frames=0) needs batch size '
                     f'1, got {batch_size}.')
  channels = STREAM_CHANNELS[stream]

  def load(index: np.ndarray):
    example = examples[int(index)]
    array = np.load(example.cache_path, mmap_mode='r', allow_pickle=False)
    clip = eval_clip(array, num_frames, crop_size, min_frames)
    return to_model_input(clip, stream, False), np.int32(example.label)

  def load_tensors(index):
    clip, label = tf.numpy_function(load, [index], (tf.float32, tf.int32),
                                    stateful=False)
    clip.set_shape([num_frames if num_frames > 0 else None, crop_size,
                    crop_size, channels])
    label.set_shape([])
    return clip, label, index

  return tf.data.Dataset.range(len(examples)).map(
      load_tensors, num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=True).batch(batch_size).prefetch(2)
