"""Tests for train.py and the i3d-train tool (kinetics_i3d/train.py).

Recipe, resumption, distribution, the checks made before any work, and
determinism of the training of I3D (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017).

The network is the real I3D stem truncated at 'Mixed_3c' with the pooled
linear head (`model.final_endpoint`), on 8-frame 32x32 crops of a tiny
synthetic dataset (`train_data_test.write_synthetic_dataset`), so that a
training step takes tens of milliseconds. Multi-replica, determinism and
command-line runs go through `python -m kinetics_i3d.train` in subprocesses:
logical CPU devices, `TF_CONFIG` and op determinism must be set before
TensorFlow starts (or are process-wide), which pytest's process has already
done.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence
from unittest import mock

import ml_collections
import numpy as np
import tensorflow as tf

from kinetics_i3d import paths
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import optimizer as optimizer_lib
from kinetics_i3d.training import stream_model
from kinetics_i3d.training import train
from kinetics_i3d.training import train_data
from kinetics_i3d.training import train_data_test
from kinetics_i3d.training import workdir
from kinetics_i3d.weights import tf1_checkpoint

_NUM_CLASSES = 3
_ENDPOINT = 'Mixed_3c'
_TOOL = [sys.executable, '-m', 'kinetics_i3d.train']


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
    _Fixture.root = None  # evaluation_test.py may make it again.


def tiny_config(model_dir: str, **overrides) -> ml_collections.ConfigDict:
  """The recipe on a truncated network and 8x32x32 clips."""
  config = config_lib.get_config()
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
      elif value is not None:  # An unset placeholder keeps its default.
        text = repr(tuple(value)) if isinstance(value, tuple) else str(value)
        out.append(f'--config.{prefix}{key}={text}')

  walk(config, '')
  return out


def run_tool(args: Sequence[str], env_extra: Optional[Dict[str, str]] = None,
             wait: bool = True):
  """Runs i3d-train from a folder outside the project, as a user would."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  env.update(env_extra or {})
  process = subprocess.Popen(
      _TOOL + list(args), cwd=_Fixture.directory(), env=env,
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  if not wait:
    return process
  output, _ = process.communicate(timeout=300)
  return process.returncode, output


def _run_train_py(config, env_extra: Optional[Dict[str, str]] = None,
                  wait: bool = True):
  return run_tool(_command_line(config), env_extra, wait)


def _finish(processes) -> List[str]:
  """Waits for processes started by run_tool; their outputs."""
  outputs = []
  for process in processes:
    try:
      output, _ = process.communicate(timeout=300)
    finally:
      process.kill()
    outputs.append(output)
  return outputs


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
    os.remove(os.path.join(interrupted, workdir.META_FILE))
    # A split file's labels may be a subset of num_classes (a warning); the
    # class folders must match it.
    examples, _ = train_data.list_video_folder(_Fixture.videos())
    split = os.path.join(_Fixture.new_dir('split'), 'train.txt')
    with open(split, 'w') as f:
      f.writelines(f'{e.path} {e.label}\n' for e in examples)
    with self.assertRaisesRegex(train.TrainError, 'Cannot resume'):
      train.train(tiny_config(interrupted, num_classes=4, **{
          'data.train_dir': '', 'data.train_split': split}, **overrides))

  def test_ctrl_c_keeps_the_finished_steps(self):
    overrides = {'optim.train_steps': 6, 'checkpoint_every': 3}
    make_train_step = train.make_train_step

    def interrupted_after_four_steps(*args, **kwargs):
      step = make_train_step(*args, **kwargs)
      calls = []

      def interrupted(iterator):
        calls.append(1)
        if len(calls) > 4:
          raise KeyboardInterrupt
        return step(iterator)
      return interrupted

    model_dir = _Fixture.new_dir('ctrl_c')
    with mock.patch.object(train, 'make_train_step',
                           interrupted_after_four_steps):
      with self.assertRaises(KeyboardInterrupt):
        train.train(tiny_config(model_dir, **overrides))
    self.assertEqual(workdir.latest_checkpoint(model_dir),
                     os.path.join(model_dir, 'checkpoints', 'ckpt-4'))
    self.assertEqual(train.train(tiny_config(model_dir, **overrides)).step, 6)

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


class ChecksBeforeWorkTest(tf.test.TestCase):
  """Everything is validated before anything is written (issue 11)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = _Fixture.new_dir('checks')
    # class_2's only video is unreadable.
    cls.videos = os.path.join(cls.root, 'videos')
    train_data_test.write_synthetic_dataset(cls.videos, num_classes=3,
                                            per_class=1)
    with open(os.path.join(cls.videos, 'class_2', 'v0.avi'), 'wb') as f:
      f.write(b'not a video')
    cls.init = os.path.join(cls.root, 'init', 'model.ckpt')
    os.makedirs(os.path.dirname(cls.init))
    tf1_checkpoint.write_tf1_checkpoint(
        reference_forward.random_original_tensors('rgb_imagenet', 0),
        cls.init)

  def _config(self, model_dir: str, **overrides) -> ml_collections.ConfigDict:
    return tiny_config(model_dir, **{
        'data.train_dir': self.videos,
        'data.cache_dir': os.path.join(self.root, 'cache'),
        'optim.train_steps': 1,
        **overrides
    })

  def test_a_failed_run_leaves_nothing_that_refuses_the_next(self):
    model_dir = os.path.join(self.root, 'run')
    empty = os.path.join(self.root, 'empty')
    os.makedirs(os.path.join(empty, 'class_a'))
    for overrides, message in (
        ({'num_classes': -1}, 'num_classes must be at least 1, got -1'),
        ({'data.train_dir': os.path.join(self.root, 'missing')},
         'does not exist'),
        ({'data.train_dir': empty}, 'holds no videos'),
        ({'optim.lr_scaling': 'sqrt'}, 'optim.lr_scaling'),
        ({'data.flow_backend': 'farneback'}, 'data.flow_backend')):
      with self.subTest(overrides=overrides):
        with self.assertRaisesRegex(config_lib.TrainError, message):
          train.train(self._config(model_dir, **overrides))
        self.assertFalse(os.path.exists(model_dir))

    # The run with good settings is not refused, and writes its settings with
    # its first checkpoint.
    with self.assertLogs(level='INFO') as logs:
      result = train.train(
          self._config(model_dir, **{'model.init_checkpoint': self.init}))
    self.assertEqual(result.step, 1)
    self.assertEqual(workdir.read_meta(model_dir)['num_classes'], 3)
    self.assertTrue(
        os.path.exists(os.path.join(model_dir, 'checkpoints', 'ckpt-0.index')))
    text = '\n'.join(logs.output)
    # The restored variables: a count and a summary, not a line of names.
    self.assertIn(f'Restored from {self.init}: {len(result.restored)} '
                  'variables in ', text)
    self.assertGreater(len(result.restored), 40)
    self.assertLess(max(len(line) for line in logs.output), 1000)
    # A class no clip can come from is named.
    self.assertIn('class 2 (class_2) has no usable video', text)

  def test_missing_init_checkpoint_is_reported_before_the_cache(self):
    model_dir = os.path.join(self.root, 'late')
    nowhere = os.path.join(self.root, 'nowhere', 'model.ckpt')
    with mock.patch.object(
        train_data, 'build_cache',
        side_effect=AssertionError('the cache was built first')):
      for name, message in (
          (nowhere, f'no checkpoint {nowhere}.index'),
          ('rgb_imagenet', 'no_checkpoints/rgb_imagenet/model.ckpt.index not '
           'found')):
        with self.subTest(name=name):
          with self.assertRaisesRegex(config_lib.TrainError, message):
            train.train(self._config(model_dir, **{
                'model.init_checkpoint': name,
                'model.checkpoint_dir': os.path.join(self.root,
                                                     'no_checkpoints')}))
    self.assertFalse(os.path.exists(model_dir))

  def test_unwritable_model_dir_is_refused_before_any_work(self):
    path = os.path.join(self.root, 'a_file')
    open(path, 'w').close()
    with mock.patch.object(
        train_data, 'build_cache',
        side_effect=AssertionError('the cache was built first')):
      with self.assertRaisesRegex(config_lib.TrainError,
                                  f'model_dir={path}/run: .*not a folder'):
        train.train(self._config(os.path.join(path, 'run')))


class ToolTest(tf.test.TestCase):
  """Failures of i3d-train: one line, no traceback, nothing written."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = _Fixture.new_dir('tool')
    empty = os.path.join(root, 'empty')
    os.makedirs(empty)
    cls.a_file = os.path.join(root, 'a_file')
    open(cls.a_file, 'w').close()
    flow_recipe = os.path.join(paths.PROJECT_DIR, 'configs',
                               'kinetics_flow.py')
    ucf_recipe = os.path.join(paths.PROJECT_DIR, 'configs',
                              'ucf101_finetune.py')
    not_python = os.path.join(root, 'recipe.py')
    with open(not_python, 'w') as f:
      f.write('this is not python(\n')
    cases = {
        'bad_input': _command_line(
            tiny_config(_Fixture.new_dir('m'), **{'data.train_dir': empty})),
        'unknown_field': ['--config.optim.batch_size=2'],
        'unknown_field_of_a_recipe': [f'--config={flow_recipe}',
                                      '--config.optim.batch_size=2'],
        'missing_recipe': [f'--config={os.path.join(root, "missing.py")}'],
        'not_python': [f'--config={not_python}'],
        'bad_recipe_argument': [f'--config={ucf_recipe}:depth'],
        'too_many_classes': _command_line(
            tiny_config(_Fixture.new_dir('m'), num_classes=5)),
        'repeated_field': ['--config.seed=1', '--config.seed=2'],
        'unwritable': _command_line(
            tiny_config(os.path.join(cls.a_file, 'run'))),
        'helpfull': ['--helpfull'],
    }
    # Together: each one pays TensorFlow's start-up.
    processes = {name: run_tool(args, wait=False)
                 for name, args in cases.items()}
    outputs = _finish(processes.values())
    cls.results = {name: (process.returncode, output) for (name, process),
                   output in zip(processes.items(), outputs)}

  def _one_line(self, case: str, returncode: int, message: str) -> None:
    got, output = self.results[case]
    self.assertEqual(got, returncode, output[-3000:])
    self.assertNotIn('Traceback', output)
    lines = [line for line in output.splitlines() if line.startswith('train')]
    self.assertLen(lines, 1, output[-3000:])
    self.assertRegex(lines[0], message)

  def test_command_line_reports_bad_input_in_one_line(self):
    self._one_line('bad_input', 1, '^train.py: Dataset folder')

  def test_command_line_reports_unknown_config_field_in_one_line(self):
    # ml_collections applies --config overrides while the flag is defined
    # (or parsed, with --config given): they used to end in a traceback.
    self._one_line('unknown_field', 1,
                   '^train.py: unknown --config field batch_size in '
                   '--config.optim.batch_size')
    self._one_line('unknown_field_of_a_recipe', 1,
                   '^train.py: unknown --config field batch_size')
    self._one_line('missing_recipe', 2,
                   r'^train.py: --config: cannot load the config file .*'
                   'missing.py')

  def test_bad_config_files_are_one_line(self):
    self._one_line('not_python', 2,
                   r'^train.py: --config: .*recipe.py is not a Python config '
                   r"file \('\(' was never closed, line 1\)")
    self._one_line('bad_recipe_argument', 2,
                   r'^train.py: flag --config=.*ucf101_finetune.py:depth: '
                   r'Error whilst parsing config file: ValueError: '
                   r"ucf101_finetune.py:<stream> must be one of .*'depth'")

  def test_class_count_must_match_the_folders(self):
    self._one_line('too_many_classes', 1,
                   '^train.py: .* has 3 class folders but num_classes is 5')
    # The data is checked before a strategy is made (and logged).
    self.assertNotIn('MirroredStrategy', self.results['too_many_classes'][1])

  def test_repeated_field_is_refused(self):
    self._one_line('repeated_field', 2,
                   '^train.py: --config.seed given more than once')

  def test_unwritable_model_dir_is_one_line_naming_it(self):
    self._one_line('unwritable', 1,
                   f'^train.py: model_dir={self.a_file}/run: {self.a_file} '
                   'is a file, not a folder')

  def test_helpfull_lists_the_config_fields(self):
    returncode, output = self.results['helpfull']
    self.assertEqual(returncode, 0, output[-3000:])
    # absl wraps help at the terminal's width, which (like the length of a
    # default path under the clone's folder) differs between machines.
    text = ' '.join(output.split())
    for name in config_lib.field_names(config_lib.get_config()):
      self.assertIn(f'--config.{name} (default: ', text)
    self.assertIn('--config.data.flow_backend (default: None): TV-L1', text)


def _step(prefix: Optional[str]) -> int:
  return int(prefix.rsplit('-', 1)[1]) if prefix else -1


def _kill_after_checkpoint(process, model_dir: str) -> int:
  """SIGKILLs a training run once it committed a step > 0; returns the step."""
  deadline = time.monotonic() + 300
  while time.monotonic() < deadline and process.poll() is None:
    if _step(workdir.latest_checkpoint(model_dir)) > 0:
      process.send_signal(signal.SIGKILL)
      break
    time.sleep(0.02)
  process.communicate(timeout=60)
  return _step(workdir.latest_checkpoint(model_dir))


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
    dirs = [_Fixture.new_dir(name) for name in ('first', 'second', 'killed')]
    configs = [tiny_config(d, **overrides) for d in dirs]
    examples, _ = train_data.list_video_folder(_Fixture.videos())
    train_data.build_cache(examples, configs[0].data.cache_dir, 'rgb', 224)
    processes = [_run_train_py(c, wait=False) for c in configs]
    killed_at = _kill_after_checkpoint(processes[2], dirs[2])
    for process, output in zip(processes, _finish(processes[:2])):
      self.assertEqual(process.returncode, 0, output[-3000:])
    self.assertEqual(processes[2].returncode, -signal.SIGKILL)
    self.assertBetween(killed_at, 2, 4)  # Interrupted after a checkpoint.
    returncode, output = _run_train_py(configs[2])
    self.assertEqual(returncode, 0, output[-3000:])
    self.assertIn(f'Resumed from {dirs[2]}/checkpoints/ckpt-{killed_at} at '
                  f'step {killed_at}', output)

    final = [_checkpoint_tensors(os.path.join(d, 'checkpoints', 'ckpt-6'))
             for d in dirs]
    for other in final[1:]:
      self.assertEqual(sorted(other), sorted(final[0]))
      for name in final[0]:
        self.assertAllEqual(final[0][name], other[name], msg=name)
    # Not vacuous: the weights moved.
    start = _checkpoint_tensors(os.path.join(dirs[0], 'checkpoints', 'ckpt-0'))
    for key in ('head/w/.ATTRIBUTES/VARIABLE_VALUE',
                'model/Conv3d_1a_7x7/conv_3d/w/.ATTRIBUTES/VARIABLE_VALUE'):
      self.assertGreater(np.abs(start[key] - final[0][key]).max(), 1e-5, key)

  def test_deterministic_needs_a_fresh_process(self):
    tf.constant(1.) + 1.  # pylint: disable=expression-not-assigned
    if tf.config.threading.get_inter_op_parallelism_threads() == 1:
      self.skipTest('This process already runs one op at a time.')
    with self.assertRaisesRegex(config_lib.TrainError, 'new process'):
      train.train(tiny_config(_Fixture.new_dir('m'), deterministic=True))


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
    model = stream_model.StreamModel(_NUM_CLASSES, _ENDPOINT)
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
      for v, g in zip(weights, grads):
        if v.shape.rank in (2, 5):  # Kernels carry the L2 penalty.
          g = g + wd * v.numpy()
        momentum[v.ref()] = 0.9 * momentum[v.ref()] + g
        v.assign(v.numpy() - lr * momentum[v.ref()])

      got = stream_model.StreamModel(_NUM_CLASSES, _ENDPOINT)
      got.build(3)
      optimizer = optimizer_lib.MomentumSGD(got.trainable_variables, 0.9, wd)
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


if __name__ == '__main__':
  tf.test.main()
