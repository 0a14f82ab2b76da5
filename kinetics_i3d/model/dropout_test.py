"""Tests of the keep-probability dropout before I3D's logits (CVPR 2017)."""

import tensorflow as tf

from kinetics_i3d.model import dropout


class DropoutTest(tf.test.TestCase):

  def test_keep_one_is_no_op(self):
    inputs = tf.ones([4, 8])
    self.assertIs(dropout.dropout(inputs, 1.0), inputs)

  def test_seeded_mask_is_stateless(self):
    inputs = tf.ones([64, 64])
    seed = tf.constant([1, 2])
    first = dropout.dropout(inputs, 0.5, seed)
    self.assertAllEqual(first, dropout.dropout(inputs, 0.5, seed))
    # Kept values are scaled by 1 / keep probability.
    self.assertCountEqual(set(first.numpy().ravel().tolist()), [0., 2.])

  def test_bad_keep_probability(self):
    for keep in (0.0, -0.1, 1.5):
      with self.assertRaisesRegex(ValueError, 'keep probability'):
        dropout.check_dropout_keep_prob(keep)
    dropout.check_dropout_keep_prob(tf.constant(0.5))  # Not checked.


if __name__ == '__main__':
  tf.test.main()
