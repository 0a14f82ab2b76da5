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
"""Placing verified files of DeepMind's I3D release: folders, then all or none.

The checkpoints and sample arrays of Carreira & Zisserman, "Quo Vadis, Action
Recognition?", CVPR 2017 (https://arxiv.org/abs/1705.07750) wait in the
download cache until verified; `publish` then moves the files of one name
into place together (`atomic_files.staged`), creating missing folders with a
log line each. A folder that cannot be made is refused before any download
(`check_creatable`). Every failure is a one-line `ReleaseError` naming the
flag that chooses the folder.
"""

import os
import shutil
from typing import Sequence, Tuple

from absl import logging

from kinetics_i3d.utils import atomic_files
from kinetics_i3d.weights import release_urls


def check_creatable(folder: str, flag: str) -> None:
  """Refuses early a folder that cannot be made or written.

  Args:
    folder: the folder files will be written to.
    flag: the command-line flag that chooses it, named in the message.

  Raises:
    release_urls.ReleaseError: if a file is in the way or the nearest
      existing folder is not writable.
  """
  probe = atomic_files.nearest_existing(folder)
  if not os.path.isdir(probe):
    raise release_urls.ReleaseError(
        f'{probe} is a file, so {folder} cannot be a folder ([Errno 17] File '
        f'exists); move it away or pass another {flag}.')
  if not os.access(probe, os.W_OK | os.X_OK):
    raise release_urls.ReleaseError(
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
  check_creatable(folder, flag)
  for path in reversed(missing):
    logging.info('Creating folder %s', path)
    try:
      os.mkdir(path)
    except FileExistsError:
      if not os.path.isdir(path):
        raise release_urls.ReleaseError(
            f'{path} is a file, so it cannot be a folder ([Errno 17] File '
            f'exists); move it away or pass another {flag}.') from None
    except OSError as e:
      raise release_urls.ReleaseError(
          f'Cannot create folder {path}: {e.strerror} ([Errno {e.errno}]); '
          f'pass another {flag}.') from None


def publish(pairs: Sequence[Tuple[str, str]], flag: str) -> None:
  """Moves verified files from the cache to their targets, all or none.

  Args:
    pairs: (file in the cache, its target) pairs; each source is gone after.
    flag: the command-line flag that chooses the targets' folder.

  Raises:
    release_urls.ReleaseError: if a folder or file cannot be written; no
      target is then replaced.
  """
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
    raise release_urls.ReleaseError(
        f'Cannot write {where}: {e.strerror or e} ([Errno {e.errno}]); '
        f'nothing was replaced. Check the folder or pass another {flag}.'
        ) from None
  for source, _ in pairs:
    atomic_files.remove_quietly(source)
