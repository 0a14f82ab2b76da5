"""Where a training run of I3D keeps its state, and how it starts or resumes.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

A `Session` holds the model, the momentum-SGD optimizer and the step counter
of one process, and the `tf.train.CheckpointManager` that saves them under
`<model_dir>/checkpoints` (`workdir.py`; atomic: the state file is renamed
into place last). `start` resumes from the latest checkpoint, or initialises
the model (from `model.init_checkpoint` or from scratch) and commits step 0
with `train_meta.json`, so that a run is reproducible from its model_dir.
The TF2 checkpoint keys are the object names given here (`step`,
`optimizer`, and the model's `trackables`): they are API.
"""

import dataclasses
import os
from typing import List, Optional, Tuple

from absl import logging
import ml_collections
import tensorflow as tf

from kinetics_i3d import streams
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import distribution
from kinetics_i3d.training import initialisation
from kinetics_i3d.training import optimizer as optimizer_lib
from kinetics_i3d.training import stream_model
from kinetics_i3d.training import train_step
from kinetics_i3d.training import workdir
from kinetics_i3d.utils import errors

TrainError = config_lib.TrainError


@dataclasses.dataclass
class Session:
  """The training state of one process and where it is checkpointed."""
  strategy: tf.distribute.Strategy
  chief: bool
  model: stream_model.StreamModel
  optimizer: optimizer_lib.MomentumSGD
  step_var: tf.Variable
  checkpoint: tf.train.Checkpoint
  manager: tf.train.CheckpointManager
  checkpoint_dir: str


def create_session(config: ml_collections.ConfigDict,
                   strategy: tf.distribute.Strategy) -> Session:
  """Model, optimizer, step and checkpoint manager (nothing written yet).

  Args:
    config: The run's configuration (`config.get_config`).
    strategy: The strategy the state is created under.

  Returns:
    The session; a worker other than the chief checkpoints into a hidden
    folder of its own, since every worker must take part in saving.
  """
  chief = distribution.is_chief(strategy)
  model, optimizer, step_var = train_step.create_training_state(
      strategy, config.num_classes, config.model.final_endpoint,
      streams.CHANNELS[config.stream], config.optim.momentum,
      config.optim.weight_decay, config.seed)
  checkpoint = tf.train.Checkpoint(
      step=step_var, optimizer=optimizer, **model.trackables())
  directory = workdir.checkpoint_dir(config.model_dir)
  if not chief:
    # Every worker must take part in saving; only the chief's copy is kept.
    task_type, task_id = distribution.task(strategy)
    directory = os.path.join(config.model_dir,
                             f'.worker_tmp_{task_type}_{task_id}')
  manager = tf.train.CheckpointManager(
      checkpoint, directory, max_to_keep=config.max_checkpoints)
  return Session(strategy, chief, model, optimizer, step_var, checkpoint,
                 manager, directory)


def _resume(session: Session, resume_from: str) -> None:
  try:
    session.checkpoint.restore(resume_from).assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    raise TrainError(
        f'Cannot resume from {resume_from}: it does not match this model '
        f'({errors.first_line(e)}). Use a new model_dir.') from e
  logging.info('Resumed from %s at step %d.', resume_from,
               int(session.step_var.numpy()))


def start(session: Session, config: ml_collections.ConfigDict,
          resume_from: Optional[str]) -> Tuple[List[str], List[str]]:
  """Resumes, or initialises and commits step 0 with the run's settings.

  Args:
    session: The state to fill.
    config: The run's configuration.
    resume_from: The checkpoint prefix to resume from, or None to start.

  Returns:
    `(restored, reinitialised)` variable names when starting from
    `model.init_checkpoint`, else two empty lists.

  Raises:
    TrainError: If the checkpoint to resume from does not fit the model.
  """
  restored, reinitialised = [], []
  if resume_from:
    _resume(session, resume_from)
  elif config.model.init_checkpoint:
    restored, reinitialised = initialisation.initialise_from_checkpoint(
        session.model, config)
    initialisation.log_initialisation(config.model.init_checkpoint, restored,
                                      reinitialised)
  else:
    logging.info('Training from scratch (no model.init_checkpoint).')
  if not resume_from:
    # The starting point, so that a run is reproducible from its model_dir.
    session.manager.save(checkpoint_number=0)
  if session.chief:
    workdir.write_meta(config)
  return restored, reinitialised


def save_after_interruption(session: Session, start_step: int,
                            checkpoint_every: int) -> None:
  """Saves the steps finished since the last checkpoint, if any.

  Args:
    session: The interrupted run's state.
    start_step: The step the run started (or resumed) at.
    checkpoint_every: The run's checkpoint period.
  """
  done = int(session.step_var.numpy())
  if done > start_step and done % checkpoint_every:
    path = session.manager.save(checkpoint_number=done)
    if session.chief:
      logging.info('Interrupted: saved %s.', path)
