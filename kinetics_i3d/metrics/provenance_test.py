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
"""Tests of the line and record that state how an FVD (Unterthiner et al.
2018) number was made."""

import json

from absl.testing import absltest
from absl.testing import parameterized

from kinetics_i3d.metrics import provenance
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.sampling import ClipSampling
from kinetics_i3d.weights import assets


def _record(protocol='stylegan_v', role='real', **sampling):
  protocol = protocols.get_protocol(protocol)
  fields = dict(num_frames=protocol.num_frames, stride=protocol.frame_stride,
                start=protocol.start_for(role), seed=0)
  fields.update(sampling)
  clip = ClipSampling(**fields)
  return provenance.set_record(protocol, role, 2048,
                               clip.num_frames or 16, clip,
                               protocol.max_videos)


class ProvenanceTest(parameterized.TestCase):

  def test_line_states_everything(self):
    line = provenance.comparison_line(_record(role='real'),
                                      _record(role='generated'))
    self.assertNotIn('\n', line)
    for part in ('protocol: stylegan_v',
                 'videos per set: real 2048, generated 2048 (at most 2048)',
                 'frames: 16 per clip (16 frames, stride 1)',
                 'real from a random start (seed 0)',
                 'generated from the first frame',
                 'conditioning frames included',
                 'resize: 224x224 squash (aspect ratio not kept), TF1 '
                 'bilinear, half_pixel_centers=False',
                 f'rgb_scratch (model.ckpt.index sha256 '
                 f'{assets.RGB_SCRATCH_INDEX_SHA256[:16]})',
                 'covariance: biased (divided by N)',
                 'sqrtm: scipy.linalg.sqrtm', 'version: i3d-tf2'):
      self.assertIn(part, line)

  def test_excluded_conditioning_frames_are_stated(self):
    line = provenance.comparison_line(_record(skip_first=2), None)
    self.assertIn('first 2 frames of each video excluded (conditioning '
                  'frames)', line)
    self.assertIn('generated ? (statistics without provenance)', line)

  def test_record_is_json(self):
    record = _record('fvd2048_128f_subsample8f', min_frames=128)
    self.assertEqual(json.loads(json.dumps(record)), record)
    self.assertEqual(record['frame_stride'], 8)

  @parameterized.parameters(
      ({'protocol': 'reference'}, "protocol 'reference' .*'stylegan_v'"),
      ({'num_frames': 128}, 'num_frames 128 .*this run: 16'),
      ({'exclude_first_frames': 2}, 'exclude_first_frames 2'),
      ({'weights': 'other'}, "weights 'other'"))
  def test_incompatible_statistics_name_the_difference(self, change,
                                                        message):
    stored = dict(_record(), **change)
    with self.assertRaisesRegex(provenance.ProvenanceError,
                                '^stats.npz: statistics made under another '
                                'protocol: ' + message):
      provenance.check_compatible(stored, _record(), 'stats.npz')

  def test_count_version_and_start_do_not_matter(self):
    stored = dict(_record(), videos=10, version='older', clip_start='first')
    provenance.check_compatible(stored, _record(), 'stats.npz')


if __name__ == '__main__':
  absltest.main()
