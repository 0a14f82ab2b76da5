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
"""Tests of KVD (Unterthiner et al. 2018) against a loop over kernel values."""

import itertools

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d.metrics import kvd


def loop_mmd2(x: np.ndarray, y: np.ndarray) -> float:
  """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, one pair at a time."""
  d = x.shape[1]
  m = len(x)

  def k(a, b):
    return (float(np.dot(a, b)) / d + 1.) ** 3

  xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2))
  yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2))
  xy = sum(k(a, b) for a in x for b in y)
  return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2. * xy / m**2


class KVDTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(0)
    self.real = rng.normal(size=[12, 5])
    self.generated = rng.normal(0.5, 1.2, size=[10, 5])

  def test_mmd_matches_the_loop(self):
    x, y = self.real[:6], self.generated[:6]
    self.assertAlmostEqual(kvd.unbiased_mmd2(x, y), loop_mmd2(x, y),
                           delta=1e-9)

  def test_whole_set_subset_is_the_plain_estimate(self):
    # One "subset" of every video (drawn without replacement): the estimate
    # on the whole sets, as the DIGAN-lineage scripts compute it.
    x, y = self.real[:10], self.generated
    self.assertAlmostEqual(
        kvd.kernel_video_distance(x, y, num_subsets=1, subset_size=10),
        loop_mmd2(y, x), delta=1e-9)

  def test_subsets_are_seeded_and_averaged(self):
    rng = np.random.default_rng(3)
    expected = np.mean([
        loop_mmd2(self.generated[rng.choice(10, 4, replace=False)],
                  self.real[rng.choice(12, 4, replace=False)])
        for _ in range(5)])
    self.assertAlmostEqual(
        kvd.kernel_video_distance(self.real, self.generated, 5, 4, seed=3),
        expected, delta=1e-9)
    self.assertNotAlmostEqual(
        kvd.kernel_video_distance(self.real, self.generated, 5, 4, seed=4),
        expected, delta=1e-9)

  def test_default_subset_size_is_styleganv_kid_rule(self):
    # min(N_real, N_generated, 1000) = 10 here.
    self.assertAlmostEqual(
        kvd.kernel_video_distance(self.real, self.generated, num_subsets=2),
        kvd.kernel_video_distance(self.real, self.generated, 2, 10),
        delta=1e-12)

  def test_same_distribution_is_near_zero_and_shift_is_positive(self):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=[200, 8]), rng.normal(size=[200, 8])
    same = kvd.kernel_video_distance(a, b, 10, 100)
    shifted = kvd.kernel_video_distance(a, b + 1., 10, 100)
    self.assertLess(abs(same), 0.1 * shifted)
    self.assertGreater(shifted, 0.)

  @parameterized.parameters(
      (11, 1, 'subset size 11 is larger than a set .*at most 10'),
      (1, 1, 'subsets of 1 videos'),
      (4, 0, 'num_subsets must be >= 1'))
  def test_bad_settings(self, size, subsets, message):
    with self.assertRaisesRegex(kvd.KVDError, message):
      kvd.kernel_video_distance(self.real, self.generated, subsets, size)

  def test_bad_embeddings(self):
    with self.assertRaisesRegex(kvd.KVDError, 'generated embeddings must'):
      kvd.kernel_video_distance(self.real, self.generated[:, :3])
    bad = self.generated.copy()
    bad[0, 0] = np.nan
    with self.assertRaisesRegex(kvd.KVDError, 'NaN'):
      kvd.kernel_video_distance(self.real, bad)


if __name__ == '__main__':
  absltest.main()
