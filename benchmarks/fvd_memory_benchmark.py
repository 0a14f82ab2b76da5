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
r"""Peak memory of FVD's input pipeline against the set's size: flat.

FVD (Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", 2018, on the rgb_scratch I3D of Carreira & Zisserman,
CVPR 2017; `kinetics_i3d/metrics/fvd/`) is computed on sets larger than
memory. For sets of --set_sizes random uint8 videos (--num_frames frames at
--frame_size, small frames being enough to show the trend), stored as each
of `.npy`, `.npz` (`np.savez`) and compressed `.npz`, this script runs, in a
fresh process per set, everything `i3d-fvd` does to a set except the
network: `plan_comparison` (opening, checks), `embed_set` over every clip
(reading, the reference resize to 224x224 and scaling, batching, the
resumable cache) and the statistics. The network is replaced by a stand-in
that returns each clip's channel means tiled to 400 values: the network's
own memory depends on the batch, not on the set, and embedding 1024 clips
with it would take most of an hour on 2 cores. It prints each process's
peak resident set size (`ru_maxrss`).

For contrast, the last column reads the same `.npy` the way a
memory-mapped array is usually read (`np.load(mmap_mode='r')`, row by row,
nothing released): every page touched stays resident, so that peak grows
with the set.

Usage:
  python benchmarks/fvd_memory_benchmark.py
  python benchmarks/fvd_memory_benchmark.py --set_sizes=64,256,1024,4096
"""

import os
import resource
import shutil
import subprocess
import sys
import tempfile

from absl import app
from absl import flags
import numpy as np

import timing  # The benchmarks' folder is on sys.path when run as a script.

_SET_SIZES = flags.DEFINE_list('set_sizes', ['64', '256', '1024'],
                               'Videos per set.')
_NUM_FRAMES = flags.DEFINE_integer('num_frames', 16, 'Frames per video.')
_FRAME_SIZE = flags.DEFINE_integer('frame_size', 64,
                                   'Height and width of the frames.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 16, 'Clips per batch.')
_CHILD = flags.DEFINE_string('child', None,
                             'Internal: run one measurement (kind:path).')

KINDS = ('npy', 'npz', 'npz_compressed', 'mmap_reference')


def _peak_rss_mib() -> float:
  # Linux reports ru_maxrss in KiB.
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.


def _child(kind: str, path: str) -> None:
  """One measurement in this (fresh) process; prints the peak RSS."""
  if kind == 'mmap_reference':
    array = np.load(path, mmap_mode='r')
    total = 0.
    for index in range(len(array)):
      total += float(np.asarray(array[index], np.float32).mean())
    print(f'{_peak_rss_mib():.1f}')
    return
  # pylint: disable=g-import-not-at-top
  from kinetics_i3d.metrics import fvd

  class ChannelMeans(fvd.Embedder):
    """The network's stand-in: [B, T, 224, 224, 3] -> [B, 400]."""

    def embed_inputs(self, inputs):
      means = np.asarray(inputs, np.float32).mean(axis=(1, 2, 3))
      return np.tile(means, [1, 134])[:, :fvd.EMBEDDING_SIZE]

  cache = tempfile.mkdtemp(prefix='fvd_memory_cache_')
  try:
    plans = fvd.plan_comparison(path, path, 'reference', value_range=255)
    embeddings = fvd.embed_set(plans[0].source,
                               ChannelMeans(batch_size=_BATCH_SIZE.value),
                               plans[0].sampling, cache, progress=False,
                               num_frames=plans[0].num_frames)
    fvd.Statistics.from_embeddings(embeddings)
  finally:
    shutil.rmtree(cache)
  print(f'{_peak_rss_mib():.1f}')


def _write(kind: str, folder: str, videos: np.ndarray) -> str:
  if kind in ('npy', 'mmap_reference'):
    path = os.path.join(folder, 'videos.npy')
    if not os.path.exists(path):
      np.save(path, videos)
    return path
  path = os.path.join(folder, f'{kind}.npz')
  (np.savez if kind == 'npz' else np.savez_compressed)(path, videos=videos)
  return path


def main(argv):
  del argv
  if _CHILD.value:
    kind, path = _CHILD.value.split(':', 1)
    _child(kind, path)
    return
  print(f'CPU: {timing.cpu_model()}; load average before: '
        f'{os.getloadavg()[0]:.2f}')
  print(f'Peak RSS (MiB) of one set through the pipeline; videos of '
        f'{_NUM_FRAMES.value} frames at {_FRAME_SIZE.value}x'
        f'{_FRAME_SIZE.value}, batches of {_BATCH_SIZE.value}:')
  print('| videos | set size (MiB) | ' + ' | '.join(KINDS) + ' |')
  print('| ---: | ---: |' + ' ---: |' * len(KINDS))
  rng = np.random.default_rng(0)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  for size in (int(s) for s in _SET_SIZES.value):
    folder = tempfile.mkdtemp(prefix='fvd_memory_benchmark_')
    try:
      videos = rng.integers(0, 256, [size, _NUM_FRAMES.value,
                                     _FRAME_SIZE.value, _FRAME_SIZE.value, 3],
                            dtype=np.uint8)
      peaks = []
      for kind in KINDS:
        path = _write(kind, folder, videos)
        result = subprocess.run(
            [sys.executable, os.path.abspath(__file__),
             f'--child={kind}:{path}', f'--batch_size={_BATCH_SIZE.value}'],
            capture_output=True, text=True, check=True, env=env)
        peaks.append(result.stdout.strip().splitlines()[-1])
      set_mib = videos.nbytes / 2**20
      print(f'| {size} | {set_mib:.0f} | ' + ' | '.join(peaks) + ' |',
            flush=True)
    finally:
      shutil.rmtree(folder)
  print(f'Load average after: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
  app.run(main)
