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
"""Tests for bundle_index.py: the tensor table of a TF checkpoint index.

(I3D's checkpoints: Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017.) The table is checked against TensorFlow's own reader, the bytes
of the data file, and a CRC32C computed bit by bit here. The real
rgb_scratch index is read in release_test.py, which has the real files.
"""

import os
import shutil
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tensorflow.core.framework import types_pb2

from kinetics_i3d.weights import bundle_index
from kinetics_i3d.weights import tf1_checkpoint


def _read(path):
  with open(path, 'rb') as f:
    return f.read()


def _write(path, data):
  with open(path, 'wb') as f:
    f.write(data)


def _crc32c(data):
  """CRC32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit."""
  crc = 0xffffffff
  for byte in data:
    crc ^= byte
    for _ in range(8):
      crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
  return crc ^ 0xffffffff


def _masked(crc):
  """TF's masked CRC32C (tensorflow/core/lib/hash/crc32c.h)."""
  return ((((crc >> 15) | (crc << 17)) & 0xffffffff) + 0xa282ead8) & 0xffffffff


class ReadIndexTest(parameterized.TestCase):

  def make_tempdir(self):
    # tempfile rather than absltest's create_tempdir, which needs parsed flags.
    path = tempfile.mkdtemp(prefix='bundle_index_test_')
    self.addCleanup(shutil.rmtree, path, True)
    return path

  def test_against_tensorflow_and_the_bytes(self):
    prefix = os.path.join(self.make_tempdir(), 'model.ckpt')
    rng = np.random.default_rng(3)
    tensors = {
        'b/w': rng.standard_normal((2, 3, 1, 4)).astype(np.float32),
        'a/beta': rng.standard_normal(5).astype(np.float32),
        'step': np.array(7, np.int64),
        'half': rng.standard_normal((3, 3)).astype(np.float16),
    }
    # Many names: the table spans several blocks and restart points.
    tensors.update({f'unit_{i:03d}/scale': np.full((i % 3 + 1,), i, np.int32)
                    for i in range(300)})
    tf1_checkpoint.write_tf1_checkpoint(tensors, prefix, write_state_file=False)
    entries = bundle_index.read_index(prefix + '.index')
    reader = tf.train.load_checkpoint(prefix)
    self.assertEqual(list(entries), sorted(tensors))
    self.assertEqual({n: list(e.shape) for n, e in entries.items()},
                     reader.get_variable_to_shape_map())
    dtypes = reader.get_variable_to_dtype_map()
    for name, entry in entries.items():
      self.assertEqual(
          tf.as_dtype(types_pb2.DataType.Value(entry.dtype)), dtypes[name],
          msg=name)
    data = _read(prefix + '.data-00000-of-00001')
    self.assertEqual(bundle_index.data_size(entries), len(data))
    for name, entry in entries.items():
      self.assertEqual(entry.shard_id, 0)
      stored = data[entry.offset:entry.offset + entry.size]
      self.assertEqual(stored, tensors[name].tobytes(), msg=name)
      self.assertEqual(entry.crc32c, _masked(_crc32c(stored)), msg=name)

  def test_crc32c_reference_vector(self):
    # The check value of CRC-32C (RFC 3720, B.4): the test's own CRC is right.
    self.assertEqual(_crc32c(b'123456789'), 0xe3069283)

  @parameterized.parameters(b'', b'not an index' * 10, b'\x00' * 48)
  def test_garbage_is_named(self, content):
    path = os.path.join(self.make_tempdir(), 'model.ckpt.index')
    _write(path, content)
    with self.assertRaisesRegex(ValueError, 'model.ckpt.index: not a readable '
                                'TF checkpoint index'):
      bundle_index.read_index(path)


if __name__ == '__main__':
  absltest.main()
