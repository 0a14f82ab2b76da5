"""Loads DeepMind's original TF1 I3D checkpoints into a Sonnet 2 model.

The model is the I3D network of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

The five released checkpoints load unchanged through the table of
`name_mapping`, in either layout of `layouts`.

Moving statistics. TF1's BatchNorm keeps a plain moving average,
`moving -= (moving - batch) * (1 - decay)`. Sonnet 2 keeps a *debiased* one: an
`ExponentialMovingAverage` with `hidden`, `counter` and
`average = hidden / (1 - decay**counter)`. The loader sets `average = hidden =`
the original statistic and `counter = EMA_COUNTER` (2**20). For decay 0.999,
decay**counter underflows to exactly 0 in float32, so the average is exactly
the loaded value, and every training update from there on is exactly TF1's
non-debiased update.

Loading is all or nothing: every tensor is read and every shape checked
(`original_checks`) before any variable is assigned, every model variable is
assigned exactly once, and any mismatch raises `CheckpointError` naming the
file, the variable and both shapes.
"""

import dataclasses
from typing import Any, Dict, List, Optional, Tuple, Union

from absl import logging
import tensorflow as tf

import i3d
from kinetics_i3d import streams
from kinetics_i3d.utils import errors
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import name_mapping
from kinetics_i3d.weights import original_checks
from kinetics_i3d.weights import resolution


# Sonnet 2 EMA counter after loading a TF1 moving statistic (see the module
# docstring): large enough that 0.999**counter is exactly 0 in float32.
EMA_COUNTER = 2**20


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


def _resolve(spec_or_stream: Union[layouts.CheckpointSpec, str]
            ) -> Tuple[str, Optional[layouts.CheckpointSpec]]:
  if isinstance(spec_or_stream, layouts.CheckpointSpec):
    return spec_or_stream.stream, spec_or_stream
  if spec_or_stream in layouts.ORIGINAL_CHECKPOINTS:
    spec = layouts.ORIGINAL_CHECKPOINTS[spec_or_stream]
    return spec.stream, spec
  if spec_or_stream in layouts.STREAM_SCOPES:
    return spec_or_stream, None
  raise ValueError(
      f'Expected a CheckpointSpec, a checkpoint name in '
      f'{sorted(layouts.ORIGINAL_CHECKPOINTS)} or a stream in '
      f'{sorted(layouts.STREAM_SCOPES)}; got {spec_or_stream!r}.')


def open_checkpoint(path: str) -> Any:
  """A reader of the checkpoint at prefix `path` (`tf.train.load_checkpoint`).

  Raises:
    CheckpointError: If `<path>.index` is absent or not a checkpoint.
  """
  if not tf.io.gfile.exists(path + '.index'):
    raise layouts.CheckpointError(f'{path}.index: not found.')
  try:
    return tf.train.load_checkpoint(path)
  except (tf.errors.OpError, ValueError) as e:
    raise layouts.CheckpointError(
        f'{path}: not a readable checkpoint '
        f'({errors.first_line(e, limit=None)}).') from e


def _read_tensors(path: str, reader: Any,
                  to_load: Dict[str, name_mapping.MappedVariable]
                  ) -> Dict[str, Any]:
  values = {}
  for name in to_load:
    try:
      values[name] = reader.get_tensor(name)
    # A short data file gives IndexError ('Read less bytes than requested').
    except (tf.errors.OpError, IndexError, RuntimeError, OSError) as e:
      raise layouts.CheckpointError(
          f'{path}: cannot read {name} ({errors.first_line(e, limit=None)}); '
          'the data file is missing, truncated or corrupt: copy it '
          'again.') from e
  return values


def _assign(values: Dict[str, Any],
            to_load: Dict[str, name_mapping.MappedVariable],
            mapping: name_mapping.VariableMapping) -> None:
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


def _reinitialize(row: name_mapping.MappedVariable,
                  model: i3d.InceptionI3d) -> None:
  """Gives a logits variable fresh values from the conv's own initializer."""
  conv = model.Logits.conv_3d
  (variable,) = row.variables
  init = conv.w_init if row.original_name.endswith('/w') else conv.b_init
  variable.assign(init(variable.shape, variable.dtype))


def load_original(model: i3d.InceptionI3d,
                  path: str,
                  spec_or_stream: Union[layouts.CheckpointSpec, str],
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
  reader = open_checkpoint(path)
  shapes = reader.get_variable_to_shape_map()
  channels = streams.CHANNELS[stream]
  scope = original_checks.file_scope(path, shapes, stream, spec,
                                     (7, 7, 7, channels, 64))
  layout = layouts.layout_of_scope(scope)

  name_mapping.build_variables(model, channels)
  mapping = name_mapping.variable_mapping(model, scope, layout.name)
  original_checks.check_covers_model(model, mapping)
  to_load = {name: row for name, row in mapping.tensors.items()
             if not (skip_logits and row.endpoint == 'Logits')}
  reinit = [name for name in mapping.tensors if name not in to_load]
  ignored = original_checks.check_names(path, shapes, model, stream, scope,
                                        layout, to_load, skip_logits)
  # Everything is checked and read before anything is assigned.
  original_checks.check_shapes(path, shapes,
                               reader.get_variable_to_dtype_map(), to_load)
  values = _read_tensors(path, reader, to_load)
  _assign(values, to_load, mapping)
  for name in reinit:
    _reinitialize(mapping.tensors[name], model)

  restored = list(to_load)
  logging.info('Loaded %d tensors from %s (%s layout)%s%s.', len(restored),
               path, layout.name,
               f'; re-initialised {len(reinit)}' if reinit else '',
               f'; ignored {len(ignored)}' if ignored else '')
  return LoadResult(path, layout.name, restored, reinit, ignored)


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
    fetch: Whether to fetch an absent checkpoint (see
      `resolution.resolve_checkpoint`).

  Returns:
    The loaded model.

  Raises:
    CheckpointError: If the checkpoint is absent (and not fetched),
      unreadable or does not fit.
  """
  layouts.check_released_name(name)
  return load_resolved(
      resolution.resolve_checkpoint(name, checkpoint_dir=checkpoint_dir,
                                    fetch=fetch),
      final_endpoint)


def load_resolved(resolved: resolution.ResolvedCheckpoint,
                  final_endpoint: str = 'Logits') -> i3d.InceptionI3d:
  """An `InceptionI3d` with a released checkpoint `resolve_checkpoint` found.

  Args:
    resolved: A released checkpoint (its `spec` gives the class count).
    final_endpoint: Where the model stops.

  Returns:
    The loaded model.

  Raises:
    CheckpointError: If the checkpoint is unreadable or does not fit.
    ValueError: For a checkpoint of the user's (it has no spec).
  """
  if resolved.spec is None:
    raise ValueError(f'{resolved.path}: a checkpoint file of the user\'s has '
                     'no spec; use load_original with its class count.')
  model = i3d.InceptionI3d(
      num_classes=resolved.spec.num_classes, final_endpoint=final_endpoint)
  load_original(model, resolved.path, resolved.spec)
  return model
