"""The on-disk cache of preprocessed training videos, uint8, one file each.

I3D's recipe (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New
Model and the Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750)
trains on frames at 25 fps with the smaller side resized to 256 and on TV-L1
flow. Decoding, and above all TV-L1, are expensive, so every video is
preprocessed once (`video.decode`, `flow.backends`, videos in parallel
threads) into a cache:

* RGB: [T, H, W, 3] frames at 25 fps, smaller side `resize`;
* flow: [T - 1, H, W, 2] TV-L1 fields (frame t -> t + 1) at that size,
  quantised to 8 bits over [-20, 20] pixels as the paper's pipeline stored
  them (`video.flow_input.quantize_flow`).

A cache file is keyed on the video (path, size, modification time), the
stream, the size and, for flow, the identity of the TV-L1 implementation
(`backends.identity`: backend, parameters, library version), so that a
change of algorithm never reuses stale flow.
"""

import collections
import concurrent.futures
import dataclasses
import hashlib
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from absl import logging
import numpy as np

from kinetics_i3d import streams
from kinetics_i3d.flow import backends
from kinetics_i3d.training import datasets
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.utils import progress as progress_lib
from kinetics_i3d.video import decode
from kinetics_i3d.video import flow_input
from kinetics_i3d.video import rgb

# Bump when the cached arrays change meaning, so stale caches are not reused.
CACHE_VERSION = 1


@dataclasses.dataclass(frozen=True)
class CachedExample:
  """A labelled video with its preprocessed array in the cache."""
  path: str
  label: int
  cache_path: str


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
  frames = rgb.resize_smallest_side(frames, resize)
  if stream == streams.RGB:
    return np.ascontiguousarray(frames, dtype=np.uint8)
  if len(frames) < 2:
    raise decode.PreprocessError(
        f'{path}: flow needs at least 2 frames, got {len(frames)}.')
  return flow_input.quantize_flow(
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


def _cache_targets(examples: Sequence[datasets.Example], cache_dir: str,
                   stream: str, resize: int,
                   flow_identity: Optional[Dict[str, Any]]
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


def _fill(examples: Sequence[datasets.Example], targets: Sequence[str],
          errors: Dict[int, str], cache_dir: str, stream: str, resize: int,
          backend: Optional[str], parallelism: Optional[int]) -> None:
  """Preprocesses the videos whose cache file is missing, in threads."""
  todo = [i for i, t in enumerate(targets) if t and not os.path.exists(t)]
  videos, flow_workers = _cache_parallelism(stream, backend, parallelism)

  def fill_one(index: int) -> None:
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
          [pool.submit(fill_one, i) for i in todo]):
        future.result()
        report.update()


def _num_frames(path: str) -> int:
  return len(np.load(path, mmap_mode='r', allow_pickle=False))


def _log_cache(examples: Sequence[datasets.Example], errors: Dict[int, str],
               stream: str, cache_dir: str, num_kept: int) -> None:
  """Logs the skipped videos; raises DatasetError if none is usable."""
  for index in sorted(errors):
    logging.warning('Skipping unreadable video %s: %s', examples[index].path,
                    errors[index])
  logging.info('%s cache in %s: %d usable videos, %d skipped.', stream,
               cache_dir, num_kept, len(errors))
  if not num_kept:
    first = min(errors)
    raise datasets.DatasetError(
        f'None of the {len(examples)} videos could be read (first error: '
        f'{examples[first].path}: {errors[first]}).')


def build_cache(examples: Sequence[datasets.Example],
                cache_dir: str,
                stream: str,
                resize: int = streams.RESIZE,
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
  _fill(examples, targets, errors, cache_dir, stream, resize, backend,
        parallelism)
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


def warn_empty_classes(listed: Sequence[datasets.Example],
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
