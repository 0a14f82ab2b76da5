"""Inflated 3D ConvNet (I3D) as a Sonnet 2 module.

Implements the Inception-v1 based I3D network of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

The numerics follow DeepMind's released TF1 graph (kinetics-i3d), so that its
checkpoints load unchanged (see `checkpoints.py`) and give the same logits:

* convolutions and max pools use TensorFlow's `SAME` padding, which pads
  asymmetrically (more at the end) when a stride does not divide the input;
* every convolution except the logits is followed by BatchNorm with a learned
  offset and no scale, epsilon 1e-3, moving-average decay 0.999, and moving
  statistics when not training;
* the logits head is AvgPool 2x7x7 (VALID), dropout given as a *keep*
  probability, a 1x1x1 convolution with bias, a spatial squeeze and the mean
  over the remaining time steps.

Module and submodule names equal the original variable scopes
(`Conv3d_1a_7x7`, `Mixed_4b/Branch_1/Conv3d_0b_3x3`, ...), so the tables in
this file are also the checkpoint's naming scheme.
"""

import inspect
import math
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple, Union

# Before TensorFlow is imported (sonnet imports it): its fast CPU kernels.
from kinetics_i3d.utils import cpu_kernels  # pylint: disable=g-bad-import-order
cpu_kernels.enable_onednn()

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
from absl import logging
import numpy as np
import sonnet as snt
import tensorflow as tf

class Layer(NamedTuple):
  """One row of the architecture table.

  Attributes:
    name: The endpoint (and module / checkpoint scope) name.
    kind: 'conv' (a `Unit3D`), 'max_pool' (`SAME`), 'mixed' (an
      `InceptionBlock`), 'logits' (AvgPool VALID, dropout, 1x1x1 conv with
      bias, squeeze, mean over time) or 'predictions' (softmax).
    channels: A conv's output channels; a block's six unit widths
      (Branch_0 1x1, Branch_1 1x1, Branch_1 3x3, Branch_2 1x1, Branch_2 3x3,
      Branch_3 1x1 after its 3x3x3 max pool); None otherwise.
    kernel: [T, H, W] window: the conv's kernel, the pool's window, the
      logits' average pool, or for a block the reach of its 3x3x3 units.
    stride: [T, H, W] stride.
  """
  name: str
  kind: str
  channels: Union[None, int, Tuple[int, ...]]
  kernel: Tuple[int, int, int]
  stride: Tuple[int, int, int]


_ONE = (1, 1, 1)
_BLOCK = (3, 3, 3)

# The whole network, in the order it computes its endpoints. The first two
# max pools keep time intact, as in the paper.
LAYERS = (
    Layer('Conv3d_1a_7x7', 'conv', 64, (7, 7, 7), (2, 2, 2)),
    Layer('MaxPool3d_2a_3x3', 'max_pool', None, (1, 3, 3), (1, 2, 2)),
    Layer('Conv3d_2b_1x1', 'conv', 64, _ONE, _ONE),
    Layer('Conv3d_2c_3x3', 'conv', 192, (3, 3, 3), _ONE),
    Layer('MaxPool3d_3a_3x3', 'max_pool', None, (1, 3, 3), (1, 2, 2)),
    Layer('Mixed_3b', 'mixed', (64, 96, 128, 16, 32, 32), _BLOCK, _ONE),
    Layer('Mixed_3c', 'mixed', (128, 128, 192, 32, 96, 64), _BLOCK, _ONE),
    Layer('MaxPool3d_4a_3x3', 'max_pool', None, (3, 3, 3), (2, 2, 2)),
    Layer('Mixed_4b', 'mixed', (192, 96, 208, 16, 48, 64), _BLOCK, _ONE),
    Layer('Mixed_4c', 'mixed', (160, 112, 224, 24, 64, 64), _BLOCK, _ONE),
    Layer('Mixed_4d', 'mixed', (128, 128, 256, 24, 64, 64), _BLOCK, _ONE),
    Layer('Mixed_4e', 'mixed', (112, 144, 288, 32, 64, 64), _BLOCK, _ONE),
    Layer('Mixed_4f', 'mixed', (256, 160, 320, 32, 128, 128), _BLOCK, _ONE),
    Layer('MaxPool3d_5a_2x2', 'max_pool', None, (2, 2, 2), (2, 2, 2)),
    Layer('Mixed_5b', 'mixed', (256, 160, 320, 32, 128, 128), _BLOCK, _ONE),
    Layer('Mixed_5c', 'mixed', (384, 192, 384, 48, 128, 128), _BLOCK, _ONE),
    Layer('Logits', 'logits', None, (2, 7, 7), _ONE),
    Layer('Predictions', 'predictions', None, _ONE, _ONE),
)
LAYERS_BY_NAME: Dict[str, Layer] = {layer.name: layer for layer in LAYERS}

# The 18 endpoints, in the order the network computes them.
VALID_ENDPOINTS = tuple(layer.name for layer in LAYERS)


def endpoints_up_to(final_endpoint: str) -> Tuple[str, ...]:
  """The endpoints the network computes up to and including `final_endpoint`.

  Args:
    final_endpoint: One of `VALID_ENDPOINTS`.

  Returns:
    `VALID_ENDPOINTS` from the first through `final_endpoint`.

  Raises:
    ValueError: If `final_endpoint` is not an endpoint.
  """
  if final_endpoint not in LAYERS_BY_NAME:
    raise ValueError(f'Unknown final endpoint {final_endpoint!r}; choose one '
                     f'of {", ".join(VALID_ENDPOINTS)}.')
  return VALID_ENDPOINTS[:VALID_ENDPOINTS.index(final_endpoint) + 1]


# Endpoints before the head, whose activations are features.
FEATURE_ENDPOINTS = endpoints_up_to('Mixed_5c')
# The classes of the two Kinetics label sets the checkpoints were trained on.
KINETICS_400_CLASSES = 400
KINETICS_600_CLASSES = 600

# Views of the table by kind, for the code that builds or walks the network.
# Stem convolutions: endpoint -> (output channels, kernel, stride).
STEM_CONVS = {l.name: (l.channels, l.kernel, l.stride)
              for l in LAYERS if l.kind == 'conv'}
# Max pools: endpoint -> (window, stride).
MAX_POOLS = {l.name: (l.kernel, l.stride)
             for l in LAYERS if l.kind == 'max_pool'}
# Inception blocks: endpoint -> the six unit widths.
MIXED_BLOCKS = {l.name: l.channels for l in LAYERS if l.kind == 'mixed'}

# The released graph names Branch_2's 3x3x3 convolution of Mixed_5b
# 'Conv3d_0a_3x3' (every other block says 'Conv3d_0b_3x3'); the checkpoints
# carry that name, so the module does too.
BRANCH_2_CONV_NAMES = {'Mixed_5b': 'Conv3d_0a_3x3'}

# Logits head: average pool window [T, H, W] (VALID).
LOGITS_POOL_WINDOW = LAYERS_BY_NAME['Logits'].kernel


def branch_2_conv_name(block: str) -> str:
  """The name of a block's Branch_2 3x3x3 unit (see BRANCH_2_CONV_NAMES)."""
  return BRANCH_2_CONV_NAMES.get(block, 'Conv3d_0b_3x3')


def temporal_layers(final_endpoint: str = 'Mixed_5c'
                   ) -> Tuple[Tuple[str, int, int], ...]:
  """(name, temporal kernel, temporal stride) of the layers that act on time.

  Layers with a temporal kernel and stride of 1 are left out; the head is
  not included.

  Args:
    final_endpoint: The last layer to include.

  Returns:
    The rows in order, e.g. ('Conv3d_1a_7x7', 7, 2) first.
  """
  stop = VALID_ENDPOINTS.index(final_endpoint) + 1
  return tuple((l.name, l.kernel[0], l.stride[0]) for l in LAYERS[:stop]
               if l.kind in ('conv', 'max_pool', 'mixed') and
               (l.kernel[0], l.stride[0]) != (1, 1))


# TF1 Sonnet's BatchNorm settings used by the released graph.
BATCH_NORM_EPS = 1e-3
BATCH_NORM_DECAY = 0.999


def _same_output_size(size: int, stride: int) -> int:
  """Output length of a TF `SAME` convolution or pool along one axis."""
  return int(math.ceil(size / stride))


def feature_shape(num_frames: int, height: int, width: int,
                  endpoint: str) -> Tuple[int, int, int]:
  """Returns the [T, H, W] size of an endpoint's output for an input size.

  Args:
    num_frames: Input frames T.
    height: Input height H.
    width: Input width W.
    endpoint: One of `VALID_ENDPOINTS` up to and including 'Mixed_5c'.

  Returns:
    The (T', H', W') of that endpoint's activations.

  Raises:
    ValueError: If `endpoint` is not a feature endpoint.
  """
  if endpoint not in FEATURE_ENDPOINTS:
    raise ValueError(f'Unknown feature endpoint {endpoint!r}; expected one '
                     f'of {FEATURE_ENDPOINTS}.')
  size = [num_frames, height, width]
  for layer in LAYERS[:VALID_ENDPOINTS.index(endpoint) + 1]:
    size = [_same_output_size(s, k) for s, k in zip(size, layer.stride)]
  return tuple(size)


def min_num_frames() -> int:
  """Fewest input frames for which the logits head's 2-frame pool is valid."""
  num_frames = 1
  while feature_shape(num_frames, 224, 224, 'Mixed_5c')[0] < (
      LOGITS_POOL_WINDOW[0]):
    num_frames += 1
  return num_frames


def original_batch_norm() -> snt.BatchNorm:
  """BatchNorm as in the released graph: a learned offset and no scale."""
  return snt.BatchNorm(
      create_scale=False,
      create_offset=True,
      decay_rate=BATCH_NORM_DECAY,
      eps=BATCH_NORM_EPS,
      name='batch_norm')


class ConvUnit(snt.Module):
  """A `SAME` convolution, optionally followed by BatchNorm and an activation.

  The common part of `Unit3D` and `inception_v1.Unit2D`, which only set the
  number of spatial axes and the attribute that holds the convolution
  ('conv_3d' / 'conv_2d'; attribute names are checkpoint keys).
  """

  NUM_SPATIAL_DIMS: int
  CONV_ATTRIBUTE: str

  def __init__(self,
               output_channels: int,
               kernel_shape: Optional[Sequence[int]] = None,
               stride: Optional[Sequence[int]] = None,
               activation_fn: Optional[Callable[[tf.Tensor],
                                                tf.Tensor]] = tf.nn.relu,
               use_batch_norm: bool = True,
               use_bias: bool = False,
               name: Optional[str] = None):
    """Initializes the unit.

    Args:
      output_channels: Number of output channels.
      kernel_shape: Kernel size, one per spatial axis ([T, H, W] for
        `Unit3D`, [H, W] for `Unit2D`); default 1 on every axis.
      stride: Stride, one per spatial axis; default 1 on every axis.
      activation_fn: Applied after BatchNorm; None for a linear unit.
      use_batch_norm: Whether BatchNorm (offset only) follows the conv.
      use_bias: Whether the convolution has a bias.
      name: Module name (the checkpoint scope of the unit); default
        'unit_3d' / 'unit_2d'.
    """
    ones = (1,) * self.NUM_SPATIAL_DIMS
    super().__init__(name=name or f'unit_{self.NUM_SPATIAL_DIMS}d')
    self._activation_fn = activation_fn
    self._use_batch_norm = use_batch_norm
    conv_class = {2: snt.Conv2D, 3: snt.Conv3D}[self.NUM_SPATIAL_DIMS]
    setattr(self, self.CONV_ATTRIBUTE, conv_class(
        output_channels=output_channels,
        kernel_shape=ones if kernel_shape is None else tuple(kernel_shape),
        stride=ones if stride is None else tuple(stride),
        padding='SAME',
        with_bias=use_bias,
        name=self.CONV_ATTRIBUTE))
    self.batch_norm = original_batch_norm() if use_batch_norm else None

  @property
  def conv(self) -> Union[snt.Conv2D, snt.Conv3D]:
    """The convolution (also reachable as `conv_3d` / `conv_2d`)."""
    return getattr(self, self.CONV_ATTRIBUTE)

  def __call__(self, inputs: tf.Tensor, is_training: bool) -> tf.Tensor:
    """Applies the unit to `inputs` of shape [B, (T,) H, W, C]."""
    net = self.conv(inputs)
    if self.batch_norm is not None:
      net = self.batch_norm(net, is_training=is_training)
    if self._activation_fn is not None:
      net = self._activation_fn(net)
    return net


class Unit3D(ConvUnit):
  """A 3D convolution over [T, H, W], optionally BatchNorm and activation."""

  NUM_SPATIAL_DIMS = 3
  CONV_ATTRIBUTE = 'conv_3d'


def max_pool_same(inputs: tf.Tensor, window: Union[int, Sequence[int]],
                  stride: Union[int, Sequence[int]]) -> tf.Tensor:
  """Max-pools with TF `SAME` padding over every spatial axis.

  Args:
    inputs: [B, T, H, W, C] clips or [B, H, W, C] images.
    window: Pool size, one per spatial axis ([T, H, W] or [H, W]), or one
      size for all.
    stride: Stride, likewise.

  Returns:
    The pooled tensor, of the same rank.
  """
  # tf.nn.max_pool picks the 2D or 3D op from the rank of `inputs`.
  return tf.nn.max_pool(inputs, ksize=window, strides=stride, padding='SAME')


class InceptionBranches(snt.Module):
  """Four branches of units on one input, concatenated on channels.

  The forward pass shared by `InceptionBlock` and
  `inception_v1.InceptionBlock2D`, whose constructors set the unit lists
  `branch_0` ... `branch_3` (checkpoint keys). Branch_3 starts with a
  parameter-free max pool, size 3 and stride 1 on every spatial axis
  ('MaxPool3d_0a_3x3').
  """

  branch_0: Sequence[ConvUnit]
  branch_1: Sequence[ConvUnit]
  branch_2: Sequence[ConvUnit]
  branch_3: Sequence[ConvUnit]

  @property
  def branches(self) -> Tuple[Sequence[ConvUnit], ...]:
    return (self.branch_0, self.branch_1, self.branch_2, self.branch_3)

  def __call__(self, inputs: tf.Tensor, is_training: bool) -> tf.Tensor:
    """Applies the block to `inputs` of shape [B, (T,) H, W, C]."""
    outputs = []
    for index, units in enumerate(self.branches):
      net = inputs
      if index == 3:
        net = max_pool_same(net, window=3, stride=1)
      for unit in units:
        net = unit(net, is_training=is_training)
      outputs.append(net)
    return tf.concat(outputs, axis=-1)


class InceptionBlock(InceptionBranches):
  """The inflated Inception-v1 block: four branches concatenated on channels."""

  def __init__(self,
               channels: Sequence[int],
               branch_2_conv_name: str = 'Conv3d_0b_3x3',
               name: str = 'mixed'):
    """Initializes the block.

    Args:
      channels: Output channels of the six units, in the order of
        `MIXED_BLOCKS`' rows.
      branch_2_conv_name: Module name of Branch_2's 3x3x3 convolution.
      name: Module name, e.g. 'Mixed_4b'.
    """
    super().__init__(name=name)
    b0, b1a, b1b, b2a, b2b, b3 = channels
    with tf.name_scope('Branch_0'):
      self.branch_0 = [Unit3D(b0, name='Conv3d_0a_1x1')]
    with tf.name_scope('Branch_1'):
      self.branch_1 = [
          Unit3D(b1a, name='Conv3d_0a_1x1'),
          Unit3D(b1b, kernel_shape=(3, 3, 3), name='Conv3d_0b_3x3'),
      ]
    with tf.name_scope('Branch_2'):
      self.branch_2 = [
          Unit3D(b2a, name='Conv3d_0a_1x1'),
          Unit3D(b2b, kernel_shape=(3, 3, 3), name=branch_2_conv_name),
      ]
    with tf.name_scope('Branch_3'):
      self.branch_3 = [Unit3D(b3, name='Conv3d_0b_1x1')]


def validate_inputs(inputs: Union[tf.Tensor, np.ndarray],
                    final_endpoint: str = 'Logits',
                    spatial_squeeze: bool = True,
                    num_channels: Optional[int] = None,
                    name: str = 'inputs') -> None:
  """Checks that `inputs` can go through the network up to `final_endpoint`.

  Static checks (rank, dtype, channels, spatial size, clip length) always run.
  Value checks (NaN or infinite values; values far outside [-1, 1], which only
  warn) run on concrete values, i.e. eagerly.

  Args:
    inputs: Clip(s) of shape [B, T, H, W, C] with values in [-1, 1].
    final_endpoint: The endpoint the network stops at.
    spatial_squeeze: Whether the logits are squeezed spatially (needs the
      pooled feature map to be exactly 7x7, i.e. 224x224-sized frames).
    num_channels: Expected channels (3 for RGB, 2 for flow), if known.
    name: How to call the input in error messages (a file or flag name).

  Raises:
    ValueError: On any input the network cannot take, with a message naming
      `name`, what it got and what is expected.
  """
  shape = tuple(inputs.shape)
  if len(shape) != 5:
    raise ValueError(
        f'{name}: expected a rank-5 array [batch, frames, height, width, '
        f'channels], got shape {shape}. Add a batch axis with x[None] if you '
        'have a single clip.')
  dtype = tf.as_dtype(inputs.dtype)
  if not dtype.is_floating:
    raise ValueError(
        f'{name}: expected floating point values in [-1, 1], got dtype '
        f'{dtype.name}. Rescale uint8 frames with x / 127.5 - 1.')
  if num_channels is not None and shape[4] is not None and (
      shape[4] != num_channels):
    raise ValueError(
        f'{name}: expected {num_channels} channels (3 for RGB, 2 for flow), '
        f'got {shape[4]} in shape {shape}.')
  head_endpoints = ('Logits', 'Predictions')
  if final_endpoint in head_endpoints:
    frames, height, width = shape[1:4]
    if frames is not None and frames < min_num_frames():
      raise ValueError(
          f'{name}: the logits need at least {min_num_frames()} frames (the '
          f'2-frame average pool after 8x temporal downsampling), got '
          f'{frames}.')
    if height is not None and width is not None:
      _, pooled_h, pooled_w = feature_shape(
          LOGITS_POOL_WINDOW[0] * 8, height, width, 'Mixed_5c')
      pool_h, pool_w = LOGITS_POOL_WINDOW[1:]
      too_small = pooled_h < pool_h or pooled_w < pool_w
      not_squeezable = spatial_squeeze and (pooled_h, pooled_w) != (pool_h,
                                                                    pool_w)
      if too_small or not_squeezable:
        raise ValueError(
            f'{name}: the logits head needs 224x224 frames (a 7x7 feature '
            f'map), got {height}x{width}. Resize and centre-crop to 224 (see '
            'preprocess.py), or pass spatial_squeeze=False for larger frames.')
  if tf.executing_eagerly() and not isinstance(inputs, tf.TensorSpec):
    values = tf.convert_to_tensor(inputs)
    if not bool(tf.reduce_all(tf.math.is_finite(values))):
      raise ValueError(f'{name}: contains NaN or infinite values.')
    max_abs = float(tf.reduce_max(tf.abs(values))) if tf.size(values) else 0.
    if max_abs > 1.5:
      logging.warning(
          '%s: values reach %.3g, far outside the [-1, 1] range the '
          'checkpoints were trained on; rescale RGB with x / 127.5 - 1 and '
          'flow with clip(x, -20, 20) / 20.', name, max_abs)


def check_dropout_keep_prob(dropout_keep_prob: float) -> None:
  """Raises ValueError if a Python number is not a keep probability."""
  if isinstance(dropout_keep_prob, (int, float)) and not (
      0. < dropout_keep_prob <= 1.):
    raise ValueError('dropout_keep_prob is a keep probability in (0, 1], '
                     f'got {dropout_keep_prob!r}.')


def dropout(inputs: tf.Tensor,
            dropout_keep_prob: Union[float, tf.Tensor],
            seed: Optional[tf.Tensor] = None) -> tf.Tensor:
  """The original's dropout before the logits, given a *keep* probability.

  Args:
    inputs: Any tensor.
    dropout_keep_prob: Probability of keeping an activation; the Python
      number 1 skips the op. Applied whatever the training mode, as in TF1.
    seed: Optional int32 [2] seed for a stateless (reproducible) mask; by
      default the mask is stateful.

  Returns:
    `inputs` with dropped activations zeroed and the others scaled by
    1 / dropout_keep_prob.
  """
  if isinstance(dropout_keep_prob, (int, float)) and dropout_keep_prob == 1.:
    return inputs
  if seed is None:
    return tf.nn.dropout(inputs, rate=1. - dropout_keep_prob)
  return tf.nn.experimental.stateless_dropout(
      inputs, rate=1. - dropout_keep_prob, seed=seed)


def logits_head(features: tf.Tensor,
                logits_conv: Callable[[tf.Tensor], tf.Tensor],
                spatial_squeeze: bool = True,
                dropout_keep_prob: Union[float, tf.Tensor] = 1.0,
                dropout_seed: Optional[tf.Tensor] = None,
                mean_over_time: bool = True) -> tf.Tensor:
  """The original's logits head on Mixed_5c activations.

  AvgPool 2x7x7 (VALID, stride 1), dropout (a keep probability), the 1x1x1
  convolution with bias, the spatial squeeze, then the mean over time.

  Args:
    features: Mixed_5c activations [B, T', H', W', 1024].
    logits_conv: Applies the logits' 1x1x1 convolution with bias (the
      `Logits` unit, or a folded copy of it).
    spatial_squeeze: Whether to squeeze the (1x1) spatial axes.
    dropout_keep_prob: Probability of keeping an activation (see `dropout`).
    dropout_seed: Optional stateless dropout seed (see `dropout`).
    mean_over_time: False keeps one row of logits per time step,
      [B, T' - 1, num_classes] (with the squeeze), for exact chunked
      evaluation of long clips.

  Returns:
    [B, num_classes] logits (or [B, 1, 1, num_classes] without the squeeze);
    with `mean_over_time=False`, the time axis is kept after the batch axis.
  """
  net = tf.nn.avg_pool3d(
      features,
      ksize=[1, *LOGITS_POOL_WINDOW, 1],
      strides=[1, 1, 1, 1, 1],
      padding='VALID')
  net = dropout(net, dropout_keep_prob, dropout_seed)
  logits = logits_conv(net)
  if spatial_squeeze:
    logits = tf.squeeze(logits, axis=[2, 3])
  return tf.reduce_mean(logits, axis=1) if mean_over_time else logits


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


class InceptionI3d(InceptionNetwork):
  """Inception-v1 inflated 3D ConvNet for video classification.

  Calling the module on [B, T, H, W, C] clips returns `(output, end_points)`:
  the output of `final_endpoint` and a dict with every endpoint's output up to
  and including it. 'Logits' are [B, num_classes] (averaged over time) or
  [B, 1, 1, num_classes] without the spatial squeeze.
  """

  VALID_ENDPOINTS = VALID_ENDPOINTS
  LAYERS = LAYERS

  def __init__(self,
               num_classes: int = 400,
               spatial_squeeze: bool = True,
               final_endpoint: str = 'Logits',
               name: str = 'inception_i3d'):
    """Initializes the network up to `final_endpoint`.

    Args:
      num_classes: Number of output classes (400 for Kinetics-400, 600 for
        Kinetics-600).
      spatial_squeeze: Whether to squeeze the spatial axes of the logits.
      final_endpoint: The last endpoint to build; one of `VALID_ENDPOINTS`.
      name: Module name; the checkpoints use 'inception_i3d'.

    Raises:
      ValueError: If `final_endpoint` is not a valid endpoint or `num_classes`
        is not a positive integer.
    """
    super().__init__(num_classes, spatial_squeeze, final_endpoint, name)

    # Modules are attributes named after their endpoint: the attribute path
    # is the TF2 checkpoint key, so treat these names as API.
    with self.name_scope:
      for layer in self._layers:
        if layer.kind == 'conv':
          setattr(self, layer.name,
                  Unit3D(layer.channels, layer.kernel, layer.stride,
                         name=layer.name))
        elif layer.kind == 'mixed':
          setattr(self, layer.name,
                  InceptionBlock(layer.channels,
                                 branch_2_conv_name=branch_2_conv_name(
                                     layer.name),
                                 name=layer.name))
        elif layer.kind == 'logits':
          with tf.name_scope('Logits'):
            self.Logits = Unit3D(
                num_classes,
                activation_fn=None,
                use_batch_norm=False,
                use_bias=True,
                name='Conv3d_0c_1x1')

  def __call__(
      self,
      inputs: tf.Tensor,
      is_training: bool,
      dropout_keep_prob: float = 1.0,
      dropout_seed: Optional[tf.Tensor] = None,
  ) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
    """Runs the network up to `final_endpoint`.

    Args:
      inputs: Float clips [B, T, H, W, C] in [-1, 1]; C is 3 for RGB and 2 for
        optical flow. The logits need T >= `min_num_frames()` and 224x224
        frames (with `spatial_squeeze`).
      is_training: Whether BatchNorm uses (and updates) batch statistics;
        otherwise it uses its moving statistics.
      dropout_keep_prob: Probability of *keeping* an activation in the
        dropout before the logits. As in the original, dropout is applied
        whenever it is below 1, whatever `is_training` says.
      dropout_seed: Optional int32 [2] seed for a stateless dropout mask, so
        that a training run resumed from a checkpoint draws the masks an
        uninterrupted run would; by default the mask is stateful, as in TF1.

    Returns:
      `(output, end_points)`: the output of `final_endpoint` and a dict from
      each endpoint name up to it to its output tensor.

    Raises:
      ValueError: On inputs the network cannot take (see `validate_inputs`)
        or a keep probability outside (0, 1].
    """
    stem_kernel = getattr(self.Conv3d_1a_7x7.conv_3d, 'w', None)
    validate_inputs(
        inputs,
        final_endpoint=self._final_endpoint,
        spatial_squeeze=self._spatial_squeeze,
        # Once built (or loaded), the stem fixes the stream: 3 RGB or 2 flow.
        num_channels=None if stem_kernel is None else stem_kernel.shape[3])
    # Checked before any variable exists: a first call in float64 (numpy's
    # default) would otherwise create float64 variables for good.
    expected = tf.float32 if stem_kernel is None else stem_kernel.dtype
    if tf.as_dtype(inputs.dtype) != expected:
      raise ValueError(
          f'inputs: expected {expected.name} values, got '
          f'{tf.as_dtype(inputs.dtype).name} (numpy arrays default to '
          'float64); cast with np.asarray(x, np.float32) or '
          'tf.cast(x, tf.float32).')
    check_dropout_keep_prob(dropout_keep_prob)

    end_points = {}
    net = inputs
    for layer in self._layers:
      if layer.kind == 'max_pool':
        net = max_pool_same(net, layer.kernel, layer.stride)
      elif layer.kind == 'logits':
        net = self._logits(net, is_training, dropout_keep_prob, dropout_seed)
      elif layer.kind == 'predictions':
        net = tf.nn.softmax(net)
      else:
        net = getattr(self, layer.name)(net, is_training=is_training)
      end_points[layer.name] = net
    return net, end_points

  def _logits(self,
              features: tf.Tensor,
              is_training: bool,
              dropout_keep_prob: Union[float, tf.Tensor] = 1.0,
              dropout_seed: Optional[tf.Tensor] = None,
              mean_over_time: bool = True) -> tf.Tensor:
    """`logits_head` with this model's `Logits` unit and squeeze setting."""
    return logits_head(
        features, lambda net: self.Logits(net, is_training=is_training),
        self._spatial_squeeze, dropout_keep_prob, dropout_seed,
        mean_over_time)


def _show_call_signature(module_class: type) -> None:
  """Makes `help()` show a Sonnet module's own `__call__` signature and doc.

  Sonnet wraps every method in a name-scope decorator whose signature is
  `(*args, **kwargs)` and whose doc is a comment of Sonnet's; the wrapped
  function is in the decorator's closure.
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


_show_call_signature(InceptionI3d)
