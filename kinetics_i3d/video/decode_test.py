"""Tests for decode.py: any video file -> RGB frames at 25 fps.

(I3D's inputs: Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR
2017.)

Every clip is encoded here with PyAV, small, and with what each frame must
show written into it: the source frame index in flat colours (robust to lossy
codecs) or a smooth texture translated by a known shift (lossless FFV1). The
expected values come from the encoding parameters, not from decode.py. The
helpers here (`encode`, `index_frame`, `texture`, `make_bad_input`, ...) are
shared with the other video tests (model_inputs_test.py,
sample_writer_test.py, containers_test.py) and the flow tests.
"""

import fractions
import math
import os
import re
import shutil
import tempfile
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import av
import numpy as np

from kinetics_i3d.utils import progress
from kinetics_i3d.video import containers
from kinetics_i3d.video import decode
from kinetics_i3d.video import samples

Fraction = fractions.Fraction


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


def make_tempdir(test_case) -> str:
  # tempfile, not absltest's create_tempdir: pytest never parses absl flags.
  path = tempfile.mkdtemp(prefix='video_test_')
  test_case.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


class TempDirTestCase(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.tmp = make_tempdir(self)

  def path(self, name):
    return os.path.join(self.tmp, name)


# ----------------------------------------------------------------------------
# Decoding and resampling.
# ----------------------------------------------------------------------------


class ResamplingTest(TempDirTestCase):

  @parameterized.named_parameters(
      # 10 fps in AVI/MPEG-4 (as the planets sample, retroMars2018.avi),
      # 29.97 and 30 and 60 fps in MP4/H.264 (exact time bases), 25 fps in
      # Matroska/FFV1.
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
    frames, timestamps = decode.decode_video(path)

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
    frames, _ = decode.decode_video(path)
    # 2.5 s at 25 fps: 63 frames, as the planets sample (ASSETS.md).
    self.assertLen(frames, 63)
    counts = np.bincount([read_index(f) for f in frames])
    self.assertEqual(counts.tolist(), [3, 2] * 12 + [3])

  def test_variable_frame_rate(self):
    pts_ms = [0, 10, 50, 200, 210, 400, 401, 600, 700, 900]
    path = encode(self.path('vfr.mkv'), [index_frame(i) for i in range(10)],
                  codec='ffv1', pts_ms=pts_ms)
    frames, timestamps = decode.decode_video(path)
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
    frames, timestamps = decode.decode_video(path)
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
    frames, timestamps = decode.decode_video(path, start_time=start,
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
    items = list(decode.iter_video_frames(path))
    self.assertLen(items, 13)
    # Output frames 0, 1, 2 all show source frame 0.
    self.assertIs(items[0][0], items[2][0])
    self.assertIsNot(items[2][0], items[3][0])
    self.assertFalse(items[0][0].flags.writeable)
    frames, _ = decode.decode_video(path)
    np.testing.assert_array_equal(frames, np.stack([f for f, _ in items]))

  def test_display_rotation(self):
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:8, :8] = 255  # Marker in the top-left corner.
    path = encode(self.path('rotated.mp4'), [frame] * 3, 25, codec='libx264',
                  rotation=90)
    frames, _ = decode.decode_video(path)
    # A 90 degree counterclockwise display rotation (FFmpeg's convention)
    # makes the frame portrait and moves the top-left corner to bottom-left.
    self.assertEqual(frames.shape[1:], (64, 48, 3))
    self.assertGreater(frames[0, -4, 4].mean(), 200)
    self.assertLess(frames[0, 4, 4].mean(), 50)



# ----------------------------------------------------------------------------
# Bad input.
# ----------------------------------------------------------------------------


def make_bad_input(kind: str, tmp: str) -> str:
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


# Inputs `check_video` already refuses (it decodes nothing).
_UNOPENABLE = ('missing', 'empty', 'directory', 'text', 'truncated_mp4',
               'audio_only')


# (test name, kind of bad file for `make_bad_input`, expected message).
BAD_FILES = (
    ('missing', 'missing', 'no such file'),
    ('empty', 'empty', 'empty'),
    ('directory', 'directory', 'directory'),
    ('text', 'text', 'cannot read it as a video'),
    ('truncated_mp4', 'truncated_mp4', 'truncated'),
    ('truncated_mkv', 'truncated_mkv', 'truncated'),
    ('audio_only', 'audio_only', 'no video stream'),
    ('no_frames', 'no_frames', 'no decodable video frames'),
)


class BadInputTest(TempDirTestCase):

  @parameterized.named_parameters(*BAD_FILES)
  def test_bad_file(self, kind, message):
    path = make_bad_input(kind, self.tmp)
    pattern = '^' + re.escape(path) + ': .*' + message
    with self.assertRaisesRegex(decode.PreprocessError, pattern):
      decode.decode_video(path)
    with self.assertRaisesRegex(decode.PreprocessError, pattern):
      containers.check_video(path) if kind in _UNOPENABLE else list(
          decode.iter_video_frames(path))

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
    with self.assertRaisesRegex(decode.PreprocessError,
                                '^' + re.escape(path) + ': .*' + message):
      decode.decode_video(path, **kwargs)



# ----------------------------------------------------------------------------
# Files cut short, and what decoding reports.
# ----------------------------------------------------------------------------


def truncated_avi(tmp: str, fraction: float = 0.3) -> str:
  """25 frames at 10 fps in AVI/MPEG-4 (2.5 s), cut to `fraction` of its bytes.

  The AVI header, which counts the 25 frames, survives the cut; noise frames
  keep every packet large, so the cut falls after the first frame or two.
  """
  rng = np.random.default_rng(0)
  frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            for _ in range(25)]
  full = encode(os.path.join(tmp, 'full.avi'), frames, 10, codec='mpeg4')
  with open(full, 'rb') as f:
    data = f.read()
  path = os.path.join(tmp, 'cut.avi')
  with open(path, 'wb') as f:
    f.write(data[:int(len(data) * fraction)])
  return path


class TruncationTest(TempDirTestCase):

  def test_truncated_avi_warns_with_both_counts(self):
    path = truncated_avi(self.tmp)
    with av.open(path) as container:
      self.assertEqual(container.streams.video[0].frames, 25)
    with self.assertLogs(level='WARNING') as logs:
      frames, _ = decode.decode_video(path)
    # Far fewer than the 63 frames of the whole 2.5 s.
    self.assertLess(len(frames), 20)
    (warning,) = [r.getMessage() for r in logs.records
                  if 'declares' in r.getMessage()]
    self.assertRegex(warning, '^' + re.escape(path) + ': decoding ended after '
                     r'\d+ frames .* declares 25 frames \(2\.50 s\)')

  def test_complete_files_do_not_warn(self):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
              for _ in range(25)]
    path = encode(self.path('full.avi'), frames, 10, codec='mpeg4')
    with self.assertNoLogs(level='WARNING'):
      decoded, _ = decode.decode_video(path)
    self.assertLen(decoded, 63)

  def test_first_10_kb_of_the_planets_sample(self):
    # The case a user reported: the first 10 KB of retroMars2018.avi (an
    # animation of planets orbiting the Sun, 10 fps, 25 frames) decoded to 3
    # frames with exit status 0 and no word of the damage.
    with open(samples.sample_video_path('retroMars2018.avi'), 'rb') as f:
      head = f.read(10 * 1024)
    path = self.path('retroMars2018_10kb.avi')
    with open(path, 'wb') as f:
      f.write(head)
    with self.assertLogs(level='WARNING') as logs:
      frames, _ = decode.decode_video(path)
    self.assertLess(len(frames), 10)
    self.assertTrue(any(r.getMessage().startswith(path + ': ') and
                        'declares 25 frames' in r.getMessage()
                        for r in logs.records), logs.output)


class ProgressTest(TempDirTestCase):

  def test_long_decodes_are_logged(self):
    path = encode(self.path('clip.avi'), [index_frame(i) for i in range(20)],
                  10, codec='mpeg4')
    # A log line for every frame, as if each took longer than the interval.
    with mock.patch.object(progress, 'LOG_EVERY_S', 0.0):
      with self.assertLogs(level='INFO') as logs:
        decode.decode_video(path)
    messages = [r.getMessage() for r in logs.records]
    self.assertIn(f'Decoding {path}: 1/50 frames (2%)', messages[0])
    self.assertTrue(messages[-1].startswith(f'Decoding {path}: done, 50 '),
                    messages)


if __name__ == '__main__':
  absltest.main()
