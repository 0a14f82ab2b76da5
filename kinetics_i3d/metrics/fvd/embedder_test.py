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
"""Tests of the FVD embedder (Unterthiner et al. 2018) on the real rgb_scratch.

Embeddings are checked against `kinetics_i3d.testing.reference_forward` (raw
TF ops on the checkpoint's tensors, sharing no code with `i3d.py`), through
`oracles.independent_logits`. The model, the checkpoint's tensors and the
shared sets' embeddings are computed once per test process (`oracles`).
"""

from absl.testing import absltest
import numpy as np

from kinetics_i3d.metrics.fvd import distance
from kinetics_i3d.metrics.fvd import oracles
from kinetics_i3d.metrics.fvd.embedder import Embedder
from kinetics_i3d.metrics.fvd.errors import FVDError


class EmbedderTest(absltest.TestCase):

  def test_constant_videos_give_the_squared_logit_distance(self):
    # Two sets of constant videos: the covariances vanish, and FVD is the
    # squared distance between the two constants' logits, whatever the source
    # frame sizes (a constant resizes to itself).
    embedder = Embedder('reference', model=oracles.shared_model())
    grey, orange = oracles.CONSTANT_COLOURS
    grey = [np.full((oracles.FRAMES, h, w, 3), grey, np.uint8)
            for h, w in ((16, 20), (40, 24))]
    orange = [np.full((oracles.FRAMES, h, w, 3), orange, np.uint8)
              for h, w in ((30, 30), (12, 50))]
    value = distance.frechet_video_distance(embedder.embed(grey),
                                            embedder.embed(orange))
    logits = oracles.independent_logits()
    want = np.sum((logits['constant_0'].astype(np.float64) -
                   logits['constant_1'])**2)
    self.assertGreater(want, 1.)
    self.assertLessEqual(abs(value - want), 1e-3 * want)

  def test_embedding_matches_the_independent_forward_pass(self):
    real, _ = oracles.variant_embeddings()['reference']
    crop, _ = oracles.variant_embeddings()['crop']
    logits = oracles.independent_logits()
    np.testing.assert_allclose(real[1], logits['real_1_squash'], atol=2e-3,
                               rtol=1e-3)
    np.testing.assert_allclose(crop[1], logits['real_1_crop'], atol=2e-3,
                               rtol=1e-3)

  def test_protocols_on_the_same_videos(self):
    embeddings = oracles.variant_embeddings()
    ref_real, ref_gen = embeddings['reference']
    crop_real, _ = embeddings['crop']
    half_real, _ = embeddings['half_pixel']
    # The square video: cropping is squashing; the others differ.
    np.testing.assert_allclose(crop_real[0], ref_real[0], atol=1e-5)
    self.assertGreater(np.abs(crop_real[1] - ref_real[1]).max(), 1e-2)
    self.assertGreater(np.abs(half_real - ref_real).max(), 1e-3)
    values = {name: distance.frechet_video_distance(*embeddings[name], name)
              for name in ('reference', 'crop', 'half_pixel')}
    values['stylegan_v'] = distance.frechet_video_distance(
        ref_real, ref_gen, 'stylegan_v')
    self.assertAlmostEqual(values['reference'],
                           oracles.independent_fd(ref_real, ref_gen, 1),
                           delta=1e-6 * values['reference'] + 1e-4)
    self.assertAlmostEqual(values['stylegan_v'],
                           oracles.independent_fd(ref_real, ref_gen, 0),
                           delta=1e-6 * values['stylegan_v'] + 1e-4)
    distinct = sorted(values.values())
    for low, high in zip(distinct, distinct[1:]):
      self.assertGreater(high - low, 1e-3, values)

  def test_bad_inputs_are_refused_before_the_model_loads(self):
    clip = np.full((9, 8, 8, 3), 100., np.float32)
    # The embedder loads its model lazily: a bad path is never read.
    embedder = Embedder('reference', checkpoint_dir='/nonexistent')
    with self.assertRaisesRegex(FVDError, r'set\[1\]: 10 frames, but '
                                r'set\[0\] has 9'):
      embedder.embed([clip, np.concatenate([clip, clip[:1]])], name='set')
    with self.assertRaisesRegex(FVDError, r'videos: expected videos '
                                r'\[N, T, H, W, 3\]'):
      embedder.embed(clip)
    with self.assertRaisesRegex(FVDError, r'model inputs must be \[B, T, '
                                r'224, 224, 3\]'):
      embedder.embed_inputs(np.zeros((1, 9, 8, 8, 3), np.float32))
    with self.assertRaisesRegex(FVDError, 'batch_size must be a positive'):
      Embedder('reference', batch_size=0)
    with self.assertRaisesRegex(FVDError, "FVD needs the 400-class I3D with "
                                "final_endpoint='Logits'"):
      Embedder('reference', model=object())


if __name__ == '__main__':
  absltest.main()
