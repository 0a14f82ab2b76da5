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
"""Planning an FVD comparison: both sets checked before the model loads.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) of two sets takes minutes
to hours of I3D (Carreira & Zisserman, CVPR 2017) embedding; every input
mistake that needs no model (a path, a value range, clip lengths, a protocol
cap, statistics made another way, an output that exists) is refused here,
first. `comparison.run_comparison` then embeds what was planned.
"""

import dataclasses
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from kinetics_i3d.metrics import provenance
from kinetics_i3d.metrics import short_clips
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd import video_sets
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.errors import too_few_frames
from kinetics_i3d.metrics.fvd.sampling import CLIP_STARTS
from kinetics_i3d.metrics.fvd.sampling import ClipSampling
from kinetics_i3d.metrics.fvd.stats import Statistics
from kinetics_i3d.utils import atomic_files

# The inputs `plan_comparison`'s messages name, each by its `flag_names`
# entry (by default the key itself).
FLAG_KEYS = ('real', 'generated', 'value_range', 'num_frames',
             'save_real_stats', 'save_generated_stats')
ROLES = ('real', 'generated')


@dataclasses.dataclass
class SetPlan:
  """One side of a comparison, checked and ready to embed.

  Attributes:
    role: 'real' or 'generated'.
    flag: How errors and logs call it (e.g. '--real').
    source: The `VideoSet`, or `Statistics` loaded from a file.
    sampling: How clips are taken (None for statistics).
    num_frames: Frames per clip (0 if statistics do not say).
    save_path: Where to write its statistics, if anywhere.
  """
  role: str
  flag: str
  source: Union[video_sets.VideoSet, Statistics]
  sampling: Optional[ClipSampling]
  num_frames: int
  save_path: Optional[str] = None

  def describe(self) -> str:
    """One line for the log: the set, its size and its clips."""
    if isinstance(self.source, Statistics):
      return (f'{self.flag}: statistics of {self.source.count} videos, clips '
              f'of {self.source.num_frames or "?"} frames')
    return (f'{self.flag}: {self.source.path} ({len(self.source)} videos, '
            f'{self.source.kind}), clips of {self.sampling.describe()}')


@dataclasses.dataclass(frozen=True)
class _Request:
  """`plan_comparison`'s arguments, the protocol's defaults applied."""
  protocol: protocols.Protocol
  names: Dict[str, str]
  value_range: Optional[int]
  num_frames: Optional[int]
  frame_stride: int
  clip_start: Optional[str]
  seed: int
  max_videos: Optional[int]
  exclude_first_frames: int
  short_clip_treatment: str

  def check(self) -> None:
    """Refuses clip settings no set could meet."""
    if self.short_clip_treatment not in short_clips.TREATMENTS:
      raise FVDError(f'short_clips must be one of '
                     f'{", ".join(short_clips.TREATMENTS)}, got '
                     f'{self.short_clip_treatment!r}.')
    if self.num_frames is not None and short_clips.treated_length(
        self.num_frames, self.short_clip_treatment) is None:
      raise too_few_frames(f'{self.names["num_frames"]}={self.num_frames}',
                           self.num_frames)
    if self.frame_stride < 1:
      raise FVDError(f'frame stride must be >= 1, got {self.frame_stride}.')
    if self.clip_start is not None and self.clip_start not in CLIP_STARTS:
      raise FVDError(f'clip start must be one of {CLIP_STARTS}, got '
                     f'{self.clip_start!r}.')

  def sampling(self, role: str) -> ClipSampling:
    """How clips are taken from the `role` set's videos."""
    return ClipSampling(self.num_frames, self.frame_stride,
                        self.clip_start or self.protocol.start_for(role),
                        self.seed, self.exclude_first_frames,
                        self.protocol.min_video_frames(self.num_frames,
                                                       self.frame_stride),
                        self.short_clip_treatment)


def plan_comparison(real: str,
                    generated: str,
                    protocol: Union[str, protocols.Protocol] = 'reference',
                    value_range: Optional[int] = None,
                    num_frames: Optional[int] = None,
                    frame_stride: Optional[int] = None,
                    clip_start: Optional[str] = None,
                    seed: int = 0,
                    max_videos: Optional[int] = None,
                    save_real_stats: Optional[str] = None,
                    save_generated_stats: Optional[str] = None,
                    overwrite: bool = False,
                    flag_names: Optional[Dict[str, str]] = None,
                    exclude_first_frames: int = 0,
                    short_clip_treatment: str = 'refuse'
                   ) -> List[SetPlan]:
  """Checks everything about two inputs that needs no model.

  Opens both sets, applies the protocol's defaults (clip length, clip start
  per role, video count), reads the first video of each to learn its clip
  length, scans arrays for NaN and values out of range, and checks the
  statistics outputs. Bad input fails here, before the model is loaded.

  Args:
    real: Path of the real set (see `video_sets.open_set`).
    generated: Path of the generated set.
    protocol: A protocol name or `Protocol`.
    value_range: 255 or 1 for array inputs (required for them).
    num_frames: Clip length; None: the protocol's (every frame if it has none).
    frame_stride: Take every n-th frame; None: the protocol's.
    clip_start: 'first' or 'random'; None: the protocol's for each role.
    seed: Seed of random clip offsets.
    max_videos: Use the first this many videos of each set; None: the
      protocol's (all if it has none).
    save_real_stats: Write the real set's statistics here at the end.
    save_generated_stats: Likewise for the generated set.
    overwrite: Replace existing statistics files.
    flag_names: How to call the inputs in errors: keys `FLAG_KEYS`
      (defaults: those names).
    exclude_first_frames: Frames at the start of every video left out (a
      video-prediction model's conditioning frames); 0: all included.
    short_clip_treatment: What clips under 9 frames get (`short_clips`).

  Returns:
    [real plan, generated plan].

  Raises:
    FVDError: For any input that cannot be compared (message names it).
  """
  protocol = protocols.get_protocol(protocol)
  request = _Request(
      protocol, dict({key: key for key in FLAG_KEYS}, **(flag_names or {})),
      value_range,
      protocol.num_frames if num_frames is None else num_frames,
      protocol.frame_stride if frame_stride is None else frame_stride,
      clip_start, seed,
      protocol.max_videos if max_videos is None else max_videos,
      exclude_first_frames, short_clip_treatment)
  request.check()
  saves = {'real': save_real_stats, 'generated': save_generated_stats}
  plans = [_plan_set(request, role, path, saves[role])
           for role, path in zip(ROLES, (real, generated))]
  _check_plans(request, plans, overwrite)
  return plans


def _plan_set(request: _Request, role: str, path: str,
              save_path: Optional[str]) -> SetPlan:
  """Opens and checks the `role` set at `path`."""
  flag = request.names[role]
  protocol = request.protocol
  source = video_sets.open_set(path, request.value_range, protocol, flag,
                               request.names['value_range'])
  if isinstance(source, Statistics):
    if save_path:
      raise FVDError(f'{request.names[f"save_{role}_stats"]}: {flag}={path} '
                     'holds statistics already; nothing to save.')
    return SetPlan(role, flag, source, None, source.num_frames)
  if (protocol.max_videos is not None and
      request.max_videos > protocol.max_videos):
    raise FVDError(
        f'{flag}={path}: max_videos={request.max_videos} is more than '
        f'protocol {protocol.name!r} takes ({protocol.max_videos} per set); '
        "use protocol 'reference' to compare other set sizes.")
  source.limit(request.max_videos)
  if len(source) < 2:
    raise FVDError(
        f'{flag}={path}: {len(source)} video(s); FVD needs at least 2 per '
        'set (and hundreds for a meaningful value).')
  sampling = request.sampling(role)
  source.check_values()
  length = video_sets.clip_length(source, sampling)
  return SetPlan(role, flag, source, sampling, length, save_path)


def _check_plans(request: _Request, plans: Sequence[SetPlan],
                 overwrite: bool) -> None:
  """Refuses two plans that cannot be compared, or outputs that exist."""
  lengths = [plan.num_frames for plan in plans]
  if all(lengths) and lengths[0] != lengths[1]:
    raise FVDError(
        f'{plans[0].flag} has clips of {lengths[0]} frames and '
        f'{plans[1].flag} of {lengths[1]}: compare clips of one length '
        f'(set {request.names["num_frames"]}).')
  for plan in plans:
    if plan.save_path:
      check_output_path(plan.save_path, overwrite,
                        request.names[f'save_{plan.role}_stats'])
  _check_statistics_provenance(plans, request.protocol, request.max_videos)


def check_output_path(path: str, overwrite: bool, flag: str) -> None:
  """Refuses an output that exists (unless `overwrite`) or has no folder.

  Raises:
    FVDError: Naming `flag` and `path`.
  """
  folder = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(folder):
    raise FVDError(f'{flag}={path}: folder {folder} does not exist.')
  try:
    atomic_files.refuse_existing(path, overwrite, flag)
  except FileExistsError as e:
    raise FVDError(str(e)) from None


def _check_statistics_provenance(plans: Sequence[SetPlan],
                                 protocol: protocols.Protocol,
                                 max_videos: Optional[int]) -> None:
  """Refuses saved statistics made in a way that changes the number."""
  videos = [p for p in plans if not isinstance(p.source, Statistics)]
  for plan in plans:
    stored = getattr(plan.source, 'provenance', None)
    if not isinstance(plan.source, Statistics) or stored is None:
      continue
    if videos:  # Compare with the set this run embeds.
      expected = set_provenance(videos[0], protocol, len(videos[0].source),
                                max_videos)
    else:  # Both are statistics: compare them with each other.
      expected = [p.source.provenance for p in plans if p is not plan][0]
      if expected is None:
        continue
    try:
      provenance.check_compatible(stored, expected, plan.flag)
    except provenance.ProvenanceError as e:
      raise FVDError(str(e)) from None


def set_provenance(plan: SetPlan, protocol: protocols.Protocol, count: int,
                   max_videos: Optional[int]) -> Dict[str, Any]:
  """`provenance.set_record` of a planned set of videos."""
  return provenance.set_record(protocol, plan.role, count, plan.num_frames,
                               plan.sampling, max_videos)
