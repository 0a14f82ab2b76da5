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
"""The pins of DeepMind's kinetics-i3d release: what each file must be.

The checkpoints and sample arrays are those of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

`deepmind_release.json`, beside this module, holds the repository, its commit
and, for each file fetched, its git blob id (SHA-1 of "blob <size>\\0" +
content) and size. It is read on first use (`deepmind_pins`), never at import.

The names of the release are derived from the table: each folder under
`data/checkpoints/` is a checkpoint (`<name>/model.ckpt.index` and
`.data-00000-of-00001`), and 'cricket_sample' is the pair of sample arrays
under `data/`. `local_paths` maps them to `<checkpoint_dir>/<name>/` and
`<data_dir>/`.
"""

import dataclasses
import functools
import hashlib
import json
import os
from typing import List, Mapping, Optional, Tuple

from kinetics_i3d import paths

PINS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         'deepmind_release.json')

SAMPLE_NAME = 'cricket_sample'
_SAMPLE_FILES = ('data/v_CricketShot_g04_c01_rgb.npy',
                 'data/v_CricketShot_g04_c01_flow.npy')
_CHECKPOINTS_FOLDER = 'data/checkpoints/'
_DATA_FOLDER = 'data/'
_INDEX = 'model.ckpt.index'
_DATA = 'model.ckpt.data-00000-of-00001'
_READ_BLOCK = 1 << 20


@dataclasses.dataclass(frozen=True)
class Pin:
  """What one file of the release must be.

  Attributes:
    blob: its git blob id, 40 hex digits.
    size: its size in bytes, or None where it is not known before download.
  """
  blob: str
  size: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class PinTable:
  """A pinned commit of a repository and the files fetched from it.

  Attributes:
    repository: 'owner/name' on GitHub.
    commit: the commit, 40 hex digits.
    files: {path in the repository: Pin}.
  """
  repository: str
  commit: str
  files: Mapping[str, Pin]

  @property
  def github_url(self) -> str:
    return f'https://github.com/{self.repository}'

  @property
  def raw_url(self) -> str:
    """Where GitHub serves the files of the commit."""
    return (f'https://raw.githubusercontent.com/{self.repository}/'
            f'{self.commit}')

  @property
  def checkpoint_names(self) -> Tuple[str, ...]:
    """The checkpoint folders of the release, in the order of the table."""
    return tuple(dict.fromkeys(
        p[len(_CHECKPOINTS_FOLDER):].split('/')[0]
        for p in self.files if p.startswith(_CHECKPOINTS_FOLDER)))

  @property
  def names(self) -> Tuple[str, ...]:
    """Everything `release.fetch` gets: the checkpoints, then the sample."""
    return self.checkpoint_names + (SAMPLE_NAME,)


def load_pins(path: str = PINS_PATH) -> PinTable:
  """Reads a pin table.

  Args:
    path: a JSON file with 'repository' ('owner/name'), 'commit' and 'files':
      {path in the repository: {'blob': hex, 'size': int or null}}.

  Returns:
    The table.

  Raises:
    ValueError: if the file is not such a table.
  """
  with open(path, encoding='utf-8') as f:
    table = json.load(f)
  try:
    files = {name: Pin(blob=entry['blob'], size=entry['size'])
             for name, entry in table['files'].items()}
    return PinTable(table['repository'], table['commit'], files)
  except (KeyError, TypeError) as e:
    raise ValueError(f'{path}: not a pin table ({e!r} missing).') from None


@functools.lru_cache(maxsize=None)
def deepmind_pins() -> PinTable:
  """DeepMind's release as pinned in `deepmind_release.json`, read once."""
  return load_pins(PINS_PATH)


def release_paths(name: str) -> Tuple[str, ...]:
  """The files of `name` in DeepMind's repository, in the order they are placed.

  Args:
    name: one of `deepmind_pins().names`.

  Returns:
    Paths in the repository: for a checkpoint its data file, then its index;
    for 'cricket_sample' the RGB, then the flow array.

  Raises:
    ValueError: for an unknown name.
  """
  names = deepmind_pins().names
  if name not in names:
    raise ValueError(f'Unknown release name {name!r}; choose one of '
                     f'{", ".join(names)}.')
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
  """Where `release.fetch` puts the files of `name`, in `release_paths` order.

  Args:
    name: one of `deepmind_pins().names`.
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


def git_blob_id(path: str) -> str:
  """The git blob id of a file: SHA-1 of b'blob <size>\\0' + its bytes."""
  digest = hashlib.sha1(b'blob %d\0' % os.path.getsize(path))
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(_READ_BLOCK), b''):
      digest.update(block)
  return digest.hexdigest()


def mismatch(path: str, pin: Pin) -> Optional[str]:
  """Why the file at `path` is not the pinned one, or None if it is.

  Args:
    path: an existing file.
    pin: what it must be.

  Returns:
    None, or the first difference: its size, else its git blob id.
  """
  size = os.path.getsize(path)
  if pin.size is not None and size != pin.size:
    return f'{size} bytes, not the pinned {pin.size}'
  blob = git_blob_id(path)
  if blob != pin.blob:
    return f'git blob id {blob}, not the pinned {pin.blob}'
  return None

