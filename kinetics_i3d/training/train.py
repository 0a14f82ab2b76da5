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
steps by a `tf.train.CheckpointManager` (atomic: the state file is renamed
into place last) under `model_dir` (`workdir.py`); the first, at step 0,
comes with `train_meta.json`. A restarted run resumes at the saved step with
the saved optimizer state and reads exactly the clips an uninterrupted run
would have read; dropout masks are seeded by step and replica.
Without `deterministic`, TensorFlow's kernels round differently from run to
run (their sums depend on thread scheduling), so the weights of two runs
drift apart; `deterministic=True` enables op determinism and runs one op at
a time (`enable_determinism`), so that two runs, or a killed and resumed run
and an uninterrupted one, end with bit-identical weights.
"""

import dataclasses
import functools
import os
import random
import shutil
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from absl import logging
import ml_collections
import numpy as np
import tensorflow as tf

from tensorflow.core.framework import summary_pb2
import i3d
from kinetics_i3d import streams
from kinetics_i3d.flow import backends
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import distribution
from kinetics_i3d.training import initialisation
from kinetics_i3d.training import optimizer as optimizer_lib
from kinetics_i3d.training import schedule
from kinetics_i3d.training import stream_model
from kinetics_i3d.training import train_data
from kinetics_i3d.training import workdir
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
  try:
    # The clip shape alone (a TensorSpec: no values, no device): too few
    # frames or too small crops would otherwise fail inside the first step.
    i3d.validate_inputs(
        tf.TensorSpec([
            1, config.data.num_frames, config.data.crop_size,
            config.data.crop_size, streams.CHANNELS[config.stream]
        ], tf.float32),
        final_endpoint=config.model.final_endpoint,
        name='data.num_frames/data.crop_size')
  except ValueError as e:
    raise TrainError(str(e)) from None
  return schedule.lr_schedule(config)


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


def make_train_step(strategy: tf.distribute.Strategy,
                    model: stream_model.StreamModel,
                    optimizer: optimizer_lib.MomentumSGD,
                    step_var: tf.Variable,
                    lr_fn: Callable[[tf.Tensor], tf.Tensor],
                    global_batch: int, keep_prob: float,
                    seed: int) -> Callable[[Any], Tuple[tf.Tensor, ...]]:
  """The synchronous training step, as a `tf.function` of an iterator.

  Each replica takes its batch from the distributed iterator, computes the
  softmax cross-entropy (BatchNorm on its own batch statistics), and the
  gradients are summed across replicas before one momentum-SGD update.

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
    correct = tf.reduce_sum(
        tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels),
                tf.float32))
    return loss, correct / global_batch, lr

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


def create_training_state(
    strategy: tf.distribute.Strategy, num_classes: int, final_endpoint: str,
    num_channels: int, momentum: float, weight_decay: float, seed: int
) -> Tuple[stream_model.StreamModel, optimizer_lib.MomentumSGD, tf.Variable]:
  """Model, optimizer and step counter, created under `strategy`.

  Non-trainable variables get the aggregation that lets replicas update
  them (see `distribution.distribution_aware_creator`).
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


@dataclasses.dataclass
class TrainResult:
  """What `train` did (for tests and logs)."""
  step: int
  losses: List[float]
  restored: List[str]
  reinitialised: List[str]
  model: stream_model.StreamModel
  skipped_videos: int


@dataclasses.dataclass
class _Session:
  """The training state of one process and where it is checkpointed."""
  strategy: tf.distribute.Strategy
  chief: bool
  model: stream_model.StreamModel
  optimizer: optimizer_lib.MomentumSGD
  step_var: tf.Variable
  checkpoint: tf.train.Checkpoint
  manager: tf.train.CheckpointManager
  checkpoint_dir: str


def _create_session(config: ml_collections.ConfigDict,
                    strategy: tf.distribute.Strategy) -> _Session:
  """Model, optimizer, step and checkpoint manager (nothing written yet)."""
  chief = distribution.is_chief(strategy)
  model, optimizer, step_var = create_training_state(
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
  return _Session(strategy, chief, model, optimizer, step_var, checkpoint,
                  manager, directory)


def _start(session: _Session, config: ml_collections.ConfigDict,
           resume_from: Optional[str]) -> Tuple[List[str], List[str]]:
  """Resumes, or initialises and commits step 0 with the run's settings.

  Returns:
    `(restored, reinitialised)` variable names when starting from
    `model.init_checkpoint`, else two empty lists.

  Raises:
    TrainError: If the checkpoint to resume from does not fit the model.
  """
  restored, reinitialised = [], []
  if resume_from:
    try:
      session.checkpoint.restore(resume_from).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
      raise TrainError(
          f'Cannot resume from {resume_from}: it does not match this model '
          f'({str(e).splitlines()[0][:300]}). Use a new model_dir.') from e
    logging.info('Resumed from %s at step %d.', resume_from,
                 int(session.step_var.numpy()))
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


def _log_step(writer: tf.summary.SummaryWriter, step: int, loss: float,
              accuracy: float, lr: float, global_batch: int,
              window_steps: int, elapsed: float) -> None:
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


def _train_loop(session: _Session, config: ml_collections.ConfigDict,
                train_step: Callable[[Any], Tuple[tf.Tensor, ...]],
                dataset_fn: Callable[[tf.distribute.InputContext],
                                     tf.data.Dataset],
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
    _run_steps(session, config, train_step, iterator, writer, losses,
               start_step, end_step, global_batch)
  except KeyboardInterrupt:
    # Ctrl-C: keep the steps finished since the last checkpoint.
    done = int(session.step_var.numpy())
    if done > start_step and done % config.checkpoint_every:
      path = session.manager.save(checkpoint_number=done)
      if session.chief:
        logging.info('Interrupted: saved %s.', path)
    raise
  return losses


def _run_steps(session: _Session, config: ml_collections.ConfigDict,
               train_step: Callable[[Any], Tuple[tf.Tensor, ...]],
               iterator: Any, writer: tf.summary.SummaryWriter,
               losses: List[float], start_step: int, end_step: int,
               global_batch: int) -> None:
  """Runs steps [start_step, end_step), appending their losses."""
  window_start, window_steps = time.perf_counter(), 0
  for step in range(start_step, end_step):
    loss, accuracy, lr = train_step(iterator)
    loss = float(loss)
    losses.append(loss)
    window_steps += 1
    done = step + 1
    if not np.isfinite(loss):
      raise TrainError(f'Loss became {loss} at step {done}; lower the '
                       'learning rate.')
    if done % config.summary_every == 0 or done == end_step:
      _log_step(writer, done, loss, float(accuracy), float(lr), global_batch,
                window_steps, time.perf_counter() - window_start)
      window_start, window_steps = time.perf_counter(), 0
    if done % config.checkpoint_every == 0 or done == end_step:
      path = session.manager.save(checkpoint_number=done)
      if session.chief:
        logging.info('Saved %s.', path)


def train(config: ml_collections.ConfigDict,
          strategy: Optional[tf.distribute.Strategy] = None,
          stop_at: Optional[int] = None) -> TrainResult:
  """Trains one stream as `config` says, resuming from `model_dir` if any.

  Args:
    config: See `config.get_config`.
    strategy: A `tf.distribute` strategy; made from `config.strategy` if None.
    stop_at: Stop (after checkpointing) at this step, as an interruption
      would; the schedule still ends at `train_steps`.

  Returns:
    A `TrainResult`.

  Raises:
    TrainError (train_data.DatasetError included): For a configuration,
      dataset, folder or checkpoint training cannot use, before anything is
      written.
  """
  boundaries, values, train_steps = validate_config(config)
  resume_from = _check_before_work(config)
  # The dataset is checked before a strategy is made (and logged).
  examples, class_names = _list_data(config)
  # Threads and devices are configured before TensorFlow runs any op.
  if config.deterministic:
    enable_determinism(config.seed)
  strategy = strategy or distribution.make_strategy(config.strategy,
                                                    config.cpu_replicas)
  cached, skipped = _prepare_data(config, examples, class_names)
  per_replica = config.optim.per_replica_batch_size
  global_batch = per_replica * strategy.num_replicas_in_sync
  lr_scale = schedule.lr_scale(config, global_batch)
  logging.info(
      '%d replica(s) x %d clips = global batch %d; learning rates %s x %.4g '
      '(%s scaling) at boundaries %s; %d steps.',
      strategy.num_replicas_in_sync, per_replica, global_batch, values,
      lr_scale, config.optim.lr_scaling, boundaries, train_steps)
  session = _create_session(config, strategy)
  restored, reinitialised = _start(session, config, resume_from)
  start_step = int(session.step_var.numpy())
  end_step = min(train_steps, stop_at) if stop_at is not None else train_steps

  def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
    per_pipeline = context.num_replicas_in_sync // context.num_input_pipelines
    first = context.input_pipeline_id * per_pipeline
    return train_data.train_dataset(
        cached, config.stream, config.data.num_frames, config.data.crop_size,
        per_replica, context.num_replicas_in_sync,
        range(first, first + per_pipeline), start_step, end_step,
        config.seed, parallelism=config.data.parallelism or None,
        deterministic=config.deterministic)

  train_step = make_train_step(
      strategy, session.model, session.optimizer, session.step_var,
      functools.partial(schedule.learning_rate, boundaries=boundaries,
                        values=values, scale=lr_scale),
      global_batch, float(config.model.dropout_keep_prob), int(config.seed))
  losses = _train_loop(session, config, train_step, dataset_fn, start_step,
                       end_step, global_batch)
  if not session.chief and os.path.isdir(session.checkpoint_dir):
    shutil.rmtree(session.checkpoint_dir, ignore_errors=True)
  return TrainResult(
      int(session.step_var.numpy()), losses, restored, reinitialised,
      session.model, skipped)


def _scalar_metadata() -> bytes:
  # What tensorboard's scalar summary writes, without importing tensorboard
  # (tensorflow-cpu does not depend on it): the 'scalars' plugin tag.
  metadata = summary_pb2.SummaryMetadata()
  metadata.plugin_data.plugin_name = 'scalars'
  return metadata.SerializeToString()


def write_scalars(writer: tf.summary.SummaryWriter, step: int,
                  scalars: Dict[str, float]) -> None:
  """Writes TensorBoard scalar summaries."""
  metadata = _scalar_metadata()
  with writer.as_default(step=step):
    for name, value in scalars.items():
      tf.summary.write(name, tf.constant(value, tf.float32), metadata=metadata)
  writer.flush()
