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
"""The resumable cache of a set's FVD embeddings.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) embeds every video of a set
with I3D (Carreira & Zisserman, CVPR 2017). The embeddings done so far are
kept in `<cache dir>/<key>.npz`, keyed by a sha256 of the set's file names,
sizes and modification times, the protocol's preprocessing, the value range
and the clip sampling: a killed run started again with the same inputs and
settings resumes after the last batch written; anything else starts afresh.
"""

import dataclasses
import hashlib
import json
import os
from typing import List

from absl import logging
import numpy as np

from kinetics_i3d.metrics import array_sources
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.embedder import CHECKPOINT
from kinetics_i3d.metrics.fvd.embedder import EMBEDDING_SIZE
from kinetics_i3d.metrics.fvd.sampling import ClipSampling
from kinetics_i3d.metrics.fvd.video_sets import VideoSet
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.utils import errors
from kinetics_i3d.weights import assets

CACHE_FORMAT = 'i3d-fvd-partial-embeddings-v1'


def default_cache_dir() -> str:
  """`<the download cache>/fvd` (`$I3D_CACHE_DIR` or `~/.cache/i3d`)."""
  return os.path.join(assets.cache_dir(), 'fvd')


def cache_key(video_set: VideoSet, protocol: protocols.Protocol,
              sampling: ClipSampling) -> str:
  """Hex digest identifying a set's embeddings (content and protocol)."""
  description = {
      'format': CACHE_FORMAT,
      'model': CHECKPOINT,
      'protocol': protocol.embedding_fields(),
      'value_range': video_set.value_range,
      'sampling': dataclasses.asdict(sampling),
      'set': video_set.fingerprint(),
  }
  text = json.dumps(description, sort_keys=True)
  return hashlib.sha256(text.encode('utf-8')).hexdigest()


def no_embeddings() -> np.ndarray:
  """float32 [0, 400]: the embeddings of no video."""
  return np.zeros([0, EMBEDDING_SIZE], np.float32)


class PartialEmbeddings:
  """The embeddings of a set's first videos, in one cache file.

  The file is replaced atomically after every batch, so a kill leaves the
  last complete one; it stays after success, so the same set is not embedded
  twice (delete it at will).
  """

  def __init__(self, cache_dir: str, video_set: VideoSet,
               protocol: protocols.Protocol, sampling: ClipSampling):
    """Names the set's file in `cache_dir` (made if absent).

    Args:
      cache_dir: The folder of cache files.
      video_set: The set embedded.
      protocol: The protocol whose preprocessing makes the embeddings.
      sampling: How clips are taken from the set's videos.
    """
    os.makedirs(cache_dir, exist_ok=True)
    self.key = cache_key(video_set, protocol, sampling)
    self.path = os.path.join(cache_dir, f'{self.key[:32]}.npz')
    self._names = list(video_set.names)
    atomic_files.remove_temporaries(self.path)

  def read(self) -> np.ndarray:
    """float32 [n, 400]: the first n videos' embeddings (n may be 0)."""
    if not os.path.exists(self.path):
      return no_embeddings()
    try:
      with np.load(self.path, allow_pickle=False) as data:
        ok = (str(data['format']) == CACHE_FORMAT and
              str(data['key']) == self.key)
        done_names = [str(n) for n in data['names']]
        embeddings = np.asarray(data['embeddings'], np.float32)
    except array_sources.READ_ERRORS + (KeyError,) as e:
      logging.warning('%s: unreadable partial embeddings (%s); starting '
                      'over.', self.path, errors.first_line(e))
      return no_embeddings()
    if (not ok or done_names != self._names[:len(done_names)] or
        embeddings.shape != (len(done_names), EMBEDDING_SIZE)):
      logging.warning('%s: partial embeddings of other inputs; starting '
                      'over.', self.path)
      return no_embeddings()
    return embeddings

  def write(self, embeddings: np.ndarray) -> None:
    """Replaces the file by the first len(embeddings) videos' embeddings."""
    names: List[str] = self._names[:len(embeddings)]
    with atomic_files.open_atomically(self.path, 'wb') as f:
      np.savez(f, format=np.array(CACHE_FORMAT), key=np.array(self.key),
               names=np.array(names, dtype=np.str_),
               embeddings=embeddings.astype(np.float32))
