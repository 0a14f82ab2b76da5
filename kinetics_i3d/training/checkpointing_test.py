"""Tests for checkpointing.py: starting, committing and resuming a run."""

import os
import shutil
import tempfile

import tensorflow as tf

from kinetics_i3d.training import checkpointing
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import workdir


def _config(model_dir: str, num_classes: int = 3):
  config = config_lib.get_config()
  config.model_dir = model_dir
  config.num_classes = num_classes
  config.model.final_endpoint = 'Conv3d_1a_7x7'
  config.max_checkpoints = 2
  return config


class CheckpointingTest(tf.test.TestCase):

  def _new_folder(self) -> str:
    folder = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
    return folder

  def test_start_commits_step_0_and_resume_restores_it(self):
    model_dir = self._new_folder()
    strategy = tf.distribute.get_strategy()
    config = _config(model_dir)
    session = checkpointing.create_session(config, strategy)
    self.assertTrue(session.chief)
    self.assertEqual(session.checkpoint_dir, workdir.checkpoint_dir(model_dir))
    with self.assertLogs(level='INFO') as logs:
      self.assertEqual(checkpointing.start(session, config, None), ([], []))
    self.assertIn('Training from scratch', '\n'.join(logs.output))
    self.assertEqual(workdir.read_meta(model_dir)['num_classes'], 3)
    ckpt_0 = workdir.latest_checkpoint(model_dir)
    self.assertEqual(ckpt_0, os.path.join(model_dir, 'checkpoints', 'ckpt-0'))

    # Two steps done since ckpt-0 are kept by an interruption.
    session.step_var.assign(2)
    checkpointing.save_after_interruption(session, 0, checkpoint_every=5)
    ckpt_2 = workdir.latest_checkpoint(model_dir)
    self.assertEqual(ckpt_2, os.path.join(model_dir, 'checkpoints', 'ckpt-2'))
    # None at a checkpoint boundary or before any step.
    session.step_var.assign(5)
    checkpointing.save_after_interruption(session, 0, checkpoint_every=5)
    self.assertEqual(workdir.latest_checkpoint(model_dir), ckpt_2)

    resumed = checkpointing.create_session(config, strategy)
    with self.assertLogs(level='INFO') as logs:
      checkpointing.start(resumed, config, ckpt_2)
    self.assertIn(f'Resumed from {ckpt_2} at step 2.', '\n'.join(logs.output))
    self.assertEqual(int(resumed.step_var.numpy()), 2)
    for want, have in zip(session.model.variables, resumed.model.variables):
      self.assertAllEqual(want, have)

    other = _config(self._new_folder(), num_classes=4)
    with self.assertRaisesRegex(
        checkpointing.TrainError,
        f'Cannot resume from {ckpt_2}: it does not match this model '
        r'\(.+\)\. Use a new model_dir\.'):
      checkpointing.start(
          checkpointing.create_session(other, strategy), other, ckpt_2)


if __name__ == '__main__':
  tf.test.main()
