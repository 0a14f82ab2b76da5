"""The checks on clips I3D takes that do not depend on its architecture.

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750: the network
takes float clips [B, T, H, W, C] with values in [-1, 1], 3 RGB or 2 flow
channels. `i3d.validate_inputs` adds the checks that follow from the layer
table (clip length and frame size for the logits head).
"""

from typing import Optional, Union

from absl import logging
import numpy as np
import tensorflow as tf

# Values beyond this magnitude are far outside the [-1, 1] range the
# checkpoints were trained on (a warning, not an error).
_FAR_OUTSIDE_RANGE = 1.5


def check_array(inputs: Union[tf.Tensor, np.ndarray],
                num_channels: Optional[int] = None,
                name: str = 'inputs') -> None:
  """Checks the rank, dtype and channels of `inputs`.

  Args:
    inputs: Clip(s) of shape [B, T, H, W, C].
    num_channels: Expected channels (3 for RGB, 2 for flow), if known.
    name: How to call the input in error messages.

  Raises:
    ValueError: If `inputs` is not rank 5, not floating point, or has other
      than `num_channels` channels.
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


def check_values(inputs: Union[tf.Tensor, np.ndarray, tf.TensorSpec],
                 name: str = 'inputs') -> None:
  """Checks concrete values: an error if not finite, a warning if far out.

  Symbolic inputs (inside `tf.function`, or a `tf.TensorSpec`) pass.

  Args:
    inputs: Clip(s) with values expected in [-1, 1].
    name: How to call the input in messages.

  Raises:
    ValueError: If a value is NaN or infinite.
  """
  if isinstance(inputs, np.ndarray):
    max_abs = _numpy_max_abs(inputs)
  elif not tf.executing_eagerly() or isinstance(inputs, tf.TensorSpec):
    return
  else:
    values = tf.convert_to_tensor(inputs)
    finite = bool(tf.reduce_all(tf.math.is_finite(values)))
    max_abs = float(tf.reduce_max(tf.abs(values))) if tf.size(values) else 0.
    if not finite:
      max_abs = float('nan')
  if not np.isfinite(max_abs):
    raise ValueError(f'{name}: contains NaN or infinite values.')
  if max_abs > _FAR_OUTSIDE_RANGE:
    logging.warning(
        '%s: values reach %.3g, far outside the [-1, 1] range the '
        'checkpoints were trained on; rescale RGB with x / 127.5 - 1 and '
        'flow with clip(x, -20, 20) / 20.', name, max_abs)


def _numpy_max_abs(values: np.ndarray) -> float:
  """max |values| (0 if empty); NaN or infinite if any value is.

  Two reading passes in numpy, no copy: the tools check each batch in the
  thread that makes it, and TensorFlow ops there would queue on the thread
  pool the model is running on.
  """
  if not values.size:
    return 0.
  # min and max propagate NaN; an infinite value is the min or the max.
  return float(max(-values.min(), values.max()))


def check_float_dtype(inputs: Union[tf.Tensor, np.ndarray],
                      expected: tf.DType) -> None:
  """Raises ValueError unless `inputs` have the variables' dtype.

  Checked before any variable exists: a first call in float64 (numpy's
  default) would otherwise create float64 variables for good.

  Args:
    inputs: The clips.
    expected: float32 before the first call, else the variables' dtype.
  """
  dtype = tf.as_dtype(inputs.dtype)
  if dtype != expected:
    raise ValueError(
        f'inputs: expected {expected.name} values, got {dtype.name} (numpy '
        'arrays default to float64); cast with np.asarray(x, np.float32) or '
        'tf.cast(x, tf.float32).')
