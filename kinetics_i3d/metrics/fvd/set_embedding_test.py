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
"""Tests of embedding a whole FVD set (Unterthiner et al. 2018), resumably.

A run killed after a batch must resume after it, embedding only what is
left, and give what one uninterrupted run gives (`oracles.variant_embeddings`,
batches of 2); the killed process itself is `comparison_test`'s.
"""

import os

from absl.testing import absltest
import numpy as np
from PIL import Image

from kinetics_i3d.metrics.fvd import oracles
from kinetics_i3d.metrics.fvd import set_embedding
from kinetics_i3d.metrics.fvd import video_sets
from kinetics_i3d.metrics.fvd.embedder import Embedder
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.sampling import ClipSampling


class _Killed(Exception):
  pass


class EmbedSetTest(absltest.TestCase):

  def test_embed_set_resumes_after_a_kill(self):
    folder = oracles.make_tempdir(self)
    path = os.path.join(folder, 'generated.npy')
    np.save(path, oracles.generated_videos())
    video_set = video_sets.open_set(path, 255)
    embedder = Embedder('reference', model=oracles.shared_model(),
                        batch_size=1)
    cache = os.path.join(folder, 'cache')

    def kill(done):
      raise _Killed(done)

    with self.assertRaises(_Killed):
      set_embedding.embed_set(video_set, embedder, ClipSampling(), cache,
                              progress=False, on_batch=kill)
    self.assertLen(os.listdir(cache), 1)  # The first batch, cached.
    calls = []
    original = embedder.embed_inputs

    def counting(inputs):
      calls.append(len(inputs))
      return original(inputs)

    embedder.embed_inputs = counting
    with self.assertLogs(level='INFO') as logs:
      resumed = set_embedding.embed_set(video_set, embedder, ClipSampling(),
                                        cache, progress=False)
    self.assertEqual(calls, [1])  # Only the second video was left.
    self.assertIn('resuming after 1 of 2 videos', logs.output[0])
    # Batches of 1 give what one batch of 2 gave.
    np.testing.assert_allclose(resumed,
                               oracles.variant_embeddings()['reference'][1],
                               atol=1e-5)

  def test_clips_of_another_length_are_refused(self):
    folder = oracles.make_tempdir(self)
    os.mkdir(os.path.join(folder, 'frames'))
    for index, length in enumerate((9, 10)):
      video = os.path.join(folder, 'frames', f'v{index}')
      os.mkdir(video)
      for t, frame in enumerate(oracles.blob_videos(index, 1, 8, 8,
                                                    length)[0]):
        Image.fromarray(frame).save(os.path.join(video, f'{t:02d}.png'))
    video_set = video_sets.open_set(os.path.join(folder, 'frames'))
    embedder = Embedder('reference', checkpoint_dir='/nonexistent')
    with self.assertRaisesRegex(FVDError, r"v1: a clip of 10 frames, but the "
                                r"set's first has 9; take clips of one "
                                r'length'):
      set_embedding.embed_set(video_set, embedder, ClipSampling(),
                              progress=False)


if __name__ == '__main__':
  absltest.main()
