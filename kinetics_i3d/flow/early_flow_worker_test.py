"""Tests of `early_flow_worker`: which command lines start the TF TV-L1 worker.

(I3D's flow stream, Carreira & Zisserman, CVPR 2017.) That a started worker
serves the first program is tested in `tvl1_tf_worker_test`.
"""

import os
import subprocess
import sys
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized

from kinetics_i3d import paths
from kinetics_i3d.flow import backends
from kinetics_i3d.flow import early_flow_worker
from kinetics_i3d.flow import tvl1_tf_worker


class AsksForTfFlowTest(parameterized.TestCase):

  @parameterized.parameters(
      (['--flow_backend=tf'], True),
      (['--video=a.mp4', '--flow_backend', 'tf'], True),
      (['--flow_backend=tf', '--flow_backend=opencv'], False),  # absl: last.
      (['--flow_backend=opencv'], False),
      (['--flow_backend=auto'], False),
      ([], False),
      (['--', '--flow_backend=tf'], False),  # Not a flag after '--'.
      (['--flow_backend'], False),
  )
  def test_command_lines(self, args, expected):
    with mock.patch.object(early_flow_worker.glob, 'glob', return_value=[]):
      self.assertEqual(
          early_flow_worker.asks_for_tf_flow(['tool'] + args), expected)

  def test_not_where_a_gpu_runs_the_flow_in_process(self):
    with mock.patch.object(early_flow_worker.glob, 'glob',
                           return_value=['/dev/nvidia0']):
      self.assertFalse(
          early_flow_worker.asks_for_tf_flow(['tool', '--flow_backend=tf']))

  def test_the_flag_is_the_backends_flag(self):
    self.assertEqual(early_flow_worker._FLAG, f'--{backends.FLAG_NAME}')

  def test_start_if_asked_starts_a_spare_only_when_asked(self):
    self.addCleanup(tvl1_tf_worker.close_all)
    with mock.patch.object(tvl1_tf_worker, 'start_spare') as start:
      with mock.patch.object(early_flow_worker.glob, 'glob', return_value=[]):
        self.assertFalse(early_flow_worker.start_if_asked(['tool']))
        start.assert_not_called()
        self.assertTrue(
            early_flow_worker.start_if_asked(['tool', '--flow_backend=tf']))
    start.assert_called_once_with()

  def test_a_tool_process_starts_it_before_tensorflow_and_leaves_none(self):
    # A tool's first import (cli) with --flow_backend=tf: the spare runs
    # while TensorFlow is imported here, and is gone after this process.
    script = '\n'.join([
        'import sys',
        'sys.argv = ["tool", "--flow_backend=tf"]',
        'from kinetics_i3d.flow import tvl1_tf_worker',
        'from kinetics_i3d.utils import cli',
        'spare = tvl1_tf_worker._spare',
        'print(spare.process.pid if spare else -1, spare.process.poll()',
        '      if spare else None)',
    ])
    if early_flow_worker.glob.glob(early_flow_worker._GPU_DEVICES):
      self.skipTest('a GPU machine runs the TF TV-L1 in process')
    result = subprocess.run([sys.executable, '-c', script],
                            cwd=paths.PROJECT_DIR, capture_output=True,
                            text=True, check=True)
    pid, status = result.stdout.split()
    self.assertGreater(int(pid), 0)
    self.assertEqual(status, 'None')  # Running while the tool started.
    with self.assertRaises(ProcessLookupError):  # Killed and reaped at exit.
      os.kill(int(pid), 0)


if __name__ == '__main__':
  absltest.main()
