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
"""Tests for release_pins.py: the pins of DeepMind's I3D release.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.) Blob
ids are checked against `git hash-object` and a SHA-1 computed here.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d import paths
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import release_pins


def _blob_id(data):
  """Git's blob id, computed here without release_pins.py."""
  return hashlib.sha1(b'blob ' + str(len(data)).encode() + b'\x00' +
                      data).hexdigest()


def _write(path, data):
  with open(path, 'wb') as f:
    f.write(data)


class PinTableTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.table = release_pins.deepmind_pins()
    self.folder = tempfile.mkdtemp(prefix='release_pins_test_')
    self.addCleanup(shutil.rmtree, self.folder, True)

  def test_names_are_the_checkpoints_of_the_loader(self):
    self.assertCountEqual(self.table.checkpoint_names,
                          checkpoints.ORIGINAL_CHECKPOINTS)
    self.assertEqual(self.table.names,
                     self.table.checkpoint_names + ('cricket_sample',))

  def test_every_file_is_pinned(self):
    self.assertEqual(self.table.commit,
                     '0667e889a5904b4dc122e0ded4c332f49f8df42c')
    pinned = []
    for name in self.table.names:
      pinned.extend(release_pins.release_paths(name))
    self.assertCountEqual(pinned, self.table.files)
    self.assertLen(pinned, 12)
    for path, pin in self.table.files.items():
      self.assertRegex(pin.blob, r'^[0-9a-f]{40}$', msg=path)
      self.assertNotIn('.meta', path)
    self.assertLen({pin.blob for pin in self.table.files.values()}, 12)

  def test_read_once_and_cached(self):
    self.assertIs(release_pins.deepmind_pins(), self.table)

  def test_data_size_is_that_of_the_layout(self):
    # checkpoint_layouts.json lists every tensor's shape and dtype: the data
    # file is their bytes end to end (TF writes them without padding).
    layouts = reference_forward.load_layouts()
    for name in checkpoints.ORIGINAL_CHECKPOINTS:
      expected = sum(int(np.prod(info['shape'])) * np.dtype(info['dtype'])
                     .itemsize for info in layouts[name].values())
      data, index = release_pins.release_paths(name)
      self.assertEqual(self.table.files[data].size, expected, msg=name)
      self.assertBetween(self.table.files[index].size, 10_000, 20_000)

  def test_not_a_pin_table(self):
    path = os.path.join(self.folder, 'pins.json')
    with open(path, 'w', encoding='utf-8') as f:
      json.dump({'repository': 'a/b', 'files': {}}, f)
    with self.assertRaisesRegex(ValueError, r"pins.json: not a pin table "
                                r"\(KeyError\('commit'\) missing\)"):
      release_pins.load_pins(path)

  def test_release_and_local_paths(self):
    self.assertEqual(
        release_pins.release_paths('flow_imagenet'),
        ('data/checkpoints/flow_imagenet/model.ckpt.data-00000-of-00001',
         'data/checkpoints/flow_imagenet/model.ckpt.index'))
    self.assertEqual(
        release_pins.local_paths('flow_imagenet'),
        [os.path.join(paths.CHECKPOINT_DIR, 'flow_imagenet', f)
         for f in ('model.ckpt.data-00000-of-00001', 'model.ckpt.index')])
    self.assertEqual(
        release_pins.local_paths('cricket_sample', data_dir='/d'),
        ['/d/v_CricketShot_g04_c01_rgb.npy',
         '/d/v_CricketShot_g04_c01_flow.npy'])

  def test_unknown_name(self):
    for name in ('rgb_kinetics', 'videos', '../data', ''):
      with self.assertRaisesRegex(ValueError, r'Unknown release name.*choose '
                                  r'one of rgb_imagenet, .*cricket_sample'):
        release_pins.release_paths(name)

  def test_git_blob_id_matches_git(self):
    git = shutil.which('git')
    if git is None:
      self.skipTest('git is not installed')
    path = os.path.join(self.folder, 'f.bin')
    data = bytes(range(256)) * 5
    _write(path, data)
    expected = subprocess.run([git, 'hash-object', path], check=True,
                              capture_output=True, text=True).stdout.strip()
    self.assertEqual(release_pins.git_blob_id(path), expected)
    self.assertEqual(_blob_id(data), expected)

  def test_mismatch_names_the_size_then_the_blob_id(self):
    path = os.path.join(self.folder, 'f.bin')
    data = b'pinned bytes'
    _write(path, data)
    pin = release_pins.Pin(blob=_blob_id(data), size=len(data))
    self.assertIsNone(release_pins.mismatch(path, pin))
    self.assertIsNone(release_pins.mismatch(
        path, release_pins.Pin(blob=pin.blob)))
    _write(path, data + b'!')
    self.assertEqual(release_pins.mismatch(path, pin),
                     f'{len(data) + 1} bytes, not the pinned {len(data)}')
    # Same size: only the blob id tells.
    changed = bytearray(data)
    changed[7] ^= 0x40
    _write(path, bytes(changed))
    self.assertEqual(release_pins.mismatch(path, pin),
                     f'git blob id {_blob_id(bytes(changed))}, not the pinned '
                     f'{pin.blob}')


if __name__ == '__main__':
  absltest.main()
