# Copyright 2026 The kinetics-i3d TF2 authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
"""Tests of FVD's sets on disk (Unterthiner et al. 2018): every kind, read.

Video files are written losslessly (FFV1), so a decoded clip must equal the
frames written, bit for bit, whatever the frame rate; frame folders and
arrays likewise; damaged inputs are refused with their names.
"""

import fractions
import os
import shutil

from absl.testing import absltest
import numpy as np
from PIL import Image

from kinetics_i3d.metrics.fvd import oracles
from kinetics_i3d.metrics.fvd import video_sets
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.sampling import ClipSampling
from kinetics_i3d.metrics.fvd.stats import Statistics


class VideoSetsTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = oracles.make_tempdir(self)
    self.videos = oracles.blob_videos(4, 3, 24, 32, num_frames=12)

  def _path(self, name):
    return os.path.join(self.folder, name)

  def test_video_files_decode_every_stored_frame(self):
    os.mkdir(self._path('videos'))
    # 10 fps, NTSC 29.97 and 25 fps: frames as stored, never resampled.
    for name, video, rate in zip(('a.mkv', 'b.avi', 'c.mkv'), self.videos,
                                 (10, fractions.Fraction(30000, 1001), 25)):
      oracles.encode_lossless(os.path.join(self._path('videos'), name), video,
                              rate)
    video_set = video_sets.open_set(self._path('videos'))
    self.assertEqual((video_set.kind, video_set.names),
                     ('videos', ['a.mkv', 'b.avi', 'c.mkv']))
    for index in range(3):
      np.testing.assert_array_equal(
          video_set.clip(index, ClipSampling()), self.videos[index])
      np.testing.assert_array_equal(
          video_set.clip(index, ClipSampling(9, 1, 'first')),
          self.videos[index, :9])
      sampling = ClipSampling(9, 1, 'random', seed=1)
      start = sampling.indices(12, video_set.names[index], '')[0]
      np.testing.assert_array_equal(video_set.clip(index, sampling),
                                    self.videos[index, start:start + 9])

  def test_frame_folders_and_arrays(self):
    for index, video in enumerate(self.videos):
      folder = self._path(f'frames/video_{index}')
      os.makedirs(folder)
      for t, frame in enumerate(video):
        Image.fromarray(frame).save(os.path.join(folder, f'{t:04d}.png'))
    frames = video_sets.open_set(self._path('frames'))
    self.assertEqual(frames.kind, 'frames')
    np.save(self._path('videos.npy'), self.videos)
    np.savez(self._path('videos.npz'), self.videos / 255.)
    array = video_sets.open_set(self._path('videos.npy'), 255)
    unit = video_sets.open_set(self._path('videos.npz'), 1)
    sampling = ClipSampling(9, 1, 'first')
    for index in range(3):
      np.testing.assert_array_equal(frames.clip(index, sampling),
                                    self.videos[index, :9])
      np.testing.assert_array_equal(array.clip(index, sampling),
                                    self.videos[index, :9])
      np.testing.assert_allclose(unit.clip(index, sampling) * 255,
                                 self.videos[index, :9], atol=1e-9)
    self.assertEqual(video_sets.clip_length(array, sampling), 9)

  def test_npz_sets_stream_rows(self):
    for kind, save in (('npz', np.savez), ('compressed', np.savez_compressed)):
      path = self._path(f'{kind}.npz')
      save(path, videos=self.videos)
      video_set = video_sets.open_set(path, 255)
      sampling = ClipSampling(10)
      for index in (2, 0, 1):  # Backwards too.
        np.testing.assert_array_equal(video_set.clip(index, sampling),
                                      self.videos[index, :10])

  def test_statistics_files_open_as_statistics(self):
    path = self._path('stats.npz')
    Statistics.from_embeddings(oracles.random_embeddings(3, 0),
                               'stylegan_v').save(path)
    self.assertIsInstance(video_sets.open_set(path, protocol='stylegan_v'),
                          Statistics)
    with self.assertRaisesRegex(FVDError, "statistics of protocol "
                                "'stylegan_v'"):
      video_sets.open_set(path)

  def test_bad_arrays(self):
    path = self._path('videos.npy')
    np.save(path, self.videos)
    cut = self._path('cut.npy')
    shutil.copy(path, cut)
    with open(cut, 'r+b') as f:
      f.truncate(os.path.getsize(cut) - 1)
    np.savez(self._path('two.npz'), a=self.videos, b=self.videos)
    np.save(self._path('bools.npy'), self.videos > 3)
    with open(self._path('videos.txt'), 'w') as f:
      f.write('not a set')
    cases = (
        (cut, 255, r'cut\.npy: truncated'),
        (self._path('two.npz'), 255, r"two\.npz: holds arrays \['a', 'b'\]"),
        (self._path('bools.npy'), 255, 'expected uint8 or float values'),
        (path, None, r'set=.*videos\.npy: an array needs its value range'),
        (path, 2, 'value_range must be 255'),
        (self._path('videos.txt'), 255, r'videos\.txt: give a folder'),
    )
    for set_path, value_range, pattern in cases:
      with self.subTest(pattern):
        with self.assertRaisesRegex(FVDError, pattern):
          video_sets.open_set(set_path, value_range)

  def test_bad_video_files(self):
    os.mkdir(self._path('bad'))
    oracles.encode_lossless(self._path('bad/a.mkv'), self.videos[0])
    with open(self._path('bad/b.mp4'), 'wb') as f:
      f.write(b'this is not a video' * 100)
    long_video = np.repeat(self.videos[1], 10, axis=0)  # 120 frames.
    oracles.encode_lossless(self._path('whole.mkv'), long_video)
    with open(self._path('whole.mkv'), 'rb') as f:
      data = f.read()
    with open(self._path('bad/c.mkv'), 'wb') as f:
      f.write(data[:len(data) // 4])
    video_set = video_sets.open_set(self._path('bad'))
    sampling = ClipSampling(9)
    self.assertEqual(video_set.clip(0, sampling).shape, (9, 24, 32, 3))
    with self.assertRaisesRegex(FVDError, r'b\.mp4: '):
      video_set.clip(1, sampling)
    with self.assertRaisesRegex(FVDError, r'c\.mkv: .*truncated'):
      video_set.clip(2, ClipSampling())
    os.mkdir(self._path('mixed'))
    os.mkdir(self._path('mixed/frames'))
    oracles.encode_lossless(self._path('mixed/a.mkv'), self.videos[0])
    with self.assertRaisesRegex(FVDError, 'both video files'):
      video_sets.open_set(self._path('mixed'))
    with self.assertRaisesRegex(FVDError, r'absent: no such file'):
      video_sets.open_set(self._path('absent'))

  def test_bad_frame_folders(self):
    os.makedirs(self._path('frames/v0'))
    os.makedirs(self._path('frames/v1'))
    os.makedirs(self._path('frames/v2'))
    for t in range(9):
      for video in ('v0', 'v1'):
        size = (32, 24) if video == 'v1' and t == 4 else (32, 32)
        Image.fromarray(np.zeros((*size, 3), np.uint8)).save(
            self._path(f'frames/{video}/{t}.png'))
    with open(self._path('frames/v0/5.png'), 'wb') as f:
      f.write(b'not a png')
    frames = video_sets.open_set(self._path('frames'))
    with self.assertRaisesRegex(FVDError, r'v0/5\.png: not a readable'):
      frames.clip(0, ClipSampling())
    with self.assertRaisesRegex(FVDError, r'v1/4\.png: frame of size'):
      frames.clip(1, ClipSampling())
    with self.assertRaisesRegex(FVDError, r'v2: no frame images \(\.bmp'):
      frames.clip(2, ClipSampling())
    os.mkdir(self._path('empty'))
    with self.assertRaisesRegex(FVDError, r'empty: no video files \(\.3gp'):
      video_sets.open_set(self._path('empty'))


if __name__ == '__main__':
  absltest.main()
