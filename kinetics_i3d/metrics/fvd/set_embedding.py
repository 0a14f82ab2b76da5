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
"""Embedding a whole set for FVD: in batches, with progress, resumably.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) needs the I3D embedding
(Carreira & Zisserman, CVPR 2017) of every video of a set. `embed_set` reads
and preprocesses the next batch in a thread while the model runs, logs its
progress, and keeps what it has done in the set's cache file (`cache`).
"""

import sys
import time
from typing import Callable, Iterator, Optional

from absl import logging
import numpy as np
import tensorflow as tf
import tqdm

from kinetics_i3d.metrics.fvd import cache
from kinetics_i3d.metrics.fvd.embedder import Embedder
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.sampling import ClipSampling
from kinetics_i3d.metrics.fvd.video_sets import VideoSet
from kinetics_i3d.utils import prefetch

# Seconds between progress lines in the log.
_LOG_INTERVAL_S = 10.


def embed_set(video_set: VideoSet,
              embedder: Embedder,
              sampling: ClipSampling,
              cache_dir: Optional[str] = None,
              label: str = 'videos',
              progress: bool = True,
              on_batch: Optional[Callable[[int], None]] = None,
              num_frames: Optional[int] = None) -> np.ndarray:
  """Embeddings of every video of a set, in batches, resumably.

  With `cache_dir`, the embeddings computed so far are written after every
  batch to the set's `cache.PartialEmbeddings` file, and a run resumes after
  the videos it holds.

  Args:
    video_set: The set (see `video_sets.open_set`).
    embedder: The model and protocol.
    sampling: How clips are taken from videos.
    cache_dir: Folder of partial-embedding files; None: no cache.
    label: The set's name in logs ('real', 'generated').
    progress: Show a tqdm bar on stderr (logs are written regardless).
    on_batch: Called with the number of videos done after each batch (tests).
    num_frames: The clip length every video must give (e.g. the first
      video's, from `clip_length`); None: the first clip embedded sets it.

  Returns:
    float32 [len(video_set), 400].

  Raises:
    FVDError: For a video that cannot be read or used (names it), or clips of
      different lengths.
  """
  partial = None
  parts = [cache.no_embeddings()]
  if cache_dir:
    partial = cache.PartialEmbeddings(cache_dir, video_set, embedder.protocol,
                                      sampling)
    parts = [partial.read()]
    if len(parts[0]):
      logging.info('%s: resuming after %d of %d videos embedded earlier (%s).',
                   label, len(parts[0]), len(video_set), partial.path)
  reporter = _Progress(label, len(parts[0]), len(video_set), progress)
  # Decoding and preprocessing run in a thread, a batch ahead of the model.
  batches = prefetch.Prefetcher(
      _input_batches(video_set, embedder, sampling, len(parts[0]),
                     num_frames), depth=1, name=f'fvd-{label}')
  try:
    for batch in batches:
      parts.append(embedder.embed_checked_inputs(batch))
      if partial is not None:
        partial.write(np.concatenate(parts))
      count = reporter.update(int(batch.shape[0]))
      if on_batch is not None:
        on_batch(count)
  finally:
    batches.close()
    reporter.close()
  return np.concatenate(parts)


class _Progress:
  """A tqdm bar on stderr (if asked for) and a log line now and then."""

  def __init__(self, label: str, done: int, total: int, bar: bool):
    self._label = label
    self._done_before = done
    self._count = done
    self._total = total
    self._started = time.time()
    self._last_log = 0.
    self._bar = tqdm.tqdm(total=total, initial=done, unit='video',
                          file=sys.stderr, disable=not bar,
                          desc=f'FVD {label}')

  def update(self, videos: int) -> int:
    """Counts `videos` more done; returns the number done."""
    self._count += videos
    self._bar.update(videos)
    now = time.time()
    if now - self._last_log > _LOG_INTERVAL_S or self._count == self._total:
      self._last_log = now
      rate = (self._count - self._done_before) / max(now - self._started,
                                                     1e-9)
      logging.info('%s: embedded %d/%d videos (%.2f videos/s).', self._label,
                   self._count, self._total, rate)
    return self._count

  def close(self) -> None:
    self._bar.close()


def _input_batches(video_set: VideoSet, embedder: Embedder,
                   sampling: ClipSampling, start: int,
                   num_frames: Optional[int]) -> Iterator[tf.Tensor]:
  """Model inputs [B, T, 224, 224, 3] of the set's videos from `start` on.

  Args:
    video_set: The set.
    embedder: Its batch size and preprocessing.
    sampling: How clips are taken.
    start: The first video to read.
    num_frames: The clip length every video must give; None: the first's.

  Yields:
    float32 tensors [B, T, 224, 224, 3] in [-1, 1].

  Raises:
    FVDError: As `embed_set`.
  """
  length = num_frames
  total = len(video_set)
  for first in range(start, total, embedder.batch_size):
    batch = []
    for index in range(first, min(first + embedder.batch_size, total)):
      name = video_set.sample_name(index)
      clip = video_set.clip(index, sampling)
      length = length or clip.shape[0]
      if clip.shape[0] != length:
        raise FVDError(
            f'{name}: a clip of {clip.shape[0]} frames, but the set\'s '
            f'first has {length}; take clips of one length (num_frames).')
      batch.append(embedder.preprocess_to_tensor(clip, video_set.value_range,
                                                 name))
    # Checked by `preprocess_to_tensor`; made here, off the model's thread.
    yield tf.expand_dims(batch[0], 0) if len(batch) == 1 else tf.stack(batch)

