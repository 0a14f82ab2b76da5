"""Tests for train.py and the i3d-train tool (kinetics_i3d/train.py).

Recipe, resumption, the checks made before any work and the command line of
the training of I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017), on the tiny runs of
`train_fixtures`. The step itself (replicas, determinism) is tested in
train_step_test.py, the checks of the configuration in validation_test.py.
"""

import os
import shutil
from unittest import mock

import ml_collections
import numpy as np
import tensorflow as tf

from kinetics_i3d import paths
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import train
from kinetics_i3d.training import train_data
from kinetics_i3d.training import train_data_test
from kinetics_i3d.training import train_fixtures as fixtures
from kinetics_i3d.training import train_step
from kinetics_i3d.training import workdir
from kinetics_i3d.weights import tf1_checkpoint

_tiny_config = fixtures.tiny_config
_new_dir = fixtures.Fixture.new_dir
_tensors = fixtures.checkpoint_tensors
_videos = fixtures.Fixture.videos


class TrainTest(tf.test.TestCase):

  def test_overfits_tiny_dataset(self):
    model_dir = _new_dir('overfit')
    result = train.train(_tiny_config(model_dir))
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

  def test_ctrl_c_keeps_the_finished_steps_and_resumes_bit_for_bit(self):
    overrides = {
        'optim.train_steps': 6,
        'checkpoint_every': 3,
        'model.dropout_keep_prob': 0.5,
        'optim.weight_decay': 1e-3,
    }
    straight = _new_dir('straight')
    train.train(_tiny_config(straight, **overrides))
    make_train_step = train_step.make_train_step

    def interrupted_after_four_steps(*args, **kwargs):
      step = make_train_step(*args, **kwargs)
      calls = []

      def interrupted(iterator):
        calls.append(1)
        if len(calls) > 4:
          raise KeyboardInterrupt
        return step(iterator)
      return interrupted

    interrupted = _new_dir('interrupted')
    with mock.patch.object(train_step, 'make_train_step',
                           interrupted_after_four_steps):
      with self.assertRaises(KeyboardInterrupt):
        train.train(_tiny_config(interrupted, **overrides))
    # Step 4 is between checkpoints: Ctrl-C saved it.
    self.assertEqual(workdir.latest_checkpoint(interrupted),
                     os.path.join(interrupted, 'checkpoints', 'ckpt-4'))
    second = train.train(_tiny_config(interrupted, **overrides))
    self.assertEqual(second.step, 6)
    self.assertLen(second.losses, 2)
    a = _tensors(os.path.join(straight, 'checkpoints', 'ckpt-6'))
    b = _tensors(os.path.join(interrupted, 'checkpoints', 'ckpt-6'))
    self.assertEqual(sorted(a), sorted(b))
    # Model, head, momentum accumulators, BatchNorm statistics, step; the
    # saves counted: ckpt-0, 3, 6 against ckpt-0, 3, 4 (Ctrl-C), 6.
    self.assertTrue(any('optimizer/accumulators' in k for k in a))
    counter = 'save_counter/.ATTRIBUTES/VARIABLE_VALUE'
    self.assertEqual((a.pop(counter), b.pop(counter)), (3, 4))
    for name in a:
      self.assertAllEqual(a[name], b[name], msg=name)
    # The checkpoint moved away from step 3's: the comparison is not vacuous.
    c = _tensors(os.path.join(straight, 'checkpoints', 'ckpt-3'))
    moved = [n for n in a if a[n].dtype == np.float32 and
             not np.array_equal(a[n], c[n])]
    self.assertGreater(len(moved), len(a) // 2)

    # Resuming with settings the checkpoint cannot hold is refused.
    with self.assertRaisesRegex(train.TrainError, 'num_classes=3'):
      train.train(_tiny_config(interrupted, num_classes=4, **overrides))
    os.remove(os.path.join(interrupted, workdir.META_FILE))
    # A split file's labels may be a subset of num_classes (a warning); the
    # class folders must match it.
    examples, _ = train_data.list_video_folder(_videos())
    split = os.path.join(_new_dir('split'), 'train.txt')
    with open(split, 'w') as f:
      f.writelines(f'{e.path} {e.label}\n' for e in examples)
    with self.assertRaisesRegex(train.TrainError, 'Cannot resume'):
      train.train(_tiny_config(interrupted, num_classes=4, **{
          'data.train_dir': '', 'data.train_split': split}, **overrides))

  def test_bad_datasets(self):
    empty = _new_dir('empty')
    os.makedirs(os.path.join(empty, 'class_a'))
    with self.assertRaisesRegex(train_data.DatasetError, 'holds no videos'):
      train.train(_tiny_config(_new_dir('m'),
                              **{'data.train_dir': empty}))
    split = os.path.join(_new_dir('split'), 'train.txt')
    with open(split, 'w') as f:
      f.write(os.path.join(_videos(), 'class_1', 'v0.avi') + ' 5\n')
    with self.assertRaisesRegex(train_data.DatasetError,
                                r'label 5 .* outside \[0, 3\)'):
      train.train(_tiny_config(_new_dir('m'),
                              **{'data.train_dir': '',
                                 'data.train_split': split}))
    with self.assertRaisesRegex(train.TrainError, '4 class folders'):
      root = _new_dir('four')
      for k in range(4):
        os.makedirs(os.path.join(root, f'c{k}'))
        shutil.copy(os.path.join(_videos(), 'class_1', 'v0.avi'),
                    os.path.join(root, f'c{k}'))
      train.train(_tiny_config(_new_dir('m'),
                              **{'data.train_dir': root}))


class ChecksBeforeWorkTest(tf.test.TestCase):
  """Everything is validated before anything is written (issue 11)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = _new_dir('checks')
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
    return _tiny_config(model_dir, **{
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
    root = _new_dir('tool')
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
        'bad_input': fixtures.command_line(
            _tiny_config(_new_dir('m'), **{'data.train_dir': empty})),
        'unknown_field': ['--config.optim.batch_size=2'],
        'unknown_field_of_a_recipe': [f'--config={flow_recipe}',
                                      '--config.optim.batch_size=2'],
        'missing_recipe': [f'--config={os.path.join(root, "missing.py")}'],
        'not_python': [f'--config={not_python}'],
        'bad_recipe_argument': [f'--config={ucf_recipe}:depth'],
        'too_many_classes': fixtures.command_line(
            _tiny_config(_new_dir('m'), num_classes=5)),
        'repeated_field': ['--config.seed=1', '--config.seed=2'],
        'unwritable': fixtures.command_line(
            _tiny_config(os.path.join(cls.a_file, 'run'))),
        'helpfull': ['--helpfull'],
    }
    # Together: each one pays TensorFlow's start-up.
    processes = {name: fixtures.run_tool(args, wait=False)
                 for name, args in cases.items()}
    outputs = fixtures.finish(processes.values())
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


if __name__ == '__main__':
  tf.test.main()
