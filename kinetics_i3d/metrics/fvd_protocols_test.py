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
"""FVD (Unterthiner et al. 2018) at scale: protocols, streams, CLI extras.

Tests of what `fvd.py` gained for the protocols in use (StyleGAN-V's 128-frame
ones, the video-prediction convention), arrays larger than memory, short
clips and results that state their protocol; each against an independent
computation of what it should do.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import scipy.linalg

from kinetics_i3d.metrics import fvd
from kinetics_i3d.metrics import kvd

# Frames of the synthetic videos; frame t of video i holds (i * 7 + t) % 256.
_TOTAL = 130


def _indexed_videos(count: int, total: int = _TOTAL) -> np.ndarray:
  values = (np.arange(count)[:, None] * 7 + np.arange(total)[None]) % 256
  return np.broadcast_to(values[:, :, None, None, None].astype(np.uint8),
                         [count, total, 2, 2, 3]).copy()


def _frame_numbers(clip: np.ndarray, video: int) -> np.ndarray:
  return (clip[:, 0, 0, 0].astype(int) - video * 7) % 256


def styleganv_indices(total: int, num_frames: int, factor: int,
                      offset: int) -> np.ndarray:
  """StyleGAN-V's `load_n_consecutive` frames with `subsample_factor`."""
  assert total >= num_frames * factor  # Its discard rule.
  assert 0 <= offset <= total - num_frames * factor + factor - 1
  return np.arange(0, num_frames * factor, factor) + offset


class ProtocolSamplingTest(parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp(prefix='fvd_protocols_test_')
    cls.path = os.path.join(cls.folder, 'videos.npy')
    np.save(cls.path, _indexed_videos(6))

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.folder)
    super().tearDownClass()

  def _clips(self, protocol, **kwargs):
    plans = fvd.plan_comparison(self.path, self.path, protocol,
                                value_range=255, **kwargs)
    return {plan.role: [plan.source.clip(i, plan.sampling)
                        for i in range(len(plan.source))] for plan in plans}

  @parameterized.parameters(('stylegan_v', 16, 1), ('fvd2048_128f', 128, 1),
                            ('fvd2048_128f_subsample8f', 16, 8))
  def test_styleganv_protocols_sample_as_styleganv(self, name, num_frames,
                                                   factor):
    clips = self._clips(name)
    for video, clip in enumerate(clips['generated']):
      np.testing.assert_array_equal(
          _frame_numbers(clip, video),
          styleganv_indices(_TOTAL, num_frames, factor, 0))
    offsets = set()
    for video, clip in enumerate(clips['real']):
      numbers = _frame_numbers(clip, video)
      offsets.add(int(numbers[0]))
      np.testing.assert_array_equal(
          numbers, styleganv_indices(_TOTAL, num_frames, factor,
                                     int(numbers[0])))
    if name != 'fvd2048_128f':  # 3 possible offsets there; 6 videos.
      self.assertGreater(len(offsets), 1)

  def test_subsample8f_needs_128_frames_as_styleganv(self):
    # 125 frames hold the clip's span (121) but not StyleGAN-V's 16 * 8.
    path = os.path.join(self.folder, 'short.npy')
    np.save(path, _indexed_videos(3, 125))
    with self.assertRaisesRegex(fvd.FVDError,
                                r'short\.npy\[0\]: 125 frames, but a clip of '
                                '16 frames at stride 8 needs 128'):
      fvd.plan_comparison(path, path, 'fvd2048_128f_subsample8f',
                          value_range=255)
    plans = fvd.plan_comparison(path, path, 'reference', value_range=255,
                                num_frames=16, frame_stride=8)
    np.testing.assert_array_equal(
        _frame_numbers(plans[0].source.clip(0, plans[0].sampling), 0),
        np.arange(16) * 8)

  @parameterized.parameters(('reference', 10), ('stylegan_v', 16))
  def test_excluded_conditioning_frames(self, name, num_frames):
    clips = self._clips(name, num_frames=num_frames, exclude_first_frames=2)
    for video, clip in enumerate(clips['generated']):
      np.testing.assert_array_equal(_frame_numbers(clip, video),
                                    2 + np.arange(num_frames))
    for video, clip in enumerate(clips['real']):
      numbers = _frame_numbers(clip, video)
      self.assertGreaterEqual(numbers[0], 2)
      np.testing.assert_array_equal(numbers, numbers[0] +
                                    np.arange(num_frames))

  def test_whole_videos_after_excluded_frames(self):
    clips = self._clips('reference', exclude_first_frames=120)
    np.testing.assert_array_equal(_frame_numbers(clips['real'][1], 1),
                                  np.arange(120, _TOTAL))
    with self.assertRaisesRegex(fvd.FVDError, 'all within the 130 '
                                'conditioning frames'):
      self._clips('reference', exclude_first_frames=130)

  def test_a_set_larger_than_the_protocol_takes_is_refused(self):
    with self.assertRaisesRegex(fvd.FVDError,
                                "max_videos=4096 is more than protocol "
                                "'fvd2048_128f' takes \\(2048 per set\\)"):
      self._clips('fvd2048_128f', max_videos=4096)

  def test_short_clips_refused_or_padded(self):
    path = os.path.join(self.folder, 'eight.npy')
    np.save(path, _indexed_videos(3, 8))
    with self.assertRaisesRegex(fvd.FVDError,
                                r'eight\.npy\[0\]: clips of 8 frames are too '
                                'short: I3D needs at least 9 frames'):
      fvd.plan_comparison(path, path, value_range=255)
    plans = fvd.plan_comparison(path, path, value_range=255,
                                short_clip_treatment='pad_last')
    self.assertEqual(plans[0].num_frames, 9)
    np.testing.assert_array_equal(
        _frame_numbers(plans[0].source.clip(2, plans[0].sampling), 2),
        list(range(8)) + [7])

  @parameterized.parameters('npz', 'npz_compressed')
  def test_npz_sets_stream_rows(self, kind):
    path = os.path.join(self.folder, f'{kind}.npz')
    (np.savez if kind == 'npz' else np.savez_compressed)(
        path, videos=_indexed_videos(4, 20))
    plans = fvd.plan_comparison(path, path, value_range=255, num_frames=10)
    for index in (3, 0, 2):  # Backwards too.
      np.testing.assert_array_equal(
          plans[1].source.clip(index, plans[1].sampling),
          _indexed_videos(4, 20)[index, :10])

  def test_truncated_array_is_refused(self):
    path = os.path.join(self.folder, 'cut.npy')
    shutil.copy(self.path, path)
    with open(path, 'r+b') as f:
      f.truncate(os.path.getsize(path) - 1)
    with self.assertRaisesRegex(fvd.FVDError, r'cut\.npy: truncated'):
      fvd.plan_comparison(path, self.path, value_range=255)


def biased_styleganv_fvd(x: np.ndarray, y: np.ndarray) -> float:
  """StyleGAN-V's distance, written out: biased covariances, scipy sqrtm."""
  mu_x, mu_y = x.mean(0), y.mean(0)
  s_x = np.cov(x, rowvar=False, bias=True)
  s_y = np.cov(y, rowvar=False, bias=True)
  root = scipy.linalg.sqrtm(s_y @ s_x)
  return float(np.real(np.sum((mu_y - mu_x)**2) +
                       np.trace(s_y + s_x - 2. * root)))


class ProtocolDistanceTest(parameterized.TestCase):

  @parameterized.parameters('fvd2048_128f', 'fvd2048_128f_subsample8f')
  def test_distance_is_styleganv(self, name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=[500, 400])
    y = rng.normal(0.1, 1.1, size=[450, 400])
    self.assertAlmostEqual(fvd.frechet_video_distance(x, y, name) /
                           biased_styleganv_fvd(x, y), 1., delta=1e-9)
    self.assertNotAlmostEqual(
        fvd.frechet_video_distance(x, y, 'reference') /
        biased_styleganv_fvd(x, y), 1., delta=1e-4)


class StatisticsRecordTest(absltest.TestCase):

  def test_provenance_and_embeddings_round_trip(self):
    folder = tempfile.mkdtemp(prefix='fvd_stats_record_test_')
    self.addCleanup(shutil.rmtree, folder)
    embeddings = np.random.default_rng(0).normal(size=[5, 400]).astype(
        np.float32)
    stats = fvd.Statistics.from_embeddings(embeddings, 'fvd2048_128f', 128)
    stats.provenance = fvd.provenance.set_record(
        fvd.get_protocol('fvd2048_128f'), 'real', 5, 128,
        fvd.ClipSampling(128, start='random'), 2048)
    path = os.path.join(folder, 'stats.npz')
    stats.save(path)
    loaded = fvd.Statistics.load(path, 'fvd2048_128f')
    self.assertEqual(loaded.provenance, stats.provenance)
    np.testing.assert_array_equal(loaded.embeddings, embeddings)
    np.testing.assert_array_equal(loaded.covariance, stats.covariance)
    with self.assertRaisesRegex(fvd.FVDError, "statistics of protocol "
                                "'fvd2048_128f', but the protocol is "
                                "'fvd2048_128f_subsample8f'"):
      fvd.Statistics.load(path, 'fvd2048_128f_subsample8f')


class CliExtrasTest(parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp(prefix='fvd_cli_extras_test_')
    rng = np.random.default_rng(0)
    cls.embeddings = {'real': rng.normal(size=[40, 400]).astype(np.float32),
                      'generated': rng.normal(0.2, size=[30, 400]).astype(
                          np.float32)}
    cls.stats = {}
    for role, embeddings in cls.embeddings.items():
      stats = fvd.Statistics.from_embeddings(embeddings, 'reference', 16)
      sampling = fvd.ClipSampling(16)
      stats.provenance = fvd.provenance.set_record(
          fvd.get_protocol('reference'), role, len(embeddings), 16, sampling,
          None)
      cls.stats[role] = os.path.join(cls.folder, f'{role}.npz')
      stats.save(cls.stats[role])

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.folder)
    super().tearDownClass()

  def _run(self, *args):
    # A set named in `args` replaces the default one: the tool refuses a
    # flag given twice.
    sets = [f'--{role}={path}' for role, path in self.stats.items()
            if not any(arg.startswith(f'--{role}=') for arg in args)]
    return subprocess.run(
        [sys.executable, '-m', 'kinetics_i3d.fvd', '--noprogress',
         '--cache_dir=', *sets, *args],
        capture_output=True, text=True, check=False)

  def test_kvd_bootstrap_json_and_the_protocol_line(self):
    out = os.path.join(self.folder, 'result.json')
    result = self._run('--kvd', '--kvd_subsets=4', '--kvd_subset_size=20',
                       '--bootstrap=5', '--seed=3', f'--json={out}')
    self.assertEqual(result.returncode, 0, result.stderr)
    lines = result.stdout.strip().splitlines()
    expected_fvd = fvd.frechet_video_distance(
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
    with open(out) as f:
      saved = json.load(f)
    self.assertAlmostEqual(saved['fvd'], expected_fvd, delta=1e-9)
    self.assertAlmostEqual(saved['kvd'], expected_kvd, delta=1e-9)
    self.assertEqual(saved['protocol_line'], lines[-2])
    self.assertEqual(saved['bootstrap']['resamples'], 5)
    self.assertEqual(saved['provenance']['real']['videos'], 40)

  def test_bad_inputs_are_one_line_errors_and_write_nothing(self):
    other = os.path.join(self.folder, 'other.npz')
    stats = fvd.Statistics.load(self.stats['generated'])
    stats.provenance = dict(stats.provenance, exclude_first_frames=2)
    stats.save(other)
    bare = os.path.join(self.folder, 'bare.npz')
    stats = fvd.Statistics.load(self.stats['generated'])
    stats.embeddings = None
    stats.save(bare)
    out = os.path.join(self.folder, 'bad.json')
    cases = (
        ((f'--generated={bare}', '--kvd'),
         r'^--generated: statistics without embeddings; --kvd and '
         '--bootstrap need them'),
        (('--kvd', '--kvd_subset_size=31'),
         r'^--kvd_subset_size=31: larger than a set \(real 40, generated 30 '
         r'videos\); choose at most 30'),
        (('--bootstrap=3', '--bootstrap_size=41'),
         r'^--bootstrap_size=41: larger than a set'),
        ((f'--generated={other}',),
         r'--real: statistics made under another protocol: '
         r'exclude_first_frames 0 \(this run: 2\)'),
    )
    for args, pattern in cases:
      with self.subTest(pattern):
        result = self._run(*args, f'--json={out}')
        self.assertEqual(result.returncode, 1, result.stdout)
        message = result.stderr.strip().splitlines()
        self.assertLen(message, 1, result.stderr)
        self.assertRegex(message[0].split(': ', 1)[1], pattern)
        self.assertFalse(os.path.exists(out))


if __name__ == '__main__':
  absltest.main()
