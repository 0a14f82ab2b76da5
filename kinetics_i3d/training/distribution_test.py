"""Tests for distribution.py: data-parallel I3D training (CVPR 2017 recipe).

Training on two replicas is tested in train_test.py; these are the pieces.
"""

import json
import os
from unittest import mock

import tensorflow as tf

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import distribution


class MakeStrategyTest(tf.test.TestCase):

  def test_mirrored_on_this_machine(self):
    strategy = distribution.make_strategy('mirrored')
    self.assertIsInstance(strategy, tf.distribute.MirroredStrategy)
    self.assertEqual(distribution.task(strategy), (None, 0))
    self.assertTrue(distribution.is_chief(strategy))

  def test_bad_names_and_missing_cluster(self):
    with self.assertRaisesRegex(config_lib.TrainError,
                                "strategy must be one of .*got 'tpu'"):
      distribution.make_strategy('tpu')
    with mock.patch.dict(os.environ, {'TF_CONFIG': ''}):
      with self.assertRaisesRegex(config_lib.TrainError,
                                  'multi_worker needs the TF_CONFIG'):
        distribution.make_strategy('multi_worker')


class ChiefTest(tf.test.TestCase):

  def _strategy(self, task_type, task_id):
    resolver = mock.Mock(task_type=task_type, task_id=task_id)
    return mock.Mock(cluster_resolver=resolver)

  def test_chief_is_the_chief_or_else_worker_0(self):
    with_chief = {'cluster': {'chief': ['a:1'], 'worker': ['b:1', 'c:1']}}
    workers = {'cluster': {'worker': ['b:1', 'c:1']}}
    for config, task_type, task_id, chief in (
        (with_chief, 'chief', 0, True),
        (with_chief, 'worker', 0, False),
        (workers, 'worker', 0, True),
        (workers, 'worker', 1, False),
    ):
      with mock.patch.dict(os.environ, {'TF_CONFIG': json.dumps(config)}):
        self.assertEqual(
            distribution.is_chief(self._strategy(task_type, task_id)), chief,
            (config, task_type, task_id))


class AggregationTest(tf.test.TestCase):

  def test_statistics_average_counters_take_the_first_replica(self):
    made = {}

    def creator(**kwargs):
      made[kwargs['name']] = kwargs.get('aggregation')
      return None

    for name, dtype, trainable in (('mean', tf.float32, False),
                                   ('count', tf.int64, False),
                                   ('weights', tf.float32, True)):
      distribution.distribution_aware_creator(
          creator, name=name, dtype=dtype, trainable=trainable)
    self.assertEqual(made, {
        'mean': tf.VariableAggregation.MEAN,
        'count': tf.VariableAggregation.ONLY_FIRST_REPLICA,
        'weights': None,
    })


if __name__ == '__main__':
  tf.test.main()
