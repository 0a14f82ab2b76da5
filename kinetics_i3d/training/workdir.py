"""The training run's folder (`model_dir`): its layout and its checks.

Part of the training code for I3D (Joao Carreira, Andrew Zisserman, "Quo
Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017,
https://arxiv.org/abs/1705.07750).

  <model_dir>/checkpoints/ckpt-<step>.*   model, optimizer, step
  <model_dir>/train_meta.json             settings a resumed run must share
  <model_dir>/train/                      TensorBoard summaries
  <model_dir>/cache/                      preprocessed videos (by default)
  <model_dir>/eval_results.json           evaluation mode's accuracies

Nothing is written until everything is validated: `train_meta.json` is
written together with the first checkpoint, so a run that fails its checks
leaves no trace that a later run would have to agree with.
"""

import json
import os
import tempfile
from typing import Any, Dict, Optional

import ml_collections
import tensorflow as tf

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.utils import atomic_files

TrainError = config_lib.TrainError

META_FILE = 'train_meta.json'
# Settings a resumed run must share with the run that wrote model_dir.
META_KEYS = ('stream', 'num_classes', 'final_endpoint')
CHECKPOINT_SUBDIR = 'checkpoints'


def checkpoint_dir(model_dir: str) -> str:
  """Where the run's checkpoints are."""
  return os.path.join(model_dir, CHECKPOINT_SUBDIR)


def latest_checkpoint(model_dir: str) -> Optional[str]:
  """Prefix of the run's newest checkpoint, or None."""
  return tf.train.latest_checkpoint(checkpoint_dir(model_dir))


def cache_dir(config: ml_collections.ConfigDict) -> str:
  """`data.cache_dir`, or `<model_dir>/cache`.

  Raises:
    TrainError: If neither is set.
  """
  if config.data.cache_dir:
    return config.data.cache_dir
  if not config.model_dir:
    raise TrainError('Set model_dir (or data.cache_dir).')
  return os.path.join(config.model_dir, 'cache')


def check_writable(folder: str, field: str) -> None:
  """Checks that `folder` can be created (if absent) and written in.

  The nearest existing folder on the path must accept a new entry: that is
  tried (an empty temporary folder, removed at once) rather than guessed
  from permission bits, which root and read-only mounts ignore.

  Args:
    folder: The folder a run will write in.
    field: The config field that names it, for the message.

  Raises:
    TrainError: Naming the folder, if it cannot be written.
  """
  existing = atomic_files.nearest_existing(folder)
  if not os.path.isdir(existing):
    raise TrainError(f'{field}={folder}: {existing} is a file, not a folder; '
                     'choose another folder.')
  try:
    os.rmdir(tempfile.mkdtemp(prefix='.write-test-', dir=existing))
  except OSError as e:
    raise TrainError(
        f'{field}={folder}: cannot write in {existing} '
        f'({e.strerror or e}); choose a writable folder.') from None


def settings(config: ml_collections.ConfigDict) -> Dict[str, Any]:
  """The settings recorded in `train_meta.json`."""
  return {
      'stream': config.stream,
      'num_classes': config.num_classes,
      'final_endpoint': config.model.final_endpoint,
  }


def read_meta(model_dir: str) -> Optional[Dict[str, Any]]:
  """The recorded settings of the run in `model_dir`, or None."""
  path = os.path.join(model_dir, META_FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      return json.load(f)
  except ValueError as e:
    raise TrainError(f'{path} is not valid JSON ({e}); remove it or use a new '
                     'model_dir.') from None


def check_meta(config: ml_collections.ConfigDict) -> None:
  """Refuses to resume a run that was made with other fundamental settings.

  Only a run that has a checkpoint counts: settings left beside no
  checkpoint (by an older version that wrote them first) are ignored.

  Raises:
    TrainError: Naming the settings that differ.
  """
  saved = read_meta(config.model_dir)
  if saved is None or latest_checkpoint(config.model_dir) is None:
    return
  wanted = settings(config)
  diff = [k for k in META_KEYS if saved.get(k) != wanted[k]]
  if diff:
    raise TrainError(
        f'{config.model_dir} holds a run with ' +
        ', '.join(f'{k}={saved.get(k)!r}' for k in diff) + ' but this run '
        'asks for ' + ', '.join(f'{k}={wanted[k]!r}' for k in diff) +
        '; use a new model_dir or the same settings.')


def write_meta(config: ml_collections.ConfigDict) -> None:
  """Records the run's settings (atomically), unless `check_meta` holds."""
  if read_meta(config.model_dir) == settings(config):
    return
  atomic_files.write_text(
      os.path.join(config.model_dir, META_FILE),
      json.dumps(settings(config), indent=1))
