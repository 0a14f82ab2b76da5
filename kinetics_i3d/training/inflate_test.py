"""Tests for inflate.py: bootstrapping an I3D checkpoint from Inception-v1.

Covers `run` in-process, from an .npz, a TF2 checkpoint or a generated
TF-Slim checkpoint, and the tool (`python -m kinetics_i3d.inflate`) in a
subprocess. The numerics of the inflation itself (Carreira & Zisserman, CVPR
2017, section 2.4) are tested in inflation_test.py.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.training import inception_v1
from kinetics_i3d.training import inception_v1_weights
from kinetics_i3d.training import inflate
from kinetics_i3d.training import inflation
from kinetics_i3d.training import inflation_test
from kinetics_i3d.training import slim_inception_v1_test as slim_test
from kinetics_i3d.weights import checkpoints

_LAYOUTS = inflation_test.LAYOUTS
_RTOL = inflation_test.RTOL
_random_2d_tensors = inflation_test.random_2d_tensors


def _read_checkpoint(prefix):
  reader = tf.train.load_checkpoint(prefix)
  return {
      name: reader.get_tensor(name)
      for name in reader.get_variable_to_shape_map()
  }


class CommandLineTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tensors_2d = _random_2d_tensors(num_classes=10, seed=11)

  def setUp(self):
    super().setUp()
    self.dir = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
    self.npz = os.path.join(self.dir, 'inception_v1.npz')
    np.savez(self.npz, **self.tensors_2d)
    self.output = os.path.join(self.dir, 'out', 'model.ckpt')

  def test_npz_to_original_layout(self):
    inflate.run(self.npz, self.output)
    written = _read_checkpoint(self.output)
    expected = inflation.inflate_tensors(self.tensors_2d)
    self.assertCountEqual(written, expected)
    for name, value in expected.items():
      self.assertAllEqual(written[name], value)
    self.assertTrue(all(n.startswith('RGB/inception_i3d/') for n in written))

  def test_the_checkpoint_loader_reads_it(self):
    inflate.run(self.npz, self.output)
    expected = i3d.InceptionI3d(num_classes=10, final_endpoint='Mixed_3b')
    expected(tf.zeros([1, 8, 32, 32, 3]), is_training=False)
    inflation_test.load_into_i3d(
        expected, {
            n: t for n, t in inflation.inflate_tensors(self.tensors_2d).items()
            if n.startswith(('RGB/inception_i3d/Conv3d',
                             'RGB/inception_i3d/Mixed_3b/'))
        }, 'RGB/inception_i3d/')
    loaded = i3d.InceptionI3d(num_classes=10, final_endpoint='Mixed_3b')
    checkpoints.load_original(loaded, self.output, 'rgb')
    values = {v.name: v for v in loaded.variables}
    for variable in expected.variables:
      if variable.name.endswith(('counter:0', 'hidden:0', 'scale:0')):
        continue
      self.assertAllEqual(values[variable.name], variable, variable.name)

  def test_no_overwrite_without_flag(self):
    inflate.run(self.npz, self.output)
    before = _read_checkpoint(self.output)
    other = os.path.join(self.dir, 'other.npz')
    np.savez(other, **_random_2d_tensors(num_classes=10, seed=12))
    with self.assertRaisesRegex(FileExistsError, '--overwrite'):
      inflate.run(other, self.output)
    after = _read_checkpoint(self.output)
    for name in before:
      self.assertAllEqual(after[name], before[name])
    inflate.run(other, self.output, overwrite=True)
    replaced = _read_checkpoint(self.output)
    name = 'RGB/inception_i3d/Conv3d_2b_1x1/conv_3d/w'
    self.assertNotAllClose(replaced[name], before[name])

  def test_bad_input_writes_nothing(self):
    tensors = dict(self.tensors_2d)
    del tensors['Mixed_4d/Branch_0/Conv2d_0a_1x1/conv_2d/w']
    bad = os.path.join(self.dir, 'bad.npz')
    np.savez(bad, **tensors)
    with self.assertRaisesRegex(ValueError,
                                'Mixed_4d/Branch_0/Conv2d_0a_1x1/conv_2d/w'):
      inflate.run(bad, self.output)
    self.assertFalse(os.path.exists(os.path.dirname(self.output)))

  def test_missing_stem_is_named_not_called_a_channel_mismatch(self):
    # Used to say "the 2D network takes 0 input channels".
    tensors = dict(self.tensors_2d)
    del tensors['Conv2d_1a_7x7/conv_2d/w']
    bad = os.path.join(self.dir, 'no_stem.npz')
    np.savez(bad, **tensors)
    with self.assertRaisesRegex(ValueError,
                                'Missing 2D tensor .Conv2d_1a_7x7/conv_2d/w'):
      inflate.run(bad, self.output)
    self.assertFalse(os.path.exists(os.path.dirname(self.output)))

  def test_pickled_npz_is_refused(self):
    bad = os.path.join(self.dir, 'pickled.npz')
    np.savez(bad, x=np.array([{'a': 1}], dtype=object))
    with self.assertRaisesRegex(ValueError, 'pickled.npz'):
      inflate.run(bad, self.output)

  def test_stream_must_match_input_channels(self):
    with self.assertRaisesRegex(ValueError, '3 input channels.*flow'):
      inflate.run(self.npz, self.output, stream='flow')

  def test_flow_stream_scope(self):
    tensors = _random_2d_tensors(num_classes=10, input_channels=2, seed=13)
    npz = os.path.join(self.dir, 'flow.npz')
    np.savez(npz, **tensors)
    inflate.run(npz, self.output, stream='flow')
    written = _read_checkpoint(self.output)
    stem = written['Flow/inception_i3d/Conv3d_1a_7x7/conv_3d/w']
    self.assertEqual(stem.shape, (7, 7, 7, 2, 64))

  def test_tf2_checkpoint_input(self):
    model = inception_v1.InceptionV1(num_classes=10)
    model(tf.zeros([1, streams.CROP, streams.CROP, 3]), is_training=False)
    inception_v1_weights.assign_tensors(model, self.tensors_2d)
    # save() also stores a save counter, which the reader must not mind.
    prefix = tf.train.Checkpoint(model=model).save(
        os.path.join(self.dir, 'tf2', 'ckpt'))
    written = inflate.run(prefix, self.output)
    expected = inflation.inflate_tensors(self.tensors_2d)
    for name, value in expected.items():
      self.assertAllEqual(written[name], value)
    # The folder works too (its latest checkpoint).
    written = inflate.run(
        os.path.dirname(prefix), self.output, input_format='tf2',
        overwrite=True)
    self.assertAllEqual(written['RGB/inception_i3d/Mixed_5c/Branch_3/'
                               'Conv3d_0b_1x1/batch_norm/moving_variance'],
                        expected['RGB/inception_i3d/Mixed_5c/Branch_3/'
                                 'Conv3d_0b_1x1/batch_norm/moving_variance'])

  def test_tf2_checkpoint_of_something_else(self):
    other = tf.train.Checkpoint(v=tf.Variable(1.)).write(
        os.path.join(self.dir, 'tf2b', 'ckpt'))
    with self.assertRaisesRegex(ValueError, 'no Inception-v1'):
      inflate.run(other, self.output)
    with self.assertRaisesRegex(ValueError, 'not a readable'):
      inflate.run(os.path.join(self.dir, 'missing'), self.output)

  def test_non_finite_input_names_the_file_and_writes_nothing(self):
    name = 'Mixed_4b/Branch_1/Conv2d_0b_3x3/conv_2d/w'
    tensors = {n: t.copy() for n, t in self.tensors_2d.items()}
    tensors[name][1, 1, 5, 7] = np.nan
    bad = os.path.join(self.dir, 'nan.npz')
    np.savez(bad, **tensors)
    with self.assertRaisesRegex(
        ValueError, f'^{re.escape(bad)}: .*{name}.*non-finite'):
      inflate.run(bad, self.output)
    self.assertFalse(os.path.exists(os.path.dirname(self.output)))

  def test_folder_output_means_model_ckpt(self):
    # Used to write the hidden files <folder>/.index and .data-00000-of-00001.
    folder = os.path.join(self.dir, 'new_folder')
    inflate.run(self.npz, folder + os.sep)
    self.assertCountEqual(
        os.listdir(folder),
        ['checkpoint', 'model.ckpt.index', 'model.ckpt.data-00000-of-00001'])
    self.assertEqual(tf.train.latest_checkpoint(folder),
                     os.path.join(folder, 'model.ckpt'))
    self.assertLen(_read_checkpoint(os.path.join(folder, 'model.ckpt')),
                   230)
    # An existing folder, with or without the separator: the same prefix.
    for output in (folder, folder + os.sep):
      with self.assertRaisesRegex(
          FileExistsError, re.escape(os.path.join(folder, 'model.ckpt.index'))):
        inflate.run(self.npz, output)

  def test_default_output_is_in_the_checkpoint_folder(self):
    self.assertEqual(
        inflate.resolve_output(None, 'rgb'),
        os.path.join(paths.CHECKPOINT_DIR, 'rgb_inflated', 'model.ckpt'))
    self.assertEqual(
        inflate.resolve_output(None, 'flow'),
        os.path.join(paths.CHECKPOINT_DIR, 'flow_inflated', 'model.ckpt'))
    self.assertEqual(inflate.resolve_output('a/b.ckpt'), 'a/b.ckpt')
    with self.assertRaisesRegex(ValueError, '--output is empty'):
      inflate.resolve_output('')
    with mock.patch.object(paths, 'CHECKPOINT_DIR', self.dir):
      inflate.run(self.npz)
    self.assertLen(
        _read_checkpoint(
            os.path.join(self.dir, 'rgb_inflated', 'model.ckpt')), 230)

  def test_num_classes_gives_a_fresh_head(self):
    written = inflate.run(self.npz, self.output, num_classes=7)
    kept = inflation.inflate_tensors(self.tensors_2d)
    self.assertCountEqual(written, kept)
    logits = 'RGB/inception_i3d/Logits/Conv3d_0c_1x1/conv_3d/'
    for name, value in kept.items():
      if not name.startswith(logits):
        self.assertAllEqual(written[name], value)
    w, b = written[logits + 'w'], written[logits + 'b']
    self.assertEqual(w.shape, (1, 1, 1, 1024, 7))
    self.assertEqual(b.shape, (7,))
    # Drawn as a freshly built I3D draws its logits.
    reference = i3d.InceptionI3d(num_classes=7)
    reference.Logits(tf.zeros([1, 1, 1, 1, 1024]), is_training=False)
    self.assertAllClose(np.std(w), np.std(reference.Logits.conv_3d.w.numpy()),
                        rtol=0.1)
    self.assertAllEqual(b, reference.Logits.conv_3d.b.numpy())
    self.assertNotAllClose(w, reference.Logits.conv_3d.w.numpy())
    # The head fits I3D with 7 classes.
    model = i3d.InceptionI3d(num_classes=7)
    checkpoints.load_original(model, self.output, 'rgb')
    self.assertAllEqual(model.Logits.conv_3d.w, w)

  def _tool(self, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    return subprocess.run(
        [sys.executable, '-m', 'kinetics_i3d.inflate', *args],
        capture_output=True, text=True, env=env, check=False,
        cwd=paths.PROJECT_DIR)

  def _error_lines(self, result):
    self.assertNotIn('Traceback', result.stderr)
    return [line for line in result.stderr.splitlines()
            if line.startswith('inflate.py:')]

  def test_script(self):
    ok = self._tool(f'--input={self.npz}', f'--output={self.output}')
    self.assertEqual(ok.returncode, 0, ok.stderr)
    self.assertIn('Wrote 230 inflated tensors', ok.stdout)
    # Once: it used to be printed and logged.
    self.assertEqual((ok.stdout + ok.stderr).count('Wrote 230'), 1)
    again = self._tool(f'--input={self.npz}', f'--output={self.output}')
    self.assertNotEqual(again.returncode, 0)
    self.assertIn('--overwrite', again.stderr)
    self.assertNotIn('Traceback', again.stderr)
    self.assertLen(self._error_lines(again), 1)

  def test_script_help_and_usage_error(self):
    usage = self._tool('--help')
    self.assertEqual(usage.returncode, 0, usage.stderr)
    self.assertIn('inception_v1_2016_08_28.tar.gz', usage.stdout)
    self.assertIn('--num_classes', usage.stdout)
    missing = self._tool(f'--output={self.output}')
    self.assertEqual(missing.returncode, 2)
    (line,) = self._error_lines(missing)
    self.assertIn('--input', line)


# inception_v1's suffix -> TF-Slim's (conv2d's 'weights' and 'biases',
# batch_norm's 'BatchNorm/...'), written out here independently of
# slim_inception_v1's table; `slim_test.slim_layout` checks the result.
_SLIM_SUFFIXES = {
    'conv_2d/w': 'weights',
    'conv_2d/b': 'biases',
    'batch_norm/beta': 'BatchNorm/beta',
    'batch_norm/moving_mean': 'BatchNorm/moving_mean',
    'batch_norm/moving_variance': 'BatchNorm/moving_variance',
}


def _in_slims_layout(tensors_2d):
  """{inception_v1 name: array} -> {TF-Slim InceptionV1 name: array}."""
  tensors = {}
  for name, value in tensors_2d.items():
    unit, layer, leaf = name.rsplit('/', 2)
    tensors[f'InceptionV1/{unit}/{_SLIM_SUFFIXES[layer + "/" + leaf]}'] = value
  return tensors


class SlimBoringVideoTest(tf.test.TestCase):
  """A TF-Slim InceptionV1 checkpoint, inflated, computes slim's network.

  The checkpoint is generated in slim's layout (TF1's V1 format, as the 2016
  release, with a global step and a moving-average slot beside the weights)
  from the weights of `inflation_test.boring_run`, whose I3D endpoints serve
  once `run` is shown to write exactly the inflation of those weights.
  `slim_test.slim_forward` computes slim's network from the checkpoint's
  tensors by name, with raw TF ops, independently of `inception_v1` and of
  the mapping under test. The test allows `_RTOL` at interior steps.
  """

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = tempfile.mkdtemp()
    boring = inflation_test.boring_run()
    cls.slim = _in_slims_layout(boring.tensors_2d)
    bookkeeping = {
        'global_step': np.int64(12345),
        'InceptionV1/Mixed_4b/Branch_0/Conv2d_0a_1x1/weights/'
        'ExponentialMovingAverage': np.zeros([1, 1, 480, 192], np.float32),
    }
    cls.source = slim_test.write_slim_checkpoint(
        os.path.join(cls.dir, 'inception_v1.ckpt'), {
            **cls.slim,
            **bookkeeping
        },
        v1_format=True)
    cls.prefix = os.path.join(cls.dir, 'i3d', 'model.ckpt')
    inflate.run(cls.source, cls.prefix)
    cls.written = _read_checkpoint(cls.prefix)
    cls.inflated = boring.tensors_3d
    cls.end_points_2d = slim_test.slim_forward(cls.slim, boring.images)
    cls.end_points_3d = boring.end_points_3d
    cls.interior = boring.interior

  def test_written_tensors_are_the_inflated_slim_weights(self):
    self.assertEqual({n: v.shape for n, v in self.slim.items()},
                     slim_test.slim_layout())
    self.assertCountEqual(self.written, self.inflated)
    for name, value in self.written.items():
      self.assertAllEqual(value, self.inflated[name], msg=name)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.dir, ignore_errors=True)
    super().tearDownClass()

  def test_written_names_are_the_released_layout(self):
    with open(_LAYOUTS) as f:
      released = json.load(f)['rgb_imagenet']
    self.assertCountEqual(self.written, released)
    for name, value in self.written.items():
      shape = tuple(released[name]['shape'])
      if '/Logits/' in name:  # The ImageNet head: 1001 classes, not 400.
        shape = shape[:-1] + (1001,)
      self.assertEqual(value.shape, shape, name)

  def test_interior_steps_equal_slims_network(self):
    compared = 0
    for endpoint_2d, endpoint_3d in inception_v1.I3D_ENDPOINTS.items():
      if endpoint_3d not in self.interior:
        continue
      expected = self.end_points_2d[endpoint_2d]
      actual = self.end_points_3d[endpoint_3d].numpy()
      self.assertEqual(actual.shape[2:], expected.shape[1:], endpoint_3d)
      self.assertGreater(np.abs(expected).max(), 0.1, endpoint_2d)
      for t in np.flatnonzero(self.interior[endpoint_3d]):
        error = inflation_test.max_rel_error(actual[:, t], expected)
        self.assertLess(error, _RTOL, f'{endpoint_3d} step {t}: {error:.2g}')
      compared += 1
    self.assertEqual(compared, 16)

  def test_imagenet_head_is_kept(self):
    head = 'RGB/inception_i3d/Logits/Conv3d_0c_1x1/conv_3d/'
    self.assertAllEqual(
        self.written[head + 'w'],
        self.slim['InceptionV1/Logits/Conv2d_0c_1x1/weights'][np.newaxis])
    self.assertAllEqual(self.written[head + 'b'],
                        self.slim['InceptionV1/Logits/Conv2d_0c_1x1/biases'])

  def test_bookkeeping_is_skipped_and_logged(self):
    with self.assertLogs('absl', level='INFO') as logs:
      inflate.run(self.source, os.path.join(self.dir, 'again', 'model.ckpt'))
    (line,) = [r.getMessage() for r in logs.records if 'Skipped' in
               r.getMessage()]
    self.assertIn('Skipped 2 variable(s)', line)
    self.assertIn('global_step', line)
    self.assertIn('Conv2d_0a_1x1/weights/ExponentialMovingAverage', line)

  def test_bad_variable_names_the_variable_and_the_file(self):
    tensors = dict(self.slim)
    name = 'InceptionV1/Mixed_4d/Branch_2/Conv2d_0b_3x3/BatchNorm/moving_mean'
    tensors[name] = np.zeros([65], np.float32)
    bad = slim_test.write_slim_checkpoint(
        os.path.join(self.dir, 'bad', 'inception_v1.ckpt'), tensors)
    output = os.path.join(self.dir, 'not_written', 'model.ckpt')
    with self.assertRaisesRegex(ValueError,
                                f'^{re.escape(bad)}: {name} has shape'):
      inflate.run(bad, output)
    self.assertFalse(os.path.exists(os.path.dirname(output)))


class SlimCommandLineTest(tf.test.TestCase):

  def test_slim_folder_to_kinetics_checkpoint(self):
    folder = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
    slim = slim_test.random_slim_tensors(seed=23)
    # TF2's format, in a folder with a state file: --input takes the folder.
    slim_test.write_slim_checkpoint(
        os.path.join(folder, 'slim', 'model.ckpt-100'),
        {**slim, 'global_step': np.int64(100)})
    output = os.path.join(folder, 'rgb_inflated') + os.sep
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    result = subprocess.run(
        [sys.executable, '-m', 'kinetics_i3d.inflate',
         f'--input={os.path.join(folder, "slim")}', f'--output={output}',
         f'--num_classes={i3d.KINETICS_400_CLASSES}'],
        capture_output=True, text=True, env=env, check=False)
    self.assertEqual(result.returncode, 0, result.stderr)
    prefix = os.path.join(output, 'model.ckpt')
    self.assertEqual(result.stdout.strip(),
                     f'Wrote 230 inflated tensors to {prefix}.index')
    self.assertIn('Skipped 1 variable(s)', result.stderr)
    self.assertIn('global_step', result.stderr)
    self.assertIn('Replaced the 2D logits (1001 classes)', result.stderr)
    written = _read_checkpoint(prefix)
    with open(_LAYOUTS) as f:
      released = json.load(f)['rgb_imagenet']
    self.assertEqual({n: v.shape for n, v in written.items()},
                     {n: tuple(i['shape']) for n, i in released.items()})
    self.assertAllEqual(
        written['RGB/inception_i3d/Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/w'],
        np.stack([
            slim['InceptionV1/Mixed_5b/Branch_2/Conv2d_0a_3x3/weights'] /
            np.float32(3)
        ] * 3))


if __name__ == '__main__':
  tf.test.main()
