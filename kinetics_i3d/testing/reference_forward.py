"""An independent I3D forward pass in raw TensorFlow ops, for tests.

The network of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

computed directly from a dict of tensors named as in DeepMind's original
checkpoints ('Mixed_4b/Branch_1/Conv3d_0b_3x3/conv_3d/w', ...). It shares no
code with `i3d.py` or Sonnet: TensorFlow's asymmetric `SAME` padding is worked
out by hand and applied with `tf.pad` before `VALID` convolutions
(`tf.nn.conv3d`), pools are maxima and means of shifted slices (so any dtype
works, float64 included), and batch norm is the inference formula written
out. Its architecture table
is its own; channel counts and kernel sizes are read from the weights. Tests
use it as the ground truth the Sonnet model and the checkpoint loader must
match.

Also generates random tensors in each released checkpoint's exact layout
(names, shapes and dtypes from `testdata/checkpoint_layouts.json`), scaled so
that the network's logits stay O(1).
"""

import json
import math
import os
from typing import Dict, Mapping, Sequence, Tuple

import numpy as np
import tensorflow as tf

from kinetics_i3d import paths
from kinetics_i3d.weights import checkpoints

LAYOUTS_PATH = os.path.join(paths.TESTDATA_DIR, 'checkpoint_layouts.json')

_EPS = 1e-3  # The released graph's batch norm epsilon.

# The network in order: (endpoint, kind, stride [T, H, W], window [T, H, W]).
# 'unit' is conv + batch norm + ReLU; 'pool' is a max pool; 'mixed' an
# Inception block. Kernel sizes of convolutions come from their weights.
_NETWORK = (
    ('Conv3d_1a_7x7', 'unit', (2, 2, 2), None),
    ('MaxPool3d_2a_3x3', 'pool', (1, 2, 2), (1, 3, 3)),
    ('Conv3d_2b_1x1', 'unit', (1, 1, 1), None),
    ('Conv3d_2c_3x3', 'unit', (1, 1, 1), None),
    ('MaxPool3d_3a_3x3', 'pool', (1, 2, 2), (1, 3, 3)),
    ('Mixed_3b', 'mixed', None, None),
    ('Mixed_3c', 'mixed', None, None),
    ('MaxPool3d_4a_3x3', 'pool', (2, 2, 2), (3, 3, 3)),
    ('Mixed_4b', 'mixed', None, None),
    ('Mixed_4c', 'mixed', None, None),
    ('Mixed_4d', 'mixed', None, None),
    ('Mixed_4e', 'mixed', None, None),
    ('Mixed_4f', 'mixed', None, None),
    ('MaxPool3d_5a_2x2', 'pool', (2, 2, 2), (2, 2, 2)),
    ('Mixed_5b', 'mixed', None, None),
    ('Mixed_5c', 'mixed', None, None),
)


def _mixed_branches(block: str) -> Tuple[Tuple[str, ...], ...]:
  """Unit names of an Inception block's four branches ('pool' = 3x3x3 max)."""
  # DeepMind's release calls this one unit of Mixed_5b 'Conv3d_0a_3x3'.
  branch_2_conv = 'Conv3d_0a_3x3' if block == 'Mixed_5b' else 'Conv3d_0b_3x3'
  return (
      ('Branch_0/Conv3d_0a_1x1',),
      ('Branch_1/Conv3d_0a_1x1', 'Branch_1/Conv3d_0b_3x3'),
      ('Branch_2/Conv3d_0a_1x1', 'Branch_2/' + branch_2_conv),
      ('pool', 'Branch_3/Conv3d_0b_1x1'),
  )


def _same_padding(sizes: Sequence[int], window: Sequence[int],
                  stride: Sequence[int]) -> list:
  """[before, after] per axis of [B, T, H, W, C] for TensorFlow `SAME`."""
  paddings = [[0, 0]]
  for n, k, s in zip(sizes, window, stride):
    out = -(-n // s)  # ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    # TF puts the odd pixel at the end.
    paddings.append([total // 2, total - total // 2])
  paddings.append([0, 0])
  return paddings


def conv3d_same(x: tf.Tensor, w: tf.Tensor,
                stride: Sequence[int] = (1, 1, 1)) -> tf.Tensor:
  """TF `SAME` conv of [B, T, H, W, Cin] by [kT, kH, kW, Cin, Cout]."""
  paddings = _same_padding(x.shape[1:4], w.shape[:3], stride)
  x = tf.pad(x, paddings)
  return tf.nn.conv3d(x, w, strides=[1, *stride, 1], padding='VALID')


def _window_slices(x: tf.Tensor, window: Sequence[int],
                   stride: Sequence[int]):
  """Yields, per window offset, the strided slice it contributes (VALID)."""
  out = [(n - k) // s + 1 for n, k, s in zip(x.shape[1:4], window, stride)]
  for dt in range(window[0]):
    for dh in range(window[1]):
      for dw in range(window[2]):
        yield x[:, dt:dt + (out[0] - 1) * stride[0] + 1:stride[0],
                dh:dh + (out[1] - 1) * stride[1] + 1:stride[1],
                dw:dw + (out[2] - 1) * stride[2] + 1:stride[2], :]


def max_pool3d_same(x: tf.Tensor, window: Sequence[int],
                    stride: Sequence[int]) -> tf.Tensor:
  """TF `SAME` max pool of [B, T, H, W, C] with window/stride [T, H, W]."""
  # Written as a max over shifted slices (no pooling op, any dtype); padded
  # positions are -inf so they never win, as in TF's SAME pooling.
  x = tf.pad(x, _same_padding(x.shape[1:4], window, stride),
             constant_values=-np.inf)
  out = None
  for part in _window_slices(x, window, stride):
    out = part if out is None else tf.maximum(out, part)
  return out


def avg_pool3d_valid(x: tf.Tensor, window: Sequence[int]) -> tf.Tensor:
  """TF `VALID` stride-1 average pool of [B, T, H, W, C]."""
  total = tf.add_n(list(_window_slices(x, window, (1, 1, 1))))
  return total / float(np.prod(window))


class _Weights:
  """Looks up original names under a scope; BN statistics reshaped to [C]."""

  def __init__(self, tensors: Mapping[str, np.ndarray], scope: str,
               dtype: tf.DType):
    self._tensors = tensors
    self._scope = scope
    self._dtype = dtype

  def __call__(self, name: str, vector: bool = False) -> tf.Tensor:
    value = np.asarray(self._tensors[self._scope + name])
    if vector:  # kin600 keeps batch norm vectors as [1, 1, 1, 1, C].
      value = value.reshape([-1])
    return tf.constant(value, dtype=self._dtype)


def _unit(x: tf.Tensor, weights: _Weights, name: str,
          stride: Sequence[int] = (1, 1, 1)) -> tf.Tensor:
  """conv (no bias) -> batch norm with moving statistics -> ReLU."""
  x = conv3d_same(x, weights(name + '/conv_3d/w'), stride)
  mean = weights(name + '/batch_norm/moving_mean', vector=True)
  variance = weights(name + '/batch_norm/moving_variance', vector=True)
  beta = weights(name + '/batch_norm/beta', vector=True)
  x = (x - mean) / tf.sqrt(variance + _EPS) + beta
  return tf.maximum(x, 0.)


def _mixed(x: tf.Tensor, weights: _Weights, block: str) -> tf.Tensor:
  outputs = []
  for branch in _mixed_branches(block):
    net = x
    for unit in branch:
      if unit == 'pool':
        net = max_pool3d_same(net, (3, 3, 3), (1, 1, 1))
      else:
        net = _unit(net, weights, f'{block}/{unit}')
    outputs.append(net)
  return tf.concat(outputs, axis=-1)


def reference_endpoints(tensors: Mapping[str, np.ndarray],
                        clip: np.ndarray,
                        scope: str = '',
                        dtype: tf.DType = tf.float32,
                        final_endpoint: str = 'Predictions'
                       ) -> Dict[str, np.ndarray]:
  """Runs I3D in inference mode on `clip` with the given original tensors.

  Args:
    tensors: Original checkpoint tensors, e.g. `{scope +
      'Conv3d_1a_7x7/conv_3d/w': [7, 7, 7, C, 64], ...}`. Batch norm
      statistics and offsets may be [C] or [1, 1, 1, 1, C]; extra entries
      (e.g. '/Momentum' slots) are ignored.
    clip: [B, T, H, W, C] values in [-1, 1]; the logits need T >= 9 and
      224x224 frames.
    scope: Prefix of every name, e.g. 'RGB/inception_i3d/' ('' for kin600).
    dtype: Computation dtype (tf.float64 gives a more exact reference).
    final_endpoint: Stop after this endpoint (then any frame size works).

  Returns:
    Every endpoint's activations up to `final_endpoint` as numpy arrays:
    'Conv3d_1a_7x7' ... 'Mixed_5c' ([B, T', H', W', C']), 'Logits'
    [B, num_classes] (time-averaged) and 'Predictions' (their softmax).
  """
  weights = _Weights(tensors, scope, dtype)
  net = tf.constant(clip, dtype=dtype)
  endpoints = {}
  for endpoint, kind, stride, window in _NETWORK:
    if kind == 'unit':
      net = _unit(net, weights, endpoint, stride)
    elif kind == 'pool':
      net = max_pool3d_same(net, window, stride)
    else:
      net = _mixed(net, weights, endpoint)
    endpoints[endpoint] = net
    if endpoint == final_endpoint:
      return {name: value.numpy() for name, value in endpoints.items()}
  # Head: 2x7x7 VALID average pool, 1x1x1 conv with bias, drop the 1x1
  # spatial axes, average the remaining time steps.
  net = avg_pool3d_valid(net, (2, 7, 7))
  net = tf.nn.conv3d(
      net, weights('Logits/Conv3d_0c_1x1/conv_3d/w'),
      strides=[1, 1, 1, 1, 1], padding='VALID')
  net = net + weights('Logits/Conv3d_0c_1x1/conv_3d/b')
  if net.shape[2] != 1 or net.shape[3] != 1:
    raise ValueError(f'The head needs 224x224 frames; got logits of shape '
                     f'{net.shape}.')
  logits = tf.reduce_mean(net[:, :, 0, 0, :], axis=1)
  endpoints['Logits'] = logits
  endpoints['Predictions'] = tf.nn.softmax(logits)
  return {name: value.numpy() for name, value in endpoints.items()}


def reference_logits(tensors: Mapping[str, np.ndarray],
                     clip: np.ndarray,
                     scope: str = '',
                     dtype: tf.DType = tf.float32) -> np.ndarray:
  """The [B, num_classes] logits of `reference_endpoints`."""
  return reference_endpoints(tensors, clip, scope, dtype)['Logits']


def load_layouts(path: str = LAYOUTS_PATH) -> Dict[str, Dict[str, dict]]:
  """Reads `{checkpoint: {name: {'shape': [...], 'dtype': 'float32'}}}`."""
  with open(path) as f:
    return json.load(f)


def layout_scope(layout_name: str) -> str:
  """The name prefix of a released checkpoint's variables."""
  return checkpoints.ORIGINAL_CHECKPOINTS[layout_name].scope


def random_original_tensors(layout_name: str,
                            seed: int,
                            layouts_path: str = LAYOUTS_PATH
                           ) -> Dict[str, np.ndarray]:
  """Random tensors with exactly one released checkpoint's names and shapes.

  Scales keep activations O(1) through the whole network: He-normal
  convolution weights, small offsets and means, variances in [0.5, 2].

  Args:
    layout_name: One of 'rgb_imagenet', 'rgb_scratch', 'flow_imagenet',
      'flow_scratch', 'rgb_scratch_kin600'.
    seed: Seed of the numpy generator.
    layouts_path: The JSON file describing the layouts.

  Returns:
    {original name: float32 array} for every variable of the checkpoint,
    '/Momentum' optimizer slots included where the layout has them.

  Raises:
    KeyError: For an unknown layout.
  """
  layouts = load_layouts(layouts_path)
  if layout_name not in layouts:
    raise KeyError(f'Unknown layout {layout_name!r}; expected one of '
                   f'{sorted(layouts)}.')
  rng = np.random.default_rng(seed)
  tensors = {}
  for name, info in sorted(layouts[layout_name].items()):
    shape = tuple(info['shape'])
    dtype = np.dtype(info['dtype'])
    if name.endswith('/Momentum'):
      value = rng.normal(0., 1e-3, shape)
    elif name.endswith('Logits/Conv3d_0c_1x1/conv_3d/w'):
      value = rng.normal(0., 1. / math.sqrt(np.prod(shape[:-1])), shape)
    elif name.endswith('/conv_3d/w'):
      value = rng.normal(0., math.sqrt(2. / np.prod(shape[:-1])), shape)
    elif name.endswith('/conv_3d/b'):
      value = rng.normal(0., 0.1, shape)
    elif name.endswith('/batch_norm/beta'):
      value = rng.normal(0., 0.1, shape)
    elif name.endswith('/batch_norm/moving_mean'):
      value = rng.normal(0., 0.1, shape)
    elif name.endswith('/batch_norm/moving_variance'):
      value = rng.uniform(0.5, 2., shape)
    else:
      raise ValueError(f'No generator for {name} in layout {layout_name}.')
    tensors[name] = value.astype(dtype)
  return tensors

