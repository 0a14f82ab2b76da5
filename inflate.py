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
tensor is used exactly once.

Command line:

  python inflate.py --input=inception_v1.npz \
      --output=data/checkpoints/rgb_inflated/model.ckpt

`--input` is either an .npz of 2D tensors by name or a TF2 checkpoint written
by `tf.train.Checkpoint(model=inception_v1.InceptionV1(...))`. The output is
a TF1-style checkpoint (`model.ckpt.index` and `.data-00000-of-00001`),
written atomically, never over an existing one unless `--overwrite`.
"""

import os
from typing import Dict, Mapping, NamedTuple, Tuple

from absl import app
from absl import flags
from absl import logging
import numpy as np

import checkpoints
import inception_v1

# Name prefix of each stream's variables in the original checkpoints, and the
# input channels of each stream.
SCOPES = checkpoints.STREAM_SCOPES
STREAM_CHANNELS = checkpoints.STREAM_CHANNELS

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
    ValueError: If a tensor is missing, unexpected, misshaped or not floating
      point; the message names it.
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
    value = np.asarray(tensors_2d[row.name_2d])
    if tuple(value.shape) != row.shape_2d:
      raise ValueError(f'2D tensor {row.name_2d!r} has shape '
                       f'{tuple(value.shape)}; expected {row.shape_2d}.')
    if not np.issubdtype(value.dtype, np.floating):
      raise ValueError(f'2D tensor {row.name_2d!r} has dtype {value.dtype}; '
                       'expected floating point.')
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
  except (OSError, ValueError, EOFError) as e:
    raise ValueError(f'{path}: not a readable .npz of plain arrays ({e}).'
                     ) from e


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
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  def key(name):
    return f'{TF2_CHECKPOINT_ROOT}/{name}/.ATTRIBUTES/VARIABLE_VALUE'

  if os.path.isdir(path):
    path = tf.train.latest_checkpoint(path) or path
  try:
    reader = tf.train.load_checkpoint(path)
    shapes = reader.get_variable_to_shape_map()
  except (tf.errors.OpError, ValueError) as e:
    raise ValueError(f'{path}: not a readable TF2 checkpoint ({e}).') from e
  stem_key = key('Conv2d_1a_7x7/conv_2d/w')
  logits_key = key('Logits/conv_2d/b')
  if stem_key not in shapes or logits_key not in shapes:
    raise ValueError(
        f'{path}: no Inception-v1 with logits under the object name '
        f'{TF2_CHECKPOINT_ROOT!r} (looked for {stem_key!r} and '
        f'{logits_key!r}); save it with tf.train.Checkpoint('
        f'{TF2_CHECKPOINT_ROOT}=inception_v1.InceptionV1(...)), or pass an '
        '.npz of its tensors.')
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


def run(input_path: str,
        output_prefix: str,
        stream: str = 'rgb',
        input_format: str = 'auto',
        overwrite: bool = False) -> Dict[str, np.ndarray]:
  """Reads 2D weights, inflates them and writes the I3D checkpoint.

  Args:
    input_path: An .npz of 2D tensors or a TF2 checkpoint of `InceptionV1`.
    output_prefix: Checkpoint prefix to write, e.g. '.../model.ckpt'.
    stream: 'rgb' or 'flow': the variable scope, and the input channels the
      2D network must have (3 or 2).
    input_format: 'npz', 'tf2', or 'auto' (npz for a '.npz' path).
    overwrite: Whether an existing checkpoint at `output_prefix` may be
      replaced.

  Returns:
    The I3D tensors that were written.

  Raises:
    ValueError: On unreadable or mismatching inputs or a bad argument.
    FileExistsError: If the output exists and not `overwrite`.
  """
  import assets  # pylint: disable=g-import-not-at-top

  if stream not in SCOPES:
    raise ValueError(f'Unknown stream {stream!r}; expected one of '
                     f'{sorted(SCOPES)}.')
  # Before any work: never replace a checkpoint by accident.
  for path in (output_prefix + '.index',
               output_prefix + '.data-00000-of-00001'):
    if os.path.exists(path) and not overwrite:
      raise FileExistsError(f'{path} exists; pass --overwrite to replace it.')
  if input_format == 'auto':
    input_format = 'npz' if input_path.endswith('.npz') else 'tf2'
  if input_format == 'npz':
    tensors_2d = read_npz(input_path)
  elif input_format == 'tf2':
    tensors_2d = read_tf2_checkpoint(input_path)
  else:
    raise ValueError(f'Unknown input format {input_format!r}; expected npz, '
                     'tf2 or auto.')
  # A missing or misshapen stem is reported by inflate_tensors below.
  stem = np.shape(tensors_2d.get(_STEM_WEIGHTS, np.zeros([0])))
  if len(stem) == 4 and stem[2] != STREAM_CHANNELS[stream]:
    raise ValueError(
        f'{input_path}: the 2D network takes {stem[2]} input channels but the '
        f'{stream} stream needs {STREAM_CHANNELS[stream]}; pick the matching '
        'stream.')
  tensors_3d = inflate_tensors(tensors_2d, scope=SCOPES[stream])
  assets.write_tf1_checkpoint(tensors_3d, output_prefix, overwrite=overwrite)
  return tensors_3d


def _define_flags() -> None:
  # Defined only when run as a script, so that importing this module (tests,
  # other tools) never clashes with other modules' flags.
  flags.DEFINE_string(
      'input', None,
      'The 2D Inception-v1: an .npz of its tensors by name (see '
      'inception_v1.py) or a TF2 checkpoint prefix written by '
      'tf.train.Checkpoint(model=InceptionV1(...)).')
  flags.DEFINE_enum('input_format', 'auto', ['auto', 'npz', 'tf2'],
                    'Format of --input; auto picks npz for a .npz path, tf2 '
                    'otherwise.')
  flags.DEFINE_string(
      'output', None,
      'Prefix of the I3D checkpoint to write, e.g. '
      'data/checkpoints/rgb_inflated/model.ckpt.')
  flags.DEFINE_enum('stream', 'rgb', sorted(SCOPES),
                    'Stream of the I3D checkpoint: sets the variable scope '
                    '(RGB/ or Flow/inception_i3d) and the input channels the '
                    '2D network must have (3 or 2).')
  flags.DEFINE_bool('overwrite', False,
                    'Replace an existing checkpoint at --output.')
  flags.mark_flags_as_required(['input', 'output'])


def main(argv):
  del argv
  values = flags.FLAGS
  try:
    tensors = run(values.input, values.output, values.stream,
                  values.input_format, values.overwrite)
  except (ValueError, FileExistsError, OSError) as e:
    raise app.UsageError(f'inflate.py: {e}') from None
  logging.info('Wrote %d I3D tensors to %s.index', len(tensors), values.output)
  print(f'Wrote {len(tensors)} inflated tensors to {values.output}.index')


if __name__ == '__main__':
  _define_flags()
  app.run(main)
