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
"""Writes tensors as a TF1 checkpoint, exactly as a TF1 `Saver` would.

DeepMind's I3D checkpoints (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017) are TF1 V2
bundles. Writing converted or inflated weights the same way (one `SaveV2`
op, tensors in sorted name order, no object graph) makes files that every
loader of the original layout reads, and for rgb_scratch an index
byte-identical to DeepMind's.
"""

import os
import shutil
import tempfile
from typing import Mapping, Optional

from absl import logging
import numpy as np
import tensorflow as tf

from kinetics_i3d.utils import atomic_files


class IndexMismatchError(RuntimeError):
  """The written index is not the expected file; nothing was published."""


DATA_SUFFIX = '.data-00000-of-00001'
INDEX_SUFFIX = '.index'


def write_tf1_checkpoint(
    tensors: Mapping[str, np.ndarray],
    prefix: str,
    *,
    overwrite: bool = False,
    expected_index_sha256: Optional[str] = None,
    write_state_file: bool = True,
) -> str:
  """Writes tensors as a TF1 (V2 bundle) checkpoint, atomically.

  The bundle is written the way a non-sharded TF1 `tf.compat.v1.train.Saver`
  writes it (one `SaveV2` op, tensors in sorted name order, no object graph),
  first under a temporary prefix in the same folder; then the data file and
  last the index are renamed into place, so an existing `<prefix>.index`
  implies a complete checkpoint.

  Args:
    tensors: variable name -> array (any shape and dtype TF supports).
    prefix: checkpoint prefix, e.g. 'data/checkpoints/rgb_scratch/model.ckpt'.
      Writes `<prefix>.index` and `<prefix>.data-00000-of-00001`.
    overwrite: replace an existing checkpoint at `prefix`.
    expected_index_sha256: if given, the written index must have this sha256,
      else nothing is published and `IndexMismatchError` is raised.
    write_state_file: also write the `checkpoint` state file beside it, as
      `Saver.save` does, so that `tf.train.latest_checkpoint(folder)` finds it.

  Returns:
    `prefix`.

  Raises:
    FileExistsError: if a checkpoint exists at `prefix` and not `overwrite`.
    IndexMismatchError: if the index does not have `expected_index_sha256`.
    ValueError: if `tensors` is empty.
  """
  if not tensors:
    raise ValueError(f'No tensors to write to checkpoint {prefix}.')
  final_data, final_index = prefix + DATA_SUFFIX, prefix + INDEX_SUFFIX
  if not overwrite:
    _refuse_existing(final_index, final_data)
  folder = os.path.dirname(os.path.abspath(prefix))
  if not os.path.isdir(folder):
    logging.info('Creating folder %s for %s.', folder, os.path.basename(prefix))
    os.makedirs(folder, exist_ok=True)
  tmp_dir = tempfile.mkdtemp(prefix='.ckpt-', dir=folder)
  try:
    tmp_prefix = os.path.join(tmp_dir, os.path.basename(prefix))
    _save_v2(tensors, tmp_prefix)
    if expected_index_sha256 is not None:
      _check_index(tmp_prefix + INDEX_SUFFIX, final_index,
                   expected_index_sha256)
    _publish(tmp_prefix, final_data, final_index)
  finally:
    shutil.rmtree(tmp_dir, ignore_errors=True)
  if write_state_file:
    base = os.path.basename(prefix)
    atomic_files.write_bytes(
        os.path.join(folder, 'checkpoint'),
        (f'model_checkpoint_path: "{base}"\n'
         f'all_model_checkpoint_paths: "{base}"\n').encode())
  return prefix


def _refuse_existing(*paths: str) -> None:
  for path in paths:
    if os.path.exists(path):
      raise FileExistsError(
          f'{path} exists; pass overwrite=True (or delete it) to replace it.')


def _save_v2(tensors: Mapping[str, np.ndarray], prefix: str) -> None:
  """One `SaveV2` op of every tensor, in sorted name order, as TF1 did."""
  names = sorted(tensors)
  tf.raw_ops.SaveV2(
      prefix=prefix,
      tensor_names=names,
      shape_and_slices=[''] * len(names),
      tensors=[tf.convert_to_tensor(tensors[n]) for n in names])


def _check_index(written: str, final_index: str, expected_sha256: str) -> None:
  actual = atomic_files.sha256_file(written)
  if actual != expected_sha256:
    raise IndexMismatchError(
        f'The written {os.path.basename(final_index)} has sha256 '
        f'{actual}, expected {expected_sha256}; nothing was '
        'written. The conversion or TensorFlow\'s writer changed; please '
        'report this.')


def _publish(tmp_prefix: str, final_data: str, final_index: str) -> None:
  """Renames the data file, then the index, into place."""
  # An index without its data must never be visible: drop the old index
  # first, publish the data, then the index.
  atomic_files.remove_quietly(final_index)
  os.replace(tmp_prefix + DATA_SUFFIX, final_data)
  try:
    os.replace(tmp_prefix + INDEX_SUFFIX, final_index)
  except BaseException:
    atomic_files.remove_quietly(final_data)
    raise
