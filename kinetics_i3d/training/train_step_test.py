"""Tests for train_step.py: the synchronous step over replicas, and determinism.

The step of the training of I3D (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017) on the tiny
runs of `train_fixtures`. Multi-replica and deterministic runs go through
`python -m kinetics_i3d.train` in subprocesses: logical CPU devices,
`TF_CONFIG` and op determinism must be set before TensorFlow starts (or are
process-wide), which pytest's process has already done.
"""

import json
import os
import signal

import numpy as np
import tensorflow as tf

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import optimizer as optimizer_lib
from kinetics_i3d.training import stream_model
from kinetics_i3d.training import train
from kinetics_i3d.training import train_data
from kinetics_i3d.training import train_fixtures as fixtures

_tiny_config = fixtures.tiny_config
_new_dir = fixtures.Fixture.new_dir
_tensors = fixtures.checkpoint_tensors


class DeterminismTest(tf.test.TestCase):

  def test_runs_and_a_killed_and_resumed_run_are_bit_identical(self):
    overrides = {
        'deterministic': True,
        # The stem alone on 16x224x224 clips: weights that differ from run
        # to run without `deterministic` (its gradient rounds differently
        # when other ops run concurrently); 8x32x32 clips do not show it.
        'model.final_endpoint': 'Conv3d_1a_7x7',
        'data.resize': 224,
        'data.crop_size': 224,
        'data.num_frames': 16,
        'optim.per_replica_batch_size': 2,
        'optim.train_steps': 6,
        'checkpoint_every': 2,
        'max_checkpoints': 10,
        'summary_every': 2,
        'model.dropout_keep_prob': 0.5,
        'optim.weight_decay': 1e-3,
    }
    dirs = [_new_dir(name) for name in ('first', 'second', 'killed')]
    configs = [_tiny_config(d, **overrides) for d in dirs]
    examples, _ = train_data.list_video_folder(fixtures.Fixture.videos())
    train_data.build_cache(examples, configs[0].data.cache_dir, 'rgb', 224)
    processes = [fixtures.run_train_py(c, wait=False) for c in configs]
    killed_at = fixtures.kill_after_checkpoint(processes[2], dirs[2])
    for process, output in zip(processes, fixtures.finish(processes[:2])):
      self.assertEqual(process.returncode, 0, output[-3000:])
    self.assertEqual(processes[2].returncode, -signal.SIGKILL)
    self.assertBetween(killed_at, 2, 4)  # Interrupted after a checkpoint.
    returncode, output = fixtures.run_train_py(configs[2])
    self.assertEqual(returncode, 0, output[-3000:])
    self.assertIn(f'Resumed from {dirs[2]}/checkpoints/ckpt-{killed_at} at '
                  f'step {killed_at}', output)

    final = [_tensors(os.path.join(d, 'checkpoints', 'ckpt-6'))
             for d in dirs]
    for other in final[1:]:
      self.assertEqual(sorted(other), sorted(final[0]))
      for name in final[0]:
        self.assertAllEqual(final[0][name], other[name], msg=name)
    # Not vacuous: the weights moved.
    start = _tensors(os.path.join(dirs[0], 'checkpoints', 'ckpt-0'))
    for key in ('head/w/.ATTRIBUTES/VARIABLE_VALUE',
                'model/Conv3d_1a_7x7/conv_3d/w/.ATTRIBUTES/VARIABLE_VALUE'):
      self.assertGreater(np.abs(start[key] - final[0][key]).max(), 1e-5, key)

  def test_deterministic_needs_a_fresh_process(self):
    tf.constant(1.) + 1.  # pylint: disable=expression-not-assigned
    if tf.config.threading.get_inter_op_parallelism_threads() == 1:
      self.skipTest('This process already runs one op at a time.')
    with self.assertRaisesRegex(config_lib.TrainError, 'new process'):
      train.train(_tiny_config(_new_dir('m'), deterministic=True))


def _momentum_sgd(weights, grads, momentum, lr, wd):
  """The README's update by hand: momentum 0.9, L2 `wd` on the kernels."""
  for v, g in zip(weights, grads):
    if v.shape.rank in (2, 5):  # Kernels carry the L2 penalty.
      g = g + wd * v.numpy()
    momentum[v.ref()] = 0.9 * momentum[v.ref()] + g
    v.assign(v.numpy() - lr * momentum[v.ref()])


class DistributedTest(tf.test.TestCase):
  """Two replicas (logical CPUs, or two workers) against a hand-made update."""

  _OVERRIDES = {
      'optim.train_steps': 2,
      'optim.per_replica_batch_size': 2,
      'optim.lr_values': (0.05,),
      'optim.weight_decay': 1e-2,  # Large enough to show in the update.
      'model.dropout_keep_prob': 1.,
      'checkpoint_every': 1,
      'summary_every': 1,
  }

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.mirrored_dir = _new_dir('mirrored')
    config = _tiny_config(cls.mirrored_dir, cpu_replicas=2, **cls._OVERRIDES)
    cls.returncode, cls.output = fixtures.run_train_py(config)

  def _ckpt(self, model_dir, step):
    return os.path.join(model_dir, 'checkpoints', f'ckpt-{step}')

  def _assert_matches_checkpoint(self, model, momentum, wd, step):
    """`model` and its momenta equal the mirrored run's after `step`."""
    got = stream_model.StreamModel(fixtures.NUM_CLASSES, fixtures.ENDPOINT)
    got.build(3)
    optimizer = optimizer_lib.MomentumSGD(got.trainable_variables, 0.9, wd)
    tf.train.Checkpoint(optimizer=optimizer, **got.trackables()).restore(
        self._ckpt(self.mirrored_dir, step)).expect_partial()
    for want, have in zip(model.variables, got.variables):
      self.assertEqual(want.name, have.name)
      self.assertAllClose(want, have, rtol=1e-5, atol=2e-6,
                          msg=f'{want.name} after step {step}')
    for want, have in zip(model.trainable_variables, optimizer.accumulators):
      self.assertAllClose(momentum[want.ref()], have, rtol=1e-5, atol=2e-6)

  def test_two_replicas_match_per_replica_reference(self):
    """Mirrored over 2 CPUs == one device running the two half-batches.

    Per-replica BatchNorm makes the update differ from one device running
    the whole global batch through BatchNorm at once; the reference here is
    what the paper's per-GPU BatchNorm means: each half-batch is normalised
    by its own statistics, the gradients of the two halves are summed (each
    loss divided by the global batch), the moving averages take the mean of
    the two halves' updates; then momentum SGD with weight decay on kernels.
    """
    self.assertEqual(self.returncode, 0, self.output[-3000:])
    self.assertIn('2 replica(s) x 2 clips = global batch 4', self.output)
    config = _tiny_config(self.mirrored_dir, **self._OVERRIDES)
    model = stream_model.StreamModel(fixtures.NUM_CLASSES, fixtures.ENDPOINT)
    model.build(3)
    tf.train.Checkpoint(**model.trackables()).restore(
        self._ckpt(self.mirrored_dir, 0)).expect_partial()
    examples, _ = train_data.list_video_folder(fixtures.Fixture.videos())
    cached = train_data.build_cache(examples, config.data.cache_dir, 'rgb',
                                    config.data.resize)
    weights = model.trainable_variables
    momentum = {v.ref(): np.zeros(v.shape, np.float32) for v in weights}
    statistics = [v for v in model.variables if not v.trainable]
    lr, wd = 0.05, 1e-2

    # In a tf.function, as training runs: with oneDNN, eager-mode gradients
    # of this network differ from graph-mode ones by percents (MaxPool3D's
    # gradient), graph mode agreeing with finite differences.
    @tf.function
    def half_batch_gradients(clips, labels):
      with tf.GradientTape() as tape:
        features, _ = model.i3d(clips, is_training=True)
        logits = model.head(tf.reduce_mean(features, axis=[1, 2, 3]))
        loss = tf.reduce_sum(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels,
                                                           logits)) / 4.
      return tape.gradient(loss, weights)

    for step in range(2):
      before = [v.numpy() for v in statistics]
      grads = [np.zeros(v.shape, np.float32) for v in weights]
      after = []
      for replica in range(2):
        for v, value in zip(statistics, before):
          v.assign(value)
        clips, labels = next(iter(train_data.train_dataset(
            cached, 'rgb', 8, 32, 2, 2, [replica], step, step + 1,
            config.seed)))
        for i, g in enumerate(half_batch_gradients(clips, labels)):
          grads[i] += g.numpy()
        after.append([v.numpy() for v in statistics])
      for v, a, b in zip(statistics, *after):
        v.assign((a + b) / 2 if v.dtype.is_floating else a)
      _momentum_sgd(weights, grads, momentum, lr, wd)
      self._assert_matches_checkpoint(model, momentum, wd, step + 1)
    # The update is not trivially small: weights moved.
    start = _tensors(self._ckpt(self.mirrored_dir, 0))
    end = _tensors(self._ckpt(self.mirrored_dir, 2))
    key = 'head/w/.ATTRIBUTES/VARIABLE_VALUE'
    self.assertGreater(np.abs(start[key] - end[key]).max(), 1e-3)

  def test_two_workers_match_two_local_replicas(self):
    self.assertEqual(self.returncode, 0, self.output[-3000:])
    model_dir = _new_dir('workers')
    config = _tiny_config(model_dir, strategy='multi_worker', **self._OVERRIDES)
    ports = fixtures.free_ports(2)
    cluster = {'worker': [f'localhost:{p}' for p in ports]}
    workers = [
        fixtures.run_train_py(config, {'TF_CONFIG': json.dumps(
            {'cluster': cluster, 'task': {'type': 'worker', 'index': i}})},
                      wait=False) for i in range(2)
    ]
    for i, worker in enumerate(workers):
      try:
        output, _ = worker.communicate(timeout=300)
      finally:
        worker.kill()
      self.assertEqual(worker.returncode, 0, f'worker {i}: {output[-3000:]}')
    self.assertIn('2 replica(s) x 2 clips = global batch 4', output)
    self.assertEqual(os.listdir(model_dir).count('checkpoints'), 1)
    self.assertEmpty([d for d in os.listdir(model_dir)
                      if d.startswith('.worker_tmp')])
    two_workers = _tensors(self._ckpt(model_dir, 2))
    one_worker = _tensors(self._ckpt(self.mirrored_dir, 2))
    self.assertEqual(sorted(two_workers), sorted(one_worker))
    for name in one_worker:
      self.assertAllClose(one_worker[name], two_workers[name], rtol=1e-5,
                          atol=1e-6, msg=name)


if __name__ == '__main__':
  tf.test.main()
