"""Tests for beam_pipeline.py (I3D features; Carreira & Zisserman, 2017).

The pipeline runs on Beam's DirectRunner in this process; its outputs must
equal those of `batch_run.run` (the command line's loop) on the same
videos and checkpoint, and the checkpoint must load once per worker. The tool,
`kinetics_i3d.beam_extract_features`, runs in subprocesses.
"""

import json
import os
import tempfile
from unittest import mock

from absl.testing import absltest
from apache_beam.runners.portability import prism_runner
import numpy as np
import tensorflow as tf

from kinetics_i3d.features import beam_pipeline
from kinetics_i3d.features import batch_run
from kinetics_i3d.features import fixtures
from kinetics_i3d.features import inputs
from kinetics_i3d.features import settings
from kinetics_i3d.features import storage
from kinetics_i3d.testing import tool_runs
from kinetics_i3d.utils import atomic_files

_SETTINGS = dict(window=16, stride=12, batch_size=2, resize=32, crop=32,
                 pooling='time', endpoint='Mixed_4f')


def _records(output_dir):
  with open(os.path.join(output_dir, storage.MANIFEST_NAME)) as f:
    records = {}
    for line in f:
      record = json.loads(line)
      del record['elapsed_s']  # Wall time differs between runs.
      records[record['key']] = record
  return records


class BeamPipelineTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp(prefix='beam_pipeline_test_')
    cls.inputs = [
        fixtures.make_video(os.path.join(cls.folder, f'video{i}.mp4'),
                            20 + 9 * i, seed=40 + i) for i in range(3)
    ]
    cls.inputs.append(
        fixtures.write_corrupt_video(os.path.join(cls.folder, 'corrupt.avi')))
    premade = np.random.default_rng(0).uniform(
        -1, 1, (1, 30, 32, 32, 3)).astype(np.float32)
    np.save(os.path.join(cls.folder, 'premade_rgb.npy'), premade)
    cls.inputs.append(os.path.join(cls.folder, 'premade_rgb.npy'))
    cls.config = settings.ExtractionConfig(
        rgb_checkpoint=fixtures.make_test_checkpoint('rgb_scratch', seed=7),
        **_SETTINGS)
    cls.items = inputs.resolve_inputs(cls.inputs)

  def test_outputs_equal_the_command_lines(self):
    cli_dir = fixtures.new_tempdir(self)
    summary = batch_run.run(self.items, self.config, cli_dir, progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (4, 1))

    beam_dir = fixtures.new_tempdir(self)
    prism_runs = []
    with mock.patch.object(prism_runner.PrismRunner, 'run_pipeline',
                           lambda *args: prism_runs.append(args)):
      # The default runner runs in this process: no Prism download.
      summary, counters = beam_pipeline.run_pipeline(
          self.items, self.config, beam_dir, ['--direct_num_workers=1'])
    self.assertEmpty(prism_runs)
    self.assertEqual((summary.succeeded, summary.failed, summary.skipped),
                     (4, 1, 0))
    self.assertEqual(counters['model_loads'], 1)  # Not once per video.

    cli_records, beam_records = _records(cli_dir), _records(beam_dir)
    self.assertEqual(beam_records, cli_records)
    self.assertEqual(beam_records['corrupt']['status'], 'failed')
    for key, record in cli_records.items():
      if record['status'] != 'ok':
        continue
      name = record['streams']['rgb']['file']
      self.assertAllClose(np.load(os.path.join(beam_dir, name)),
                          np.load(os.path.join(cli_dir, name)),
                          rtol=1e-6, atol=1e-6, msg=key)
    for name in os.listdir(beam_dir):
      self.assertNotIn(atomic_files.TMP_MARK, name)

    # A second pipeline run skips what is finished and retries the failure.
    summary, counters = beam_pipeline.run_pipeline(
        self.items, self.config, beam_dir, ['--runner=DirectRunner'])
    self.assertEqual((counters.get('skipped'), counters.get('failed')),
                     (4, 1))
    self.assertEqual(_records(beam_dir), cli_records)

  def test_list_file_inputs(self):
    listing = os.path.join(fixtures.new_tempdir(self), 'list.txt')
    with open(listing, 'w') as f:
      f.write('\n'.join(self.inputs[:3]) + '\n')
    items = beam_pipeline.resolve_inputs([listing])
    self.assertEqual([i.path for i in items], sorted(self.inputs[:3]))


class CommandLineTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    output_dir = f'--output_dir={tempfile.mkdtemp()}'
    # (arguments, exit status, last line of stderr), run all at once.
    cls.cases = {
        'help': (['--help'], 0, None),
        'usage_error': ([output_dir, '--runner=DirectRunner'], 2,
                        r'i3d-beam-extract-features: --inputs is required.*'
                        r'\(see --help\)$'),
        'unknown_flag': ([output_dir, '--widnow=16'], 2,
                         r'unknown flag --widnow=16: neither a flag of this '
                         r'tool nor a Beam pipeline option \(see --help\)$'),
        'repeated_flag': ([output_dir, '--inputs=a', '--inputs=b'], 2,
                          r'--inputs given more than once'),
        # Beam's options by their documented names, both spellings.
        'beam_options': ([output_dir, '--direct_num_workers=2', '--runner',
                          'DirectRunner'], 2, r'--inputs is required'),
    }
    cls.results = tool_runs.run_tools(
        'kinetics_i3d.beam_extract_features',
        {name: case[0] for name, case in cls.cases.items()})

  def test_help_lists_the_shared_flags(self):
    result = self.results['help']
    self.assertEqual(result.returncode, 0, result.stderr)
    for flag in ('--inputs', '--window', '--flow_backend', '--[no]overwrite'):
      self.assertIn(f'{flag}:', result.stdout + result.stderr, flag)

  def test_refusals_are_one_line(self):
    for name, (_, returncode, message) in self.cases.items():
      if message is None:
        continue
      result = self.results[name]
      self.assertEqual(result.returncode, returncode, result.stderr)
      self.assertNotIn('Traceback', result.stderr)
      # Beam's import warns of a BigQuery client the tool does not use.
      self.assertNotIn('apitools', result.stderr)
      self.assertLen(result.stderr.strip().splitlines(), 1, result.stderr)
      self.assertRegex(result.last_line, message)


if __name__ == '__main__':
  absltest.main()
