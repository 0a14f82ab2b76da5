"""Momentum SGD with weight decay, the optimizer of I3D's training recipe.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

The kinetics-i3d README trains with synchronous SGD, momentum 0.9 and weight
decay 1e-7, i.e. TF1's `MomentumOptimizer` with an L2 penalty
`1e-7 * sum(w**2) / 2` (`tf.nn.l2_loss`) on convolution and linear kernels.
"""

from typing import Sequence

import tensorflow as tf


def decayed(variable: tf.Variable) -> bool:
  """Whether weight decay applies: convolution and linear kernels only."""
  return variable.name.split('/')[-1].startswith('w:')


class MomentumSGD(tf.Module):
  """SGD with momentum and L2 weight decay, as TF1's MomentumOptimizer.

  `accumulator = momentum * accumulator + grad; var -= lr * accumulator`,
  where `grad` includes `weight_decay * var` for kernels. Applied from
  replica context once the gradients are all-reduced (identical on every
  replica), through one merge_call.
  """

  def __init__(self, variables: Sequence[tf.Variable], momentum: float,
               weight_decay: float):
    """Creates one accumulator per variable (under the current strategy).

    Args:
      variables: The variables `apply` will update, in that order.
      momentum: Momentum coefficient (0.9 in the paper).
      weight_decay: L2 coefficient for kernels (1e-7 in the paper).
    """
    super().__init__(name='momentum_sgd')
    self._momentum = momentum
    self._weight_decay = weight_decay
    self.accumulators = [
        tf.Variable(
            tf.zeros(v.shape, v.dtype),
            trainable=False,
            name=v.name.split(':')[0].replace('/', '_') + '_momentum')
        for v in variables
    ]

  def apply(self, grads: Sequence[tf.Tensor],
            variables: Sequence[tf.Variable], lr: tf.Tensor) -> None:
    """Updates `variables` (in replica context) with all-reduced `grads`."""
    if len(variables) != len(self.accumulators):
      raise ValueError(f'Expected {len(self.accumulators)} variables, got '
                       f'{len(variables)}.')
    tf.distribute.get_replica_context().merge_call(
        self._apply_cross_replica, args=(list(grads), list(variables), lr))

  def _apply_cross_replica(self, strategy, grads, variables, lr):
    for grad, accumulator, variable in zip(grads, self.accumulators,
                                           variables):
      strategy.extended.update(
          variable,
          self._update,
          args=(grad, accumulator, lr, decayed(variable)),
          group=False)

  def _update(self, variable, grad, accumulator, lr, decay):
    if decay and self._weight_decay:
      grad = grad + self._weight_decay * variable
    accumulator.assign(self._momentum * accumulator + grad)
    variable.assign_sub(lr * accumulator)
