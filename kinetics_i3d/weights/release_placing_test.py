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
"""Tests for release_placing.py: verified I3D files into place, all or none.

(DeepMind's release of Carreira & Zisserman, CVPR 2017.) The fetches that
end in these checks are tested end to end in release_test.py.
"""

import os
import shutil
import tempfile
from unittest import mock

from absl.testing import absltest

from kinetics_i3d.weights import release_placing
from kinetics_i3d.weights import release_urls


def _read(path):
  with open(path, 'rb') as f:
    return f.read()


def _write(path, data):
  with open(path, 'wb') as f:
    f.write(data)


class PublishTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.work = tempfile.mkdtemp(prefix='release_placing_test_')
    self.addCleanup(shutil.rmtree, self.work, True)
    self.sources = [os.path.join(self.work, n) for n in ('a.part', 'b.part')]
    for source, data in zip(self.sources, (b'data', b'index')):
      _write(source, data)

  def test_creates_folders_and_moves_every_file(self):
    folder = os.path.join(self.work, 'checkpoints', 'flow_scratch')
    targets = [os.path.join(folder, n) for n in ('model.ckpt.data',
                                                 'model.ckpt.index')]
    with self.assertLogs(logger='absl', level='INFO') as logs:
      release_placing.publish(list(zip(self.sources, targets)),
                              '--checkpoint_dir')
    self.assertEqual([_read(t) for t in targets], [b'data', b'index'])
    self.assertEqual([os.path.exists(s) for s in self.sources], [False] * 2)
    self.assertEqual(logs.output, [
        f'INFO:absl:Creating folder {os.path.dirname(folder)}',
        f'INFO:absl:Creating folder {folder}'])

  def test_a_failed_write_replaces_nothing(self):
    targets = [os.path.join(self.work, n) for n in ('data', 'index')]
    _write(targets[0], b'old')
    with mock.patch.object(os, 'replace',
                           side_effect=OSError(28, 'No space left')):
      with self.assertRaisesRegex(
          release_urls.ReleaseError,
          r'^Cannot write .*: No space left \(\[Errno 28\]\); nothing was '
          r'replaced\. Check the folder or pass another --data_dir\.$'):
        release_placing.publish(list(zip(self.sources, targets)),
                                '--data_dir')
    self.assertEqual(_read(targets[0]), b'old')
    self.assertFalse(os.path.exists(targets[1]))

  def test_file_in_the_way_of_the_folder(self):
    in_the_way = os.path.join(self.work, 'checkpoints')
    _write(in_the_way, b'not a folder')
    with self.assertRaisesRegex(
        release_urls.ReleaseError,
        rf'^{in_the_way} is a file, so {in_the_way}/rgb_imagenet cannot be a '
        r'folder \(\[Errno 17\] File exists\); move it away or pass another '
        r'--checkpoint_dir\.$'):
      release_placing.check_creatable(os.path.join(in_the_way, 'rgb_imagenet'),
                                      '--checkpoint_dir')


if __name__ == '__main__':
  absltest.main()
