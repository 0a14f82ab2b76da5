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
"""What FVD does with clips shorter than I3D takes (9 frames).

FVD (Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", arXiv:1812.01717, 2018) embeds clips with I3D
(Carreira & Zisserman, CVPR 2017), whose logits average-pool 2 time steps
after 8x temporal downsampling, so a clip needs at least 9 frames. 7- and
8-frame benchmarks are common. What the popular implementations do:

* google-research's reference and TF-GAN: the network fails on them;
* common_metrics_on_video_quality: computes FVD only from 10 frames on and
  declines shorter clips (issues #3 and #20, "wontfix"); its maintainer
  points to predicting longer horizons instead;
* StyleGAN-V: skips videos shorter than the clip length;
* DeepMind's I3D authors, for inputs of a fixed size: "People typically pad
  the videos" (kinetics-i3d #119).

So clips that are too short are refused by default ('refuse', the error
names the minimum), and 'pad_last' pads them, the treatment the I3D authors
name: the last frame is repeated until the clip has 9 frames. Padding adds
a frozen tail, which the embedding sees as a pause: the number is then FVD
of padded clips, comparable only with numbers computed the same way (the
README gives the size of the change on the sample videos).
"""

from typing import Optional

import numpy as np

import i3d

# Treatments of clips shorter than `i3d.min_num_frames()`.
TREATMENTS = ('refuse', 'pad_last')


def min_num_frames() -> int:
  """The fewest frames I3D's logits accept (9)."""
  return i3d.min_num_frames()


def too_short_message(name: str, num_frames: int) -> str:
  """The one-line refusal of a clip of `num_frames` frames."""
  return (f'{name}: clips of {num_frames} frames are too short: I3D needs at '
          f'least {min_num_frames()} frames (its logits average-pool 2 time '
          'steps after 8x temporal downsampling); use longer clips, or pass '
          "short_clips='pad_last' (--short_clips=pad_last) to repeat each "
          f'clip\'s last frame up to {min_num_frames()}, which changes the '
          'number.')


def check_treatment(treatment: str) -> str:
  """Returns `treatment` if known.

  Raises:
    ValueError: Naming the known treatments.
  """
  if treatment not in TREATMENTS:
    raise ValueError(f'short_clips must be one of {", ".join(TREATMENTS)}, '
                     f'got {treatment!r}.')
  return treatment


def treated_length(num_frames: int, treatment: str) -> Optional[int]:
  """Frames the network sees for a clip of `num_frames`; None: refused."""
  check_treatment(treatment)
  if num_frames >= min_num_frames():
    return num_frames
  if treatment == 'pad_last' and num_frames >= 1:
    return min_num_frames()
  return None


def pad_last(clip: np.ndarray, length: Optional[int] = None) -> np.ndarray:
  """`clip` [T, ...] with its last frame repeated up to `length` frames.

  Args:
    clip: [T, H, W, C] frames, T >= 1.
    length: Frames wanted (default: the minimum, 9); a longer clip is
      returned as it is.

  Returns:
    [max(T, length), H, W, C].
  """
  length = min_num_frames() if length is None else length
  missing = length - clip.shape[0]
  if missing <= 0:
    return clip
  return np.concatenate([clip, np.repeat(clip[-1:], missing, axis=0)])


def apply(clip: np.ndarray, treatment: str) -> np.ndarray:
  """The clip as the network gets it under `treatment` (no refusal here)."""
  check_treatment(treatment)
  if treatment == 'pad_last':
    return pad_last(clip)
  return clip
