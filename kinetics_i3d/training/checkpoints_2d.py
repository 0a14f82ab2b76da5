"""The readers of the 2D Inception-v1 that I3D is inflated from.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750 (section 2.4)

`read_2d_tensors` reads the image network from one of three sources, each a
reader here, and gives its tensors named as `inception_v1_weights.named_tensors`
names them:

* 'npz': an .npz of its tensors by name (`read_npz`);
* 'tf2': a TF2 checkpoint of `tf.train.Checkpoint(model=InceptionV1(...))`
  (`read_tf2_checkpoint`);
* 'slim': a TF-Slim `InceptionV1` checkpoint, such as the public ImageNet
  weights `inception_v1.ckpt` of TF-Slim's `inception_v1_2016_08_28.tar.gz`
  (`read_slim_checkpoint`, see `slim_inception_v1`); its training
  bookkeeping (global step, optimizer and moving-average slots) is skipped
  and returned by name.
"""

import os
import zipfile
import zlib
from typing import Any, Dict, Tuple

import numpy as np
import tensorflow as tf

from kinetics_i3d import streams
from kinetics_i3d.training import inception_v1
from kinetics_i3d.training import inception_v1_weights
from kinetics_i3d.training import inflation
from kinetics_i3d.training import slim_inception_v1
from kinetics_i3d.utils import errors

# Formats of the 2D network `read_2d_tensors` reads; 'auto' picks one from
# the path.
INPUT_FORMATS = ('auto', 'npz', 'tf2', 'slim')

# The object name under which a TF2 checkpoint holds the 2D network (as
# `checkpoints.save` does for I3D).
TF2_CHECKPOINT_ROOT = 'model'


def read_npz(path: str) -> Dict[str, np.ndarray]:
  """Reads {name: array} from an .npz file, without unpickling anything.

  Raises:
    ValueError: If the file is not a readable .npz of plain numeric arrays.
  """
  try:
    with np.load(path, allow_pickle=False) as data:
      return {name: data[name] for name in data.files}
  except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
    # A truncated download is a BadZipFile (or zlib.error) while read.
    reason = ' '.join(str(e).split()) or type(e).__name__
    raise ValueError(f'{path}: not a readable .npz of plain arrays ({reason}'
                     '); give a complete .npz written by numpy.savez.'
                     ) from None


def _open_checkpoint(path: str) -> Tuple[str, Any]:
  """(prefix, reader) of a TF checkpoint prefix or folder (its latest one).

  Raises:
    ValueError: If nothing readable is there.
  """
  if os.path.isdir(path):
    path = tf.train.latest_checkpoint(path) or path
  try:
    reader = tf.train.load_checkpoint(path)
  except (tf.errors.OpError, ValueError) as e:
    raise ValueError(f'{path}: not a readable TF checkpoint '
                     f'({errors.first_line(e, limit=None)}).') from e
  return path, reader


def read_tf2_checkpoint(path: str) -> Dict[str, np.ndarray]:
  """Reads the 2D tensors of an `InceptionV1` from a TF2 checkpoint.

  Args:
    path: Checkpoint prefix, or its folder (the latest checkpoint there),
      written by `tf.train.Checkpoint(model=inception_v1.InceptionV1(...))`
      `.save` or `.write`.

  Returns:
    {name: array} as `inception_v1_weights.named_tensors` gives them.

  Raises:
    ValueError: If the checkpoint cannot be read or does not hold a complete
      `InceptionV1` under the object name `TF2_CHECKPOINT_ROOT`.
  """
  def key(name):
    return f'{TF2_CHECKPOINT_ROOT}/{name}/.ATTRIBUTES/VARIABLE_VALUE'

  path, reader = _open_checkpoint(path)
  shapes = reader.get_variable_to_shape_map()
  # Attribute paths of `InceptionV1`: the logits unit is the attribute
  # `Logits`.
  stem_key = key(inflation.STEM_WEIGHTS)
  logits_key = key('Logits/conv_2d/b')
  if stem_key not in shapes or logits_key not in shapes:
    raise ValueError(
        f'{path}: no Inception-v1 with logits under the object name '
        f'{TF2_CHECKPOINT_ROOT!r} (looked for {stem_key!r} and '
        f'{logits_key!r}); save it with tf.train.Checkpoint('
        f'{TF2_CHECKPOINT_ROOT}=inception_v1.InceptionV1(...)), or pass an '
        '.npz of its tensors or a TF-Slim InceptionV1 checkpoint.')
  input_channels = shapes[stem_key][2]
  model = inception_v1.InceptionV1(num_classes=shapes[logits_key][0])
  model(tf.zeros([1, streams.CROP, streams.CROP, input_channels]),
        is_training=False)
  status = tf.train.Checkpoint(**{TF2_CHECKPOINT_ROOT: model}).read(path)
  try:
    status.expect_partial().assert_existing_objects_matched()
  except AssertionError as e:
    raise ValueError(f'{path}: does not hold every variable of an '
                     f'Inception-v1 ({str(e)[:500]}).') from e
  return inception_v1_weights.named_tensors(model)


def read_slim_checkpoint(
    path: str) -> Tuple[Dict[str, np.ndarray], Tuple[str, ...]]:
  """Reads the 2D tensors from a TF-Slim InceptionV1 checkpoint.

  Args:
    path: Checkpoint prefix (e.g. the `inception_v1.ckpt` of TF-Slim's
      `inception_v1_2016_08_28.tar.gz`; TF1's V1 and V2 formats both work),
      or a folder with a `checkpoint` state file.

  Returns:
    ({`inception_v1` name: array}, the skipped bookkeeping names); see
    `slim_inception_v1.to_inception_v1`.

  Raises:
    ValueError: If the checkpoint cannot be read or is not slim's
      InceptionV1 (the message names the variable and the file).
  """
  path, reader = _open_checkpoint(path)
  tensors = {}
  for name in reader.get_variable_to_shape_map():
    try:
      tensors[name] = reader.get_tensor(name)
    except Exception as e:  # pylint: disable=broad-except
      # TF raises its own errors, IndexError or RuntimeError on short files.
      raise ValueError(f'{path}: cannot read {name}: the file is truncated '
                       'or corrupt; copy it again.') from e
  conversion = slim_inception_v1.to_inception_v1(tensors, source=path)
  return conversion.tensors_2d, conversion.skipped


def detect_format(path: str) -> str:
  """'npz' for a '.npz' path; else 'slim' or 'tf2' by the checkpoint's names.

  Raises:
    ValueError: If `path` is neither an .npz nor a readable checkpoint.
  """
  if path.endswith('.npz'):
    return 'npz'
  _, reader = _open_checkpoint(path)
  names = list(reader.get_variable_to_shape_map())
  return 'slim' if slim_inception_v1.looks_like_slim(names) else 'tf2'


def read_2d_tensors(
    path: str,
    input_format: str = 'auto',
) -> Tuple[Dict[str, np.ndarray], Tuple[str, ...], str]:
  """Reads a 2D Inception-v1's tensors in any of `INPUT_FORMATS`.

  Args:
    path: An .npz, a TF2 checkpoint of `InceptionV1` or a TF-Slim
      InceptionV1 checkpoint (prefix or folder).
    input_format: One of `INPUT_FORMATS`; 'auto' calls `detect_format`.

  Returns:
    ({`inception_v1` name: array}, the skipped names of a slim checkpoint,
    the format read).

  Raises:
    ValueError: On an unknown format or an unreadable or mismatching input.
  """
  if input_format == 'auto':
    input_format = detect_format(path)
  if input_format == 'npz':
    return read_npz(path), (), input_format
  if input_format == 'tf2':
    return read_tf2_checkpoint(path), (), input_format
  if input_format == 'slim':
    tensors, skipped = read_slim_checkpoint(path)
    return tensors, skipped, input_format
  raise ValueError(f'Unknown input format {input_format!r}; expected one of '
                   f'{INPUT_FORMATS}.')
