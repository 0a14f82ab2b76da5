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
"""A set's FVD statistics: the Gaussian of its embeddings, and its file.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) compares the Gaussians
(mean and covariance, in float64) of two sets' I3D embeddings (Carreira &
Zisserman, CVPR 2017); `Statistics` holds one and saves it as a plain `.npz`,
so a set is embedded once and compared many times.
"""

import dataclasses
import json
from typing import Any, Dict, Optional, Union

import numpy as np

from kinetics_i3d.metrics import array_sources
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.embedder import EMBEDDING_SIZE
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.utils import errors

STATISTICS_FORMAT = 'i3d-fvd-statistics-v1'
# The fields every statistics file holds ('provenance' and 'embeddings' are
# optional).
_FIELDS = ('format', 'mean', 'covariance', 'count', 'protocol', 'num_frames')


def _check_embeddings(embeddings: np.ndarray, name: str) -> np.ndarray:
  embeddings = np.asarray(embeddings)
  if embeddings.ndim != 2:
    raise FVDError(f'{name}: embeddings must be [N, D], got shape '
                   f'{embeddings.shape}.')
  if embeddings.shape[0] < 2:
    raise FVDError(f'{name}: {embeddings.shape[0]} video(s); a covariance '
                   'needs at least 2 (FVD is meant for hundreds or more).')
  if not np.all(np.isfinite(embeddings)):
    raise FVDError(f'{name}: embeddings contain NaN or infinite values.')
  return embeddings.astype(np.float64)


@dataclasses.dataclass
class Statistics:
  """A set's Gaussian: float64 mean [D] and covariance [D, D].

  Attributes:
    mean: float64 [D].
    covariance: float64 [D, D], normalised as the protocol says.
    count: Number of videos.
    protocol: Protocol name.
    num_frames: Frames per clip the embeddings came from (0 if unknown).
    provenance: How they were made (`provenance.set_record`); None for
      files written before it was recorded.
    embeddings: float32 [count, 400], kept so that KVD and the bootstrap
      can be computed from saved statistics (None if not kept).
  """
  mean: np.ndarray
  covariance: np.ndarray
  count: int
  protocol: str
  num_frames: int = 0
  provenance: Optional[Dict[str, Any]] = None
  embeddings: Optional[np.ndarray] = None

  @classmethod
  def from_embeddings(cls, embeddings: np.ndarray,
                      protocol: Union[str, protocols.Protocol] = 'reference',
                      num_frames: int = 0,
                      name: str = 'embeddings') -> 'Statistics':
    """Mean and covariance of [N, D] embeddings, in float64.

    Raises:
      FVDError: For fewer than 2 rows, a bad shape or NaN.
    """
    protocol = protocols.get_protocol(protocol)
    x = _check_embeddings(embeddings, name)
    mean = x.mean(axis=0)
    centred = x - mean
    divisor = x.shape[0] - 1 if protocol.covariance == 'unbiased' else (
        x.shape[0])
    covariance = centred.T @ centred / divisor
    return cls(mean, covariance, int(x.shape[0]), protocol.name,
               int(num_frames), embeddings=np.asarray(embeddings, np.float32))

  def save(self, path: str, overwrite: bool = False) -> None:
    """Writes an `.npz` (plain arrays, no pickle) atomically.

    Raises:
      FileExistsError: If `path` exists and not `overwrite`.
    """
    extra = {}
    if self.provenance is not None:
      extra['provenance'] = np.array(json.dumps(self.provenance,
                                                sort_keys=True))
    if self.embeddings is not None:
      extra['embeddings'] = np.asarray(self.embeddings, np.float32)
    with atomic_files.open_atomically(path, 'wb', overwrite=overwrite) as f:
      np.savez(f, format=np.array(STATISTICS_FORMAT),
               mean=np.asarray(self.mean, np.float64),
               covariance=np.asarray(self.covariance, np.float64),
               count=np.array(self.count, np.int64),
               protocol=np.array(self.protocol),
               num_frames=np.array(self.num_frames, np.int64), **extra)

  @classmethod
  def load(
      cls, path: str,
      protocol: Optional[Union[str, protocols.Protocol]] = None
  ) -> 'Statistics':
    """Reads statistics written by `save`.

    Args:
      path: The `.npz` file.
      protocol: If given, the file must have been made under it.

    Raises:
      FVDError: For a missing or unreadable file, another format, bad shapes
        or another protocol.
    """
    try:
      with np.load(path, allow_pickle=False) as data:
        fields = {key: data[key] for key in data.files}
    except FileNotFoundError:
      raise FVDError(f'{path}: no such statistics file.') from None
    except array_sources.READ_ERRORS as e:
      raise FVDError(f'{path}: not a readable .npz statistics file '
                     f'({errors.first_line(e)}).') from None
    return cls.from_fields(fields, path, protocol)

  @classmethod
  def from_fields(
      cls, fields: Dict[str, np.ndarray], path: str,
      protocol: Optional[Union[str, protocols.Protocol]] = None
  ) -> 'Statistics':
    """Statistics from the arrays of a file `save` wrote.

    Args:
      fields: {name: array} as read from the `.npz`.
      path: The file, for messages.
      protocol: If given, the file must have been made under it.

    Raises:
      FVDError: As `load`.
    """
    stats = cls(**_parse_fields(fields, path))
    stats._check_stored(path)
    if protocol is not None:
      protocol = protocols.get_protocol(protocol)
      if stats.protocol != protocol.name:
        raise FVDError(
            f'{path}: statistics of protocol {stats.protocol!r}, but the '
            f'protocol is {protocol.name!r}; recompute them or pass '
            f'protocol {stats.protocol!r}.')
    return stats

  def _check_stored(self, path: str) -> None:
    """Refuses statistics read from `path` that no FVD here can use."""
    mean, covariance = self.mean, self.covariance
    if (mean.shape != (EMBEDDING_SIZE,) or
        covariance.shape != (EMBEDDING_SIZE, EMBEDDING_SIZE) or
        mean.dtype != np.float64 or covariance.dtype != np.float64):
      raise FVDError(
          f'{path}: statistics of shape mean {mean.shape} {mean.dtype}, '
          f'covariance {covariance.shape} {covariance.dtype}; expected '
          f'float64 [{EMBEDDING_SIZE}] and [{EMBEDDING_SIZE}, '
          f'{EMBEDDING_SIZE}] (rgb_scratch logits).')
    if self.count < 2 or not (np.all(np.isfinite(mean)) and
                              np.all(np.isfinite(covariance))):
      raise FVDError(f'{path}: statistics of {self.count} videos or with '
                     'NaN; recompute them from at least 2 videos.')
    if self.embeddings is not None and self.embeddings.shape != (
        self.count, EMBEDDING_SIZE):
      raise FVDError(f'{path}: embeddings of shape {self.embeddings.shape}, '
                     f'expected [{self.count}, {EMBEDDING_SIZE}].')
    if self.protocol not in protocols.PROTOCOLS:
      raise FVDError(f'{path}: made under unknown protocol '
                     f'{self.protocol!r}.')


def _parse_fields(fields: Dict[str, np.ndarray], path: str) -> Dict[str, Any]:
  """The `Statistics` fields of a statistics file's arrays.

  Raises:
    FVDError: For another format or fields of the wrong type.
  """
  missing = set(_FIELDS) - set(fields)
  if missing or str(fields['format']) != STATISTICS_FORMAT:
    raise FVDError(
        f'{path}: not FVD statistics written by this library (missing '
        f'{sorted(missing) or "format " + STATISTICS_FORMAT}).')
  try:
    return {
        'mean': np.asarray(fields['mean']),
        'covariance': np.asarray(fields['covariance']),
        'count': int(fields['count']),
        'protocol': str(fields['protocol']),
        'num_frames': int(fields['num_frames']),
        'provenance': (json.loads(str(fields['provenance']))
                       if 'provenance' in fields else None),
        'embeddings': (np.asarray(fields['embeddings'], np.float32)
                       if 'embeddings' in fields else None),
    }
  except (TypeError, ValueError) as e:
    raise FVDError(f'{path}: malformed statistics '
                   f'({errors.first_line(e)}).') from None
