"""float32 arithmetic rounded as OpenCV's C++ rounds it, in TensorFlow.

The TensorFlow TV-L1 (`tvl1_tf`) reproduces OpenCV's DualTVL1 (the flow of
I3D's flow stream: Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017) bit for bit. Where OpenCV's kernels fuse a multiply-add, call
`hypot` in double or sum pixel after pixel, these functions do the same:
each float32 operation is taken exactly in float64 and rounded once, which
TensorFlow's graph rewrites and XLA cannot regroup.
"""

import tensorflow as tf


def _f64(x: tf.Tensor) -> tf.Tensor:
  return tf.cast(x, tf.float64)


def fma_f32(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
  """float32 fused a * b + c (one rounding, emulated in double)."""
  return tf.cast(_f64(a) * _f64(b) + _f64(c), tf.float32)


def mul_f32(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
  """float32 x * y: the exact product in double, rounded once.

  The same value as float32 multiplication, spelled so that TensorFlow's
  graph rewrites cannot regroup a chain of products (they did, in graph
  mode without XLA).
  """
  return tf.cast(_f64(x) * _f64(y), tf.float32)


def hypot_f32(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
  """float(hypot(double(x), double(y))), as OpenCV's dual update."""
  x64 = _f64(x)
  y64 = _f64(y)
  return tf.cast(tf.sqrt(x64 * x64 + y64 * y64), tf.float32)


def sequential_sum(x: tf.Tensor) -> tf.Tensor:
  """Row-major float32 sum accumulated left to right, per batch item.

  Args:
    x: float32 [N, ...].

  Returns:
    float32 [N]: for each item, the running sum of its values in row-major
    order, rounded to float32 after every addition (OpenCV's loop).
  """
  flat = tf.reshape(x, [tf.shape(x)[0], -1])
  return tf.math.cumsum(flat, axis=1)[:, -1]
