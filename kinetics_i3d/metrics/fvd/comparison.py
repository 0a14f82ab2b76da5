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
"""Running a planned FVD comparison: embed, compare, save, state how.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) of the two sets that
`planning.plan_comparison` checked: each set's I3D embeddings (Carreira &
Zisserman, CVPR 2017), or its saved statistics, their Frechet distance, the
statistics files asked for, and the line that states how the number was made.
"""

from typing import Dict, Optional, Sequence, Tuple, Union

from absl import logging

from kinetics_i3d.metrics import provenance
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.distance import frechet_distance
from kinetics_i3d.metrics.fvd.embedder import Embedder
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.planning import set_provenance
from kinetics_i3d.metrics.fvd.planning import SetPlan
from kinetics_i3d.metrics.fvd.set_embedding import embed_set
from kinetics_i3d.metrics.fvd.stats import Statistics


def comparison_line(stats: Dict[str, Statistics]) -> str:
  """The line that states everything behind an FVD of `stats`.

  Args:
    stats: {'real': Statistics, 'generated': Statistics}, with provenance.

  Returns:
    `provenance.comparison_line` of their records.
  """
  return provenance.comparison_line(stats['real'].provenance,
                                    stats['generated'].provenance)


def run_comparison(plans: Sequence[SetPlan],
                   protocol: Union[str, protocols.Protocol] = 'reference',
                   embedder: Optional[Embedder] = None,
                   cache_dir: Optional[str] = None,
                   overwrite: bool = False,
                   progress: bool = True,
                   max_videos: Optional[int] = None
                  ) -> Tuple[float, Dict[str, Statistics]]:
  """Embeds what `plan_comparison` planned and returns (FVD, statistics).

  Statistics files are written only once the distance is computed, so a
  failure leaves none behind.

  Args:
    plans: From `plan_comparison`.
    protocol: The protocol the plans were made with.
    embedder: An `Embedder` of `protocol` (it loads the model only if a set
      needs embedding); None: `Embedder(protocol)`.
    cache_dir: Partial-embedding cache (see `embed_set`); None: none.
    overwrite: Replace existing statistics files.
    progress: Progress bars on stderr.
    max_videos: The cap on videos per set that applied, for the provenance
      record (None: the protocol's).

  Returns:
    (the FVD, {'real': Statistics, 'generated': Statistics}); each
    statistics computed here carries its embeddings and provenance.

  Raises:
    FVDError: For an embedder of another protocol, or as `embed_set`.
  """
  protocol = protocols.get_protocol(protocol)
  if embedder is not None and embedder.protocol != protocol:
    raise FVDError(f'the embedder is of protocol {embedder.protocol.name!r}, '
                   f'the comparison of {protocol.name!r}.')
  if max_videos is None:
    max_videos = protocol.max_videos
  stats = {}
  for plan in plans:
    logging.info('%s.', plan.describe())
    if isinstance(plan.source, Statistics):
      stats[plan.role] = plan.source
      continue
    if embedder is None:
      embedder = Embedder(protocol)
    embeddings = embed_set(plan.source, embedder, plan.sampling, cache_dir,
                           plan.role, progress, num_frames=plan.num_frames)
    stats[plan.role] = Statistics.from_embeddings(
        embeddings, protocol, plan.num_frames, plan.flag)
    stats[plan.role].provenance = set_provenance(
        plan, protocol, len(embeddings), max_videos)
  value = frechet_distance(stats['real'], stats['generated'], protocol)
  for plan in plans:
    if plan.save_path:
      stats[plan.role].save(plan.save_path, overwrite=overwrite)
      logging.info('Wrote the %s statistics to %s.', plan.role,
                   plan.save_path)
  return value, stats
