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
r"""How far padding short clips (`--short_clips=pad_last`) moves FVD.

FVD (Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", 2018) needs clips of at least 9 frames for the
rgb_scratch I3D (Carreira & Zisserman, CVPR 2017). On the clips of
`fvd_benchmark.py --variants` (16-frame clips of the public sample videos,
sets A and B of alternate clips, and A degraded by blur and noise), this
script keeps the first 9, 8 and 7 frames of every clip, pads the shorter
ones with `short_clips.pad_last` to 9, and prints FVD (reference protocol)
of A vs B and A vs A degraded for each, beside the 9 true frames.

Usage:
  python benchmarks/fvd_short_clips_benchmark.py
"""

import os

from absl import app
from absl import flags
from absl import logging

import numpy as np

# pylint: disable=protected-access
import fvd_benchmark  # The benchmarks' folder is on sys.path as a script.
from kinetics_i3d.metrics import fvd
from kinetics_i3d.metrics import short_clips

_LENGTHS = flags.DEFINE_list('lengths', ['9', '8', '7'],
                             'Frames kept from the start of each clip.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  print(f'Load average before: {os.getloadavg()[0]:.2f}')
  clips = [clip for _, clip in fvd_benchmark._sample_clips(
      16, fvd_benchmark._CLIPS_PER_VIDEO.value)]
  rng = np.random.default_rng(0)
  sets = {'A': clips[0::2], 'B': clips[1::2]}
  sets['A degraded'] = [fvd_benchmark._degrade(c, rng) for c in sets['A']]
  embedder = fvd.Embedder('reference', batch_size=4)
  print('| frames kept | network sees | A vs B | change | A vs A degraded '
        '| change |')
  print('| ---: | --- | ---: | ---: | ---: | ---: |')
  base = None
  for length in (int(n) for n in _LENGTHS.value):
    embeddings = {
        name: embedder.embed([short_clips.pad_last(c[:length])
                              for c in videos])
        for name, videos in sets.items()}
    row = (fvd.frechet_video_distance(embeddings['A'], embeddings['B']),
           fvd.frechet_video_distance(embeddings['A'],
                                      embeddings['A degraded']))
    base = base or row
    seen = (f'{length} frames' if length >= short_clips.min_num_frames()
            else f'{length} + {short_clips.min_num_frames() - length} '
            'repeated')
    print(f'| {length} | {seen} | {row[0]:.2f} | '
          f'{100 * (row[0] / base[0] - 1):+.1f}% | {row[1]:.2f} | '
          f'{100 * (row[1] / base[1] - 1):+.1f}% |', flush=True)
  print(f'Load average after: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
  app.run(main)
