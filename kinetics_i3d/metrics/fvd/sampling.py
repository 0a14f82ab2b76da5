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
"""Which frames of a video form its FVD clip.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) embeds one clip per video
with I3D (Carreira & Zisserman, CVPR 2017); the reference takes every frame,
StyleGAN-V (Skorokhodov et al., 2022) a clip of consecutive or strided frames
from the first frame or a random offset, and video prediction leaves out the
conditioning frames. `ClipSampling` states all of it for a set.
"""

import dataclasses
from typing import Optional
import zlib

import numpy as np

import i3d
from kinetics_i3d.metrics import short_clips
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.errors import too_few_frames

# Clip start within a video: the first frame, or a seeded random offset.
CLIP_STARTS = ('first', 'random')


@dataclasses.dataclass(frozen=True)
class ClipSampling:
  """Which frames of a video form its clip.

  Attributes:
    num_frames: Clip length; None: every frame (stride applies).
    stride: Take every `stride`-th frame (1: consecutive frames).
    start: 'first' (from frame 0) or 'random' (a uniform offset, drawn from
      `seed` and the video's name, so reruns and resumes agree).
    seed: Seed of the random offsets.
    skip_first: Frames at the start of every video left out before the clip
      is taken (a video-prediction model's conditioning frames).
    min_frames: A video must hold at least this many frames (beyond
      `skip_first`) even if the clip spans fewer (StyleGAN-V's rule).
    short_clips: What clips shorter than I3D takes get (`short_clips`).
  """
  num_frames: Optional[int] = None
  stride: int = 1
  start: str = 'first'
  seed: int = 0
  skip_first: int = 0
  min_frames: int = 0
  short_clips: str = 'refuse'

  def __post_init__(self):
    """Refuses settings no video could satisfy (raises FVDError)."""
    if self.short_clips not in short_clips.TREATMENTS:
      raise FVDError(f'short_clips must be one of '
                     f'{", ".join(short_clips.TREATMENTS)}, got '
                     f'{self.short_clips!r}.')
    if self.num_frames is not None and short_clips.treated_length(
        self.num_frames, self.short_clips) is None:
      raise too_few_frames(f'num_frames={self.num_frames}', self.num_frames)
    if self.skip_first < 0:
      raise FVDError(f'exclude_first_frames must be >= 0, got '
                     f'{self.skip_first}.')
    if self.stride < 1:
      raise FVDError(f'frame stride must be >= 1, got {self.stride}.')
    if self.start not in CLIP_STARTS:
      raise FVDError(f'clip start must be one of {CLIP_STARTS}, got '
                     f'{self.start!r}.')

  @property
  def span(self) -> Optional[int]:
    """Source frames one clip covers (None: the whole video)."""
    if self.num_frames is None:
      return None
    return (self.num_frames - 1) * self.stride + 1

  def indices(self, total: int, key: str, name: str) -> np.ndarray:
    """Frame indices of the clip of a video of `total` frames.

    Args:
      total: Frames the video holds.
      key: The video's name within its set (seeds a random offset).
      name: The video's name in messages.

    Returns:
      int [num_frames] (or every kept frame), ascending.

    Raises:
      FVDError: If the video is too short for the clip.
    """
    skip = self.skip_first
    if skip and total <= skip:
      raise FVDError(
          f'{name}: {total} frames, all within the {skip} conditioning '
          'frames excluded (exclude_first_frames); lower it or drop the '
          'video.')
    if self.num_frames is None:
      return skip + np.arange(0, total - skip, self.stride)
    needed = max(self.span, self.min_frames)
    if total - skip < needed:
      after = f' after the first {skip} excluded' if skip else ''
      raise FVDError(
          f'{name}: {total - skip} frames{after}, but a clip of '
          f'{self.num_frames} frames at stride {self.stride} needs {needed}; '
          f'lower num_frames (at least {i3d.min_num_frames()}) or the '
          'stride, or drop the video.')
    offset = 0
    if self.start == 'random':
      rng = np.random.default_rng(
          [self.seed, zlib.crc32(key.encode('utf-8'))])
      offset = int(rng.integers(0, total - skip - self.span + 1))
    return skip + offset + np.arange(self.num_frames) * self.stride

  def describe(self) -> str:
    """One phrase for logs: length, stride, start, frames left out."""
    length = ('all frames' if self.num_frames is None else
              f'{self.num_frames} frames')
    start = (f'random start (seed {self.seed})' if self.start == 'random'
             else 'from the first frame')
    skip = (f', first {self.skip_first} excluded' if self.skip_first else '')
    return f'{length}, stride {self.stride}, {start}{skip}'

