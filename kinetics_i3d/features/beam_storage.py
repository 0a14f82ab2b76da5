"""Feature outputs and inputs on Beam's file systems (GCS, S3, HDFS, local).

The Beam pipeline of I3D feature extraction (Carreira & Zisserman, "Quo
Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017)
writes through `BeamStorage`, the `storage.OutputStorage` of any file system
Beam knows, and decodes remote videos from a local temporary copy. Needs the
`[beam]` extra (`pip install apache-beam`).
"""

import contextlib
import os
import shutil
import tempfile
from typing import Iterator, List

from apache_beam.io.filesystems import FileSystems

from kinetics_i3d.features import storage as storage_lib
from kinetics_i3d.utils import atomic_files


def is_remote(path: str) -> bool:
  """Whether `path` names a file system other than the local one."""
  return '://' in path


class BeamStorage:
  """`storage.OutputStorage` on Beam's file systems (GCS, S3, HDFS, local).

  For workers writing remote outputs; `storage.LocalStorage` writes local
  folders.
  """

  def join(self, *parts: str) -> str:
    return FileSystems.join(*parts)

  def exists(self, path: str) -> bool:
    return FileSystems.exists(path)

  def makedirs(self, path: str) -> None:
    # Object stores have no folders; local and HDFS paths need them.
    if not FileSystems.exists(path):
      try:
        FileSystems.mkdirs(path)
      except IOError:
        if not FileSystems.exists(path):
          raise

  def read_bytes(self, path: str) -> bytes:
    with FileSystems.open(path) as f:
      return f.read()

  def list_names(self, folder: str) -> List[str]:
    pattern = FileSystems.join(folder, '*')
    try:
      (result,) = FileSystems.match([pattern])
    except IOError:
      return []
    return sorted(m.path.rstrip('/').split('/')[-1]
                  for m in result.metadata_list)

  def check_writable(self, output_dir: str) -> None:
    """Object stores grant writes per request: the first write tells."""
    del output_dir

  def write_bytes(self, path: str, data: bytes) -> None:
    """Writes a temporary object, then renames it (atomic on one object)."""
    folder, name = FileSystems.split(path)
    tmp = FileSystems.join(
        folder, f'.{name}{atomic_files.TMP_MARK}{os.urandom(6).hex()}')
    with FileSystems.create(tmp) as f:
      f.write(data)
    try:
      # Object stores and POSIX replace the target in one step.
      FileSystems.rename([tmp], [path])
    except IOError:
      # HDFS refuses to rename onto an existing file.
      FileSystems.delete([path])
      FileSystems.rename([tmp], [path])

  def remove_stale_temporaries(self, folder: str, name: str) -> None:
    """Removes temporaries of `name` a killed worker left behind."""
    pattern = FileSystems.join(folder, f'.{name}{atomic_files.TMP_MARK}*')
    try:
      (result,) = FileSystems.match([pattern])
    except IOError:
      return
    stale = [m.path for m in result.metadata_list]
    if stale:
      FileSystems.delete(stale)


def storage_for(path: str) -> storage_lib.OutputStorage:
  """LocalStorage for local folders (fsync, os.replace), else BeamStorage."""
  return BeamStorage() if is_remote(path) else storage_lib.LocalStorage()


@contextlib.contextmanager
def localized(path: str) -> Iterator[str]:
  """A local path for `path`: itself if local, else a temporary copy."""
  if not is_remote(path):
    yield path
    return
  suffix = os.path.splitext(path)[1]
  with tempfile.NamedTemporaryFile(suffix=suffix) as local:
    with FileSystems.open(path) as remote:
      shutil.copyfileobj(remote, local, length=1 << 22)
    local.flush()
    yield local.name
