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
r"""Frechet Video Distance (FVD) on DeepMind's rgb_scratch I3D, in TF2.

  Thomas Unterthiner, Sjoerd van Steenkiste, Karol Kurach, Raphael Marinier,
  Marcin Michalski, Sylvain Gelly. "Towards Accurate Generative Models of
  Video: A New Metric & Challenges." arXiv:1812.01717, 2018.

The embedding network is I3D (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017). One module
per step, in the order a comparison runs:

  protocols      the reference protocol and its named variants
  preprocessing  pixel values checked, frames resized and scaled
  embedder       time-averaged rgb_scratch logits, in batches
  stats          a set's Gaussian (`Statistics`) and its `.npz` file
  distance       the Frechet distance of two `Statistics`
  sampling       which frames of a video form its clip (`ClipSampling`)
  video_sets     sets of videos on disk (`open_set`, `VideoSet`)
  cache          the resumable cache of a set's embeddings
  set_embedding  a whole set embedded in batches (`embed_set`)
  planning       two sets checked before the model loads (`plan_comparison`)
  comparison     the planned comparison run (`run_comparison`)

This package re-exports what the `i3d-fvd` tool and the benchmarks use.

Library:

  embedder = fvd.Embedder(protocol='reference')
  real = embedder.embed(real_videos, value_range=255)   # [N, 400] float32
  fake = embedder.embed(fake_videos, value_range=255)
  stats = fvd.Statistics.from_embeddings(real, 'reference', num_frames=16)
  stats.save('real_stats.npz')
  value = fvd.frechet_video_distance(stats, fake, 'reference')
"""

from kinetics_i3d.metrics.fvd.cache import default_cache_dir
from kinetics_i3d.metrics.fvd.comparison import comparison_line
from kinetics_i3d.metrics.fvd.comparison import run_comparison
from kinetics_i3d.metrics.fvd.distance import frechet_video_distance
from kinetics_i3d.metrics.fvd.embedder import EMBEDDING_SIZE
from kinetics_i3d.metrics.fvd.embedder import Embedder
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.planning import check_output_path
from kinetics_i3d.metrics.fvd.planning import plan_comparison
from kinetics_i3d.metrics.fvd.planning import SetPlan
from kinetics_i3d.metrics.fvd.protocols import get_protocol
from kinetics_i3d.metrics.fvd.protocols import Protocol
from kinetics_i3d.metrics.fvd.protocols import PROTOCOLS
from kinetics_i3d.metrics.fvd.sampling import CLIP_STARTS
from kinetics_i3d.metrics.fvd.sampling import ClipSampling
from kinetics_i3d.metrics.fvd.set_embedding import embed_set
from kinetics_i3d.metrics.fvd.stats import Statistics
from kinetics_i3d.metrics.fvd.video_sets import iter_stored_frames
from kinetics_i3d.metrics.fvd.video_sets import open_set

__all__ = [
    'CLIP_STARTS', 'ClipSampling', 'EMBEDDING_SIZE', 'Embedder', 'FVDError',
    'PROTOCOLS', 'Protocol', 'SetPlan', 'Statistics', 'check_output_path',
    'comparison_line', 'default_cache_dir', 'embed_set',
    'frechet_video_distance', 'get_protocol', 'iter_stored_frames',
    'open_set', 'plan_comparison', 'run_comparison',
]
