"""The training curves of an I3D run, as TensorBoard scalars and log lines.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Every `summary_every` steps `train.py` writes the loss, the batch accuracy,
the learning rate and the throughput under `<model_dir>/train`; tensorboard
itself is not imported (tensorflow-cpu does not depend on it).
"""

from typing import Dict

from absl import logging
import tensorflow as tf

from tensorflow.core.framework import summary_pb2


def _scalar_metadata() -> bytes:
  # What tensorboard's scalar summary writes, without importing tensorboard:
  # the 'scalars' plugin tag.
  metadata = summary_pb2.SummaryMetadata()
  metadata.plugin_data.plugin_name = 'scalars'
  return metadata.SerializeToString()


def write_scalars(writer: tf.summary.SummaryWriter, step: int,
                  scalars: Dict[str, float]) -> None:
  """Writes TensorBoard scalar summaries and flushes them.

  Args:
    writer: Where they go.
    step: The step they belong to.
    scalars: {tag: value}.
  """
  metadata = _scalar_metadata()
  with writer.as_default(step=step):
    for name, value in scalars.items():
      tf.summary.write(name, tf.constant(value, tf.float32), metadata=metadata)
  writer.flush()


def log_step(writer: tf.summary.SummaryWriter, step: int, loss: float,
             accuracy: float, lr: float, global_batch: int,
             window_steps: int, elapsed: float) -> None:
  """Writes and logs one step's curves and the throughput since the last.

  Args:
    writer: Where the scalars go.
    step: Steps done.
    loss: The step's mean loss.
    accuracy: The step's batch accuracy.
    lr: The step's learning rate.
    global_batch: Clips per step over all replicas.
    window_steps: Steps since the last call.
    elapsed: Seconds since the last call.
  """
  examples_per_second = window_steps * global_batch / elapsed
  write_scalars(
      writer, step, {
          'loss': loss,
          'accuracy': accuracy,
          'learning_rate': lr,
          'examples_per_second': examples_per_second,
          'seconds_per_step': elapsed / window_steps,
      })
  logging.info('step %d: loss %.4f, batch accuracy %.3f, lr %.3g, %.2f '
               'clips/s, %.3g s/step', step, loss, accuracy, lr,
               examples_per_second, elapsed / window_steps)
