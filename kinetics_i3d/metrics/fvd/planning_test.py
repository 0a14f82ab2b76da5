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
"""Tests of FVD comparison planning (Unterthiner et al. 2018): refuse first.

Every input mistake that needs no model must be refused by
`plan_comparison`, naming the input, before any video is embedded.
"""

import os

from absl.testing import absltest
import numpy as np

from kinetics_i3d.metrics import provenance
from kinetics_i3d.metrics.fvd import oracles
from kinetics_i3d.metrics.fvd import planning
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.stats import Statistics


class PlanComparisonTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = oracles.make_tempdir(self)

  def _path(self, name):
    return os.path.join(self.folder, name)

  def _plan(self, real, generated, **kwargs):
    return planning.plan_comparison(self._path(real), self._path(generated),
                                    **kwargs)

  def test_plan_applies_protocol_defaults(self):
    np.save(self._path('a.npy'), oracles.blob_videos(5, 3, 8, 8,
                                                     num_frames=20))
    np.save(self._path('b.npy'), oracles.blob_videos(6, 3, 8, 8,
                                                     num_frames=20))
    real, generated = self._plan('a.npy', 'b.npy', protocol='stylegan_v',
                                 value_range=255)
    self.assertEqual((real.sampling.num_frames, real.sampling.start,
                      generated.sampling.start), (16, 'random', 'first'))
    real, _ = self._plan('a.npy', 'b.npy', value_range=255, max_videos=2)
    self.assertEqual((real.num_frames, len(real.source)), (20, 2))
    self.assertEqual(real.describe(), f'real: {self._path("a.npy")} (2 '
                     'videos, array), clips of all frames, stride 1, from '
                     'the first frame')

  def test_bad_sets(self):
    np.save(self._path('one.npy'), oracles.blob_videos(5, 1, 8, 8))
    np.save(self._path('ten.npy'), oracles.blob_videos(5, 3, 8, 8,
                                                       num_frames=10))
    np.save(self._path('twelve.npy'), oracles.blob_videos(5, 3, 8, 8,
                                                          num_frames=12))
    np.save(self._path('short.npy'), oracles.blob_videos(5, 3, 8, 8,
                                                         num_frames=8))
    floats = oracles.blob_videos(5, 3, 8, 8).astype(np.float32)
    np.save(self._path('floats.npy'), floats)
    floats[2, 1, 1, 1, 1] = np.nan
    np.save(self._path('nan.npy'), floats)
    np.save(self._path('rank4.npy'), floats[0])
    cases = (
        (('one.npy', 'ten.npy'), r'one\.npy: 1 video\(s\).*at least 2'),
        (('ten.npy', 'twelve.npy'), r'10 frames.*12.*num_frames'),
        (('short.npy', 'ten.npy'), r'short\.npy\[0\]: clips of 8 frames.*'
         'at least 9'),
        (('floats.npy', 'ten.npy', 1), r'floats\.npy\[0:.*\[0, 1\]'),
        (('nan.npy', 'ten.npy'), r'nan\.npy\[0:.*NaN'),
        (('rank4.npy', 'ten.npy'), r'rank4\.npy: expected videos'),
        (('ten.npy', 'ten.npy', None), r'ten\.npy: an array needs its value '
         'range'),
        (('missing', 'ten.npy'), 'missing: no such file'),
    )
    for args, pattern in cases:
      real, generated = args[:2]
      value_range = args[2] if len(args) > 2 else 255
      with self.subTest(pattern):
        with self.assertRaisesRegex(FVDError, pattern):
          self._plan(real, generated, value_range=value_range)

  def test_bad_settings_and_outputs(self):
    np.save(self._path('ten.npy'), oracles.blob_videos(5, 3, 8, 8,
                                                       num_frames=10))
    stats = self._path('stats.npz')
    Statistics.from_embeddings(oracles.random_embeddings(3, 0)).save(stats)
    names = {'num_frames': '--num_frames',
             'save_generated_stats': '--save_generated_stats'}
    cases = (
        ({'num_frames': 8}, r'^--num_frames=8: clips of 8 frames are too '
         'short'),
        ({'frame_stride': 0}, 'frame stride must be >= 1'),
        ({'clip_start': 'middle'}, 'clip start must be one of'),
        ({'short_clip_treatment': 'loop'}, 'short_clips must be one of'),
        ({'save_generated_stats': stats}, r'^--save_generated_stats=.*'
         r'stats\.npz exists; pass --overwrite to replace it\.$'),
        ({'save_generated_stats': self._path('no/such.npz')},
         r'no/such\.npz: folder .*/no does not exist'),
    )
    for kwargs, pattern in cases:
      with self.subTest(pattern):
        with self.assertRaisesRegex(FVDError, pattern):
          self._plan('ten.npy', 'ten.npy', value_range=255, flag_names=names,
                     **kwargs)
    with self.assertRaisesRegex(FVDError, r'save_real_stats: real=.*'
                                'holds statistics already'):
      self._plan('stats.npz', 'ten.npy', value_range=255,
                 save_real_stats=self._path('out.npz'))
    plans = self._plan('ten.npy', 'ten.npy', value_range=255,
                       save_generated_stats=stats, overwrite=True)
    self.assertEqual(plans[1].save_path, stats)

  def test_short_clips_refused_or_padded(self):
    values = (np.arange(8)[:, None, None, None] * 20).astype(np.uint8)
    np.save(self._path('eight.npy'),
            np.broadcast_to(values, (3, 8, 2, 2, 3)).copy())
    with self.assertRaisesRegex(FVDError,
                                r'eight\.npy\[0\]: clips of 8 frames are too '
                                'short: I3D needs at least 9 frames'):
      self._plan('eight.npy', 'eight.npy', value_range=255)
    plans = self._plan('eight.npy', 'eight.npy', value_range=255,
                       short_clip_treatment='pad_last')
    self.assertEqual(plans[0].num_frames, 9)
    np.testing.assert_array_equal(
        plans[0].source.clip(2, plans[0].sampling)[:, 0, 0, 0] // 20,
        list(range(8)) + [7])

  def test_statistics_made_another_way_are_refused(self):
    np.save(self._path('ten.npy'), oracles.blob_videos(5, 3, 8, 8,
                                                       num_frames=10))
    reference = protocols.get_protocol('reference')
    plans = self._plan('ten.npy', 'ten.npy', value_range=255)
    record = planning.set_provenance(plans[0], reference, 3, None)
    stats = Statistics.from_embeddings(oracles.random_embeddings(3, 0),
                                       'reference', 10)
    stats.provenance = dict(record, exclude_first_frames=2)
    stats.save(self._path('other.npz'))
    with self.assertRaisesRegex(FVDError, r'^real: statistics made under '
                                'another protocol: exclude_first_frames'):
      self._plan('other.npz', 'ten.npy', value_range=255)
    stats.provenance = record
    stats.save(self._path('same.npz'))
    self.assertLen(self._plan('same.npz', 'ten.npy', value_range=255), 2)
    self.assertEqual(provenance.set_record(reference, 'real', 3, 10,
                                           plans[0].sampling, None), record)


if __name__ == '__main__':
  absltest.main()
