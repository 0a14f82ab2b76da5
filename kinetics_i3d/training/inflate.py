"""Bootstraps I3D from a 2D Inception-v1, as the paper does.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Section 2.4 ("Inflating 2D ConvNets into 3D" / "Bootstrapping 3D filters from
2D filters"): every N x k x k filter of I3D starts as the k x k filter of the
image network repeated N times along time and divided by N. A "boring" video
(one image repeated) then gives, at every time step whose receptive field
does not reach past the clip, exactly the image network's activations.
I3D's filters are cubes (N = k: 7 for the stem, 3 for the 3x3 units, 1 for
the 1x1 units and the logits). BatchNorm offsets and moving statistics are
copied unchanged: on a boring video each BatchNorm sees what it saw on the
image.

`inflate_tensors` is the conversion, a pure function from the weights of
`inception_v1.InceptionV1` (named as in that module) to I3D weights named as
in DeepMind's original checkpoints ('RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w',
'.../batch_norm/beta', '.../moving_mean', '.../moving_variance', and the
logits' 'conv_3d/w' and 'conv_3d/b'), so the checkpoint loader that reads
DeepMind's checkpoints reads the result too. Every row of `inflation_table`
says which 2D tensor becomes which I3D tensor, with both shapes; every 2D
tensor is used exactly once; non-finite values are refused.

`run` reads the 2D network from one of three sources (`read_2d_tensors`):

* 'npz': an .npz of its tensors by name (`inception_v1.named_tensors`);
* 'tf2': a TF2 checkpoint of `tf.train.Checkpoint(model=InceptionV1(...))`;
* 'slim': a TF-Slim `InceptionV1` checkpoint, such as the public ImageNet
  weights `inception_v1.ckpt` of TF-Slim's `inception_v1_2016_08_28.tar.gz`
  (see `slim_inception_v1`); its training bookkeeping (global step,
  optimizer and moving-average slots) is skipped and logged by name.

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
import zipfile
import zlib
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple

from absl import logging
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.training import inception_v1
from kinetics_i3d.training import slim_inception_v1
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import tf1_checkpoint

# Name prefix of each stream's variables in the original checkpoints, and the
# input channels of each stream.
SCOPES = checkpoints.STREAM_SCOPES
STREAM_CHANNELS = streams.CHANNELS

# Formats of the 2D network `run` reads; 'auto' picks one from the path.
INPUT_FORMATS = ('auto', 'npz', 'tf2', 'slim')

# Where `run` writes by default: <CHECKPOINT_DIR>/<stream>_inflated/model.ckpt
# (DeepMind's layout: one folder per checkpoint, prefix 'model.ckpt').
DEFAULT_FOLDER = '{stream}_inflated'
PREFIX_NAME = 'model.ckpt'

# Per unit: (2D tensor suffix, I3D tensor suffix, whether it is a kernel to
# inflate; everything else is copied).
_UNIT_TENSORS = (
    ('conv_2d/w', 'conv_3d/w', True),
    ('conv_2d/b', 'conv_3d/b', False),
    ('batch_norm/beta', 'batch_norm/beta', False),
    ('batch_norm/moving_mean', 'batch_norm/moving_mean', False),
    ('batch_norm/moving_variance', 'batch_norm/moving_variance', False),
)

_STEM_WEIGHTS = 'Conv2d_1a_7x7/conv_2d/w'
_LOGITS_WEIGHTS = inception_v1.LOGITS_UNIT + '/conv_2d/w'
_LOGITS_BIAS = inception_v1.LOGITS_UNIT + '/conv_2d/b'

# The object name under which a TF2 checkpoint holds the 2D network (as
# `checkpoints.save` does for I3D).
TF2_CHECKPOINT_ROOT = 'model'


class InflationRow(NamedTuple):
  """How one 2D tensor becomes one I3D tensor.

  Attributes:
    name_2d: The 2D tensor's name, e.g. 'Mixed_3b/Branch_1/Conv2d_0b_3x3/
      conv_2d/w'.
    name_3d: The I3D tensor's name without the stream scope, e.g.
      'Mixed_3b/Branch_1/Conv3d_0b_3x3/conv_3d/w'.
    shape_2d: The 2D shape: [k, k, C_in, C_out] for kernels, [C] otherwise.
    shape_3d: The I3D shape: [N, k, k, C_in, C_out] for kernels, [C]
      otherwise.
    time: N, the kernel's temporal size (the 2D kernel is repeated N times and
      divided by N); 0 for tensors that are copied unchanged.
  """
  name_2d: str
  name_3d: str
  shape_2d: Tuple[int, ...]
  shape_3d: Tuple[int, ...]
  time: int


def inflation_table(num_classes: int,
                    input_channels: int = 3) -> Tuple[InflationRow, ...]:
  """Every 2D tensor of Inception-v1 and the I3D tensor it becomes.

  Args:
    num_classes: Classes of the 2D network's logits (kept by I3D's logits).
    input_channels: Input channels of the 2D network's first convolution.

  Returns:
    One row per tensor (230 of them), in network order.
  """
  shapes_2d = inception_v1.variable_shapes(num_classes, input_channels)
  rows = []
  for unit_2d, unit_3d in inception_v1.I3D_UNIT_NAMES.items():
    for suffix_2d, suffix_3d, is_kernel in _UNIT_TENSORS:
      name_2d = f'{unit_2d}/{suffix_2d}'
      if name_2d not in shapes_2d:
        continue  # Logits have no BatchNorm, other units no bias.
      shape_2d = shapes_2d[name_2d]
      time, shape_3d = 0, shape_2d
      if is_kernel:
        # I3D's filters are cubes: a k x k filter becomes k x k x k.
        time = shape_2d[0]
        shape_3d = (time,) + shape_2d
      rows.append(
          InflationRow(name_2d, f'{unit_3d}/{suffix_3d}', shape_2d, shape_3d,
                       time))
  unused = sorted(set(shapes_2d) - {row.name_2d for row in rows})
  if unused or len(rows) != len(shapes_2d):
    raise AssertionError(f'The inflation table misses 2D tensors: {unused}')
  return tuple(rows)


def _required_shape(tensors: Mapping[str, np.ndarray], name: str,
                    rank: int) -> Tuple[int, ...]:
  if name not in tensors:
    raise ValueError(f'Missing 2D tensor {name!r}; expected the weights of '
                     'inception_v1.InceptionV1 with its logits.')
  shape = tuple(np.shape(tensors[name]))
  if len(shape) != rank:
    raise ValueError(f'2D tensor {name!r} has shape {shape}; expected rank '
                     f'{rank}.')
  return shape


def inflate_kernel(kernel_2d: np.ndarray, time: int) -> np.ndarray:
  """Repeats a [k, k, C_in, C_out] kernel `time` times along a new time axis.

  Args:
    kernel_2d: A 2D convolution kernel [k, k, C_in, C_out].
    time: N, the temporal size of the 3D kernel (>= 1).

  Returns:
    [N, k, k, C_in, C_out], each time slice `kernel_2d / N`, so that on a
    constant-in-time input the 3D convolution equals the 2D one.
  """
  kernel_2d = np.asarray(kernel_2d)
  slice_ = kernel_2d / np.asarray(time, kernel_2d.dtype)
  return np.repeat(slice_[np.newaxis], time, axis=0)


def inflate_tensors(tensors_2d: Mapping[str, np.ndarray],
                    scope: str = SCOPES['rgb']) -> Dict[str, np.ndarray]:
  """Inflates Inception-v1 weights into I3D weights (a pure function).

  Args:
    tensors_2d: {name: array} with exactly the tensors of
      `inception_v1.InceptionV1` (see `inflation_table`; its input channels
      and classes are read from the first kernel and the logits' bias).
      BatchNorm statistics are [C] vectors; any floating dtype.
    scope: Prefix of every I3D name; 'RGB/inception_i3d/' or
      'Flow/inception_i3d/' as in DeepMind's checkpoints.

  Returns:
    {scope + I3D name: array} for every I3D tensor, dtypes kept.

  Raises:
    ValueError: If a tensor is missing, unexpected, misshaped, not floating
      point or not finite; the message names it.
  """
  input_channels = _required_shape(tensors_2d, _STEM_WEIGHTS, 4)[2]
  num_classes = _required_shape(tensors_2d, _LOGITS_BIAS, 1)[0]
  table = inflation_table(num_classes, input_channels)
  expected = {row.name_2d for row in table}
  missing = [row.name_2d for row in table if row.name_2d not in tensors_2d]
  extra = sorted(set(tensors_2d) - expected)
  if missing or extra:
    raise ValueError(
        f'The 2D tensors do not match Inception-v1: missing {missing}, '
        f'unexpected {extra}.')
  tensors_3d = {}
  for row in table:
    value = inception_v1.checked_tensor(
        tensors_2d[row.name_2d], f'2D tensor {row.name_2d!r}', row.shape_2d,
        'the 2D network is corrupt or diverged: use other weights.')
    if row.time:
      value = inflate_kernel(value, row.time)
    else:
      value = value.copy()
    assert value.shape == row.shape_3d, (row, value.shape)
    tensors_3d[scope + row.name_3d] = value
  return tensors_3d



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
    first_line = str(e).strip().split('\n')[0]
    raise ValueError(
        f'{path}: not a readable TF checkpoint ({first_line}).') from e
  return path, reader


def read_tf2_checkpoint(path: str) -> Dict[str, np.ndarray]:
  """Reads the 2D tensors of an `InceptionV1` from a TF2 checkpoint.

  Args:
    path: Checkpoint prefix, or its folder (the latest checkpoint there),
      written by `tf.train.Checkpoint(model=inception_v1.InceptionV1(...))`
      `.save` or `.write`.

  Returns:
    {name: array} as `inception_v1.named_tensors` gives them.

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
  stem_key = key(_STEM_WEIGHTS)
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
  model(tf.zeros([1, 224, 224, input_channels]), is_training=False)
  status = tf.train.Checkpoint(**{TF2_CHECKPOINT_ROOT: model}).read(path)
  try:
    status.expect_partial().assert_existing_objects_matched()
  except AssertionError as e:
    raise ValueError(f'{path}: does not hold every variable of an '
                     f'Inception-v1 ({str(e)[:500]}).') from e
  return inception_v1.named_tensors(model)


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


def fresh_logits(num_classes: int) -> Dict[str, np.ndarray]:
  """A new logits head for `num_classes`, as 2D tensors of `InceptionV1`.

  The values are drawn by I3D's own logits unit (its convolution's default
  initializers), the way fine-tuning re-initialises logits, and stored
  without the time axis so that `inflate_tensors` gives them back unchanged.

  Args:
    num_classes: Classes of the new head (a positive integer).

  Returns:
    {'Logits/Conv2d_0c_1x1/conv_2d/w': [1, 1, 1024, num_classes],
     'Logits/Conv2d_0c_1x1/conv_2d/b': [num_classes]}, float32.

  Raises:
    ValueError: If `num_classes` is not a positive integer.
  """
  channels = inception_v1.variable_shapes(1)[_LOGITS_WEIGHTS][2]
  model = i3d.InceptionI3d(num_classes=num_classes)
  model.Logits(tf.zeros([1, 1, 1, 1, channels]), is_training=False)
  return {
      _LOGITS_WEIGHTS: model.Logits.conv_3d.w.numpy()[0],
      _LOGITS_BIAS: model.Logits.conv_3d.b.numpy(),
  }


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
    input_format: One of `INPUT_FORMATS` ('auto' by default).
    overwrite: Whether an existing checkpoint at the prefix may be replaced.
    num_classes: None keeps (inflates) the 2D network's logits; a number
      drops them for a fresh head of that many classes (`fresh_logits`).

  Returns:
    The I3D tensors that were written.

  Raises:
    ValueError: On unreadable, non-finite or mismatching inputs or a bad
      argument; the message names the file and the tensor.
    FileExistsError: If the output exists and not `overwrite`.
  """
  if stream not in SCOPES:
    raise ValueError(f'Unknown stream {stream!r}; expected one of '
                     f'{sorted(SCOPES)}.')
  prefix = resolve_output(output_prefix, stream)
  # Before any work: never replace a checkpoint by accident.
  for suffix in (tf1_checkpoint.INDEX_SUFFIX, tf1_checkpoint.DATA_SUFFIX):
    path = prefix + suffix
    if os.path.exists(path) and not overwrite:
      raise FileExistsError(f'{path} exists; pass --overwrite to replace it.')
  if input_format not in INPUT_FORMATS:
    raise ValueError(f'Unknown input format {input_format!r}; expected one '
                     f'of {INPUT_FORMATS}.')
  tensors_2d, skipped, input_format = read_2d_tensors(input_path,
                                                      input_format)
  logging.info('Read %d tensors of a 2D Inception-v1 (%s) from %s.',
               len(tensors_2d), input_format, input_path)
  if skipped:
    logging.info('Skipped %d variable(s) of %s that are not weights: %s.',
                 len(skipped), input_path, ', '.join(skipped))
  # A missing or misshapen stem is reported by inflate_tensors below.
  stem = np.shape(tensors_2d.get(_STEM_WEIGHTS, np.zeros([0])))
  if len(stem) == 4 and stem[2] != STREAM_CHANNELS[stream]:
    raise ValueError(
        f'{input_path}: the 2D network takes {stem[2]} input channels but the '
        f'{stream} stream needs {STREAM_CHANNELS[stream]}; pick the matching '
        'stream.')
  if num_classes is not None:
    head = fresh_logits(num_classes)
    dropped = np.shape(tensors_2d.get(_LOGITS_BIAS, np.zeros([0])))
    tensors_2d = dict(tensors_2d)
    tensors_2d.update(head)
    logging.info('Replaced the 2D logits (%s classes) with a fresh head of %d '
                 'classes.', dropped[0] if len(dropped) == 1 else 'no',
                 num_classes)
  try:
    tensors_3d = inflate_tensors(tensors_2d, scope=SCOPES[stream])
  except ValueError as e:
    raise ValueError(f'{input_path}: {e}') from e
  tf1_checkpoint.write_tf1_checkpoint(tensors_3d, prefix, overwrite=overwrite)
  return tensors_3d
