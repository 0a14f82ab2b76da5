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
"""Tests of the FVD (Unterthiner et al. 2018) bootstrap interval."""

from absl.testing import absltest
import numpy as np

from kinetics_i3d.metrics import bootstrap


def mean_gap(x: np.ndarray, y: np.ndarray) -> float:
  return float(np.abs(x.mean(0) - y.mean(0)).sum())


class BootstrapTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(0)
    self.real = rng.normal(size=[30, 3])
    self.generated = rng.normal(0.3, size=[25, 3])

  def test_percentiles_of_seeded_resamples(self):
    # The same draws, made independently: one generator, real then generated
    # indices per resample.
    rng = np.random.default_rng(7)
    values = []
    for _ in range(50):
      x = self.real[rng.integers(0, 30, 30)]
      y = self.generated[rng.integers(0, 25, 25)]
      values.append(mean_gap(x, y))
    interval = bootstrap.bootstrap_interval(self.real, self.generated,
                                            mean_gap, 50, seed=7)
    self.assertAlmostEqual(interval.low, np.percentile(values, 2.5), 12)
    self.assertAlmostEqual(interval.high, np.percentile(values, 97.5), 12)
    self.assertEqual(interval, bootstrap.bootstrap_interval(
        self.real, self.generated, mean_gap, 50, seed=7))
    self.assertNotEqual(interval, bootstrap.bootstrap_interval(
        self.real, self.generated, mean_gap, 50, seed=8))
    self.assertLess(interval.low, mean_gap(self.real, self.generated) * 1.5)
    self.assertIn('95% bootstrap interval', interval.describe())

  def test_resample_size(self):
    sizes = []
    bootstrap.bootstrap_interval(
        self.real, self.generated,
        lambda x, y: sizes.append((len(x), len(y))) or 0., 3,
        resample_size=10)
    self.assertEqual(sizes, [(10, 10)] * 3)

  def test_bad_settings(self):
    with self.assertRaisesRegex(bootstrap.BootstrapError,
                                '--bootstrap=1: draw at least 2'):
      bootstrap.bootstrap_interval(self.real, self.generated, mean_gap, 1)
    with self.assertRaisesRegex(bootstrap.BootstrapError,
                                r'resample size 26 must lie in \[2, 25\]'):
      bootstrap.bootstrap_interval(self.real, self.generated, mean_gap, 5,
                                   resample_size=26)
    with self.assertRaisesRegex(bootstrap.BootstrapError, 'confidence'):
      bootstrap.bootstrap_interval(self.real, self.generated, mean_gap, 5,
                                   confidence=1.)


if __name__ == '__main__':
  absltest.main()
