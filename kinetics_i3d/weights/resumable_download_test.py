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
"""Tests for resumable_download.py and the loopback mirror it is tested on.

(The downloads of DeepMind's I3D release: Carreira & Zisserman, "Quo Vadis,
Action Recognition?", CVPR 2017.) One `loopback_mirror.LoopbackMirror` for
the module serves a 10 kB file; chunks are cut to 1 kB so that one file
makes ten progress lines.
"""

import os
import re
import shutil
import tempfile
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized

from kinetics_i3d.weights import loopback_mirror
from kinetics_i3d.weights import resumable_download

_PATH = 'data/file.bin'
_DATA = bytes(range(250)) * 40  # 10,000 bytes.
_HALF = len(_DATA) // 2


class DownloadTest(parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp(prefix='resumable_download_test_')
    cls.addClassCleanup(shutil.rmtree, cls.root, True)
    os.makedirs(os.path.join(cls.root, 'data'))
    with open(os.path.join(cls.root, *_PATH.split('/')), 'wb') as f:
      f.write(_DATA)
    cls.mirror = loopback_mirror.LoopbackMirror(cls.root)
    cls.addClassCleanup(cls.mirror.stop)
    cls.url = f'{cls.mirror.url}/{_PATH}'

  def setUp(self):
    super().setUp()
    self.mirror.reset()
    folder = tempfile.mkdtemp(prefix='resumable_download_test_')
    self.addCleanup(shutil.rmtree, folder, True)
    self.partial = os.path.join(folder, 'file.bin.part')
    self.enter_context(mock.patch.object(resumable_download, '_CHUNK', 1000))
    self.sleep = self.enter_context(
        mock.patch.object(resumable_download.time, 'sleep'))

  def download(self, expected=len(_DATA), attempts=1, url=None):
    resumable_download.download(url or self.url, self.partial, expected,
                                'file.bin', attempts)

  def read_partial(self):
    with open(self.partial, 'rb') as f:
      return f.read()

  def test_downloads_and_logs_each_tenth(self):
    with self.assertLogs(logger='absl', level='INFO') as logs:
      self.download()
    self.assertEqual(self.read_partial(), _DATA)
    self.assertEqual(self.mirror.requests, [(f'/mirror/{_PATH}', None)])
    percents = [int(p) for p in re.findall(
        r'file.bin: [\d.]+ KiB/9.8 KiB \((\d+)%\), [\d.]+ [KM]iB/s',
        '\n'.join(logs.output))]
    self.assertEqual(percents, list(range(10, 101, 10)))

  def test_unknown_size_is_taken_from_the_server(self):
    self.download(expected=None)
    self.assertEqual(self.read_partial(), _DATA)

  def test_partial_file_is_resumed(self):
    with open(self.partial, 'wb') as f:
      f.write(_DATA[:_HALF])
    with self.assertLogs(logger='absl', level='INFO') as logs:
      self.download()
    self.assertEqual(self.read_partial(), _DATA)
    self.assertEqual(self.mirror.requests,
                     [(f'/mirror/{_PATH}', f'bytes={_HALF}-')])
    self.assertIn('resuming at 4.9 KiB', '\n'.join(logs.output))

  def test_complete_partial_file_is_not_fetched_again(self):
    with open(self.partial, 'wb') as f:
      f.write(_DATA)
    self.download()
    self.assertEqual(self.mirror.requests, [])

  def test_dropped_connection_resumes_in_the_same_call(self):
    self.mirror.reset(faults={_PATH: 'drop'}, drops=1)
    self.download(attempts=2)
    self.assertEqual(self.read_partial(), _DATA)
    self.assertEqual(self.mirror.requests,
                     [(f'/mirror/{_PATH}', None),
                      (f'/mirror/{_PATH}', f'bytes={_HALF}-')])
    self.sleep.assert_called_once_with(1.0)

  def test_last_attempt_keeps_the_partial_file(self):
    self.mirror.reset(faults={_PATH: 'drop'}, drops=1)
    with self.assertRaisesRegex(
        resumable_download.DownloadError,
        rf'^download interrupted \(the connection closed after {_HALF} of '
        rf'{len(_DATA)} bytes\); {_HALF} bytes are kept in .*file.bin.part '
        'and the next run resumes from there$'):
      self.download()
    self.assertEqual(self.read_partial(), _DATA[:_HALF])

  def test_server_ignoring_range_starts_again(self):
    with open(self.partial, 'wb') as f:
      f.write(b'x' * _HALF)
    self.mirror.reset(faults={_PATH: 'ignore_range'})
    self.download()
    self.assertEqual(self.read_partial(), _DATA)

  @parameterized.named_parameters(
      ('html', 'html', r'^the server answered with an HTML page'),
      ('html_as_binary', 'html_as_binary',
       r'^the server offers 60 bytes, the pinned size is 10000$'),
  )
  def test_answer_that_cannot_be_the_file_drops_the_partial(self, fault,
                                                            pattern):
    with open(self.partial, 'wb') as f:
      f.write(_DATA[:_HALF])
    self.mirror.reset(faults={_PATH: fault})
    with self.assertRaisesRegex(resumable_download.DownloadError, pattern):
      self.download(attempts=3)
    self.assertFalse(os.path.exists(self.partial))
    self.assertLen(self.mirror.requests, 1)  # Not retried.

  def test_unreachable_or_missing_keeps_the_partial(self):
    with open(self.partial, 'wb') as f:
      f.write(_DATA[:_HALF])
    with self.assertRaisesRegex(resumable_download.DownloadError,
                                r'^cannot fetch it \(.*refused.*\)$'):
      self.download(url=loopback_mirror.closed_port_url() + '/' + _PATH)
    self.mirror.reset(faults={_PATH: '404'})
    with self.assertRaisesRegex(resumable_download.DownloadError,
                                '^HTTP error 404 Not Found$'):
      self.download()
    self.assertEqual(self.read_partial(), _DATA[:_HALF])

  def test_not_a_url(self):
    with self.assertRaisesRegex(resumable_download.DownloadError,
                                r'^not a URL .*; check KINETICS_I3D_URL$'):
      self.download(url='mirror.example/k/data/file.bin')

  @parameterized.parameters(
      ('bytes 5-9/10', (5, 10)),
      ('bytes 5-9/*', (5, None)),
      ('items 5-9/10', (None, 10)),
      ('garbage', (None, None)),
      (None, (None, None)),
  )
  def test_content_range_start(self, value, expected):
    # pylint: disable=protected-access
    self.assertEqual(resumable_download._content_range_start(value), expected)


if __name__ == '__main__':
  absltest.main()
