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
"""Video arrays on disk read row by row, so memory is bounded by the batch.

FVD (Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", arXiv:1812.01717, 2018) is computed on sets of
thousands of videos: 2048 clips of 128 frames at 256x256 are 50 GB as uint8,
more than memory. A memory-mapped `.npy` keeps every page it touched
resident, and `np.load` of an `.npz` member reads the whole member, so
neither bounds memory. These sources read one row (video) or a few at a time
instead:

* `.npy` files and uncompressed `.npz` members (`np.savez`): the data's
  offset in the file is found once from the header, and rows are read with
  explicit offsets (`os.pread`), so nothing stays mapped;
* compressed `.npz` members (`np.savez_compressed`): the member is
  decompressed as a stream, row after row (reading backwards restarts it).

A file shorter than its header promises (an interrupted copy or write) is
refused when opened, naming the file and how many bytes are missing.
"""

import os
import struct
import threading
import zipfile
from typing import Tuple, Union

import numpy as np

from kinetics_i3d.utils import errors

# What reading a damaged file raises.
READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile)
# A zip local file header: fixed 30 bytes, then the name and the extra field.
_LOCAL_HEADER_SIZE = 30
_LOCAL_HEADER_SIGNATURE = b'PK\x03\x04'
# Bytes discarded per read when a compressed stream skips forward.
_SKIP_CHUNK = 1 << 24


class ArrayFileError(ValueError):
  """An unreadable or truncated array file; the message names it."""


def _read_header(stream, name: str) -> Tuple[Tuple[int, ...], np.dtype]:
  """Reads an .npy header from `stream`; returns (shape, dtype)."""
  try:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
      shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
      shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
  except READ_ERRORS as e:
    raise ArrayFileError(f'{name}: not a readable .npy array '
                         f'({errors.first_line(e)}).') from None
  if dtype.hasobject:
    raise ArrayFileError(f'{name}: holds Python objects (dtype {dtype}); '
                         'store numeric pixel values.')
  if fortran_order and len(shape) > 1:
    raise ArrayFileError(f'{name}: stored in Fortran order; re-save it with '
                         'np.save(path, np.ascontiguousarray(videos)).')
  return tuple(int(n) for n in shape), dtype


class _RowSource:
  """Rows of an [N, ...] array on disk: `source[i]`, `source[a:b]`."""

  def __init__(self, name: str, shape: Tuple[int, ...], dtype: np.dtype):
    self.name = name
    self.shape = shape
    self.dtype = np.dtype(dtype)
    self.ndim = len(shape)
    self._row_items = int(np.prod(shape[1:], dtype=np.int64))
    self.row_bytes = self._row_items * self.dtype.itemsize
    self.nbytes = self.row_bytes * (shape[0] if shape else 1)

  def __len__(self) -> int:
    return self.shape[0]

  def __getitem__(self, key: Union[int, slice]) -> np.ndarray:
    if isinstance(key, slice):
      start, stop, step = key.indices(len(self))
      if step != 1:
        raise IndexError(f'{self.name}: only contiguous row slices.')
      stop = max(start, stop)
      return self._rows(start, stop).reshape((stop - start,) + self.shape[1:])
    index = int(key)
    if index < 0:
      index += len(self)
    if not 0 <= index < len(self):
      raise IndexError(f'{self.name}: row {key} of {len(self)}.')
    return self._rows(index, index + 1).reshape(self.shape[1:])

  def _rows(self, start: int, stop: int) -> np.ndarray:
    raise NotImplementedError


class OffsetArray(_RowSource):
  """Rows read with explicit file offsets (`.npy`, stored `.npz` members)."""

  def __init__(self, path: str, name: str, offset: int,
               shape: Tuple[int, ...], dtype: np.dtype):
    super().__init__(name, shape, dtype)
    self.path = path
    self.offset = offset
    size = os.path.getsize(path)
    if size < offset + self.nbytes:
      raise ArrayFileError(
          f'{name}: truncated: the header promises {self.nbytes} bytes of '
          f'data {shape} {self.dtype}, the file holds '
          f'{max(0, size - offset)}; copy or write it again.')

  def _rows(self, start: int, stop: int) -> np.ndarray:
    count = (stop - start) * self.row_bytes
    out = np.empty((stop - start) * self._row_items, self.dtype)
    view = memoryview(out.view(np.uint8))
    done = 0
    with open(self.path, 'rb', buffering=0) as f:
      while done < count:
        got = os.preadv(f.fileno(), [view[done:]],
                        self.offset + start * self.row_bytes + done)
        if got <= 0:
          raise ArrayFileError(f'{self.name}: ends early (truncated while '
                               'being read).')
        done += got
    return out


class StreamedMember(_RowSource):
  """Rows of a compressed `.npz` member, decompressed in order."""

  def __init__(self, path: str, member: str, name: str):
    self.path = path
    self.member = member
    self._lock = threading.Lock()
    self._stream = None
    self._next_row = 0
    stream = self._open()
    shape, dtype = _read_header(stream, name)
    super().__init__(name, shape, dtype)
    info = self._zip.getinfo(member)
    self._data_start = stream.tell()
    if info.file_size < self._data_start + self.nbytes:
      raise ArrayFileError(
          f'{name}: truncated: the header promises {self.nbytes} bytes of '
          f'data {shape} {self.dtype}, the member holds '
          f'{max(0, info.file_size - self._data_start)}; write it again.')
    self._stream = stream

  def _open(self):
    try:
      self._zip = zipfile.ZipFile(self.path)
      return self._zip.open(self.member)
    except READ_ERRORS as e:
      raise ArrayFileError(f'{self.path}: not a readable .npz '
                           f'({errors.first_line(e)}).') from None

  def _read_exactly(self, count: int) -> bytes:
    try:
      data = self._stream.read(count)
    except READ_ERRORS as e:
      raise ArrayFileError(f'{self.name}: corrupt compressed data '
                           f'({errors.first_line(e)}).') from None
    if len(data) != count:
      raise ArrayFileError(f'{self.name}: ends early (truncated).')
    return data

  def _rows(self, start: int, stop: int) -> np.ndarray:
    with self._lock:
      if start < self._next_row:
        self._stream.close()
        self._zip.close()
        self._stream = self._open()
        self._read_exactly(self._data_start)
        self._next_row = 0
      skip = (start - self._next_row) * self.row_bytes
      while skip:
        skip -= len(self._read_exactly(min(skip, _SKIP_CHUNK)))
      data = self._read_exactly((stop - start) * self.row_bytes)
      self._next_row = stop
    return np.frombuffer(data, self.dtype).copy()


def _stored_member_offset(path: str, info: zipfile.ZipInfo) -> int:
  """Offset in the zip file of a stored member's first byte."""
  with open(path, 'rb') as f:
    f.seek(info.header_offset)
    header = f.read(_LOCAL_HEADER_SIZE)
  if (len(header) != _LOCAL_HEADER_SIZE or
      header[:4] != _LOCAL_HEADER_SIGNATURE):
    raise ArrayFileError(f'{path}: damaged zip header of {info.filename}.')
  name_length, extra_length = struct.unpack('<HH', header[26:30])
  return info.header_offset + _LOCAL_HEADER_SIZE + name_length + extra_length


def open_npy(path: str) -> OffsetArray:
  """The array of a `.npy` file, read row by row.

  Raises:
    ArrayFileError: For an unreadable, object, Fortran-order or truncated
      file.
  """
  try:
    with open(path, 'rb') as f:
      shape, dtype = _read_header(f, path)
      offset = f.tell()
  except OSError as e:
    raise ArrayFileError(f'{path}: cannot read it ({e.strerror}).') from None
  return OffsetArray(path, path, offset, shape, dtype)


def open_npz_member(path: str, member: str) -> _RowSource:
  """One member (`'videos.npy'`) of an `.npz`, read row by row.

  Raises:
    ArrayFileError: For an unreadable, object, Fortran-order or truncated
      member.
  """
  name = f'{path}:{member}'
  try:
    with zipfile.ZipFile(path) as archive:
      info = archive.getinfo(member)
      if info.compress_type != zipfile.ZIP_STORED:
        compressed = True
      else:
        compressed = False
        with archive.open(member) as stream:
          shape, dtype = _read_header(stream, name)
          header_size = stream.tell()
  except (KeyError,) + READ_ERRORS as e:
    if isinstance(e, ArrayFileError):
      raise
    raise ArrayFileError(f'{path}: not a readable .npz '
                         f'({errors.first_line(e)}).') from None
  if compressed:
    return StreamedMember(path, member, name)
  offset = _stored_member_offset(path, info) + header_size
  return OffsetArray(path, name, offset, shape, dtype)
