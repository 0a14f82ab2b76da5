"""One I3D stream with the classification head used in training.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Each stream (RGB or flow) is an `i3d.InceptionI3d` trained on its own with a
softmax cross-entropy; the two streams' logits are added at test time. For
small inputs and fast tests the network can stop at an earlier endpoint, with
a global average pool and a linear layer as its head.
"""

from typing import Any, Dict, Optional, Tuple

import sonnet as snt
import tensorflow as tf

import i3d
from kinetics_i3d.weights import checkpoints


class StreamModel:
  """One I3D stream with the classification head used in training.

  With `final_endpoint='Logits'` this is `i3d.InceptionI3d` unchanged (its own
  logits layer); with an earlier endpoint, the features are averaged over
  time and space and a linear layer `pooled_logits` gives the logits.
  """

  def __init__(self, num_classes: int, final_endpoint: str = 'Logits'):
    if final_endpoint in ('Logits', 'Predictions'):
      final_endpoint = 'Logits'
      self.head = None
    else:
      self.head = snt.Linear(num_classes, name='pooled_logits')
    self.i3d = i3d.InceptionI3d(
        num_classes=num_classes, final_endpoint=final_endpoint)
    self.num_classes = num_classes

  @property
  def truncated(self) -> bool:
    return self.head is not None

  def build(self, num_channels: int) -> None:
    """Creates every variable (under the current distribution strategy)."""
    checkpoints.build_variables(self.i3d, num_channels)
    if self.head is not None:
      feature_channels = self.i3d(
          tf.zeros([1, 1, 8, 8, num_channels]), is_training=False)[0].shape[-1]
      self.head(tf.zeros([1, feature_channels]))

  @property
  def trainable_variables(self) -> Tuple[tf.Variable, ...]:
    head = self.head.trainable_variables if self.head is not None else ()
    return tuple(self.i3d.trainable_variables) + tuple(head)

  @property
  def variables(self) -> Tuple[tf.Variable, ...]:
    head = self.head.variables if self.head is not None else ()
    return tuple(self.i3d.variables) + tuple(head)

  def trackables(self) -> Dict[str, Any]:
    """Objects for `tf.train.Checkpoint`: `model` as in `checkpoints.save`."""
    out = {'model': self.i3d}
    if self.head is not None:
      out['head'] = self.head
    return out

  def __call__(self,
               inputs: tf.Tensor,
               is_training: bool,
               dropout_keep_prob: float = 1.,
               dropout_seed: Optional[tf.Tensor] = None) -> tf.Tensor:
    """Logits [B, num_classes] of clips [B, T, H, W, C] in [-1, 1].

    Dropout (before the logits) is applied when `dropout_keep_prob` < 1 with
    a stateless mask drawn from `dropout_seed` (int32 [2]), so that a resumed
    run draws the masks an uninterrupted run would.
    """
    if self.head is not None:
      features, _ = self.i3d(inputs, is_training=is_training)
      net = tf.reduce_mean(features, axis=[1, 2, 3])
      net = self._dropout(net, dropout_keep_prob, dropout_seed)
      return self.head(net)
    if dropout_keep_prob < 1. and dropout_seed is None:
      raise ValueError('dropout_seed is required with dropout_keep_prob < 1.')
    logits, _ = self.i3d(
        inputs,
        is_training=is_training,
        dropout_keep_prob=dropout_keep_prob,
        dropout_seed=dropout_seed)
    return logits

  @staticmethod
  def _dropout(net, keep_prob, seed):
    if keep_prob >= 1.:
      return net
    if seed is None:
      raise ValueError('dropout_seed is required with dropout_keep_prob < 1.')
    return tf.nn.experimental.stateless_dropout(
        net, rate=1. - keep_prob, seed=seed)
