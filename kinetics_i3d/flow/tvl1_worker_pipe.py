"""Arrays between a caller and its TF TV-L1 worker, over a pipe.

I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017) is computed on a CPU in a
worker process (`tvl1_tf_worker`). Frames go to it and flows come back as
consecutive `.npy` records on its stdin and stdout (`np.lib.format` with
allow_pickle=False: nothing but plain arrays is ever unpickled); headers
(status, errors, the program) are JSON in uint8 arrays.
"""

import json
from typing import Any, BinaryIO, Dict, Optional, Sequence

import numpy as np


class _Reader:
  """A stream's `read` only, so `np.lib.format` reads it sequentially."""

  def __init__(self, stream: BinaryIO, first: bytes = b''):
    self._stream = stream
    self._first = first

  def read(self, size: int = -1) -> bytes:
    first, self._first = self._first, b''
    if size is not None and size >= 0:
      return first + self._stream.read(size - len(first))
    return first + self._stream.read()


class _Writer:
  """A stream's `write` only (numpy's tofile needs a seekable file)."""

  def __init__(self, stream: BinaryIO):
    self.write = stream.write


def write_arrays(stream: BinaryIO, arrays: Sequence[np.ndarray]) -> None:
  """Writes arrays as consecutive `.npy` records and flushes."""
  for array in arrays:
    np.lib.format.write_array(_Writer(stream), np.ascontiguousarray(array),
                              allow_pickle=False)
  stream.flush()


def read_array(stream: BinaryIO) -> Optional[np.ndarray]:
  """Reads one `.npy` record; None at the end of the stream.

  Raises:
    ValueError: For a truncated record or one holding Python objects.
  """
  first = stream.read(1)
  if not first:
    return None
  return np.lib.format.read_array(_Reader(stream, first), allow_pickle=False)


def encode_header(header: Dict[str, Any]) -> np.ndarray:
  """A JSON header as a uint8 array, to go between arrays."""
  return np.frombuffer(json.dumps(header).encode(), np.uint8)


def decode_header(array: np.ndarray) -> Dict[str, Any]:
  """The header `encode_header` made."""
  return json.loads(array.tobytes().decode())
