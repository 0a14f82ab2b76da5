"""What the I3D network and its 2D Inception-v1 share as Sonnet modules.

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750, inflate
Inception-v1 to 3D; `i3d.InceptionI3d` and `training/inception_v1`'s 2D
network validate their constructor arguments alike, and both show their own
`__call__` in `help()`.
"""

import inspect
from typing import NamedTuple, Tuple

import numpy as np
import sonnet as snt


class InceptionNetwork(snt.Module):
  """Constructor checks and properties shared by I3D and its 2D Inception-v1.

  Subclasses set `VALID_ENDPOINTS` and build their modules after calling
  `super().__init__`, which validates the arguments and leaves the endpoints
  to build in `self._endpoints`.
  """

  VALID_ENDPOINTS: Tuple[str, ...]
  LAYERS: Tuple[NamedTuple, ...] = ()

  def __init__(self, num_classes: int, spatial_squeeze: bool,
               final_endpoint: str, name: str):
    if final_endpoint not in self.VALID_ENDPOINTS:
      raise ValueError(f'Unknown final endpoint {final_endpoint!r}; expected '
                       f'one of {self.VALID_ENDPOINTS}.')
    if (not isinstance(num_classes, (int, np.integer)) or
        isinstance(num_classes, bool) or num_classes < 1):
      raise ValueError(
          f'num_classes must be a positive integer, got {num_classes!r}.')
    super().__init__(name=name)
    self._num_classes = int(num_classes)
    self._spatial_squeeze = spatial_squeeze
    self._final_endpoint = final_endpoint
    stop = self.VALID_ENDPOINTS.index(final_endpoint) + 1
    self._endpoints = self.VALID_ENDPOINTS[:stop]
    self._layers = self.LAYERS[:stop]

  @property
  def num_classes(self) -> int:
    return self._num_classes

  @property
  def final_endpoint(self) -> str:
    return self._final_endpoint

  @property
  def spatial_squeeze(self) -> bool:
    return self._spatial_squeeze


def show_call_signature(module_class: type) -> None:
  """Makes `help()` show a Sonnet module's own `__call__` signature and doc.

  Sonnet wraps every method in a name-scope decorator whose signature is
  `(*args, **kwargs)` and whose doc is a comment of Sonnet's; the wrapped
  function is in the decorator's closure.

  Args:
    module_class: A Sonnet module class that defines `__call__`.
  """
  wrapper = module_class.__dict__['__call__']
  for cell in wrapper.__closure__ or ():
    original = cell.cell_contents
    if getattr(original, '__qualname__', '') == (
        f'{module_class.__qualname__}.__call__'):
      wrapper.__doc__ = original.__doc__
      wrapper.__signature__ = inspect.signature(original)
      wrapper.__wrapped__ = original
      wrapper.__name__ = original.__name__
      wrapper.__qualname__ = original.__qualname__
      return
