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
"""Tests of embedding a whole FVD set (Unterthiner et al. 2018), resumably.

A run killed after a batch must resume after it, embedding only what is
left, and give what one uninterrupted run gives (`oracles.variant_embeddings`,
batches of 2): in this process, and as a user meets it, the i3d-fvd tool
SIGKILLed in its own process and run again.
"""

import os
import re
import signal
import subprocess
import sys
import time

from absl.testing import absltest
import numpy as np
from PIL import Image

from kinetics_i3d import paths
from kinetics_i3d.metrics.fvd import oracles
from kinetics_i3d.metrics.fvd import planning
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd import set_embedding
from kinetics_i3d.metrics.fvd import video_sets
from kinetics_i3d.metrics.fvd.cache import cache_key
from kinetics_i3d.metrics.fvd.embedder import Embedder
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.sampling import ClipSampling
from kinetics_i3d.utils import atomic_files

_TOOL = 'kinetics_i3d.fvd'


class _Killed(Exception):
  pass


class EmbedSetTest(absltest.TestCase):

  def test_embed_set_resumes_after_a_kill(self):
    folder = oracles.make_tempdir(self)
    path = os.path.join(folder, 'generated.npy')
    np.save(path, oracles.generated_videos())
    video_set = video_sets.open_set(path, 255)
    embedder = Embedder('reference', model=oracles.shared_model(),
                        batch_size=1)
    cache = os.path.join(folder, 'cache')

    def kill(done):
      raise _Killed(done)

    with self.assertRaises(_Killed):
      set_embedding.embed_set(video_set, embedder, ClipSampling(), cache,
                              progress=False, on_batch=kill)
    self.assertLen(os.listdir(cache), 1)  # The first batch, cached.
    calls = []
    original = embedder.embed_checked_inputs

    def counting(inputs):
      calls.append(int(inputs.shape[0]))
      return original(inputs)

    embedder.embed_checked_inputs = counting
    with self.assertLogs(level='INFO') as logs:
      resumed = set_embedding.embed_set(video_set, embedder, ClipSampling(),
                                        cache, progress=False)
    self.assertEqual(calls, [1])  # Only the second video was left.
    self.assertIn('resuming after 1 of 2 videos', logs.output[0])
    # Batches of 1 give what one batch of 2 gave.
    np.testing.assert_allclose(resumed,
                               oracles.variant_embeddings()['reference'][1],
                               atol=1e-5)

  def test_clips_of_another_length_are_refused(self):
    folder = oracles.make_tempdir(self)
    os.mkdir(os.path.join(folder, 'frames'))
    for index, length in enumerate((9, 10)):
      video = os.path.join(folder, 'frames', f'v{index}')
      os.mkdir(video)
      for t, frame in enumerate(oracles.blob_videos(index, 1, 8, 8,
                                                    length)[0]):
        Image.fromarray(frame).save(os.path.join(video, f'{t:02d}.png'))
    video_set = video_sets.open_set(os.path.join(folder, 'frames'))
    embedder = Embedder('reference', checkpoint_dir='/nonexistent')
    with self.assertRaisesRegex(FVDError, r"v1: a clip of 10 frames, but the "
                                r"set's first has 9; take clips of one "
                                r'length'):
      set_embedding.embed_set(video_set, embedder, ClipSampling(),
                              progress=False)


class ResumeAfterSigkillTest(absltest.TestCase):
  """Resumability as a user meets it: the tool SIGKILLed, then run again.

  The run is killed after a committed batch; the same command again must
  skip exactly the committed videos, and its FVD line must be that of a run
  never interrupted, bit for bit in the cached embeddings.
  """

  def setUp(self):
    super().setUp()
    self.folder = oracles.make_tempdir(self)
    self.real = os.path.join(self.folder, 'real.npy')
    self.generated = os.path.join(self.folder, 'generated.npy')
    np.save(self.real, oracles.blob_videos(21, 6, 32, 48, num_frames=9))
    np.save(self.generated, oracles.blob_videos(22, 6, 48, 40, num_frames=9))
    self.total = 12
    # Which cache file holds which set, keyed as the library keys them.
    protocol = protocols.get_protocol('reference')
    self.roles = {
        cache_key(plan.source, protocol, plan.sampling): plan.role
        for plan in planning.plan_comparison(self.real, self.generated,
                                             protocol, value_range=255)}

  def _command(self, cache, stats):
    return [sys.executable, '-m', _TOOL, f'--real={self.real}',
            f'--generated={self.generated}', '--value_range=255',
            '--batch_size=1', f'--cache_dir={cache}',
            f'--save_real_stats={stats}',
            f'--checkpoint_dir={paths.CHECKPOINT_DIR}', '--noprogress']

  def _start(self, args, name):
    """Starts `args` with stdout and stderr to `<name>.out` / `<name>.err`."""
    with open(f'{name}.out', 'w') as out, open(f'{name}.err', 'w') as err:
      process = subprocess.Popen(args, stdout=out, stderr=err)

    def stop():
      if process.poll() is None:
        process.kill()
        process.wait()

    self.addCleanup(stop)
    return process

  def _finish(self, process, name, timeout=600):
    """Waits for a process of `_start`; returns (status, stdout, stderr)."""
    process.wait(timeout)
    with open(f'{name}.out') as out, open(f'{name}.err') as err:
      return process.returncode, out.read(), err.read()

  def _committed(self, cache: str) -> dict:
    """{role: embeddings [n, 400]} of the cache files in `cache`."""
    found = {}
    if not os.path.isdir(cache):
      return found
    for name in os.listdir(cache):
      if name.startswith('.') or not name.endswith('.npz'):
        continue  # Temporaries: never committed.
      with np.load(os.path.join(cache, name), allow_pickle=False) as data:
        found[self.roles[str(data['key'])]] = np.array(data['embeddings'])
    return found

  def _kill_after_a_batch(self):
    """Runs the tool until a batch is committed, then SIGKILLs it.

    If the kill came only after the last batch (a stalled poller on a loaded
    machine), starts over once.

    Returns:
      (cache folder, statistics path, {role: videos committed}).
    """
    for attempt in range(2):
      cache = os.path.join(self.folder, f'cache_{attempt}')
      name = os.path.join(self.folder, f'killed_{attempt}')
      stats = f'{name}.npz'
      process = self._start(self._command(cache, stats), name)
      deadline = time.monotonic() + 600
      # Cache files appear by atomic renames only: complete when seen.
      while (process.poll() is None and time.monotonic() < deadline and
             not self._committed(cache)):
        time.sleep(.05)
      if process.poll() is None:
        process.send_signal(signal.SIGKILL)
      status, _, stderr = self._finish(process, name, 60)
      self.assertIn(status, (-signal.SIGKILL, 0), stderr)
      done = {role: len(rows) for role, rows in self._committed(cache).items()}
      self.assertTrue(done, f'no batch committed in 600 s:\n{stderr}')
      if status == -signal.SIGKILL and sum(done.values()) < self.total:
        return cache, stats, done
    self.fail(f'killed only after the last batch, twice: {done}')

  def _assert_kill_left_nothing(self, cache, stats):
    """No output (statistics are written last), nothing blocking a re-run.

    Then plants what a kill inside a cache write leaves: a cut temporary.
    """
    self.assertFalse(os.path.exists(stats))
    self.assertEqual([f for f in os.listdir(self.folder)
                      if f.startswith(f'.{os.path.basename(stats)}')], [])
    partial = os.path.join(cache, min(
        f for f in os.listdir(cache) if not f.startswith('.')))
    with open(partial, 'rb') as f, open(
        atomic_files.temporary_name(partial), 'wb') as g:
      g.write(f.read()[:200])

  def test_resumes_exactly_after_sigkill(self):
    # The uninterrupted run, in a fresh cache, overlaps the others (most of
    # a run is start-up, much of it single-threaded).
    fresh_cache = os.path.join(self.folder, 'fresh_cache')
    fresh_name = os.path.join(self.folder, 'fresh')
    fresh = self._start(self._command(fresh_cache, f'{fresh_name}.npz'),
                        fresh_name)
    cache, stats, done = self._kill_after_a_batch()
    before = self._committed(cache)
    self._assert_kill_left_nothing(cache, stats)

    resumed = subprocess.run(self._command(cache, stats), capture_output=True,
                             text=True, timeout=600, check=False)
    self.assertEqual(resumed.returncode, 0, resumed.stderr)
    # Exactly the committed videos were skipped, set by set.
    skipped = {role: int(count) for role, count in re.findall(
        r'(real|generated): resuming after (\d+) of \d+ videos',
        resumed.stderr)}
    self.assertEqual(skipped, {r: n for r, n in done.items() if n},
                     resumed.stderr)
    self.assertLess(sum(skipped.values()), self.total)
    self.assertEqual([f for f in os.listdir(cache) if f.startswith('.')], [])
    self.assertTrue(os.path.exists(stats))
    after = self._committed(cache)
    for role, rows in before.items():  # Committed rows are kept as written.
      np.testing.assert_array_equal(after[role][:len(rows)], rows)

    status, stdout, stderr = self._finish(fresh, fresh_name)
    self.assertEqual(status, 0, stderr)
    self.assertNotIn('resuming', stderr)
    last = stdout.strip().splitlines()[-1]
    self.assertRegex(last, r'^FVD: \d+\.\d{6}$')
    self.assertEqual(resumed.stdout.strip().splitlines()[-1], last)
    fresh_rows = self._committed(fresh_cache)
    self.assertEqual(sorted(fresh_rows), ['generated', 'real'])
    for role, rows in fresh_rows.items():  # Bit for bit, not just as printed.
      np.testing.assert_array_equal(after[role], rows)


if __name__ == '__main__':
  absltest.main()
