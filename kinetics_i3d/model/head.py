"""The logits head of I3D, as in the released graph.

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750: after
Mixed_5c, an average pool, dropout, a 1x1x1 convolution with bias, a spatial
squeeze and the mean of the logits over time.
"""

from typing import Callable, Optional, Sequence, Union

import tensorflow as tf

from kinetics_i3d.model import dropout as dropout_lib


def logits_head(features: tf.Tensor,
                logits_conv: Callable[[tf.Tensor], tf.Tensor],
                spatial_squeeze: bool = True,
                dropout_keep_prob: Union[float, tf.Tensor] = 1.0,
                dropout_seed: Optional[tf.Tensor] = None,
                mean_over_time: bool = True,
                *,
                pool_window: Sequence[int]) -> tf.Tensor:
  """The original's logits head on Mixed_5c activations.

  AvgPool over `pool_window` (VALID, stride 1), dropout (a keep
  probability), the 1x1x1 convolution with bias, the spatial squeeze, then
  the mean over time.

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
    pool_window: The average pool's [T, H, W] window (the 'Logits' row of
      `i3d.LAYERS`).

  Returns:
    [B, num_classes] logits (or [B, 1, 1, num_classes] without the squeeze);
    with `mean_over_time=False`, the time axis is kept after the batch axis.
  """
  net = tf.nn.avg_pool3d(
      features,
      ksize=[1, *pool_window, 1],
      strides=[1, 1, 1, 1, 1],
      padding='VALID')
  net = dropout_lib.dropout(net, dropout_keep_prob, dropout_seed)
  logits = logits_conv(net)
  if spatial_squeeze:
    logits = tf.squeeze(logits, axis=[2, 3])
  return tf.reduce_mean(logits, axis=1) if mean_over_time else logits
