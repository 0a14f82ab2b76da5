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
"""Tests of the FVD protocols against the sources they follow.

The StyleGAN-V protocols (Skorokhodov et al., 2022) must take the frames
StyleGAN-V's `load_n_consecutive` takes (written out in `styleganv_indices`)
and refuse what its `discard_short_videos` rule refuses; FVD is Unterthiner
et al., arXiv:1812.01717, 2018, on I3D (Carreira & Zisserman, CVPR 2017).
"""

import os
import shutil
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d.metrics.fvd import planning
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.errors import FVDError

# Frames of the synthetic videos; frame t of video i holds (i * 7 + t) % 256.
_TOTAL = 130


def indexed_videos(count: int, total: int = _TOTAL) -> np.ndarray:
  """uint8 [count, total, 2, 2, 3] whose values name their frame."""
  values = (np.arange(count)[:, None] * 7 + np.arange(total)[None]) % 256
  return np.broadcast_to(values[:, :, None, None, None].astype(np.uint8),
                         [count, total, 2, 2, 3]).copy()


def frame_numbers(clip: np.ndarray, video: int) -> np.ndarray:
  """The frame numbers of a clip of video `video` of `indexed_videos`."""
  return (clip[:, 0, 0, 0].astype(int) - video * 7) % 256


def styleganv_indices(total: int, num_frames: int, factor: int,
                      offset: int) -> np.ndarray:
  """StyleGAN-V's `load_n_consecutive` frames with `subsample_factor`."""
  assert total >= num_frames * factor  # Its discard rule.
  assert 0 <= offset <= total - num_frames * factor + factor - 1
  return np.arange(0, num_frames * factor, factor) + offset


class ProtocolSamplingTest(parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp(prefix='fvd_protocols_test_')
    cls.path = os.path.join(cls.folder, 'videos.npy')
    np.save(cls.path, indexed_videos(6))

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.folder)
    super().tearDownClass()

  def _clips(self, protocol, **kwargs):
    plans = planning.plan_comparison(self.path, self.path, protocol,
                                     value_range=255, **kwargs)
    return {plan.role: [plan.source.clip(i, plan.sampling)
                        for i in range(len(plan.source))] for plan in plans}

  @parameterized.parameters(('stylegan_v', 16, 1), ('fvd2048_128f', 128, 1),
                            ('fvd2048_128f_subsample8f', 16, 8))
  def test_styleganv_protocols_sample_as_styleganv(self, name, num_frames,
                                                   factor):
    clips = self._clips(name)
    for video, clip in enumerate(clips['generated']):
      np.testing.assert_array_equal(
          frame_numbers(clip, video),
          styleganv_indices(_TOTAL, num_frames, factor, 0))
    offsets = set()
    for video, clip in enumerate(clips['real']):
      numbers = frame_numbers(clip, video)
      offsets.add(int(numbers[0]))
      np.testing.assert_array_equal(
          numbers, styleganv_indices(_TOTAL, num_frames, factor,
                                     int(numbers[0])))
    if name != 'fvd2048_128f':  # 3 possible offsets there; 6 videos.
      self.assertGreater(len(offsets), 1)

  def test_subsample8f_needs_128_frames_as_styleganv(self):
    # 125 frames hold the clip's span (121) but not StyleGAN-V's 16 * 8.
    path = os.path.join(self.folder, 'short.npy')
    np.save(path, indexed_videos(3, 125))
    with self.assertRaisesRegex(FVDError,
                                r'short\.npy\[0\]: 125 frames, but a clip of '
                                '16 frames at stride 8 needs 128'):
      planning.plan_comparison(path, path, 'fvd2048_128f_subsample8f',
                               value_range=255)
    plans = planning.plan_comparison(path, path, 'reference', value_range=255,
                                     num_frames=16, frame_stride=8)
    np.testing.assert_array_equal(
        frame_numbers(plans[0].source.clip(0, plans[0].sampling), 0),
        np.arange(16) * 8)

  @parameterized.parameters(('reference', 10), ('stylegan_v', 16))
  def test_excluded_conditioning_frames(self, name, num_frames):
    clips = self._clips(name, num_frames=num_frames, exclude_first_frames=2)
    for video, clip in enumerate(clips['generated']):
      np.testing.assert_array_equal(frame_numbers(clip, video),
                                    2 + np.arange(num_frames))
    for video, clip in enumerate(clips['real']):
      numbers = frame_numbers(clip, video)
      self.assertGreaterEqual(numbers[0], 2)
      np.testing.assert_array_equal(numbers, numbers[0] +
                                    np.arange(num_frames))

  def test_whole_videos_after_excluded_frames(self):
    clips = self._clips('reference', exclude_first_frames=120)
    np.testing.assert_array_equal(frame_numbers(clips['real'][1], 1),
                                  np.arange(120, _TOTAL))
    with self.assertRaisesRegex(FVDError, 'all within the 130 '
                                'conditioning frames'):
      self._clips('reference', exclude_first_frames=130)

  def test_a_set_larger_than_the_protocol_takes_is_refused(self):
    with self.assertRaisesRegex(FVDError,
                                "max_videos=4096 is more than protocol "
                                "'fvd2048_128f' takes \\(2048 per set\\)"):
      self._clips('fvd2048_128f', max_videos=4096)


class ProtocolTableTest(absltest.TestCase):

  def test_min_video_frames_is_styleganvs_rule_only_where_it_applies(self):
    strided = protocols.get_protocol('fvd2048_128f_subsample8f')
    self.assertEqual(strided.min_video_frames(16, 8), 128)  # Not 121.
    self.assertEqual(strided.min_video_frames(None, 8), 0)
    for name in ('reference', 'stylegan_v', 'fvd2048_128f'):
      self.assertEqual(protocols.get_protocol(name).min_video_frames(16, 8),
                       0, name)

  def test_names_and_lookup(self):
    self.assertEqual(list(protocols.PROTOCOLS),
                     ['reference', 'stylegan_v', 'fvd2048_128f',
                      'fvd2048_128f_subsample8f', 'crop', 'half_pixel'])
    for name, protocol in protocols.PROTOCOLS.items():
      self.assertEqual(protocol.name, name)
      self.assertIs(protocols.get_protocol(name), protocol)
      self.assertIs(protocols.get_protocol(protocol), protocol)
    self.assertEqual(protocols.get_protocol('stylegan_v').start_for('real'),
                     'random')
    with self.assertRaisesRegex(FVDError, "Unknown FVD protocol 'fvd_v9'; "
                                'choose one of reference, '):
      protocols.get_protocol('fvd_v9')


if __name__ == '__main__':
  absltest.main()
