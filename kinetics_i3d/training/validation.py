"""The checks of a training configuration, made before anything is read.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

`validate_config` checks every field of `config.get_config` on its own (a
choice among its values, a lower bound) and then the ones that depend on
each other: the crop inside the resized frame, an original checkpoint of
the stream trained, and clips the network can take up to its final
endpoint (I3D's logits need 9 frames and full-size crops). A new numeric
field is a row of `_MINIMA`, a new choice a row of `_CHOICES`.
"""

from typing import Tuple

import ml_collections
import tensorflow as tf

import i3d
from kinetics_i3d import streams
from kinetics_i3d.flow import backends
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import schedule
from kinetics_i3d.weights import checkpoints

TrainError = config_lib.TrainError

# (field, smallest valid value) of the numeric settings.
_MINIMA = (
    ('num_classes', 1), ('seed', 0), ('cpu_replicas', 0),
    ('checkpoint_every', 1), ('max_checkpoints', 1), ('summary_every', 1),
    ('data.resize', 1), ('data.crop_size', 1), ('data.num_frames', 1),
    ('data.eval_num_frames', 0), ('data.parallelism', 0),
    ('optim.per_replica_batch_size', 1), ('optim.reference_batch_size', 1),
    ('optim.momentum', 0.), ('optim.weight_decay', 0.),
)
# (field, valid values) of the settings that name a choice.
_CHOICES = (
    ('mode', config_lib.MODES), ('stream', streams.STREAMS),
    ('strategy', config_lib.STRATEGIES),
    ('optim.schedule', config_lib.SCHEDULES),
    ('optim.lr_scaling', config_lib.LR_SCALINGS),
    ('model.final_endpoint', i3d.VALID_ENDPOINTS),
)


def _check_fields(config: ml_collections.ConfigDict) -> None:
  """Each field on its own: choices, ranges, required values."""
  for name, choices in _CHOICES:
    value = config_lib.get_field(config, name)
    if value not in choices:
      raise TrainError(f'{name} must be one of {tuple(choices)}, got '
                       f'{value!r}.')
  for name, minimum in _MINIMA:
    value = config_lib.get_field(config, name)
    if value < minimum:
      raise TrainError(f'{name} must be at least {minimum}, got {value}.')
  if not config.model_dir:
    raise TrainError('Set config.model_dir: checkpoints and summaries go '
                     'there.')
  if not 0. < config.model.dropout_keep_prob <= 1.:
    raise TrainError('model.dropout_keep_prob is a keep probability in (0, 1],'
                     f' got {config.model.dropout_keep_prob}.')
  backend = config.data.flow_backend
  if backend is not None and backend not in backends.BACKENDS:
    raise TrainError(f'data.flow_backend must be one of {backends.BACKENDS} '
                     f'(or unset for the default), got {backend!r}.')


def _check_clip_shape(config: ml_collections.ConfigDict) -> None:
  """Clips the network takes up to `model.final_endpoint`."""
  data = config.data
  try:
    # The clip shape alone (a TensorSpec: no values, no device): too few
    # frames or too small crops would otherwise fail inside the first step.
    i3d.validate_inputs(
        tf.TensorSpec([
            1, data.num_frames, data.crop_size, data.crop_size,
            streams.CHANNELS[config.stream]
        ], tf.float32),
        final_endpoint=config.model.final_endpoint,
        name='data.num_frames/data.crop_size')
  except ValueError as e:
    raise TrainError(str(e)) from None


def validate_config(config: ml_collections.ConfigDict
                   ) -> Tuple[Tuple[int, ...], Tuple[float, ...], int]:
  """Checks every setting of a training run; reads and writes no file.

  Args:
    config: A training configuration (`config.get_config`).

  Returns:
    The learning-rate schedule: (boundaries, values, train_steps).

  Raises:
    TrainError: Naming the first bad field.
  """
  _check_fields(config)
  if config.data.crop_size > config.data.resize:
    raise TrainError(f'data.crop_size ({config.data.crop_size}) must not '
                     f'exceed data.resize ({config.data.resize}).')
  spec = checkpoints.ORIGINAL_CHECKPOINTS.get(config.model.init_checkpoint)
  if spec is not None and spec.stream != config.stream:
    raise TrainError(
        f'model.init_checkpoint={config.model.init_checkpoint} is a '
        f'{spec.stream} checkpoint but stream={config.stream}; use a '
        f'{config.stream}_* checkpoint.')
  _check_clip_shape(config)
  return schedule.lr_schedule(config)
