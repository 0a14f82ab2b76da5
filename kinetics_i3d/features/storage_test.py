"""Tests for storage.py: the output storage interface (I3D, CVPR 2017)."""

import os

from absl.testing import absltest

from kinetics_i3d.features import fixtures
from kinetics_i3d.features import storage
from kinetics_i3d.utils import atomic_files


class LocalStorageTest(absltest.TestCase):

  def test_implements_the_interface(self):
    fixtures.assert_implements_storage(self, storage.LocalStorage())

  def test_every_method(self):
    local = storage.LocalStorage()
    folder = os.path.join(fixtures.new_tempdir(self), 'a', 'b')
    self.assertEqual(local.list_names(folder), [])
    local.check_writable(folder)
    self.assertFalse(local.exists(folder))  # The probe leaves nothing.
    local.makedirs(folder)
    path = local.join(folder, 'x.json')
    self.assertEqual(path, os.path.join(folder, 'x.json'))
    local.write_bytes(path, b'1')
    local.write_bytes(path, b'2')
    self.assertTrue(local.exists(path))
    self.assertEqual(local.read_bytes(path), b'2')
    stale = atomic_files.temporary_name(path)
    open(stale, 'wb').close()
    local.remove_stale_temporaries(folder, 'x.json')
    self.assertEqual(local.list_names(folder), ['x.json'])

  def test_unwritable_folders(self):
    blocker = os.path.join(fixtures.new_tempdir(self), 'file')
    open(blocker, 'w').close()
    for output_dir in (os.path.join(blocker, 'out'), '/proc/feats'):
      # /proc: permission bits let root write; only a probe tells.
      with self.assertRaisesRegex(ValueError,
                                  r'--output_dir=.*cannot be written'):
        storage.LocalStorage().check_writable(output_dir)
    self.assertFalse(os.path.exists('/proc/feats'))

  def test_the_run_loop_writes_through_it(self):
    written = fixtures.outputs_through(self, storage.LocalStorage())
    self.assertCountEqual(written, [
        'clip_rgb.npy', 'records/clip.json', storage.MANIFEST_NAME,
        storage.CONFIG_NAME])


if __name__ == '__main__':
  absltest.main()
