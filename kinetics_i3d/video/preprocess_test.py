"""Tests for preprocess.py, the paper's preprocessing of RGB and flow for I3D.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.)

Clips are encoded here with PyAV (helpers in decode_test.py), small, with
what each frame must show written into it; expected values come from the
encoding parameters or from OpenCV called directly, not from preprocess.py.
The command-line tests run the tool, `python -m kinetics_i3d.preprocess`, in
a subprocess; the last ones run the real planets sample (retroMars2018.avi:
an animation of planets orbiting the Sun, fetched by
`kinetics_i3d.video.samples`) through it.
"""

import os
import re
import subprocess
import sys
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import cv2
import numpy as np
from PIL import Image

from kinetics_i3d.flow import backends
from kinetics_i3d.utils import progress
from kinetics_i3d.video import decode
from kinetics_i3d.video import decode_test
from kinetics_i3d.video import preprocess
from kinetics_i3d.video import samples

encode = decode_test.encode
gray_to_rgb = decode_test.gray_to_rgb
index_frame = decode_test.index_frame
make_bad_input = decode_test.make_bad_input
make_tempdir = decode_test.make_tempdir
texture = decode_test.texture
TempDirTestCase = decode_test.TempDirTestCase


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


# ----------------------------------------------------------------------------
# Video -> model inputs.
# ----------------------------------------------------------------------------


class VideoToModelInputsTest(TempDirTestCase):

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
        path, crop=np.random.default_rng(7), num_workers=1,
        flow_backend='opencv')
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
    frames = [f for f, _ in decode.iter_video_frames(path)]
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
    inputs = preprocess.video_to_model_inputs(path, num_workers=2,
                                              flow_backend='opencv')
    flow = inputs['flow'][0] * 20  # Back to pixels: no value reached 20.
    self.assertEqual(flow.shape, (2, 224, 224, 2))
    error = np.abs(flow - np.array([dx, dy], np.float32))
    self.assertLess(error.mean(), mean_tolerance)
    self.assertLess(np.percentile(error, 99), 0.15)
    # RGB is the decoded frame, cropped and scaled (FFV1 RGB is lossless).
    np.testing.assert_allclose(
        inputs['rgb'][0], np.stack(frames[:2])[:, 16:240, 48:272] / 255 * 2 - 1,
        rtol=0, atol=1e-6)


class FlowBackendTest(TempDirTestCase):

  def test_each_backend_name_reaches_the_flow(self):
    frames = [gray_to_rgb(texture(t, 0.5 * t, 48, 64)) for t in range(3)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    calls = []

    def fake_iter_flow(gray_frames, backend, num_workers, batch_size):
      calls.append((backend, num_workers, batch_size))
      gray = list(gray_frames)
      return (np.full(g.shape + (2,), 40.0, np.float32) for g in gray[1:])

    with mock.patch.object(backends, 'iter_flow', fake_iter_flow):
      flow = preprocess.video_to_model_inputs(
          path, streams=('flow',), flow_backend='tf', num_workers=3,
          flow_batch_size=5)['flow']
    self.assertEqual(calls, [('tf', 3, 5)])
    # 40 px is clipped to the bound, 20, then divided by it.
    np.testing.assert_array_equal(flow, 1.0)
    self.assertEqual(flow.shape, (1, 2, 224, 224, 2))

  def test_default_backend_on_this_machine(self):
    frames = [gray_to_rgb(texture(t, 0, 48, 64)) for t in range(2)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    with mock.patch.object(backends, 'default_backend',
                           return_value='opencv') as default:
      preprocess.video_to_model_inputs(path, streams=('flow',),
                                       num_workers=1)
    default.assert_called_once()

  def test_unknown_backend(self):
    with self.assertRaisesRegex(ValueError, '--flow_backend must be one of'):
      preprocess.video_to_model_inputs('x.mp4', flow_backend='farneback')


class ProgressTest(TempDirTestCase):

  def test_long_flow_is_logged_without_a_terminal(self):
    frames = [gray_to_rgb(texture(t, 0, 48, 64)) for t in range(4)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    # A log line for every frame, as if each took longer than the interval.
    with mock.patch.object(progress, 'LOG_EVERY_S', 0.0):
      with self.assertLogs(level='INFO') as logs:
        preprocess.video_to_model_inputs(path, num_workers=1,
                                         flow_backend='opencv', progress=False)
    messages = [r.getMessage() for r in logs.records]
    prefix = f'TV-L1 flow (opencv) of {path}: '
    self.assertEqual([m[len(prefix):].split(' ')[0] for m in messages
                      if m.startswith(prefix)],
                     ['1/3', '2/3', '3/3', 'done,'])

  def test_short_work_logs_nothing(self):
    frames = [index_frame(i) for i in range(3)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    with self.assertNoLogs(level='INFO'):
      preprocess.video_to_model_inputs(path, streams=('rgb',))


class BadInputTest(TempDirTestCase):

  @parameterized.named_parameters(*decode_test.BAD_FILES)
  def test_bad_file(self, kind, message):
    path = make_bad_input(kind, self.tmp)
    pattern = '^' + re.escape(path) + ': .*' + message
    with self.assertRaisesRegex(preprocess.PreprocessError, pattern):
      preprocess.video_to_model_inputs(path, streams=('rgb',))


# ----------------------------------------------------------------------------
# Command line.
# ----------------------------------------------------------------------------


def run_cli(*args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run(
      [sys.executable, '-m', 'kinetics_i3d.preprocess', *args],
      capture_output=True, text=True, env=env, timeout=600, check=False)


class CliTest(TempDirTestCase):

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
    video = make_bad_input('truncated_mp4', self.tmp)
    out = self.path('out')
    result = run_cli(f'--video={video}', f'--output_dir={out}')
    self.assert_one_line_error(result, re.escape(video) + ': .*truncated')
    self.assertEqual(os.listdir(out) if os.path.exists(out) else [], [])
    # Not even an empty output folder.
    self.assertFalse(os.path.exists(out))

  def test_non_video_files_leave_no_folder(self):
    for kind in ('text', 'empty', 'directory'):
      video = make_bad_input(kind, self.tmp)
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
    self.assert_one_line_error(
        result, f'--output_dir={not_a_dir}/sub: {not_a_dir} is a file, not a '
        'folder')

  def test_bad_clip_times_refused_before_the_video_is_opened(self):
    out = self.path('out_times')
    with mock.patch.object(decode, 'check_video',
                           side_effect=AssertionError('video opened')):
      with self.assertRaisesRegex(preprocess.PreprocessError,
                                  'start_time must be a finite number of '
                                  r'seconds >= 0, got -1.0'):
        preprocess.preprocess_to_files('clip.mkv', out, streams=('rgb',),
                                       start_time=-1)
    self.assertFalse(os.path.exists(out))

  def test_start_past_the_end_leaves_no_folder(self):
    video = encode(self.path('three.mkv'), [index_frame(i) for i in range(3)],
                   25, codec='ffv1')
    out = os.path.join(self.path('out_past'), 'sub')
    with self.assertRaisesRegex(preprocess.PreprocessError, 'past the end'):
      preprocess.preprocess_to_files(video, out, streams=('rgb',),
                                     start_time=10.)
    self.assertFalse(os.path.exists(os.path.dirname(out)))

  def test_write_error_names_the_flag_not_a_temporary_name(self):
    video = encode(self.path('full.mkv'), [index_frame(i) for i in range(3)],
                   25, codec='ffv1')
    out = self.path('out_full')

    def disk_full(array, path):
      del array
      raise OSError(28, 'No space left on device', path)

    with mock.patch.object(preprocess, '_write_npy', disk_full):
      with self.assertRaises(preprocess.PreprocessError) as caught:
        preprocess.preprocess_to_files(video, out, streams=('rgb',),
                                       gifs=False)
    self.assertEqual(str(caught.exception),
                     f'--output_dir={out}: cannot write the output (No space '
                     'left on device).')
    self.assertEqual(os.listdir(out), [])

  def test_clip_too_short_for_the_logits_warns(self):
    video = encode(self.path('five.mkv'), [index_frame(i) for i in range(5)],
                   25, codec='ffv1')
    with self.assertLogs(level='WARNING') as logs:
      paths = preprocess.preprocess_to_files(video, self.path('out_short'),
                                             streams=('rgb',), gifs=False)
    self.assertEqual(np.load(paths['rgb_npy']).shape[1], 5)
    self.assertRegex('\n'.join(logs.output),
                     r'five.mkv: the clip has 5 frames; I3D\'s logits need '
                     r'at least 9')

  def test_bad_streams_flag(self):
    result = run_cli('--video=x.mp4', f'--output_dir={self.tmp}',
                     '--streams=rgb,depth')
    self.assert_one_line_error(result, '--streams: streams must be')
    result = run_cli(f'--output_dir={self.tmp}')
    self.assert_one_line_error(result, '--video and --output_dir are required')

  def test_flow_backend_flag(self):
    frames = [gray_to_rgb(texture(t, 0.5 * t, 48, 64)) for t in range(3)]
    video = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    result = run_cli(f'--video={video}', f'--output_dir={self.tmp}',
                     '--flow_backend=farneback')
    self.assert_one_line_error(result, 'flow_backend.*opencv.*tf')
    out = self.path('out')
    result = run_cli(f'--video={video}', f'--output_dir={out}', '--nogifs',
                     '--flow_backend=opencv', '--num_workers=1')
    self.assertEqual(result.returncode, 0, result.stderr)
    # Redirected (no terminal): the run still says what it does, in the logs.
    self.assertRegex(result.stderr, 'Preprocessing .*clip.mkv: streams '
                     r'rgb,flow; flow: tvl1 \(opencv, ')
    self.assertEqual(np.load(os.path.join(out, 'clip_flow.npy')).shape,
                     (1, 2, 224, 224, 2))

  def test_truncated_video_warns(self):
    video = decode_test.truncated_avi(self.tmp)
    out = self.path('out')
    result = run_cli(f'--video={video}', f'--output_dir={out}',
                     '--streams=rgb', '--nogifs')
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertRegex(result.stderr, re.escape(video) + ': decoding ended '
                     r'after \d+ frames .* declares 25 frames')

  def test_help_exits_zero(self):
    result = run_cli('--help')
    self.assertEqual(result.returncode, 0, result.stderr)
    # The flag itself (with its help text), not only the docstring; absl
    # wraps the text at the terminal's width, which differs between machines.
    self.assertRegex(' '.join((result.stdout + result.stderr).split()),
                     r'--flow_backend: <opencv\|tf>: TV-L1 implementation')


class PlanetsSampleTest(TempDirTestCase):
  """retroMars2018.avi: planets orbiting the Sun, 1024x768, 10 fps, 25 frames.

  A real file from PyPI (`kinetics_i3d.video.samples`); an animation, not a
  recording of people.
  """

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.video = samples.sample_video_path('retroMars2018.avi')

  def test_cli_rgb(self):
    out = self.path('out')
    result = run_cli(f'--video={self.video}', f'--output_dir={out}',
                     '--streams=rgb', '--name=planets')
    self.assertEqual(result.returncode, 0, result.stderr)
    rgb = np.load(os.path.join(out, 'planets_rgb.npy'))
    # 2.5 s at 25 fps.
    self.assertEqual(rgb.shape, (1, 63, 224, 224, 3))
    self.assertEqual(rgb.dtype, np.float32)
    self.assertBetween(float(rgb.min()), -1.0, -0.5)
    self.assertBetween(float(rgb.max()), 0.5, 1.0)
    with Image.open(os.path.join(out, 'planets_rgb.gif')) as gif:
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


if __name__ == '__main__':
  absltest.main()
