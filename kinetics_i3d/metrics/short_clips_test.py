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
"""Tests of FVD's (Unterthiner et al. 2018) short-clip treatments."""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d.metrics import short_clips


def _clip(num_frames: int) -> np.ndarray:
  # Frame t holds the value t everywhere.
  return np.broadcast_to(np.arange(num_frames, dtype=np.uint8)[
      :, None, None, None], [num_frames, 2, 3, 3]).copy()


class ShortClipsTest(parameterized.TestCase):

  def test_minimum_is_the_network_minimum(self):
    self.assertEqual(short_clips.min_num_frames(), 9)

  @parameterized.parameters(7, 8)
  def test_pad_last_repeats_the_last_frame_up_to_9(self, num_frames):
    padded = short_clips.apply(_clip(num_frames), 'pad_last')
    expected = list(range(num_frames)) + [num_frames - 1] * (9 - num_frames)
    np.testing.assert_array_equal(padded[:, 0, 0, 0], expected)
    self.assertEqual(padded.shape, (9, 2, 3, 3))
    np.testing.assert_array_equal(padded[:num_frames], _clip(num_frames))

  @parameterized.parameters('refuse', 'pad_last')
  def test_long_enough_clips_are_untouched(self, treatment):
    clip = _clip(9)
    self.assertIs(short_clips.apply(clip, treatment), clip)
    self.assertEqual(short_clips.treated_length(16, treatment), 16)

  def test_treated_length(self):
    self.assertIsNone(short_clips.treated_length(8, 'refuse'))
    self.assertEqual(short_clips.treated_length(8, 'pad_last'), 9)
    self.assertEqual(short_clips.treated_length(1, 'pad_last'), 9)

  def test_refusal_names_the_minimum_and_the_option(self):
    message = short_clips.too_short_message('--real=a.npy', 8)
    self.assertRegex(message, r'^--real=a\.npy: clips of 8 frames are too '
                     r'short: I3D needs at least 9 frames.*--short_clips='
                     r'pad_last')
    self.assertNotIn('\n', message)

  def test_unknown_treatment(self):
    with self.assertRaisesRegex(ValueError, 'short_clips must be one of '
                                'refuse, pad_last'):
      short_clips.apply(_clip(8), 'loop')


if __name__ == '__main__':
  absltest.main()
