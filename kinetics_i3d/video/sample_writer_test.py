"""Tests for sample_writer.py and the i3d-preprocess tool that runs it.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.)

The tool runs in subprocesses, as a user runs it, started together
(each process pays TensorFlow's start), where the point is what the
command line does: its flags, exit status, one-line errors and output. The
library's refusals, failures and warnings are tested in-process, and so is
the real planets sample (retroMars2018.avi: an animation of planets orbiting
the Sun, fetched by `kinetics_i3d.video.samples`).
"""

import os
import re
import shutil
import tempfile
from unittest import mock

from absl.testing import absltest
import numpy as np
from PIL import Image

from kinetics_i3d.testing import tool_runs
from kinetics_i3d.video import containers
from kinetics_i3d.video import decode
from kinetics_i3d.video import decode_test
from kinetics_i3d.video import sample_writer
from kinetics_i3d.video import samples

encode = decode_test.encode
gray_to_rgb = decode_test.gray_to_rgb
index_frame = decode_test.index_frame
make_bad_input = decode_test.make_bad_input
texture = decode_test.texture
TempDirTestCase = decode_test.TempDirTestCase

_TOOL = 'kinetics_i3d.preprocess'


class CliTest(absltest.TestCase):
  """Every command line runs once, in `setUpClass`; the tests read results."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.mkdtemp(prefix='video_test_')
    cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
    path = lambda name: os.path.join(cls.tmp, name)
    moving = [gray_to_rgb(texture(t, 0.5 * t, 96, 128)) for t in range(5)]
    cls.video = encode(path('moving.mkv'), moving, 25, codec='ffv1')
    small = [gray_to_rgb(texture(t, 0.5 * t, 48, 64)) for t in range(3)]
    clip = encode(path('clip.mkv'), small, 25, codec='ffv1')
    three = encode(path('three.mkv'), [index_frame(i) for i in range(3)], 25,
                   codec='ffv1')
    cls.bad_video = make_bad_input('truncated_mp4', cls.tmp)
    cls.not_a_dir = path('file')
    open(cls.not_a_dir, 'w').close()
    cls.out = {name: path(f'out_{name}')
               for name in ('moving', 'refused', 'bad_video', 'backend')}
    # An earlier output the tool must not replace.
    os.makedirs(cls.out['refused'])
    cls.earlier = os.path.join(cls.out['refused'], 'moving_rgb.npy')
    np.save(cls.earlier, np.zeros(3, np.float32))
    cls.earlier_mtime = os.stat(cls.earlier).st_mtime_ns
    cls.results = tool_runs.run_tools(_TOOL, {
        'write': [f'--video={cls.video}', f'--output_dir={cls.out["moving"]}',
                  '--num_workers=2'],
        'refused': [f'--video={cls.video}',
                    f'--output_dir={cls.out["refused"]}', '--streams=rgb'],
        'bad_video': [f'--video={cls.bad_video}',
                      f'--output_dir={cls.out["bad_video"]}'],
        'unwritable': [f'--video={three}',
                       f'--output_dir={cls.not_a_dir}/sub', '--streams=rgb'],
        'bad_streams': ['--video=x.mp4', f'--output_dir={cls.tmp}',
                        '--streams=rgb,depth'],
        'no_video': [f'--output_dir={cls.tmp}'],
        'help': ['--help'],
        'bad_backend': [f'--video={clip}', f'--output_dir={cls.tmp}',
                        '--flow_backend=farneback'],
        'backend': [f'--video={clip}', f'--output_dir={cls.out["backend"]}',
                    '--nogifs', '--flow_backend=opencv', '--num_workers=1'],
    })

  def assert_succeeded(self, case):
    result = self.results[case]
    self.assertEqual(result.returncode, 0, result.stderr)
    return result

  def assert_one_line_error(self, case, pattern):
    result = self.results[case]
    self.assertNotEqual(result.returncode, 0, result.stdout)
    self.assertNotIn('Traceback', result.stderr)
    lines = result.stderr.strip().splitlines()
    self.assertLen(lines, 1, result.stderr)
    self.assertRegex(lines[0], pattern)

  def test_writes_sample_format_and_refuses_overwrite(self):
    result = self.assert_succeeded('write')
    out = self.out['moving']
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

    self.assert_one_line_error('refused', 'exists; pass --overwrite')
    self.assertEqual(os.stat(self.earlier).st_mtime_ns, self.earlier_mtime)
    np.testing.assert_array_equal(np.load(self.earlier), np.zeros(3))
    self.assertEqual(os.listdir(self.out['refused']), ['moving_rgb.npy'])
    sample_writer.preprocess_to_files(
        self.video, out, name='moving', streams=('rgb',), gifs=False,
        overwrite=True)
    self.assertEqual(np.load(os.path.join(out, 'moving_rgb.npy')).shape,
                     (1, 5, 224, 224, 3))
    self.assertCountEqual(os.listdir(out), [
        'moving_rgb.npy', 'moving_flow.npy', 'moving_rgb.gif',
        'moving_flow.gif'])

  def test_bad_video_writes_nothing(self):
    self.assert_one_line_error('bad_video',
                               re.escape(self.bad_video) + ': .*truncated')
    # Not even an empty output folder.
    self.assertFalse(os.path.exists(self.out['bad_video']))

  def test_unwritable_output_dir(self):
    self.assert_one_line_error(
        'unwritable', f'--output_dir={self.not_a_dir}/sub: {self.not_a_dir} '
        'is a file, not a folder')

  def test_bad_streams_flag(self):
    self.assert_one_line_error('bad_streams', '--streams: streams must be')
    self.assert_one_line_error('no_video',
                               '--video and --output_dir are required')

  def test_flow_backend_flag(self):
    self.assert_one_line_error('bad_backend', 'flow_backend.*opencv.*tf')
    result = self.assert_succeeded('backend')
    # Redirected (no terminal): the run still says what it does, in the logs.
    self.assertRegex(result.stderr, 'Preprocessing .*clip.mkv: streams '
                     r'rgb,flow; flow: tvl1 \(opencv, ')
    self.assertEqual(
        np.load(os.path.join(self.out['backend'], 'clip_flow.npy')).shape,
        (1, 2, 224, 224, 2))

  def test_help_exits_zero(self):
    result = self.assert_succeeded('help')
    # The flag itself (with its help text), not only the docstring; absl
    # wraps the text at the terminal's width, which differs between machines.
    self.assertRegex(' '.join((result.stdout + result.stderr).split()),
                     r'--flow_backend: <opencv\|tf>: TV-L1 implementation')


class PreprocessToFilesTest(TempDirTestCase):

  def test_non_video_files_leave_no_folder(self):
    for kind in ('text', 'empty', 'directory'):
      video = make_bad_input(kind, self.tmp)
      out = os.path.join(self.path(f'out_{kind}'), 'sub')
      with self.assertRaisesRegex(decode.PreprocessError,
                                  re.escape(video) + ': '):
        sample_writer.preprocess_to_files(video, out, streams=('rgb',))
      self.assertFalse(os.path.exists(os.path.dirname(out)), kind)

  def test_bad_clip_times_refused_before_the_video_is_opened(self):
    out = self.path('out_times')
    with mock.patch.object(containers, 'check_video',
                           side_effect=AssertionError('video opened')):
      with self.assertRaisesRegex(decode.PreprocessError,
                                  'start_time must be a finite number of '
                                  r'seconds >= 0, got -1.0'):
        sample_writer.preprocess_to_files('clip.mkv', out, streams=('rgb',),
                                          start_time=-1)
    self.assertFalse(os.path.exists(out))

  def test_bad_name(self):
    with self.assertRaisesRegex(decode.PreprocessError,
                                '--name must be a plain file prefix'):
      sample_writer.preprocess_to_files('clip.mkv', self.tmp, name='a/b')

  def test_start_past_the_end_leaves_no_folder(self):
    video = encode(self.path('three.mkv'), [index_frame(i) for i in range(3)],
                   25, codec='ffv1')
    out = os.path.join(self.path('out_past'), 'sub')
    with self.assertRaisesRegex(decode.PreprocessError, 'past the end'):
      sample_writer.preprocess_to_files(video, out, streams=('rgb',),
                                        start_time=10.)
    self.assertFalse(os.path.exists(os.path.dirname(out)))

  def test_write_error_names_the_flag_not_a_temporary_name(self):
    video = encode(self.path('full.mkv'), [index_frame(i) for i in range(3)],
                   25, codec='ffv1')
    out = self.path('out_full')

    def disk_full(array, path):
      del array
      raise OSError(28, 'No space left on device', path)

    with mock.patch.object(sample_writer, '_write_npy', disk_full):
      with self.assertRaises(decode.PreprocessError) as caught:
        sample_writer.preprocess_to_files(video, out, streams=('rgb',),
                                          gifs=False)
    self.assertEqual(str(caught.exception),
                     f'--output_dir={out}: cannot write the output (No space '
                     'left on device).')
    self.assertEqual(os.listdir(out), [])

  def test_clip_too_short_for_the_logits_warns(self):
    video = encode(self.path('five.mkv'), [index_frame(i) for i in range(5)],
                   25, codec='ffv1')
    with self.assertLogs(level='WARNING') as logs:
      paths = sample_writer.preprocess_to_files(
          video, self.path('out_short'), streams=('rgb',), gifs=False)
    self.assertEqual(np.load(paths['rgb_npy']).shape[1], 5)
    self.assertRegex('\n'.join(logs.output),
                     r'five.mkv: the clip has 5 frames; I3D\'s logits need '
                     r'at least 9')


  def test_truncated_video_warns(self):
    video = decode_test.truncated_avi(self.tmp)
    with self.assertLogs(level='WARNING') as logs:
      sample_writer.preprocess_to_files(video, self.path('out'),
                                        streams=('rgb',), gifs=False)
    self.assertRegex('\n'.join(logs.output), re.escape(video) + ': decoding '
                     r'ended after \d+ frames .* declares 25 frames')


class PlanetsSampleTest(TempDirTestCase):
  """retroMars2018.avi: planets orbiting the Sun, 1024x768, 10 fps, 25 frames.

  A real file from PyPI (`kinetics_i3d.video.samples`); an animation, not a
  recording of people.
  """

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.video = samples.sample_video_path('retroMars2018.avi')

  def test_rgb(self):
    out = self.path('out')
    sample_writer.preprocess_to_files(self.video, out, name='planets',
                                      streams=('rgb',))
    rgb = np.load(os.path.join(out, 'planets_rgb.npy'))
    # 2.5 s at 25 fps.
    self.assertEqual(rgb.shape, (1, 63, 224, 224, 3))
    self.assertEqual(rgb.dtype, np.float32)
    self.assertBetween(float(rgb.min()), -1.0, -0.5)
    self.assertBetween(float(rgb.max()), 0.5, 1.0)
    with Image.open(os.path.join(out, 'planets_rgb.gif')) as gif:
      self.assertEqual(gif.size, (224, 224))

  def test_both_streams_on_a_clip(self):
    out = self.path('out')
    sample_writer.preprocess_to_files(self.video, out, start_time=1.0,
                                      end_time=1.4, gifs=False, num_workers=1)
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
