"""Learning-rate schedules of I3D's training recipe.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

The kinetics-i3d README gives piecewise-constant schedules for the two
streams, run on 64 replicas of 6 clips: RGB 0.1 until 97k steps, 0.01 until
108k, 0.001 until 115k; Flow 0.1, 0.01 at 97k, 0.001 at 104.5k, 0.1 again at
115k, 0.01 at 140k, 0.001 at 150k, end at 155k. Any other schedule is given
as `optim.lr_boundaries` and `optim.lr_values` with `optim.schedule=custom`.
With `optim.lr_scaling='linear'` the rates are multiplied by global batch /
`optim.reference_batch_size` (the linear scaling rule).
"""

from typing import Sequence, Tuple

import ml_collections
import numpy as np
import tensorflow as tf

from kinetics_i3d.training import config as config_lib

TrainError = config_lib.TrainError

# The README's schedules: (boundaries in steps, learning rates, last step).
LR_PRESETS = {
    'rgb': ((97000, 108000), (1e-1, 1e-2, 1e-3), 115000),
    'flow': ((97000, 104500, 115000, 140000, 150000),
             (1e-1, 1e-2, 1e-3, 1e-1, 1e-2, 1e-3), 155000),
}


def _custom_schedule(optim: ml_collections.ConfigDict
                    ) -> Tuple[Tuple[int, ...], Tuple[float, ...], int]:
  boundaries = tuple(int(b) for b in optim.lr_boundaries)
  values = tuple(float(v) for v in optim.lr_values)
  if boundaries == (0,):
    boundaries = ()  # The default placeholder: one constant rate.
  end = int(optim.train_steps)
  if len(values) != len(boundaries) + 1:
    raise TrainError(
        f'optim.lr_values needs one more entry than optim.lr_boundaries, got '
        f'{len(values)} values for {len(boundaries)} boundaries.')
  if list(boundaries) != sorted(set(boundaries)) or any(
      b <= 0 for b in boundaries):
    raise TrainError('optim.lr_boundaries must be positive and increasing, '
                     f'got {boundaries}.')
  if end <= 0:
    raise TrainError('optim.train_steps must be set (> 0) with a custom '
                     'schedule.')
  return boundaries, values, end


def lr_schedule(config: ml_collections.ConfigDict
               ) -> Tuple[Tuple[int, ...], Tuple[float, ...], int]:
  """Resolves the schedule: (boundaries, values, train_steps).

  `values[i]` applies from `boundaries[i - 1]` (inclusive) to `boundaries[i]`.

  Args:
    config: A training configuration (`config.get_config`).

  Returns:
    The step boundaries, the learning rates (one more) and the last step.

  Raises:
    TrainError: For an unknown schedule or an inconsistent custom one.
  """
  optim = config.optim
  name = config.stream if optim.schedule == 'stream' else optim.schedule
  if name not in LR_PRESETS and name != 'custom':
    raise TrainError(f'optim.schedule must be one of '
                     f'{config_lib.SCHEDULES}, got {optim.schedule!r}.')
  if name == 'custom':
    boundaries, values, end = _custom_schedule(optim)
  else:
    boundaries, values, end = LR_PRESETS[name]
    if optim.train_steps > 0:
      end = int(optim.train_steps)
  if any(v <= 0 for v in values):
    raise TrainError(f'Learning rates must be positive, got {values}.')
  return boundaries, values, end


def lr_scale(config: ml_collections.ConfigDict, global_batch: int) -> float:
  """The factor on the schedule's rates for a global batch of this size.

  Raises:
    TrainError: For an unknown `optim.lr_scaling`.
  """
  scaling = config.optim.lr_scaling
  if scaling not in config_lib.LR_SCALINGS:
    raise TrainError(f'optim.lr_scaling must be one of '
                     f'{config_lib.LR_SCALINGS}, got {scaling!r}.')
  if config.optim.reference_batch_size < 1:
    raise TrainError('optim.reference_batch_size must be at least 1, got '
                     f'{config.optim.reference_batch_size}.')
  if scaling == 'linear':
    return global_batch / config.optim.reference_batch_size
  return 1.


def learning_rate(step: tf.Tensor, boundaries: Sequence[int],
                  values: Sequence[float], scale: float = 1.) -> tf.Tensor:
  """Piecewise-constant rate at `step` (int64 scalar), times `scale`."""
  index = tf.searchsorted(
      tf.constant(list(boundaries) or [np.iinfo(np.int64).max], tf.int64),
      tf.reshape(tf.cast(step, tf.int64), [1]),
      side='right')[0]
  rates = tf.constant(values, tf.float32) * scale
  return tf.gather(rates, index)
