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
"""Where the files of DeepMind's kinetics-i3d release are served, and errors.

The release is that of Carreira & Zisserman, "Quo Vadis, Action Recognition?
A New Model and the Kinetics Dataset", CVPR 2017
(https://arxiv.org/abs/1705.07750). DeepMind's repository keeps every file as
an ordinary git blob, so each is served at
`https://raw.githubusercontent.com/deepmind/kinetics-i3d/<commit>/<path>`.
The environment variable `KINETICS_I3D_URL` replaces that base with a mirror
of the tree at the pinned commit (files at `$KINETICS_I3D_URL/<path>`).

Every failure to get a file raises `ReleaseError`, one line naming the URL or
file at fault and the manual alternative (`release_error`).
"""

import os
from typing import Optional

from kinetics_i3d.weights import release_pins

URL_ENV = 'KINETICS_I3D_URL'


class ReleaseError(OSError):
  """A file of DeepMind's release could not be fetched, verified or placed."""


def base_url() -> str:
  """`$KINETICS_I3D_URL` if set and non-empty, else DeepMind's raw files."""
  return (os.environ.get(URL_ENV) or
          release_pins.deepmind_pins().raw_url).rstrip('/')


def url_for(path: str, base: Optional[str] = None) -> str:
  """The URL of a file of the release.

  Args:
    path: a path in DeepMind's repository, e.g. 'data/label_map.txt'.
    base: the base URL; default `base_url()` (honours `$KINETICS_I3D_URL`).

  Returns:
    `<base>/<path>`.
  """
  return f'{(base or base_url()).rstrip("/")}/{path.lstrip("/")}'


def release_error(where: str, problem: str, repo_path: str,
                  target: str) -> ReleaseError:
  """A one-line ReleaseError: what failed, where, and the way around it.

  Args:
    where: the URL or file at fault.
    problem: what is wrong with it.
    repo_path: the file or folder of DeepMind's repository to copy by hand.
    target: the local folder to copy it to.

  Returns:
    The error, its message on one line.
  """
  pins = release_pins.deepmind_pins()
  message = (f'{where}: {problem}. Retry, set {URL_ENV} to a mirror, or copy '
             f"DeepMind's {repo_path} from {pins.github_url} (commit "
             f'{pins.commit}) to {target} by hand.')
  return ReleaseError(' '.join(message.split()))
