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
"""Tests for loopback_mirror.py, the stand-in for DeepMind's I3D release.

(Carreira & Zisserman, CVPR 2017.) Read with plain urllib: what the mirror
serves is what the download tests assume it serves.
"""

import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request

from absl.testing import absltest

from kinetics_i3d.weights import loopback_mirror

_DATA = b'0123456789'


class LoopbackMirrorTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = tempfile.mkdtemp(prefix='loopback_mirror_test_')
    cls.addClassCleanup(shutil.rmtree, root, True)
    with open(os.path.join(root, 'f.bin'), 'wb') as f:
      f.write(_DATA)
    cls.mirror = loopback_mirror.LoopbackMirror(root)
    cls.addClassCleanup(cls.mirror.stop)

  def setUp(self):
    super().setUp()
    self.mirror.reset()

  def get(self, byte_range=None):
    headers = {'Range': byte_range} if byte_range else {}
    request = urllib.request.Request(f'{self.mirror.url}/f.bin',
                                     headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
      return response.status, response.headers, response.read()

  def test_whole_file_and_range(self):
    status, _, body = self.get()
    self.assertEqual((status, body), (200, _DATA))
    status, headers, body = self.get('bytes=4-')
    self.assertEqual((status, body), (206, _DATA[4:]))
    self.assertEqual(headers['Content-Range'], 'bytes 4-9/10')
    self.assertEqual(self.mirror.requests,
                     [('/mirror/f.bin', None), ('/mirror/f.bin', 'bytes=4-')])

  def test_faults(self):
    self.mirror.reset(faults={'f.bin': 'ignore_range'})
    self.assertEqual(self.get('bytes=4-')[::2], (200, _DATA))
    self.mirror.reset(faults={'f.bin': 'html'})
    self.assertEqual(self.get()[1].get_content_type(), 'text/html')
    self.mirror.reset(faults={'f.bin': '404'})
    with self.assertRaisesRegex(urllib.error.HTTPError, '404'):
      self.get()
    self.mirror.reset(faults={'f.bin': 'drop'}, drops=1)
    with self.assertRaises(http.client.IncompleteRead):
      self.get()
    self.assertEqual(self.get()[2], _DATA)  # One drop only.

  def test_closed_port(self):
    with self.assertRaises(urllib.error.URLError):
      urllib.request.urlopen(loopback_mirror.closed_port_url(), timeout=30)


if __name__ == '__main__':
  absltest.main()
