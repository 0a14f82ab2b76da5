"""Tests for beam_storage.py: outputs on Beam's file systems (I3D, 2017)."""

import os

from absl.testing import absltest

from kinetics_i3d.features import beam_storage
from kinetics_i3d.features import fixtures
from kinetics_i3d.features import storage
from kinetics_i3d.utils import atomic_files


class BeamStorageTest(absltest.TestCase):

  def test_implements_the_interface(self):
    fixtures.assert_implements_storage(self, beam_storage.BeamStorage())

  def test_storage_writes_atomically(self):
    folder = fixtures.new_tempdir(self)
    beam = beam_storage.BeamStorage()
    path = beam.join(folder, 'a.json')
    beam.write_bytes(path, b'{"x": 1}')
    beam.write_bytes(path, b'{"x": 2}')
    self.assertEqual(beam.read_bytes(path), b'{"x": 2}')
    self.assertEqual(beam.list_names(folder), ['a.json'])
    self.assertTrue(beam.exists(path))

  def test_other_methods(self):
    beam = beam_storage.BeamStorage()
    folder = os.path.join(fixtures.new_tempdir(self), 'a', 'b')
    self.assertEqual(beam.list_names(folder), [])
    beam.check_writable(folder)
    beam.makedirs(folder)
    self.assertTrue(os.path.isdir(folder))
    path = beam.join(folder, 'x.npy')
    beam.write_bytes(path, b'1')
    stale = atomic_files.temporary_name(path)
    open(stale, 'wb').close()
    beam.remove_stale_temporaries(folder, 'x.npy')
    beam.remove_stale_temporaries(folder, 'absent.npy')
    self.assertEqual(beam.list_names(folder), ['x.npy'])

  def test_the_run_loop_writes_the_same_files_as_locally(self):
    self.assertEqual(
        fixtures.outputs_through(self, beam_storage.BeamStorage()),
        fixtures.outputs_through(self, storage.LocalStorage()))

  def test_storage_for(self):
    self.assertIsInstance(beam_storage.storage_for('/tmp/x'),
                          storage.LocalStorage)
    self.assertIsInstance(beam_storage.storage_for('gs://bucket/x'),
                          beam_storage.BeamStorage)
    with beam_storage.localized('/tmp/x.mp4') as local:
      self.assertEqual(local, '/tmp/x.mp4')


if __name__ == '__main__':
  absltest.main()
