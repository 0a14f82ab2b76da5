"""Tests for extract_features.py (I3D features; Carreira & Zisserman, 2017).

Reference values come from an independent path: the model called directly on
clips sliced out of fully decoded videos, its `end_points` pooled with numpy.
Frames are small (tens of pixels) wherever the full 224x224 clip is not the
point: feature endpoints before the logits accept any frame size.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from absl.testing import absltest
from absl.testing import parameterized
import av
import numpy as np
import tensorflow as tf

import extract_features as ef
import i3d

_HERE = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------------------
# Test fixtures, shared with beam_pipeline_test.py.
# ----------------------------------------------------------------------------


def make_video(path: str, num_frames: int, height: int = 64, width: int = 80,
               fps: int = 25, seed: int = 0) -> str:
  """Writes a small MPEG-4 video of moving coloured blobs with PyAV."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:height, 0:width]
  centres = rng.uniform(0, 1, (3, 2)) * [height, width]
  speeds = rng.uniform(-2, 2, (3, 2))
  colours = rng.uniform(40, 255, (3, 3))
  with av.open(path, 'w') as container:
    stream = container.add_stream('mpeg4', rate=fps)
    stream.width, stream.height = width, height
    stream.pix_fmt = 'yuv420p'
    stream.options = {'qscale': '2'}
    for t in range(num_frames):
      frame = np.full((height, width, 3), 30., np.float32)
      for centre, speed, colour in zip(centres, speeds, colours):
        cy, cx = centre + speed * t
        blob = np.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * 8.**2))
        frame += blob[..., None] * colour
      image = av.VideoFrame.from_ndarray(
          np.clip(frame, 0, 255).astype(np.uint8), format='rgb24')
      for packet in stream.encode(image):
        container.mux(packet)
    for packet in stream.encode():
      container.mux(packet)
  return path


def write_corrupt_video(path: str) -> str:
  with open(path, 'wb') as f:
    f.write(b'\x00\x00\x00\x18ftypmp42' + os.urandom(2000))
  return path


def new_tempdir(test: absltest.TestCase) -> str:
  """A temporary folder removed after the test (works under pytest too)."""
  folder = tempfile.mkdtemp(prefix='extract_features_test_')
  test.addCleanup(shutil.rmtree, folder, ignore_errors=True)
  return folder


_CHECKPOINTS = {}


def make_test_checkpoint(layout: str = 'rgb_scratch', seed: int = 0) -> str:
  """A TF1 checkpoint in a released layout with random weights (cached)."""
  import assets  # pylint: disable=g-import-not-at-top
  import reference_forward  # pylint: disable=g-import-not-at-top
  key = (layout, seed)
  if key not in _CHECKPOINTS:
    folder = tempfile.mkdtemp(prefix=f'i3d_{layout}_')
    prefix = os.path.join(folder, 'model.ckpt')
    assets.write_tf1_checkpoint(
        reference_forward.random_original_tensors(layout, seed), prefix)
    _CHECKPOINTS[key] = prefix
  return _CHECKPOINTS[key]


def random_model(final_endpoint: str = 'Mixed_5c',
                 channels: int = 3, seed: int = 0) -> i3d.InceptionI3d:
  """A randomly initialised model with its variables built."""
  tf.random.set_seed(seed)
  model = i3d.InceptionI3d(final_endpoint=final_endpoint)
  size = 224 if final_endpoint in ('Logits', 'Predictions') else 16
  model(tf.zeros([1, 9, size, size, channels]), is_training=False)
  return model


def decode_model_inputs(path: str, streams, resize: int,
                        crop: int) -> dict:
  """Whole-video model inputs {stream: [T, H, W, C]} through preprocess.py.

  The reference path: the whole video decoded at once (no windows, no
  streaming through `extract_features`).
  """
  import preprocess  # pylint: disable=g-import-not-at-top
  inputs = preprocess.video_to_model_inputs(
      path, streams=tuple(streams), resize=resize, crop_size=crop,
      num_workers=1)
  return {s: np.asarray(inputs[s], np.float32)[0] for s in streams}


def pooled_reference(model, clip: np.ndarray, endpoint: str,
                     pooling: str) -> np.ndarray:
  """Pools the model's own end_points for one clip [T, H, W, C] with numpy."""
  output, end_points = model(tf.constant(clip[None]), is_training=False)
  if pooling == 'logits':
    return output.numpy()[0]
  net = end_points[endpoint].numpy()[0].astype(np.float64)
  if pooling == 'time':
    return net.mean(axis=(1, 2))
  return net.mean(axis=(0, 1, 2))


# ----------------------------------------------------------------------------
# Windows.
# ----------------------------------------------------------------------------


class WindowTest(parameterized.TestCase):

  @parameterized.parameters(
      # (frames, window, stride, cover_tail, expected starts)
      (10, 4, 3, True, [0, 3, 6]),
      (11, 4, 3, True, [0, 3, 6, 7]),
      (11, 4, 3, False, [0, 3, 6]),
      (4, 4, 2, True, [0]),
      (20, 4, 8, True, [0, 8, 16]),
      (21, 4, 8, True, [0, 8, 16, 17]),
      (21, 4, 8, False, [0, 8, 16]),
      (3, 4, 1, True, []),
  )
  def test_window_starts(self, num_frames, window, stride, cover_tail,
                         expected):
    self.assertEqual(
        ef.window_starts(num_frames, window, stride, cover_tail), expected)

  @parameterized.product(num_frames=[5, 9, 13, 30], window=[1, 4, 5],
                         stride=[1, 3, 4, 7], cover_tail=[True, False])
  def test_streamed_windows_are_the_slices(self, num_frames, window, stride,
                                           cover_tail):
    frames = np.arange(num_frames, dtype=np.float32).reshape(-1, 1, 1, 1)
    got = list(ef.iter_windows(iter(frames), window, stride, cover_tail))
    expected = ef.window_starts(num_frames, window, stride, cover_tail)
    self.assertEqual([start for start, _ in got], expected)
    for start, clip in got:
      np.testing.assert_array_equal(clip, frames[start:start + window])

  def test_buffer_stays_one_window(self):
    windower = ef.Windower(window=8, stride=3)
    most = 0
    for t in range(1000):
      windower.push(np.full((2, 2, 1), t, np.float32))
      most = max(most, windower.buffered)
    self.assertLessEqual(most, 9)
    self.assertLen(windower.finish(), 1)  # 1000 - 8 is not a multiple of 3.

  def test_whole_video_window(self):
    frames = np.arange(7, dtype=np.float32).reshape(-1, 1, 1, 1)
    ((start, clip),) = list(ef.iter_windows(iter(frames), 0, 0))
    self.assertEqual(start, 0)
    np.testing.assert_array_equal(clip, frames)

  def test_too_short_names_the_flag(self):
    frames = np.zeros((5, 1, 1, 1), np.float32)
    with self.assertRaisesRegex(ef.ExtractionError,
                                r'5 frames.*--window=8.*smaller --window'):
      list(ef.iter_windows(iter(frames), 8, 8))
    with self.assertRaisesRegex(ef.ExtractionError, 'no frames'):
      list(ef.iter_windows(iter([]), 8, 8))


# ----------------------------------------------------------------------------
# Settings and inputs.
# ----------------------------------------------------------------------------


class ConfigTest(parameterized.TestCase):

  @parameterized.parameters(
      (dict(endpoint='Mixed_9z'), r'endpoint.*Mixed_9z.*Mixed_5c'),
      (dict(pooling='max'), r'pooling.*max'),
      (dict(pooling='logits'), r'logits'),
      (dict(endpoint='Logits'), r'logits'),
      (dict(streams=('rgb', 'depth')), r'streams'),
      (dict(window=-1), r'window'),
      (dict(window=0, stride=4), r'stride.*whole video'),
      (dict(endpoint='Logits', pooling='logits', window=8), r'at least 9'),
      (dict(endpoint='Logits', pooling='logits', crop=112), r'224'),
      (dict(crop=300), r'crop'),
      (dict(batch_size=0), r'batch_size'),
      (dict(output_format='h5'), r'output_format'),
  )
  def test_bad_settings(self, kwargs, regex):
    with self.assertRaisesRegex(ValueError, regex):
      ef.ExtractionConfig(**kwargs)

  def test_defaults(self):
    config = ef.ExtractionConfig()
    self.assertEqual(config.endpoint, 'Mixed_5c')
    self.assertEqual(config.effective_stride, config.window)
    self.assertEqual(ef.ExtractionConfig(streams=('flow', 'rgb')).streams,
                     ('rgb', 'flow'))


class ResolveInputsTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.root = new_tempdir(self)
    os.makedirs(os.path.join(self.root, 'a', 'deep'))
    os.makedirs(os.path.join(self.root, 'b'))
    self.files = [
        os.path.join(self.root, 'a', 'x.mp4'),
        os.path.join(self.root, 'a', 'deep', 'y.avi'),
        os.path.join(self.root, 'b', 'x.mp4'),  # Same stem as a/x.mp4.
        os.path.join(self.root, 'b', 'clip_rgb.npy'),
        os.path.join(self.root, 'b', 'clip_flow.npy'),
    ]
    for path in self.files:
      open(path, 'wb').close()
    open(os.path.join(self.root, 'a', 'notes.md'), 'w').close()

  def test_folder_glob_list_and_premade(self):
    by_folder = ef.resolve_inputs([self.root])
    self.assertLen(by_folder, 4)
    premade = [i for i in by_folder if i.is_premade]
    self.assertLen(premade, 1)
    self.assertEqual(premade[0].key, 'clip')
    self.assertEqual(dict(premade[0].premade), {
        'rgb': self.files[3], 'flow': self.files[4]})
    keys = [i.key for i in by_folder]
    self.assertLen(set(keys), 4)
    self.assertLen([k for k in keys if k.startswith('x-')], 2)

    by_glob = ef.resolve_inputs([os.path.join(self.root, '**', '*.mp4')])
    self.assertEqual(sorted(i.path for i in by_glob),
                     sorted([self.files[0], self.files[2]]))

    listing = os.path.join(self.root, 'list.txt')
    with open(listing, 'w') as f:
      f.write('# videos\na/x.mp4\n\na/deep/y.avi\nmissing.mp4\n')
    by_list = ef.resolve_inputs([listing, self.files[0]])
    # Sorted by path, the duplicate dropped, the missing file kept (it fails
    # when processed, like an unreadable one).
    self.assertEqual([os.path.relpath(i.path, self.root) for i in by_list],
                     ['a/deep/y.avi', 'a/x.mp4', 'missing.mp4'])

  def test_bad_specs(self):
    empty = new_tempdir(self)
    with self.assertRaisesRegex(ValueError, 'holds no videos'):
      ef.resolve_inputs([empty])
    with self.assertRaisesRegex(ValueError, 'matches no files'):
      ef.resolve_inputs([os.path.join(empty, '*.mp4')])
    with self.assertRaisesRegex(ValueError, 'list file.*does not exist'):
      ef.resolve_inputs([os.path.join(empty, 'list.txt')])
    stray = os.path.join(empty, 'features.npy')
    open(stray, 'wb').close()
    with self.assertRaisesRegex(ValueError, '_rgb.npy'):
      ef.resolve_inputs([stray])
    with self.assertRaisesRegex(ValueError, 'no inputs'):
      ef.resolve_inputs([])

  def test_sharding_covers_every_video_once(self):
    items = ef.items_from_paths([f'/v/{i:03d}.mp4' for i in range(23)])
    for num_shards in (1, 2, 3, 5, 23, 30):
      shards = [ef.shard(items, i, num_shards) for i in range(num_shards)]
      flat = [item for part in shards for item in part]
      self.assertCountEqual(flat, items)  # Each exactly once.
      sizes = [len(part) for part in shards]
      self.assertLessEqual(max(sizes) - min(sizes), 1)
    with self.assertRaisesRegex(ValueError, 'shard_index'):
      ef.shard(items, 3, 3)
    with self.assertRaisesRegex(ValueError, 'num_shards'):
      ef.shard(items, 0, 0)


# ----------------------------------------------------------------------------
# Features against the model's own end points.
# ----------------------------------------------------------------------------


class FeatureTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = random_model('Mixed_5c')
    rng = np.random.default_rng(1)
    # 22 frames, windows of 16 every 6: starts 0 and 6.
    cls.clip = rng.uniform(-1, 1, (22, 40, 48, 3)).astype(np.float32)
    cls.folder = tempfile.mkdtemp()
    np.save(os.path.join(cls.folder, 'clip_rgb.npy'), cls.clip[None])
    (cls.item,) = ef.resolve_inputs([cls.folder])

  def _extract(self, **kwargs):
    config = ef.ExtractionConfig(**{'window': 16, 'stride': 6,
                                    'batch_size': 2, **kwargs})
    extractor = ef.FeatureExtractor(config, {'rgb': self.model})
    return extractor.extract(self.item)

  @parameterized.parameters(*ef.FEATURE_ENDPOINTS)
  def test_time_pooled_endpoint(self, endpoint):
    result = self._extract(endpoint=endpoint, pooling='time')
    expected = np.stack([
        pooled_reference(self.model, self.clip[s:s + 16], endpoint, 'time')
        for s in (0, 6)
    ])
    t, _, _ = i3d.feature_shape(16, 40, 48, endpoint)
    self.assertEqual(result.features['rgb'].shape, (2, t, expected.shape[-1]))
    # float32 sums over up to 7x7 positions: 1e-5 relative.
    self.assertAllClose(result.features['rgb'], expected, rtol=1e-5,
                        atol=1e-5)
    self.assertAllClose(result.windows['rgb'],
                        [[0., 16 / 25], [6 / 25, 22 / 25]])

  @parameterized.parameters('Conv3d_1a_7x7', 'Mixed_4c', 'Mixed_5c')
  def test_clip_pooled_endpoint(self, endpoint):
    result = self._extract(endpoint=endpoint, pooling='clip')
    expected = np.stack([
        pooled_reference(self.model, self.clip[s:s + 16], endpoint, 'clip')
        for s in (0, 6)
    ])
    self.assertAllClose(result.features['rgb'], expected, rtol=1e-5,
                        atol=1e-5)

  def test_whole_clip_window(self):
    result = self._extract(window=0, stride=0, pooling='clip')
    expected = pooled_reference(self.model, self.clip, 'Mixed_5c', 'clip')
    self.assertAllClose(result.features['rgb'], expected[None], rtol=1e-5,
                        atol=1e-5)
    self.assertAllClose(result.windows['rgb'], [[0., 22 / 25]])

  def test_logits(self):
    model = random_model('Logits', seed=3)
    clip = np.random.default_rng(2).uniform(
        -1, 1, (12, 224, 224, 3)).astype(np.float32)
    folder = new_tempdir(self)
    np.save(os.path.join(folder, 'big_rgb.npy'), clip)
    (item,) = ef.resolve_inputs([folder])
    config = ef.ExtractionConfig(endpoint='Logits', pooling='logits',
                                 window=10, stride=2, batch_size=2)
    result = ef.FeatureExtractor(config, {'rgb': model}).extract(item)
    expected = np.stack([
        pooled_reference(model, clip[s:s + 10], 'Logits', 'logits')
        for s in (0, 2)
    ])
    self.assertEqual(result.features['rgb'].shape, (2, 400))
    self.assertAllClose(result.features['rgb'], expected, rtol=1e-4,
                        atol=1e-4)

  def test_network_too_short_for_endpoint(self):
    short = random_model('Mixed_3c')
    with self.assertRaisesRegex(ValueError, "stops at 'Mixed_3c'"):
      ef.FeatureExtractor(ef.ExtractionConfig(), {'rgb': short})


class VideoFeatureTest(tf.test.TestCase, parameterized.TestCase):
  """Features of real (synthetic) video files, streamed through windows."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.rgb_model = random_model('Mixed_5c', channels=3, seed=0)
    cls.flow_model = random_model('Mixed_5c', channels=2, seed=1)
    cls.folder = tempfile.mkdtemp()
    # 6 s at 25 fps: a "long" video next to the 16-frame windows.
    cls.long_video = make_video(
        os.path.join(cls.folder, 'long.mp4'), 150, seed=4)

  def test_windowed_long_video_equals_per_window_passes(self):
    config = ef.ExtractionConfig(window=16, stride=12, batch_size=3,
                                 resize=40, crop=32, pooling='time')
    extractor = ef.FeatureExtractor(config, {'rgb': self.rgb_model})
    (item,) = ef.resolve_inputs([self.long_video])
    result = extractor.extract(item)
    frames = decode_model_inputs(self.long_video, ['rgb'], 40, 32)['rgb']
    self.assertLen(frames, 150)
    starts = ef.window_starts(150, 16, 12)
    self.assertEqual(starts[-1], 134)  # The tail window.
    expected = np.stack([
        pooled_reference(self.rgb_model, frames[s:s + 16], 'Mixed_5c', 'time')
        for s in starts
    ])
    self.assertAllClose(result.features['rgb'], expected, rtol=1e-5,
                        atol=1e-5)
    self.assertAllClose(result.windows['rgb'],
                        [[s / 25, (s + 16) / 25] for s in starts])
    self.assertEqual(result.num_frames['rgb'], 150)
    self.assertAlmostEqual(result.duration_s, 6.0, places=2)
    self.assertAlmostEqual(result.source_fps, 25.0, places=2)

  def test_both_streams(self):
    video = make_video(os.path.join(new_tempdir(self),
                                    'short.mp4'), 20, 36, 44, seed=5)
    config = ef.ExtractionConfig(streams=('rgb', 'flow'), window=8, stride=8,
                                 resize=36, crop=32, pooling='clip')
    extractor = ef.FeatureExtractor(config, {'rgb': self.rgb_model,
                                             'flow': self.flow_model})
    (item,) = ef.resolve_inputs([video])
    result = extractor.extract(item)
    reference = decode_model_inputs(video, ['rgb', 'flow'], 36, 32)
    for stream, model in (('rgb', self.rgb_model), ('flow', self.flow_model)):
      inputs = reference[stream]
      self.assertLen(inputs, 19)  # 20 frames, 19 flow fields.
      starts = ef.window_starts(len(inputs), 8, 8)
      self.assertEqual(result.num_frames[stream], len(inputs))
      expected = np.stack([
          pooled_reference(model, inputs[s:s + 8], 'Mixed_5c', 'clip')
          for s in starts
      ])
      self.assertAllClose(result.features[stream], expected, rtol=1e-5,
                          atol=1e-5, msg=stream)


class RealVideoTest(tf.test.TestCase):
  """The public rgb_scratch weights on the juggling sample (ASSETS.md)."""

  def test_juggling_logits(self):
    import assets  # pylint: disable=g-import-not-at-top
    video = assets.sample_video_path('retroMars2018.avi')
    output_dir = new_tempdir(self)
    config = ef.ExtractionConfig(endpoint='Logits', pooling='logits',
                                 window=0)
    summary = ef.run(ef.resolve_inputs([video]), config, output_dir,
                     progress=False)
    self.assertEqual(summary.succeeded, 1)
    logits = np.load(os.path.join(output_dir, 'retroMars2018_rgb.npy'))
    self.assertEqual(logits.shape, (1, 400))
    with open(os.path.join(_HERE, 'data', 'label_map.txt')) as f:
      labels = f.read().splitlines()
    probabilities = np.exp(logits[0] - logits[0].max())
    probabilities /= probabilities.sum()
    # ASSETS.md: 63 frames at 25 fps, top-1 'juggling balls', p about 0.96.
    self.assertEqual(labels[int(probabilities.argmax())], 'juggling balls')
    self.assertGreater(probabilities.max(), 0.9)
    with open(os.path.join(output_dir, ef.MANIFEST_NAME)) as f:
      record = json.loads(f.readline())
    self.assertEqual(record['streams']['rgb']['num_frames'], 63)
    self.assertAlmostEqual(record['source_fps'], 10.)


# ----------------------------------------------------------------------------
# Batch runs: outputs, failures, resume.
# ----------------------------------------------------------------------------

_SMALL = dict(window=16, stride=16, batch_size=2, resize=32, crop=32,
              pooling='clip')


class RunTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp()
    cls.videos = [
        make_video(os.path.join(cls.folder, f'v{i}.mp4'), 20 + 10 * i,
                   seed=10 + i) for i in range(3)
    ]
    cls.config = ef.ExtractionConfig(**_SMALL)
    cls.extractor = ef.FeatureExtractor(cls.config,
                                        {'rgb': random_model('Mixed_5c')})

  def _read_manifest(self, output_dir):
    with open(os.path.join(output_dir, ef.MANIFEST_NAME)) as f:
      return {r['key']: r for r in map(json.loads, f)}

  def test_outputs_records_and_resume(self):
    output_dir = new_tempdir(self)
    items = ef.resolve_inputs(self.videos)
    summary = ef.run(items, self.config, output_dir, self.extractor,
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
    features = np.load(os.path.join(output_dir, 'v2_rgb.npy'))
    self.assertEqual(features.shape, (3, 1024))
    self.assertEqual(features.dtype, np.float32)

    # A second run does nothing and never needs the network.
    summary = ef.run(items, self.config, output_dir, extractor=None,
                     progress=False)
    self.assertEqual((summary.succeeded, summary.failed, summary.skipped),
                     (0, 0, 3))
    # A lost output file (not the record) means not done.
    os.remove(os.path.join(output_dir, 'v1_rgb.npy'))
    summary = ef.run(items, self.config, output_dir, self.extractor,
                     progress=False)
    self.assertEqual((summary.succeeded, summary.skipped), (1, 2))
    np.testing.assert_array_equal(
        np.load(os.path.join(output_dir, 'v2_rgb.npy')), features)

    # Other settings in the same folder are refused.
    other = ef.ExtractionConfig(**{**_SMALL, 'pooling': 'time'})
    with self.assertRaisesRegex(ValueError, r'pooling.*--overwrite'):
      ef.run(items, other, output_dir, self.extractor, progress=False)

  def test_resume_after_interrupted_overwrite_redoes_old_settings(self):
    output_dir = new_tempdir(self)
    items = ef.resolve_inputs(self.videos)
    ef.run(items, self.config, output_dir, self.extractor, progress=False)
    other = ef.ExtractionConfig(**{**_SMALL, 'stride': 8})
    extractor = ef.FeatureExtractor(other, {'rgb': random_model('Mixed_5c')})
    # An --overwrite run with other settings, stopped after the first video.
    summary = ef.run(items[:1], other, output_dir, extractor, overwrite=True,
                     progress=False)
    self.assertEqual(summary.succeeded, 1)
    # Resuming must redo the videos that still hold the old settings' outputs
    # (they used to be skipped as done).
    summary = ef.run(items, other, output_dir, extractor, progress=False)
    self.assertEqual((summary.succeeded, summary.failed, summary.skipped),
                     (2, 0, 1))
    manifest = self._read_manifest(output_dir)
    for key in ('v0', 'v1', 'v2'):
      self.assertEqual(manifest[key]['stride'], 8, key)
      self.assertEqual(manifest[key]['settings'], other.identity(), key)

  def test_corrupt_missing_and_short_videos_are_recorded(self):
    folder = new_tempdir(self)
    corrupt = write_corrupt_video(os.path.join(folder, 'corrupt.mp4'))
    short = make_video(os.path.join(folder, 'short.mp4'), 10)  # < 16 frames.
    missing = os.path.join(folder, 'missing.avi')
    output_dir = new_tempdir(self)
    items = ef.resolve_inputs(self.videos + [corrupt, short, missing])
    summary = ef.run(items, self.config, output_dir, self.extractor,
                     progress=False)
    self.assertEqual((summary.succeeded, summary.failed, summary.skipped),
                     (3, 3, 0))
    manifest = self._read_manifest(output_dir)
    self.assertLen(manifest, 6)
    self.assertEqual(manifest['corrupt']['status'], 'failed')
    self.assertIn('corrupt.mp4', manifest['corrupt']['error'])
    self.assertRegex(manifest['short']['error'],
                     r'10 frames.*--window=16')
    self.assertIn('missing.avi', manifest['missing']['error'])
    for key in ('corrupt', 'short', 'missing'):
      self.assertFalse(os.path.exists(os.path.join(output_dir,
                                                   f'{key}_rgb.npy')))
    for key in ('v0', 'v1', 'v2'):
      self.assertEqual(manifest[key]['status'], 'ok')
    # Failed videos are retried, finished ones skipped.
    summary = ef.run(items, self.config, output_dir, self.extractor,
                     progress=False)
    self.assertEqual((summary.succeeded, summary.failed, summary.skipped),
                     (0, 3, 3))

  def test_shards_share_one_folder(self):
    output_dir = new_tempdir(self)
    items = ef.resolve_inputs(self.videos)
    done = []
    for index in range(2):
      part = ef.shard(items, index, 2)
      summary = ef.run(part, self.config, output_dir, self.extractor,
                       progress=False)
      self.assertEqual(summary.succeeded, len(part))
      done.extend(item.key for item in part)
    self.assertCountEqual(done, ['v0', 'v1', 'v2'])
    # The last shard's manifest lists every shard's videos.
    self.assertCountEqual(self._read_manifest(output_dir), done)

  def test_npz_output(self):
    output_dir = new_tempdir(self)
    config = ef.ExtractionConfig(**{**_SMALL, 'output_format': 'npz'})
    extractor = ef.FeatureExtractor(config, {'rgb': random_model()})
    items = ef.resolve_inputs(self.videos[:1])
    ef.run(items, config, output_dir, extractor, progress=False)
    with np.load(os.path.join(output_dir, 'v0.npz')) as data:
      self.assertCountEqual(data.files, ['rgb', 'rgb_windows'])
      self.assertEqual(data['rgb'].shape, (2, 1024))
      self.assertAllClose(data['rgb_windows'], [[0., .64], [.16, .8]])

  def test_unwritable_output_dir(self):
    blocker = os.path.join(new_tempdir(self), 'file')
    open(blocker, 'w').close()
    with self.assertRaisesRegex(ValueError,
                                r'--output_dir=.*cannot be written'):
      ef.run([], self.config, os.path.join(blocker, 'out'), self.extractor,
             progress=False)


class CheckpointTest(tf.test.TestCase):

  def test_wrong_stream_named_checkpoint(self):
    import checkpoints  # pylint: disable=g-import-not-at-top
    config = ef.ExtractionConfig(rgb_checkpoint='flow_imagenet')
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'--rgb_checkpoint=flow_imagenet is a flow'):
      ef.build_network(config, 'rgb')

  def test_wrong_stream_checkpoint_file(self):
    import checkpoints  # pylint: disable=g-import-not-at-top
    flow_file = make_test_checkpoint('flow_imagenet')
    config = ef.ExtractionConfig(rgb_checkpoint=flow_file)
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'wrong stream'):
      ef.build_network(config, 'rgb')

  def test_missing_checkpoint(self):
    import checkpoints  # pylint: disable=g-import-not-at-top
    config = ef.ExtractionConfig(flow_checkpoint='/nowhere/model.ckpt',
                                 streams=('flow',))
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                'neither a released checkpoint'):
      ef.build_network(config, 'flow')

  def test_fast_inference_matches(self):
    prefix = make_test_checkpoint('rgb_scratch')
    clip = np.random.default_rng(4).uniform(
        -1, 1, (2, 8, 32, 32, 3)).astype(np.float32)
    features = {}
    for fast in (False, True):
      config = ef.ExtractionConfig(rgb_checkpoint=prefix, window=8,
                                   pooling='time', fast=fast)
      features[fast] = ef.FeatureExtractor(config).features('rgb', clip)
    # Folding BatchNorm reorders float32 arithmetic only.
    self.assertAllClose(features[True], features[False], rtol=1e-4,
                        atol=1e-4)

  def test_checkpoint_file_features(self):
    import reference_forward  # pylint: disable=g-import-not-at-top
    prefix = make_test_checkpoint('rgb_scratch')
    config = ef.ExtractionConfig(rgb_checkpoint=prefix, endpoint='Mixed_4f',
                                 window=9, stride=9, pooling='time')
    extractor = ef.FeatureExtractor(config)
    # The reference computes the logits too: it needs 224x224 frames.
    clip = np.random.default_rng(3).uniform(
        -1, 1, (9, 224, 224, 3)).astype(np.float32)
    got = extractor.features('rgb', clip[None])
    tensors = reference_forward.random_original_tensors('rgb_scratch', 0)
    expected = reference_forward.reference_endpoints(
        tensors, clip[None], scope='RGB/inception_i3d/')['Mixed_4f']
    self.assertAllClose(got, expected.mean(axis=(2, 3)), rtol=1e-4,
                        atol=1e-4)


# ----------------------------------------------------------------------------
# The command line: a killed run resumes; exit status and summary.
# ----------------------------------------------------------------------------


class CommandLineTest(tf.test.TestCase):

  def _command(self, inputs, output_dir, checkpoint):
    return [
        sys.executable, os.path.join(_HERE, 'extract_features.py'),
        f'--inputs={inputs}', f'--output_dir={output_dir}',
        f'--rgb_checkpoint={checkpoint}', '--window=16', '--stride=16',
        '--batch_size=2', '--resize=32', '--crop=32', '--pooling=clip',
        '--noprogress'
    ]

  def _env(self):
    return {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}

  def test_killed_run_resumes_to_the_same_outputs(self):
    folder = new_tempdir(self)
    num_good = 10
    for i in range(num_good):
      make_video(os.path.join(folder, f'clip{i:02d}.mp4'), 40, seed=20 + i)
    write_corrupt_video(os.path.join(folder, 'broken.mp4'))
    checkpoint = make_test_checkpoint('rgb_scratch')
    output_dir = os.path.join(new_tempdir(self), 'features')
    command = self._command(folder, output_dir, checkpoint)

    process = subprocess.Popen(command, env=self._env(),
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    records = os.path.join(output_dir, ef.RECORDS_DIR)

    def finished():
      done = []
      for path in glob.glob(os.path.join(records, '*.json')):
        with open(path) as f:
          if json.load(f)['status'] == 'ok':  # Complete: written atomically.
            done.append(path)
      return done

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
      if len(finished()) >= 2:
        break
      time.sleep(0.02)
    self.assertIsNone(process.poll(), 'the run ended before it was killed')
    process.send_signal(signal.SIGKILL)
    process.wait()
    num_done = len(finished())
    self.assertBetween(num_done, 2, num_good - 1)
    # Whatever was published is complete.
    for path in glob.glob(os.path.join(output_dir, '*.npy')):
      self.assertEqual(np.load(path).shape[1:], (1024,), path)

    rerun = subprocess.run(command, env=self._env(), capture_output=True,
                           text=True, timeout=600)
    self.assertEqual(rerun.returncode, 1, rerun.stderr)
    self.assertIn(
        f'11 videos: {num_good - num_done} succeeded, 1 failed, {num_done} '
        'skipped', rerun.stdout)
    self.assertIn('broken.mp4', rerun.stderr)
    self.assertNotIn('Traceback', rerun.stderr)
    leftovers = [n for n in os.listdir(output_dir) if ef._TMP_MARK in n]
    self.assertEqual(leftovers, [])

    # Same features as one uninterrupted run in this process.
    config = ef.ExtractionConfig(rgb_checkpoint=checkpoint, **_SMALL)
    clean_dir = new_tempdir(self)
    items = ef.resolve_inputs([folder])
    ef.run(items, config, clean_dir, progress=False)
    for i in range(num_good):
      name = f'clip{i:02d}_rgb.npy'
      self.assertAllClose(np.load(os.path.join(output_dir, name)),
                          np.load(os.path.join(clean_dir, name)),
                          rtol=1e-5, atol=1e-6, msg=name)
    with open(os.path.join(output_dir, ef.MANIFEST_NAME)) as f:
      self.assertLen(f.readlines(), num_good + 1)

  def test_usage_errors_are_one_line(self):
    blocker = os.path.join(new_tempdir(self), 'file')
    open(blocker, 'w').close()
    video = make_video(os.path.join(new_tempdir(self),
                                    'v.mp4'), 20)
    result = subprocess.run(
        self._command(video, os.path.join(blocker, 'out'),
                      make_test_checkpoint('rgb_scratch')),
        env=self._env(), capture_output=True, text=True, timeout=300)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('cannot be written', result.stderr)
    self.assertNotIn('Traceback', result.stderr)


if __name__ == '__main__':
  absltest.main()
