"""Bootstraps I3D from a 2D Inception-v1, as the paper does: the run.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Section 2.4: every N x k x k filter of I3D starts as the k x k filter of the
image network repeated N times along time and divided by N
(`inflation.py`). `run` reads the 2D network (an .npz, a TF2 checkpoint or a
TF-Slim checkpoint, `checkpoints_2d.py`), checks it against the stream,
inflates it and writes the I3D checkpoint.

The logits: by default the 2D network's own head is inflated with its
classes (1001 for the ImageNet release, class 0 being slim's background
class), so the inflated I3D reproduces the image network on a boring video
up to its logits. Kinetics needs a new head anyway: `num_classes` drops the
2D head and gives I3D a fresh one of that many classes, drawn by I3D's own
logits initializer as fine-tuning re-initialises logits
(`checkpoints.load_original(..., skip_logits=True)`); what matters of the
image network is its stem and Inception blocks.

The output is a TF1-style checkpoint (`model.ckpt.index` and
`.data-00000-of-00001`), written atomically, never over an existing one
unless `overwrite`. `resolve_output` says where: by default
`<paths.CHECKPOINT_DIR>/<stream>_inflated/model.ckpt`; a folder (an existing
one, or a path ending in a separator) means `<folder>/model.ckpt`, never the
hidden files `<folder>/.index`.

The command line is the tool module `kinetics_i3d/inflate.py`:

  python -m kinetics_i3d.inflate --input=inception_v1.ckpt --num_classes=400
"""

import os
from typing import Dict, Mapping, Optional

from absl import logging
import numpy as np

from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.training import checkpoints_2d
from kinetics_i3d.training import inflation
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import tf1_checkpoint

# Where the i3d-inflate tool (kinetics_i3d/inflate.py) reads them from.

# Where `run` writes by default: <CHECKPOINT_DIR>/<stream>_inflated/model.ckpt
# (DeepMind's layout: one folder per checkpoint, prefix 'model.ckpt').
DEFAULT_FOLDER = '{stream}_inflated'
PREFIX_NAME = 'model.ckpt'


def resolve_output(output: Optional[str], stream: str = 'rgb') -> str:
  """The checkpoint prefix that `run` writes for an `--output` value.

  Args:
    output: None for the default `<paths.CHECKPOINT_DIR>/<stream>_inflated/
      model.ckpt`; a folder (one that exists, or a path ending in a path
      separator) for `<folder>/model.ckpt`; anything else is the prefix.
    stream: 'rgb' or 'flow' (names the default folder).

  Returns:
    The prefix: `<prefix>.index` and `<prefix>.data-00000-of-00001` are
    written.

  Raises:
    ValueError: If `output` is the empty string or `stream` is unknown.
  """
  streams.check_stream(stream)
  if output is None:
    return os.path.join(paths.CHECKPOINT_DIR,
                        DEFAULT_FOLDER.format(stream=stream), PREFIX_NAME)
  if not output:
    raise ValueError('--output is empty; give a checkpoint prefix such as '
                     f'out/{PREFIX_NAME}, or a folder.')
  separators = tuple(filter(None, (os.sep, os.altsep)))
  if output.endswith(separators) or os.path.isdir(output):
    return os.path.join(output, PREFIX_NAME)
  return output


def _check_stream(tensors_2d: Mapping[str, np.ndarray], input_path: str,
                  stream: str) -> None:
  """Refuses a 2D network whose input channels are not the stream's."""
  # A missing or misshapen stem is reported by inflate_tensors.
  stem = np.shape(tensors_2d.get(inflation.STEM_WEIGHTS, np.zeros([0])))
  channels = streams.CHANNELS[stream]
  if len(stem) == 4 and stem[2] != channels:
    raise ValueError(
        f'{input_path}: the 2D network takes {stem[2]} input channels but the '
        f'{stream} stream needs {channels}; pick the matching stream.')


def _with_fresh_head(tensors_2d: Mapping[str, np.ndarray],
                     num_classes: int) -> Dict[str, np.ndarray]:
  """The 2D tensors with their logits replaced by `fresh_logits`."""
  dropped = np.shape(tensors_2d.get(inflation.LOGITS_BIAS, np.zeros([0])))
  tensors_2d = dict(tensors_2d)
  tensors_2d.update(inflation.fresh_logits(num_classes))
  logging.info('Replaced the 2D logits (%s classes) with a fresh head of %d '
               'classes.', dropped[0] if len(dropped) == 1 else 'no',
               num_classes)
  return tensors_2d


def _read(input_path: str, input_format: str) -> Dict[str, np.ndarray]:
  """The 2D tensors of `input_path`, logged with what was skipped."""
  tensors_2d, skipped, input_format = checkpoints_2d.read_2d_tensors(
      input_path, input_format)
  logging.info('Read %d tensors of a 2D Inception-v1 (%s) from %s.',
               len(tensors_2d), input_format, input_path)
  if skipped:
    logging.info('Skipped %d variable(s) of %s that are not weights: %s.',
                 len(skipped), input_path, ', '.join(skipped))
  return tensors_2d


def run(input_path: str,
        output_prefix: Optional[str] = None,
        stream: str = 'rgb',
        input_format: str = 'auto',
        overwrite: bool = False,
        num_classes: Optional[int] = None) -> Dict[str, np.ndarray]:
  """Reads 2D weights, inflates them and writes the I3D checkpoint.

  Args:
    input_path: An .npz of 2D tensors, a TF2 checkpoint of `InceptionV1`, or
      a TF-Slim InceptionV1 checkpoint.
    output_prefix: Where to write, as `--output` takes it (see
      `resolve_output`): a checkpoint prefix, a folder, or None for the
      default folder.
    stream: 'rgb' or 'flow': the variable scope, and the input channels the
      2D network must have (3 or 2).
    input_format: One of `checkpoints_2d.INPUT_FORMATS` ('auto' by default).
    overwrite: Whether an existing checkpoint at the prefix may be replaced.
    num_classes: None keeps (inflates) the 2D network's logits; a number
      drops them for a fresh head of that many classes
      (`inflation.fresh_logits`).

  Returns:
    The I3D tensors that were written.

  Raises:
    ValueError: On unreadable, non-finite or mismatching inputs or a bad
      argument; the message names the file and the tensor.
    FileExistsError: If the output exists and not `overwrite`.
  """
  scopes = checkpoints.STREAM_SCOPES
  if stream not in scopes:
    raise ValueError(f'Unknown stream {stream!r}; expected one of '
                     f'{sorted(scopes)}.')
  prefix = resolve_output(output_prefix, stream)
  # Before any work: never replace a checkpoint by accident.
  for suffix in (tf1_checkpoint.INDEX_SUFFIX, tf1_checkpoint.DATA_SUFFIX):
    atomic_files.refuse_existing(prefix + suffix, overwrite)
  if input_format not in checkpoints_2d.INPUT_FORMATS:
    raise ValueError(f'Unknown input format {input_format!r}; expected one '
                     f'of {checkpoints_2d.INPUT_FORMATS}.')
  tensors_2d = _read(input_path, input_format)
  _check_stream(tensors_2d, input_path, stream)
  if num_classes is not None:
    tensors_2d = _with_fresh_head(tensors_2d, num_classes)
  try:
    tensors_3d = inflation.inflate_tensors(tensors_2d, scope=scopes[stream])
  except ValueError as e:
    raise ValueError(f'{input_path}: {e}') from e
  tf1_checkpoint.write_tf1_checkpoint(tensors_3d, prefix, overwrite=overwrite)
  return tensors_3d
