"""The weights of the 2D Inception-v1 as `{name: array}` dicts.

  Christian Szegedy et al. "Going Deeper with Convolutions." CVPR 2015.
  https://arxiv.org/abs/1409.4842
  (with BatchNorm, the image network that I3D is inflated from in)
  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Names are relative to the network (see `inception_v1`), e.g.
'Mixed_4b/Branch_1/Conv2d_0b_3x3/conv_2d/w', '.../batch_norm/beta',
'.../batch_norm/moving_mean', '.../batch_norm/moving_variance' (all [C]) and
'Logits/Conv2d_0c_1x1/conv_2d/w' and '.../conv_2d/b': the names that
`inflation.inflate_tensors` takes and `slim_inception_v1` maps TF-Slim's
checkpoints onto.
"""

from typing import Dict, Mapping, Union

import numpy as np
import sonnet as snt
import tensorflow as tf

from kinetics_i3d.training import inception_v1

# Sonnet's moving averages are debiased by 1 - decay**counter; assigned
# statistics get a counter at which that factor is exactly 1 in float32, so
# that training continues from them (the value `checkpoints.py` uses).
_EMA_COUNTER = 2**20


_Weight = Union[tf.Variable, snt.ExponentialMovingAverage]


def _unit_variables(unit: inception_v1.Unit2D) -> Dict[str, _Weight]:
  """Suffix ('conv_2d/w', 'batch_norm/beta', ...) -> variable of a unit.

  Moving statistics are given as their `snt.ExponentialMovingAverage`.
  """
  found = {'conv_2d/w': unit.conv_2d.w}
  if unit.conv_2d.with_bias:
    found['conv_2d/b'] = unit.conv_2d.b
  if unit.batch_norm is not None:
    found['batch_norm/beta'] = unit.batch_norm.offset
    if unit.batch_norm.moving_mean.average is None:
      raise AttributeError(f'{unit.name} has no moving statistics yet')
    found['batch_norm/moving_mean'] = unit.batch_norm.moving_mean
    found['batch_norm/moving_variance'] = unit.batch_norm.moving_variance
  return found


def _named_variables(model: inception_v1.InceptionV1) -> Dict[str, _Weight]:
  try:
    return {
        f'{path}/{suffix}': variable
        for path, unit in model.units()
        for suffix, variable in _unit_variables(unit).items()
    }
  except AttributeError as e:
    raise ValueError(
        'The model has no variables yet; call it once on a batch of images '
        f'before reading or assigning its weights ({e}).') from e


def named_tensors(model: inception_v1.InceptionV1) -> Dict[str, np.ndarray]:
  """The built model's weights by name (see the module docstring).

  Args:
    model: An `InceptionV1` that has been called once (so it has variables).

  Returns:
    {name: float array}; BatchNorm statistics as [C] vectors.

  Raises:
    ValueError: If the model has not been built.
  """
  tensors = {}
  for name, variable in _named_variables(model).items():
    if isinstance(variable, snt.ExponentialMovingAverage):
      variable = variable.average
    value = variable.numpy()
    if '/batch_norm/' in name:
      value = value.reshape([-1])
    tensors[name] = value
  return tensors


def assign_tensors(model: inception_v1.InceptionV1, tensors: Mapping[str,
                                                        np.ndarray]) -> None:
  """Sets every weight of a built model from `tensors`, checking names/shapes.

  Args:
    model: An `InceptionV1` that has been called once.
    tensors: {name: array} with exactly the model's names; BatchNorm
      statistics may be [C] or any shape with C elements.

  Raises:
    ValueError: If the model is not built, a name is missing or unexpected,
      or a shape does not match (the message names the tensor).
  """
  variables = _named_variables(model)
  missing = sorted(set(variables) - set(tensors))
  extra = sorted(set(tensors) - set(variables))
  if missing or extra:
    raise ValueError(f'Weights do not match the model: missing {missing}, '
                     f'unexpected {extra}.')
  values = {}
  for name, variable in variables.items():
    target = variable
    if isinstance(variable, snt.ExponentialMovingAverage):
      target = variable.average
    value = np.asarray(tensors[name])
    if '/batch_norm/' in name and value.size == target.shape.num_elements():
      value = value.reshape(target.shape)
    if tuple(value.shape) != tuple(target.shape):
      raise ValueError(f'{name}: shape {tuple(value.shape)} does not match the '
                       f'model\'s {tuple(target.shape)}.')
    values[name] = value.astype(target.dtype.as_numpy_dtype)
  # Only once everything fits.
  for name, variable in variables.items():
    if isinstance(variable, snt.ExponentialMovingAverage):
      variable.average.assign(values[name])
      variable._hidden.assign(values[name])  # pylint: disable=protected-access
      variable._counter.assign(_EMA_COUNTER)  # pylint: disable=protected-access
    else:
      variable.assign(values[name])
