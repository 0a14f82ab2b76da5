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
"""Tests of FVD preprocessing (Unterthiner et al. 2018): values, resize, scale.

The resize is checked against `oracles.numpy_resize_bilinear`, a numpy
implementation of TF1's ResizeBilinear kernel, and the whole preprocessing
against `oracles.numpy_model_input`.
"""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d.metrics.fvd import oracles
from kinetics_i3d.metrics.fvd import preprocessing
from kinetics_i3d.metrics.fvd.errors import FVDError

_CROP = oracles.CROP


class ResizeTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ('upscale_tiny', (7, 5)), ('upscale', (64, 80)),
      ('downscale', (300, 400)), ('same_size', (_CROP, _CROP)),
      ('portrait', (120, 90)))
  def test_resize_matches_numpy_tf1_bilinear(self, size):
    # Both pixel-centre conventions on the same frames, one test per size.
    rng = np.random.default_rng(size[0] * 1000 + size[1])
    frames = rng.integers(0, 256, (2, *size, 3)).astype(np.uint8)
    for protocol in ('reference', 'half_pixel'):
      got = preprocessing.resize_frames(frames, protocol).numpy()
      for frame, out in zip(frames, got):
        want = oracles.numpy_resize_bilinear(
            frame, _CROP, _CROP, half_pixel=protocol == 'half_pixel')
        # float32 interpolation of values up to 255.
        np.testing.assert_allclose(out, want, atol=2e-3)

  @parameterized.parameters('reference', 'half_pixel', 'crop')
  def test_uint8_frames_resize_as_their_float32_copy(self, protocol):
    # uint8 frames reach the kernel without a float32 copy; the result must
    # be the float32 copy's, bit for bit, under every resize rule.
    frames = np.random.default_rng(3).integers(
        0, 256, (3, 61, 97, 3)).astype(np.uint8)
    got = preprocessing.resize_frames(frames, protocol).numpy()
    want = preprocessing.resize_frames(frames.astype(np.float32),
                                       protocol).numpy()
    self.assertEqual(got.dtype, np.float32)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        preprocessing.preprocess_clip(np.concatenate(3 * [frames]), protocol),
        preprocessing.preprocess_clip(
            np.concatenate(3 * [frames]).astype(np.float32), protocol))

  def test_half_pixel_differs_from_reference(self):
    frames = np.random.default_rng(0).integers(0, 256, (1, 30, 40, 3))
    ref = preprocessing.resize_frames(frames, 'reference').numpy()
    half = preprocessing.resize_frames(frames, 'half_pixel').numpy()
    self.assertGreater(np.abs(ref - half).max(), 10.)

  @parameterized.parameters((36, 52), (80, 60), (_CROP, 300), (50, 50))
  def test_crop_variant(self, height, width):
    clip = np.random.default_rng(height).integers(
        0, 256, (9, height, width, 3)).astype(np.uint8)
    got = preprocessing.preprocess_clip(clip, 'crop')
    np.testing.assert_allclose(got, oracles.numpy_model_input(clip, crop=True),
                               atol=2e-5)
    squash = preprocessing.preprocess_clip(clip, 'reference')
    if height == width:
      np.testing.assert_array_equal(got, squash)
    else:
      self.assertGreater(np.abs(got - squash).max(), .1)


class PreprocessClipTest(absltest.TestCase):

  def test_scaling_is_the_references_float32_expression_bit_for_bit(self):
    # The reference scales the resized float32 frames with the TensorFlow
    # expression 2. * x / 255. - 1.: each step rounded to float32, as numpy
    # computes it here.
    def scaled(frames):
      frames = np.asarray(frames, np.float32)
      return (np.float32(2) * frames) / np.float32(255) - np.float32(1)

    clip = np.random.default_rng(5).integers(
        0, 256, (9, 37, 53, 3)).astype(np.uint8)
    clip[0].flat[:256] = np.arange(256)  # Every uint8 value, before resizing.
    resized = preprocessing.resize_frames(clip, 'reference')
    np.testing.assert_array_equal(
        preprocessing.preprocess_clip(clip, 'reference'), scaled(resized))
    # And at 224x224 (no resize): every uint8 value itself.
    exact = np.zeros((9, 224, 224, 3), np.uint8)
    exact[0].flat[:256] = np.arange(256)
    np.testing.assert_array_equal(
        preprocessing.preprocess_clip(exact, 'reference'), scaled(exact))
    # The tensor `embed_set` batches is the same.
    np.testing.assert_array_equal(
        preprocessing.preprocess_clip_tensor(clip, 'reference', 255, 'v'),
        scaled(resized))

  def test_scaling_and_value_ranges(self):
    clip = np.random.default_rng(1).integers(0, 256, (9, 20, 30, 3))
    uint8 = preprocessing.preprocess_clip(clip.astype(np.uint8), 'reference',
                                          255)
    np.testing.assert_allclose(uint8, oracles.numpy_model_input(clip),
                               atol=2e-5)
    self.assertBetween(float(uint8.min()), -1.001, -0.5)
    self.assertBetween(float(uint8.max()), 0.5, 1.001)
    unit = preprocessing.preprocess_clip(clip / 255., 'reference', 1)
    np.testing.assert_allclose(unit, uint8, atol=1e-5)
    # Exactly 0 and 255 map to -1 and 1.
    edges = np.zeros((9, 4, 4, 3), np.uint8)
    edges[:, :2] = 255
    out = preprocessing.preprocess_clip(edges)
    self.assertEqual((out.min(), out.max()), (-1., 1.))

  def test_bad_clips(self):
    clip = np.full((9, 8, 8, 3), 100., np.float32)
    with self.assertRaisesRegex(FVDError,
                                r'v1: clips of 8 frames.*at least 9'):
      preprocessing.preprocess_clip(clip[:8], name='v1')
    bad = clip.copy()
    bad[3, 2, 1, 0] = np.nan
    with self.assertRaisesRegex(FVDError, 'v2: contains NaN'):
      preprocessing.preprocess_clip(bad, name='v2')
    with self.assertRaisesRegex(
        FVDError, r'v3: values span \[100, 100\].*\[0, 1\].*'
        'value_range=255'):
      preprocessing.preprocess_clip(clip, value_range=1, name='v3')
    with self.assertRaisesRegex(FVDError, r'v4: values span \[-3'):
      preprocessing.preprocess_clip(clip - 103, name='v4')
    with self.assertRaisesRegex(FVDError, r'v5: expected RGB'):
      preprocessing.preprocess_clip(clip[..., :2], name='v5')
    with self.assertRaisesRegex(FVDError, 'value_range must be 255'):
      preprocessing.preprocess_clip(clip, value_range=2)
    with self.assertRaisesRegex(FVDError, 'Unknown FVD protocol'):
      preprocessing.preprocess_clip(clip, 'fvd_v9')


if __name__ == '__main__':
  absltest.main()
