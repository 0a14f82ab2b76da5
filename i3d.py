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
this file are also the checkpoint's naming scheme. The building blocks (units
and blocks, dropout, the head, input checks) are in `kinetics_i3d/model/`;
this file holds the architecture table and assembles the network.
"""

import math
from typing import Callable, Dict, NamedTuple, Optional, Tuple, Union

# Before TensorFlow is imported (sonnet imports it): its fast CPU kernels.
from kinetics_i3d.utils import cpu_kernels  # pylint: disable=g-bad-import-order
cpu_kernels.enable_onednn()

# pylint: disable=g-import-not-at-top,wrong-import-position,g-bad-import-order
import numpy as np
import tensorflow as tf

from kinetics_i3d import streams
from kinetics_i3d.model import head
from kinetics_i3d.model import inputs as inputs_lib
from kinetics_i3d.model import network
from kinetics_i3d.model import units
# The building blocks, re-exported where the tools and README reach them.
# pylint: disable=g-multiple-import,g-importing-member,unused-import
from kinetics_i3d.model.dropout import check_dropout_keep_prob, dropout
from kinetics_i3d.model.network import InceptionNetwork
from kinetics_i3d.model.units import (
    BATCH_NORM_DECAY, BATCH_NORM_EPS, ConvUnit, InceptionBlock,
    InceptionBranches, Unit3D, max_pool_same, original_batch_norm)
# pylint: enable=g-multiple-import,g-importing-member,unused-import


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
  while feature_shape(num_frames, streams.CROP, streams.CROP,
                             'Mixed_5c')[0] < (
      LOGITS_POOL_WINDOW[0]):
    num_frames += 1
  return num_frames


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
  inputs_lib.check_array(inputs, num_channels, name)
  if final_endpoint in ('Logits', 'Predictions'):
    _check_head_input(tuple(inputs.shape), spatial_squeeze, name)
  inputs_lib.check_values(inputs, name)


def _check_head_input(shape: Tuple[Optional[int], ...], spatial_squeeze: bool,
                      name: str) -> None:
  """Raises ValueError if clips of `shape` are too short or wrongly sized."""
  frames, height, width = shape[1:4]
  if frames is not None and frames < min_num_frames():
    raise ValueError(
        f'{name}: the logits need at least {min_num_frames()} frames (the '
        f'2-frame average pool after 8x temporal downsampling), got '
        f'{frames}.')
  if height is None or width is None:
    return
  _, pooled_h, pooled_w = feature_shape(
      LOGITS_POOL_WINDOW[0] * 8, height, width, 'Mixed_5c')
  pool_h, pool_w = LOGITS_POOL_WINDOW[1:]
  too_small = pooled_h < pool_h or pooled_w < pool_w
  not_squeezable = spatial_squeeze and (pooled_h, pooled_w) != (pool_h,
                                                                pool_w)
  if too_small or not_squeezable:
    raise ValueError(
        f'{name}: the logits head needs {streams.CROP}x{streams.CROP} frames '
        f'(a 7x7 feature map), got {height}x{width}. Resize and centre-crop '
        f'to {streams.CROP} (see preprocess.py), or pass '
        'spatial_squeeze=False for larger frames.')


def logits_head(features: tf.Tensor,
                logits_conv: Callable[[tf.Tensor], tf.Tensor],
                spatial_squeeze: bool = True,
                dropout_keep_prob: Union[float, tf.Tensor] = 1.0,
                dropout_seed: Optional[tf.Tensor] = None,
                mean_over_time: bool = True) -> tf.Tensor:
  """`head.logits_head` with the table's average pool window (2x7x7)."""
  return head.logits_head(features, logits_conv, spatial_squeeze,
                          dropout_keep_prob, dropout_seed, mean_over_time,
                          pool_window=LOGITS_POOL_WINDOW)


class InceptionI3d(network.InceptionNetwork):
  """Inception-v1 inflated 3D ConvNet for video classification.

  Calling the module on [B, T, H, W, C] clips returns `(output, end_points)`:
  the output of `final_endpoint` and a dict with every endpoint's output up to
  and including it. 'Logits' are [B, num_classes] (averaged over time) or
  [B, 1, 1, num_classes] without the spatial squeeze.
  """

  VALID_ENDPOINTS = VALID_ENDPOINTS
  LAYERS = LAYERS

  def __init__(self,
               num_classes: int = KINETICS_400_CLASSES,
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
                  units.Unit3D(layer.channels, layer.kernel, layer.stride,
                         name=layer.name))
        elif layer.kind == 'mixed':
          setattr(self, layer.name,
                  units.InceptionBlock(layer.channels,
                                 branch_2_conv_name=branch_2_conv_name(
                                     layer.name),
                                 name=layer.name))
        elif layer.kind == 'logits':
          with tf.name_scope('Logits'):
            self.Logits = units.Unit3D(
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
    inputs_lib.check_float_dtype(
        inputs, tf.float32 if stem_kernel is None else stem_kernel.dtype)
    check_dropout_keep_prob(dropout_keep_prob)

    end_points = {}
    net = inputs
    for layer in self._layers:
      if layer.kind == 'max_pool':
        net = units.max_pool_same(net, layer.kernel, layer.stride)
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


network.show_call_signature(InceptionI3d)
