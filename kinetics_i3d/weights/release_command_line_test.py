# Copyright 2026 The kinetics-i3d TF2 authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
"""Tests for fetching DeepMind's I3D release through the i3d-assets tool.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.) The
tool runs as a subprocess, as a user runs it, against a loopback mirror of
the real rgb_scratch files (`release_testing.Trees.real`).
"""

import os
import re
import subprocess
import sys

from absl.testing import absltest

from kinetics_i3d import paths
from kinetics_i3d.weights import loopback_mirror
from kinetics_i3d.weights import release_pins
from kinetics_i3d.weights import release_testing
from kinetics_i3d.weights import release_urls

_DEEPMIND = release_pins.deepmind_pins()


# ----------------------------------------------------------------------------
# The command line: i3d-assets.
# ----------------------------------------------------------------------------


class CommandLineTest(release_testing.ServerTestCase):

  TREE = 'real'

  def run_tool(self, *args, url=None, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', I3D_CACHE_DIR=self.cache)
    env[release_urls.URL_ENV] = url or self.server.url
    return subprocess.run(
        [sys.executable, '-m', 'kinetics_i3d.assets', *args],
        cwd=cwd or paths.PROJECT_DIR, env=env, capture_output=True,
        text=True, timeout=300, check=False)

  def assert_one_line_failure(self, result, pattern):
    self.assertEqual(result.returncode, 1, result.stderr)
    self.assertNotIn('Traceback', result.stderr)
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('assets.py:')]
    self.assertLen(errors, 1, result.stderr)
    self.assertRegex(errors[0], pattern)

  def test_help_and_default_folders_in_the_project(self):
    # Run from elsewhere, the files must still land where evaluate_sample.py
    # looks for them, not under the current folder.
    result = self.run_tool('--helpfull', cwd=release_testing.make_tempdir(self))
    self.assertEqual(result.returncode, 0, result.stderr)
    for flag in ('--what', '--checkpoint_dir', '--data_dir',
                 '--[no]from_release'):
      self.assertIn(flag, result.stdout)
    text = ' '.join(result.stdout.split())  # Help is wrapped at 80 columns.
    self.assertIn(f"(default: '{paths.CHECKPOINT_DIR}')", text)
    self.assertIn(f"(default: '{paths.DATA_DIR}')", text)

  def test_what_is_required(self):
    result = self.run_tool()
    self.assertEqual(result.returncode, 2, result.stderr)
    self.assertNotIn('Traceback', result.stderr)
    # One line from the tool (TensorFlow may add start-up lines of its own).
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('assets.py:')]
    self.assertLen(errors, 1, result.stderr)
    self.assertRegex(errors[0], r'--what.*\(see --help\)$')

  def test_rgb_scratch_from_release(self):
    expected = release_pins.local_paths('rgb_scratch', self.checkpoint_dir)
    result = self.run_tool('--what=rgb_scratch', '--from_release',
                           f'--checkpoint_dir={self.checkpoint_dir}')
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stdout.splitlines(),
                     [f'rgb_scratch: {p}' for p in expected])
    self.assert_fetched('rgb_scratch', expected)
    # Progress and folder creation are logged, so redirected output shows
    # them too.
    self.assertIn(f'Creating folder {self.checkpoint_dir}', result.stderr)
    data, _ = release_pins.release_paths('rgb_scratch')
    data_size = _DEEPMIND.files[data].size
    total = f'{data_size / (1 << 20):.1f} MiB'
    percents = [int(p) for p in re.findall(
        rf'model.ckpt.data-00000-of-00001: [\d.]+ MiB/{total} \((\d+)%\)',
        result.stderr)]
    self.assertLen(percents, 10)  # A line per tenth of the file.
    self.assertEqual(percents, sorted(percents))
    self.assertEqual(percents[-1], 100)
    self.assertIn('data/checkpoints/rgb_scratch/model.ckpt.data-00000-of-'
                  '00001: all 230 tensors match their CRC32C', result.stderr)
    self.assert_in_place('rgb_scratch', expected)

    self.server.reset()
    again = self.run_tool('--what=rgb_scratch', '--from_release',
                          f'--checkpoint_dir={self.checkpoint_dir}')
    self.assertEqual(again.returncode, 0, again.stderr)
    self.assertEqual(again.stdout, result.stdout)
    for path in expected:
      self.assertIn(f'Already present and verified: {path}', again.stderr)
    self.assertEqual(self.server.requests, [])

  def test_not_found_is_one_line(self):
    self.server.reset(faults={
        'data/checkpoints/rgb_imagenet/model.ckpt.index': '404'})
    result = self.run_tool('--what=rgb_imagenet',
                           f'--checkpoint_dir={self.checkpoint_dir}')
    self.assert_one_line_failure(
        result, rf'{self.server.url}/data/checkpoints/rgb_imagenet/'
        r'model.ckpt.index: HTTP error 404 .*copy DeepMind\'s')
    self.assert_nothing_written()

  def test_unreachable_is_one_line(self):
    base = loopback_mirror.closed_port_url()
    result = self.run_tool('--what=cricket_sample',
                           f'--data_dir={self.data_dir}', url=base)
    self.assert_one_line_failure(
        result, rf'{base}/data/v_CricketShot_g04_c01_rgb.npy: cannot fetch it')
    self.assert_nothing_written()


if __name__ == '__main__':
  absltest.main()
