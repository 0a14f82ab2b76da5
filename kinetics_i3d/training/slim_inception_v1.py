"""TF-Slim's Inception-v1 checkpoints, read into `inception_v1`'s tensors.

The public ImageNet Inception-v1 weights are a TF-Slim checkpoint:

  Christian Szegedy et al. "Going Deeper with Convolutions." CVPR 2015.
  https://arxiv.org/abs/1409.4842
  TF-Slim image models (tensorflow/models, research/slim), README table
  "Pre-trained Models": Inception V1, `inception_v1_2016_08_28.tar.gz`,
  http://download.tensorflow.org/models/inception_v1_2016_08_28.tar.gz
  (ILSVRC-2012, top-1 69.8, top-5 89.6), which unpacks to the TF1
  checkpoint `inception_v1.ckpt`.

I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750) is
inflated from such an ImageNet Inception-v1 with BatchNorm; `inflate.py` reads
one through this module.

The layout, from TF-Slim's public `nets/inception_v1.py` and its
`inception_arg_scope`: everything lives under the scope 'InceptionV1/'. A
convolution followed by `slim.batch_norm` has no bias, so each unit holds
`<unit>/weights` [k, k, C_in, C_out] and `<unit>/BatchNorm/beta`,
`.../moving_mean`, `.../moving_variance` [C_out], and no `gamma`:
`slim.batch_norm` defaults to `scale=False` and the arg scope leaves it so,
matching I3D's BatchNorm (offset only, epsilon 1e-3 in both). Unit paths are
the ones `inception_v1` uses, e.g. 'Mixed_3b/Branch_1/Conv2d_0b_3x3',
including slim's quirk of naming Mixed_5b's Branch_2 3x3 convolution
'Conv2d_0a_3x3'. The head is `Logits/Conv2d_0c_1x1/weights` [1, 1, 1024, N]
and `biases` [N]; the ImageNet release has N = 1001, class 0 being slim's
'background' class ahead of the 1000 ImageNet classes. Slim's images are in
[-1, 1], as I3D's clips.

`to_inception_v1` maps a checkpoint's tensors through one table
(`slim_table`): every weight is used exactly once, every shape is checked,
and a missing, unexpected or misshaped variable is named. A checkpoint saved
during training may also hold bookkeeping that is not a weight: the
`global_step`, Adam's `beta1_power` / `beta2_power`, and per-variable slots
such as `<variable>/ExponentialMovingAverage` (slim's
`--moving_average_decay`) or `<variable>/Momentum`; those are skipped and
returned by name, so that the caller can log them. Anything else is refused.
"""

from typing import Dict, Mapping, NamedTuple, Sequence, Tuple

import numpy as np

from kinetics_i3d.training import inception_v1

SCOPE = 'InceptionV1/'

# The release that `inflate.py` documents (see the module docstring).
PUBLISHED_ARCHIVE = 'inception_v1_2016_08_28.tar.gz'
PUBLISHED_URL = ('http://download.tensorflow.org/models/' + PUBLISHED_ARCHIVE)
PUBLISHED_CHECKPOINT = 'inception_v1.ckpt'
# Classes of the released head: ImageNet's 1000 after a background class.
PUBLISHED_NUM_CLASSES = 1001

# Per unit: the `inception_v1` tensor suffix and slim's variable suffix.
_SUFFIXES = (
    ('conv_2d/w', 'weights'),
    ('conv_2d/b', 'biases'),
    ('batch_norm/beta', 'BatchNorm/beta'),
    ('batch_norm/moving_mean', 'BatchNorm/moving_mean'),
    ('batch_norm/moving_variance', 'BatchNorm/moving_variance'),
)

# Training bookkeeping outside the model scope that a checkpoint may hold.
BOOKKEEPING = ('global_step', 'beta1_power', 'beta2_power')

_STEM_WEIGHTS = SCOPE + 'Conv2d_1a_7x7/weights'
_LOGITS_BIASES = SCOPE + inception_v1.LOGITS_UNIT + '/biases'
_SHOWN = 5  # Names listed in an error message before '...'.


class SlimRow(NamedTuple):
  """One variable of a TF-Slim Inception-v1 checkpoint.

  Attributes:
    name_slim: The checkpoint's name, e.g.
      'InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/weights'.
    name_2d: The `inception_v1` tensor it becomes, e.g.
      'Mixed_3b/Branch_1/Conv2d_0b_3x3/conv_2d/w'.
    shape: Its shape, the same in both: [k, k, C_in, C_out] or [C].
  """
  name_slim: str
  name_2d: str
  shape: Tuple[int, ...]


class Conversion(NamedTuple):
  """The result of `to_inception_v1`.

  Attributes:
    tensors_2d: {`inception_v1` name: array}, every tensor of the network.
    skipped: The checkpoint's names that are bookkeeping, not weights.
  """
  tensors_2d: Dict[str, np.ndarray]
  skipped: Tuple[str, ...]


def slim_table(num_classes: int = PUBLISHED_NUM_CLASSES,
               input_channels: int = 3) -> Tuple[SlimRow, ...]:
  """Every variable of slim's InceptionV1 and the 2D tensor it becomes.

  Args:
    num_classes: Classes of the logits (1001 in the ImageNet release).
    input_channels: Input channels of the first convolution.

  Returns:
    One row per variable (230 of them), in network order.
  """
  shapes_2d = inception_v1.variable_shapes(num_classes, input_channels)
  rows = []
  for unit in inception_v1.I3D_UNIT_NAMES:
    for suffix_2d, suffix_slim in _SUFFIXES:
      name_2d = f'{unit}/{suffix_2d}'
      if name_2d in shapes_2d:  # Logits have no BatchNorm, units no bias.
        rows.append(SlimRow(f'{SCOPE}{unit}/{suffix_slim}', name_2d,
                            shapes_2d[name_2d]))
  unused = sorted(set(shapes_2d) - {row.name_2d for row in rows})
  if unused or len(rows) != len(shapes_2d):
    raise AssertionError(f'The TF-Slim table misses 2D tensors: {unused}')
  return tuple(rows)


def looks_like_slim(names: Sequence[str]) -> bool:
  """Whether checkpoint variable names are in slim's InceptionV1 scope."""
  return any(name.startswith(SCOPE) for name in names)


def _listing(names: Sequence[str]) -> str:
  names = list(names)
  shown = ', '.join(names[:_SHOWN])
  return shown + (f' ... ({len(names)} in all)' if len(names) > _SHOWN else '')


def _shape_of(tensors: Mapping[str, np.ndarray], name: str, rank: int,
              source: str) -> Tuple[int, ...]:
  if name not in tensors:
    raise ValueError(
        f'{source}: no variable {name}; not a TF-Slim InceptionV1 checkpoint '
        f'(e.g. {PUBLISHED_CHECKPOINT} from {PUBLISHED_URL}).')
  shape = tuple(np.shape(tensors[name]))
  if len(shape) != rank:
    raise ValueError(f'{source}: {name} has shape {shape}; expected rank '
                     f'{rank}.')
  return shape


def _is_slot(name: str, weights: Sequence[str]) -> bool:
  """Whether `name` is `<weight>/<slot>`, e.g. an EMA or momentum slot."""
  base, _, slot = name.rpartition('/')
  return base in weights and bool(slot)


def to_inception_v1(tensors: Mapping[str, np.ndarray],
                    source: str = 'checkpoint') -> Conversion:
  """Maps a TF-Slim InceptionV1 checkpoint onto `inception_v1`'s tensors.

  A pure function: nothing is read or written.

  Args:
    tensors: {slim variable name: array}, all of a checkpoint's variables.
      The input channels and classes are read from the first convolution
      and the logits' biases.
    source: How to name the checkpoint in error messages (its path).

  Returns:
    A `Conversion`: the 2D tensors (every `inception_v1` tensor, values
    copied) and the skipped bookkeeping names.

  Raises:
    ValueError: If a weight is missing, unexpected, misshaped, not floating
      point or not finite, or a BatchNorm has a scale (`gamma`), which I3D's
      BatchNorm lacks; the message names the variable and `source`.
  """
  input_channels = _shape_of(tensors, _STEM_WEIGHTS, 4, source)[2]
  num_classes = _shape_of(tensors, _LOGITS_BIASES, 1, source)[0]
  table = slim_table(num_classes, input_channels)
  weights = {row.name_slim for row in table}

  gammas = sorted(n for n in tensors if n.endswith('/BatchNorm/gamma'))
  if gammas:
    raise ValueError(
        f'{source}: {_listing(gammas)}: a BatchNorm scale, which I3D\'s '
        'BatchNorm does not have (slim\'s batch_norm defaults to scale=False); '
        'this checkpoint was trained with another arg scope and cannot be '
        'inflated exactly.')
  skipped = tuple(
      sorted(n for n in tensors if n in BOOKKEEPING or
             (n not in weights and _is_slot(n, weights))))
  missing = [row.name_slim for row in table if row.name_slim not in tensors]
  extra = sorted(set(tensors) - weights - set(skipped))
  if missing or extra:
    raise ValueError(
        f'{source}: not the variables of slim\'s InceptionV1 with '
        f'{num_classes} classes: missing [{_listing(missing)}], unexpected '
        f'[{_listing(extra)}].')

  tensors_2d = {}
  for row in table:
    value = inception_v1.checked_tensor(
        tensors[row.name_slim], f'{source}: {row.name_slim}', row.shape,
        'the checkpoint is corrupt or diverged: use another one.')
    tensors_2d[row.name_2d] = value.copy()
  return Conversion(tensors_2d, skipped)
