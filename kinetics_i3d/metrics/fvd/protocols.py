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
r"""The FVD protocols: the reference and its named variants.

  Thomas Unterthiner, Sjoerd van Steenkiste, Karol Kurach, Raphael Marinier,
  Marcin Michalski, Sylvain Gelly. "Towards Accurate Generative Models of
  Video: A New Metric & Challenges." arXiv:1812.01717, 2018.

The embedding network is I3D (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017). The TF-Hub
module `deepmind/i3d-kinetics-400/1` that the reference loads is DeepMind's
rgb_scratch checkpoint (all 230 tensors identical), which
`checkpoints.build_model('rgb_scratch')` fetches and verifies.

The reference protocol ('reference'), as google-research's
`frechet_video_distance` and TF-GAN's
`frechet_classifier_distance_from_activations` compute it:

1. Videos [N, T, H, W, 3], values in [0, 255], any H and W (T >= 9 here:
   I3D's logits need at least 9 frames). The reference takes the frames as
   given: no temporal resampling.
2. Every frame resized to 224x224 with TF1's `resize_bilinear`
   (align_corners=False, half_pixel_centers=False: source coordinate =
   output index * in / out), aspect ratio not kept.
3. Scaled with 2 * x / 255 - 1 in float32; the reference asserts the model
   input lies in [-1.001, 1.001].
4. The embedding is the graph's `RGB/inception_i3d/Mean`: the 400 Kinetics
   logits (no softmax), spatially squeezed and averaged over time, which is
   exactly the output of `i3d.InceptionI3d(400, final_endpoint='Logits')`.
   The reference feeds batches of exactly 16 videos; batch norm runs in
   inference mode, so the batch size does not change the values.
5. The distance in float64: means, *unbiased* covariances (divided by N - 1),
   FD = |m1 - m2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2), where
   tr sqrt(S1 S2) = tr sqrtm_sym(A S2 A) with A = sqrtm_sym(S1), and
   sqrtm_sym(M) = U diag(s') V^T from the SVD M = U diag(s) V^T, s' = sqrt(s)
   except that singular values below 1e-10 are kept as they are. (TF-GAN
   casts the result back to the embeddings' float32; we return float64.)

Named variants (`PROTOCOLS`), each one documented difference away:

* 'stylegan_v': StyleGAN-V's `fvd2048_16f` (Skorokhodov et al., 2022, as in
  its public `src/metrics/`): at most 2048 videos per set (the first ones in
  sorted order), clips of 16 consecutive frames (real videos from a random
  offset, generated ones from the first frame; videos shorter than 16 frames
  are skipped there, refused here), the *biased* covariance (divided by N)
  and `scipy.linalg.sqrtm(S_gen @ S_real)`, real part of the result. Its
  detector is a TorchScript port of the same TF-Hub model that rescales by
  x / 255 * 2 - 1 and resizes to 224 inside the TorchScript; that resize is
  not in the public source (StyleGAN-V's own docstring says the port matches
  the original "up to the upsampling operation"), so this variant keeps the
  reference resize: see 'half_pixel' for how much the resize matters.
* 'fvd2048_128f': StyleGAN-V's `fvd2048_128f`, 'stylegan_v' with clips of
  128 consecutive frames.
* 'fvd2048_128f_subsample8f': StyleGAN-V's `fvd2048_128f_subsample8f`,
  'stylegan_v' with 16 frames taken every 8th (`subsample_factor=8`): frames
  offset + 0, 8, ..., 120, the offset uniform in [0, T - 121] for real
  videos and 0 for generated ones; videos need 16 * 8 = 128 frames (its
  `discard_short_videos` rule), not just the 121 the clip spans.
* 'crop': frames resized so that the shorter side is 224 (aspect ratio kept,
  the longer side rounded to the nearest pixel, same TF1 bilinear op), then
  the central 224x224 crop.
* 'half_pixel': TF1 bilinear with half_pixel_centers=True, i.e. TF2's
  `tf.image.resize(..., 'bilinear')` and PyTorch's `interpolate(...,
  align_corners=False)` without antialiasing, the resize of most ports.

Any protocol also takes the video-prediction convention (`ClipSampling.
skip_first`: the first frames, a model's conditioning, left out; 0 keeps
them) and a short-clip treatment (`short_clips`). KVD (`kvd`), a bootstrap
interval (`bootstrap`) and the record of how a number was made
(`provenance`) live in their own modules.
"""

import dataclasses
from typing import Any, Dict, Optional, Tuple, Union

from kinetics_i3d.metrics.fvd.errors import FVDError

@dataclasses.dataclass(frozen=True)
class Protocol:
  """How videos become embeddings and embeddings a distance.

  Attributes:
    name: Key in `PROTOCOLS`.
    difference: One line: how it differs from the reference.
    resize: 'squash' (both sides to 224, aspect ratio not kept) or 'crop'
      (shorter side to 224, centre crop).
    half_pixel_centers: TF1 `resize_bilinear`'s half_pixel_centers.
    covariance: 'unbiased' (N - 1) or 'biased' (N).
    sqrtm: 'tfgan' (symmetric SVD square roots, as TF-GAN) or 'scipy'
      (`scipy.linalg.sqrtm` of the product, real part).
    num_frames: Clip length taken from each video; None: every frame.
    clip_start: {'real': ..., 'generated': ...}, each 'first' or 'random'.
    max_videos: Use at most this many videos per set (first in order).
    frame_stride: Take every n-th frame of a video.
    strided_length: A video must hold num_frames * frame_stride frames
      (StyleGAN-V's rule) rather than the clip's span,
      (num_frames - 1) * frame_stride + 1.
  """
  name: str
  difference: str
  resize: str = 'squash'
  half_pixel_centers: bool = False
  covariance: str = 'unbiased'
  sqrtm: str = 'tfgan'
  num_frames: Optional[int] = None
  clip_start: Tuple[Tuple[str, str], ...] = (('real', 'first'),
                                             ('generated', 'first'))
  max_videos: Optional[int] = None
  frame_stride: int = 1
  strided_length: bool = False

  def start_for(self, role: str) -> str:
    """Where clips of the `role` set ('real', 'generated') start."""
    return dict(self.clip_start)[role]

  def min_video_frames(self, num_frames: Optional[int],
                       frame_stride: int) -> int:
    """Frames a video must hold for clips of `num_frames` at `frame_stride`.

    Args:
      num_frames: The clip length; None for every frame.
      frame_stride: The step between taken frames.

    Returns:
      num_frames * frame_stride under `strided_length` (StyleGAN-V's rule),
      else 0 (the clip's span is then the only requirement).
    """
    if self.strided_length and num_frames:
      return num_frames * frame_stride
    return 0

  def embedding_fields(self) -> Dict[str, Any]:
    """The fields that change the embedding of a given clip."""
    return {'resize': self.resize,
            'half_pixel_centers': self.half_pixel_centers}


PROTOCOLS: Dict[str, Protocol] = {p.name: p for p in (
    Protocol('reference',
             'google-research frechet_video_distance on TF-GAN, exactly'),
    Protocol('stylegan_v',
             "StyleGAN-V's fvd2048_16f: <= 2048 videos, 16-frame clips "
             '(real at a random offset), biased covariance, scipy sqrtm',
             covariance='biased', sqrtm='scipy', num_frames=16,
             clip_start=(('real', 'random'), ('generated', 'first')),
             max_videos=2048),
    Protocol('fvd2048_128f',
             "StyleGAN-V's fvd2048_128f: stylegan_v with 128-frame clips",
             covariance='biased', sqrtm='scipy', num_frames=128,
             clip_start=(('real', 'random'), ('generated', 'first')),
             max_videos=2048),
    Protocol('fvd2048_128f_subsample8f',
             "StyleGAN-V's fvd2048_128f_subsample8f: stylegan_v with 16 "
             'frames taken every 8th from 128 (videos of >= 128 frames)',
             covariance='biased', sqrtm='scipy', num_frames=16,
             clip_start=(('real', 'random'), ('generated', 'first')),
             max_videos=2048, frame_stride=8, strided_length=True),
    Protocol('crop',
             'shorter side resized to 224 (aspect ratio kept), centre '
             '224x224 crop', resize='crop'),
    Protocol('half_pixel',
             'bilinear resize with half-pixel centres (TF2 / PyTorch '
             'semantics)', half_pixel_centers=True),
)}


def get_protocol(protocol: Union[str, Protocol]) -> Protocol:
  """The `Protocol` named `protocol` (or `protocol` itself)."""
  if isinstance(protocol, Protocol):
    return protocol
  if protocol not in PROTOCOLS:
    raise FVDError(f'Unknown FVD protocol {protocol!r}; choose one of '
                   f'{", ".join(PROTOCOLS)}.')
  return PROTOCOLS[protocol]

