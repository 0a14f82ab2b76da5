"""Data-parallel training of I3D through `tf.distribute`.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

DeepMind trained each stream with synchronous SGD on 64 replicas of 6 clips.
`make_strategy('mirrored')` uses every GPU of the machine (or the CPU, split
into logical devices with `cpu_replicas`), `'multi_worker'` spans the
machines described by `TF_CONFIG`. BatchNorm uses each replica's own batch
statistics, as the per-GPU BatchNorm of the original; the moving averages are
mirrored variables with MEAN aggregation, so they stay identical (the EMA of
the mean of per-replica statistics).
"""

import json
import os
from typing import List, Optional, Tuple

import tensorflow as tf

from kinetics_i3d.training import config as config_lib

TrainError = config_lib.TrainError


def distribution_aware_creator(next_creator, **kwargs):
  """Lets replicas update non-trainable variables (BatchNorm statistics).

  Float statistics average the replicas' updates (MEAN); counters and
  anything else take the first replica's (identical) update.
  """
  if kwargs.get('aggregation') in (None, tf.VariableAggregation.NONE):
    trainable = kwargs.get('trainable')
    dtype = kwargs.get('dtype') or getattr(kwargs.get('initial_value'),
                                            'dtype', None)
    if trainable is False:
      if dtype is not None and tf.as_dtype(dtype).is_floating:
        kwargs['aggregation'] = tf.VariableAggregation.MEAN
      else:
        kwargs['aggregation'] = tf.VariableAggregation.ONLY_FIRST_REPLICA
  return next_creator(**kwargs)


def split_cpu(num_devices: int) -> List[str]:
  """Splits the CPU into `num_devices` logical devices; returns their names.

  Raises:
    TrainError: If TensorFlow has already initialised its devices otherwise.
  """
  cpu = tf.config.list_physical_devices('CPU')[0]
  try:
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
  except RuntimeError as e:
    # Fine if an earlier call made the same split.
    if len(tf.config.list_logical_devices('CPU')) != num_devices:
      raise TrainError(f'cpu_replicas={num_devices}: TensorFlow has already '
                       f'initialised its devices ({e}); set it at start-up.'
                      ) from e
  return [d.name for d in tf.config.list_logical_devices('CPU')]


def make_strategy(name: str, cpu_replicas: int = 0) -> tf.distribute.Strategy:
  """MirroredStrategy (local devices) or MultiWorkerMirroredStrategy.

  Args:
    name: One of `config.STRATEGIES`.
    cpu_replicas: With 'mirrored' on a machine without GPUs, if > 0: that
      many replicas on logical CPU devices (see `split_cpu`).

  Returns:
    The strategy.

  Raises:
    TrainError: For an unknown name or a missing TF_CONFIG.
  """
  if (name == 'mirrored' and cpu_replicas > 0 and
      not tf.config.list_physical_devices('GPU')):
    return tf.distribute.MirroredStrategy(split_cpu(cpu_replicas))
  if name == 'mirrored':
    return tf.distribute.MirroredStrategy()
  if name == 'multi_worker':
    if not os.environ.get('TF_CONFIG'):
      raise TrainError('strategy=multi_worker needs the TF_CONFIG environment '
                       'variable describing the cluster and this task.')
    return tf.distribute.MultiWorkerMirroredStrategy()
  raise TrainError(f'strategy must be one of {config_lib.STRATEGIES}, got '
                   f'{name!r}.')


def task(strategy: tf.distribute.Strategy) -> Tuple[Optional[str], int]:
  """(task type, task id) of this process; (None, 0) outside a cluster."""
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not resolver.task_type:
    return None, 0
  return resolver.task_type, int(resolver.task_id or 0)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """The task that writes checkpoints and summaries."""
  task_type, task_id = task(strategy)
  if task_type is None or task_type == 'chief':
    return True
  cluster = json.loads(os.environ.get('TF_CONFIG', '{}')).get('cluster', {})
  return task_type == 'worker' and task_id == 0 and 'chief' not in cluster
