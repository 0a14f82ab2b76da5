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
"""Tests of the batch sizing of FVD's (Unterthiner et al. 2018) embedding."""

from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized

from kinetics_i3d.metrics import batching


class BatchingTest(parameterized.TestCase):

  @parameterized.parameters(
      # 139 GiB free (an H200): capped.
      (16, 139 * 2**30, 256),
      # 128 frames: 0.5 * 139 GiB / (128 * 8 MiB) = 69.
      (128, 139 * 2**30, 69),
      # 16 GiB, 16 frames: 0.5 * 16 GiB / 128 MiB = 64.
      (16, 16 * 2**30, 64),
      # Too little memory still gives one clip per batch.
      (128, 2**20, 1))
  def test_batch_size_for_memory(self, num_frames, free, expected):
    self.assertEqual(batching.batch_size_for_memory(num_frames, free),
                     expected)
    self.assertEqual(
        expected, max(1, min(batching.MAX_BATCH_SIZE, int(
            free * batching.MEMORY_FRACTION) // (
                batching.BYTES_PER_FRAME * num_frames))))

  def test_nvidia_smi_parsing(self):
    self.assertEqual(batching.parse_nvidia_smi_free('140000\n80000\n'),
                     140000 * 2**20)
    self.assertIsNone(batching.parse_nvidia_smi_free('[N/A]\n'))
    self.assertIsNone(batching.parse_nvidia_smi_free(''))

  def test_cpu_gets_the_reference_batch(self):
    with mock.patch.object(batching, 'free_gpu_memory', return_value=None):
      self.assertEqual(batching.default_batch_size(128), 16)
    with mock.patch.object(batching, 'free_gpu_memory',
                           return_value=16 * 2**30):
      self.assertEqual(batching.default_batch_size(16), 64)


if __name__ == '__main__':
  absltest.main()
