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
"""Tests of the resumable FVD embedding cache (Unterthiner et al. 2018).

The key must change with anything that changes the embeddings (content,
preprocessing, sampling) and nothing else; the file must round-trip, and a
file of other inputs or a damaged one must be ignored, never trusted.
"""

import os

from absl.testing import absltest
import numpy as np

from kinetics_i3d.metrics.fvd import cache
from kinetics_i3d.metrics.fvd import oracles
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd import video_sets
from kinetics_i3d.metrics.fvd.sampling import ClipSampling


class CacheTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = oracles.make_tempdir(self)
    self.path = os.path.join(self.folder, 'generated.npy')
    np.save(self.path, oracles.blob_videos(3, 2, 8, 8))

  def test_key_follows_what_changes_the_embeddings(self):
    video_set = video_sets.open_set(self.path, 255)
    reference = protocols.get_protocol('reference')
    key = cache.cache_key(video_set, reference, ClipSampling())
    for protocol, sampling in (('half_pixel', ClipSampling()),
                               ('reference', ClipSampling(9))):
      other = cache.cache_key(video_set, protocols.get_protocol(protocol),
                              sampling)
      self.assertNotEqual(other, key)
    self.assertEqual(
        cache.cache_key(video_set, protocols.get_protocol('stylegan_v'),
                        ClipSampling()), key)  # Same preprocessing.
    # New content, same name (and a new modification time).
    np.save(self.path, oracles.blob_videos(3, 2, 8, 8)[::-1])
    os.utime(self.path, ns=(0, os.stat(self.path).st_mtime_ns + 10**9))
    changed = video_sets.open_set(self.path, 255)
    self.assertNotEqual(cache.cache_key(changed, reference, ClipSampling()),
                        key)

  def test_partial_embeddings_round_trip_or_start_over(self):
    video_set = video_sets.open_set(self.path, 255)
    reference = protocols.get_protocol('reference')
    cache_dir = os.path.join(self.folder, 'cache')
    partial = cache.PartialEmbeddings(cache_dir, video_set, reference,
                                      ClipSampling())
    self.assertEqual(partial.read().shape, (0, 400))
    rows = oracles.random_embeddings(1, 0)
    partial.write(rows)
    self.assertEqual(os.listdir(cache_dir), [os.path.basename(partial.path)])
    again = cache.PartialEmbeddings(cache_dir, video_set, reference,
                                    ClipSampling())
    np.testing.assert_array_equal(again.read(), rows)
    other = cache.PartialEmbeddings(cache_dir, video_set, reference,
                                    ClipSampling(9))
    self.assertNotEqual(other.path, partial.path)
    self.assertEqual(other.read().shape, (0, 400))
    with open(partial.path, 'wb') as f:
      f.write(b'cut')
    with self.assertLogs(level='WARNING') as logs:
      self.assertEqual(again.read().shape, (0, 400))
    self.assertIn('unreadable partial embeddings', logs.output[0])

  def test_default_cache_dir(self):
    self.assertEqual(os.path.basename(cache.default_cache_dir()), 'fvd')


if __name__ == '__main__':
  absltest.main()
