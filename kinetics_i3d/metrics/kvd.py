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
"""Kernel Video Distance (KVD): the polynomial-kernel MMD of I3D embeddings.

Unterthiner et al. ("Towards Accurate Generative Models of Video: A New
Metric & Challenges", arXiv:1812.01717, 2018) report KVD beside FVD: the
squared maximum mean discrepancy of the same rgb_scratch I3D logits
(Carreira & Zisserman, CVPR 2017) under the kernel of KID (Binkowski et al.,
"Demystifying MMD GANs", ICLR 2018), k(x, y) = (x . y / d + 1)^3 with d the
embedding size (400), estimated without bias:

  MMD^2 = sum_{i != j} k(x_i, x_j) / (m (m - 1))
        + sum_{i != j} k(y_i, y_j) / (m (m - 1))
        - 2 sum_{i, j} k(x_i, y_j) / m^2.

Averaged over subsets as KID is in StyleGAN2-ADA's and StyleGAN-V's
`compute_kid` (`num_subsets=100`, `max_subset_size=1000`): each subset draws
m = min(N_real, N_generated, 1000) videos of each set without replacement.
The value is the MMD itself (StyleGAN's KID is reported x 1000; video papers
quote KVD unscaled). Video-generation scripts in DIGAN's lineage compute one
estimate on the whole sets, which is `num_subsets=1` with `subset_size` equal
to both sets' size.
"""

from typing import Optional

import numpy as np

# StyleGAN2-ADA / StyleGAN-V `compute_kid` defaults.
DEFAULT_NUM_SUBSETS = 100
DEFAULT_MAX_SUBSET_SIZE = 1000
KERNEL_DEGREE = 3


class KVDError(ValueError):
  """Bad input to KVD; the message names it."""


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """(x y^T / d + 1)^3 of [m, d] and [n, d] in float64 -> [m, n]."""
  x = np.asarray(x, np.float64)
  y = np.asarray(y, np.float64)
  return (x @ y.T / x.shape[1] + 1.) ** KERNEL_DEGREE


def unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
  """The unbiased squared MMD of two samples of one size m >= 2."""
  m = x.shape[0]
  k_xx = polynomial_kernel(x, x)
  k_yy = polynomial_kernel(y, y)
  within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (
      m * (m - 1))
  return float(within - 2. * polynomial_kernel(x, y).sum() / m**2)


def kernel_video_distance(real: np.ndarray,
                          generated: np.ndarray,
                          num_subsets: int = DEFAULT_NUM_SUBSETS,
                          subset_size: Optional[int] = None,
                          seed: int = 0) -> float:
  """KVD of two sets of embeddings, averaged over random subsets.

  Args:
    real: [N, D] embeddings of the real set.
    generated: [M, D] embeddings of the generated set.
    num_subsets: Subsets averaged.
    subset_size: Videos per subset of each set; None: min(N, M, 1000), as
      StyleGAN's KID.
    seed: Seed of the subset draws.

  Returns:
    The mean unbiased MMD^2 over the subsets.

  Raises:
    KVDError: For bad shapes or NaN, fewer than 2 videos, or a subset size
      larger than a set.
  """
  real = np.asarray(real, np.float64)
  generated = np.asarray(generated, np.float64)
  for name, x in (('real', real), ('generated', generated)):
    if x.ndim != 2 or x.shape[1] != real.shape[-1]:
      raise KVDError(f'KVD: {name} embeddings must be [N, D] of one D, got '
                     f'{x.shape}.')
    if not np.all(np.isfinite(x)):
      raise KVDError(f'KVD: {name} embeddings contain NaN or infinite '
                     'values.')
  smaller = min(len(real), len(generated))
  if subset_size is None:
    subset_size = min(smaller, DEFAULT_MAX_SUBSET_SIZE)
  if subset_size < 2:
    raise KVDError(f'KVD: subsets of {subset_size} videos; the unbiased '
                   'estimate needs at least 2 per set.')
  if subset_size > smaller:
    raise KVDError(
        f'KVD: subset size {subset_size} is larger than a set (real '
        f'{len(real)}, generated {len(generated)} videos); choose at most '
        f'{smaller} (--kvd_subset_size).')
  if num_subsets < 1:
    raise KVDError(f'KVD: num_subsets must be >= 1, got {num_subsets}.')
  rng = np.random.default_rng(seed)
  total = 0.
  for _ in range(num_subsets):
    x = generated[rng.choice(len(generated), subset_size, replace=False)]
    y = real[rng.choice(len(real), subset_size, replace=False)]
    total += unbiased_mmd2(x, y)
  return total / num_subsets
