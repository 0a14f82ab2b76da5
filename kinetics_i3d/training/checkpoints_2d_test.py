"""Tests for checkpoints_2d.py: the readers of a 2D Inception-v1.

`inflate_test.py` reads every format through `inflate.run`; here the readers'
own choices: the format detected from a path, and refusals that name the
file.
"""

import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from kinetics_i3d.training import checkpoints_2d
from kinetics_i3d.training import slim_inception_v1_test as slim_test


class Checkpoints2dTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

  def test_detect_format(self):
    self.assertEqual(checkpoints_2d.detect_format('weights.npz'), 'npz')
    slim = slim_test.write_slim_checkpoint(
        os.path.join(self.dir, 'slim', 'inception_v1.ckpt'),
        {'InceptionV1/Conv2d_1a_7x7/weights': np.zeros([1], np.float32)})
    self.assertEqual(checkpoints_2d.detect_format(slim), 'slim')
    other = tf.train.Checkpoint(v=tf.Variable(1.)).write(
        os.path.join(self.dir, 'tf2', 'ckpt'))
    self.assertEqual(checkpoints_2d.detect_format(other), 'tf2')
    missing = os.path.join(self.dir, 'missing')
    with self.assertRaisesRegex(ValueError,
                                f'^{missing}: not a readable TF checkpoint'):
      checkpoints_2d.detect_format(missing)

  def test_npz_round_trip_and_refusals(self):
    path = os.path.join(self.dir, 'w.npz')
    np.savez(path, a=np.ones([2], np.float32))
    self.assertAllEqual(checkpoints_2d.read_npz(path)['a'], [1., 1.])
    with open(path, 'r+b') as f:
      f.truncate(20)
    with self.assertRaisesRegex(ValueError,
                                f'^{path}: not a readable .npz of plain'):
      checkpoints_2d.read_npz(path)
    with self.assertRaisesRegex(ValueError, "Unknown input format 'onnx'"):
      checkpoints_2d.read_2d_tensors(path, 'onnx')


if __name__ == '__main__':
  tf.test.main()
