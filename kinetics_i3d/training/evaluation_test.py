"""Tests for evaluation.py: accuracy of I3D streams and of their sum."""

import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from kinetics_i3d.testing import reference_forward
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import evaluation
from kinetics_i3d.training import train
from kinetics_i3d.training import train_fixtures
from kinetics_i3d.weights import tf1_checkpoint


class ScoreTest(tf.test.TestCase):

  def test_top_k_counts_ties_against_the_label(self):
    logits = np.array([[3., 1., 2.], [1., 1., 0.], [0., 5., 4.]])
    labels = np.array([2, 0, 0])
    self.assertAllEqual(evaluation.top_k_correct(logits, labels, 1),
                        [False, True, False])
    self.assertAllEqual(evaluation.top_k_correct(logits, labels, 2),
                        [True, True, False])

  def test_two_stream_adds_logits(self):
    labels = {'a': 0, 'b': 1, 'c': 2}
    rgb = {'a': np.array([0., 2., 0.]), 'b': np.array([0., 1., 0.]),
           'c': np.array([1., 0., 0.])}
    flow = {'a': np.array([3., 0., 0.]), 'b': np.array([2., 0., 0.]),
            'c': np.array([0., 0., 2.])}
    results = evaluation.score({'rgb': rgb, 'flow': flow}, labels)
    self.assertEqual(results['rgb']['top1'], 1 / 3)  # b only.
    self.assertEqual(results['flow']['top1'], 2 / 3)  # a and c.
    # Sums: a [3, 2, 0] -> 0, b [2, 1, 0] -> 0 (wrong), c [1, 0, 2] -> 2.
    self.assertEqual(results['two_stream']['top1'], 2 / 3)
    self.assertEqual(results['two_stream']['num_videos'], 3)


class EvaluateCheckpointsTest(tf.test.TestCase):

  def test_evaluate_both_streams(self):
    fixture = train_fixtures.Fixture
    rgb_dir = fixture.new_dir('rgb')
    flow_dir = fixture.new_dir('flow')
    tiny_config = train_fixtures.tiny_config
    train.train(tiny_config(rgb_dir, **{'optim.train_steps': 2}))
    train.train(tiny_config(flow_dir, stream='flow',
                            **{'optim.train_steps': 2}))
    config = tiny_config(fixture.new_dir('eval'), mode='eval', **{
        'data.train_dir': '', 'data.eval_dir': fixture.videos(),
        'eval.rgb_checkpoint': rgb_dir, 'eval.flow_checkpoint': flow_dir})
    results = evaluation.evaluate_checkpoints(config)
    self.assertCountEqual(results, ['rgb', 'flow', 'two_stream'])
    for name in results:
      self.assertEqual(results[name]['num_videos'], 6)
      self.assertEqual(results[name]['top5'], 1.)  # 3 classes.
    with open(os.path.join(config.model_dir, 'eval_results.json')) as f:
      self.assertEqual(json.load(f), results)
    # A checkpoint of the other stream is refused.
    config.eval.rgb_checkpoint = flow_dir
    with self.assertRaisesRegex(train.TrainError, 'trained for stream flow'):
      evaluation.evaluate_checkpoints(config)

  def test_released_names_resolve_in_checkpoint_dir(self):
    root = tempfile.mkdtemp(prefix='evaluation_test_')
    self.addCleanup(shutil.rmtree, root, ignore_errors=True)
    tensors = reference_forward.random_original_tensors('flow_imagenet', 1)
    prefix = os.path.join(root, 'flow_imagenet', 'model.ckpt')
    os.makedirs(os.path.dirname(prefix))
    tf1_checkpoint.write_tf1_checkpoint(tensors, prefix)
    config = config_lib.get_config()
    config.model.checkpoint_dir = root
    model = evaluation.load_for_eval('flow', 'flow_imagenet', config)
    self.assertAllEqual(
        model.i3d.Logits.conv_3d.b,
        tensors['Flow/inception_i3d/Logits/Conv3d_0c_1x1/conv_3d/b'])
    with self.assertRaisesRegex(config_lib.TrainError,
                                'eval.rgb_checkpoint=flow_imagenet is a flow'):
      evaluation.load_for_eval('rgb', 'flow_imagenet', config)
    config.model.checkpoint_dir = os.path.join(root, 'elsewhere')
    with self.assertRaisesRegex(
        config_lib.TrainError,
        'eval.flow_checkpoint=flow_imagenet: .*elsewhere/flow_imagenet/'
        'model.ckpt.index not found'):
      evaluation.load_for_eval('flow', 'flow_imagenet', config)

  def test_missing_checkpoint_is_not_called_a_misfit(self):
    missing = os.path.join(tempfile.mkdtemp(prefix='evaluation_test_'),
                           'run', 'ckpt-5')
    config = config_lib.get_config()
    config.num_classes = 2
    with self.assertRaisesRegex(
        config_lib.TrainError,
        f'^eval.rgb_checkpoint={missing}: no such checkpoint'):
      evaluation.load_for_eval('rgb', missing, config)


if __name__ == '__main__':
  tf.test.main()
