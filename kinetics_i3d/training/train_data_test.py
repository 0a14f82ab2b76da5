"""Tests for train_data.py: dataset listing, flow cache encoding, sampling.

The input pipeline of I3D's training recipe (Carreira & Zisserman, "Quo
Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017).
"""

import os
import shutil
import tempfile
from typing import Tuple
from unittest import mock

from absl.testing import parameterized
import av
import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import backends
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import train_data
from kinetics_i3d.utils import progress

# Class k: a square of colour _COLOURS[k] moving along _MOTIONS[k] (pixels per
# frame, [dy, dx]) over a noisy grey background.
_COLOURS = ((220, 40, 40), (40, 220, 40), (40, 40, 220), (220, 220, 40))
_MOTIONS = ((0, 2), (0, -2), (2, 0), (-2, 0))


def _tempdir(test: tf.test.TestCase) -> str:
  # tempfile, not create_tempdir: that needs absl flags, unparsed under pytest.
  path = tempfile.mkdtemp(prefix='train_test_')
  test.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


def write_video(path: str, frames: np.ndarray, fps: int = 25) -> None:
  """Writes uint8 [T, H, W, 3] frames (even H, W) as MPEG-4 in `path`."""
  with av.open(path, 'w') as container:
    stream = container.add_stream('mpeg4', rate=fps)
    stream.height, stream.width = frames.shape[1:3]
    stream.pix_fmt = 'yuv420p'
    for frame in frames:
      for packet in stream.encode(av.VideoFrame.from_ndarray(frame, 'rgb24')):
        container.mux(packet)
    for packet in stream.encode():
      container.mux(packet)


def synthetic_video(label: int, rng: np.random.Generator, num_frames: int = 12,
                    size: Tuple[int, int] = (40, 48)) -> np.ndarray:
  """A clip of class `label`: uint8 [num_frames, H, W, 3]."""
  height, width = size
  frames = 90 + rng.integers(0, 30, (num_frames, height, width, 3))
  frames = frames.astype(np.uint8)
  y, x = rng.integers(10, height - 20), rng.integers(10, width - 20)
  dy, dx = _MOTIONS[label]
  for t in range(num_frames):
    top, left = (y + dy * t) % (height - 10), (x + dx * t) % (width - 10)
    frames[t, top:top + 10, left:left + 10] = _COLOURS[label]
  return frames


def write_synthetic_dataset(root: str, num_classes: int = 3,
                            per_class: int = 2, broken: int = 0,
                            seed: int = 0) -> None:
  """Writes root/class_<k>/v<i>.avi, plus `broken` unreadable videos."""
  rng = np.random.default_rng(seed)
  for label in range(num_classes):
    folder = os.path.join(root, f'class_{label}')
    os.makedirs(folder, exist_ok=True)
    for i in range(per_class):
      write_video(
          os.path.join(folder, f'v{i}.avi'), synthetic_video(label, rng))
  for i in range(broken):
    with open(os.path.join(root, 'class_0', f'broken{i}.avi'), 'wb') as f:
      f.write(b'not a video at all' * 10)


class ListingTest(tf.test.TestCase, parameterized.TestCase):

  def test_folder_classes_are_sorted_subfolders(self):
    root = _tempdir(self)
    for name in ('b_walk', 'a_run'):
      os.makedirs(os.path.join(root, name))
      open(os.path.join(root, name, 'x.mp4'), 'w').close()
      open(os.path.join(root, name, 'notes.txt'), 'w').close()
    examples, classes = train_data.list_video_folder(root)
    self.assertEqual(classes, ['a_run', 'b_walk'])
    self.assertEqual([(os.path.relpath(e.path, root), e.label)
                      for e in examples], [('a_run/x.mp4', 0),
                                           ('b_walk/x.mp4', 1)])

  def test_empty_folder_is_an_error(self):
    root = _tempdir(self)
    os.makedirs(os.path.join(root, 'some_class'))
    with self.assertRaisesRegex(train_data.DatasetError, 'holds no videos'):
      train_data.list_video_folder(root)
    with self.assertRaisesRegex(train_data.DatasetError, 'does not exist'):
      train_data.list_video_folder(os.path.join(root, 'missing'))

  def test_split_file(self):
    root = _tempdir(self)
    split = os.path.join(root, 'train.txt')
    with open(split, 'w') as f:
      f.write('# comment\nA/v 1.avi 1\n\n/abs/w.avi 3\n')
    examples = train_data.read_split_file(split, label_offset=1)
    self.assertEqual(examples, [
        train_data.Example(os.path.join(root, 'A/v 1.avi'), 0),
        train_data.Example('/abs/w.avi', 2)
    ])
    with self.assertRaisesRegex(train_data.DatasetError, 'outside'):
      train_data.check_labels(examples, 2, split)
    train_data.check_labels(examples, 3, split)
    # Bare paths (UCF101's test lists) take their folder's class.
    with open(split, 'w') as f:
      f.write('b/x.avi\na/y.avi 0\n')
    self.assertEqual(
        train_data.read_split_file(split, class_names=['a', 'b']),
        [train_data.Example(os.path.join(root, 'b/x.avi'), 1),
         train_data.Example(os.path.join(root, 'a/y.avi'), 0)])

  @parameterized.parameters('a.avi', 'a.avi x', 'c/a.avi', '')
  def test_bad_split_lines(self, line):
    root = _tempdir(self)
    split = os.path.join(root, 'bad.txt')
    with open(split, 'w') as f:
      f.write(line + '\n')
    expected = 'lists no videos' if not line else r'bad.txt:1: expected'
    with self.assertRaisesRegex(train_data.DatasetError, expected):
      train_data.read_split_file(split, class_names=['a', 'b'])


class ModelInputTest(tf.test.TestCase):

  def test_flow_input_scale(self):
    # The paper's 8-bit storage: level q is (q / 255 - 0.5) * 40 pixels, and
    # the model sees pixels / 20.
    clip = np.array([0, 255, 51], np.uint8).reshape(1, 1, 3, 1) * np.ones(
        (1, 1, 1, 2), np.uint8)
    self.assertAllClose(
        train_data.to_model_input(clip, 'flow', flip=False)[0, 0, :, 0],
        [-1., 1., -0.6])

  def test_flip_negates_x_flow_only(self):
    clip = np.random.default_rng(1).integers(1, 256, (2, 3, 4, 2)).astype(
        np.uint8)
    plain = train_data.to_model_input(clip, 'flow', flip=False)
    flipped = train_data.to_model_input(clip, 'flow', flip=True)
    for t in range(2):
      for y in range(3):
        for x in range(4):
          mirror = plain[t, y, 3 - x]
          self.assertAllClose(flipped[t, y, x], [-mirror[0], mirror[1]])

  def test_rgb_input_range_and_flip(self):
    clip = np.array([[[[0, 0, 0], [255, 255, 255]]]], np.uint8)
    self.assertAllClose(
        train_data.to_model_input(clip, 'rgb', flip=False),
        [[[[-1, -1, -1], [1, 1, 1]]]])
    self.assertAllClose(
        train_data.to_model_input(clip, 'rgb', flip=True),
        [[[[1, 1, 1], [-1, -1, -1]]]])


class SamplingTest(tf.test.TestCase):

  def test_train_clip_loops_short_videos(self):
    array = np.arange(3)[:, None, None, None] * np.ones((3, 4, 5, 1), np.uint8)
    clip, _ = train_data.train_clip(array, 7, 4, np.random.default_rng(0))
    self.assertEqual(clip.shape, (7, 4, 4, 1))
    self.assertAllEqual(clip[:, 0, 0, 0], [0, 1, 2, 0, 1, 2, 0])

  def test_eval_clip_is_centred(self):
    array = np.zeros((10, 8, 12, 1), np.uint8)
    array[:, 2:6, 4:8] = 1
    array[3:7, 0, 0] = 2  # Mark the frames of the centre window.
    clip = train_data.eval_clip(array, 4, 4)
    self.assertEqual(clip.shape, (4, 4, 4, 1))
    self.assertTrue(np.all(clip == 1))
    self.assertLen(train_data.eval_clip(array, 0, 4), 10)
    self.assertLen(train_data.eval_clip(array[:3], 0, 4, min_frames=9), 9)

  def test_each_epoch_visits_every_video_once(self):
    examples = list(range(7))
    seen = [
        train_data.train_example(examples, step, slot, 3, seed=5)
        for step in range(7) for slot in range(3)
    ]
    for epoch in range(3):
      self.assertCountEqual(seen[epoch * 7:(epoch + 1) * 7], examples)
    self.assertNotEqual(seen[:7], seen[7:14])  # Reshuffled per epoch.

  def test_replica_pipelines_partition_the_global_batch(self):
    root = _tempdir(self)
    cached = []
    for i in range(5):
      path = os.path.join(root, f'{i}.npy')
      np.save(path, np.full((4, 6, 6, 3), 10 * i, np.uint8))
      cached.append(train_data.CachedExample(f'video{i}', i, path))

    def batches(replica_ids, start, deterministic=False):
      dataset = train_data.train_dataset(cached, 'rgb', 3, 4, 2, 2,
                                         replica_ids, start, 3, seed=1,
                                         deterministic=deterministic)
      return [(c.numpy(), l.numpy()) for c, l in dataset]

    both = batches([0, 1], 0)
    # The deterministic pipeline's options change nothing in the clips.
    for a, b in zip(both, batches([0, 1], 0, deterministic=True)):
      self.assertAllEqual(a[0], b[0])
      self.assertAllEqual(a[1], b[1])
    self.assertLen(both, 6)  # 3 steps x 2 replicas.
    first, second = batches([0], 0), batches([1], 0)
    for step in range(3):
      self.assertAllEqual(both[2 * step][1], first[step][1])
      self.assertAllEqual(both[2 * step + 1][1], second[step][1])
      self.assertAllEqual(both[2 * step + 1][0], second[step][0])
    # Starting later gives the same clips for the same steps.
    resumed = batches([0, 1], 1)
    for a, b in zip(both[2:], resumed):
      self.assertAllEqual(a[0], b[0])
    # Labels follow the videos: video i holds pixel value 10 i - 127.5 ...
    for clips, labels in both:
      pixel = (clips[:, 0, 0, 0, 0] + 1.) * 127.5
      self.assertAllClose(pixel, 10. * labels, atol=1e-3)


class CacheTest(tf.test.TestCase):

  def test_cache_is_built_once_and_broken_videos_are_skipped(self):
    root = _tempdir(self)
    write_synthetic_dataset(root, num_classes=2, per_class=1, broken=1)
    examples, _ = train_data.list_video_folder(root)
    cache = _tempdir(self)
    with self.assertLogs(level='WARNING') as logs:
      cached = train_data.build_cache(examples, cache, 'rgb', resize=24)
    self.assertLen(cached, 2)
    self.assertIn('broken0.avi', ' '.join(logs.output))
    array = np.load(cached[0].cache_path)
    self.assertEqual(array.dtype, np.uint8)
    self.assertEqual(min(array.shape[1:3]), 24)  # 40x48 -> 24x~29.
    self.assertEqual(array.shape[3], 3)
    mtimes = [os.stat(c.cache_path).st_mtime_ns for c in cached]
    again = train_data.build_cache(examples, cache, 'rgb', resize=24)
    self.assertEqual([c.cache_path for c in again],
                     [c.cache_path for c in cached])
    self.assertEqual([os.stat(c.cache_path).st_mtime_ns for c in again],
                     mtimes)
    # Flow: one field fewer than frames, two channels.
    flow = train_data.build_cache(examples, cache, 'flow', resize=24)
    self.assertEqual(np.load(flow[0].cache_path).shape,
                     (len(array) - 1,) + array.shape[1:3] + (2,))

  def test_all_unreadable_is_an_error(self):
    root = _tempdir(self)
    os.makedirs(os.path.join(root, 'c'))
    with open(os.path.join(root, 'c', 'x.mp4'), 'wb') as f:
      f.write(b'garbage')
    examples, _ = train_data.list_video_folder(root)
    with self.assertRaisesRegex(train_data.DatasetError,
                                'None of the 1 videos'):
      train_data.build_cache(examples, _tempdir(self), 'rgb')

  def test_flow_cache_is_keyed_on_the_algorithm(self):
    root = _tempdir(self)
    write_synthetic_dataset(root, num_classes=1, per_class=1)
    examples, _ = train_data.list_video_folder(root)
    video = examples[0].path
    cache = _tempdir(self)
    identity = backends.identity(backends.OPENCV)
    changed = dict(identity, params=dict(identity['params'], tau=0.5))
    key = lambda stream, ident: train_data.cache_file(cache, video, stream, 24,
                                                      ident)
    self.assertNotEqual(key('flow', identity), key('flow', changed))
    self.assertNotEqual(key('flow', identity),
                        key('flow', backends.identity(backends.TF)))
    # None means the default backend; RGB does not depend on the flow's.
    self.assertEqual(key('flow', None),
                     key('flow', backends.identity(backends.default_backend())))
    self.assertEqual(key('rgb', identity), key('rgb', changed))

    first = train_data.build_cache(examples, cache, 'flow', resize=24,
                                   flow_backend=backends.OPENCV)
    mtime = os.stat(first[0].cache_path).st_mtime_ns
    with mock.patch.object(backends, 'identity', return_value=changed):
      second = train_data.build_cache(examples, cache, 'flow', resize=24,
                                      flow_backend=backends.OPENCV)
    self.assertNotEqual(first[0].cache_path, second[0].cache_path)
    self.assertTrue(os.path.exists(second[0].cache_path))
    self.assertEqual(os.stat(first[0].cache_path).st_mtime_ns, mtime)
    with self.assertRaisesRegex(ValueError, 'flow_backend'):
      train_data.build_cache(examples, cache, 'flow', flow_backend='farneback')

  def test_progress_is_logged(self):
    root = _tempdir(self)
    write_synthetic_dataset(root, num_classes=2, per_class=1)
    examples, _ = train_data.list_video_folder(root)
    # Every update logged, as a long run logs every LOG_EVERY_S seconds.
    with mock.patch.object(progress, 'LOG_EVERY_S', 0.):
      with self.assertLogs(level='INFO') as logs:
        train_data.build_cache(examples, _tempdir(self), 'flow', resize=24,
                               flow_backend=backends.OPENCV)
    text = '\n'.join(logs.output)
    self.assertIn('Preprocessing 2 of 2 videos (flow, TV-L1 opencv)', text)
    self.assertIn('flow cache: 1/2 videos (50%)', text)
    self.assertIn('flow cache: done, 2 videos', text)

  def test_class_without_usable_videos_is_named(self):
    root = _tempdir(self)
    write_synthetic_dataset(root, num_classes=3, per_class=1)
    with open(os.path.join(root, 'class_1', 'v0.avi'), 'wb') as f:
      f.write(b'not a video')
    os.makedirs(os.path.join(root, 'class_3'))
    examples, class_names = train_data.list_video_folder(root)
    cached = train_data.build_cache(examples, _tempdir(self), 'rgb', resize=24)
    self.assertLen(cached, 2)
    with self.assertLogs(level='WARNING') as logs:
      empty = train_data.warn_empty_classes(examples, cached, class_names)
    self.assertEqual(empty, [1, 3])
    text = '\n'.join(logs.output)
    self.assertRegex(text, r'class 1 \(class_1\) has no usable video: its 1 '
                     r'video\(s\) could not be read \(e.g. .*class_1/v0.avi')
    self.assertIn('class 3 (class_3) has no video', text)
    self.assertNotIn('class 0', text)


class LoadExamplesTest(parameterized.TestCase, tf.test.TestCase):

  def test_folder_or_split_file(self):
    root = _tempdir(self)
    for name in ('a', 'b'):
      os.makedirs(os.path.join(root, name))
      open(os.path.join(root, name, 'x.avi'), 'w').close()
    examples, names = train_data.load_examples(root, '', '', 0, 2, 'train')
    self.assertEqual(names, ['a', 'b'])
    self.assertEqual([e.label for e in examples], [0, 1])
    split = os.path.join(_tempdir(self), 'test.txt')
    with open(split, 'w') as f:
      f.write('b/x.avi\na/x.avi\n')  # UCF-101's test lists: no labels.
    examples, names = train_data.load_examples('', split, root, 1, 2, 'eval')
    self.assertIsNone(names)
    self.assertEqual([e.label for e in examples], [1, 0])
    self.assertEqual(examples[0].path, os.path.join(root, 'b/x.avi'))
    for directory, split_file in (('', ''), (root, split)):
      with self.assertRaisesRegex(config_lib.TrainError,
                                  'exactly one of data.eval_dir and '
                                  'data.eval_split'):
        train_data.load_examples(directory, split_file, '', 0, 2, 'eval')
    for num_classes, what in ((1, 'train'), (5, 'train'), (1, 'eval')):
      with self.assertRaisesRegex(train_data.DatasetError,
                                  '2 class folders .* num_classes=2'):
        train_data.load_examples(root, '', '', 0, num_classes, what)
    # A model may be evaluated on some of its classes, with a warning.
    with self.assertLogs(level='WARNING') as logs:
      train_data.load_examples(root, '', '', 0, 4, 'eval')
    self.assertIn('lists videos of 2 of num_classes=4 classes; class(es) 2, '
                  '3 have no videos', '\n'.join(logs.output))

  def _split_file(self, text):
    root = _tempdir(self)
    for name in ('a', 'b'):
      os.makedirs(os.path.join(root, name))
    split = os.path.join(root, 'train.txt')
    with open(split, 'w') as f:
      f.write(text)
    return root, split

  @parameterized.named_parameters(
      ('word_label', 'a/g1.avi 0\nb/g2.avi seven\n',
       r'train.txt:2: expected "<video path> <integer label>", got label '
       r"'seven'"),
      ('label_too_large', 'a/g1.avi 0\nb/g2.avi 2\n',
       r'train.txt:2: label 2 .*b/g2.avi.* outside \[0, 2\)'),
      ('negative_label', '# header\na/g1.avi -1\n',
       r'train.txt:2: label -1 .* outside \[0, 2\)'),
      ('bare_path_outside_classes', 'c/g3.avi\n',
       r'train.txt:1: expected "<video path> <integer label>", or a path '
       r'inside one of the class folders'),
  )
  def test_bad_split_line_names_file_and_line(self, text, message):
    root, split = self._split_file(text)
    with self.assertRaisesRegex(train_data.DatasetError, message):
      train_data.load_examples('', split, root, 0, 2, 'train')

  def test_split_with_a_subset_of_the_classes_warns(self):
    root, split = self._split_file('a/g1.avi 0\nb/g2.avi 2\n')
    with self.assertLogs(level='WARNING') as logs:
      examples, _ = train_data.load_examples('', split, root, 0, 5, 'train')
    self.assertEqual([e.label for e in examples], [0, 2])
    self.assertRegex('\n'.join(logs.output),
                     r'train.txt lists videos of 2 of num_classes=5 classes; '
                     r'class\(es\) 1, 3, 4 have no videos')


if __name__ == '__main__':
  tf.test.main()
