"""Tests for clip_cache.py: the preprocessed-video cache of I3D's training.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.) The
videos are synthetic (`train_data_test.write_synthetic_dataset`), tiny.
"""

import os
from unittest import mock

import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import backends
from kinetics_i3d.training import clip_cache
from kinetics_i3d.training import datasets
from kinetics_i3d.training import train_data_test
from kinetics_i3d.utils import progress

_tempdir = train_data_test.tempdir
write_synthetic_dataset = train_data_test.write_synthetic_dataset


class CacheTest(tf.test.TestCase):

  def test_cache_is_built_once_and_broken_videos_are_skipped(self):
    root = _tempdir(self)
    write_synthetic_dataset(root, num_classes=2, per_class=1, broken=1)
    examples, _ = datasets.list_video_folder(root)
    cache = _tempdir(self)
    with self.assertLogs(level='WARNING') as logs:
      cached = clip_cache.build_cache(examples, cache, 'rgb', resize=24)
    self.assertLen(cached, 2)
    self.assertIn('broken0.avi', ' '.join(logs.output))
    array = np.load(cached[0].cache_path)
    self.assertEqual(array.dtype, np.uint8)
    self.assertEqual(min(array.shape[1:3]), 24)  # 40x48 -> 24x~29.
    self.assertEqual(array.shape[3], 3)
    mtimes = [os.stat(c.cache_path).st_mtime_ns for c in cached]
    again = clip_cache.build_cache(examples, cache, 'rgb', resize=24)
    self.assertEqual([c.cache_path for c in again],
                     [c.cache_path for c in cached])
    self.assertEqual([os.stat(c.cache_path).st_mtime_ns for c in again],
                     mtimes)
    # Flow: one field fewer than frames, two channels.
    flow = clip_cache.build_cache(examples, cache, 'flow', resize=24)
    self.assertEqual(np.load(flow[0].cache_path).shape,
                     (len(array) - 1,) + array.shape[1:3] + (2,))

  def test_all_unreadable_is_an_error(self):
    root = _tempdir(self)
    os.makedirs(os.path.join(root, 'c'))
    with open(os.path.join(root, 'c', 'x.mp4'), 'wb') as f:
      f.write(b'garbage')
    examples, _ = datasets.list_video_folder(root)
    with self.assertRaisesRegex(datasets.DatasetError,
                                'None of the 1 videos'):
      clip_cache.build_cache(examples, _tempdir(self), 'rgb')

  def test_flow_cache_is_keyed_on_the_algorithm(self):
    root = _tempdir(self)
    write_synthetic_dataset(root, num_classes=1, per_class=1)
    examples, _ = datasets.list_video_folder(root)
    video = examples[0].path
    cache = _tempdir(self)
    identity = backends.identity(backends.OPENCV)
    changed = dict(identity, params=dict(identity['params'], tau=0.5))
    key = lambda stream, ident: clip_cache.cache_file(cache, video, stream, 24,
                                                      ident)
    self.assertNotEqual(key('flow', identity), key('flow', changed))
    self.assertNotEqual(key('flow', identity),
                        key('flow', backends.identity(backends.TF)))
    # None means the default backend; RGB does not depend on the flow's.
    self.assertEqual(key('flow', None),
                     key('flow', backends.identity(backends.default_backend())))
    self.assertEqual(key('rgb', identity), key('rgb', changed))

    first = clip_cache.build_cache(examples, cache, 'flow', resize=24,
                                   flow_backend=backends.OPENCV)
    mtime = os.stat(first[0].cache_path).st_mtime_ns
    with mock.patch.object(backends, 'identity', return_value=changed):
      second = clip_cache.build_cache(examples, cache, 'flow', resize=24,
                                      flow_backend=backends.OPENCV)
    self.assertNotEqual(first[0].cache_path, second[0].cache_path)
    self.assertTrue(os.path.exists(second[0].cache_path))
    self.assertEqual(os.stat(first[0].cache_path).st_mtime_ns, mtime)
    with self.assertRaisesRegex(ValueError, 'flow_backend'):
      clip_cache.build_cache(examples, cache, 'flow', flow_backend='farneback')

  def test_progress_is_logged(self):
    root = _tempdir(self)
    write_synthetic_dataset(root, num_classes=2, per_class=1)
    examples, _ = datasets.list_video_folder(root)
    # Every update logged, as a long run logs every LOG_EVERY_S seconds.
    with mock.patch.object(progress, 'LOG_EVERY_S', 0.):
      with self.assertLogs(level='INFO') as logs:
        clip_cache.build_cache(examples, _tempdir(self), 'flow', resize=24,
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
    examples, class_names = datasets.list_video_folder(root)
    cached = clip_cache.build_cache(examples, _tempdir(self), 'rgb', resize=24)
    self.assertLen(cached, 2)
    with self.assertLogs(level='WARNING') as logs:
      empty = clip_cache.warn_empty_classes(examples, cached, class_names)
    self.assertEqual(empty, [1, 3])
    text = '\n'.join(logs.output)
    self.assertRegex(text, r'class 1 \(class_1\) has no usable video: its 1 '
                     r'video\(s\) could not be read \(e.g. .*class_1/v0.avi')
    self.assertIn('class 3 (class_3) has no video', text)
    self.assertNotIn('class 0', text)


if __name__ == '__main__':
  tf.test.main()
