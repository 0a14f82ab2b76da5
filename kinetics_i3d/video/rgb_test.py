"""Tests for rgb.py: the RGB stream's resize, crop and rescale (CVPR 2017).

Expected values come from a float bilinear resize written here, from the
crop geometry and from x / 255 * 2 - 1, not from rgb.py.
"""

from absl.testing import absltest
from absl.testing import parameterized
import cv2
import numpy as np

from kinetics_i3d.video import rgb


def bilinear_reference(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
  """Bilinear resize sampling at pixel centres (half-pixel offsets), float."""
  in_h, in_w = image.shape[:2]
  ys = np.clip((np.arange(out_h) + 0.5) * in_h / out_h - 0.5, 0, in_h - 1)
  xs = np.clip((np.arange(out_w) + 0.5) * in_w / out_w - 0.5, 0, in_w - 1)
  y0 = np.floor(ys).astype(int)
  x0 = np.floor(xs).astype(int)
  y1 = np.minimum(y0 + 1, in_h - 1)
  x1 = np.minimum(x0 + 1, in_w - 1)
  wy = (ys - y0)[:, None, None]
  wx = (xs - x0)[None, :, None]
  im = image.astype(np.float64)
  top = im[y0][:, x0] * (1 - wx) + im[y0][:, x1] * wx
  bottom = im[y1][:, x0] * (1 - wx) + im[y1][:, x1] * wx
  return top * (1 - wy) + bottom * wy


def model_input(frames):
  """The RGB stream's steps in order: resize to 256, crop 224, rescale."""
  resized = rgb.resize_smallest_side(frames, 256)
  offsets = rgb.crop_offsets(*resized.shape[1:3], 224, 'center')
  return rgb.scale_rgb(rgb.crop_at(resized, 224, offsets))


class RgbStepsTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ('landscape', (96, 128), (256, 341)),
      ('portrait', (160, 96), (427, 256)),
      ('small_square', (50, 50), (256, 256)),
      ('large', (768, 1024), (256, 341)),
      ('wide', (272, 640), (256, 602)),
  )
  def test_resize_smallest_side_shapes(self, size, expected):
    frames = np.zeros((2,) + size + (3,), np.uint8)
    out = rgb.resize_smallest_side(frames, 256)
    self.assertEqual(out.shape, (2,) + expected + (3,))
    self.assertEqual(out.dtype, np.uint8)
    single = rgb.resize_smallest_side(frames[0], 256)
    self.assertEqual(single.shape, expected + (3,))

  def test_resize_is_noop_at_target_size(self):
    frames = np.zeros((1, 256, 300, 3), np.uint8)
    self.assertIs(rgb.resize_smallest_side(frames, 256), frames)

  @parameterized.named_parameters(('up', (40, 50)), ('down', (600, 700)))
  def test_resize_is_bilinear(self, size):
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(
        rng.integers(0, 256, size + (3,)).astype(np.float32), (0, 0), 2)
    image = np.clip(image * 3 - 256, 0, 255).astype(np.uint8)
    out = rgb.resize_smallest_side(image, 256)
    reference = bilinear_reference(image, *out.shape[:2])
    # OpenCV interpolates uint8 with 11-bit fixed-point weights and rounds:
    # at most one level from the exact float bilinear value.
    self.assertLessEqual(np.abs(out - reference).max(), 1.0)

  def test_center_crop(self):
    x = np.arange(2 * 256 * 341 * 1).reshape(2, 256, 341, 1)
    out = rgb.center_crop(x, 224)
    self.assertEqual(out.shape, (2, 224, 224, 1))
    np.testing.assert_array_equal(out, x[:, 16:240, 58:282])

  def test_random_crop_is_one_window_for_all_frames(self):
    # Each pixel holds its own (y, x, frame), so a crop's corner tells where
    # it was taken.
    y, x, t = np.meshgrid(np.arange(256), np.arange(341), np.arange(3),
                          indexing='ij')
    frames = np.stack([y, x, t], axis=-1).transpose(2, 0, 1, 3)

    def random_crop(seed):
      offsets = rgb.crop_offsets(256, 341, 224, np.random.default_rng(seed))
      return rgb.crop_at(frames, 224, offsets)

    corners = set()
    for seed in range(30):
      out = random_crop(seed)
      self.assertEqual(out.shape, (3, 224, 224, 3))
      y0, x0 = out[0, 0, 0, :2]
      self.assertBetween(y0, 0, 256 - 224)
      self.assertBetween(x0, 0, 341 - 224)
      np.testing.assert_array_equal(out, frames[:, y0:y0 + 224, x0:x0 + 224])
      corners.add((y0, x0))
    self.assertGreater(len(corners), 20)
    np.testing.assert_array_equal(random_crop(3), random_crop(3))

  def test_crop_errors(self):
    with self.assertRaisesRegex(ValueError, 'Cannot crop 224x224 from 200x300'):
      rgb.center_crop(np.zeros((1, 200, 300, 3)), 224)
    with self.assertRaisesRegex(ValueError, "crop must be 'center'"):
      rgb.crop_offsets(256, 256, 224, 'middle')
    with self.assertRaisesRegex(ValueError, "crop must be 'center'"):
      rgb.crop_offsets(256, 256, 224, 1.5)
    with self.assertRaisesRegex(ValueError, 'outside'):
      rgb.crop_offsets(256, 256, 224, (0, 40))

  @parameterized.named_parameters(
      ('landscape', (96, 128)), ('portrait', (160, 96)), ('small', (64, 64)),
      ('large', (300, 1000)))
  def test_model_input(self, size):
    frames = np.random.default_rng(0).integers(0, 256, (3,) + size + (3,),
                                               dtype=np.uint8)
    frames[0] = 0
    frames[1] = 255
    frames[2] = 51
    out = model_input(frames)
    self.assertEqual(out.shape, (3, 224, 224, 3))
    self.assertEqual(out.dtype, np.float32)
    np.testing.assert_array_equal(out[0], -1.0)
    np.testing.assert_array_equal(out[1], 1.0)
    np.testing.assert_allclose(out[2], 51 / 255 * 2 - 1, rtol=0, atol=1e-7)

  def test_model_input_values(self):
    frames = np.random.default_rng(1).integers(0, 256, (2, 256, 300, 3),
                                               dtype=np.uint8)
    out = model_input(frames)
    expected = frames[:, 16:240, 38:262].astype(np.float64) / 255 * 2 - 1
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    self.assertGreaterEqual(out.min(), -1.0)
    self.assertLessEqual(out.max(), 1.0)


if __name__ == '__main__':
  absltest.main()
