"""The dropout before I3D's logits, as in the released graph.

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750. DeepMind's
TF1 code gives dropout as a *keep* probability and applies it whenever that
is below 1, whatever the training mode; this module does the same.
"""

from typing import Optional, Union

import tensorflow as tf


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
