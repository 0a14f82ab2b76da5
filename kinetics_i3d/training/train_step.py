"""The synchronous training step of one I3D stream, and its starting state.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

The recipe of the kinetics-i3d README (`config.get_config`): each replica
computes one softmax cross-entropy on its own minibatch with BatchNorm in
training mode on the replica's batch statistics and dropout before the
logits; the gradients are summed across replicas before one momentum-SGD
update (`optimizer.py`) at the step's learning rate (`schedule.py`).
Dropout masks are seeded by (seed, step, replica), so a resumed run draws
the masks an uninterrupted one would have drawn.
"""

import random
from typing import Any, Callable, Tuple

import numpy as np
import tensorflow as tf

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import distribution
from kinetics_i3d.training import optimizer as optimizer_lib
from kinetics_i3d.training import stream_model

TrainError = config_lib.TrainError

# `step(iterator) -> (loss, batch accuracy, learning rate)`.
TrainStep = Callable[[Any], Tuple[tf.Tensor, tf.Tensor, tf.Tensor]]


def enable_determinism(seed: int) -> None:
  """Deterministic TensorFlow kernels, one op at a time, seeded generators.

  The clips, crops, flips and dropout masks already derive from the seed
  alone; this removes the rest. TensorFlow's op determinism replaces kernels
  whose floating-point sums depend on thread scheduling; it is not enough on
  CPU, where kernels (the stem convolution's, with oneDNN) still round
  differently when other ops run concurrently, so ops also run one at a
  time (each still on every core). Process-wide and irreversible; call it
  before TensorFlow runs its first op.

  Args:
    seed: Seed of Python's, NumPy's and TensorFlow's global generators.

  Raises:
    TrainError: If TensorFlow has already started with concurrent ops.
  """
  try:
    tf.config.threading.set_inter_op_parallelism_threads(1)
  except RuntimeError as e:
    if tf.config.threading.get_inter_op_parallelism_threads() != 1:
      raise TrainError(
          'deterministic=True must take effect before TensorFlow starts (it '
          'runs ops one at a time); run training in a new process, e.g. '
          'with i3d-train.') from e
  tf.config.experimental.enable_op_determinism()
  random.seed(seed)
  np.random.seed(seed)
  tf.random.set_seed(seed)


def create_training_state(
    strategy: tf.distribute.Strategy, num_classes: int, final_endpoint: str,
    num_channels: int, momentum: float, weight_decay: float, seed: int
) -> Tuple[stream_model.StreamModel, optimizer_lib.MomentumSGD, tf.Variable]:
  """Model, optimizer and step counter, created under `strategy`.

  Non-trainable variables get the aggregation that lets replicas update
  them (see `distribution.distribution_aware_creator`).

  Args:
    strategy: The strategy that places the variables.
    num_classes: Classes of the logits head.
    final_endpoint: The I3D endpoint the head reads (`stream_model`).
    num_channels: Input channels of the stream (`streams.CHANNELS`).
    momentum: Momentum of the SGD update.
    weight_decay: L2 weight of the kernels.
    seed: TensorFlow's global seed, which draws the initial weights.

  Returns:
    `(model, optimizer, step)`; `step` is an int64 variable at 0.
  """
  # Same initial weights for the same seed, on every worker.
  tf.random.set_seed(seed)
  with strategy.scope(), tf.variable_creator_scope(
      distribution.distribution_aware_creator):
    model = stream_model.StreamModel(num_classes, final_endpoint)
    model.build(num_channels)
    optimizer = optimizer_lib.MomentumSGD(model.trainable_variables, momentum,
                                         weight_decay)
    step_var = tf.Variable(
        0, dtype=tf.int64, trainable=False, name='global_step')
  return model, optimizer, step_var


def _correct_fraction(logits: tf.Tensor, labels: tf.Tensor,
                      global_batch: int) -> tf.Tensor:
  """This replica's top-1 hits as a fraction of the global batch."""
  predictions = tf.argmax(logits, -1, output_type=tf.int32)
  hits = tf.reduce_sum(tf.cast(tf.equal(predictions, labels), tf.float32))
  return hits / global_batch


def make_train_step(strategy: tf.distribute.Strategy,
                    model: stream_model.StreamModel,
                    optimizer: optimizer_lib.MomentumSGD,
                    step_var: tf.Variable,
                    lr_fn: Callable[[tf.Tensor], tf.Tensor],
                    global_batch: int, keep_prob: float,
                    seed: int) -> TrainStep:
  """The synchronous training step, as a `tf.function` of an iterator.

  Args:
    strategy: The strategy the model and optimizer were created under.
    model: The model.
    optimizer: Its optimizer.
    step_var: int64 step counter, incremented by each call.
    lr_fn: Learning rate as a function of the step.
    global_batch: Clips per step over all replicas (the loss divisor).
    keep_prob: Dropout keep probability before the logits.
    seed: Seed of the dropout masks (folded with step and replica).

  Returns:
    `step(iterator) -> (loss, batch accuracy, learning rate)`, each a scalar
    over the global batch.
  """
  variables = model.trainable_variables

  def replica_step(clips, labels):
    context = tf.distribute.get_replica_context()
    step = step_var.read_value()
    lr = lr_fn(step)
    dropout_seed = tf.random.experimental.stateless_fold_in(
        tf.stack([tf.constant(seed, tf.int64), step]),
        context.replica_id_in_sync_group)
    with tf.GradientTape() as tape:
      logits = model(clips, is_training=True, dropout_keep_prob=keep_prob,
                     dropout_seed=dropout_seed)
      losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
      # Summed over the replica's clips and divided by the global batch, so
      # the all-reduced SUM of gradients is the gradient of the mean loss.
      loss = tf.reduce_sum(losses) / global_batch
    grads = tape.gradient(loss, variables)
    grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
    optimizer.apply(grads, variables, lr)
    return loss, _correct_fraction(logits, labels, global_batch), lr

  @tf.function
  def train_step(iterator):
    loss, accuracy, lr = strategy.run(replica_step, args=next(iterator))
    sum_ = tf.distribute.ReduceOp.SUM
    loss = strategy.reduce(sum_, loss, axis=None)
    accuracy = strategy.reduce(sum_, accuracy, axis=None)
    lr = strategy.reduce(tf.distribute.ReduceOp.MEAN, lr, axis=None)
    step_var.assign_add(1)
    return loss, accuracy, lr

  return train_step
