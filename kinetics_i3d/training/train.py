r"""Trains one stream of I3D with the recipe of the paper.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

DeepMind released no training code; the kinetics-i3d README documents the
recipe, which `config.get_config` states (the recipes in `configs/` build on
it):

* synchronous SGD with momentum 0.9, weight decay 1e-7 (`optimizer.py`),
  dropout keep probability 0.5 before the logits, BatchNorm in training mode
  with decay 0.999 (`i3d.py`);
* minibatches of 6 clips per replica; one softmax cross-entropy per stream
  (RGB and flow are trained separately and combined at test time by adding
  their logits, `evaluation.py`);
* the README's piecewise-constant learning rates (`schedule.py`).

Scale. Training is data parallel through `tf.distribute` (`distribution.py`).
The global batch is `optim.per_replica_batch_size` x replicas; with
`optim.lr_scaling='linear'` (default) the learning rate is multiplied by
global_batch / `optim.reference_batch_size` (384 = DeepMind's 64 x 6).

A run validates its whole configuration, the writability of its folders and
the presence of `model.init_checkpoint` before any long work (preprocessing
the videos into the cache, `train_data.py`) and writes nothing before that.
Checkpoints (model, momentum, step) are written every `checkpoint_every`
steps (`checkpointing.py`); the first, at step 0, comes with
`train_meta.json`. A restarted run resumes at the saved step with the saved
optimizer state and reads exactly the clips an uninterrupted run would have
read; dropout masks are seeded by step and replica (`train_step.py`).
Without `deterministic`, TensorFlow's kernels round differently from run to
run (their sums depend on thread scheduling), so the weights of two runs
drift apart; `deterministic=True` enables op determinism and runs one op at
a time (`train_step.enable_determinism`), so that two runs, or a killed and
resumed run and an uninterrupted one, end with bit-identical weights.
"""

import dataclasses
import functools
import os
import shutil
import time
from typing import Callable, List, Optional, Sequence, Tuple

from absl import logging
import ml_collections
import numpy as np
import tensorflow as tf

from kinetics_i3d.training import checkpointing
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import distribution
from kinetics_i3d.training import initialisation
from kinetics_i3d.training import schedule
from kinetics_i3d.training import summaries
from kinetics_i3d.training import train_data
from kinetics_i3d.training import train_step
from kinetics_i3d.training import validation
from kinetics_i3d.training import workdir

TrainError = config_lib.TrainError

DatasetFn = Callable[[tf.distribute.InputContext], tf.data.Dataset]


@dataclasses.dataclass
class TrainResult:
  """What `train` did (for tests and logs)."""
  step: int
  losses: List[float]
  restored: List[str]
  skipped_videos: int


def _list_data(config: ml_collections.ConfigDict
               ) -> Tuple[List[train_data.Example], Optional[List[str]]]:
  """The training videos and class names (see `train_data.load_examples`)."""
  data = config.data
  return train_data.load_examples(
      data.train_dir, data.train_split, data.video_root, data.label_offset,
      config.num_classes, 'train')


def _prepare_data(config: ml_collections.ConfigDict,
                  examples: Sequence[train_data.Example],
                  class_names: Optional[Sequence[str]]
                 ) -> Tuple[List[train_data.CachedExample], int]:
  """Preprocesses the training videos; (usable videos, skipped)."""
  data = config.data
  cached = train_data.build_cache(
      examples, workdir.cache_dir(config), config.stream, data.resize,
      parallelism=data.parallelism or None, flow_backend=data.flow_backend)
  train_data.warn_empty_classes(examples, cached, class_names)
  return cached, len(examples) - len(cached)


def _check_before_work(config: ml_collections.ConfigDict) -> Optional[str]:
  """The checks on files, before any long work; returns the resume point.

  Raises:
    TrainError: For an unwritable folder, a model_dir of another run or a
      missing `model.init_checkpoint`.
  """
  workdir.check_writable(config.model_dir, 'model_dir')
  if config.data.cache_dir:
    workdir.check_writable(config.data.cache_dir, 'data.cache_dir')
  workdir.check_meta(config)
  resume_from = workdir.latest_checkpoint(config.model_dir)
  if not resume_from and config.model.init_checkpoint:
    initialisation.check_init_checkpoint(config)
  return resume_from


def _train_loop(session: checkpointing.Session,
                config: ml_collections.ConfigDict,
                step_fn: train_step.TrainStep, dataset_fn: DatasetFn,
                start_step: int, end_step: int,
                global_batch: int) -> List[float]:
  """Runs steps [start_step, end_step); returns their losses."""
  writer = (
      tf.summary.create_file_writer(os.path.join(config.model_dir, 'train'))
      if session.chief else tf.summary.create_noop_writer())
  losses = []
  if start_step >= end_step:
    return losses
  iterator = iter(
      session.strategy.distribute_datasets_from_function(dataset_fn))
  try:
    _run_steps(session, config, step_fn, iterator, writer, losses,
               start_step, end_step, global_batch)
  except KeyboardInterrupt:
    # Ctrl-C: keep the steps finished since the last checkpoint.
    checkpointing.save_after_interruption(session, start_step,
                                          config.checkpoint_every)
    raise
  return losses


def _run_steps(session: checkpointing.Session,
               config: ml_collections.ConfigDict,
               step_fn: train_step.TrainStep,
               iterator: tf.distribute.DistributedIterator,
               writer: tf.summary.SummaryWriter, losses: List[float],
               start_step: int, end_step: int, global_batch: int) -> None:
  """Runs steps [start_step, end_step), appending their losses."""
  window_start, window_steps = time.perf_counter(), 0
  for step in range(start_step, end_step):
    loss, accuracy, lr = step_fn(iterator)
    loss = float(loss)
    losses.append(loss)
    window_steps += 1
    done = step + 1
    if not np.isfinite(loss):
      raise TrainError(f'Loss became {loss} at step {done}; lower the '
                       'learning rate.')
    if done % config.summary_every == 0 or done == end_step:
      summaries.log_step(writer, done, loss, float(accuracy), float(lr),
                         global_batch, window_steps,
                         time.perf_counter() - window_start)
      window_start, window_steps = time.perf_counter(), 0
    if done % config.checkpoint_every == 0 or done == end_step:
      path = session.manager.save(checkpoint_number=done)
      if session.chief:
        logging.info('Saved %s.', path)


def _dataset_fn(config: ml_collections.ConfigDict,
                cached: Sequence[train_data.CachedExample], start_step: int,
                end_step: int) -> DatasetFn:
  """The clips of steps [start_step, end_step) of each input pipeline."""

  def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
    per_pipeline = context.num_replicas_in_sync // context.num_input_pipelines
    first = context.input_pipeline_id * per_pipeline
    return train_data.train_dataset(
        cached, config.stream, config.data.num_frames, config.data.crop_size,
        config.optim.per_replica_batch_size, context.num_replicas_in_sync,
        range(first, first + per_pipeline), start_step, end_step,
        config.seed, parallelism=config.data.parallelism or None,
        deterministic=config.deterministic)

  return dataset_fn


def _scaled_learning_rate(config: ml_collections.ConfigDict,
                          strategy: tf.distribute.Strategy
                         ) -> Tuple[Callable[[tf.Tensor], tf.Tensor], int]:
  """(learning rate of a step, global batch), logged with the replicas."""
  boundaries, values, train_steps = schedule.lr_schedule(config)
  per_replica = config.optim.per_replica_batch_size
  global_batch = per_replica * strategy.num_replicas_in_sync
  lr_scale = schedule.lr_scale(config, global_batch)
  logging.info(
      '%d replica(s) x %d clips = global batch %d; learning rates %s x %.4g '
      '(%s scaling) at boundaries %s; %d steps.',
      strategy.num_replicas_in_sync, per_replica, global_batch, values,
      lr_scale, config.optim.lr_scaling, boundaries, train_steps)
  lr_fn = functools.partial(schedule.learning_rate, boundaries=boundaries,
                            values=values, scale=lr_scale)
  return lr_fn, global_batch


def train(config: ml_collections.ConfigDict,
          strategy: Optional[tf.distribute.Strategy] = None) -> TrainResult:
  """Trains one stream as `config` says, resuming from `model_dir` if any.

  Args:
    config: See `config.get_config`.
    strategy: A `tf.distribute` strategy; made from `config.strategy` if None.

  Returns:
    A `TrainResult`.

  Raises:
    TrainError (train_data.DatasetError included): For a configuration,
      dataset, folder or checkpoint training cannot use, before anything is
      written.
  """
  _, _, end_step = validation.validate_config(config)
  resume_from = _check_before_work(config)
  # The dataset is checked before a strategy is made (and logged).
  examples, class_names = _list_data(config)
  # Threads and devices are configured before TensorFlow runs any op.
  if config.deterministic:
    train_step.enable_determinism(config.seed)
  strategy = strategy or distribution.make_strategy(config.strategy,
                                                    config.cpu_replicas)
  cached, skipped = _prepare_data(config, examples, class_names)
  lr_fn, global_batch = _scaled_learning_rate(config, strategy)
  session = checkpointing.create_session(config, strategy)
  restored, _ = checkpointing.start(session, config, resume_from)
  start_step = int(session.step_var.numpy())
  step_fn = train_step.make_train_step(
      strategy, session.model, session.optimizer, session.step_var, lr_fn,
      global_batch, float(config.model.dropout_keep_prob), int(config.seed))
  losses = _train_loop(session, config, step_fn,
                       _dataset_fn(config, cached, start_step, end_step),
                       start_step, end_step, global_batch)
  if not session.chief and os.path.isdir(session.checkpoint_dir):
    shutil.rmtree(session.checkpoint_dir, ignore_errors=True)
  return TrainResult(int(session.step_var.numpy()), losses, restored, skipped)
