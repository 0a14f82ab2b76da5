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
"""Batch sizes for FVD's embedding, sized to the accelerator's memory.

FVD (Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", arXiv:1812.01717, 2018) embeds thousands of clips with
I3D (Carreira & Zisserman, CVPR 2017). The values do not depend on the batch
size (batch norm runs in inference mode): on a GPU the batch is the largest
that fits, to keep it busy; on a CPU it is the reference's.

The largest activation of the inference pass is the first convolution's
output, 64 channels at half the frames and 112x112; with the input, the
next layers' outputs and TensorFlow's workspace, a clip needs about
`BYTES_PER_FRAME` per frame (a bound with margin, not a measurement). The
batch takes `MEMORY_FRACTION` of the memory free when the run starts.
"""

import subprocess
from typing import Optional

import tensorflow as tf

from kinetics_i3d.metrics.fvd import embedder

# Bytes one 224x224 frame of one clip occupies during the forward pass: the
# float32 input (0.6 MB), Conv3d_1a_7x7's output (64 x 112 x 112 floats per
# 2 frames: 1.6 MB), and a margin of 5x for the layers held at once and the
# convolution workspace.
BYTES_PER_FRAME = 8 * 2**20
MEMORY_FRACTION = 0.5
MAX_BATCH_SIZE = 256
CPU_BATCH_SIZE = embedder.DEFAULT_BATCH_SIZE


def batch_size_for_memory(num_frames: int, free_bytes: int) -> int:
  """The batch of `num_frames`-frame clips that fits `free_bytes`.

  Args:
    num_frames: Frames per clip (>= 1).
    free_bytes: Accelerator memory free for the run.

  Returns:
    A batch size in [1, MAX_BATCH_SIZE].
  """
  per_clip = BYTES_PER_FRAME * max(1, int(num_frames))
  fitting = int(free_bytes * MEMORY_FRACTION) // per_clip
  return max(1, min(MAX_BATCH_SIZE, fitting))


def parse_nvidia_smi_free(output: str) -> Optional[int]:
  """Free bytes of the first GPU from `nvidia-smi --query-gpu=memory.free
  --format=csv,noheader,nounits` output (MiB per line); None if unparsable."""
  lines = output.strip().splitlines()
  try:
    return int(float(lines[0].strip())) * 2**20
  except (IndexError, ValueError):
    return None


def free_gpu_memory() -> Optional[int]:
  """Free bytes on the first GPU TensorFlow sees; None without one (or when
  `nvidia-smi` cannot tell)."""
  if not tf.config.list_physical_devices('GPU'):
    return None
  try:
    result = subprocess.run(
        ['nvidia-smi', '--query-gpu=memory.free',
         '--format=csv,noheader,nounits'],
        capture_output=True, text=True, timeout=30, check=True)
  except (OSError, subprocess.SubprocessError):
    return None
  return parse_nvidia_smi_free(result.stdout)


def default_batch_size(num_frames: int) -> int:
  """Sized to the GPU's free memory, else the reference's batch size."""
  free = free_gpu_memory()
  if free is None:
    return CPU_BATCH_SIZE
  return batch_size_for_memory(num_frames, free)
