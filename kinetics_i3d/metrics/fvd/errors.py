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
"""What FVD refuses: one error type whose message names the input.

FVD (Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", arXiv:1812.01717, 2018) on I3D (Carreira & Zisserman,
CVPR 2017) refuses bad input before it changes a number; every module of
this package raises `FVDError` for it.
"""

from kinetics_i3d.metrics import short_clips


class FVDError(ValueError):
  """Bad input to FVD; the message names the input and the remedy."""


def too_few_frames(name: str, num_frames: int) -> FVDError:
  """The error for a clip of `num_frames` frames, fewer than I3D takes."""
  return FVDError(short_clips.too_short_message(name, num_frames))
