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
"""Tests for atomic_files (used by every tool of the I3D reimplementation)."""

import hashlib
import os
import shutil
import stat
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d.utils import atomic_files


class _Boom(Exception):
  pass


class AtomicFilesTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    # Not create_tempdir(): it needs absl flags, which pytest never parses.
    self.dir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.dir, True)

  def path(self, name: str) -> str:
    return os.path.join(self.dir, name)

  def test_write_bytes_and_overwrite(self):
    path = self.path('a.bin')
    atomic_files.write_bytes(path, b'\x00\x01first')
    atomic_files.write_bytes(path, b'second')
    with open(path, 'rb') as f:
      self.assertEqual(f.read(), b'second')
    self.assertEqual(os.listdir(self.dir), ['a.bin'])

  def test_write_text_is_utf8(self):
    path = self.path('a.txt')
    atomic_files.write_text(path, 'caf\u00e9\n')
    with open(path, 'rb') as f:
      self.assertEqual(f.read(), b'caf\xc3\xa9\n')

  def test_save_npy_round_trip_keeps_name(self):
    path = self.path('x.data')  # No '.npy' may be appended.
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    atomic_files.save_npy(path, array)
    self.assertEqual(os.listdir(self.dir), ['x.data'])
    np.testing.assert_array_equal(np.load(path, allow_pickle=False), array)

  def test_save_npy_refuses_objects_and_leaves_nothing(self):
    with self.assertRaises(ValueError):
      atomic_files.save_npy(self.path('y.npy'), np.array([{}], dtype=object))
    self.assertEqual(os.listdir(self.dir), [])

  @parameterized.parameters(False, True)
  def test_exception_in_writer_leaves_old_file_and_no_temporary(self, exists):
    path = self.path('a.txt')
    if exists:
      atomic_files.write_text(path, 'old')
    with self.assertRaises(_Boom):
      with atomic_files.open_atomically(path, 'w') as f:
        f.write('partial')
        raise _Boom()
    self.assertEqual(os.listdir(self.dir), ['a.txt'] if exists else [])
    if exists:
      with open(path) as f:
        self.assertEqual(f.read(), 'old')

  def test_temporary_is_hidden_beside_destination_and_marked(self):
    path = self.path('a.bin')
    with atomic_files.open_atomically(path) as f:
      (name,) = os.listdir(self.dir)
      self.assertEqual(os.path.dirname(f.name), self.dir)
      self.assertTrue(name.startswith('.a.bin' + atomic_files.TMP_MARK), name)
      self.assertFalse(os.path.exists(path))
    self.assertEqual(os.listdir(self.dir), ['a.bin'])

  @parameterized.parameters(0o022, 0o077, 0o002)
  def test_permissions_follow_umask(self, umask):
    path = self.path('a.bin')
    old = os.umask(umask)
    try:
      atomic_files.write_bytes(path, b'x')
    finally:
      os.umask(old)
    # What open() would give a new file under this umask.
    self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o666 & ~umask)

  def test_overwrite_false_refuses_and_keeps_old(self):
    path = self.path('a.txt')
    atomic_files.write_text(path, 'old', overwrite=False)
    with self.assertRaisesRegex(FileExistsError, 'a.txt exists'):
      atomic_files.write_text(path, 'new', overwrite=False)
    with open(path) as f:
      self.assertEqual(f.read(), 'old')
    self.assertEqual(os.listdir(self.dir), ['a.txt'])

  def test_staged_publishes_all_or_nothing(self):
    paths = [self.path('a'), self.path('b')]
    with self.assertRaises(_Boom):
      with atomic_files.staged(paths) as temporary:
        for path in paths:
          with open(temporary[path], 'w') as f:
            f.write(path)
        raise _Boom()
    self.assertEqual(os.listdir(self.dir), [])
    with atomic_files.staged(paths) as temporary:
      self.assertCountEqual(temporary, paths)
      for path in paths:
        with open(temporary[path], 'w') as f:
          f.write(path)
    for path in paths:
      with open(path) as f:
        self.assertEqual(f.read(), path)
    self.assertCountEqual(os.listdir(self.dir), ['a', 'b'])

  def test_staged_refusal_publishes_nothing(self):
    atomic_files.write_text(self.path('b'), 'old')
    with self.assertRaises(FileExistsError):
      with atomic_files.staged([self.path('a'), self.path('b')],
                               overwrite=False):
        pass
    self.assertEqual(os.listdir(self.dir), ['b'])

  def test_missing_folder_raises_and_creates_nothing(self):
    with self.assertRaises(FileNotFoundError):
      atomic_files.write_bytes(self.path('no/such/x.bin'), b'x')
    self.assertEqual(os.listdir(self.dir), [])

  def test_bad_mode(self):
    with self.assertRaisesRegex(ValueError, "mode='a'"):
      with atomic_files.open_atomically(self.path('x'), 'a'):
        pass

  def test_remove_temporaries_removes_only_that_files_leftovers(self):
    keep = ['a.npy', '.b.npy.tmp-123', '.a.npyx.tmp-1', 'a.npy.tmp-1']
    stale = ['.a.npy.tmp-1f2e', '.a.npy.tmp-']
    for name in keep + stale:
      with open(self.path(name), 'w'):
        pass
    atomic_files.remove_temporaries(self.path('a.npy'))
    self.assertCountEqual(os.listdir(self.dir), keep)


class FileChecksTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.root = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.root)

  def test_nearest_existing(self):
    root = self.root
    a_file = os.path.join(root, 'a_file')
    open(a_file, 'w').close()
    self.assertEqual(atomic_files.nearest_existing(root), root)
    self.assertEqual(
        atomic_files.nearest_existing(os.path.join(root, 'x', 'y')), root)
    self.assertEqual(
        atomic_files.nearest_existing(os.path.join(a_file, 'run')), a_file)
    self.assertEqual(atomic_files.nearest_existing('/'), '/')

  def test_sha256_file_spans_blocks(self):
    path = os.path.join(self.root, 'data')
    data = bytes(range(256)) * 5000  # Over one 1 MiB block.
    with open(path, 'wb') as f:
      f.write(data)
    self.assertEqual(atomic_files.sha256_file(path),
                     hashlib.sha256(data).hexdigest())


class RefuseExistingTest(absltest.TestCase):

  def test_existing_output_is_refused_with_the_flag(self):
    folder = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, folder)
    path = os.path.join(folder, 'refused.txt')
    atomic_files.refuse_existing(path, overwrite=False)  # Absent: fine.
    atomic_files.write_text(path, 'x')
    with self.assertRaisesRegex(FileExistsError,
                                r'^--output=.*refused\.txt exists; pass '
                                r'--overwrite to replace it\.$'):
      atomic_files.refuse_existing(path, overwrite=False, flag='--output')
    atomic_files.refuse_existing(path, overwrite=True)



class StagedDirectoryTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.dir, True)
    self.path = os.path.join(self.dir, 'new', 'model')

  def _fill(self, folder, text):
    with open(os.path.join(folder, 'weights.txt'), 'w') as f:
      f.write(text)

  def _read(self):
    with open(os.path.join(self.path, 'weights.txt')) as f:
      return f.read()

  def test_complete_at_the_end_and_no_leftovers(self):
    with atomic_files.staged_directory(self.path) as folder:
      self.assertEqual(os.listdir(folder), [])
      self.assertTrue(os.path.basename(folder).startswith(
          '.model' + atomic_files.TMP_MARK))
      self.assertEqual(os.path.dirname(folder), os.path.dirname(self.path))
      self._fill(folder, 'first')
      self.assertFalse(os.path.exists(self.path))  # Not before the end.
    self.assertEqual(self._read(), 'first')
    self.assertEqual(os.listdir(os.path.dirname(self.path)), ['model'])

  def test_exception_leaves_it_absent_or_as_it_was(self):
    with self.assertRaises(_Boom):
      with atomic_files.staged_directory(self.path) as folder:
        self._fill(folder, 'partial')
        raise _Boom()
    self.assertEqual(os.listdir(os.path.dirname(self.path)), [])
    with atomic_files.staged_directory(self.path) as folder:
      self._fill(folder, 'old')
    with self.assertRaises(_Boom):
      with atomic_files.staged_directory(self.path, overwrite=True) as folder:
        self._fill(folder, 'partial')
        raise _Boom()
    self.assertEqual(self._read(), 'old')
    self.assertEqual(os.listdir(os.path.dirname(self.path)), ['model'])

  def test_overwrite_replaces_and_refusal_keeps(self):
    os.makedirs(self.path)
    self._fill(self.path, 'old')
    with self.assertRaisesRegex(FileExistsError,
                                r'model exists and overwrite is off'):
      with atomic_files.staged_directory(self.path):
        self.fail('A refused folder is refused before any work.')
    self.assertEqual(self._read(), 'old')
    with self.assertRaisesRegex(FileExistsError, r'model2 exists'):
      with atomic_files.staged_directory(self.path + '2') as folder:
        os.makedirs(self.path + '2')  # Someone else made it meanwhile.
        self._fill(folder, 'new')
    self.assertEqual(os.listdir(self.path + '2'), [])
    with atomic_files.staged_directory(self.path, overwrite=True) as folder:
      self._fill(folder, 'new')
    self.assertEqual(self._read(), 'new')
    self.assertEqual(os.listdir(self.path), ['weights.txt'])
    self.assertCountEqual(os.listdir(os.path.dirname(self.path)),
                          ['model', 'model2'])


if __name__ == '__main__':
  absltest.main()
