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
"""Atomic file writes: a temporary file in the same folder, then a rename.

Every tool of this reimplementation of I3D (Joao Carreira, Andrew Zisserman,
"Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR
2017, https://arxiv.org/abs/1705.07750) writes its outputs (downloads,
reports, features, caches, GIFs) through this module, so that an interrupted
run never leaves a partial file under a final name.

A file is written under a hidden temporary name beside its destination,
`.{name}.tmp-{random}`, flushed to disk (fsync) and renamed over the final
path with `os.replace`, which is atomic within one file system. On any
exception the temporary file is removed and the destination is untouched. The
temporary file is created with mode 0o666, so the kernel applies the process
umask exactly as for `open(path, 'w')` (`tempfile.mkstemp` would make it
private, 0o600); nothing reads or sets the umask, which is not thread-safe.

  atomic_files.write_bytes('out/x.bin', data)
  atomic_files.save_npy('out/x.npy', array)
  with atomic_files.open_atomically('out/report.txt', 'w') as f:
    f.write(text)
  with atomic_files.staged(['a.npy', 'b.gif']) as temporary:
    ...  # Write temporary['a.npy'] and temporary['b.gif'] by path.
  with atomic_files.staged_directory('out/saved_model') as folder:
    ...  # Fill the empty folder; it becomes out/saved_model at the end.

Three helpers serve the checks around such writes: `nearest_existing(path)`,
where a folder about to be created would hang, `write_problem(path)`, why a
file or folder could not be written (probed before any work), and
`sha256_file(path)`, the digest that pins a written or downloaded file.
"""

import contextlib
import glob
import hashlib
import os
import secrets
import shutil
import tempfile
from typing import IO, Dict, Iterator, Optional, Sequence

import numpy as np

# Marks temporary files: `.{name}{TMP_MARK}{random}`. Tools that resume
# after a kill find and remove leftovers by it (`remove_temporaries`).
TMP_MARK = '.tmp-'

_OPEN_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL |
               getattr(os, 'O_BINARY', 0) | getattr(os, 'O_CLOEXEC', 0))


def temporary_name(path: str) -> str:
  """A fresh temporary file name beside `path`: `.{name}.tmp-{random}`."""
  folder, name = os.path.split(path)
  return os.path.join(folder, f'.{name}{TMP_MARK}{secrets.token_hex(6)}')


def _create_temporary(path: str) -> str:
  """Creates an empty temporary file beside `path`; returns its name."""
  for _ in range(100):
    temporary = temporary_name(path)
    try:
      # 0o666 & ~umask, as for any new file; O_EXCL: never share a file.
      os.close(os.open(temporary, _OPEN_FLAGS, 0o666))
      return temporary
    except FileExistsError:
      continue
  raise FileExistsError(f'{path}: no free temporary name beside it.')


def remove_quietly(path: str) -> None:
  try:
    os.remove(path)
  except FileNotFoundError:
    pass


def _publish(temporary: str, path: str, overwrite: bool) -> None:
  if overwrite:
    os.replace(temporary, path)
    return
  # A hard link fails if `path` exists, so even a file another process
  # created since the caller looked is never replaced.
  try:
    os.link(temporary, path)
  except FileExistsError:
    raise FileExistsError(f'{path} exists and overwrite is off.') from None
  except OSError:
    # No hard links on this file system (some FUSE or network ones): the
    # check in `staged` has to do.
    os.replace(temporary, path)
    return
  os.remove(temporary)


@contextlib.contextmanager
def staged(paths: Sequence[str],
           overwrite: bool = True) -> Iterator[Dict[str, str]]:
  """Temporary files that replace `paths` together, or not at all.

  For writers that need a file name rather than a file object (PIL, ffmpeg).
  On normal exit every temporary file is renamed over its final path, one by
  one (each rename is atomic) after all were written; on any exception every
  temporary file is removed and no final path is touched. The caller must
  flush what it writes (closing the file does).

  Args:
    paths: Destination files; their folders must exist.
    overwrite: If False, raise `FileExistsError` and publish nothing if a
      destination exists once all is written. Each rename then also refuses
      a file created meanwhile (a hard link, where the file system has them).

  Yields:
    {final path: temporary path in the same folder}, all empty files.

  Raises:
    FileExistsError: If not `overwrite` and a destination exists.
    OSError: If a folder is missing or not writable.
  """
  temporaries: Dict[str, str] = {}
  try:
    for path in paths:
      temporaries[path] = _create_temporary(path)
    yield temporaries
    for temporary in temporaries.values():
      # Data on disk before the name points at it, or a crash could leave
      # an empty file under the final name.
      fd = os.open(temporary, os.O_RDONLY)
      try:
        os.fsync(fd)
      finally:
        os.close(fd)
    if not overwrite:
      # Checked before any rename, so a refusal publishes nothing.
      for path in paths:
        if os.path.lexists(path):
          raise FileExistsError(f'{path} exists and overwrite is off.')
    for path, temporary in temporaries.items():
      _publish(temporary, path, overwrite)
  finally:
    for temporary in temporaries.values():
      remove_quietly(temporary)


def _refuse_folder(path: str, overwrite: bool) -> None:
  if not overwrite and os.path.lexists(path):
    raise FileExistsError(f'{path} exists and overwrite is off.')


def _swap_in(staging: str, path: str) -> None:
  """Renames the folder `staging` to `path`, replacing what is there."""
  if not os.path.lexists(path):
    os.rename(staging, path)
    return
  # Aside first, so that `path` is the old or the new folder at every moment
  # but the one between the two renames, and the old one comes back if the
  # second rename fails.
  aside = tempfile.mkdtemp(prefix=f'.{os.path.basename(path)}{TMP_MARK}old-',
                           dir=os.path.dirname(path))
  os.rmdir(aside)
  os.rename(path, aside)
  try:
    os.rename(staging, path)
  except BaseException:
    os.rename(aside, path)
    raise
  if os.path.isdir(aside) and not os.path.islink(aside):
    shutil.rmtree(aside, ignore_errors=True)
  else:
    os.remove(aside)


@contextlib.contextmanager
def staged_directory(path: str, overwrite: bool = False) -> Iterator[str]:
  """An empty folder that becomes `path` at the end, or nothing changes.

  For writers of a whole folder (a SavedModel). The folder is created beside
  `path` under a hidden temporary name, `.{name}.tmp-{random}`, and renamed
  to `path` on normal exit; an existing `path` is moved aside first and
  removed once the new folder is in place. On any exception the temporary
  folder is removed and `path` is as it was.

  Args:
    path: The destination folder; its parent is created if needed.
    overwrite: If False, raise `FileExistsError` if `path` exists, both on
      entry (before any work) and before the rename.

  Yields:
    The temporary folder's path (absolute).

  Raises:
    FileExistsError: If not `overwrite` and `path` exists.
  """
  path = os.path.abspath(path)
  _refuse_folder(path, overwrite)
  parent = os.path.dirname(path)
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=f'.{os.path.basename(path)}{TMP_MARK}',
                             dir=parent)
  try:
    yield staging
    _refuse_folder(path, overwrite)  # Created by someone else meanwhile?
    _swap_in(staging, path)
  finally:
    shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def open_atomically(path: str, mode: str = 'wb',
                    overwrite: bool = True) -> Iterator[IO]:
  """A file object whose contents appear at `path` only once all is written.

  Args:
    path: Destination; its folder must exist.
    mode: 'wb' or 'w' (text, UTF-8).
    overwrite: If False, raise `FileExistsError` if `path` exists.

  Yields:
    The open temporary file.

  Raises:
    ValueError: If `mode` is not 'wb' or 'w'.
    FileExistsError: If not `overwrite` and `path` exists.
  """
  if mode not in ('wb', 'w'):
    raise ValueError(f"mode={mode!r}: choose 'wb' or 'w'.")
  encoding = None if 'b' in mode else 'utf-8'
  with staged([path], overwrite=overwrite) as temporary:
    with open(temporary[path], mode, encoding=encoding) as f:
      yield f


def write_bytes(path: str, data: bytes, overwrite: bool = True) -> None:
  """Writes `data` to `path` atomically (see `open_atomically`)."""
  with open_atomically(path, 'wb', overwrite=overwrite) as f:
    f.write(data)


def write_text(path: str, text: str, overwrite: bool = True) -> None:
  """Writes `text` (UTF-8) to `path` atomically (see `open_atomically`)."""
  with open_atomically(path, 'w', overwrite=overwrite) as f:
    f.write(text)


def save_npy(path: str, array: np.ndarray, overwrite: bool = True) -> None:
  """Writes `array` in .npy format to `path` atomically.

  Args:
    path: Destination, written as given (no '.npy' is appended).
    array: Any numpy array without Python objects.
    overwrite: If False, raise `FileExistsError` if `path` exists.

  Raises:
    ValueError: If `array` holds Python objects (they would need pickle).
  """
  with open_atomically(path, 'wb', overwrite=overwrite) as f:
    np.save(f, np.asarray(array), allow_pickle=False)


def remove_temporaries(path: str) -> None:
  """Removes temporary files of `path` that a killed run left behind."""
  folder, name = os.path.split(path)
  pattern = os.path.join(glob.escape(folder),
                         f'.{glob.escape(name)}{TMP_MARK}*')
  for stale in glob.glob(pattern):
    try:
      os.remove(stale)
    except OSError:
      pass


def nearest_existing(path: str) -> str:
  """`path` made absolute, or its closest ancestor that exists."""
  existing = os.path.abspath(path)
  while not os.path.exists(existing):
    parent = os.path.dirname(existing)
    if parent == existing:
      break
    existing = parent
  return existing


def existing_output_message(path: str, flag: Optional[str] = None) -> str:
  """The one message for an output that exists and may not be replaced."""
  where = f'{flag}={path}' if flag else path
  return f'{where} exists; pass --overwrite to replace it.'


def refuse_existing(path: str, overwrite: bool,
                    flag: Optional[str] = None) -> None:
  """Refuses to replace an existing output unless `overwrite`.

  Args:
    path: The output file or folder.
    overwrite: Whether replacing it is allowed.
    flag: The flag that named `path`, for the message.

  Raises:
    FileExistsError: If `path` exists and `overwrite` is False.
  """
  if not overwrite and os.path.lexists(path):
    raise FileExistsError(existing_output_message(path, flag))


def write_problem(path: str, folder: bool = False) -> Optional[str]:
  """Why `path` could not be written (made first if absent), or None.

  Probes by creating and removing a temporary file in the nearest folder
  that exists: permission bits say nothing for root, nor for read-only or
  virtual file systems (`/proc`).

  Args:
    path: An output file, or with `folder` an output folder.
    folder: Whether `path` is (or will be made as) a folder.

  Returns:
    A reason naming `path` or the path in the way, or None.
  """
  absolute = os.path.abspath(path)
  if folder and os.path.exists(absolute) and not os.path.isdir(absolute):
    return f'{path} is a file, not a folder'
  if not folder and os.path.isdir(absolute):
    return f'{path} is a folder, not a file'
  existing = nearest_existing(absolute if folder else
                              os.path.dirname(absolute))
  if not os.path.isdir(existing):
    return f'{existing} is a file, not a folder'
  try:
    probe = _create_temporary(os.path.join(existing, 'write-probe'))
  except OSError as e:
    return f'{existing} cannot be written ({e.strerror or e})'
  remove_quietly(probe)
  return None


def sha256_file(path: str) -> str:
  """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()
