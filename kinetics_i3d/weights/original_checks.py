"""Checks that one of DeepMind's I3D checkpoints fits a model, before loading.

The checkpoints are those of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Loading is all or nothing: `loading.load_original` runs every check here
before any variable is assigned. Each refusal raises `CheckpointError` with
one message naming the file, the variable and both shapes, and a hint where
the mismatch has a usual cause (the other stream, the other layout, another
class count).
"""

from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow as tf

import i3d
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import name_mapping


# The name of a stream's first convolution, which messages give as an example.
FIRST_CONV = '{scope}Conv3d_1a_7x7/conv_3d/w'


def _example(shapes: Dict[str, List[int]], scope: str) -> str:
  """Names the first conv of a scope in the file, with its shape."""
  name = FIRST_CONV.format(scope=scope)
  if name in shapes:
    return f'{name} with shape {tuple(shapes[name])}'
  other = sorted(n for n in shapes if layouts.scope_of(n) == scope)
  return f'{other[0]} with shape {tuple(shapes[other[0]])}'


def _describe(scope: str) -> str:
  return repr(scope) if scope else 'no prefix (the kin600 layout)'


def file_scope(path: str, shapes: Dict[str, List[int]], stream: str,
               spec: Optional[layouts.CheckpointSpec],
               first_conv_shape: Tuple[int, ...]) -> str:
  """Finds the checkpoint's scope and checks it against the stream asked.

  Args:
    path: The checkpoint prefix, for messages.
    shapes: The file's name -> shape map.
    stream: 'rgb' or 'flow'.
    spec: The released checkpoint the file must be, or None for any layout
      of `stream`.
    first_conv_shape: The model's first convolution's shape, for messages.

  Returns:
    The one scope all the file's names are under.

  Raises:
    CheckpointError: For an empty file, another stream or layout, or names
      under several scopes.
  """
  if not shapes:
    raise layouts.CheckpointError(
        f'{path}: the checkpoint holds no variables.')
  found = sorted({layouts.scope_of(n) for n in shapes})
  if spec is not None:
    allowed = [spec.scope]
  else:
    allowed = [layout.scopes[stream] for layout in layouts.LAYOUT_TABLE.values()
               if stream in layout.scopes]
  matches = [s for s in found if s in allowed]
  if len(found) == 1 and matches:
    return matches[0]
  if not matches:
    holds = ', '.join(
        f'{_describe(s)} (e.g. {_example(shapes, s)})' for s in found)
    raise layouts.CheckpointError(
        f'{path}: wrong stream or layout: a {stream} model needs variables '
        f'under {" or ".join(_describe(s) for s in allowed)} (e.g. '
        f'{FIRST_CONV.format(scope=allowed[0])} with shape '
        f'{first_conv_shape}), but the checkpoint holds variables under '
        f'{holds}.')
  others = [s for s in found if s not in matches]
  raise layouts.CheckpointError(
      f'{path}: mixes variables under several scopes '
      f'({", ".join(_describe(s) for s in found)}); expected only '
      f'{_describe(matches[0])} for a {stream} model. Extra, e.g. '
      f'{_example(shapes, others[0])}.')


def _listed(names: Sequence[str]) -> str:
  return ', '.join(names[:5]) + (' ...' if len(names) > 5 else '') + '.'


def _names_to_ignore(model: i3d.InceptionI3d, scope: str,
                     skip_logits: bool) -> Tuple[set, set]:
  """(names of the endpoints after the model's last, skipped logits names)."""
  # The full network's names (structure only, no weights are created).
  full = i3d.InceptionI3d(
      num_classes=model.num_classes, final_endpoint='Logits')
  kept = i3d.endpoints_up_to(model.final_endpoint)
  later = set(name_mapping.original_names(
      full, scope,
      endpoints=[e for e in i3d.VALID_ENDPOINTS if e not in kept]))
  skipped = set(name_mapping.original_names(
      full, scope, endpoints=('Logits',))) if skip_logits else set()
  return later, skipped


def _is_optimizer_slot(name: str, shapes: Dict[str, List[int]],
                       slot: Optional[str]) -> bool:
  """Whether `name` is the optimizer state beside a variable of the file."""
  if not slot or not name.endswith(slot):
    return False
  base = name[:-len(slot)]
  return base in shapes and not base.endswith(slot)


def check_names(path: str, shapes: Dict[str, List[int]],
                model: i3d.InceptionI3d, stream: str, scope: str,
                layout: layouts.Layout,
                to_load: Dict[str, name_mapping.MappedVariable],
                skip_logits: bool) -> List[str]:
  """Refuses missing or unexpected names; returns the names to ignore.

  Ignored: the optimizer slots of layouts that have them, the later
  endpoints of a truncated model, and the logits when they are skipped.

  Raises:
    CheckpointError: For a name the model needs that the file lacks, a name
      no part of the network uses, or (for a truncated model) a file
      without the later endpoints.
  """
  later, skipped = _names_to_ignore(model, scope, skip_logits)
  missing = [n for n in to_load if n not in shapes]
  if missing:
    row = to_load[missing[0]]
    raise layouts.CheckpointError(
        f'{path}: missing {len(missing)} variable(s) the model needs, e.g. '
        f'{missing[0]} (shape {row.checkpoint_shape}, for the model\'s '
        f'{row.module_path}): ' + _listed(missing))
  ignored, extra = [], []
  for name in sorted(shapes):
    if name in to_load:
      continue
    if (_is_optimizer_slot(name, shapes, layout.optimizer_slot_suffix) or
        name in later or name in skipped):
      ignored.append(name)  # Optimizer state, or deliberately not loaded.
    else:
      extra.append(name)
  if extra:
    raise layouts.CheckpointError(
        f'{path}: {len(extra)} unexpected variable(s) that no part of a '
        f'{stream} I3D with {model.num_classes} classes uses, e.g. {extra[0]} '
        f'(shape {tuple(shapes[extra[0]])}): ' + _listed(extra))
  absent_later = sorted((later | skipped) - set(shapes))
  if absent_later and model.final_endpoint not in ('Logits', 'Predictions'):
    raise layouts.CheckpointError(
        f'{path}: lacks {len(absent_later)} variable(s) of the endpoints after '
        f'{model.final_endpoint}, e.g. {absent_later[0]}: not a complete I3D '
        'checkpoint.')
  return ignored


def _shape_hint(row: name_mapping.MappedVariable,
                got: Tuple[int, ...]) -> str:
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


def check_shapes(path: str, shapes: Dict[str, List[int]],
                 dtypes: Dict[str, tf.DType],
                 to_load: Dict[str, name_mapping.MappedVariable]) -> None:
  """Refuses a tensor whose shape or dtype is not its variable's.

  Raises:
    CheckpointError: Naming the tensor, the module variable and both
      shapes (or dtypes).
  """
  for name, row in to_load.items():
    got = tuple(shapes[name])
    if got != row.checkpoint_shape:
      raise layouts.CheckpointError(
          f'{path}: {name} has shape {got} in the checkpoint, but the model\'s '
          f'{row.module_path} needs {row.checkpoint_shape}'
          f'{_shape_hint(row, got)}.')
    if dtypes[name] != row.variables[0].dtype:
      raise layouts.CheckpointError(
          f'{path}: {name} has dtype {dtypes[name].name}, but the model\'s '
          f'{row.module_path} is {row.variables[0].dtype.name}.')


def check_covers_model(model: i3d.InceptionI3d,
                       mapping: name_mapping.VariableMapping) -> None:
  """Every model variable is covered by exactly one mapping target.

  Raises:
    CheckpointError: If a variable is mapped twice, not at all, or the
      mapping names a variable the model does not have.
  """
  covered = {}
  for variable in mapping.all_variables():
    key = variable.ref()
    if key in covered:
      raise layouts.CheckpointError(
          f'Internal error: {variable.name} is mapped twice.')
    covered[key] = variable
  model_refs = {v.ref() for v in model.variables}
  unmapped = [v.name for v in model.variables if v.ref() not in covered]
  foreign = [v.name for k, v in covered.items() if k not in model_refs]
  if unmapped or foreign:
    raise layouts.CheckpointError(
        'Internal error: the mapping does not cover the model exactly; '
        f'unmapped: {unmapped[:5]}, not in the model: {foreign[:5]}.')
