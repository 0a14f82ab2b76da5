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
"""Tests of FVD clip sampling (Unterthiner et al. 2018; StyleGAN-V 2022).

Frame indices are checked against `np.arange` of what each setting means;
random offsets must vary between videos and never between runs.
"""

from absl.testing import absltest
import numpy as np

from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.sampling import ClipSampling


class ClipSamplingTest(absltest.TestCase):

  def test_clip_sampling(self):
    first = ClipSampling(9, 2, 'first')
    np.testing.assert_array_equal(first.indices(30, 'a', 'a'),
                                  np.arange(0, 18, 2))
    everything = ClipSampling()
    np.testing.assert_array_equal(everything.indices(12, 'a', 'a'),
                                  np.arange(12))
    random = ClipSampling(16, 1, 'random', seed=3)
    offsets = {int(random.indices(100, f'v{i}', 'x')[0]) for i in range(20)}
    self.assertGreater(len(offsets), 5)  # Offsets vary between videos...
    again = ClipSampling(16, 1, 'random', seed=3)
    np.testing.assert_array_equal(random.indices(100, 'v7', 'x'),
                                  again.indices(100, 'v7', 'x'))  # ...not runs.
    for index in range(20):
      got = random.indices(17, f'v{index}', 'x')
      self.assertBetween(int(got[0]), 0, 1)
    with self.assertRaisesRegex(FVDError, r'vid: 10 frames.*needs 17'):
      ClipSampling(9, 2).indices(10, 'vid', 'vid')
    with self.assertRaisesRegex(FVDError, r'num_frames=8.*at least 9'):
      ClipSampling(8)

  def test_skipped_frames_and_bad_settings(self):
    skip = ClipSampling(9, 1, 'first', skip_first=3)
    np.testing.assert_array_equal(skip.indices(12, 'a', 'a'),
                                  3 + np.arange(9))
    with self.assertRaisesRegex(FVDError, r'a: 9 frames after the first 3 '
                                'excluded, but .* needs 10'):
      ClipSampling(10, 1, skip_first=3).indices(12, 'a', 'a')
    with self.assertRaisesRegex(FVDError, 'exclude_first_frames must be'):
      ClipSampling(skip_first=-1)
    with self.assertRaisesRegex(FVDError, 'frame stride must be >= 1'):
      ClipSampling(stride=0)
    with self.assertRaisesRegex(FVDError, 'clip start must be one of'):
      ClipSampling(start='middle')
    with self.assertRaisesRegex(FVDError, 'short_clips must be one of'):
      ClipSampling(short_clips='loop')
    self.assertEqual(ClipSampling(16, 2, 'random', seed=4, skip_first=1)
                     .describe(), '16 frames, stride 2, random start (seed '
                     '4), first 1 excluded')


if __name__ == '__main__':
  absltest.main()
