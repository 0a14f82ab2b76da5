"""Tests for extract_features.py: the entry points and the tool's runs.

(I3D features: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New
Model and the Kinetics Dataset", CVPR 2017.) The command-line tests run the
tool, `kinetics_i3d.extract_features`, in subprocesses: a killed run resumes
to the same outputs, and refusals are one line that writes nothing.
"""

import glob
import json
import os
import signal
import subprocess
import tempfile
import time

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from kinetics_i3d import streams as streams_lib
from kinetics_i3d.features import batch_run
from kinetics_i3d.features import extract_features as ef
from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import fixtures
from kinetics_i3d.features import frame_sources
from kinetics_i3d.features import inputs
from kinetics_i3d.features import settings
from kinetics_i3d.features import storage
from kinetics_i3d.testing import tool_runs
from kinetics_i3d.utils import atomic_files

_TOOL = 'kinetics_i3d.extract_features'


class EntryPointsTest(absltest.TestCase):

  def test_names_are_those_of_the_defining_modules(self):
    for name, module in (('run', batch_run), ('Summary', batch_run),
                         ('FeatureExtractor', extractor_lib),
                         ('prepare_inputs', frame_sources),
                         ('check_named_files', inputs),
                         ('resolve_inputs', inputs), ('shard', inputs),
                         ('VideoItem', inputs),
                         ('ExtractionConfig', settings)):
      self.assertIs(getattr(ef, name), getattr(module, name), name)


def _arguments(inputs_spec, output_dir, checkpoint):
  return [
      f'--inputs={inputs_spec}', f'--output_dir={output_dir}',
      f'--rgb_checkpoint={checkpoint}', '--window=16', '--stride=16',
      '--batch_size=2', '--resize=32', '--crop=32', '--pooling=clip',
      '--noprogress'
  ]


class CommandLineTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp(prefix='extract_features_test_')
    cls.checkpoint = fixtures.make_test_checkpoint('rgb_scratch')
    cls.video = fixtures.make_video(os.path.join(cls.folder, 'v.mp4'), 20)
    cls.premade = os.path.join(cls.folder, 'small_rgb.npy')
    np.save(cls.premade, np.zeros((1, 10, 100, 100, 3), np.float32))
    cls.blocker = os.path.join(cls.folder, 'file')
    open(cls.blocker, 'w').close()
    cls.flow_out = os.path.join(cls.folder, 'flow_run', 'features')
    cls.named_folder = os.path.join(cls.folder, 'my_checkpoints')
    # The runs that need no earlier run, all at once.
    cls.results = tool_runs.run_tools(_TOOL, {
        'help': ['--help'],
        'failed_flow': _arguments(cls.video, cls.flow_out, cls.checkpoint) + [
            '--streams=flow', f'--flow_checkpoint={cls.checkpoint}',
            '--flow_backend=opencv', f'--checkpoint_dir={cls.named_folder}'],
        'small_premade': [
            f'--inputs={cls.premade}', f'--output_dir={cls.folder}/out',
            f'--rgb_checkpoint={cls.checkpoint}', '--endpoint=Logits',
            '--window=0', '--noprogress'],
        'usage_error': _arguments(cls.video,
                                  os.path.join(cls.blocker, 'out'),
                                  cls.checkpoint),
    })

  def _env(self):
    return {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}

  def test_killed_run_resumes_to_the_same_outputs(self):
    folder = fixtures.new_tempdir(self)
    num_good = 6
    for i in range(num_good):
      fixtures.make_video(os.path.join(folder, f'clip{i:02d}.mp4'), 24,
                          seed=20 + i)
    fixtures.write_corrupt_video(os.path.join(folder, 'broken.mp4'))
    output_dir = os.path.join(fixtures.new_tempdir(self), 'features')
    command = tool_runs.command(
        _TOOL, _arguments(folder, output_dir, self.checkpoint))

    process = subprocess.Popen(command, env=self._env(),
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    records = os.path.join(output_dir, storage.RECORDS_DIR)

    def finished():
      done = []
      for path in glob.glob(os.path.join(records, '*.json')):
        with open(path) as f:
          if json.load(f)['status'] == 'ok':  # Complete: written atomically.
            done.append(path)
      return done

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
      if len(finished()) >= 2:
        break
      time.sleep(0.02)
    self.assertIsNone(process.poll(), 'the run ended before it was killed')
    process.send_signal(signal.SIGKILL)
    process.wait()
    num_done = len(finished())
    self.assertBetween(num_done, 2, num_good - 1)
    # Whatever was published is complete.
    for path in glob.glob(os.path.join(output_dir, '*.npy')):
      self.assertEqual(np.load(path).shape[1:], (1024,), path)

    rerun = subprocess.run(command, env=self._env(), capture_output=True,
                           text=True, timeout=600)
    self.assertEqual(rerun.returncode, 1, rerun.stderr)
    self.assertIn(
        f'{num_good + 1} videos: {num_good - num_done} succeeded, 1 failed, '
        f'{num_done} skipped', rerun.stdout)
    self.assertIn('broken.mp4', rerun.stderr)
    self.assertNotIn('Traceback', rerun.stderr)
    leftovers = [n for n in os.listdir(output_dir)
                 if atomic_files.TMP_MARK in n]
    self.assertEqual(leftovers, [])

    # Same features as one uninterrupted run in this process.
    config = settings.ExtractionConfig(rgb_checkpoint=self.checkpoint,
                                       **fixtures.SMALL)
    clean_dir = fixtures.new_tempdir(self)
    batch_run.run(inputs.resolve_inputs([folder]), config, clean_dir,
                  progress=False)
    for i in range(num_good):
      name = f'clip{i:02d}_rgb.npy'
      self.assertAllClose(np.load(os.path.join(output_dir, name)),
                          np.load(os.path.join(clean_dir, name)),
                          rtol=1e-5, atol=1e-6, msg=name)
    with open(os.path.join(output_dir, storage.MANIFEST_NAME)) as f:
      self.assertLen(f.readlines(), num_good + 1)

  def test_failed_flow_run_does_not_block_the_corrected_run(self):
    failed = self.results['failed_flow']
    self.assertEqual(failed.returncode, 1, failed.stderr)
    self.assertNotIn('Traceback', failed.stderr)
    self.assertRegex(failed.last_line, '^i3d-extract-features: .*wrong stream')
    self.assertFalse(os.path.exists(self.flow_out))
    self.assertFalse(os.path.exists(self.named_folder))
    # The corrected command (RGB, another window) in the same folder.
    arguments = [
        arg for arg in _arguments(self.video, self.flow_out, self.checkpoint)
        if not arg.startswith(('--window=', '--stride='))]
    rerun = tool_runs.run_tool(_TOOL, arguments + ['--window=8', '--stride=8'])
    self.assertEqual(rerun.returncode, 0, rerun.stderr)
    self.assertIn('1 videos: 1 succeeded, 0 failed', rerun.stdout)
    # Logged although stderr is not a terminal.
    self.assertIn('Extracting Mixed_5c features (rgb) of 1 videos',
                  rerun.stderr)

  def test_small_premade_frames_for_the_logits(self):
    result = self.results['small_premade']
    self.assertEqual(result.returncode, 1, result.stderr)
    failures = [line for line in result.stderr.splitlines()
                if line.startswith('FAILED')]
    self.assertLen(failures, 1)
    size = streams_lib.CROP
    self.assertRegex(failures[0], f'small_rgb.npy: the logits need {size}x'
                     f'{size} frames, got 100x100; .*i3d-preprocess')
    self.assertNotIn('spatial_squeeze', result.stderr)

  def test_help(self):
    result = self.results['help']
    self.assertEqual(result.returncode, 0, result.stderr)
    for flag in ('--inputs', '--window', '--flow_backend', '--checkpoint_dir',
                 '--shard_index'):
      self.assertIn(f'{flag}:', result.stdout + result.stderr, flag)

  def test_usage_errors_are_one_line(self):
    result = self.results['usage_error']
    self.assertNotEqual(result.returncode, 0)
    self.assertIn(f'--output_dir={self.blocker}/out: {self.blocker} is a '
                  'file, not a folder', result.stderr)
    self.assertNotIn('Traceback', result.stderr)


if __name__ == '__main__':
  absltest.main()
