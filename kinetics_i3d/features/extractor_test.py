"""Tests for extractor.py: pooled I3D features (Carreira & Zisserman, 2017).

Reference values come from an independent path: the model called directly on
clips sliced out of fully decoded videos, its `end_points` pooled with numpy.
Frames are small (tens of pixels) wherever the full 224x224 clip is not the
point: feature endpoints before the logits accept any frame size.
"""

import json
import os
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.features import batch_run
from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import fixtures
from kinetics_i3d.features import inputs
from kinetics_i3d.features import networks
from kinetics_i3d.features import settings
from kinetics_i3d.features import storage
from kinetics_i3d.video import samples


class FeatureTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = fixtures.random_model('Mixed_5c')
    rng = np.random.default_rng(1)
    # 22 frames, windows of 16 every 6: starts 0 and 6.
    cls.clip = rng.uniform(-1, 1, (22, 40, 48, 3)).astype(np.float32)
    cls.folder = tempfile.mkdtemp()
    np.save(os.path.join(cls.folder, 'clip_rgb.npy'), cls.clip[None])
    (cls.item,) = inputs.resolve_inputs([cls.folder])
    # The model's own end points of the two windows, computed once.
    cls.end_points = [
        cls.model(tf.constant(cls.clip[None, s:s + 16]),
                  is_training=False)[1] for s in (0, 6)
    ]

  def _reference(self, endpoint, pooling):
    """The windows' `endpoint` activations pooled with numpy."""
    axes = (1, 2) if pooling == 'time' else (0, 1, 2)
    return np.stack([
        points[endpoint].numpy()[0].astype(np.float64).mean(axis=axes)
        for points in self.end_points
    ])

  def _extract(self, **kwargs):
    config = settings.ExtractionConfig(**{'window': 16, 'stride': 6,
                                          'batch_size': 2, **kwargs})
    extractor = extractor_lib.FeatureExtractor(config, {'rgb': self.model})
    return extractor.extract(self.item)

  # The first endpoint, a pool and the last: every endpoint is read and
  # pooled by the same code.
  @parameterized.parameters('Conv3d_1a_7x7', 'MaxPool3d_4a_3x3', 'Mixed_5c')
  def test_time_pooled_endpoint(self, endpoint):
    self.assertIn(endpoint, i3d.FEATURE_ENDPOINTS)
    result = self._extract(endpoint=endpoint, pooling='time')
    expected = self._reference(endpoint, 'time')
    t, _, _ = i3d.feature_shape(16, 40, 48, endpoint)
    self.assertEqual(result.features['rgb'].shape, (2, t, expected.shape[-1]))
    # float32 sums over up to 7x7 positions: 1e-5 relative.
    self.assertAllClose(result.features['rgb'], expected, rtol=1e-5,
                        atol=1e-5)
    self.assertAllClose(result.windows['rgb'],
                        [[0., 16 / 25], [6 / 25, 22 / 25]])

  def test_clip_pooled_endpoint(self):
    result = self._extract(endpoint='Mixed_4c', pooling='clip')
    expected = self._reference('Mixed_4c', 'clip')
    self.assertAllClose(result.features['rgb'], expected, rtol=1e-5,
                        atol=1e-5)

  def test_whole_clip_window(self):
    result = self._extract(window=0, stride=0, pooling='clip')
    expected = fixtures.pooled_reference(self.model, self.clip, 'Mixed_5c',
                                         'clip')
    self.assertAllClose(result.features['rgb'], expected[None], rtol=1e-5,
                        atol=1e-5)
    self.assertAllClose(result.windows['rgb'], [[0., 22 / 25]])

  def test_logits(self):
    model = fixtures.random_model('Logits', seed=3)
    clip = np.random.default_rng(2).uniform(
        -1, 1, (12, streams_lib.CROP, streams_lib.CROP, 3)).astype(np.float32)
    folder = fixtures.new_tempdir(self)
    np.save(os.path.join(folder, 'big_rgb.npy'), clip)
    (item,) = inputs.resolve_inputs([folder])
    config = settings.ExtractionConfig(endpoint='Logits', pooling='logits',
                                       window=10, stride=2, batch_size=2)
    result = extractor_lib.FeatureExtractor(config,
                                            {'rgb': model}).extract(item)
    expected = np.stack([
        fixtures.pooled_reference(model, clip[s:s + 10], 'Logits', 'logits')
        for s in (0, 2)
    ])
    self.assertEqual(result.features['rgb'].shape,
                     (2, i3d.KINETICS_400_CLASSES))
    self.assertAllClose(result.features['rgb'], expected, rtol=1e-4,
                        atol=1e-4)

  def test_network_too_short_for_endpoint(self):
    short = fixtures.random_model('Mixed_3c')
    with self.assertRaisesRegex(ValueError, "stops at 'Mixed_3c'"):
      extractor_lib.FeatureExtractor(settings.ExtractionConfig(),
                                     {'rgb': short})


class VideoFeatureTest(tf.test.TestCase, parameterized.TestCase):
  """Features of real (synthetic) video files, streamed through windows."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.rgb_model = fixtures.random_model('Mixed_5c', channels=3, seed=0)
    cls.flow_model = fixtures.random_model('Mixed_5c', channels=2, seed=1)
    cls.folder = tempfile.mkdtemp()
    # 2.8 s at 25 fps: a "long" video next to the 16-frame windows, with a
    # tail window.
    cls.long_video = fixtures.make_video(
        os.path.join(cls.folder, 'long.mp4'), 70, seed=4)

  def test_windowed_long_video_equals_per_window_passes(self):
    config = settings.ExtractionConfig(window=16, stride=12, batch_size=3,
                                       resize=40, crop=32, pooling='time')
    extractor = extractor_lib.FeatureExtractor(config, {'rgb': self.rgb_model})
    (item,) = inputs.resolve_inputs([self.long_video])
    result = extractor.extract(item)
    frames = fixtures.decode_model_inputs(self.long_video, ['rgb'], 40,
                                          32)['rgb']
    self.assertLen(frames, 70)
    starts = fixtures.window_starts(70, 16, 12)
    self.assertEqual(starts[-2:], [48, 54])  # 54: the tail window.
    expected = np.stack([
        fixtures.pooled_reference(self.rgb_model, frames[s:s + 16],
                                  'Mixed_5c', 'time')
        for s in starts
    ])
    self.assertAllClose(result.features['rgb'], expected, rtol=1e-5,
                        atol=1e-5)
    self.assertAllClose(result.windows['rgb'],
                        [[s / 25, (s + 16) / 25] for s in starts])
    self.assertEqual(result.num_frames['rgb'], 70)
    self.assertAlmostEqual(result.duration_s, 2.8, places=2)
    self.assertAlmostEqual(result.source_fps, 25.0, places=2)

  def test_both_streams(self):
    video = fixtures.make_video(os.path.join(fixtures.new_tempdir(self),
                                             'short.mp4'), 20, 36, 44, seed=5)
    config = settings.ExtractionConfig(streams=('rgb', 'flow'), window=8,
                                       stride=8, resize=36, crop=32,
                                       pooling='clip')
    extractor = extractor_lib.FeatureExtractor(
        config, {'rgb': self.rgb_model, 'flow': self.flow_model})
    (item,) = inputs.resolve_inputs([video])
    result = extractor.extract(item)
    reference = fixtures.decode_model_inputs(video, ['rgb', 'flow'], 36, 32)
    for stream, model in (('rgb', self.rgb_model), ('flow', self.flow_model)):
      frames = reference[stream]
      self.assertLen(frames, 19)  # 20 frames, 19 flow fields.
      starts = fixtures.window_starts(len(frames), 8, 8)
      self.assertEqual(result.num_frames[stream], len(frames))
      expected = np.stack([
          fixtures.pooled_reference(model, frames[s:s + 8], 'Mixed_5c', 'clip')
          for s in starts
      ])
      self.assertAllClose(result.features[stream], expected, rtol=1e-5,
                          atol=1e-5, msg=stream)


class RealVideoTest(tf.test.TestCase):
  """The public rgb_scratch weights on real sample videos (ASSETS.md)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # One model for both tests (fetched into the project's data/checkpoints
    # on first use).
    cls.model = networks.load_stream_model(
        settings.ExtractionConfig(endpoint='Logits', pooling='logits'), 'rgb')
    with open(paths.LABEL_MAPS[i3d.KINETICS_400_CLASSES]) as f:
      cls.labels = f.read().splitlines()

  def _top1(self, logits: np.ndarray):
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    return self.labels[int(probabilities.argmax())], probabilities.max()

  def test_planets_clip_logits(self):
    # retroMars2018.avi is an animation of planets orbiting the Sun, not a
    # person; I3D nevertheless calls it 'juggling balls'.
    video = samples.sample_video_path('retroMars2018.avi')
    output_dir = fixtures.new_tempdir(self)
    config = settings.ExtractionConfig(endpoint='Logits', pooling='logits',
                                       window=0)
    summary = batch_run.run(inputs.resolve_inputs([video]), config, output_dir,
                            extractor_lib.FeatureExtractor(
                                config, {'rgb': self.model}),
                            progress=False)
    self.assertEqual(summary.succeeded, 1)
    logits = np.load(os.path.join(output_dir, 'retroMars2018_rgb.npy'))
    self.assertEqual(logits.shape, (1, i3d.KINETICS_400_CLASSES))
    label, probability = self._top1(logits[0])
    # ASSETS.md: 63 frames at 25 fps, top-1 'juggling balls', p about 0.96.
    self.assertEqual(label, 'juggling balls')
    self.assertGreater(probability, 0.9)
    with open(os.path.join(output_dir, storage.MANIFEST_NAME)) as f:
      record = json.loads(f.readline())
    self.assertEqual(record['streams']['rgb']['num_frames'], 63)
    self.assertAlmostEqual(record['source_fps'], 10.)

  def test_default_window_on_the_16_frame_sample(self):
    # g1.avi: a cyclist catching and throwing a ball, 16 frames at 25 fps,
    # shorter than the default --window=64: one window of all 16 frames.
    video = samples.sample_video_path('g1.avi')
    output_dir = fixtures.new_tempdir(self)
    config = settings.ExtractionConfig(endpoint='Logits', pooling='logits')
    self.assertEqual(config.window, 64)
    summary = batch_run.run(inputs.resolve_inputs([video]), config, output_dir,
                            extractor_lib.FeatureExtractor(
                                config, {'rgb': self.model}),
                            progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (1, 0))
    logits = np.load(os.path.join(output_dir, 'g1_rgb.npy'))
    self.assertEqual(logits.shape, (1, i3d.KINETICS_400_CLASSES))
    label, probability = self._top1(logits[0])
    # ASSETS.md: top-1 'catching or throwing baseball', p about 0.90.
    self.assertEqual(label, 'catching or throwing baseball')
    self.assertGreater(probability, 0.8)
    with open(os.path.join(output_dir, storage.MANIFEST_NAME)) as f:
      record = json.loads(f.readline())
    stream = record['streams']['rgb']
    self.assertEqual(stream['num_frames'], 16)
    self.assertEqual(stream['windows'], [[0.0, 0.64]])
    self.assertTrue(stream['shorter_than_window'])
    self.assertEqual(record['window'], 64)


if __name__ == '__main__':
  absltest.main()
