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
"""Tests of the row-by-row array readers FVD (Unterthiner et al. 2018) uses."""

import os
import shutil
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d.metrics import array_sources


def _videos(dtype=np.uint8) -> np.ndarray:
  rng = np.random.default_rng(0)
  return rng.integers(0, 256, [5, 3, 4, 6, 3]).astype(dtype)


class ArraySourcesTest(parameterized.TestCase):

  def _folder(self) -> str:
    # tempfile, not create_tempdir: that needs absl flags, unparsed under
    # pytest.
    folder = tempfile.mkdtemp(prefix='array_sources_test_')
    self.addCleanup(shutil.rmtree, folder)
    return folder

  def _write(self, kind: str, videos: np.ndarray) -> array_sources._RowSource:
    folder = self._folder()
    if kind == 'npy':
      path = os.path.join(folder, 'v.npy')
      np.save(path, videos)
      return array_sources.open_npy(path)
    path = os.path.join(folder, 'v.npz')
    save = np.savez if kind == 'npz' else np.savez_compressed
    save(path, videos=videos)
    return array_sources.open_npz_member(path, 'videos.npy')

  @parameterized.product(kind=['npy', 'npz', 'npz_compressed'],
                         dtype=[np.uint8, np.float32])
  def test_rows_and_slices_equal_the_array(self, kind, dtype):
    videos = _videos(dtype)
    source = self._write(kind, videos)
    self.assertEqual(source.shape, videos.shape)
    self.assertEqual(source.dtype, videos.dtype)
    self.assertLen(source, 5)
    # Forwards, backwards (a compressed stream restarts) and slices.
    for index in (0, 3, 1, 4, -1):
      np.testing.assert_array_equal(source[index], videos[index])
    np.testing.assert_array_equal(source[1:4], videos[1:4])
    np.testing.assert_array_equal(source[3:9], videos[3:])
    self.assertEqual(source[2:2].shape, (0,) + videos.shape[1:])
    with self.assertRaises(IndexError):
      source[5]  # pylint: disable=pointless-statement

  def test_a_row_read_is_a_private_copy(self):
    source = self._write('npy', _videos())
    row = source[0]
    row[...] = 0  # Writable, and the file is untouched.
    np.testing.assert_array_equal(source[0], _videos()[0])

  def test_truncated_npy_is_refused_naming_the_missing_bytes(self):
    path = os.path.join(self._folder(), 'cut.npy')
    np.save(path, _videos())
    size = os.path.getsize(path)
    with open(path, 'r+b') as f:
      f.truncate(size - 100)
    with self.assertRaisesRegex(array_sources.ArrayFileError,
                                r'cut\.npy: truncated: .*1080 bytes.*980'):
      array_sources.open_npy(path)

  def test_bad_files_are_refused(self):
    folder = self._folder()
    garbage = os.path.join(folder, 'garbage.npy')
    with open(garbage, 'wb') as f:
      f.write(b'not numpy')
    with self.assertRaisesRegex(array_sources.ArrayFileError,
                                'garbage.npy: not a readable .npy'):
      array_sources.open_npy(garbage)
    fortran = os.path.join(folder, 'fortran.npy')
    np.save(fortran, np.asfortranarray(_videos()[:, :, :, :, 0]))
    with self.assertRaisesRegex(array_sources.ArrayFileError,
                                'Fortran order'):
      array_sources.open_npy(fortran)
    objects = os.path.join(folder, 'objects.npz')
    np.savez(objects, videos=np.array([None, 1], dtype=object))
    with self.assertRaisesRegex(array_sources.ArrayFileError,
                                'Python objects'):
      array_sources.open_npz_member(objects, 'videos.npy')
    with self.assertRaisesRegex(array_sources.ArrayFileError,
                                'missing.npy: cannot read it'):
      array_sources.open_npy(os.path.join(folder, 'missing.npy'))


if __name__ == '__main__':
  absltest.main()
