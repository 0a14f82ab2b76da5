"""Where feature outputs are written: the folder's layout, the file operations.

I3D feature extraction (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017) writes every
file atomically (a temporary name, then a rename), so a killed run leaves no
partial output. `OutputStorage` is the interface the run loop writes
through; `LocalStorage` implements it on the local file system, and
`beam_pipeline.BeamStorage` on Beam's file systems (GCS, S3, HDFS, ...).
"""

import os
from typing import List, Protocol, runtime_checkable

from kinetics_i3d.utils import atomic_files

# The output folder's layout, besides the features: one record per video,
# the manifest of all records, and the settings the folder is pinned to.
RECORDS_DIR = 'records'
MANIFEST_NAME = 'manifest.jsonl'
CONFIG_NAME = 'extraction_config.json'


def not_writable(output_dir: str, reason: str) -> ValueError:
  """The error for an output folder that cannot be written, and why."""
  return ValueError(f'--output_dir={output_dir} cannot be written ({reason}); '
                    'choose a writable folder.')


@runtime_checkable
class OutputStorage(Protocol):
  """The file operations of a feature run, on some file system."""

  def join(self, *parts: str) -> str:
    """The path of `parts` joined, in this file system's syntax."""

  def exists(self, path: str) -> bool:
    """Whether a file or folder `path` exists."""

  def makedirs(self, path: str) -> None:
    """Makes folder `path` and its parents, if the file system has folders."""

  def read_bytes(self, path: str) -> bytes:
    """The contents of file `path`."""

  def list_names(self, folder: str) -> List[str]:
    """The sorted names in `folder`; empty if it does not exist."""

  def write_bytes(self, path: str, data: bytes) -> None:
    """Writes `data` to `path` atomically (temporary name, then rename)."""

  def remove_stale_temporaries(self, folder: str, name: str) -> None:
    """Removes temporaries of `folder/name` a killed run left behind."""

  def check_writable(self, output_dir: str) -> None:
    """Raises ValueError if `output_dir` is known not to be writable."""


class LocalStorage:
  """`OutputStorage` on the local file system (fsync, os.replace)."""

  def join(self, *parts: str) -> str:
    return os.path.join(*parts)

  def exists(self, path: str) -> bool:
    return os.path.exists(path)

  def makedirs(self, path: str) -> None:
    os.makedirs(path, exist_ok=True)

  def read_bytes(self, path: str) -> bytes:
    with open(path, 'rb') as f:
      return f.read()

  def list_names(self, folder: str) -> List[str]:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

  def write_bytes(self, path: str, data: bytes) -> None:
    """Writes under a temporary name in the same folder, then renames."""
    atomic_files.write_bytes(path, data)

  def remove_stale_temporaries(self, folder: str, name: str) -> None:
    """Removes temporaries of `name` a killed run left behind."""
    atomic_files.remove_temporaries(os.path.join(folder, name))

  def check_writable(self, output_dir: str) -> None:
    """Checks that `output_dir` can be made and written (a probe file).

    Args:
      output_dir: The output folder; it may not exist yet.

    Raises:
      ValueError: Naming the folder and why not.
    """
    folder = atomic_files.nearest_existing(output_dir)
    if not os.path.isdir(folder):
      raise not_writable(output_dir, f'{folder} is not a folder')
    for path in (output_dir, os.path.join(output_dir, RECORDS_DIR)):
      problem = atomic_files.write_problem(path, folder=True)
      if problem:
        raise not_writable(output_dir, problem)
