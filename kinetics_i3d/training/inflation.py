"""The inflation of a 2D Inception-v1 into I3D, as a pure function.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Section 2.4 ("Inflating 2D ConvNets into 3D" / "Bootstrapping 3D filters from
2D filters"): every N x k x k filter of I3D starts as the k x k filter of the
image network repeated N times along time and divided by N. A "boring" video
(one image repeated) then gives, at every time step whose receptive field
does not reach past the clip, exactly the image network's activations.
I3D's filters are cubes (N = k: 7 for the stem, 3 for the 3x3 units, 1 for
the 1x1 units and the logits). BatchNorm offsets and moving statistics are
copied unchanged: on a boring video each BatchNorm sees what it saw on the
image.

`inflate_tensors` maps the weights of `inception_v1.InceptionV1` (named as in
that module) to I3D weights named as in DeepMind's original checkpoints
('RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w', '.../batch_norm/beta',
'.../moving_mean', '.../moving_variance', and the logits' 'conv_3d/w' and
'conv_3d/b'), so the checkpoint loader that reads DeepMind's checkpoints
reads the result too. Every row of `inflation_table` says which 2D tensor
becomes which I3D tensor, with both shapes; every 2D tensor is used exactly
once; non-finite values are refused. `fresh_logits` gives I3D a new head of
any number of classes, drawn as fine-tuning re-initialises logits.
"""

from typing import Dict, Mapping, NamedTuple, Tuple

import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import streams
from kinetics_i3d.training import inception_v1
from kinetics_i3d.weights import checkpoints

# Per unit: (2D tensor suffix, I3D tensor suffix, whether it is a kernel to
# inflate; everything else is copied).
_UNIT_TENSORS = (
    ('conv_2d/w', 'conv_3d/w', True),
    ('conv_2d/b', 'conv_3d/b', False),
    ('batch_norm/beta', 'batch_norm/beta', False),
    ('batch_norm/moving_mean', 'batch_norm/moving_mean', False),
    ('batch_norm/moving_variance', 'batch_norm/moving_variance', False),
)

STEM_WEIGHTS = 'Conv2d_1a_7x7/conv_2d/w'
LOGITS_WEIGHTS = inception_v1.LOGITS_UNIT + '/conv_2d/w'
LOGITS_BIAS = inception_v1.LOGITS_UNIT + '/conv_2d/b'


class InflationRow(NamedTuple):
  """How one 2D tensor becomes one I3D tensor.

  Attributes:
    name_2d: The 2D tensor's name, e.g. 'Mixed_3b/Branch_1/Conv2d_0b_3x3/
      conv_2d/w'.
    name_3d: The I3D tensor's name without the stream scope, e.g.
      'Mixed_3b/Branch_1/Conv3d_0b_3x3/conv_3d/w'.
    shape_2d: The 2D shape: [k, k, C_in, C_out] for kernels, [C] otherwise.
    shape_3d: The I3D shape: [N, k, k, C_in, C_out] for kernels, [C]
      otherwise.
    time: N, the kernel's temporal size (the 2D kernel is repeated N times and
      divided by N); 0 for tensors that are copied unchanged.
  """
  name_2d: str
  name_3d: str
  shape_2d: Tuple[int, ...]
  shape_3d: Tuple[int, ...]
  time: int


def inflation_table(num_classes: int,
                    input_channels: int = 3) -> Tuple[InflationRow, ...]:
  """Every 2D tensor of Inception-v1 and the I3D tensor it becomes.

  Args:
    num_classes: Classes of the 2D network's logits (kept by I3D's logits).
    input_channels: Input channels of the 2D network's first convolution.

  Returns:
    One row per tensor (230 of them), in network order.
  """
  shapes_2d = inception_v1.variable_shapes(num_classes, input_channels)
  rows = []
  for unit_2d, unit_3d in inception_v1.I3D_UNIT_NAMES.items():
    for suffix_2d, suffix_3d, is_kernel in _UNIT_TENSORS:
      name_2d = f'{unit_2d}/{suffix_2d}'
      if name_2d not in shapes_2d:
        continue  # Logits have no BatchNorm, other units no bias.
      shape_2d = shapes_2d[name_2d]
      time, shape_3d = 0, shape_2d
      if is_kernel:
        # I3D's filters are cubes: a k x k filter becomes k x k x k.
        time = shape_2d[0]
        shape_3d = (time,) + shape_2d
      rows.append(
          InflationRow(name_2d, f'{unit_3d}/{suffix_3d}', shape_2d, shape_3d,
                       time))
  unused = sorted(set(shapes_2d) - {row.name_2d for row in rows})
  if unused or len(rows) != len(shapes_2d):
    raise AssertionError(f'The inflation table misses 2D tensors: {unused}')
  return tuple(rows)


def _required_shape(tensors: Mapping[str, np.ndarray], name: str,
                    rank: int) -> Tuple[int, ...]:
  if name not in tensors:
    raise ValueError(f'Missing 2D tensor {name!r}; expected the weights of '
                     'inception_v1.InceptionV1 with its logits.')
  shape = tuple(np.shape(tensors[name]))
  if len(shape) != rank:
    raise ValueError(f'2D tensor {name!r} has shape {shape}; expected rank '
                     f'{rank}.')
  return shape


def inflate_kernel(kernel_2d: np.ndarray, time: int) -> np.ndarray:
  """Repeats a [k, k, C_in, C_out] kernel `time` times along a new time axis.

  Args:
    kernel_2d: A 2D convolution kernel [k, k, C_in, C_out].
    time: N, the temporal size of the 3D kernel (>= 1).

  Returns:
    [N, k, k, C_in, C_out], each time slice `kernel_2d / N`, so that on a
    constant-in-time input the 3D convolution equals the 2D one.
  """
  kernel_2d = np.asarray(kernel_2d)
  slice_ = kernel_2d / np.asarray(time, kernel_2d.dtype)
  return np.repeat(slice_[np.newaxis], time, axis=0)


def inflate_tensors(
    tensors_2d: Mapping[str, np.ndarray],
    scope: str = checkpoints.STREAM_SCOPES[streams.RGB]
) -> Dict[str, np.ndarray]:
  """Inflates Inception-v1 weights into I3D weights (a pure function).

  Args:
    tensors_2d: {name: array} with exactly the tensors of
      `inception_v1.InceptionV1` (see `inflation_table`; its input channels
      and classes are read from the first kernel and the logits' bias).
      BatchNorm statistics are [C] vectors; any floating dtype.
    scope: Prefix of every I3D name; 'RGB/inception_i3d/' or
      'Flow/inception_i3d/' as in DeepMind's checkpoints.

  Returns:
    {scope + I3D name: array} for every I3D tensor, dtypes kept.

  Raises:
    ValueError: If a tensor is missing, unexpected, misshaped, not floating
      point or not finite; the message names it.
  """
  input_channels = _required_shape(tensors_2d, STEM_WEIGHTS, 4)[2]
  num_classes = _required_shape(tensors_2d, LOGITS_BIAS, 1)[0]
  table = inflation_table(num_classes, input_channels)
  expected = {row.name_2d for row in table}
  missing = [row.name_2d for row in table if row.name_2d not in tensors_2d]
  extra = sorted(set(tensors_2d) - expected)
  if missing or extra:
    raise ValueError(
        f'The 2D tensors do not match Inception-v1: missing {missing}, '
        f'unexpected {extra}.')
  tensors_3d = {}
  for row in table:
    value = inception_v1.checked_tensor(
        tensors_2d[row.name_2d], f'2D tensor {row.name_2d!r}', row.shape_2d,
        'the 2D network is corrupt or diverged: use other weights.')
    if row.time:
      value = inflate_kernel(value, row.time)
    else:
      value = value.copy()
    assert value.shape == row.shape_3d, (row, value.shape)
    tensors_3d[scope + row.name_3d] = value
  return tensors_3d


def fresh_logits(num_classes: int) -> Dict[str, np.ndarray]:
  """A new logits head for `num_classes`, as 2D tensors of `InceptionV1`.

  The values are drawn by I3D's own logits unit (its convolution's default
  initializers), the way fine-tuning re-initialises logits, and stored
  without the time axis so that `inflate_tensors` gives them back unchanged.

  Args:
    num_classes: Classes of the new head (a positive integer).

  Returns:
    {'Logits/Conv2d_0c_1x1/conv_2d/w': [1, 1, 1024, num_classes],
     'Logits/Conv2d_0c_1x1/conv_2d/b': [num_classes]}, float32.

  Raises:
    ValueError: If `num_classes` is not a positive integer.
  """
  channels = inception_v1.variable_shapes(1)[LOGITS_WEIGHTS][2]
  model = i3d.InceptionI3d(num_classes=num_classes)
  model.Logits(tf.zeros([1, 1, 1, 1, channels]), is_training=False)
  return {
      LOGITS_WEIGHTS: model.Logits.conv_3d.w.numpy()[0],
      LOGITS_BIAS: model.Logits.conv_3d.b.numpy(),
  }
