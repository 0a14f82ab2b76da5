"""Tests for extract_features.py (I3D features; Carreira & Zisserman, 2017).

Reference values come from an independent path: the model called directly on
clips sliced out of fully decoded videos, its `end_points` pooled with numpy.
Frames are small (tens of pixels) wherever the full 224x224 clip is not the
point: feature endpoints before the logits accept any frame size. The
command-line tests run the tool, `python -m kinetics_i3d.extract_features`,
in a subprocess.
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import av
import numpy as np
import sonnet as snt
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d.features import extract_features as ef
from kinetics_i3d.flow import backends
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.utils import progress
from kinetics_i3d.video import preprocess
from kinetics_i3d.video import samples
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import tf1_checkpoint


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
  key = (layout, seed)
  if key not in _CHECKPOINTS:
    folder = tempfile.mkdtemp(prefix=f'i3d_{layout}_')
    prefix = os.path.join(folder, 'model.ckpt')
    tf1_checkpoint.write_tf1_checkpoint(
        reference_forward.random_original_tensors(layout, seed), prefix)
    _CHECKPOINTS[key] = prefix
  return _CHECKPOINTS[key]


def random_model(final_endpoint: str = 'Mixed_5c',
                 channels: int = 3, seed: int = 0) -> i3d.InceptionI3d:
  """A randomly initialised model with its variables built.

  Its BatchNorm moving variances are set to 0.5 (a fresh model's are 0, and
  inference then divides by sqrt(eps) in every layer: activations reach
  1e24 by Mixed_5c, where float32 summation order alone changes results by
  1e-3). With 0.5 each unit doubles the variance the ReLU halves, so
  activations stay of order 0.1 to 1 at every endpoint.
  """
  tf.random.set_seed(seed)
  model = i3d.InceptionI3d(final_endpoint=final_endpoint)
  size = 224 if final_endpoint in ('Logits', 'Predictions') else 16
  model(tf.zeros([1, 9, size, size, channels]), is_training=False)
  for module in model.submodules:
    if isinstance(module, snt.BatchNorm):
      average = module.moving_variance.average
      average.assign(tf.fill(average.shape, 0.5))
  return model


def decode_model_inputs(path: str, streams, resize: int,
                        crop: int) -> dict:
  """Whole-video model inputs {stream: [T, H, W, C]} through preprocess.py.

  The reference path: the whole video decoded at once (no windows, no
  streaming through `extract_features`).
  """
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

  def test_stream_shorter_than_the_window_is_one_window(self):
    frames = np.arange(10, dtype=np.float32).reshape(-1, 1, 1, 1)
    windower = ef.Windower(window=16, stride=16)
    for frame in frames:
      self.assertEqual(windower.push(frame), [])
    ((start, clip),) = windower.finish()
    self.assertEqual(start, 0)
    np.testing.assert_array_equal(clip, frames)
    self.assertTrue(windower.shorter_than_window)
    # Down to the network's minimum, and no further.
    self.assertEqual(i3d.min_num_frames(), 9)
    self.assertEqual(ef.min_window_frames(64), 9)
    self.assertEqual(ef.min_window_frames(4), 4)
    self.assertEqual(ef.min_window_frames(0), 1)
    self.assertLen(list(ef.iter_windows(iter(frames[:9]), 64, 64)), 1)
    with self.assertRaisesRegex(ef.ExtractionError,
                                r'8 frames.*at least 9 frames.*--window=64'):
      list(ef.iter_windows(iter(frames[:8]), 64, 64))

  def test_full_windows_are_not_marked(self):
    windower = ef.Windower(window=4, stride=4)
    for t in range(8):
      windower.push(np.full((1, 1, 1), t, np.float32))
    self.assertEqual(windower.finish(), [])
    self.assertFalse(windower.shorter_than_window)


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

  def test_checkpoints_default_to_the_projects_folder(self):
    # Not data/checkpoints under whatever the current directory is.
    self.assertEqual(ef.ExtractionConfig().checkpoint_dir,
                     paths.CHECKPOINT_DIR)
    self.assertTrue(os.path.isabs(ef.ExtractionConfig().checkpoint_dir))

  def test_flow_algorithm_is_part_of_the_settings(self):
    rgb = ef.ExtractionConfig()
    self.assertNotIn('flow', rgb.identity())
    flow = ef.ExtractionConfig(streams=('rgb', 'flow'), flow_backend='opencv')
    self.assertEqual(flow.identity()['flow'], backends.identity('opencv'))
    self.assertEqual(flow.identity()['flow']['params']['tau'], 0.25)
    self.assertEqual(json.loads(json.dumps(flow.identity())),
                     flow.identity())
    with mock.patch.object(backends, 'default_backend',
                           return_value='opencv'):
      self.assertEqual(ef.ExtractionConfig(streams=('flow',)).flow_backend,
                       'opencv')
    with self.assertRaisesRegex(ValueError, '--flow_backend must be one of'):
      ef.ExtractionConfig(streams=('flow',), flow_backend='farneback')


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
  """The public rgb_scratch weights on real sample videos (ASSETS.md)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # One model for both tests (fetched into the project's data/checkpoints
    # on first use).
    cls.model = ef.load_stream_model(
        ef.ExtractionConfig(endpoint='Logits', pooling='logits'), 'rgb')
    with open(paths.LABEL_MAPS[400]) as f:
      cls.labels = f.read().splitlines()

  def _top1(self, logits: np.ndarray):
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    return self.labels[int(probabilities.argmax())], probabilities.max()

  def test_planets_clip_logits(self):
    # retroMars2018.avi is an animation of planets orbiting the Sun, not a
    # person; I3D nevertheless calls it 'juggling balls'.
    video = samples.sample_video_path('retroMars2018.avi')
    output_dir = new_tempdir(self)
    config = ef.ExtractionConfig(endpoint='Logits', pooling='logits',
                                 window=0)
    summary = ef.run(ef.resolve_inputs([video]), config, output_dir,
                     ef.FeatureExtractor(config, {'rgb': self.model}),
                     progress=False)
    self.assertEqual(summary.succeeded, 1)
    logits = np.load(os.path.join(output_dir, 'retroMars2018_rgb.npy'))
    self.assertEqual(logits.shape, (1, 400))
    label, probability = self._top1(logits[0])
    # ASSETS.md: 63 frames at 25 fps, top-1 'juggling balls', p about 0.96.
    self.assertEqual(label, 'juggling balls')
    self.assertGreater(probability, 0.9)
    with open(os.path.join(output_dir, ef.MANIFEST_NAME)) as f:
      record = json.loads(f.readline())
    self.assertEqual(record['streams']['rgb']['num_frames'], 63)
    self.assertAlmostEqual(record['source_fps'], 10.)

  def test_default_window_on_the_16_frame_sample(self):
    # g1.avi: a cyclist catching and throwing a ball, 16 frames at 25 fps,
    # shorter than the default --window=64: one window of all 16 frames.
    video = samples.sample_video_path('g1.avi')
    output_dir = new_tempdir(self)
    config = ef.ExtractionConfig(endpoint='Logits', pooling='logits')
    self.assertEqual(config.window, 64)
    summary = ef.run(ef.resolve_inputs([video]), config, output_dir,
                     ef.FeatureExtractor(config, {'rgb': self.model}),
                     progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (1, 0))
    logits = np.load(os.path.join(output_dir, 'g1_rgb.npy'))
    self.assertEqual(logits.shape, (1, 400))
    label, probability = self._top1(logits[0])
    # ASSETS.md: top-1 'catching or throwing baseball', p about 0.90.
    self.assertEqual(label, 'catching or throwing baseball')
    self.assertGreater(probability, 0.8)
    with open(os.path.join(output_dir, ef.MANIFEST_NAME)) as f:
      record = json.loads(f.readline())
    stream = record['streams']['rgb']
    self.assertEqual(stream['num_frames'], 16)
    self.assertEqual(stream['windows'], [[0.0, 0.64]])
    self.assertTrue(stream['shorter_than_window'])
    self.assertEqual(record['window'], 64)


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
    cls.model = random_model('Mixed_5c')
    cls.extractor = ef.FeatureExtractor(cls.config, {'rgb': cls.model})

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
    self.assertFalse(record['streams']['rgb']['shorter_than_window'])
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

  def test_next_video_is_decoded_while_the_model_runs(self):
    # v0 is one batch; the model's call on it waits for v1's first decoded
    # frame, which only a pipeline that decodes ahead delivers in time.
    next_decoded = threading.Event()
    original_sources = ef._video_sources

    def spied_sources(path, config):
      frames, info = original_sources(path, config)

      def spied_frames():
        for stream_frame in frames:
          if path == self.videos[1]:
            next_decoded.set()
          yield stream_frame
      return spied_frames(), info

    extractor = ef.FeatureExtractor(self.config, {'rgb': self.model})
    original_features = extractor._checked_features
    overlapped = []

    def waiting_features(stream, clips):
      if not overlapped:
        overlapped.append(next_decoded.wait(timeout=60))
      return original_features(stream, clips)

    output_dir = new_tempdir(self)
    items = ef.resolve_inputs(self.videos)
    with mock.patch.object(ef, '_video_sources', spied_sources), \
        mock.patch.object(extractor, '_checked_features', waiting_features):
      summary = ef.run(items, self.config, output_dir, extractor,
                       progress=False)
    self.assertEqual(summary.succeeded, 3)
    self.assertEqual(overlapped, [True])
    # The same features as one video extracted alone, in this thread.
    for item in items:
      alone = self.extractor.extract(item).features['rgb']
      np.testing.assert_array_equal(
          np.load(os.path.join(output_dir, f'{item.key}_rgb.npy')), alone)

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

  def test_corrupt_missing_and_too_short_videos_are_recorded(self):
    folder = new_tempdir(self)
    corrupt = write_corrupt_video(os.path.join(folder, 'corrupt.mp4'))
    # Shorter than the 9 frames I3D takes (a video shorter than the window
    # but not than that is one window: test_short_video_is_one_window).
    short = make_video(os.path.join(folder, 'short.mp4'), 5)
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
                     r'short.mp4 has 5 frames.*needs at least 9 frames.*'
                     r'--window=16')
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

  def test_short_video_is_one_window(self):
    # 10 frames, --window=16: one window of the 10 frames (I3D takes >= 9).
    video = make_video(os.path.join(new_tempdir(self), 'short.mp4'), 10,
                       seed=3)
    output_dir = new_tempdir(self)
    summary = ef.run(ef.resolve_inputs([video]), self.config, output_dir,
                     self.extractor, progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (1, 0))
    record = self._read_manifest(output_dir)['short']
    stream = record['streams']['rgb']
    self.assertEqual(stream['windows'], [[0.0, 0.4]])
    self.assertTrue(stream['shorter_than_window'])
    self.assertEqual(stream['num_frames'], 10)
    self.assertEqual(record['window'], 16)
    features = np.load(os.path.join(output_dir, 'short_rgb.npy'))
    frames = decode_model_inputs(video, ['rgb'], 32, 32)['rgb']
    self.assertLen(frames, 10)
    expected = pooled_reference(self.model, frames, 'Mixed_5c', 'clip')
    self.assertAllClose(features, expected[None], rtol=1e-5, atol=1e-5)

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
    for output_dir in (os.path.join(blocker, 'out'), '/proc/feats'):
      # /proc: permission bits let root write; only a probe tells.
      with self.assertRaisesRegex(ValueError,
                                  r'--output_dir=.*cannot be written'):
        ef.run([], self.config, output_dir, self.extractor, progress=False)
    self.assertFalse(os.path.exists('/proc/feats'))

  def test_ctrl_c_keeps_the_finished_videos_in_the_manifest(self):
    output_dir = new_tempdir(self)
    items = ef.resolve_inputs(self.videos)
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
        ef.run(items, self.config, output_dir, self.extractor,
               progress=False)
    self.assertEqual(list(self._read_manifest(output_dir)), ['v0'])


class SettingsFileTest(tf.test.TestCase):
  """A run that fails writes nothing that would refuse the corrected run."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp()
    cls.video = make_video(os.path.join(cls.folder, 'v.mp4'), 20, seed=7)
    cls.items = ef.resolve_inputs([cls.video])
    cls.model = random_model('Mixed_5c')

  def _config(self, **kwargs):
    return ef.ExtractionConfig(**{**_SMALL, **kwargs})

  def test_failed_flow_run_leaves_nothing(self):
    output_dir = os.path.join(new_tempdir(self), 'features')
    # The flow network cannot be loaded (an RGB checkpoint file), as when a
    # user's --streams=flow run lacks the flow weights.
    flow = self._config(streams=('flow',), flow_backend='opencv',
                        flow_checkpoint=make_test_checkpoint('rgb_scratch'))
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'wrong stream'):
      ef.run(self.items, flow, output_dir, progress=False)
    self.assertFalse(os.path.exists(output_dir))
    # The corrected command, with other settings, in the same folder.
    rgb = self._config(window=8, stride=8)
    summary = ef.run(self.items, rgb, output_dir,
                     ef.FeatureExtractor(rgb, {'rgb': self.model}),
                     progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (1, 0))
    with open(os.path.join(output_dir, ef.CONFIG_NAME)) as f:
      self.assertEqual(json.load(f), rgb.identity())

  def test_run_whose_videos_all_failed_pins_no_settings(self):
    output_dir = new_tempdir(self)
    corrupt = write_corrupt_video(os.path.join(new_tempdir(self), 'bad.mp4'))
    first = self._config()
    summary = ef.run(ef.resolve_inputs([corrupt]), first, output_dir,
                     ef.FeatureExtractor(first, {'rgb': self.model}),
                     progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (0, 1))
    self.assertFalse(os.path.exists(os.path.join(output_dir, ef.CONFIG_NAME)))
    # Other settings are accepted; the manifest lists this run's records.
    other = self._config(window=8, stride=8)
    items = ef.resolve_inputs([corrupt, self.video])
    summary = ef.run(items, other, output_dir,
                     ef.FeatureExtractor(other, {'rgb': self.model}),
                     progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (1, 1))
    with open(os.path.join(output_dir, ef.MANIFEST_NAME)) as f:
      records = [json.loads(line) for line in f]
    self.assertCountEqual([r['key'] for r in records], ['bad', 'v'])
    for record in records:
      self.assertEqual(record['settings'], other.identity())
    with open(os.path.join(output_dir, ef.CONFIG_NAME)) as f:
      self.assertEqual(json.load(f), other.identity())

  def test_refused_run_changes_nothing(self):
    output_dir = new_tempdir(self)
    first = self._config()
    ef.run(self.items, first, output_dir,
           ef.FeatureExtractor(first, {'rgb': self.model}), progress=False)
    before = {n: os.stat(os.path.join(output_dir, n)).st_mtime_ns
              for n in os.listdir(output_dir)}
    with self.assertRaisesRegex(ValueError, r'window.*differ.*--overwrite'):
      ef.run(self.items, self._config(window=8, stride=8), output_dir,
             progress=False)
    self.assertEqual({n: os.stat(os.path.join(output_dir, n)).st_mtime_ns
                      for n in os.listdir(output_dir)}, before)


class FlowIdentityTest(tf.test.TestCase):
  """The flow algorithm's identity decides whether flow features are reused."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp()
    video = make_video(os.path.join(cls.folder, 'f.mp4'), 12, 36, 44, seed=8)
    cls.items = ef.resolve_inputs([video])
    cls.settings = dict(streams=('flow',), window=8, stride=8, resize=36,
                        crop=32, pooling='clip', flow_backend='opencv')
    cls.model = random_model('Mixed_5c', channels=2, seed=1)

  def _run(self, config, output_dir, **kwargs):
    return ef.run(self.items, config, output_dir,
                  ef.FeatureExtractor(config, {'flow': self.model}),
                  progress=False, **kwargs)

  def test_recorded_and_compared_on_resume(self):
    output_dir = new_tempdir(self)
    config = ef.ExtractionConfig(**self.settings)
    self.assertEqual(self._run(config, output_dir).succeeded, 1)
    opencv = backends.identity('opencv')
    with open(os.path.join(output_dir, ef.MANIFEST_NAME)) as f:
      record = json.loads(f.readline())
    self.assertEqual(record['flow'], opencv)
    self.assertEqual(record['settings']['flow'], opencv)
    with open(os.path.join(output_dir, ef.CONFIG_NAME)) as f:
      self.assertEqual(json.load(f)['flow'], opencv)
    self.assertEqual(self._run(config, output_dir).skipped, 1)

    # The same backend with other parameters (or another library version).
    changed = {**opencv, 'params': {**opencv['params'], 'tau': 0.2}}
    with mock.patch.object(backends, 'identity', return_value=changed):
      other = ef.ExtractionConfig(**self.settings)
    self.assertFalse(ef.is_done(self.items[0], other, output_dir))
    with self.assertRaisesRegex(ValueError, r'\(flow differ.*--overwrite'):
      self._run(other, output_dir)
    summary = self._run(other, output_dir, overwrite=True)
    self.assertEqual((summary.succeeded, summary.skipped), (1, 0))
    with open(os.path.join(output_dir, ef.MANIFEST_NAME)) as f:
      self.assertEqual(json.loads(f.readline())['flow'], changed)

  def test_another_backend_is_other_settings(self):
    output_dir = new_tempdir(self)
    self._run(ef.ExtractionConfig(**self.settings), output_dir)
    tf_identity = {'name': 'tvl1', 'backend': 'tf', 'params': {},
                   'tensorflow': tf.__version__}
    with mock.patch.object(backends, 'identity', return_value=tf_identity):
      other = ef.ExtractionConfig(**{**self.settings, 'flow_backend': 'tf'})
    self.assertEqual(other.identity()['flow'], tf_identity)
    self.assertFalse(ef.is_done(self.items[0], other, output_dir))
    with self.assertRaisesRegex(ValueError, r'\(flow differ'):
      self._run(other, output_dir)


class PremadeInputTest(tf.test.TestCase):
  """Bad pre-made inputs fail with one line naming the file and a remedy."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.features = ef.FeatureExtractor(
        ef.ExtractionConfig(window=0, pooling='clip'),
        {'rgb': random_model('Mixed_5c')})

  def _extract(self, extractor, path):
    (item,) = ef.resolve_inputs([path])
    extractor.extract(item)

  def test_text_file_named_npy(self):
    path = os.path.join(new_tempdir(self), 'notes_rgb.npy')
    with open(path, 'w') as f:
      f.write('not an array\n')
    with self.assertRaises(ef.ExtractionError) as caught:
      self._extract(self.features, path)
    message = str(caught.exception)
    self.assertRegex(message,
                     '^' + re.escape(path) + r': not a valid \.npy array')
    self.assertNotIn('pickle', message)
    self.assertNotIn('\n', message)

  def test_failure_names_the_file_given(self):
    folder = new_tempdir(self)
    path = os.path.join(folder, 'nan_rgb.npy')
    np.save(path, np.full((1, 10, 32, 32, 3), np.nan, np.float32))
    items = ef.resolve_inputs([path])
    output_dir = os.path.join(folder, 'out')
    with self.assertLogs(level='WARNING') as logs:
      summary = ef.run(items, self.features.config, output_dir, self.features,
                       progress=False)
    self.assertEqual(summary.failures[0][0], path)  # Not .../nan.
    self.assertIn(f'Failed: {path}: ', '\n'.join(logs.output))
    with open(os.path.join(output_dir, ef.MANIFEST_NAME)) as f:
      self.assertEqual(json.loads(f.readline())['video'], path)

  def test_object_array(self):
    path = os.path.join(new_tempdir(self), 'objects_rgb.npy')
    np.save(path, np.array([{}], dtype=object), allow_pickle=True)
    with self.assertRaisesRegex(ef.ExtractionError,
                                '^' + re.escape(path) + r': not a valid .*'
                                'Python objects, which are never unpickled'):
      self._extract(self.features, path)

  def test_logits_of_small_frames_say_what_to_do(self):
    path = os.path.join(new_tempdir(self), 'small_rgb.npy')
    np.save(path, np.zeros((1, 10, 100, 100, 3), np.float32))
    logits = ef.FeatureExtractor(
        ef.ExtractionConfig(endpoint='Logits', pooling='logits', window=0),
        {'rgb': random_model('Logits')})
    with self.assertRaises(ef.ExtractionError) as caught:
      self._extract(logits, path)
    message = str(caught.exception)
    self.assertRegex(message, '^' + re.escape(path) + ': the logits need '
                     '224x224 frames, got 100x100; .*i3d-preprocess.*'
                     '--endpoint=Mixed_5c')
    # An option of the library a command-line user cannot pass.
    self.assertNotIn('spatial_squeeze', message)
    # Feature endpoints take the same frames.
    (item,) = ef.resolve_inputs([path])
    self.assertEqual(self.features.extract(item).features['rgb'].shape,
                     (1, 1024))


class ProgressLogTest(tf.test.TestCase):

  def test_runs_are_logged_without_a_terminal(self):
    folder = new_tempdir(self)
    videos = [make_video(os.path.join(folder, f'p{i}.mp4'), 16, seed=i)
              for i in range(2)]
    config = ef.ExtractionConfig(**_SMALL)
    # A log line for every video, as if each took longer than the interval.
    with mock.patch.object(progress, 'LOG_EVERY_S', 0.0):
      with self.assertLogs(level='INFO') as logs:
        ef.run(ef.resolve_inputs(videos), config, new_tempdir(self),
               ef.FeatureExtractor(config, {'rgb': random_model()}),
               progress=False)
    messages = [r.getMessage() for r in logs.records]
    self.assertTrue(any(m.startswith('Features: 1/2 videos (50%)')
                        for m in messages), messages)
    self.assertTrue(any(m.startswith('Features: done, 2 videos') and
                        '2 succeeded, 0 failed, 0 skipped' in m
                        for m in messages), messages)


class CheckpointDirTest(absltest.TestCase):

  def test_a_folder_that_appears_is_logged(self):
    folder = os.path.join(new_tempdir(self), 'my_checkpoints')
    config = ef.ExtractionConfig(checkpoint_dir=folder)

    def build_model(name, final_endpoint, checkpoint_dir):
      del name, final_endpoint
      os.makedirs(os.path.join(checkpoint_dir, 'rgb_scratch'))
      return 'model'

    with mock.patch.object(checkpoints, 'build_model',
                           side_effect=build_model) as build:
      with self.assertLogs(level='INFO') as logs:
        self.assertEqual(ef.load_stream_model(config, 'rgb'), 'model')
    build.assert_called_once_with('rgb_scratch', final_endpoint='Mixed_5c',
                                  checkpoint_dir=folder)
    self.assertIn(f'Created --checkpoint_dir={folder}', logs.output[0])

  def test_an_existing_folder_is_used_quietly(self):
    folder = new_tempdir(self)
    config = ef.ExtractionConfig(checkpoint_dir=folder)
    with mock.patch.object(checkpoints, 'build_model', return_value='model'):
      with self.assertNoLogs(level='INFO'):
        ef.load_stream_model(config, 'rgb')


class CheckpointTest(tf.test.TestCase):

  def test_wrong_stream_named_checkpoint(self):
    config = ef.ExtractionConfig(rgb_checkpoint='flow_imagenet')
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'--rgb_checkpoint=flow_imagenet is a flow'):
      ef.build_network(config, 'rgb')

  def test_wrong_stream_checkpoint_file(self):
    flow_file = make_test_checkpoint('flow_imagenet')
    config = ef.ExtractionConfig(rgb_checkpoint=flow_file)
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'wrong stream'):
      ef.build_network(config, 'rgb')

  def test_missing_checkpoint(self):
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
        sys.executable, '-m', 'kinetics_i3d.extract_features',
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

  def test_failed_flow_run_does_not_block_the_corrected_run(self):
    video = make_video(os.path.join(new_tempdir(self), 'v.mp4'), 20)
    output_dir = os.path.join(new_tempdir(self), 'features')
    checkpoint = make_test_checkpoint('rgb_scratch')
    named_folder = os.path.join(new_tempdir(self), 'my_checkpoints')
    failed = subprocess.run(
        self._command(video, output_dir, checkpoint) + [
            '--streams=flow', f'--flow_checkpoint={checkpoint}',
            '--flow_backend=opencv', f'--checkpoint_dir={named_folder}'],
        env=self._env(), capture_output=True, text=True, timeout=600)
    self.assertEqual(failed.returncode, 1, failed.stderr)
    self.assertNotIn('Traceback', failed.stderr)
    self.assertRegex(failed.stderr.strip().splitlines()[-1],
                     'extract_features.py: .*wrong stream')
    self.assertFalse(os.path.exists(output_dir))
    self.assertFalse(os.path.exists(named_folder))
    # The corrected command (RGB, another window) in the same folder.
    command = [arg for arg in self._command(video, output_dir, checkpoint)
               if not arg.startswith(('--window=', '--stride='))]
    rerun = subprocess.run(
        command + ['--window=8', '--stride=8'],
        env=self._env(), capture_output=True, text=True, timeout=600)
    self.assertEqual(rerun.returncode, 0, rerun.stderr)
    self.assertIn('1 videos: 1 succeeded, 0 failed', rerun.stdout)
    # Logged although stderr is not a terminal.
    self.assertIn('Extracting Mixed_5c features (rgb) of 1 videos',
                  rerun.stderr)

  def test_small_premade_frames_for_the_logits(self):
    folder = new_tempdir(self)
    premade = os.path.join(folder, 'small_rgb.npy')
    np.save(premade, np.zeros((1, 10, 100, 100, 3), np.float32))
    result = subprocess.run(
        [sys.executable, '-m', 'kinetics_i3d.extract_features',
         f'--inputs={premade}', f'--output_dir={folder}/out',
         f'--rgb_checkpoint={make_test_checkpoint("rgb_scratch")}',
         '--endpoint=Logits', '--window=0', '--noprogress'],
        env=self._env(), capture_output=True, text=True, timeout=600)
    self.assertEqual(result.returncode, 1, result.stderr)
    failures = [line for line in result.stderr.splitlines()
                if line.startswith('FAILED')]
    self.assertLen(failures, 1)
    self.assertRegex(failures[0], 'small_rgb.npy: the logits need 224x224 '
                     'frames, got 100x100; .*i3d-preprocess')
    self.assertNotIn('spatial_squeeze', result.stderr)

  def test_help(self):
    result = subprocess.run(
        [sys.executable, '-m', 'kinetics_i3d.extract_features', '--help'],
        env=self._env(), capture_output=True, text=True, timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr)
    for flag in ('--inputs', '--window', '--flow_backend', '--checkpoint_dir',
                 '--shard_index'):
      self.assertIn(f'{flag}:', result.stdout + result.stderr, flag)

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
    self.assertIn(f'--output_dir={blocker}/out: {blocker} is a file, not a '
                  'folder', result.stderr)
    self.assertNotIn('Traceback', result.stderr)


if __name__ == '__main__':
  absltest.main()
