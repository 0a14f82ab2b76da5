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
"""What determines an FVD number, as one record and one line.

FVD values (Unterthiner et al., "Towards Accurate Generative Models of Video:
A New Metric & Challenges", arXiv:1812.01717, 2018) differ by tens of percent
between protocols that all call themselves FVD: the videos per set, the
frames per clip and how they were picked, the resize, the weights, the
covariance estimator and the matrix square root. A result here states all of
them: `set_record` describes how one set's statistics were made (it is saved
with them), `comparison_line` joins the two sets' records into the line
`i3d-fvd` prints before `FVD: <value>` (and writes into `--json`), and
`check_compatible` refuses statistics made in a way that changes the number,
naming the difference.
"""

import importlib.metadata
from typing import Any, Dict, Optional, Sequence

from kinetics_i3d import streams
from kinetics_i3d.weights import assets

DISTRIBUTION = 'i3d-tf2'
# The weights: DeepMind's rgb_scratch, identified by the sha256 of its
# model.ckpt.index (the file `assets` reproduces byte for byte).
WEIGHTS = ('rgb_scratch (model.ckpt.index sha256 '
           f'{assets.RGB_SCRATCH_INDEX_SHA256[:16]})')
# Fields that change the number: statistics differing in one are refused.
COMPARED_FIELDS = ('protocol', 'num_frames', 'frame_stride',
                   'exclude_first_frames', 'short_clips', 'resize', 'weights',
                   'covariance', 'sqrtm')
_COVARIANCES = {'unbiased': 'unbiased (divided by N - 1)',
                'biased': 'biased (divided by N)'}
_SQRTMS = {'tfgan': 'TF-GAN SVD, tr sqrtm(A S_gen A), A = sqrtm(S_real)',
           'scipy': 'scipy.linalg.sqrtm(S_gen S_real), real part'}


class ProvenanceError(ValueError):
  """Statistics made in another way; the message names the difference."""


def package_version() -> str:
  """This package's version, or a note that it runs from a checkout."""
  try:
    return f'{DISTRIBUTION} {importlib.metadata.version(DISTRIBUTION)}'
  except importlib.metadata.PackageNotFoundError:
    return f'{DISTRIBUTION} (source checkout, not installed)'


def describe_resize(protocol: Any) -> str:
  """The protocol's resize rule in words."""
  crop = streams.CROP
  shape = (f'{crop}x{crop} squash (aspect ratio not kept)'
           if protocol.resize == 'squash' else
           f'shorter side to {crop}, centre {crop}x{crop} crop')
  return (f'{shape}, TF1 bilinear, half_pixel_centers='
          f'{protocol.half_pixel_centers}')


def set_record(protocol: Any, role: str, count: int, num_frames: int,
               sampling: Any, max_videos: Optional[int]) -> Dict[str, Any]:
  """How one set's statistics were made (JSON-serialisable).

  Args:
    protocol: The `fvd.protocols.Protocol`.
    role: 'real' or 'generated'.
    count: Videos in the set.
    num_frames: Frames per clip the network saw.
    sampling: The set's `fvd.sampling.ClipSampling`.
    max_videos: The cap on videos per set that applied (None: none).

  Returns:
    A flat dict of the fields in `COMPARED_FIELDS` and the others the line
    states.
  """
  return {
      'protocol': protocol.name,
      'role': role,
      'videos': int(count),
      'max_videos': max_videos,
      'num_frames': int(num_frames),
      'clip_frames': sampling.num_frames,
      'frame_stride': int(sampling.stride),
      'clip_start': sampling.start,
      'seed': int(sampling.seed),
      'exclude_first_frames': int(sampling.skip_first),
      'short_clips': sampling.short_clips,
      'resize': describe_resize(protocol),
      'weights': WEIGHTS,
      'covariance': _COVARIANCES[protocol.covariance],
      'sqrtm': _SQRTMS[protocol.sqrtm],
      'version': package_version(),
  }


def _start(record: Dict[str, Any]) -> str:
  if record['clip_start'] == 'random':
    return f"{record['role']} from a random start (seed {record['seed']})"
  return f"{record['role']} from the first frame"


def _frames_part(records: Sequence[Dict[str, Any]]) -> str:
  first = records[0]
  starts = ', '.join(_start(r) for r in records)
  excluded = first['exclude_first_frames']
  conditioning = (f'first {excluded} frames of each video excluded '
                  '(conditioning frames)' if excluded else
                  'no frames excluded (conditioning frames included)')
  short = ('clips under 9 frames refused' if first['short_clips'] == 'refuse'
           else f"clips under 9 frames padded ({first['short_clips']})")
  clip = ('every frame' if first['clip_frames'] is None else
          f"{first['clip_frames']} frames")
  return (f"frames: {first['num_frames']} per clip ({clip}, stride "
          f"{first['frame_stride']}), {starts}, {conditioning}, {short}")


def comparison_line(real: Optional[Dict[str, Any]],
                    generated: Optional[Dict[str, Any]]) -> str:
  """One line with everything that determines the number.

  Args:
    real: The real set's `set_record` (None: statistics that carry none).
    generated: The generated set's.

  Returns:
    'protocol: ...; videos per set: ...; frames: ...; resize: ...; weights:
    ...; covariance: ...; sqrtm: ...; version: ...'.
  """
  records = [r for r in (real, generated) if r]
  if not records:
    return 'protocol: unknown (statistics without provenance)'
  first = records[0]
  counts = ', '.join(
      f"{role} {r['videos'] if r else '? (statistics without provenance)'}"
      for role, r in (('real', real), ('generated', generated)))
  cap = (f" (at most {first['max_videos']})" if first['max_videos'] else '')
  return '; '.join([
      f"protocol: {first['protocol']}",
      f'videos per set: {counts}{cap}',
      _frames_part(records),
      f"resize: {first['resize']}",
      f"weights: {first['weights']}",
      f"covariance: {first['covariance']}",
      f"sqrtm: {first['sqrtm']}",
      f"version: {first['version']}",
  ])


def check_compatible(stored: Dict[str, Any], expected: Dict[str, Any],
                     name: str) -> None:
  """Refuses statistics whose record differs in a field that changes FVD.

  Raises:
    ProvenanceError: Naming `name`, every differing field and both values.
  """
  differences = [
      f'{field} {stored.get(field)!r} (this run: {expected.get(field)!r})'
      for field in COMPARED_FIELDS if stored.get(field) != expected.get(field)]
  if differences:
    raise ProvenanceError(
        f'{name}: statistics made under another protocol: '
        f"{'; '.join(differences)}; recompute them with this run's settings "
        'or run with theirs.')
