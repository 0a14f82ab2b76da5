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
"""Tests of a whole FVD comparison (Unterthiner et al. 2018), as i3d-fvd runs.

The tool runs in its own process, as a user meets it: its FVD must be the
one computed here from `oracles.variant_embeddings`, saved statistics must
give the same line, and bad inputs must be one-line errors that write
nothing. (A SIGKILLed run's resumption is `set_embedding_test`'s.)
"""

import json
import os
import shutil
import tempfile

from absl.testing import absltest
import numpy as np

from kinetics_i3d.metrics import kvd
from kinetics_i3d.metrics import provenance
from kinetics_i3d.metrics.fvd import comparison
from kinetics_i3d.metrics.fvd import distance
from kinetics_i3d.metrics.fvd import oracles
from kinetics_i3d.metrics.fvd import planning
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.embedder import EMBEDDING_SIZE
from kinetics_i3d.metrics.fvd.embedder import Embedder
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.sampling import ClipSampling
from kinetics_i3d.metrics.fvd.stats import Statistics
from kinetics_i3d.testing import tool_runs

_TOOL = 'kinetics_i3d.fvd'


def _assert_one_line_error(test, result, pattern):
  """`result` failed with exit 1, one `i3d-fvd: ` line matching `pattern`."""
  test.assertEqual(result.returncode, 1, result.stderr)
  errors = [line for line in result.stderr.splitlines()
            if line.startswith('i3d-fvd: ')]
  test.assertLen(errors, 1, result.stderr)
  test.assertRegex(errors[0], pattern)
  test.assertNotIn('Traceback', result.stderr)
  test.assertNotIn('FVD:', result.stdout)


class RunComparisonTest(absltest.TestCase):

  def test_statistics_on_both_sides_need_no_model(self):
    folder = oracles.make_tempdir(self)
    sides = {}
    for role, seed in (('real', 1), ('generated', 2)):
      sides[role] = oracles.random_embeddings(6, seed)
      stats = Statistics.from_embeddings(sides[role], 'reference', 10)
      stats.save(os.path.join(folder, f'{role}.npz'))
    plans = planning.plan_comparison(os.path.join(folder, 'real.npz'),
                                     os.path.join(folder, 'generated.npz'))
    embedder = Embedder('reference', checkpoint_dir='/nonexistent')
    value, stats = comparison.run_comparison(plans, 'reference', embedder,
                                             progress=False)
    self.assertEqual(value, distance.frechet_video_distance(
        sides['real'], sides['generated']))
    self.assertEqual(stats['real'].count, 6)
    with self.assertRaisesRegex(FVDError, "the embedder is of protocol "
                                "'reference', the comparison of 'crop'"):
      comparison.run_comparison(plans, 'crop', embedder)


class ToolTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp()
    # Real: a folder of (lossless) video files of two sizes; generated: an
    # array.
    cls.real = os.path.join(cls.folder, 'real')
    os.mkdir(cls.real)
    for index, video in enumerate(oracles.real_videos()):
      oracles.encode_lossless(os.path.join(cls.real, f'{index}.mkv'), video,
                              12)
    cls.generated = os.path.join(cls.folder, 'generated.npy')
    np.save(cls.generated, oracles.generated_videos())
    oracles.shared_model()  # Fetches rgb_scratch once, before any process.

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.folder, ignore_errors=True)
    super().tearDownClass()

  def _run(self, *args):
    return tool_runs.run_tool(_TOOL, ['--noprogress',
                                      f'--cache_dir={self.folder}/cache',
                                      *args])

  def test_fvd_of_videos_and_arrays_and_saved_statistics(self):
    stats = os.path.join(self.folder, 'real_stats.npz')
    result = self._run(f'--real={self.real}', f'--generated={self.generated}',
                       '--value_range=255', f'--save_real_stats={stats}')
    self.assertEqual(result.returncode, 0, result.stderr)
    last = result.stdout.strip().splitlines()[-1]
    self.assertRegex(last, r'^FVD: \d+\.\d{6}$')
    want = distance.frechet_video_distance(
        *oracles.variant_embeddings()['reference'])
    self.assertAlmostEqual(float(last.split()[1]), want,
                           delta=1e-4 * want + 1e-3)
    self.assertIn('real: 2 videos, clips of 10 frames', result.stdout)
    # From the saved statistics (the generated embeddings come from the
    # cache): the same number.
    again = self._run(f'--real={stats}', f'--generated={self.generated}',
                      '--value_range=255')
    self.assertEqual(again.returncode, 0, again.stderr)
    self.assertEqual(again.stdout.strip().splitlines()[-1], last)

  def test_bad_inputs_are_one_line_errors_and_write_nothing(self):
    one = os.path.join(self.folder, 'one.npy')
    np.save(one, oracles.generated_videos()[:1])
    nan = os.path.join(self.folder, 'nan.npy')
    videos = oracles.generated_videos().astype(np.float32)
    videos[1, 2, 3, 4, 0] = np.nan
    np.save(nan, videos)
    other = os.path.join(self.folder, 'stylegan_stats.npz')
    Statistics.from_embeddings(oracles.random_embeddings(4, 0), 'stylegan_v',
                               oracles.FRAMES).save(other)
    out = os.path.join(self.folder, 'out_stats.npz')
    cases = {
        r'--real=.*one\.npy: 1 video\(s\); FVD needs at least 2':
            (f'--real={one}', f'--generated={self.generated}'),
        r'nan\.npy\[0:.*contains NaN':
            (f'--real={nan}', f'--generated={self.generated}'),
        r"stylegan_stats\.npz: statistics of protocol 'stylegan_v'":
            (f'--real={other}', f'--generated={self.generated}'),
        r'--num_frames=8: clips of 8 frames are too short: I3D needs at '
        'least 9': (f'--real={self.real}', f'--generated={self.generated}',
                    '--num_frames=8'),
    }
    # All at once: each run is refused before any video is embedded.
    results = tool_runs.run_tools(_TOOL, {
        pattern: ['--noprogress', f'--cache_dir={self.folder}/cache', *args,
                  '--value_range=255', f'--save_generated_stats={out}']
        for pattern, args in cases.items()})
    for pattern, result in results.items():
      with self.subTest(pattern):
        _assert_one_line_error(self, result, pattern)
    self.assertFalse(os.path.exists(out))
    self.assertEqual(
        [f for f in os.listdir(self.folder) if f.startswith('.')], [])


class ExtrasTest(absltest.TestCase):
  """KVD, the bootstrap interval, --json and the protocol line."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp(prefix='fvd_cli_extras_test_')
    rng = np.random.default_rng(0)
    cls.embeddings = {
        'real': rng.normal(size=[40, EMBEDDING_SIZE]).astype(np.float32),
        'generated': rng.normal(0.2, size=[30, EMBEDDING_SIZE]).astype(
            np.float32)}
    cls.stats = {}
    for role, embeddings in cls.embeddings.items():
      stats = Statistics.from_embeddings(embeddings, 'reference', 16)
      stats.provenance = provenance.set_record(
          protocols.get_protocol('reference'), role, len(embeddings), 16,
          ClipSampling(16), None)
      cls.stats[role] = os.path.join(cls.folder, f'{role}.npz')
      stats.save(cls.stats[role])
    cls.json = os.path.join(cls.folder, 'result.json')
    cls.bad_json = os.path.join(cls.folder, 'bad.json')
    cls.bad_cases = cls._bad_cases()
    # Every run at once: none embeds a video.
    cls.results = tool_runs.run_tools(_TOOL, {
        name: cls._args(*args) for name, args in dict(
            cls.bad_cases,
            good=('--kvd', '--kvd_subsets=4', '--kvd_subset_size=20',
                  '--bootstrap=5', '--seed=3', f'--json={cls.json}')).items()})

  @classmethod
  def _bad_cases(cls):
    """{error pattern: arguments}; writes the statistics files they use."""
    other = os.path.join(cls.folder, 'other.npz')
    stats = Statistics.load(cls.stats['generated'])
    stats.provenance = dict(stats.provenance, exclude_first_frames=2)
    stats.save(other)
    bare = os.path.join(cls.folder, 'bare.npz')
    stats = Statistics.load(cls.stats['generated'])
    stats.embeddings = None
    stats.save(bare)
    json_flag = f'--json={cls.bad_json}'
    return {
        r'^--generated: statistics without embeddings; --kvd and '
        '--bootstrap need them': (f'--generated={bare}', '--kvd', json_flag),
        r'^--kvd_subset_size=31: larger than a set \(real 40, generated 30 '
        r'videos\); choose at most 30': ('--kvd', '--kvd_subset_size=31',
                                         json_flag),
        r'^--bootstrap_size=41: larger than a set': (
            '--bootstrap=3', '--bootstrap_size=41', json_flag),
        r'--real: statistics made under another protocol: '
        r'exclude_first_frames 0 \(this run: 2\)': (f'--generated={other}',
                                                    json_flag),
    }

  @classmethod
  def _args(cls, *args):
    # A set named in `args` replaces the default one: the tool refuses a
    # flag given twice.
    sets = [f'--{role}={path}' for role, path in cls.stats.items()
            if not any(arg.startswith(f'--{role}=') for arg in args)]
    return ['--noprogress', '--cache_dir=', *sets, *args]

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.folder)
    super().tearDownClass()

  def test_kvd_bootstrap_json_and_the_protocol_line(self):
    result = self.results['good']
    self.assertEqual(result.returncode, 0, result.stderr)
    lines = result.stdout.strip().splitlines()
    expected_fvd = distance.frechet_video_distance(
        self.embeddings['real'], self.embeddings['generated'])
    self.assertEqual(lines[-1], f'FVD: {expected_fvd:.6f}')
    self.assertRegex(lines[-2], r'^protocol: reference; videos per set: real '
                     '40, generated 30; frames: 16 per clip.*covariance: '
                     r'unbiased.*version: ')
    expected_kvd = kvd.kernel_video_distance(
        self.embeddings['real'], self.embeddings['generated'], 4, 20, 3)
    self.assertIn(f'KVD: {expected_kvd:.6f} (mean of 4 subsets of 20 videos '
                  'per set)', lines)
    self.assertTrue(any(line.startswith('FVD 95% bootstrap interval [')
                        for line in lines))
    with open(self.json) as f:
      saved = json.load(f)
    self.assertAlmostEqual(saved['fvd'], expected_fvd, delta=1e-9)
    self.assertAlmostEqual(saved['kvd'], expected_kvd, delta=1e-9)
    self.assertEqual(saved['protocol_line'], lines[-2])
    self.assertEqual(saved['bootstrap']['resamples'], 5)
    self.assertEqual(saved['provenance']['real']['videos'], 40)

  def test_bad_inputs_are_one_line_errors_and_write_nothing(self):
    for pattern in self.bad_cases:
      with self.subTest(pattern):
        result = self.results[pattern]
        self.assertEqual(result.returncode, 1, result.stdout)
        message = result.stderr.strip().splitlines()
        self.assertLen(message, 1, result.stderr)
        self.assertRegex(message[0].split(': ', 1)[1], pattern)
    self.assertFalse(os.path.exists(self.bad_json))


if __name__ == '__main__':
  absltest.main()
