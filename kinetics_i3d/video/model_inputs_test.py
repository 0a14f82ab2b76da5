"""Tests for model_inputs.py: a video file -> I3D's RGB and flow inputs.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.)

Clips are encoded here with PyAV (helpers in decode_test.py), small, with
what each frame must show written into it; expected values come from the
encoding parameters or from OpenCV called directly, not from model_inputs.py.
"""

import re
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import cv2
import numpy as np

from kinetics_i3d.flow import backends
from kinetics_i3d.utils import progress
from kinetics_i3d.video import decode
from kinetics_i3d.video import decode_test
from kinetics_i3d.video import model_inputs

encode = decode_test.encode
gray_to_rgb = decode_test.gray_to_rgb
index_frame = decode_test.index_frame
make_bad_input = decode_test.make_bad_input
texture = decode_test.texture
TempDirTestCase = decode_test.TempDirTestCase

# Tests whose point is not the paper's sizes run TV-L1 on small frames: the
# smaller side resized to 64, crops of 48.
_SMALL = 64
_SMALL_CROP = 48


class VideoToModelInputsTest(TempDirTestCase):

  @parameterized.named_parameters(
      ('landscape', 96, 128), ('portrait', 128, 96), ('small', 40, 60),
      ('large', 480, 640))
  def test_rgb_shapes(self, height, width):
    frames = [np.full((height, width, 3), 10 * i, np.uint8) for i in range(4)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    inputs = model_inputs.video_to_model_inputs(path, streams=('rgb',))
    self.assertEqual(list(inputs), ['rgb'])
    rgb = inputs['rgb']
    self.assertEqual(rgb.shape, (1, 4, 224, 224, 3))
    self.assertEqual(rgb.dtype, np.float32)
    np.testing.assert_allclose(rgb[0, :, 100, 100, 0],
                               np.arange(4) * 10 / 255 * 2 - 1, atol=1e-6)

  def test_both_streams_align_and_drop_last_rgb_frame(self):
    frames = [gray_to_rgb(texture(t, 0, 48, 64)) for t in range(3)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    inputs = lambda **kwargs: model_inputs.video_to_model_inputs(
        path, resize=_SMALL, crop_size=_SMALL_CROP, num_workers=1, **kwargs)
    rgb_only = inputs(streams=('rgb',))['rgb']
    both = inputs()
    flow_only = inputs(streams=('flow',))['flow']
    self.assertEqual(rgb_only.shape, (1, 3, _SMALL_CROP, _SMALL_CROP, 3))
    self.assertEqual(both['rgb'].shape, (1, 2, _SMALL_CROP, _SMALL_CROP, 3))
    self.assertEqual(both['flow'].shape, (1, 2, _SMALL_CROP, _SMALL_CROP, 2))
    np.testing.assert_array_equal(both['rgb'], rgb_only[:, :2])
    np.testing.assert_array_equal(both['flow'], flow_only)
    self.assertLessEqual(np.abs(both['flow']).max(), 1.0)

  def test_random_crop_is_shared_by_both_streams(self):
    # Colour frames: the flow must come from RGB->gray (not BGR->gray).
    frames = []
    # Frames at the resize size (64 x 96), so the crop is taken from them.
    for t in range(2):
      red = texture(0.5 * t, 0.25 * t, _SMALL, 96)
      green = 255 - texture(1.0 + 0.5 * t, 0.25 * t, _SMALL, 96)
      frames.append(np.stack([red, green, np.full_like(red, 40)], axis=-1))
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    inputs = model_inputs.video_to_model_inputs(
        path, crop=np.random.default_rng(7), resize=_SMALL,
        crop_size=_SMALL_CROP, num_workers=1, flow_backend='opencv')
    rgb = inputs['rgb'][0, 0]
    expected_rgb = frames[0] / 255 * 2 - 1
    size = _SMALL_CROP
    matches = [(y, x) for y in range(_SMALL - size + 1)
               for x in range(96 - size + 1)
               if np.allclose(expected_rgb[y:y + size, x:x + size], rgb,
                              atol=1e-6)]
    self.assertLen(matches, 1)
    y, x = matches[0]
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    full = cv2.optflow.DualTVL1OpticalFlow_create().calc(gray[0], gray[1],
                                                         None)
    expected_flow = np.clip(full[y:y + size, x:x + size], -20, 20) / 20
    np.testing.assert_allclose(inputs['flow'][0, 0], expected_flow, rtol=0,
                               atol=1e-6)

  def test_quantized_flow_lies_on_the_levels(self):
    frames = [gray_to_rgb(texture(0.3 * t, 0.0, 48, 64)) for t in range(2)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    flow = model_inputs.video_to_model_inputs(
        path, streams=('flow',), quantize=True, resize=_SMALL,
        crop_size=_SMALL_CROP, num_workers=1)['flow']
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
    inputs = model_inputs.video_to_model_inputs(
        path, resize=_SMALL, crop_size=_SMALL_CROP, num_workers=1)
    self.assertEqual(inputs['rgb'].shape, (1, 3, _SMALL_CROP, _SMALL_CROP, 3))
    self.assertEqual(inputs['flow'].shape, (1, 3, _SMALL_CROP, _SMALL_CROP, 2))

  def test_flow_needs_two_frames(self):
    path = encode(self.path('one.mkv'), [index_frame(0)], 25, codec='ffv1')
    rgb = model_inputs.video_to_model_inputs(path, streams=('rgb',))['rgb']
    self.assertEqual(rgb.shape, (1, 1, 224, 224, 3))
    with self.assertRaisesRegex(decode.PreprocessError,
                                re.escape(path) + '.*at least 2 frames'):
      model_inputs.video_to_model_inputs(path)

  def test_bad_streams(self):
    with self.assertRaisesRegex(ValueError, 'streams must be'):
      model_inputs.video_to_model_inputs('x.mp4', streams=('depth',))

  def test_options_are_those_of_iter_model_input_frames(self):
    path = encode(self.path('two.mkv'), [index_frame(0), index_frame(1)], 25,
                  codec='ffv1')
    small = model_inputs.video_to_model_inputs(path, ('rgb',), resize=64,
                                               crop_size=32)['rgb']
    self.assertEqual(small.shape, (1, 2, 32, 32, 3))
    with self.assertRaisesRegex(TypeError, 'fsp'):
      model_inputs.video_to_model_inputs(path, fsp=25)

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
  # One clip holds the three shifts, one per frame pair.
  _SHIFTS = (('integer', 2.0, -1.0, 0.02), ('sub_pixel', 0.5, -0.25, 0.08),
             ('mixed', -1.5, 0.75, 0.08))

  def test_recovers_translation(self):
    origins = np.cumsum([(0.0, 0.0)] + [s[1:3] for s in self._SHIFTS], axis=0)
    frames = [gray_to_rgb(texture(x, y)) for x, y in origins]
    path = encode(self.path('shift.mkv'), frames, 25, codec='ffv1')
    inputs = model_inputs.video_to_model_inputs(path, num_workers=2,
                                                flow_backend='opencv')
    flow = inputs['flow'][0] * 20  # Back to pixels: no value reached 20.
    self.assertEqual(flow.shape, (3, 224, 224, 2))
    for t, (name, dx, dy, mean_tolerance) in enumerate(self._SHIFTS):
      with self.subTest(name):
        error = np.abs(flow[t] - np.array([dx, dy], np.float32))
        self.assertLess(error.mean(), mean_tolerance)
        self.assertLess(np.percentile(error, 99), 0.15)
    # RGB is the decoded frame, cropped and scaled (FFV1 RGB is lossless).
    np.testing.assert_allclose(
        inputs['rgb'][0], np.stack(frames[:3])[:, 16:240, 48:272] / 255 * 2 - 1,
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
      flow = model_inputs.video_to_model_inputs(
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
      model_inputs.video_to_model_inputs(path, streams=('flow',),
                                         resize=_SMALL, crop_size=_SMALL_CROP,
                                         num_workers=1)
    default.assert_called_once()

  def test_unknown_backend(self):
    with self.assertRaisesRegex(ValueError, '--flow_backend must be one of'):
      model_inputs.video_to_model_inputs('x.mp4', flow_backend='farneback')


class ProgressTest(TempDirTestCase):

  def test_long_flow_is_logged_without_a_terminal(self):
    frames = [gray_to_rgb(texture(t, 0, 48, 64)) for t in range(4)]
    path = encode(self.path('clip.mkv'), frames, 25, codec='ffv1')
    # A log line for every frame, as if each took longer than the interval.
    with mock.patch.object(progress, 'LOG_EVERY_S', 0.0):
      with self.assertLogs(level='INFO') as logs:
        model_inputs.video_to_model_inputs(
            path, resize=_SMALL, crop_size=_SMALL_CROP, num_workers=1,
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
      model_inputs.video_to_model_inputs(path, streams=('rgb',))


class BadInputTest(TempDirTestCase):

  @parameterized.named_parameters(*decode_test.BAD_FILES)
  def test_bad_file(self, kind, message):
    path = make_bad_input(kind, self.tmp)
    pattern = '^' + re.escape(path) + ': .*' + message
    with self.assertRaisesRegex(decode.PreprocessError, pattern):
      model_inputs.video_to_model_inputs(path, streams=('rgb',))


if __name__ == '__main__':
  absltest.main()
