"""Tests for train.py: recipe, resumption, distribution, fine-tuning, errors.

The network is the real I3D stem truncated at 'Mixed_3c' with the pooled
linear head (`model.final_endpoint`), on 8-frame 32x32 crops of a tiny
synthetic dataset (`train_data_test.write_synthetic_dataset`), so that a
training step takes tens of milliseconds. Multi-replica runs go through
`train.py`'s command line in subprocesses: logical CPU devices and
`TF_CONFIG` must be set before TensorFlow starts, which pytest's process has
already done.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional

from absl.testing import parameterized
import ml_collections
import numpy as np
import tensorflow as tf

import assets
import checkpoints
import i3d
import reference_forward
import train
import train_data
import train_data_test

_REPO = os.path.dirname(os.path.abspath(__file__))
_NUM_CLASSES = 3
_ENDPOINT = 'Mixed_3c'


class _Fixture:
  """One synthetic dataset (and its cache) shared by every test."""
  root: Optional[str] = None

  @classmethod
  def directory(cls) -> str:
    if cls.root is None:
      cls.root = tempfile.mkdtemp(prefix='train_test_')
      train_data_test.write_synthetic_dataset(
          os.path.join(cls.root, 'videos'), num_classes=_NUM_CLASSES,
          per_class=2, broken=1)
    return cls.root

  @classmethod
  def videos(cls) -> str:
    return os.path.join(cls.directory(), 'videos')

  @classmethod
  def new_dir(cls, name: str) -> str:
    return tempfile.mkdtemp(prefix=name + '-', dir=cls.directory())


def tearDownModule():
  if _Fixture.root is not None:
    shutil.rmtree(_Fixture.root, ignore_errors=True)


def tiny_config(model_dir: str, **overrides) -> ml_collections.ConfigDict:
  """The recipe on a truncated network and 8x32x32 clips."""
  config = train.get_config()
  config.model_dir = model_dir
  config.num_classes = _NUM_CLASSES
  config.data.train_dir = _Fixture.videos()
  config.data.cache_dir = os.path.join(_Fixture.directory(), 'cache')
  config.data.resize = 40
  config.data.crop_size = 32
  config.data.num_frames = 8
  config.data.parallelism = 2
  config.model.final_endpoint = _ENDPOINT
  config.optim.per_replica_batch_size = 4
  config.optim.schedule = 'custom'
  config.optim.lr_values = (0.01,)
  config.optim.train_steps = 40
  config.optim.lr_scaling = 'none'
  config.checkpoint_every = 20
  config.summary_every = 10
  for key, value in overrides.items():
    node = config
    *parents, leaf = key.split('.')
    for parent in parents:
      node = node[parent]
    node[leaf] = value
  return config


def _command_line(config) -> List[str]:
  """`--config.a.b=value` flags reproducing `config` (scalars and tuples)."""
  out = []

  def walk(node, prefix):
    for key, value in node.items():
      if isinstance(value, ml_collections.ConfigDict):
        walk(value, f'{prefix}{key}.')
      else:
        text = repr(tuple(value)) if isinstance(value, tuple) else str(value)
        out.append(f'--config.{prefix}{key}={text}')

  walk(config, '')
  return out


def _run_train_py(config, env_extra: Optional[Dict[str, str]] = None,
                  wait: bool = True):
  env = dict(os.environ)
  env['PYTHONPATH'] = os.pathsep.join(
      p for p in (_REPO, env.get('PYTHONPATH')) if p)
  env['TF_CPP_MIN_LOG_LEVEL'] = '2'
  env.update(env_extra or {})
  process = subprocess.Popen(
      [sys.executable, os.path.join(_REPO, 'train.py')] + _command_line(config),
      cwd=_REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      text=True)
  if not wait:
    return process
  output, _ = process.communicate(timeout=300)
  return process.returncode, output


def _checkpoint_tensors(prefix: str) -> Dict[str, np.ndarray]:
  reader = tf.train.load_checkpoint(prefix)
  return {
      name: reader.get_tensor(name)
      for name in reader.get_variable_to_shape_map()
      if not name.startswith('_CHECKPOINTABLE_OBJECT_GRAPH')
  }


def _free_ports(count: int) -> List[int]:
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(('localhost', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


class LearningRateTest(parameterized.TestCase, tf.test.TestCase):

  # From the kinetics-i3d README: "0 - 97k: 1e-1, 97k - 108k: 1e-2, ...".
  @parameterized.parameters(
      ('rgb', 0, 0.1), ('rgb', 96999, 0.1), ('rgb', 97000, 0.01),
      ('rgb', 107999, 0.01), ('rgb', 108000, 0.001), ('rgb', 114999, 0.001),
      ('flow', 104499, 0.01), ('flow', 104500, 0.001), ('flow', 115000, 0.1),
      ('flow', 140000, 0.01), ('flow', 150000, 0.001))
  def test_presets(self, stream, step, expected):
    config = train.get_config()
    config.stream = stream
    boundaries, values, end = train.lr_schedule(config)
    self.assertEqual(end, {'rgb': 115000, 'flow': 155000}[stream])
    self.assertAllClose(
        train.learning_rate(tf.constant(step, tf.int64), boundaries, values),
        expected)

  def test_custom_schedule_and_scaling(self):
    config = tiny_config('', **{'optim.lr_boundaries': (10, 20),
                                'optim.lr_values': (1., .5, .25)})
    boundaries, values, end = train.lr_schedule(config)
    self.assertEqual((boundaries, values, end), ((10, 20), (1., .5, .25), 40))
    rates = [float(train.learning_rate(tf.constant(s, tf.int64), boundaries,
                                       values, scale=6 / 384))
             for s in (0, 10, 25)]
    self.assertAllClose(rates, [6 / 384, 3 / 384, 1.5 / 384])

  @parameterized.parameters(
      ({'optim.lr_boundaries': (10,), 'optim.lr_values': (1.,)}, 'one more'),
      ({'optim.lr_boundaries': (20, 10), 'optim.lr_values': (1., 1., 1.)},
       'increasing'),
      ({'optim.train_steps': 0}, 'train_steps'),
      ({'optim.lr_values': (-1.,)}, 'positive'),
      ({'optim.schedule': 'cosine'}, 'schedule'))
  def test_bad_schedules(self, overrides, message):
    with self.assertRaisesRegex(train.TrainError, message):
      train.lr_schedule(tiny_config('', **overrides))


class ModelTest(tf.test.TestCase):

  def test_head_equals_inception_i3d_logits(self):
    model = train.StreamModel(7)
    clip = tf.random.stateless_uniform([1, 9, 224, 224, 3], [1, 2], -1., 1.)
    expected, _ = model.i3d(clip, is_training=False)
    self.assertAllClose(model(clip, is_training=False), expected, atol=1e-5)
    seed = tf.constant([3, 4])
    dropped = model(clip, False, dropout_keep_prob=0.5, dropout_seed=seed)
    self.assertAllEqual(
        dropped, model(clip, False, dropout_keep_prob=0.5, dropout_seed=seed))
    self.assertNotAllClose(dropped, expected)

  def test_weight_decay_applies_to_kernels_only(self):
    model = train.StreamModel(3, _ENDPOINT)
    model.build(3)
    decayed = sorted(v.name for v in model.trainable_variables
                     if train.decayed(v))
    kernels = sorted(v.name for v in model.trainable_variables
                     if v.shape.rank in (2, 5))
    self.assertEqual(decayed, kernels)
    self.assertNotEmpty(
        [v for v in model.trainable_variables if not train.decayed(v)])


class TrainTest(tf.test.TestCase):

  def test_overfits_tiny_dataset(self):
    model_dir = _Fixture.new_dir('overfit')
    result = train.train(tiny_config(model_dir))
    self.assertEqual(result.step, 40)
    self.assertEqual(result.skipped_videos, 1)  # class_0/broken0.avi.
    start = np.mean(result.losses[:3])
    end = np.mean(result.losses[-10:])
    self.assertGreater(start, 0.8)  # About ln(3) at initialisation.
    self.assertLess(end, 0.3 * start)
    self.assertEqual(
        tf.train.latest_checkpoint(os.path.join(model_dir, 'checkpoints')),
        os.path.join(model_dir, 'checkpoints', 'ckpt-40'))
    events = os.listdir(os.path.join(model_dir, 'train'))
    self.assertNotEmpty([e for e in events if 'tfevents' in e])
    tags = set()
    for event_file in events:
      for event in tf.compat.v1.train.summary_iterator(
          os.path.join(model_dir, 'train', event_file)):
        tags.update(v.tag for v in event.summary.value)
    self.assertContainsSubset(
        {'loss', 'accuracy', 'learning_rate', 'examples_per_second'}, tags)

  def test_resume_is_bit_for_bit(self):
    overrides = {
        'optim.train_steps': 6,
        'checkpoint_every': 3,
        'model.dropout_keep_prob': 0.5,
        'optim.weight_decay': 1e-3,
    }
    straight = _Fixture.new_dir('straight')
    train.train(tiny_config(straight, **overrides))
    interrupted = _Fixture.new_dir('interrupted')
    first = train.train(tiny_config(interrupted, **overrides), stop_at=3)
    self.assertEqual(first.step, 3)
    second = train.train(tiny_config(interrupted, **overrides))
    self.assertEqual(second.step, 6)
    self.assertLen(second.losses, 3)
    a = _checkpoint_tensors(os.path.join(straight, 'checkpoints', 'ckpt-6'))
    b = _checkpoint_tensors(os.path.join(interrupted, 'checkpoints', 'ckpt-6'))
    self.assertEqual(sorted(a), sorted(b))
    # Model, head, momentum accumulators, BatchNorm statistics, step.
    self.assertTrue(any('optimizer/accumulators' in k for k in a))
    for name in a:
      self.assertAllEqual(a[name], b[name], msg=name)
    # The checkpoint moved away from step 3's: the comparison is not vacuous.
    c = _checkpoint_tensors(os.path.join(straight, 'checkpoints', 'ckpt-3'))
    moved = [n for n in a if a[n].dtype == np.float32 and
             not np.array_equal(a[n], c[n])]
    self.assertGreater(len(moved), len(a) // 2)

    # Resuming with settings the checkpoint cannot hold is refused.
    with self.assertRaisesRegex(train.TrainError, 'num_classes=3'):
      train.train(tiny_config(interrupted, num_classes=4, **overrides))
    os.remove(os.path.join(interrupted, train._META_FILE))
    with self.assertRaisesRegex(train.TrainError, 'Cannot resume'):
      train.train(tiny_config(interrupted, num_classes=4, **overrides))

  def test_bad_datasets(self):
    empty = _Fixture.new_dir('empty')
    os.makedirs(os.path.join(empty, 'class_a'))
    with self.assertRaisesRegex(train_data.DatasetError, 'holds no videos'):
      train.train(tiny_config(_Fixture.new_dir('m'),
                              **{'data.train_dir': empty}))
    split = os.path.join(_Fixture.new_dir('split'), 'train.txt')
    with open(split, 'w') as f:
      f.write(os.path.join(_Fixture.videos(), 'class_1', 'v0.avi') + ' 5\n')
    with self.assertRaisesRegex(train_data.DatasetError,
                                r'label 5 .* outside \[0, 3\)'):
      train.train(tiny_config(_Fixture.new_dir('m'),
                              **{'data.train_dir': '',
                                 'data.train_split': split}))
    with self.assertRaisesRegex(train.TrainError, '4 class folders'):
      root = _Fixture.new_dir('four')
      for k in range(4):
        os.makedirs(os.path.join(root, f'c{k}'))
        shutil.copy(os.path.join(_Fixture.videos(), 'class_1', 'v0.avi'),
                    os.path.join(root, f'c{k}'))
      train.train(tiny_config(_Fixture.new_dir('m'),
                              **{'data.train_dir': root}))

  def test_clip_shapes_the_network_cannot_take(self):
    # These used to fail with a traceback inside the first training step.
    for overrides, message in (
        ({'data.num_frames': 0}, 'data.num_frames .* at least 1'),
        ({'optim.per_replica_batch_size': 0}, 'per_replica_batch_size'),
        # The full network's logits need 9 frames and 224x224 crops.
        ({'model.final_endpoint': 'Logits', 'data.num_frames': 16},
         '224x224'),
        ({'model.final_endpoint': 'Logits', 'data.resize': 256,
          'data.crop_size': 224, 'data.num_frames': 4}, 'at least 9 frames')):
      with self.subTest(overrides=overrides):
        with self.assertRaisesRegex(train.TrainError, message):
          train.train(tiny_config(_Fixture.new_dir('m'), **overrides))

  def test_evaluate_both_streams(self):
    rgb_dir = _Fixture.new_dir('rgb')
    flow_dir = _Fixture.new_dir('flow')
    train.train(tiny_config(rgb_dir, **{'optim.train_steps': 2}))
    train.train(tiny_config(flow_dir, stream='flow',
                            **{'optim.train_steps': 2}))
    config = tiny_config(_Fixture.new_dir('eval'), mode='eval', **{
        'data.train_dir': '', 'data.eval_dir': _Fixture.videos(),
        'eval.rgb_checkpoint': rgb_dir, 'eval.flow_checkpoint': flow_dir})
    results = train.evaluate(config)
    self.assertCountEqual(results, ['rgb', 'flow', 'two_stream'])
    for name in results:
      self.assertEqual(results[name]['num_videos'], 6)
      self.assertEqual(results[name]['top5'], 1.)  # 3 classes.
    with open(os.path.join(config.model_dir, 'eval_results.json')) as f:
      self.assertEqual(json.load(f), results)
    # A checkpoint of the other stream is refused.
    config.eval.rgb_checkpoint = flow_dir
    with self.assertRaisesRegex(train.TrainError, 'trained for stream flow'):
      train.evaluate(config)


class ScoreTest(tf.test.TestCase):

  def test_top_k_counts_ties_against_the_label(self):
    logits = np.array([[3., 1., 2.], [1., 1., 0.], [0., 5., 4.]])
    labels = np.array([2, 0, 0])
    self.assertAllEqual(train.top_k_correct(logits, labels, 1),
                        [False, True, False])
    self.assertAllEqual(train.top_k_correct(logits, labels, 2),
                        [True, True, False])

  def test_two_stream_adds_logits(self):
    labels = {'a': 0, 'b': 1, 'c': 2}
    rgb = {'a': np.array([0., 2., 0.]), 'b': np.array([0., 1., 0.]),
           'c': np.array([1., 0., 0.])}
    flow = {'a': np.array([3., 0., 0.]), 'b': np.array([2., 0., 0.]),
            'c': np.array([0., 0., 2.])}
    results = train.score({'rgb': rgb, 'flow': flow}, labels)
    self.assertEqual(results['rgb']['top1'], 1 / 3)  # b only.
    self.assertEqual(results['flow']['top1'], 2 / 3)  # a and c.
    # Sums: a [3, 2, 0] -> 0, b [2, 1, 0] -> 0 (wrong), c [1, 0, 2] -> 2.
    self.assertEqual(results['two_stream']['top1'], 2 / 3)
    self.assertEqual(results['two_stream']['num_videos'], 3)


class InitialisationTest(parameterized.TestCase, tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tensors = reference_forward.random_original_tensors('rgb_imagenet', 0)
    cls.prefix = os.path.join(_Fixture.new_dir('init'), 'model.ckpt')
    assets.write_tf1_checkpoint(cls.tensors, cls.prefix)

  def test_logits_replaced_for_new_classes(self):
    config = tiny_config('', **{'model.init_checkpoint': self.prefix,
                                'model.final_endpoint': 'Logits'})
    config.num_classes = 5
    model = train.StreamModel(5)
    restored, reinitialised = train.initialise_from_checkpoint(model, config)
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

  def test_truncated_model_reinitialises_its_head(self):
    config = tiny_config('', **{'model.init_checkpoint': self.prefix})
    model = train.StreamModel(_NUM_CLASSES, _ENDPOINT)
    model.build(3)
    restored, reinitialised = train.initialise_from_checkpoint(model, config)
    self.assertTrue(all('Mixed_4' not in n for n in restored))
    self.assertIn('RGB/inception_i3d/Mixed_3c/Branch_0/Conv3d_0a_1x1/conv_3d/w',
                  restored)
    self.assertCountEqual(reinitialised, [v.name for v in model.head.variables])

  def test_checkpoint_of_the_other_stream_is_refused(self):
    config = tiny_config('', stream='flow',
                         **{'model.init_checkpoint': self.prefix})
    with self.assertRaisesRegex(train.TrainError, 'model.init_checkpoint'):
      train.initialise_from_checkpoint(
          train.StreamModel(_NUM_CLASSES, _ENDPOINT), config)
    config.model.init_checkpoint = 'rgb_imagenet'
    with self.assertRaisesRegex(train.TrainError, 'is a rgb checkpoint'):
      train.initialise_from_checkpoint(
          train.StreamModel(_NUM_CLASSES, _ENDPOINT), config)


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
    cls.mirrored_dir = _Fixture.new_dir('mirrored')
    config = tiny_config(cls.mirrored_dir, cpu_replicas=2, **cls._OVERRIDES)
    cls.returncode, cls.output = _run_train_py(config)

  def _ckpt(self, model_dir, step):
    return os.path.join(model_dir, 'checkpoints', f'ckpt-{step}')

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
    config = tiny_config(self.mirrored_dir, **self._OVERRIDES)
    model = train.StreamModel(_NUM_CLASSES, _ENDPOINT)
    model.build(3)
    tf.train.Checkpoint(**model.trackables()).restore(
        self._ckpt(self.mirrored_dir, 0)).expect_partial()
    examples, _ = train_data.list_video_folder(_Fixture.videos())
    cached = train_data.build_cache(examples, config.data.cache_dir, 'rgb',
                                    config.data.resize)
    weights = model.trainable_variables
    momentum = {v.ref(): np.zeros(v.shape, np.float32) for v in weights}
    statistics = [v for v in model.variables if not v.trainable]
    lr, wd = 0.05, 1e-2

    # In a tf.function, as train.py runs: with oneDNN, eager-mode gradients
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
      for v, g in zip(weights, grads):
        if v.shape.rank in (2, 5):  # Kernels carry the L2 penalty.
          g = g + wd * v.numpy()
        momentum[v.ref()] = 0.9 * momentum[v.ref()] + g
        v.assign(v.numpy() - lr * momentum[v.ref()])

      got = train.StreamModel(_NUM_CLASSES, _ENDPOINT)
      got.build(3)
      optimizer = train.MomentumSGD(got.trainable_variables, 0.9, wd)
      tf.train.Checkpoint(optimizer=optimizer, **got.trackables()).restore(
          self._ckpt(self.mirrored_dir, step + 1)).expect_partial()
      for want, have in zip(model.variables, got.variables):
        self.assertEqual(want.name, have.name)
        self.assertAllClose(want, have, rtol=1e-5, atol=2e-6,
                            msg=f'{want.name} after step {step + 1}')
      for want, have in zip(weights, optimizer.accumulators):
        self.assertAllClose(momentum[want.ref()], have, rtol=1e-5, atol=2e-6)
    # The update is not trivially small: weights moved.
    start = _checkpoint_tensors(self._ckpt(self.mirrored_dir, 0))
    end = _checkpoint_tensors(self._ckpt(self.mirrored_dir, 2))
    key = 'head/w/.ATTRIBUTES/VARIABLE_VALUE'
    self.assertGreater(np.abs(start[key] - end[key]).max(), 1e-3)

  def test_two_workers_match_two_local_replicas(self):
    self.assertEqual(self.returncode, 0, self.output[-3000:])
    model_dir = _Fixture.new_dir('workers')
    config = tiny_config(model_dir, strategy='multi_worker', **self._OVERRIDES)
    ports = _free_ports(2)
    cluster = {'worker': [f'localhost:{p}' for p in ports]}
    workers = [
        _run_train_py(config, {'TF_CONFIG': json.dumps(
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
    two_workers = _checkpoint_tensors(self._ckpt(model_dir, 2))
    one_worker = _checkpoint_tensors(self._ckpt(self.mirrored_dir, 2))
    self.assertEqual(sorted(two_workers), sorted(one_worker))
    for name in one_worker:
      self.assertAllClose(one_worker[name], two_workers[name], rtol=1e-5,
                          atol=1e-6, msg=name)

  def test_command_line_reports_bad_input_in_one_line(self):
    empty = _Fixture.new_dir('empty')
    returncode, output = _run_train_py(
        tiny_config(_Fixture.new_dir('m'), **{'data.train_dir': empty}))
    self.assertEqual(returncode, 1)
    self.assertIn('train.py: Dataset folder', output)
    self.assertNotIn('Traceback', output)

  def test_command_line_reports_unknown_config_field_in_one_line(self):
    # ml_collections applies --config overrides while the flag is defined,
    # before app.run: an unknown field used to end in a traceback.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    result = subprocess.run(
        [sys.executable, os.path.join(_REPO, 'train.py'),
         '--config.optim.batch_size=2'],
        cwd=_REPO, env=env, capture_output=True, text=True, timeout=300)
    self.assertEqual(result.returncode, 1)
    self.assertIn('train.py: unknown --config field batch_size',
                  result.stderr)
    self.assertNotIn('Traceback', result.stdout + result.stderr)


if __name__ == '__main__':
  tf.test.main()
