"""Tests for `kinetics_i3d.utils.log_state`."""

import logging as python_logging
import shutil
import tempfile

from absl import logging
from absl.testing import absltest
import tensorflow as tf

from kinetics_i3d.utils import log_state


class KeptLogLevelTest(absltest.TestCase):

  def test_info_lines_still_shown_after_a_saved_model_save(self):
    folder = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
    module = tf.Module()
    module.weight = tf.Variable(1.)
    absl_logger = python_logging.getLogger('absl')
    before = absl_logger.level
    with log_state.kept_log_level():
      tf.saved_model.save(module, folder)
    self.assertEqual(absl_logger.level, before)
    with self.assertLogs(level='INFO') as logs:
      logging.info('still shown')
    self.assertEqual([r.getMessage() for r in logs.records], ['still shown'])

  def test_restored_when_the_call_fails(self):
    absl_logger = python_logging.getLogger('absl')
    before = absl_logger.level
    with self.assertRaises(RuntimeError):
      with log_state.kept_log_level():
        absl_logger.setLevel(python_logging.ERROR)
        raise RuntimeError('converter failed')
    self.assertEqual(absl_logger.level, before)


if __name__ == '__main__':
  absltest.main()
