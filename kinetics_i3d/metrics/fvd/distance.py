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
"""The Frechet distance between two sets' statistics, as FVD computes it.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) is the Frechet distance
|m1 - m2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2) between the Gaussians of two
sets' I3D embeddings (Carreira & Zisserman, CVPR 2017), in float64, with the
square root of TF-GAN (the reference) or of `scipy.linalg.sqrtm`
(StyleGAN-V), as the protocol says.
"""

from typing import Optional, Union
import warnings

import numpy as np
import scipy.linalg

from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.stats import Statistics

# TF-GAN's `_symmetric_matrix_square_root`: smaller singular values are kept
# unrooted.
TFGAN_SQRT_EPS = 1e-10


def tfgan_sqrtm(matrix: np.ndarray, eps: float = TFGAN_SQRT_EPS) -> np.ndarray:
  """TF-GAN's square root of a symmetric PSD matrix, by SVD, in float64.

  U diag(s') V^T with s' = sqrt(s), except singular values below `eps`,
  which are kept unrooted (TF-GAN's guard against sqrt near 0).
  """
  u, s, vh = np.linalg.svd(np.asarray(matrix, np.float64))
  root = np.where(s < eps, s, np.sqrt(s))
  return (u * root) @ vh


def trace_sqrt_product(sigma: np.ndarray, sigma_v: np.ndarray,
                       method: str = 'tfgan') -> float:
  """tr sqrt(sigma sigma_v) of two covariances.

  Args:
    sigma: [D, D] (the real set's covariance).
    sigma_v: [D, D] (the generated set's).
    method: 'tfgan': tr sqrtm_sym(A sigma_v A), A = sqrtm_sym(sigma) (TF-GAN);
      'scipy': real part of tr scipy.linalg.sqrtm(sigma_v @ sigma)
      (StyleGAN-V).

  Returns:
    The trace.
  """
  if method == 'tfgan':
    root = tfgan_sqrtm(sigma)
    return float(np.trace(tfgan_sqrtm(root @ (sigma_v @ root))))
  if method == 'scipy':
    with warnings.catch_warnings():
      # Rank-deficient covariances (fewer videos than dimensions) make the
      # product singular; StyleGAN-V takes the result as it comes, and so do
      # we.
      warnings.simplefilter('ignore', scipy.linalg.LinAlgWarning)
      root = scipy.linalg.sqrtm(sigma_v @ sigma)
    return float(np.real(np.trace(root)))
  raise FVDError(f"sqrtm method must be 'tfgan' or 'scipy', got {method!r}.")


def frechet_distance(real: Statistics, generated: Statistics,
                     protocol: Optional[Union[str, protocols.Protocol]] = None
                    ) -> float:
  """|m1 - m2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2), in float64.

  Args:
    real: The real set's statistics.
    generated: The generated set's statistics.
    protocol: If given, both must have been made under it; otherwise they
      must agree with each other.

  Returns:
    The Frechet distance.

  Raises:
    FVDError: If the statistics disagree in protocol, size or clip length.
  """
  names = {real.protocol, generated.protocol}
  if protocol is not None:
    names.add(protocols.get_protocol(protocol).name)
  if len(names) > 1:
    raise FVDError(f'statistics of different protocols {sorted(names)}: '
                   'compute both sets under one protocol.')
  method = protocols.get_protocol(real.protocol).sqrtm
  if real.mean.shape != generated.mean.shape:
    raise FVDError(f'statistics of different sizes {real.mean.shape} and '
                   f'{generated.mean.shape}.')
  if real.num_frames and generated.num_frames and (
      real.num_frames != generated.num_frames):
    raise FVDError(
        f'the real set has clips of {real.num_frames} frames and the '
        f'generated set of {generated.num_frames}: compare clips of one '
        'length.')
  diff = real.mean - generated.mean
  trace_sqrt = trace_sqrt_product(real.covariance, generated.covariance,
                                  method)
  return float(diff @ diff + np.trace(real.covariance) +
               np.trace(generated.covariance) - 2. * trace_sqrt)


def frechet_video_distance(
    real: Union[np.ndarray, Statistics],
    generated: Union[np.ndarray, Statistics],
    protocol: Union[str, protocols.Protocol] = 'reference') -> float:
  """FVD from two sets of embeddings [N, 400] or their `Statistics`.

  Args:
    real: The real set's embeddings [N, D], or its statistics.
    generated: The generated set's, likewise.
    protocol: A protocol name or `Protocol`.

  Returns:
    The Frechet distance.

  Raises:
    FVDError: As `Statistics.from_embeddings` and `frechet_distance`.
  """
  protocol = protocols.get_protocol(protocol)

  def stats(x: Union[np.ndarray, Statistics], name: str) -> Statistics:
    if isinstance(x, Statistics):
      return x
    return Statistics.from_embeddings(x, protocol, name=name)

  return frechet_distance(stats(real, 'real embeddings'),
                          stats(generated, 'generated embeddings'), protocol)

