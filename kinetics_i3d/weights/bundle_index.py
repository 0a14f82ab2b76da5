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
"""The tensor table of a TF checkpoint index, read without TensorFlow's C++.

DeepMind's I3D checkpoints (Carreira & Zisserman, "Quo Vadis, Action
Recognition?", CVPR 2017, https://arxiv.org/abs/1705.07750) are TF tensor
bundles: `model.ckpt.index` is a table in LevelDB's format (uncompressed
blocks) whose first key, the empty string, holds a BundleHeaderProto and whose
other keys are tensor names holding BundleEntryProtos (dtype, shape, offset
and size in the data file, masked CRC32C). `read_index` parses it, so the
data file's size is known (`data_size`) before that file is downloaded.
"""

import dataclasses
import struct
from typing import Dict, List, Mapping, Tuple


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


def _table(buf: bytes) -> Dict[bytes, bytes]:
  """Every (key, value) of a LevelDB table with uncompressed blocks."""
  if (len(buf) < _FOOTER_SIZE or
      struct.unpack('<Q', buf[-8:])[0] != _TABLE_MAGIC):
    raise ValueError('no table footer')
  footer = buf[-_FOOTER_SIZE:]
  _, pos = _varint(footer, 0)  # The metaindex block handle: unused.
  _, pos = _varint(footer, pos)
  table = {}
  for _, handle in _block_entries(buf, footer[pos:]):
    table.update(_block_entries(buf, handle))
  return table


def read_index(path: str) -> Dict[str, TensorEntry]:
  """Reads the tensor table of a TF checkpoint index (`<prefix>.index`).

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
    raw = _table(buf)
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
