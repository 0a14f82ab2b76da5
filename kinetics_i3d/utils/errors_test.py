"""Tests for errors.first_line."""

import tensorflow as tf

from kinetics_i3d.utils import errors


class FirstLineTest(tf.test.TestCase):

  def test_first_non_empty_line(self):
    self.assertEqual(errors.first_line(ValueError('\n  bad thing \nmore')),
                     'bad thing')

  def test_empty_message_gives_the_type(self):
    self.assertEqual(errors.first_line(KeyError()), 'KeyError')

  def test_limit(self):
    self.assertEqual(errors.first_line(ValueError('x' * 500)), 'x' * 300)
    self.assertLen(errors.first_line(ValueError('x' * 500), limit=None), 500)

  def test_tensorflow_message(self):
    error = tf.errors.NotFoundError(None, None, 'no such file\nstack')
    self.assertEqual(errors.first_line(error), 'no such file')


if __name__ == '__main__':
  tf.test.main()
