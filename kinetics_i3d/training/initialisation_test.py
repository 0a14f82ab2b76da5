"""Tests for initialisation.py: fine-tuning from DeepMind's I3D checkpoints."""

import logging as std_logging
import os
import shutil
import tempfile

from absl import logging
from absl.testing import parameterized
import ml_collections
import numpy as np
import tensorflow as tf

from kinetics_i3d import paths
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import initialisation
from kinetics_i3d.training import stream_model
from kinetics_i3d.weights import tf1_checkpoint

_ENDPOINT = 'Mixed_3c'
_NUM_CLASSES = 3


def _config(init_checkpoint: str, stream: str = 'rgb',
            final_endpoint: str = _ENDPOINT) -> ml_collections.ConfigDict:
  config = config_lib.get_config()
  config.stream = stream
  config.num_classes = _NUM_CLASSES
  config.model.init_checkpoint = init_checkpoint
  config.model.final_endpoint = final_endpoint
  return config


class InitialisationTest(parameterized.TestCase, tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp(prefix='initialisation_test_')
    cls.tensors = reference_forward.random_original_tensors('rgb_imagenet', 0)
    # A checkpoint folder as DeepMind's: <checkpoint_dir>/<name>/model.ckpt.
    cls.checkpoint_dir = os.path.join(cls.root, 'checkpoints')
    cls.prefix = os.path.join(cls.checkpoint_dir, 'rgb_imagenet', 'model.ckpt')
    os.makedirs(os.path.dirname(cls.prefix))
    tf1_checkpoint.write_tf1_checkpoint(cls.tensors, cls.prefix)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.root, ignore_errors=True)
    super().tearDownClass()

  def test_logits_replaced_for_new_classes(self):
    config = _config(self.prefix, final_endpoint='Logits')
    config.num_classes = 5
    model = stream_model.StreamModel(5)
    restored, reinitialised = initialisation.initialise_from_checkpoint(
        model, config)
    logits = {n for n in self.tensors if '/Logits/' in n}
    self.assertLen(logits, 2)
    self.assertCountEqual(restored, set(self.tensors) - logits)
    self.assertCountEqual(reinitialised, logits)
    # What the lists claim: restored values equal the file's...
    first = model.i3d.Conv3d_1a_7x7
    self.assertAllEqual(
        first.conv_3d.w,
        self.tensors['RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w'])
    self.assertAllEqual(
        model.i3d.Mixed_5c.branch_3[0].batch_norm.moving_mean.value[0, 0, 0,
                                                                     0],
        self.tensors['RGB/inception_i3d/Mixed_5c/Branch_3/Conv3d_0b_1x1/'
                     'batch_norm/moving_mean'])
    # ... and the logits are fresh, for 5 classes.
    self.assertEqual(model.i3d.Logits.conv_3d.w.shape, (1, 1, 1, 1024, 5))
    self.assertAllEqual(model.i3d.Logits.conv_3d.b, np.zeros(5))

    # The log gives a count and a summary, not 228 names on one line; the
    # names come one per line at verbosity 1.
    with self.assertLogs(level='INFO') as logs:
      initialisation.log_initialisation('rgb_imagenet', restored,
                                        reinitialised)
    text = '\n'.join(logs.output)
    self.assertIn(f'{len(restored)} variables in ', text)
    self.assertIn('(Conv3d_1a_7x7 to Mixed_5c)', text)
    self.assertLess(max(len(line) for line in logs.output), 300)
    self.assertNotIn('Mixed_4b/Branch_1', text)
    absl_logger = logging.get_absl_logger()
    level = absl_logger.level
    absl_logger.setLevel(std_logging.DEBUG)  # As --verbosity=1.
    try:
      with self.assertLogs(level='DEBUG') as logs:
        initialisation.log_initialisation('rgb_imagenet', restored,
                                          reinitialised)
    finally:
      absl_logger.setLevel(level)
    self.assertLen(logs.output, 2 + len(restored) + len(reinitialised))

  def test_truncated_model_reinitialises_its_head(self):
    model = stream_model.StreamModel(_NUM_CLASSES, _ENDPOINT)
    model.build(3)
    restored, reinitialised = initialisation.initialise_from_checkpoint(
        model, _config(self.prefix))
    self.assertTrue(all('Mixed_4' not in n for n in restored))
    self.assertIn('RGB/inception_i3d/Mixed_3c/Branch_0/Conv3d_0a_1x1/conv_3d/w',
                  restored)
    self.assertCountEqual(reinitialised, [v.name for v in model.head.variables])

  def test_checkpoint_of_the_other_stream_is_refused(self):
    config = _config(self.prefix, stream='flow')
    with self.assertRaisesRegex(config_lib.TrainError,
                                'model.init_checkpoint'):
      initialisation.initialise_from_checkpoint(
          stream_model.StreamModel(_NUM_CLASSES, _ENDPOINT), config)
    config.model.init_checkpoint = 'rgb_imagenet'
    with self.assertRaisesRegex(config_lib.TrainError, 'is a rgb checkpoint'):
      initialisation.initialise_from_checkpoint(
          stream_model.StreamModel(_NUM_CLASSES, _ENDPOINT), config)

  def test_released_names_resolve_in_checkpoint_dir(self):
    config = _config('rgb_imagenet')
    config.model.checkpoint_dir = self.checkpoint_dir
    self.assertEqual(initialisation.check_init_checkpoint(config),
                     self.prefix)
    config.model.checkpoint_dir = os.path.join(self.root, 'empty')
    with self.assertRaisesRegex(
        config_lib.TrainError,
        'model.init_checkpoint=rgb_imagenet: .*empty/rgb_imagenet/'
        r'model.ckpt.index not found.*model.checkpoint_dir'):
      initialisation.check_init_checkpoint(config)

  def test_default_checkpoint_dir_is_the_projects_whatever_the_cwd(self):
    config = _config('flow_imagenet', stream='flow')
    expected = os.path.join(paths.CHECKPOINT_DIR, 'flow_imagenet',
                            'model.ckpt')
    cwd = os.getcwd()
    os.chdir(self.root)
    try:
      found = initialisation.check_init_checkpoint(config)
    except config_lib.TrainError as e:
      self.assertIn(expected + '.index not found', str(e))
    else:
      self.assertEqual(found, expected)  # DeepMind's copy is installed.
    finally:
      os.chdir(cwd)

  def test_missing_prefix_is_named(self):
    missing = os.path.join(self.root, 'nowhere', 'model.ckpt')
    with self.assertRaisesRegex(config_lib.TrainError,
                                f'no checkpoint {missing}.index'):
      initialisation.check_init_checkpoint(_config(missing))


class SummaryTest(parameterized.TestCase):

  @parameterized.parameters(
      ([], 'none'),
      (['a/w:0', 'b/w:0'], 'a/w:0, b/w:0'),
      ([f'Flow/inception_i3d/Mixed_4{c}/Branch_0/w' for c in 'bcdef'],
       '5 variables in 5 endpoints (Mixed_4b to Mixed_4f)'),
      ([f'inception_i3d/Mixed_5b/Branch_{i}/w' for i in range(5)],
       '5 variables in Mixed_5b'))
  def test_summaries(self, names, expected):
    self.assertEqual(initialisation.summarize_names(names), expected)


if __name__ == '__main__':
  tf.test.main()
