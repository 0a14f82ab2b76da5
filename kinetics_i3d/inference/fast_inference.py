"""A faster, inference-only copy of a loaded I3D network.

The network is the Inception-v1 based I3D of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

`fold_batch_norm(model)` reads the weights and moving statistics of an
`i3d.InceptionI3d` (built, e.g. loaded from a checkpoint) and returns a
`FastI3d`: a separate `tf.Module` with its own non-trainable copies of the
weights, computing the same function as `model(inputs, is_training=False)`
(logits within float32 round-off, ~1e-7) with fewer operations:

* BatchNorm (offset only, moving statistics) is folded into the preceding
  convolution: with m = scale / sqrt(moving_variance + eps),
  w' = w * m (per output channel) and b' = offset - moving_mean * m, so that
  each unit is conv + bias + ReLU, which TensorFlow's graph optimiser runs as
  one oneDNN kernel (`_MklNativeFusedConv3D`) on CPU;
* the three 1x1x1 convolutions of an Inception block that read the block's
  input (the first units of Branch_0, Branch_1 and Branch_2) are merged into
  one convolution whose output is then split;
* the pass runs in `tf.function` (default), eagerly, or with XLA.

Its speed against the module's, and that of the rewrites tried and not kept
(Conv3d_1a_7x7 as a space-to-depth convolution; XLA, whose CPU convolutions
do not use oneDNN), are measured by benchmarks/i3d_benchmark.py and given in
README.

The trainable module is never modified: later changes to it (training,
loading another checkpoint) are not seen by a `FastI3d` built before them.
"""

import math
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import streams

# How `FastI3d.__call__` runs the forward pass.
MODES = ('eager', 'function', 'xla')

# One folded unit: (kernel [T, H, W, C_in, C_out], bias [C_out]).
_Folded = Tuple[np.ndarray, np.ndarray]


def _fold_unit(unit: i3d.Unit3D, where: str) -> _Folded:
  """Folds a unit's inference-mode BatchNorm into its convolution (float64)."""
  conv = unit.conv
  if not hasattr(conv, 'w'):
    raise ValueError(
        f'{where}: the model has no weights yet. Load a checkpoint into it '
        '(checkpoints.py) or call it once on a clip before fold_batch_norm.')
  w = conv.w.numpy().astype(np.float64)
  b = (conv.b.numpy().astype(np.float64) if getattr(conv, 'b', None)
       is not None else np.zeros(w.shape[-1], np.float64))
  bn = unit.batch_norm
  if bn is None:
    return w, b
  if getattr(bn.moving_mean, 'average', None) is None:
    raise ValueError(
        f'{where}: BatchNorm moving statistics are not initialised. Load a '
        'checkpoint or call the model once before fold_batch_norm.')
  mean = bn.moving_mean.value.numpy().astype(np.float64).reshape(-1)
  variance = bn.moving_variance.value.numpy().astype(np.float64).reshape(-1)
  scale = bn.scale.numpy().astype(np.float64).reshape(-1)
  offset = bn.offset.numpy().astype(np.float64).reshape(-1)
  if np.any(variance < 0) or not np.all(np.isfinite(variance)):
    raise ValueError(f'{where}: moving_variance has negative or non-finite '
                     'entries; the checkpoint is corrupt.')
  multiplier = scale / np.sqrt(variance + i3d.BATCH_NORM_EPS)
  return w * multiplier, (b - mean) * multiplier + offset


def _variable(value: np.ndarray, name: str) -> tf.Variable:
  return tf.Variable(
      value.astype(np.float32), trainable=False, name=name.replace('/', '_'))


def _conv(inputs: tf.Tensor,
          weights: tf.Variable,
          bias: tf.Variable,
          stride: Sequence[int] = (1, 1, 1),
          relu: bool = True) -> tf.Tensor:
  """A TF `SAME` convolution + bias (+ ReLU); grappler fuses the three."""
  net = tf.nn.conv3d(
      inputs, weights, strides=[1, *stride, 1], padding='SAME')
  net = tf.nn.bias_add(net, bias)
  return tf.nn.relu(net) if relu else net


class FastI3d(tf.Module):
  """Inference-only I3D with folded BatchNorm; build with `fold_batch_norm`.

  Calling it on [B, T, H, W, C] clips returns `(output, end_points)` as
  `InceptionI3d(...)(inputs, is_training=False)` does, up to the source
  model's `final_endpoint`. With `merge_branch_convs` the end points of the
  Inception blocks' inner units are not available (there are none in the
  original's end points either).
  """

  def __init__(self,
               model: i3d.InceptionI3d,
               merge_branch_convs: bool = True,
               mode: str = 'function',
               name: str = 'fast_i3d'):
    """Copies and folds the weights of `model`; see `fold_batch_norm`."""
    if not isinstance(model, i3d.InceptionI3d):
      raise ValueError(
          f'model: expected an i3d.InceptionI3d, got {type(model).__name__}.')
    if mode not in MODES:
      raise ValueError(f'mode must be one of {MODES}, got {mode!r}.')
    super().__init__(name=name)
    self._final_endpoint = model.final_endpoint
    self._spatial_squeeze = model.spatial_squeeze
    self._merge_branch_convs = merge_branch_convs
    self._mode = mode
    self._layers = i3d.LAYERS[:i3d.VALID_ENDPOINTS.index(
        self._final_endpoint) + 1]
    # endpoint -> list of (weights, bias) variables, in the order `_forward`
    # consumes them.
    self._params: Dict[str, List[Tuple[tf.Variable, tf.Variable]]] = {}
    self._num_channels = None
    with self.name_scope:
      for layer in self._layers:
        if layer.kind in ('conv', 'logits'):
          folded = [_fold_unit(getattr(model, layer.name), layer.name)]
        elif layer.kind == 'mixed':
          folded = self._fold_block(getattr(model, layer.name), layer.name)
        else:
          continue
        self._params[layer.name] = [
            (_variable(w, f'{layer.name}_{i}_w'),
             _variable(b, f'{layer.name}_{i}_b'))
            for i, (w, b) in enumerate(folded)
        ]
        if self._num_channels is None:
          self._num_channels = int(folded[0][0].shape[3])
    if mode == 'eager':
      self._run = self._forward
    else:
      self._run = tf.function(
          self._forward,
          jit_compile=(mode == 'xla'),
          reduce_retracing=True,
          autograph=False)

  def _fold_block(self, block: i3d.InceptionBlock,
                  endpoint: str) -> List[_Folded]:
    (b0,), (b1a, b1b), (b2a, b2b), (b3,) = [
        [_fold_unit(u, f'{endpoint}/{u.name}') for u in units]
        for units in block.branches
    ]
    if not self._merge_branch_convs:
      return [b0, b1a, b1b, b2a, b2b, b3]
    merged = (np.concatenate([b0[0], b1a[0], b2a[0]], axis=-1),
              np.concatenate([b0[1], b1a[1], b2a[1]], axis=-1))
    return [merged, b1b, b2b, b3]

  @property
  def final_endpoint(self) -> str:
    return self._final_endpoint

  @property
  def num_channels(self) -> int:
    """Input channels the weights expect: 3 for RGB, 2 for optical flow."""
    return self._num_channels

  @property
  def mode(self) -> str:
    return self._mode

  def __call__(self,
               inputs: tf.Tensor) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
    """Runs the folded network up to the source model's `final_endpoint`.

    Args:
      inputs: Float32 clips [B, T, H, W, C] in [-1, 1], C = `num_channels`.
        The logits need T >= `i3d.min_num_frames()` (9) and 224x224 frames
        (with the spatial squeeze). Any batch size.

    Returns:
      `(output, end_points)` as `InceptionI3d.__call__` with
      `is_training=False`: e.g. logits [B, num_classes] and a dict from each
      endpoint name to its activations [B, T', H', W', C'].

    Raises:
      ValueError: On inputs the network cannot take (`i3d.validate_inputs`).
    """
    i3d.validate_inputs(
        inputs,
        final_endpoint=self._final_endpoint,
        spatial_squeeze=self._spatial_squeeze,
        num_channels=self._num_channels)
    inputs = tf.convert_to_tensor(inputs)
    if inputs.dtype != tf.float32:
      raise ValueError(
          f'inputs: the fast model runs in float32, got {inputs.dtype.name}; '
          'cast with tf.cast(x, tf.float32).')
    return self._run(inputs)

  def _forward(self,
               inputs: tf.Tensor) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
    end_points = {}
    net = inputs
    for layer in self._layers:
      if layer.kind == 'max_pool':
        net = i3d.max_pool_same(net, layer.kernel, layer.stride)
      elif layer.kind == 'conv':
        (w, b), = self._params[layer.name]
        net = _conv(net, w, b, stride=layer.stride)
      elif layer.kind == 'mixed':
        net = self._mixed(net, self._params[layer.name])
      elif layer.kind == 'logits':
        (w, b), = self._params['Logits']
        net = i3d.logits_head(net, lambda x: _conv(x, w, b, relu=False),
                              self._spatial_squeeze)
      elif layer.kind == 'predictions':
        net = tf.nn.softmax(net)
      end_points[layer.name] = net
    return net, end_points

  def _mixed(self, inputs: tf.Tensor,
             params: List[Tuple[tf.Variable, tf.Variable]]) -> tf.Tensor:
    pooled = i3d.max_pool_same(inputs, window=3, stride=1)
    if self._merge_branch_convs:
      merged, conv_1b, conv_2b, conv_3 = params
      # Branch_1 and Branch_2 take as many channels as their 3x3x3 convs read.
      sizes = [conv_1b[0].shape[3], conv_2b[0].shape[3]]
      sizes.insert(0, merged[0].shape[-1] - sum(sizes))
      branch_0, branch_1, branch_2 = tf.split(
          _conv(inputs, *merged), sizes, axis=4)
    else:
      conv_0, conv_1a, conv_1b, conv_2a, conv_2b, conv_3 = params
      branch_0 = _conv(inputs, *conv_0)
      branch_1 = _conv(inputs, *conv_1a)
      branch_2 = _conv(inputs, *conv_2a)
    return tf.concat([
        branch_0,
        _conv(branch_1, *conv_1b),
        _conv(branch_2, *conv_2b),
        _conv(pooled, *conv_3),
    ], axis=4)


def fold_batch_norm(model: i3d.InceptionI3d,
                    merge_branch_convs: bool = True,
                    mode: str = 'function') -> FastI3d:
  """Builds an inference-only copy of `model` with BatchNorm folded in.

  Args:
    model: A built `InceptionI3d` (weights loaded or the model called once).
      It is only read, never modified.
    merge_branch_convs: Whether to run each Inception block's three 1x1x1
      convolutions on the block input as one convolution.
    mode: 'function' (`tf.function`, the default and fastest on CPU), 'xla'
      (`tf.function(jit_compile=True)`) or 'eager'.

  Returns:
    A `FastI3d` computing `model(inputs, is_training=False)` (dropout off)
    to within float32 round-off.

  Raises:
    ValueError: If `model` is not an `InceptionI3d`, has no weights yet, or
      `mode` is unknown.
  """
  return FastI3d(model, merge_branch_convs=merge_branch_convs, mode=mode)


def conv_flops(num_frames: int = 79,
               height: int = streams.CROP,
               width: int = streams.CROP,
               num_channels: int = streams.CHANNELS[streams.RGB],
               final_endpoint: str = 'Mixed_5c',
               num_classes: int = i3d.KINETICS_400_CLASSES) -> int:
  """Counts the floating point operations of I3D's convolutions.

  Counted from the architecture tables in `i3d.py`: a convolution producing
  N output values from a K-element receptive field (kernel volume times input
  channels) costs 2 * N * K operations (one multiply and one add per weight
  use). BatchNorm, ReLU, pooling and the bias are not counted.

  Args:
    num_frames: Clip length T.
    height: Frame height H.
    width: Frame width W.
    num_channels: Input channels (3 for RGB, 2 for flow).
    final_endpoint: Last endpoint counted; 'Mixed_5c' (the default) counts
      every convolution but the 1x1x1 logits, 'Logits' adds those.
    num_classes: Output channels of the logits convolution.

  Returns:
    The operation count per clip.

  Raises:
    ValueError: If `final_endpoint` is not a valid endpoint.
  """
  if final_endpoint not in i3d.VALID_ENDPOINTS:
    raise ValueError(f'Unknown endpoint {final_endpoint!r}; expected one of '
                     f'{i3d.VALID_ENDPOINTS}.')
  size = (num_frames, height, width)
  channels = num_channels
  total = 0
  for layer in i3d.LAYERS[:i3d.VALID_ENDPOINTS.index(final_endpoint) + 1]:
    if layer.kind in ('conv', 'max_pool'):
      size = tuple(math.ceil(s / k) for s, k in zip(size, layer.stride))
    if layer.kind == 'conv':
      total += (2 * math.prod(size) * math.prod(layer.kernel) * channels *
                layer.channels)
      channels = layer.channels
    elif layer.kind == 'mixed':
      b0, b1a, b1b, b2a, b2b, b3 = layer.channels
      one_by_one = channels * (b0 + b1a + b2a + b3)
      three_by_three = math.prod(layer.kernel) * (b1a * b1b + b2a * b2b)
      total += 2 * math.prod(size) * (one_by_one + three_by_three)
      channels = b0 + b1b + b2b + b3
    elif layer.kind == 'logits':
      # One 1x1x1 conv per time step left by the 2x7x7 VALID pool.
      pooled = [s - k + 1 for s, k in zip(size, layer.kernel)]
      total += 2 * math.prod(pooled) * channels * num_classes
  return total
