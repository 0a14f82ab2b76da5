"""Original I3D checkpoint names -> the variables of `i3d.InceptionI3d`.

The model is the I3D network of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

One explicit table (`UNIT_TABLE`) from original names to module variables,
applied to every unit the model has (`variable_mapping`):

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
'Conv3d_0a_3x3', and so does the model. The batch norm vectors' stored shape
depends on the layout (`layouts.LAYOUT_TABLE`).
"""

import dataclasses
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import tensorflow as tf

import i3d
from kinetics_i3d.weights import layouts

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
UNIT_TABLE = (
    ('conv_3d/w', 'conv_3d.w', 'weight'),
    ('conv_3d/b', 'conv_3d.b', 'weight'),
    ('batch_norm/beta', 'batch_norm.offset', 'bn_vector'),
    ('batch_norm/moving_mean', 'batch_norm.moving_mean', 'moving_average'),
    ('batch_norm/moving_variance', 'batch_norm.moving_variance',
     'moving_average'),
    (None, 'batch_norm.scale', 'constant_ones'),
)


@dataclasses.dataclass(frozen=True, eq=False)
class MappedVariable:
  """One original tensor and the module variables it fills.

  Attributes:
    original_name: Full name in the checkpoint, scope included.
    module_path: Attribute path in the model, e.g.
      'Mixed_4b.branch_1[1].batch_norm.moving_mean'.
    endpoint: The endpoint the unit belongs to, e.g. 'Mixed_4b' or 'Logits'.
    kind: 'weight', 'bn_vector' or 'moving_average' (see `UNIT_TABLE`).
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
  for endpoint in i3d.endpoints_up_to(model.final_endpoint):
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
  """The `UNIT_TABLE` rows that apply to `unit` (from its structure)."""
  for suffix, attr, kind in UNIT_TABLE:
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


def _mapped(name: str, module_path: str, endpoint: str, kind: str,
            target: Any, layout: layouts.Layout) -> MappedVariable:
  """The `MappedVariable` of one table row applied to one unit."""
  if kind == 'moving_average':
    # pylint: disable=protected-access  (Sonnet's EMA exposes no accessor)
    variables = (target.average, target._hidden, target._counter)
    channels = target.average.shape[-1]
  else:
    variables = (target,)
    channels = target.shape[-1]
  if kind == 'weight':
    shape = tuple(target.shape)
  elif layout.batch_norm_rank5:
    shape = (1, 1, 1, 1, channels)
  else:
    shape = (channels,)
  return MappedVariable(name, module_path, endpoint, kind, shape, variables)


def variable_mapping(model: i3d.InceptionI3d, scope: str,
                     layout: str) -> VariableMapping:
  """Maps original checkpoint names to `model`'s variables.

  Walks the model's units (stem, every branch of every Inception block, the
  logits) and applies `UNIT_TABLE` to each.

  Args:
    model: A model whose variables exist (see `build_variables`).
    scope: Name prefix: 'RGB/inception_i3d/', 'Flow/inception_i3d/' or ''.
    layout: 'tf1' (batch norm vectors [C]) or 'kin600' ([1, 1, 1, 1, C]).

  Returns:
    The `VariableMapping`.

  Raises:
    ValueError: For an unknown layout or a model without variables.
  """
  if layout not in layouts.LAYOUT_TABLE:
    raise ValueError(f'Unknown layout {layout!r}; expected one of '
                     f'{tuple(layouts.LAYOUT_TABLE)}.')
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
      name = f'{scope}{unit_scope}/{suffix}'
      tensors[name] = _mapped(name, module_path, endpoint, kind, target,
                              layouts.LAYOUT_TABLE[layout])
  return VariableMapping(scope, layout, tensors, constants)


def build_variables(model: i3d.InceptionI3d, num_channels: int) -> None:
  """Creates `model`'s variables without running the network.

  Each unit is called once on a 1x1x1 zeros input with its input channel
  count (which is what creates Sonnet variables); a full forward pass would
  need a 9-frame clip at the full crop size. Does nothing if the model is
  built.

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
  for endpoint in i3d.endpoints_up_to(model.final_endpoint):
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
