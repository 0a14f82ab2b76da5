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
"""Tests of the FVD distance (Unterthiner et al. 2018) against float64 numpy.

The reference's distance (TF-GAN's) and StyleGAN-V's are checked against
`oracles.independent_fd` (the eigh route), a closed form for diagonal
covariances, and StyleGAN-V's own formula written out. The distance takes
embeddings of any size D; these tests use D = 64 rather than I3D's 400, which
keeps the square roots cheap and tests the same arithmetic, fewer videos than
dimensions (rank-deficient covariances, as in most FVD uses) and more.
"""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import scipy.linalg

from kinetics_i3d.metrics.fvd import distance
from kinetics_i3d.metrics.fvd import oracles
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.stats import Statistics


def biased_styleganv_fvd(x: np.ndarray, y: np.ndarray) -> float:
  """StyleGAN-V's distance, written out: biased covariances, scipy sqrtm."""
  mu_x, mu_y = x.mean(0), y.mean(0)
  s_x = np.cov(x, rowvar=False, bias=True)
  s_y = np.cov(y, rowvar=False, bias=True)
  root = scipy.linalg.sqrtm(s_y @ s_x)
  return float(np.real(np.sum((mu_y - mu_x)**2) +
                       np.trace(s_y + s_x - 2. * root)))


# Embedding size of these tests.
_SIZE = 64


def _embeddings(n: int, seed: int, scale: float = 1.) -> np.ndarray:
  return oracles.random_embeddings(n, seed, scale, size=_SIZE)


class FrechetDistanceTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ('rank_deficient_10', 10), ('rank_deficient_40', 40),
      ('full_rank_100', 100))
  def test_reference_distance_matches_numpy(self, n):
    a, b = _embeddings(n, 1), _embeddings(n, 2, 1.3)
    got = distance.frechet_video_distance(a, b, 'reference')
    want = oracles.independent_fd(a, b, ddof=1)
    # Both float64; they differ only by round-off in the square roots.
    self.assertAllCloseish(got, want, rtol=1e-7, atol=1e-4)

  @parameterized.named_parameters(('rank_deficient_30', 30),
                                  ('full_rank_90', 90))
  def test_stylegan_v_distance_is_biased_and_matches_numpy(self, n):
    a, b = _embeddings(n, 3), _embeddings(n, 4, .8)
    got = distance.frechet_video_distance(a, b, 'stylegan_v')
    self.assertAllCloseish(got, oracles.independent_fd(a, b, ddof=0),
                           rtol=1e-6, atol=1e-3)
    unbiased = distance.frechet_video_distance(a, b, 'reference')
    self.assertNotAlmostEqual(got, unbiased, delta=1e-3)

  @parameterized.parameters('tfgan', 'scipy')
  def test_diagonal_covariances_closed_form(self, method):
    rng = np.random.default_rng(5)
    m1, m2 = rng.normal(size=_SIZE), rng.normal(size=_SIZE)
    v1, v2 = rng.uniform(0, 3, _SIZE), rng.uniform(0, 3, _SIZE)
    v1[:8] = 0.  # Rank-deficient, as with fewer videos than dimensions.
    protocol = 'reference' if method == 'tfgan' else 'stylegan_v'
    s1 = Statistics(m1, np.diag(v1), 10, protocol)
    s2 = Statistics(m2, np.diag(v2), 10, protocol)
    want = (np.sum((m1 - m2)**2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2)))
    self.assertAllCloseish(distance.frechet_distance(s1, s2), want,
                           rtol=1e-9, atol=1e-6)

  def test_identical_sets_give_zero(self):
    a = _embeddings(50, 6)
    self.assertAllCloseish(distance.frechet_video_distance(a, a), 0.,
                           atol=1e-3)

  def test_tfgan_sqrtm_squares_back(self):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(30, 30))
    spd = x @ x.T
    root = distance.tfgan_sqrtm(spd)
    np.testing.assert_allclose(root @ root, spd, atol=1e-9)
    # Singular values under 1e-10 are kept unrooted, as TF-GAN does.
    tiny = np.diag([4., 1e-12])
    np.testing.assert_allclose(distance.tfgan_sqrtm(tiny),
                               np.diag([2., 1e-12]))

  def test_bad_embeddings_and_mismatches(self):
    a = _embeddings(5, 11)
    with self.assertRaisesRegex(FVDError, r'1 video.*at least 2'):
      distance.frechet_video_distance(a[:1], a)
    nan = a.copy()
    nan[2, 3] = np.nan
    with self.assertRaisesRegex(FVDError, 'NaN'):
      distance.frechet_video_distance(a, nan)
    s_ref = Statistics.from_embeddings(a, 'reference', 16)
    s_sgv = Statistics.from_embeddings(a, 'stylegan_v', 16)
    with self.assertRaisesRegex(FVDError, 'different protocols'):
      distance.frechet_distance(s_ref, s_sgv)
    s_ref8 = Statistics.from_embeddings(a, 'reference', 12)
    with self.assertRaisesRegex(FVDError, '16 frames.*12'):
      distance.frechet_distance(s_ref, s_ref8)
    with self.assertRaisesRegex(FVDError, "sqrtm method must be 'tfgan'"):
      distance.trace_sqrt_product(np.eye(2), np.eye(2), 'eig')

  def test_styleganv_protocols_distance_is_styleganv(self):
    rng = np.random.default_rng(0)
    x = rng.normal(size=[2 * _SIZE, _SIZE])
    y = rng.normal(0.1, 1.1, size=[2 * _SIZE - 10, _SIZE])
    want = biased_styleganv_fvd(x, y)
    # Both 128-frame protocols: one distance, StyleGAN-V's.
    for name in ('fvd2048_128f', 'fvd2048_128f_subsample8f'):
      self.assertAlmostEqual(distance.frechet_video_distance(x, y, name) /
                             want, 1., delta=1e-9)
    self.assertNotAlmostEqual(
        distance.frechet_video_distance(x, y, 'reference') / want, 1.,
        delta=1e-4)

  def assertAllCloseish(self, got, want, rtol=0., atol=0.):  # pylint: disable=invalid-name
    self.assertLessEqual(abs(got - want), atol + rtol * abs(want),
                         f'got {got!r}, want {want!r}')


if __name__ == '__main__':
  absltest.main()
