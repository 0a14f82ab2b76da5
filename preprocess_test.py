"""Tests for preprocess.py, the paper's video preprocessing for I3D.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.)

Every clip is encoded here with PyAV, small, and with what each frame must
show written into it: the source frame index in flat colours (robust to lossy
codecs) or a smooth texture translated by a known shift (lossless FFV1). The
expected values come from the encoding parameters, not from preprocess.py. The
last tests run the real juggling video (fetched by assets.py) through the CLI.
"""

import fractions
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import av
import cv2
import numpy as np
from PIL import Image

import preprocess

Fraction = fractions.Fraction
_HERE = os.path.dirname(os.path.abspath(__file__))
_SCRIPT = os.path.join(_HERE, 'preprocess.py')


# ----------------------------------------------------------------------------
# Synthetic clips.
# ----------------------------------------------------------------------------


def index_frame(i: int, height: int = 48, width: int = 64) -> np.ndarray:
  """A flat frame whose colour encodes `i` in 16-level steps per channel."""
  frame = np.empty((height, width, 3), np.uint8)
  frame[..., 0] = 16 * (i % 16) + 8
  frame[..., 1] = 16 * (i // 16) + 8
  frame[..., 2] = 128
  return frame


def read_index(frame: np.ndarray) -> int:
  """Inverse of `index_frame`; tolerates codec errors below 8 levels."""
  r = int(np.median(frame[..., 0]))
  g = int(np.median(frame[..., 1]))
  return r // 16 + 16 * (g // 16)


def texture(shift_x: float, shift_y: float, height: int = 256,
            width: int = 320) -> np.ndarray:
  """A smooth random texture translated by (shift_x, shift_y) pixels.

  A sum of plane waves (wavelengths 12 to 40 pixels, all orientations), so a
  sub-pixel translation is exact: f(x - dx, y - dy) is evaluated, not
  interpolated.

  Args:
    shift_x: Translation to the right, pixels.
    shift_y: Translation down, pixels.
    height: Frame height.
    width: Frame width.

  Returns:
    uint8 [height, width] gray image.
  """
  y, x = np.mgrid[0:height, 0:width].astype(np.float64)
  x -= shift_x
  y -= shift_y
  rng = np.random.default_rng(1)
  image = np.zeros((height, width))
  for _ in range(40):
    wavelength = rng.uniform(12, 40)
    angle = rng.uniform(0, np.pi)
    phase = rng.uniform(0, 2 * np.pi)
    image += np.cos(2 * np.pi / wavelength *
                    (x * np.cos(angle) + y * np.sin(angle)) + phase)
  image /= 14.0  # Keeps the sum well inside [-1, 1] for this seed.
  return np.clip(np.rint(127.5 + 120 * image), 0, 255).astype(np.uint8)


def encode(path, frames, rate=25, container_format=None, codec='ffv1',
           pix_fmt=None, pts_ms=None, rotation=None, options=None):
  """Encodes uint8 [H, W, 3] RGB frames with PyAV.

  Args:
    path: Output file.
    frames: RGB frames.
    rate: Nominal frame rate (int or Fraction).
    container_format: FFmpeg muxer name; None to guess from the extension.
    codec: Encoder.
    pix_fmt: Encoder pixel format; default bgr0 (lossless RGB) for FFV1,
      yuv420p otherwise.
    pts_ms: Presentation timestamps in milliseconds (variable frame rate);
      None for i / rate.
    rotation: Display-matrix rotation in degrees, or None.
    options: Encoder options.

  Returns:
    `path`.
  """
  with av.open(path, 'w', format=container_format) as container:
    stream = container.add_stream(codec, rate=rate, options=options or {})
    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt = pix_fmt or ('bgr0' if codec == 'ffv1' else 'yuv420p')
    if pts_ms is not None:
      stream.codec_context.time_base = Fraction(1, 1000)
    if rotation is not None:
      stream.set_display_rotation(rotation)
    for i, array in enumerate(frames):
      frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array),
                                         format='rgb24')
      if pts_ms is not None:
        frame.pts = pts_ms[i]
        frame.time_base = Fraction(1, 1000)
      for packet in stream.encode(frame):
        container.mux(packet)
    for packet in stream.encode():
      container.mux(packet)
  return path


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
  return np.repeat(gray[..., None], 3, axis=-1)


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


def make_tempdir(test_case) -> str:
  # tempfile, not absltest's create_tempdir: pytest never parses absl flags.
  path = tempfile.mkdtemp(prefix='preprocess_test_')
  test_case.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


class _TempDirTestCase(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.tmp = make_tempdir(self)

  def path(self, name):
    return os.path.join(self.tmp, name)


# ----------------------------------------------------------------------------
# Decoding and resampling.
# ----------------------------------------------------------------------------


class ResamplingTest(_TempDirTestCase):

  @parameterized.named_parameters(
      # 10 fps in AVI/MPEG-4 (as the juggling sample), 29.97 and 30 and 60 fps
      # in MP4/H.264 (exact time bases), 25 fps in Matroska/FFV1.
      ('10fps', 10, 20, 'avi', 'mpeg4'),
      ('29.97fps', Fraction(30000, 1001), 60, 'mp4', 'libx264'),
      ('30fps', 30, 60, 'mp4', 'libx264'),
      ('60fps', 60, 120, 'mp4', 'libx264'),
      ('25fps', 25, 30, 'mkv', 'ffv1'),
  )
  def test_constant_rate(self, rate, num_frames, extension, codec):
    path = encode(self.path(f'clip.{extension}'),
                  [index_frame(i) for i in range(num_frames)], rate,
                  codec=codec)
    frames, timestamps = preprocess.decode_video(path)

    rate = Fraction(rate)
    # Source frame i is on screen during [i / rate, (i + 1) / rate).
    expected_count = math.ceil(Fraction(num_frames) / rate * 25)
    self.assertLen(frames, expected_count)
    self.assertEqual(frames.dtype, np.uint8)
    self.assertEqual(frames.shape[1:], (48, 64, 3))
    np.testing.assert_allclose(timestamps, np.arange(expected_count) / 25,
                               rtol=0, atol=1e-9)
    expected = [min(math.floor(Fraction(k, 25) * rate), num_frames - 1)
                for k in range(expected_count)]
    self.assertEqual([read_index(f) for f in frames], expected)

  def test_ten_fps_repeats_frames_three_two(self):
    path = encode(self.path('clip.avi'),
                  [index_frame(i) for i in range(25)], 10, codec='mpeg4')
    frames, _ = preprocess.decode_video(path)
    # 2.5 s at 25 fps: 63 frames, as the juggling sample (ASSETS.md).
    self.assertLen(frames, 63)
    counts = np.bincount([read_index(f) for f in frames])
    self.assertEqual(counts.tolist(), [3, 2] * 12 + [3])

  def test_variable_frame_rate(self):
    pts_ms = [0, 10, 50, 200, 210, 400, 401, 600, 700, 900]
    path = encode(self.path('vfr.mkv'), [index_frame(i) for i in range(10)],
                  codec='ffv1', pts_ms=pts_ms)
    frames, timestamps = preprocess.decode_video(path)
    # Matroska gives every frame (the last included) the track's default
    # duration, 40 ms here, so the video ends at 940 ms: 24 frames.
    expected = []
    for k in range(24):
      t = 40 * k
      expected.append(max(i for i, p in enumerate(pts_ms) if p <= t))
    self.assertEqual([read_index(f) for f in frames], expected)
    np.testing.assert_allclose(timestamps, np.arange(24) * 0.04, atol=1e-9)

  def test_missing_timestamps(self):
    path = encode(self.path('raw.h264'), [index_frame(i) for i in range(10)],
                  25, container_format='h264', codec='libx264')
    with av.open(path) as container:
      self.assertTrue(all(f.pts is None for f in container.decode(video=0)),
                      'the raw H.264 stream was meant to have no timestamps')
    frames, timestamps = preprocess.decode_video(path)
    self.assertEqual([read_index(f) for f in frames], list(range(10)))
    np.testing.assert_allclose(timestamps, np.arange(10) / 25, atol=1e-9)

  @parameterized.named_parameters(
      ('start_and_end', 0.5, 1.3, 20),
      ('start_only', 1.0, None, 25),
      ('end_only', None, 0.5, 13),
      ('end_past_video', 1.5, 9.0, 13),
  )
  def test_clip(self, start, end, expected_count):
    path = encode(self.path('clip.avi'), [index_frame(i) for i in range(20)],
                  10, codec='mpeg4')
    frames, timestamps = preprocess.decode_video(path, start_time=start,
                                                 end_time=end)
    begin = start or 0.0
    self.assertLen(frames, expected_count)
    np.testing.assert_allclose(timestamps,
                               begin + np.arange(expected_count) / 25,
                               atol=1e-9)
    # 10 fps: the frame on screen at time t is floor(10 t).
    expected = [math.floor(round(10 * t, 6)) for t in timestamps]
    self.assertEqual([read_index(f) for f in frames], expected)

  def test_streaming_repeats_share_one_read_only_array(self):
    path = encode(self.path('clip.avi'), [index_frame(i) for i in range(5)],
                  10, codec='mpeg4')
    items = list(preprocess.iter_video_frames(path))
    self.assertLen(items, 13)
    # Output frames 0, 1, 2 all show source frame 0.
    self.assertIs(items[0][0], items[2][0])
    self.assertIsNot(items[2][0], items[3][0])
    self.assertFalse(items[0][0].flags.writeable)
    frames, _ = preprocess.decode_video(path)
    np.testing.assert_array_equal(frames, np.stack([f for f, _ in items]))

  def test_display_rotation(self):
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:8, :8] = 255  # Marker in the top-left corner.
    path = encode(self.path('rotated.mp4'), [frame] * 3, 25, codec='libx264',
                  rotation=90)
    frames, _ = preprocess.decode_video(path)
    # A 90 degree counterclockwise display rotation (FFmpeg's convention)
    # makes the frame portrait and moves the top-left corner to bottom-left.
    self.assertEqual(frames.shape[1:], (64, 48, 3))
    self.assertGreater(frames[0, -4, 4].mean(), 200)
    self.assertLess(frames[0, 4, 4].mean(), 50)


# ----------------------------------------------------------------------------
# Array functions.
# ----------------------------------------------------------------------------


class ArrayFunctionsTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ('landscape', (96, 128), (256, 341)),
      ('portrait', (160, 96), (427, 256)),
      ('small_square', (50, 50), (256, 256)),
      ('large', (768, 1024), (256, 341)),
      ('wide', (272, 640), (256, 602)),
  )
  def test_resize_smallest_side_shapes(self, size, expected):
    frames = np.zeros((2,) + size + (3,), np.uint8)
    out = preprocess.resize_smallest_side(frames, 256)
    self.assertEqual(out.shape, (2,) + expected + (3,))
    self.assertEqual(out.dtype, np.uint8)
    single = preprocess.resize_smallest_side(frames[0], 256)
    self.assertEqual(single.shape, expected + (3,))

  def test_resize_is_noop_at_target_size(self):
    frames = np.zeros((1, 256, 300, 3), np.uint8)
    self.assertIs(preprocess.resize_smallest_side(frames, 256), frames)

  @parameterized.named_parameters(('up', (40, 50)), ('down', (600, 700)))
  def test_resize_is_bilinear(self, size):
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(
        rng.integers(0, 256, size + (3,)).astype(np.float32), (0, 0), 2)
    image = np.clip(image * 3 - 256, 0, 255).astype(np.uint8)
    out = preprocess.resize_smallest_side(image, 256)
    reference = bilinear_reference(image, *out.shape[:2])
    # OpenCV interpolates uint8 with 11-bit fixed-point weights and rounds:
    # at most one level from the exact float bilinear value.
    self.assertLessEqual(np.abs(out - reference).max(), 1.0)

  def test_center_crop(self):
    x = np.arange(2 * 256 * 341 * 1).reshape(2, 256, 341, 1)
    out = preprocess.center_crop(x, 224)
    self.assertEqual(out.shape, (2, 224, 224, 1))
    np.testing.assert_array_equal(out, x[:, 16:240, 58:282])

  def test_random_crop_is_one_window_for_all_frames(self):
    # Each pixel holds its own (y, x, frame), so a crop's corner tells where
    # it was taken.
    y, x, t = np.meshgrid(np.arange(256), np.arange(341), np.arange(3),
                          indexing='ij')
    frames = np.stack([y, x, t], axis=-1).transpose(2, 0, 1, 3)
    corners = set()
    for seed in range(30):
      out = preprocess.random_crop(frames, 224, np.random.default_rng(seed))
      self.assertEqual(out.shape, (3, 224, 224, 3))
      y0, x0 = out[0, 0, 0, :2]
      self.assertBetween(y0, 0, 256 - 224)
      self.assertBetween(x0, 0, 341 - 224)
      np.testing.assert_array_equal(out, frames[:, y0:y0 + 224, x0:x0 + 224])
      corners.add((y0, x0))
    self.assertGreater(len(corners), 20)
    np.testing.assert_array_equal(
        preprocess.random_crop(frames, 224, np.random.default_rng(3)),
        preprocess.random_crop(frames, 224, np.random.default_rng(3)))

  def test_crop_errors(self):
    with self.assertRaisesRegex(ValueError, 'Cannot crop 224x224 from 200x300'):
      preprocess.center_crop(np.zeros((1, 200, 300, 3)), 224)
    with self.assertRaisesRegex(ValueError, "crop must be 'center'"):
      preprocess.rgb_to_model_input(np.zeros((1, 256, 256, 3), np.uint8),
                                    crop='middle')
    with self.assertRaisesRegex(ValueError, 'outside'):
      preprocess.crop_offsets(256, 256, 224, (0, 40))

  @parameterized.named_parameters(
      ('landscape', (96, 128)), ('portrait', (160, 96)), ('small', (64, 64)),
      ('large', (300, 1000)))
  def test_rgb_to_model_input(self, size):
    frames = np.random.default_rng(0).integers(0, 256, (3,) + size + (3,),
                                               dtype=np.uint8)
    frames[0] = 0
    frames[1] = 255
    frames[2] = 51
    out = preprocess.rgb_to_model_input(frames)
    self.assertEqual(out.shape, (3, 224, 224, 3))
    self.assertEqual(out.dtype, np.float32)
    np.testing.assert_array_equal(out[0], -1.0)
    np.testing.assert_array_equal(out[1], 1.0)
    np.testing.assert_allclose(out[2], 51 / 255 * 2 - 1, rtol=0, atol=1e-7)

  def test_rgb_to_model_input_values(self):
    frames = np.random.default_rng(1).integers(0, 256, (2, 256, 300, 3),
                                               dtype=np.uint8)
    out = preprocess.rgb_to_model_input(frames)
    expected = frames[:, 16:240, 38:262].astype(np.float64) / 255 * 2 - 1
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    self.assertGreaterEqual(out.min(), -1.0)
    self.assertLessEqual(out.max(), 1.0)

  def test_flow_to_model_input(self):
    flow = np.zeros((2, 256, 300, 2), np.float32)
    flow[0, ..., 0] = 25.0
    flow[0, ..., 1] = -5.0
    flow[1, ..., 0] = -40.0
    flow[1, ..., 1] = 19.9
    out = preprocess.flow_to_model_input(flow)
    self.assertEqual(out.shape, (2, 224, 224, 2))
    self.assertEqual(out.dtype, np.float32)
    np.testing.assert_allclose(out[0, ..., 0], 1.0)
    np.testing.assert_allclose(out[0, ..., 1], -0.25)
    np.testing.assert_allclose(out[1, ..., 0], -1.0)
    np.testing.assert_allclose(out[1, ..., 1], 19.9 / 20, rtol=1e-6)

  def test_quantize_round_trip(self):
    rng = np.random.default_rng(0)
    flow = rng.uniform(-20, 20, (100000,)).astype(np.float32)
    restored = preprocess.dequantize_flow(preprocess.quantize_flow(flow))
    self.assertEqual(restored.dtype, np.float32)
    # Half a level: the levels are 40 / 255 pixels apart.
    self.assertLessEqual(np.abs(restored - flow).max(),
                         20 / 255 + 1e-5)

  def test_quantize_levels(self):
    q = preprocess.quantize_flow(np.array([-20.0, 20.0, 0.0, -100.0, 100.0]))
    self.assertEqual(q.dtype, np.uint8)
    self.assertEqual(q.tolist(), [0, 255, 128, 0, 255])
    levels = np.arange(256, dtype=np.uint8)
    # How a reader of the paper's 8-bit flow images maps them back.
    np.testing.assert_allclose(preprocess.dequantize_flow(levels),
                               (levels / 255 - 0.5) * 2 * 20, atol=1e-5)
    np.testing.assert_array_equal(
        preprocess.quantize_flow(preprocess.dequantize_flow(levels)), levels)

  def test_gif_frames(self):
    rgb = np.array([-1.0, 0.0, 1.0], np.float32).reshape(1, 1, 3, 1)
    rgb = np.repeat(rgb, 3, axis=-1)
    out = preprocess.rgb_gif_frames(rgb)
    self.assertEqual(out[0, 0, :, 0].tolist(), [0, 128, 255])
    flow = np.array([[-1.0, 0.0], [0.5, 1.0]], np.float32).reshape(1, 1, 2, 2)
    out = preprocess.flow_gif_frames(flow)
    # (+0.5, clipped to [0, 1]) * 255 with a zero third channel -> 128.
    self.assertEqual(out[0, 0].tolist(), [[0, 128, 128], [255, 255, 128]])

  def test_write_gifs(self):
    tmp = make_tempdir(self)
    rng = np.random.default_rng(0)
    # Few colours keep Pillow's palette search fast.
    rgb = rng.choice([-1.0, 0.0, 1.0], (5, 224, 224, 3)).astype(np.float32)
    flow = rng.choice([-0.5, 0.5], (1, 5, 224, 224, 2)).astype(np.float32)
    for write, array, name in ((preprocess.write_rgb_gif, rgb, 'a.gif'),
                               (preprocess.write_flow_gif, flow, 'b.gif')):
      path = os.path.join(tmp, name)
      write(array, path)
      with Image.open(path) as gif:
        self.assertEqual(gif.format, 'GIF')
        self.assertEqual(gif.size, (224, 224))
        self.assertEqual(gif.n_frames, 5)
        self.assertEqual(gif.info['duration'], 40)  # 25 fps.
    self.assertCountEqual(os.listdir(tmp), ['a.gif', 'b.gif'])

  def test_save_npy_atomic(self):
    tmp = make_tempdir(self)
    path = os.path.join(tmp, 'x.npy')
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    preprocess.save_npy_atomic(array, path)
    np.testing.assert_array_equal(np.load(path), array)
    # An array np.save refuses midway leaves neither a file nor a temporary.
    with self.assertRaises(ValueError):
      preprocess.save_npy_atomic(np.array([{}], dtype=object),
                                 os.path.join(tmp, 'y.npy'))
    self.assertEqual(os.listdir(tmp), ['x.npy'])


# ----------------------------------------------------------------------------
# TV-L1 flow.
# ----------------------------------------------------------------------------


class FlowTest(_TempDirTestCase):

  def test_identical_frames_give_exact_zeros(self):
    gray = texture(0, 0, 96, 128)
    # The shortcut in iter_tvl1_flow relies on this property of TV-L1.
    direct = cv2.optflow.DualTVL1OpticalFlow_create().calc(gray, gray, None)
    np.testing.assert_array_equal(direct, 0.0)
    flow = preprocess.compute_tvl1_flow(np.stack([gray, gray]), num_workers=1)
    self.assertEqual(flow.shape, (1, 96, 128, 2))
    np.testing.assert_array_equal(flow, 0.0)

  def test_workers_match_in_process_and_opencv(self):
    frames = np.stack([texture(0.7 * t, -0.4 * t, 96, 128) for t in range(4)])
    serial = preprocess.compute_tvl1_flow(frames, num_workers=1)
    parallel = preprocess.compute_tvl1_flow(frames, num_workers=2)
    self.assertEqual(serial.shape, (3, 96, 128, 2))
    self.assertEqual(serial.dtype, np.float32)
    np.testing.assert_allclose(parallel, serial, rtol=0, atol=1e-5)
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    np.testing.assert_allclose(serial[1], tvl1.calc(frames[1], frames[2], None),
                               rtol=0, atol=1e-5)
    # RGB frames are converted with COLOR_RGB2GRAY (exact for gray pixels).
    from_rgb = preprocess.compute_tvl1_flow(gray_to_rgb(frames[:2]),
                                            num_workers=1)
    np.testing.assert_allclose(from_rgb, serial[:1], rtol=0, atol=1e-5)

  def test_rgb_to_gray(self):
    rgb = np.random.default_rng(0).integers(0, 256, (2, 50, 60, 3),
                                            dtype=np.uint8)
    gray = preprocess.rgb_to_gray(rgb)
    self.assertEqual((gray.dtype, gray.shape), (np.uint8, (2, 50, 60)))
    # ITU-R BT.601 luma; OpenCV rounds in fixed point, so ties may differ by 1.
    expected = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    self.assertLessEqual(np.abs(gray - expected).max(), 1.0)
    self.assertLess(np.mean(gray != np.rint(expected)), 0.01)
    np.testing.assert_array_equal(preprocess.rgb_to_gray(rgb[0]), gray[0])

  def test_needs_two_frames(self):
    with self.assertRaisesRegex(ValueError, 'T >= 2'):
      preprocess.compute_tvl1_flow(np.zeros((1, 32, 32), np.uint8))

  # Shifts in pixels per frame at the 256-pixel resolution (the clip is
  # 256x320, so it is not resized). Tolerances: OpenCV 5's TV-L1 with its
  # defaults returned integer shifts within 0.007 px on average; sub-pixel
  # ones carry a systematic bias toward the nearest half pixel (0.25 -> 0.20,
  # 0.75 -> 0.80: mean error 0.025 to 0.036 px, 99% of pixels within 0.06 px,
  # worst 0.08 px), since TV-L1 smooths the field (lambda = 0.15), stops
  # each warp at epsilon = 0.01 and interpolates the warped frame
  # bicubically. We allow 0.02 px (integer) and 0.08 px (sub-pixel) mean error
  # and 0.15 px on 99% of pixels. The 224 centre crop keeps 16 px away from
  # the top and bottom edges, where the shift brings in unseen content.
  @parameterized.named_parameters(
      ('integer', 2.0, -1.0, 0.02),
      ('sub_pixel', 0.5, -0.25, 0.08),
      ('mixed', -1.5, 0.75, 0.08),
  )
  def test_recovers_translation(self, dx, dy, mean_tolerance):
    frames = [gray_to_rgb(texture(dx * t, dy * t)) for t in range(3)]
    path = encode(self.path('shift.mkv'), frames, 25, codec='ffv1')
    inputs = preprocess.video_to_model_inputs(path, num_workers=2)
    flow = inputs['flow'][0] * 20  # Back to pixels: no value reached 20.
    self.assertEqual(flow.shape, (2, 224, 224, 2))
    error = np.abs(flow - np.array([dx, dy], np.float32))
    self.assertLess(error.mean(), mean_tolerance)
    self.assertLess(np.percentile(error, 99), 0.15)
    # RGB is the decoded frame, cropped and scaled (FFV1 RGB is lossless).
    np.testing.assert_allclose(
        inputs['rgb'][0], np.stack(frames[:2])[:, 16:240, 48:272] / 255 * 2 - 1,
        rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------
# Video -> model inputs.
# ----------------------------------------------------------------------------


class VideoToModelInputsTest(_TempDirTestCase):

  @parameterized.named_parameters(
      ('landscape', 96, 128), ('portrait', 128, 96), ('small', 40, 60),
      ('large', 480, 640))
  def test_rgb_shapes(self, height, width):
    frames = [np.full((height, width, 3), 10 * i, np.uint8) for i in range(4)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    inputs = preprocess.video_to_model_inputs(path, streams=('rgb',))
    self.assertEqual(list(inputs), ['rgb'])
    rgb = inputs['rgb']
    self.assertEqual(rgb.shape, (1, 4, 224, 224, 3))
    self.assertEqual(rgb.dtype, np.float32)
    np.testing.assert_allclose(rgb[0, :, 100, 100, 0],
                               np.arange(4) * 10 / 255 * 2 - 1, atol=1e-6)

  def test_both_streams_align_and_drop_last_rgb_frame(self):
    frames = [gray_to_rgb(texture(t, 0, 96, 128)) for t in range(3)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    rgb_only = preprocess.video_to_model_inputs(path, streams=('rgb',))['rgb']
    both = preprocess.video_to_model_inputs(path, num_workers=1)
    flow_only = preprocess.video_to_model_inputs(path, streams=('flow',),
                                                 num_workers=1)['flow']
    self.assertEqual(rgb_only.shape, (1, 3, 224, 224, 3))
    self.assertEqual(both['rgb'].shape, (1, 2, 224, 224, 3))
    self.assertEqual(both['flow'].shape, (1, 2, 224, 224, 2))
    np.testing.assert_array_equal(both['rgb'], rgb_only[:, :2])
    np.testing.assert_array_equal(both['flow'], flow_only)
    self.assertLessEqual(np.abs(both['flow']).max(), 1.0)

  def test_random_crop_is_shared_by_both_streams(self):
    # Colour frames: the flow must come from RGB->gray (not BGR->gray).
    frames = []
    for t in range(2):
      red = texture(0.5 * t, 0.25 * t)
      green = 255 - texture(1.0 + 0.5 * t, 0.25 * t)
      frames.append(np.stack([red, green, np.full_like(red, 40)], axis=-1))
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    inputs = preprocess.video_to_model_inputs(
        path, crop=np.random.default_rng(7), num_workers=1)
    rgb = inputs['rgb'][0, 0]
    expected_rgb = frames[0] / 255 * 2 - 1
    matches = [(y, x) for y in range(33) for x in range(97)
               if np.allclose(expected_rgb[y:y + 224, x:x + 224], rgb,
                              atol=1e-6)]
    self.assertLen(matches, 1)
    y, x = matches[0]
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    full = cv2.optflow.DualTVL1OpticalFlow_create().calc(gray[0], gray[1],
                                                         None)
    expected_flow = np.clip(full[y:y + 224, x:x + 224], -20, 20) / 20
    np.testing.assert_allclose(inputs['flow'][0, 0], expected_flow, rtol=0,
                               atol=1e-6)

  def test_quantized_flow_lies_on_the_levels(self):
    frames = [gray_to_rgb(texture(0.3 * t, 0.0, 96, 128)) for t in range(2)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    flow = preprocess.video_to_model_inputs(
        path, streams=('flow',), quantize=True, num_workers=1)['flow']
    levels = (flow * 20 / 40 + 0.5) * 255
    np.testing.assert_allclose(levels, np.rint(levels), atol=1e-3)

  def test_resolution_change_midstream(self):
    # Two raw H.264 streams back to back: 64x48 frames, then 128x72 ones.
    parts = []
    for i, (height, width) in enumerate(((48, 64), (72, 128))):
      part = encode(self.path(f'part{i}.h264'),
                    [index_frame(2 * i + j, height, width) for j in range(2)],
                    25, container_format='h264', codec='libx264')
      with open(part, 'rb') as f:
        parts.append(f.read())
    path = self.path('joined.h264')
    with open(path, 'wb') as f:
      f.write(b''.join(parts))
    frames = [f for f, _ in preprocess.iter_video_frames(path)]
    self.assertEqual([f.shape for f in frames], [(48, 64, 3)] * 2 +
                     [(72, 128, 3)] * 2)
    inputs = preprocess.video_to_model_inputs(path, num_workers=1)
    self.assertEqual(inputs['rgb'].shape, (1, 3, 224, 224, 3))
    self.assertEqual(inputs['flow'].shape, (1, 3, 224, 224, 2))

  def test_flow_needs_two_frames(self):
    path = encode(self.path('one.mkv'), [index_frame(0)], 25, codec='ffv1')
    rgb = preprocess.video_to_model_inputs(path, streams=('rgb',))['rgb']
    self.assertEqual(rgb.shape, (1, 1, 224, 224, 3))
    with self.assertRaisesRegex(preprocess.PreprocessError,
                                re.escape(path) + '.*at least 2 frames'):
      preprocess.video_to_model_inputs(path)

  def test_bad_streams(self):
    with self.assertRaisesRegex(ValueError, 'streams must be'):
      preprocess.video_to_model_inputs('x.mp4', streams=('depth',))


# ----------------------------------------------------------------------------
# Bad input.
# ----------------------------------------------------------------------------


def _make_bad_input(kind: str, tmp: str) -> str:
  """Builds a bad input of `kind` in `tmp` and returns its path."""
  path = os.path.join(tmp, f'bad_{kind}.mp4')
  if kind == 'missing':
    return path
  if kind == 'empty':
    open(path, 'wb').close()
  elif kind == 'directory':
    os.mkdir(path)
  elif kind == 'text':
    with open(path, 'w') as f:
      f.write('This is not a video.\n' * 50)
  elif kind == 'truncated_mp4':
    # MP4's index (moov) is written last: without it nothing can be read.
    full = encode(os.path.join(tmp, 'full.mp4'),
                  [index_frame(i) for i in range(25)], 25, codec='libx264')
    with open(full, 'rb') as f:
      data = f.read()
    with open(path, 'wb') as f:
      f.write(data[:len(data) // 2])
  elif kind == 'truncated_mkv':
    # Matroska declares the duration up front: 4 s, of which ~1.2 s remain.
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
              for _ in range(100)]
    full = encode(os.path.join(tmp, 'full.mkv'), frames, 25, codec='ffv1')
    with open(full, 'rb') as f:
      data = f.read()
    path = path[:-4] + '.mkv'
    with open(path, 'wb') as f:
      f.write(data[:int(len(data) * 0.3)])
  elif kind == 'audio_only':
    path = path[:-4] + '.wav'
    with av.open(path, 'w') as container:
      stream = container.add_stream('pcm_s16le', rate=8000)
      frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16),
                                         format='s16', layout='mono')
      frame.sample_rate = 8000
      for packet in stream.encode(frame):
        container.mux(packet)
      for packet in stream.encode():
        container.mux(packet)
  elif kind == 'no_frames':
    # A video stream whose packets are all garbage to its decoder.
    path = path[:-4] + '.mkv'
    rng = np.random.default_rng(0)
    with av.open(path, 'w') as container:
      stream = container.add_stream('ffv1', rate=25)
      stream.width, stream.height, stream.pix_fmt = 64, 48, 'bgr0'
      for i in range(5):
        packet = av.Packet(rng.integers(0, 256, 100, np.uint8).tobytes())
        packet.stream = stream
        packet.pts = packet.dts = i
        packet.time_base = Fraction(1, 25)
        container.mux(packet)
  else:
    raise ValueError(kind)
  return path


class BadInputTest(_TempDirTestCase):

  @parameterized.named_parameters(
      ('missing', 'missing', 'no such file'),
      ('empty', 'empty', 'empty'),
      ('directory', 'directory', 'directory'),
      ('text', 'text', 'cannot read it as a video'),
      ('truncated_mp4', 'truncated_mp4', 'truncated'),
      ('truncated_mkv', 'truncated_mkv', 'truncated'),
      ('audio_only', 'audio_only', 'no video stream'),
      ('no_frames', 'no_frames', 'no decodable video frames'),
  )
  def test_bad_file(self, kind, message):
    path = _make_bad_input(kind, self.tmp)
    pattern = '^' + re.escape(path) + ': .*' + message
    with self.assertRaisesRegex(preprocess.PreprocessError, pattern):
      preprocess.decode_video(path)
    with self.assertRaisesRegex(preprocess.PreprocessError, pattern):
      preprocess.video_to_model_inputs(path, streams=('rgb',))

  @parameterized.named_parameters(
      ('start_past_end', {'start_time': 5.0}, 'past the end'),
      ('start_at_end', {'start_time': 2.0}, 'past the end'),
      ('end_before_start', {'start_time': 1.0, 'end_time': 0.5},
       'must be after start_time'),
      ('negative_start', {'start_time': -1.0}, 'start_time must be'),
      ('nan_end', {'end_time': float('nan')}, 'end_time must be'),
  )
  def test_bad_times(self, kwargs, message):
    path = encode(self.path('clip.avi'), [index_frame(i) for i in range(20)],
                  10, codec='mpeg4')
    with self.assertRaisesRegex(preprocess.PreprocessError,
                                '^' + re.escape(path) + ': .*' + message):
      preprocess.decode_video(path, **kwargs)


# ----------------------------------------------------------------------------
# Command line.
# ----------------------------------------------------------------------------


def run_cli(*args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run([sys.executable, _SCRIPT, *args], capture_output=True,
                        text=True, env=env, timeout=600, check=False)


class CliTest(_TempDirTestCase):

  def assert_one_line_error(self, result, pattern):
    self.assertNotEqual(result.returncode, 0, result.stdout)
    self.assertNotIn('Traceback', result.stderr)
    lines = result.stderr.strip().splitlines()
    self.assertLen(lines, 1, result.stderr)
    self.assertRegex(lines[0], pattern)

  def test_writes_sample_format_and_refuses_overwrite(self):
    frames = [gray_to_rgb(texture(t, 0.5 * t, 96, 128)) for t in range(5)]
    video = encode(self.path('moving.mkv'), frames, 25, codec='ffv1')
    out = self.path('out')
    result = run_cli(f'--video={video}', f'--output_dir={out}',
                     '--num_workers=2')
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertCountEqual(os.listdir(out), [
        'moving_rgb.npy', 'moving_flow.npy', 'moving_rgb.gif',
        'moving_flow.gif'])
    rgb = np.load(os.path.join(out, 'moving_rgb.npy'))
    flow = np.load(os.path.join(out, 'moving_flow.npy'))
    self.assertEqual((rgb.dtype, rgb.shape), (np.float32, (1, 4, 224, 224, 3)))
    self.assertEqual((flow.dtype, flow.shape),
                     (np.float32, (1, 4, 224, 224, 2)))
    # 96x128 frames are upsampled by 256/96: the flow is (2.67, 1.33) px.
    np.testing.assert_allclose(np.median(flow[0, :, 40:-40, 40:-40], (0, 1, 2)),
                               np.array([256 / 96, 128 / 96]) / 20, atol=0.01)
    with Image.open(os.path.join(out, 'moving_flow.gif')) as gif:
      self.assertEqual((gif.n_frames, gif.info['duration']), (4, 40))
    self.assertIn('moving_rgb.npy', result.stdout)

    before = os.stat(os.path.join(out, 'moving_rgb.npy')).st_mtime_ns
    again = run_cli(f'--video={video}', f'--output_dir={out}',
                    '--streams=rgb')
    self.assert_one_line_error(again, 'already exists.*--overwrite')
    self.assertEqual(os.stat(os.path.join(out, 'moving_rgb.npy')).st_mtime_ns,
                     before)
    again = run_cli(f'--video={video}', f'--output_dir={out}',
                    '--streams=rgb', '--nogifs', '--overwrite', '--name=moving')
    self.assertEqual(again.returncode, 0, again.stderr)
    self.assertEqual(np.load(os.path.join(out, 'moving_rgb.npy')).shape,
                     (1, 5, 224, 224, 3))
    self.assertLen(os.listdir(out), 4)

  def test_bad_video_writes_nothing(self):
    video = _make_bad_input('truncated_mp4', self.tmp)
    out = self.path('out')
    result = run_cli(f'--video={video}', f'--output_dir={out}')
    self.assert_one_line_error(result, re.escape(video) + ': .*truncated')
    self.assertEqual(os.listdir(out) if os.path.exists(out) else [], [])
    # Not even an empty output folder.
    self.assertFalse(os.path.exists(out))

  def test_non_video_files_leave_no_folder(self):
    for kind in ('text', 'empty', 'directory'):
      video = _make_bad_input(kind, self.tmp)
      out = os.path.join(self.path(f'out_{kind}'), 'sub')
      with self.assertRaisesRegex(preprocess.PreprocessError,
                                  re.escape(video) + ': '):
        preprocess.preprocess_to_files(video, out, streams=('rgb',))
      self.assertFalse(os.path.exists(os.path.dirname(out)), kind)

  def test_unwritable_output_dir(self):
    video = encode(self.path('clip.mkv'), [index_frame(i) for i in range(3)],
                   25, codec='ffv1')
    not_a_dir = self.path('file')
    open(not_a_dir, 'w').close()
    result = run_cli(f'--video={video}', f'--output_dir={not_a_dir}/sub',
                     '--streams=rgb')
    self.assert_one_line_error(result, 'cannot create the output folder')

  def test_bad_streams_flag(self):
    result = run_cli('--video=x.mp4', f'--output_dir={self.tmp}',
                     '--streams=rgb,depth')
    self.assert_one_line_error(result, '--streams: streams must be')
    result = run_cli(f'--output_dir={self.tmp}')
    self.assert_one_line_error(result, '--video and --output_dir are required')


class JugglingSampleTest(_TempDirTestCase):
  """The real sample: 1024x768, 10 fps, 25 frames (assets.py, from PyPI)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    import assets  # pylint: disable=g-import-not-at-top
    cls.video = assets.sample_video_path('retroMars2018.avi')

  def test_cli_rgb(self):
    out = self.path('out')
    result = run_cli(f'--video={self.video}', f'--output_dir={out}',
                     '--streams=rgb', '--name=juggling')
    self.assertEqual(result.returncode, 0, result.stderr)
    rgb = np.load(os.path.join(out, 'juggling_rgb.npy'))
    # 2.5 s at 25 fps.
    self.assertEqual(rgb.shape, (1, 63, 224, 224, 3))
    self.assertEqual(rgb.dtype, np.float32)
    self.assertBetween(float(rgb.min()), -1.0, -0.5)
    self.assertBetween(float(rgb.max()), 0.5, 1.0)
    with Image.open(os.path.join(out, 'juggling_rgb.gif')) as gif:
      self.assertEqual(gif.size, (224, 224))

  def test_cli_both_streams_on_a_clip(self):
    out = self.path('out')
    result = run_cli(f'--video={self.video}', f'--output_dir={out}',
                     '--start_time=1.0', '--end_time=1.4', '--nogifs')
    self.assertEqual(result.returncode, 0, result.stderr)
    rgb = np.load(os.path.join(out, 'retroMars2018_rgb.npy'))
    flow = np.load(os.path.join(out, 'retroMars2018_flow.npy'))
    # 10 frames at 25 fps -> 9 steps in both streams.
    self.assertEqual(rgb.shape, (1, 9, 224, 224, 3))
    self.assertEqual(flow.shape, (1, 9, 224, 224, 2))
    # 10 fps upsampled: the outputs at t = 1.00, 1.04, ..., 1.36 s show source
    # frames 10 10 10 11 11 12 12 12 13 13; flow between repeats is exactly 0.
    moving = [bool(np.any(f != 0)) for f in flow[0]]
    self.assertEqual(moving, [False, False, True, False, True, False, False,
                              True, False])
    self.assertLessEqual(np.abs(flow).max(), 1.0)


if __name__ == '__main__':
  absltest.main()
