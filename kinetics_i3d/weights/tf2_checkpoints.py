"""Native TF2 checkpoints of the Sonnet 2 I3D model.

The model is the I3D network of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

`save` and `restore` use `tf.train.Checkpoint(model=...)`, keyed on the
module attribute paths (`model/Mixed_4b/branch_1/1/...`): the attribute
names of `i3d.InceptionI3d` are this format's API. DeepMind's original TF1
checkpoints load with `loading.load_original` instead.
"""

import re
from typing import Any, Dict, List, Optional

from absl import logging
import tensorflow as tf

import i3d
from kinetics_i3d.utils import errors
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import name_mapping


# The key of the first convolution's kernel, [7, 7, 7, channels, 64]: present
# in every TF2 checkpoint of the model, and it says the input channels.
_FIRST_CONV_KEY = 'model/Conv3d_1a_7x7/conv_3d/w/.ATTRIBUTES/VARIABLE_VALUE'


def save(model: i3d.InceptionI3d,
         directory: str,
         step: Optional[int] = None,
         max_to_keep: Optional[int] = 5,
         **trackables: Any) -> str:
  """Saves a TF2 checkpoint `<directory>/ckpt-<step>` of the model.

  Keys are the module attribute paths (`model/Mixed_4b/branch_1/1/...`).
  Atomic from the reader's side: TensorFlow writes the tensors under
  `<prefix>_temp/` and renames them into place (the index last), then
  rewrites the `checkpoint` state file by writing a temporary file and
  renaming it. `restore` and `tf.train.latest_checkpoint` only follow the state
  file, so an interrupted save leaves the previous checkpoint in use.

  Args:
    model: A built model.
    directory: Folder of the checkpoints (created if needed).
    step: Number in the file name; defaults to one past the latest.
    max_to_keep: Older checkpoints beyond this many are deleted (None keeps
      all).
    **trackables: Further objects to save beside the model (e.g.
      `optimizer=...`).

  Returns:
    The prefix written.

  Raises:
    CheckpointError: If the model has no variables.
  """
  if not name_mapping.is_built(model):
    raise layouts.CheckpointError(
        f'{directory}: nothing to save, the model has no weights yet.')
  checkpoint = tf.train.Checkpoint(model=model, **trackables)
  manager = tf.train.CheckpointManager(
      checkpoint, directory, max_to_keep=max_to_keep)
  if step is None:
    # A fresh Checkpoint's save counter starts at 0: continue the numbering.
    latest = manager.latest_checkpoint
    match = re.search(r'-(\d+)$', latest or '')
    step = int(match.group(1)) + 1 if match else 1
  path = manager.save(checkpoint_number=step)
  logging.info('Saved %s.', path)
  return path


def _latest(directory: str) -> str:
  """The prefix to restore: the latest in a folder, or `directory` itself."""
  if not tf.io.gfile.isdir(directory):
    return directory
  path = tf.train.latest_checkpoint(directory)
  if path is None:
    raise layouts.CheckpointError(
        f'{directory}: no TF2 checkpoint found (no `checkpoint` state file '
        'naming one).')
  return path


def _file_channels(path: str, shapes: Dict[str, List[int]],
                   num_channels: Optional[int]) -> int:
  """The input channels of a TF2 checkpoint of the model, checked."""
  if _FIRST_CONV_KEY not in shapes:
    raise layouts.CheckpointError(
        f'{path}: not a TF2 checkpoint of an I3D model (no '
        f'{_FIRST_CONV_KEY}); DeepMind\'s original checkpoints load with '
        'load_original().')
  file_channels = shapes[_FIRST_CONV_KEY][3]
  if num_channels is not None and num_channels != file_channels:
    raise layouts.CheckpointError(
        f'{path}: model/Conv3d_1a_7x7/conv_3d/w has shape '
        f'{tuple(shapes[_FIRST_CONV_KEY])}, i.e. {file_channels} input '
        f'channels, but {num_channels} were asked for.')
  return file_channels


def restore(model: i3d.InceptionI3d,
            directory: str,
            num_channels: Optional[int] = None,
            **trackables: Any) -> str:
  """Restores the latest TF2 checkpoint in `directory` (written by `save`).

  Every variable of the model must be in the checkpoint with its shape; a
  truncated model may restore from a full model's checkpoint. On a mismatch
  the model keeps its previous values.

  Args:
    model: The model; built from the checkpoint's first convolution if it
      has no variables yet.
    directory: Folder given to `save`, or a checkpoint prefix.
    num_channels: Input channels, to check against the checkpoint.
    **trackables: The further objects given to `save`.

  Returns:
    The prefix restored.

  Raises:
    CheckpointError: If there is no checkpoint, or it does not fit the model.
  """
  path = _latest(directory)
  shapes = loading.open_checkpoint(path).get_variable_to_shape_map()
  name_mapping.build_variables(model,
                               _file_channels(path, shapes, num_channels))
  # TF assigns variable by variable; keep the old values to undo a failure.
  snapshot = [(v, v.numpy()) for v in model.variables]
  checkpoint = tf.train.Checkpoint(model=model, **trackables)
  try:
    status = checkpoint.restore(path)
    status.expect_partial()  # A truncated model leaves later layers unused.
    status.assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    for variable, value in snapshot:
      variable.assign(value)
    raise layouts.CheckpointError(
        f'{path}: does not fit the model: '
        f'{errors.first_line(e, limit=None)}') from e
  logging.info('Restored %s.', path)
  return path
