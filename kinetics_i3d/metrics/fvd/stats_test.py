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
"""Tests of FVD statistics (Unterthiner et al. 2018): the Gaussian, the file.

Statistics saved and loaded must round-trip bit for bit (mean, covariance,
embeddings, provenance), and every file that is not one, or was made under
another protocol, must be refused with its name in the message.
"""

import os

from absl.testing import absltest
import numpy as np

from kinetics_i3d.metrics import provenance
from kinetics_i3d.metrics.fvd import oracles
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.sampling import ClipSampling
from kinetics_i3d.metrics.fvd.stats import Statistics


class StatisticsTest(absltest.TestCase):

  def test_mean_and_covariance_are_numpy_s(self):
    a = oracles.random_embeddings(20, 8)
    for name, ddof in (('reference', 1), ('stylegan_v', 0)):
      stats = Statistics.from_embeddings(a, name)
      np.testing.assert_allclose(stats.mean, a.astype(np.float64).mean(0),
                                 rtol=1e-12, atol=1e-12)
      np.testing.assert_allclose(
          stats.covariance, np.cov(a.astype(np.float64), rowvar=False,
                                   ddof=ddof), rtol=1e-9, atol=1e-12)

  def test_statistics_round_trip_exactly(self):
    folder = oracles.make_tempdir(self)
    stats = Statistics.from_embeddings(oracles.random_embeddings(20, 8),
                                       'stylegan_v', num_frames=16)
    path = os.path.join(folder, 'stats.npz')
    stats.save(path)
    loaded = Statistics.load(path, 'stylegan_v')
    self.assertEqual(loaded.mean.tobytes(), stats.mean.tobytes())
    self.assertEqual(loaded.covariance.tobytes(), stats.covariance.tobytes())
    self.assertEqual((loaded.count, loaded.protocol, loaded.num_frames),
                     (20, 'stylegan_v', 16))
    self.assertEqual(os.listdir(folder), ['stats.npz'])  # No temporaries.
    with self.assertRaises(FileExistsError):
      stats.save(path)

  def test_provenance_and_embeddings_round_trip(self):
    folder = oracles.make_tempdir(self)
    embeddings = oracles.random_embeddings(5, 0)
    stats = Statistics.from_embeddings(embeddings, 'fvd2048_128f', 128)
    stats.provenance = provenance.set_record(
        protocols.get_protocol('fvd2048_128f'), 'real', 5, 128,
        ClipSampling(128, start='random'), 2048)
    path = os.path.join(folder, 'stats.npz')
    stats.save(path)
    loaded = Statistics.load(path, 'fvd2048_128f')
    self.assertEqual(loaded.provenance, stats.provenance)
    np.testing.assert_array_equal(loaded.embeddings, embeddings)
    np.testing.assert_array_equal(loaded.covariance, stats.covariance)
    with self.assertRaisesRegex(FVDError, "statistics of protocol "
                                "'fvd2048_128f', but the protocol is "
                                "'fvd2048_128f_subsample8f'"):
      Statistics.load(path, 'fvd2048_128f_subsample8f')

  def test_statistics_of_another_protocol_are_refused(self):
    folder = oracles.make_tempdir(self)
    path = os.path.join(folder, 'stats.npz')
    Statistics.from_embeddings(oracles.random_embeddings(5, 9),
                               'stylegan_v').save(path)
    with self.assertRaisesRegex(FVDError, r"stats\.npz.*'stylegan_v'.*"
                                r"'reference'"):
      Statistics.load(path, 'reference')

  def test_statistics_of_another_shape_are_refused(self):
    folder = oracles.make_tempdir(self)
    path = os.path.join(folder, 'small.npz')
    Statistics(np.zeros(10), np.eye(10), 5, 'reference').save(path)
    with self.assertRaisesRegex(FVDError, r'small\.npz.*\[400\]'):
      Statistics.load(path)

  def test_unreadable_statistics_are_refused(self):
    folder = oracles.make_tempdir(self)
    good = os.path.join(folder, 'good.npz')
    Statistics.from_embeddings(oracles.random_embeddings(5, 10)).save(good)
    with self.assertRaisesRegex(FVDError, r'missing\.npz: no such'):
      Statistics.load(os.path.join(folder, 'missing.npz'))
    cut = os.path.join(folder, 'cut.npz')
    with open(good, 'rb') as f, open(cut, 'wb') as g:
      g.write(f.read()[:1000])
    with self.assertRaisesRegex(FVDError, r'cut\.npz: not a readable'):
      Statistics.load(cut)
    other = os.path.join(folder, 'other.npz')
    np.savez(other, x=np.zeros(3))
    with self.assertRaisesRegex(FVDError, r'other\.npz: not FVD stat'):
      Statistics.load(other)
    with np.load(good) as data:
      fields = dict(data)
    fields['count'] = np.arange(3)
    malformed = os.path.join(folder, 'malformed.npz')
    np.savez(malformed, **fields)
    with self.assertRaisesRegex(FVDError, r'malformed\.npz: malformed'):
      Statistics.load(malformed)


if __name__ == '__main__':
  absltest.main()
