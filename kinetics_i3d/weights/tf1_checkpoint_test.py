"""Tests of writing TF1 checkpoints atomically, as a TF1 Saver does."""

import os
import shutil
import tempfile
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from kinetics_i3d.weights import tf1_checkpoint


def _make_tempdir(test):
  path = tempfile.mkdtemp(prefix='tf1_checkpoint_test_')
  test.addCleanup(shutil.rmtree, path, True)
  return path


class WriteTf1CheckpointTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = _make_tempdir(self)
    self.prefix = os.path.join(self.dir, 'model.ckpt')
    rng = np.random.default_rng(1)
    self.tensors = {
        'RGB/inception_i3d/b/w': rng.standard_normal((2, 3, 1)).astype(
            np.float32),
        'RGB/inception_i3d/a/beta': rng.standard_normal(5).astype(np.float32),
        'step': np.array(7, np.int64),
    }

  def test_round_trip(self):
    self.assertEqual(
        tf1_checkpoint.write_tf1_checkpoint(self.tensors, self.prefix), self.prefix)
    reader = tf.train.load_checkpoint(self.prefix)
    self.assertEqual(reader.get_variable_to_shape_map(),
                     {n: list(v.shape) for n, v in self.tensors.items()})
    for name, value in self.tensors.items():
      np.testing.assert_array_equal(reader.get_tensor(name), value)
      self.assertEqual(reader.get_tensor(name).dtype, value.dtype)
    # The state file makes the checkpoint discoverable like a Saver's.
    self.assertEqual(tf.train.latest_checkpoint(self.dir), self.prefix)
    self.assertCountEqual(
        os.listdir(self.dir),
        ['checkpoint', 'model.ckpt.index', 'model.ckpt.data-00000-of-00001'])

  def test_data_in_sorted_name_order(self):
    # TF1's Saver stores tensors in sorted order; offsets show the order.
    tf1_checkpoint.write_tf1_checkpoint(self.tensors, self.prefix)
    data_path = self.prefix + '.data-00000-of-00001'
    with open(data_path, 'rb') as f:
      data = f.read()
    expected = b''.join(self.tensors[n].tobytes() for n in sorted(self.tensors))
    self.assertEqual(data, expected)

  def test_refuses_to_overwrite(self):
    tf1_checkpoint.write_tf1_checkpoint(self.tensors, self.prefix)
    with self.assertRaisesRegex(FileExistsError, r'model\.ckpt\.index.*'
                                r'overwrite=True'):
      tf1_checkpoint.write_tf1_checkpoint(self.tensors, self.prefix)
    self.tensors['step'] = np.array(8, np.int64)
    tf1_checkpoint.write_tf1_checkpoint(self.tensors, self.prefix, overwrite=True)
    self.assertEqual(tf.train.load_checkpoint(self.prefix).get_tensor('step'),
                     8)

  def test_wrong_index_hash_leaves_nothing(self):
    with self.assertRaisesRegex(tf1_checkpoint.IndexMismatchError,
                                r'model\.ckpt\.index has sha256 .*expected '
                                + '0' * 64):
      tf1_checkpoint.write_tf1_checkpoint(self.tensors, self.prefix,
                                  expected_index_sha256='0' * 64)
    self.assertEqual(os.listdir(self.dir), [])

  def test_failure_while_saving_leaves_nothing(self):
    real_save = tf.raw_ops.SaveV2

    def save_then_fail(prefix, **kwargs):
      real_save(prefix=prefix, **kwargs)  # Files exist under the temp name.
      raise KeyboardInterrupt()

    with mock.patch.object(tf.raw_ops, 'SaveV2', save_then_fail):
      with self.assertRaises(KeyboardInterrupt):
        tf1_checkpoint.write_tf1_checkpoint(self.tensors, self.prefix)
    self.assertEqual(os.listdir(self.dir), [])

  @parameterized.parameters(False, True)
  def test_failure_between_renames_leaves_no_checkpoint(self, overwrite):
    if overwrite:
      tf1_checkpoint.write_tf1_checkpoint(self.tensors, self.prefix)
    real_replace = os.replace

    def fail_on_index(src, dst):
      if dst.endswith('.index'):
        raise OSError('disk gone')
      return real_replace(src, dst)

    with mock.patch.object(tf1_checkpoint.os, 'replace', fail_on_index):
      with self.assertRaisesRegex(OSError, 'disk gone'):
        tf1_checkpoint.write_tf1_checkpoint(self.tensors, self.prefix,
                                    overwrite=overwrite)
    # The old index must not survive next to new data: an index implies a
    # complete checkpoint. Only the (harmless) state file of the first write
    # may remain.
    self.assertEqual(os.listdir(self.dir), ['checkpoint'] if overwrite else [])


if __name__ == '__main__':
  absltest.main()
