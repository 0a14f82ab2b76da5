"""2D Inception-v1 (GoogLeNet with BatchNorm) as a Sonnet 2 module.

The image network that I3D is bootstrapped from:

  Christian Szegedy et al. "Going Deeper with Convolutions." CVPR 2015.
  https://arxiv.org/abs/1409.4842
  (with BatchNorm after every convolution, as used by)
  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

It is I3D with the time axis dropped, so its architecture is read from the
tables of `i3d.py` (channels, the spatial part of every kernel, stride and
pool window) rather than written out again; only the names differ, in the
style of TF-Slim's `InceptionV1` ('Conv2d_1a_7x7', 'MaxPool_2a_3x3', ...).
`I3D_ENDPOINTS` and `I3D_UNIT_NAMES` pair every 2D endpoint and unit with the
I3D one it becomes when inflated (see `inflate.py`).

Numerics match `i3d.py`: TensorFlow `SAME` padding, BatchNorm with a learned
offset and no scale (epsilon 1e-3, decay 0.999), and a logits head of a 7x7
VALID average pool, dropout given as a keep probability and a 1x1
convolution with bias.

Weights travel as `{name: array}` dicts (`inception_v1_weights.py`) with
names relative to the network, e.g.
'Mixed_4b/Branch_1/Conv2d_0b_3x3/conv_2d/w' [3, 3, 96, 208],
'.../batch_norm/beta', '.../batch_norm/moving_mean',
'.../batch_norm/moving_variance' (all [C]), and
'Logits/Conv2d_0c_1x1/conv_2d/w' and '.../conv_2d/b'. TF-Slim's
`InceptionV1` checkpoints (the public ImageNet weights) map onto these names
one to one, see `slim_inception_v1`.
"""

from typing import Any, Dict, Iterator, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

import i3d

_STEM_CONVS_3D = i3d.STEM_CONVS
_MAX_POOLS_3D = i3d.MAX_POOLS
_MIXED_BLOCKS_3D = i3d.MIXED_BLOCKS

# Every 2D endpoint, in the order the network computes them, and the I3D
# endpoint it is inflated into.
I3D_ENDPOINTS = {
    'Conv2d_1a_7x7': 'Conv3d_1a_7x7',
    'MaxPool_2a_3x3': 'MaxPool3d_2a_3x3',
    'Conv2d_2b_1x1': 'Conv3d_2b_1x1',
    'Conv2d_2c_3x3': 'Conv3d_2c_3x3',
    'MaxPool_3a_3x3': 'MaxPool3d_3a_3x3',
    'Mixed_3b': 'Mixed_3b',
    'Mixed_3c': 'Mixed_3c',
    'MaxPool_4a_3x3': 'MaxPool3d_4a_3x3',
    'Mixed_4b': 'Mixed_4b',
    'Mixed_4c': 'Mixed_4c',
    'Mixed_4d': 'Mixed_4d',
    'Mixed_4e': 'Mixed_4e',
    'Mixed_4f': 'Mixed_4f',
    'MaxPool_5a_2x2': 'MaxPool3d_5a_2x2',
    'Mixed_5b': 'Mixed_5b',
    'Mixed_5c': 'Mixed_5c',
    'Logits': 'Logits',
    'Predictions': 'Predictions',
}
VALID_ENDPOINTS = tuple(I3D_ENDPOINTS)

# The six convolutions of an Inception block: (2D unit name, I3D unit name,
# kernel size k). The I3D unit is k x k x k: the paper inflates every square
# filter into a cube.
_BLOCK_UNITS = (
    ('Branch_0/Conv2d_0a_1x1', 'Branch_0/Conv3d_0a_1x1', 1),
    ('Branch_1/Conv2d_0a_1x1', 'Branch_1/Conv3d_0a_1x1', 1),
    ('Branch_1/Conv2d_0b_3x3', 'Branch_1/Conv3d_0b_3x3', 3),
    ('Branch_2/Conv2d_0a_1x1', 'Branch_2/Conv3d_0a_1x1', 1),
    ('Branch_2/Conv2d_0b_3x3', 'Branch_2/Conv3d_0b_3x3', 3),
    ('Branch_3/Conv2d_0b_1x1', 'Branch_3/Conv3d_0b_1x1', 1),
)
LOGITS_UNIT = 'Logits/Conv2d_0c_1x1'
I3D_LOGITS_UNIT = 'Logits/Conv3d_0c_1x1'

# Logits head: VALID average pool over the 7x7 map (I3D's without time).
LOGITS_POOL_WINDOW = tuple(i3d.LOGITS_POOL_WINDOW[1:])

def checked_tensor(value: Any, label: str, shape: Tuple[int, ...],
                   remedy: str) -> np.ndarray:
  """`value` as an array, refused unless it is finite float of `shape`.

  Args:
    value: A tensor read from the user's weights.
    label: How messages name it, e.g. "2D tensor 'Conv2d_1a_7x7/conv_2d/w'".
    shape: The shape it must have.
    remedy: What a corrupt tensor should make the user do.

  Returns:
    The array.

  Raises:
    ValueError: For a wrong shape, a non-float dtype or NaN/Inf values.
  """
  value = np.asarray(value)
  if tuple(value.shape) != tuple(shape):
    raise ValueError(f'{label} has shape {tuple(value.shape)}; expected '
                     f'{tuple(shape)}.')
  if not np.issubdtype(value.dtype, np.floating):
    raise ValueError(f'{label} has dtype {value.dtype}; expected floating '
                     'point.')
  bad = value.size - np.count_nonzero(np.isfinite(value))
  if bad:
    raise ValueError(f'{label} holds {bad} non-finite value(s) (NaN or '
                     f'Inf); {remedy}')
  return value


def _block_units(block: str) -> Iterator[Tuple[str, str, int]]:
  """(2D unit name, I3D unit name, k) of a block's six convolutions."""
  # Slim's InceptionV1, where I3D's naming quirk comes from, names Branch_2's
  # 3x3 convolution as I3D does (i3d.branch_2_conv_name), in 2D.
  quirk_3d = 'Branch_2/' + i3d.branch_2_conv_name(block)
  for name_2d, name_3d, k in _BLOCK_UNITS:
    if name_3d == 'Branch_2/Conv3d_0b_3x3':
      name_2d, name_3d = quirk_3d.replace('Conv3d', 'Conv2d'), quirk_3d
    yield name_2d, name_3d, k


def _i3d_unit_names() -> Dict[str, str]:
  """2D unit path -> I3D unit path, for every convolution, in network order."""
  names = {}
  for endpoint_2d, endpoint_3d in I3D_ENDPOINTS.items():
    if endpoint_3d in _STEM_CONVS_3D:
      names[endpoint_2d] = endpoint_3d
    elif endpoint_3d in _MIXED_BLOCKS_3D:
      for unit_2d, unit_3d, _ in _block_units(endpoint_3d):
        names[f'{endpoint_2d}/{unit_2d}'] = f'{endpoint_3d}/{unit_3d}'
  names[LOGITS_UNIT] = I3D_LOGITS_UNIT
  return names


# Every convolution unit's path in the 2D network (its checkpoint scope) and
# the I3D unit it is inflated into.
I3D_UNIT_NAMES = _i3d_unit_names()


def variable_shapes(num_classes: int,
                    input_channels: int = 3) -> Dict[str, Tuple[int, ...]]:
  """Shapes of every named tensor of the network, in network order.

  Computed from the architecture tables alone (no module is built), so that
  weights from elsewhere can be checked before they are used.

  Args:
    num_classes: Output classes of the logits.
    input_channels: Channels of the input images (3 for RGB).

  Returns:
    {tensor name (see the module docstring): shape}.
  """
  shapes = {}

  def add_unit(path, k, cin, cout):
    shapes[f'{path}/conv_2d/w'] = (k, k, cin, cout)
    for stat in ('beta', 'moving_mean', 'moving_variance'):
      shapes[f'{path}/batch_norm/{stat}'] = (cout,)

  channels = input_channels
  for endpoint_2d, endpoint_3d in I3D_ENDPOINTS.items():
    if endpoint_3d in _STEM_CONVS_3D:
      cout, kernel, _ = _STEM_CONVS_3D[endpoint_3d]
      add_unit(endpoint_2d, kernel[1], channels, cout)
      channels = cout
    elif endpoint_3d in _MIXED_BLOCKS_3D:
      b0, b1a, b1b, b2a, b2b, b3 = _MIXED_BLOCKS_3D[endpoint_3d]
      units = list(_block_units(endpoint_3d))
      inputs = (channels, channels, b1a, channels, b2a, channels)
      for (unit_2d, _, k), cin, cout in zip(units, inputs,
                                           (b0, b1a, b1b, b2a, b2b, b3)):
        add_unit(f'{endpoint_2d}/{unit_2d}', k, cin, cout)
      channels = b0 + b1b + b2b + b3
  shapes[f'{LOGITS_UNIT}/conv_2d/w'] = (1, 1, channels, num_classes)
  shapes[f'{LOGITS_UNIT}/conv_2d/b'] = (num_classes,)
  return shapes


class Unit2D(i3d.ConvUnit):
  """A 2D convolution over [H, W], optionally BatchNorm and activation."""

  NUM_SPATIAL_DIMS = 2
  CONV_ATTRIBUTE = 'conv_2d'


class InceptionBlock2D(i3d.InceptionBranches):
  """The Inception-v1 block: four branches concatenated on channels."""

  def __init__(self, channels: Sequence[int], name: str = 'Mixed_3b'):
    """Initializes the block.

    Args:
      channels: Output channels of the six units, in the order of `i3d.py`'s
        `MIXED_BLOCKS` rows.
      name: Module name, one of the 'Mixed_*' endpoints (it also selects the
        unit names, see `I3D_UNIT_NAMES`).
    """
    super().__init__(name=name)
    units = []
    for (unit_name, _, k), cout in zip(_block_units(name), channels):
      branch, unit = unit_name.split('/')
      with tf.name_scope(branch):
        units.append(Unit2D(cout, kernel_shape=(k, k), name=unit))
    self.branch_0 = units[0:1]
    self.branch_1 = units[1:3]
    self.branch_2 = units[3:5]
    # Branch_3 starts with a parameter-free 3x3 max pool ('MaxPool_0a_3x3').
    self.branch_3 = units[5:6]


def validate_inputs(inputs: Union[tf.Tensor, np.ndarray],
                    final_endpoint: str = 'Logits',
                    spatial_squeeze: bool = True,
                    name: str = 'inputs') -> None:
  """Checks that images can go through the network up to `final_endpoint`.

  Args:
    inputs: Images [B, H, W, C] with values in [-1, 1].
    final_endpoint: The endpoint the network stops at.
    spatial_squeeze: Whether the logits are squeezed spatially (needs the
      pooled feature map to be exactly 7x7, e.g. 224x224 images).
    name: How to call the input in error messages.

  Raises:
    ValueError: On a rank other than 4, a non-float dtype, or (for the head)
      images whose Mixed_5c map is not 7x7 (or smaller than 7x7 without the
      spatial squeeze).
  """
  shape = tuple(inputs.shape)
  if len(shape) != 4:
    raise ValueError(
        f'{name}: expected a rank-4 array [batch, height, width, channels], '
        f'got shape {shape}. For a video clip use i3d.InceptionI3d.')
  if not tf.as_dtype(inputs.dtype).is_floating:
    raise ValueError(
        f'{name}: expected floating point values in [-1, 1], got dtype '
        f'{tf.as_dtype(inputs.dtype).name}. Rescale uint8 images with '
        'x / 127.5 - 1.')
  if final_endpoint in ('Logits', 'Predictions'):
    height, width = shape[1:3]
    if height is not None and width is not None:
      _, pooled_h, pooled_w = i3d.feature_shape(1, height, width, 'Mixed_5c')
      too_small = (pooled_h < LOGITS_POOL_WINDOW[0] or
                   pooled_w < LOGITS_POOL_WINDOW[1])
      if too_small or (spatial_squeeze and
                       (pooled_h, pooled_w) != LOGITS_POOL_WINDOW):
        raise ValueError(
            f'{name}: the logits head needs 224x224 images (a 7x7 feature '
            f'map), got {height}x{width}. Resize them, or pass '
            'spatial_squeeze=False for larger images.')


class InceptionV1(i3d.InceptionNetwork):
  """Inception-v1 with BatchNorm for image classification.

  Calling the module on [B, H, W, C] images returns `(output, end_points)`:
  the output of `final_endpoint` and a dict with every endpoint's output up to
  and including it. 'Logits' are [B, num_classes], or [B, 1, 1, num_classes]
  without the spatial squeeze.
  """

  VALID_ENDPOINTS = VALID_ENDPOINTS

  def __init__(self,
               num_classes: int = 1000,
               spatial_squeeze: bool = True,
               final_endpoint: str = 'Logits',
               name: str = 'inception_v1'):
    """Initializes the network up to `final_endpoint`.

    Args:
      num_classes: Number of output classes (1000 for ImageNet).
      spatial_squeeze: Whether to squeeze the spatial axes of the logits.
      final_endpoint: The last endpoint to build; one of `VALID_ENDPOINTS`.
      name: Module name.

    Raises:
      ValueError: If `final_endpoint` is not a valid endpoint or `num_classes`
        is not a positive integer.
    """
    super().__init__(num_classes, spatial_squeeze, final_endpoint, name)

    # Attribute names are the endpoints, as in i3d.py: the attribute path is
    # the TF2 checkpoint key.
    with self.name_scope:
      for endpoint in self._endpoints:
        endpoint_3d = I3D_ENDPOINTS[endpoint]
        if endpoint_3d in _STEM_CONVS_3D:
          channels, kernel, stride = _STEM_CONVS_3D[endpoint_3d]
          setattr(self, endpoint,
                  Unit2D(channels, kernel[1:], stride[1:], name=endpoint))
        elif endpoint_3d in _MIXED_BLOCKS_3D:
          setattr(self, endpoint,
                  InceptionBlock2D(_MIXED_BLOCKS_3D[endpoint_3d],
                                   name=endpoint))
        elif endpoint == 'Logits':
          scope, unit = LOGITS_UNIT.split('/')
          with tf.name_scope(scope):
            self.Logits = Unit2D(
                self._num_classes,
                activation_fn=None,
                use_batch_norm=False,
                use_bias=True,
                name=unit)

  def units(self) -> Iterator[Tuple[str, Unit2D]]:
    """Yields (unit path, e.g. 'Mixed_3b/Branch_1/Conv2d_0b_3x3', unit)."""
    for endpoint in self._endpoints:
      module = getattr(self, endpoint, None)
      if isinstance(module, Unit2D):
        path = LOGITS_UNIT if endpoint == 'Logits' else endpoint
        yield path, module
      elif isinstance(module, InceptionBlock2D):
        units = [u for branch in module.branches for u in branch]
        for (unit_name, _, _), unit in zip(_block_units(endpoint), units):
          yield f'{endpoint}/{unit_name}', unit

  def __call__(
      self,
      inputs: tf.Tensor,
      is_training: bool,
      dropout_keep_prob: float = 1.0,
  ) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
    """Runs the network up to `final_endpoint`.

    Args:
      inputs: Float images [B, H, W, C] in [-1, 1]. The logits need 224x224
        images (with `spatial_squeeze`); features take any size.
      is_training: Whether BatchNorm uses (and updates) batch statistics;
        otherwise it uses its moving statistics.
      dropout_keep_prob: Probability of *keeping* an activation in the
        dropout before the logits; applied whenever it is below 1, as in
        `i3d.py`.

    Returns:
      `(output, end_points)`: the output of `final_endpoint` and a dict from
      each endpoint name up to it to its output tensor.

    Raises:
      ValueError: On inputs the network cannot take (see `validate_inputs`)
        or a keep probability outside (0, 1].
    """
    validate_inputs(inputs, self._final_endpoint, self._spatial_squeeze)
    i3d.check_dropout_keep_prob(dropout_keep_prob)
    end_points = {}
    net = inputs
    for endpoint in self._endpoints:
      endpoint_3d = I3D_ENDPOINTS[endpoint]
      if endpoint_3d in _MAX_POOLS_3D:
        window, stride = _MAX_POOLS_3D[endpoint_3d]
        net = i3d.max_pool_same(net, window[1:], stride[1:])
      elif endpoint == 'Logits':
        net = self._logits(net, is_training, dropout_keep_prob)
      elif endpoint == 'Predictions':
        net = tf.nn.softmax(net)
      else:
        net = getattr(self, endpoint)(net, is_training=is_training)
      end_points[endpoint] = net
    return net, end_points

  def _logits(self, net: tf.Tensor, is_training: bool,
              dropout_keep_prob: float) -> tf.Tensor:
    net = tf.nn.avg_pool2d(
        net,
        ksize=[1, *LOGITS_POOL_WINDOW, 1],
        strides=[1, 1, 1, 1],
        padding='VALID')
    net = i3d.dropout(net, dropout_keep_prob)
    logits = self.Logits(net, is_training=is_training)
    if self._spatial_squeeze:
      logits = tf.squeeze(logits, axis=[1, 2])
    return logits
