"""The convolution units and Inception blocks I3D is built from.

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750: Inception-v1
inflated to 3D. Every unit is a `SAME` convolution followed, as in DeepMind's
released TF1 graph, by BatchNorm with a learned offset and no scale; a block
concatenates four branches on channels. Module names are the original
variable scopes, hence the checkpoint keys; `i3d.py` assembles the network.
"""

from typing import Callable, Optional, Sequence, Tuple, Union

import sonnet as snt
import tensorflow as tf

# TF1 Sonnet's BatchNorm settings used by the released graph.
BATCH_NORM_EPS = 1e-3
BATCH_NORM_DECAY = 0.999


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
        `i3d.MIXED_BLOCKS`' rows.
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
