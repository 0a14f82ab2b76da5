"""Tests for batch_run.py: resumable runs over many videos (I3D, CVPR 2017).

Features are checked against the model's own end points on fully decoded
videos; records, manifest, failures and resume through `run`.
"""

import json
import os
from unittest import mock

import numpy as np
import tensorflow as tf

from absl.testing import absltest
from kinetics_i3d.features import batch_run
from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import fixtures
from kinetics_i3d.features import inputs
from kinetics_i3d.features import settings
from kinetics_i3d.features import storage
from kinetics_i3d.utils import progress


class RunTest(fixtures.SmallVideosTestCase):

  NUM_VIDEOS = 3

  def _read_manifest(self, output_dir):
    with open(os.path.join(output_dir, storage.MANIFEST_NAME)) as f:
      return {r['key']: r for r in map(json.loads, f)}

  def test_outputs_records_and_resume(self):
    output_dir = fixtures.new_tempdir(self)
    items = inputs.resolve_inputs(self.videos)
    summary = batch_run.run(items, self.config, output_dir, self.extractor,
                            progress=False)
    self.assertEqual((summary.succeeded, summary.failed, summary.skipped),
                     (3, 0, 0))
    manifest = self._read_manifest(output_dir)
    self.assertCountEqual(manifest, ['v0', 'v1', 'v2'])
    record = manifest['v2']  # 40 frames: windows at 0, 16 and the tail 24.
    self.assertEqual(record['status'], 'ok')
    self.assertEqual(record['video'], self.videos[2])
    self.assertEqual(record['endpoint'], 'Mixed_5c')
    self.assertAlmostEqual(record['duration_s'], 40 / 25)
    self.assertEqual(record['streams']['rgb']['shape'], [3, 1024])
    self.assertEqual(record['streams']['rgb']['windows'],
                     [[0.0, 0.64], [0.64, 1.28], [0.96, 1.6]])
    self.assertFalse(record['streams']['rgb']['shorter_than_window'])
    features = np.load(os.path.join(output_dir, 'v2_rgb.npy'))
    self.assertEqual(features.shape, (3, 1024))
    self.assertEqual(features.dtype, np.float32)

    # A second run does nothing and never needs the network.
    summary = batch_run.run(items, self.config, output_dir, extractor=None,
                            progress=False)
    self.assertEqual((summary.succeeded, summary.failed, summary.skipped),
                     (0, 0, 3))
    # A lost output file (not the record) means not done.
    os.remove(os.path.join(output_dir, 'v1_rgb.npy'))
    summary = batch_run.run(items, self.config, output_dir, self.extractor,
                            progress=False)
    self.assertEqual((summary.succeeded, summary.skipped), (1, 2))
    np.testing.assert_array_equal(
        np.load(os.path.join(output_dir, 'v2_rgb.npy')), features)

    # Other settings in the same folder are refused.
    other = settings.ExtractionConfig(**{**fixtures.SMALL, 'pooling': 'time'})
    with self.assertRaisesRegex(ValueError, r'pooling.*--overwrite'):
      batch_run.run(items, other, output_dir, self.extractor, progress=False)

  def test_resume_after_interrupted_overwrite_redoes_old_settings(self):
    output_dir = fixtures.new_tempdir(self)
    items = inputs.resolve_inputs(self.videos)
    batch_run.run(items, self.config, output_dir, self.extractor,
                  progress=False)
    other = settings.ExtractionConfig(**{**fixtures.SMALL, 'stride': 8})
    extractor = extractor_lib.FeatureExtractor(
        other, {'rgb': fixtures.random_model('Mixed_5c')})
    # An --overwrite run with other settings, stopped after the first video.
    summary = batch_run.run(items[:1], other, output_dir, extractor,
                            overwrite=True, progress=False)
    self.assertEqual(summary.succeeded, 1)
    # Resuming must redo the videos that still hold the old settings' outputs
    # (they used to be skipped as done).
    summary = batch_run.run(items, other, output_dir, extractor, progress=False)
    self.assertEqual((summary.succeeded, summary.failed, summary.skipped),
                     (2, 0, 1))
    manifest = self._read_manifest(output_dir)
    for key in ('v0', 'v1', 'v2'):
      self.assertEqual(manifest[key]['stride'], 8, key)
      self.assertEqual(manifest[key]['settings'], other.identity(), key)

  def test_corrupt_missing_and_too_short_videos_are_recorded(self):
    folder = fixtures.new_tempdir(self)
    corrupt = fixtures.write_corrupt_video(os.path.join(folder, 'corrupt.mp4'))
    # Shorter than the 9 frames I3D takes (a video shorter than the window
    # but not than that is one window: test_short_video_is_one_window).
    short = fixtures.make_video(os.path.join(folder, 'short.mp4'), 5)
    missing = os.path.join(folder, 'missing.avi')
    output_dir = fixtures.new_tempdir(self)
    items = inputs.resolve_inputs(self.videos + [corrupt, short, missing])
    summary = batch_run.run(items, self.config, output_dir, self.extractor,
                            progress=False)
    self.assertEqual((summary.succeeded, summary.failed, summary.skipped),
                     (3, 3, 0))
    manifest = self._read_manifest(output_dir)
    self.assertLen(manifest, 6)
    self.assertEqual(manifest['corrupt']['status'], 'failed')
    self.assertIn('corrupt.mp4', manifest['corrupt']['error'])
    self.assertRegex(manifest['short']['error'],
                     r'short.mp4 has 5 frames.*needs at least 9 frames.*'
                     r'--window=16')
    self.assertIn('missing.avi', manifest['missing']['error'])
    for key in ('corrupt', 'short', 'missing'):
      self.assertFalse(os.path.exists(os.path.join(output_dir,
                                                   f'{key}_rgb.npy')))
    for key in ('v0', 'v1', 'v2'):
      self.assertEqual(manifest[key]['status'], 'ok')
    # Failed videos are retried, finished ones skipped.
    summary = batch_run.run(items, self.config, output_dir, self.extractor,
                            progress=False)
    self.assertEqual((summary.succeeded, summary.failed, summary.skipped),
                     (0, 3, 3))

  def test_short_video_is_one_window(self):
    # 10 frames, --window=16: one window of the 10 frames (I3D takes >= 9).
    video = fixtures.make_video(
        os.path.join(fixtures.new_tempdir(self), 'short.mp4'), 10, seed=3)
    output_dir = fixtures.new_tempdir(self)
    summary = batch_run.run(inputs.resolve_inputs([video]), self.config,
                            output_dir, self.extractor, progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (1, 0))
    record = self._read_manifest(output_dir)['short']
    stream = record['streams']['rgb']
    self.assertEqual(stream['windows'], [[0.0, 0.4]])
    self.assertTrue(stream['shorter_than_window'])
    self.assertEqual(stream['num_frames'], 10)
    self.assertEqual(record['window'], 16)
    features = np.load(os.path.join(output_dir, 'short_rgb.npy'))
    frames = fixtures.decode_model_inputs(video, ['rgb'], 32, 32)['rgb']
    self.assertLen(frames, 10)
    expected = fixtures.pooled_reference(self.model, frames, 'Mixed_5c', 'clip')
    self.assertAllClose(features, expected[None], rtol=1e-5, atol=1e-5)

  def test_shards_share_one_folder(self):
    output_dir = fixtures.new_tempdir(self)
    items = inputs.resolve_inputs(self.videos)
    done = []
    for index in range(2):
      part = inputs.shard(items, index, 2)
      summary = batch_run.run(part, self.config, output_dir, self.extractor,
                              progress=False)
      self.assertEqual(summary.succeeded, len(part))
      done.extend(item.key for item in part)
    self.assertCountEqual(done, ['v0', 'v1', 'v2'])
    # The last shard's manifest lists every shard's videos.
    self.assertCountEqual(self._read_manifest(output_dir), done)

  def test_unwritable_output_dir(self):
    blocker = os.path.join(fixtures.new_tempdir(self), 'file')
    open(blocker, 'w').close()
    for output_dir in (os.path.join(blocker, 'out'), '/proc/feats'):
      # /proc: permission bits let root write; only a probe tells.
      with self.assertRaisesRegex(ValueError,
                                  r'--output_dir=.*cannot be written'):
        batch_run.run([], self.config, output_dir, self.extractor,
                      progress=False)
    self.assertFalse(os.path.exists('/proc/feats'))

  def test_ctrl_c_keeps_the_finished_videos_in_the_manifest(self):
    output_dir = fixtures.new_tempdir(self)
    items = inputs.resolve_inputs(self.videos)
    extract = self.extractor.extract
    calls = []

    def interrupted_at_the_second_video(item, **kwargs):
      calls.append(item)
      if len(calls) == 2:
        raise KeyboardInterrupt
      return extract(item, **kwargs)

    with mock.patch.object(self.extractor, 'extract',
                           interrupted_at_the_second_video):
      with self.assertRaises(KeyboardInterrupt):
        batch_run.run(items, self.config, output_dir, self.extractor,
                      progress=False)
    self.assertEqual(list(self._read_manifest(output_dir)), ['v0'])


class FailureTest(tf.test.TestCase):

  def test_failure_names_the_file_given(self):
    features = extractor_lib.FeatureExtractor(
        settings.ExtractionConfig(window=0, pooling='clip'),
        {'rgb': fixtures.random_model('Mixed_5c')})
    folder = fixtures.new_tempdir(self)
    path = os.path.join(folder, 'nan_rgb.npy')
    np.save(path, np.full((1, 10, 32, 32, 3), np.nan, np.float32))
    items = inputs.resolve_inputs([path])
    output_dir = os.path.join(folder, 'out')
    with self.assertLogs(level='WARNING') as logs:
      summary = batch_run.run(items, features.config, output_dir, features,
                              progress=False)
    self.assertEqual(summary.failures[0][0], path)  # Not .../nan.
    self.assertIn(f'Failed: {path}: ', '\n'.join(logs.output))
    with open(os.path.join(output_dir, storage.MANIFEST_NAME)) as f:
      self.assertEqual(json.loads(f.readline())['video'], path)



class ProgressLogTest(tf.test.TestCase):

  def test_runs_are_logged_without_a_terminal(self):
    folder = fixtures.new_tempdir(self)
    videos = [fixtures.make_video(os.path.join(folder, f'p{i}.mp4'), 16, seed=i)
              for i in range(2)]
    config = settings.ExtractionConfig(**fixtures.SMALL)
    # A log line for every video, as if each took longer than the interval.
    with mock.patch.object(progress, 'LOG_EVERY_S', 0.0):
      with self.assertLogs(level='INFO') as logs:
        batch_run.run(
            inputs.resolve_inputs(videos), config, fixtures.new_tempdir(self),
            extractor_lib.FeatureExtractor(
                config, {'rgb': fixtures.random_model()}),
            progress=False)
    messages = [r.getMessage() for r in logs.records]
    self.assertTrue(any(m.startswith('Features: 1/2 videos (50%)')
                        for m in messages), messages)
    self.assertTrue(any(m.startswith('Features: done, 2 videos') and
                        '2 succeeded, 0 failed, 0 skipped' in m
                        for m in messages), messages)


if __name__ == '__main__':
  absltest.main()
