"""Tests for summaries.py: the training curves of an I3D run."""

import os
import shutil
import tempfile

import tensorflow as tf

from kinetics_i3d.training import summaries


def _scalars(folder: str):
  """{(tag, step): value} of every event file in `folder`."""
  found = {}
  for name in os.listdir(folder):
    for event in tf.compat.v1.train.summary_iterator(
        os.path.join(folder, name)):
      for value in event.summary.value:
        found[value.tag, event.step] = (
            value.metadata.plugin_data.plugin_name,
            float(tf.make_ndarray(value.tensor)))
  return found


class SummariesTest(tf.test.TestCase):

  def _new_folder(self) -> str:
    folder = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
    return folder

  def test_log_step_writes_tensorboard_scalars_and_a_log_line(self):
    folder = self._new_folder()
    writer = tf.summary.create_file_writer(folder)
    with self.assertLogs(level='INFO') as logs:
      summaries.log_step(writer, 10, loss=0.5, accuracy=0.25, lr=0.1,
                         global_batch=4, window_steps=2, elapsed=4.)
    self.assertEqual(
        _scalars(folder), {
            ('loss', 10): ('scalars', 0.5),
            ('accuracy', 10): ('scalars', 0.25),
            ('learning_rate', 10): ('scalars', tf.constant(0.1).numpy()),
            ('examples_per_second', 10): ('scalars', 2.),
            ('seconds_per_step', 10): ('scalars', 2.),
        })
    self.assertIn('step 10: loss 0.5000, batch accuracy 0.250, lr 0.1, 2.00 '
                  'clips/s, 2 s/step', '\n'.join(logs.output))


if __name__ == '__main__':
  tf.test.main()
