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
"""A seeded bootstrap confidence interval for FVD.

FVD (Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", arXiv:1812.01717, 2018) estimated from a few thousand
videos varies with the videos drawn. The percentile bootstrap (Efron &
Tibshirani, "An Introduction to the Bootstrap", 1993) resamples each set's
embeddings with replacement (to its own size, or to a smaller size given,
to see the spread at that size), recomputes the distance under
the same protocol, and reports the 2.5th and 97.5th percentiles of those
values: how much the number would move with other videos from the same
sources. It says nothing of FVD's bias at small N (its expectation grows as
N shrinks), only of its spread.
"""

import dataclasses
from typing import Callable, Optional

import numpy as np

DEFAULT_CONFIDENCE = 0.95


class BootstrapError(ValueError):
  """Bad bootstrap settings; the message names them."""


@dataclasses.dataclass(frozen=True)
class Interval:
  """A bootstrap interval.

  Attributes:
    low: Lower percentile of the resampled distances.
    high: Upper percentile.
    confidence: Its level (0.95).
    num_resamples: Resamples drawn.
    seed: Seed of the draws.
  """
  low: float
  high: float
  confidence: float
  num_resamples: int
  seed: int

  def describe(self) -> str:
    return (f'{self.confidence:.0%} bootstrap interval [{self.low:.6f}, '
            f'{self.high:.6f}] ({self.num_resamples} resamples, seed '
            f'{self.seed})')


def bootstrap_interval(real: np.ndarray,
                       generated: np.ndarray,
                       distance: Callable[[np.ndarray, np.ndarray], float],
                       num_resamples: int,
                       seed: int = 0,
                       confidence: float = DEFAULT_CONFIDENCE,
                       resample_size: Optional[int] = None) -> Interval:
  """Percentile bootstrap interval of `distance(real, generated)`.

  Args:
    real: [N, D] embeddings.
    generated: [M, D] embeddings.
    distance: Maps two embedding sets to the distance (e.g. FVD under a
      protocol).
    num_resamples: Resamples (at least 2; a few hundred for stable ends).
    seed: Seed of the draws (one stream for both sets, in order).
    confidence: Central mass of the interval, in (0, 1).
    resample_size: Videos per resample of each set; None: each set's size.

  Returns:
    The interval.

  Raises:
    BootstrapError: For fewer than 2 resamples, a resample size larger than
      a set (or under 2), or a bad confidence.
  """
  if num_resamples < 2:
    raise BootstrapError(f'--bootstrap={num_resamples}: draw at least 2 '
                         'resamples (a few hundred for stable ends).')
  if not 0. < confidence < 1.:
    raise BootstrapError(f'bootstrap confidence must lie in (0, 1), got '
                         f'{confidence}.')
  smaller = min(len(real), len(generated))
  if resample_size is not None and not 2 <= resample_size <= smaller:
    raise BootstrapError(
        f'bootstrap resample size {resample_size} must lie in [2, {smaller}]'
        f' (real {len(real)}, generated {len(generated)} videos).')
  sizes = [resample_size or len(real), resample_size or len(generated)]
  rng = np.random.default_rng(seed)
  values = []
  for _ in range(num_resamples):
    x = real[rng.integers(0, len(real), sizes[0])]
    y = generated[rng.integers(0, len(generated), sizes[1])]
    values.append(distance(x, y))
  tail = (1. - confidence) / 2. * 100.
  low, high = np.percentile(values, [tail, 100. - tail])
  return Interval(float(low), float(high), confidence, num_resamples, seed)
