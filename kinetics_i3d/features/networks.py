"""The networks of a feature extraction: checkpoints loaded, truncated.

Each stream of I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017) is an Inception-v1 network
loaded from one of DeepMind's released TF1 checkpoints or a file in their
layout, built only up to the endpoint whose activations are the features.
Where a checkpoint lives and what is wrong with one is
`weights.checkpoints.resolve_checkpoint`'s to say.
"""

from typing import Any, Callable, Mapping, Tuple

from absl import logging
import tensorflow as tf

import i3d
from kinetics_i3d.features import settings
from kinetics_i3d.inference import fast_inference
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import loading

# A network maps float32 clips [B, T, H, W, C] to (output, end_points).
Network = Callable[[tf.Tensor], Tuple[tf.Tensor, Mapping[str, tf.Tensor]]]


def as_network(model: Any) -> Network:
  """Wraps an `i3d.InceptionI3d` (inference mode) or a `FastI3d` as a Network.

  Args:
    model: An `i3d.InceptionI3d`, or any callable taking clips and returning
      `(output, end_points)` (e.g. `fast_inference.FastI3d`).

  Returns:
    The callable.

  Raises:
    ValueError: For anything else.
  """
  if isinstance(model, i3d.InceptionI3d):
    return lambda clips: model(clips, is_training=False)
  if not callable(model):
    raise ValueError(f'Expected an i3d.InceptionI3d or a callable network, '
                     f'got {type(model).__name__}.')
  return model


def _check_checkpoint(config: settings.ExtractionConfig, stream: str) -> None:
  name = config.checkpoint(stream)
  spec = checkpoints.ORIGINAL_CHECKPOINTS.get(name)
  if spec is not None and spec.stream == stream:
    return  # Present, or fetched when it is loaded.
  # Refuses a released checkpoint of the other stream, or a prefix without
  # its .index file; reads and fetches nothing.
  checkpoints.resolve_checkpoint(name, stream, config.checkpoint_dir,
                                 fetch=False, flag=f'--{stream}_checkpoint')


def check_checkpoints(config: settings.ExtractionConfig) -> None:
  """Cheap checks of the checkpoint settings, before any worker starts.

  Args:
    config: The settings.

  Raises:
    checkpoints.CheckpointError: For a released checkpoint of the other
      stream, or a checkpoint path without its `.index` file.
  """
  for stream in config.streams:
    _check_checkpoint(config, stream)


def build_network(config: settings.ExtractionConfig, stream: str) -> Network:
  """Loads the checkpoint of one stream, truncated at `config.endpoint`.

  Args:
    config: The settings; `config.checkpoint(stream)` is a name from
      `checkpoints.ORIGINAL_CHECKPOINTS` or a TF1 checkpoint prefix.
    stream: 'rgb' or 'flow'.

  Returns:
    The network (BatchNorm folded in if `config.fast`).

  Raises:
    checkpoints.CheckpointError: For an unknown name, a missing file, or a
      checkpoint of the other stream.
  """
  model = load_stream_model(config, stream)
  if config.fast:
    # 'eager': the extractor traces the whole pooled pass itself.
    return fast_inference.fold_batch_norm(model, mode='eager')
  return as_network(model)


def load_stream_model(config: settings.ExtractionConfig,
                      stream: str) -> i3d.InceptionI3d:
  """Loads the checkpoint of one stream into a model ending at the endpoint.

  A released name is read from `config.checkpoint_dir/<name>/model.ckpt.*`
  (`checkpoints.build_model`, which fetches the public rgb_scratch weights
  there when they are missing; a folder it creates for them is logged).

  Args:
    config: The settings.
    stream: 'rgb' or 'flow'.

  Returns:
    The loaded model, built up to `config.endpoint`.

  Raises:
    checkpoints.CheckpointError: As `build_network`.
  """
  _check_checkpoint(config, stream)
  name = config.checkpoint(stream)
  if name not in checkpoints.ORIGINAL_CHECKPOINTS:
    return _load_checkpoint_file(name, stream, config.endpoint)
  folder = config.checkpoint_dir
  existed = tf.io.gfile.isdir(folder)
  try:
    return loading.build_model(name, final_endpoint=config.endpoint,
                               checkpoint_dir=folder)
  finally:
    if not existed and tf.io.gfile.isdir(folder):
      logging.info('Created --checkpoint_dir=%s (it did not exist) for the '
                   '%s checkpoint, as %s/model.ckpt.*.', folder, name, name)


def _load_checkpoint_file(prefix: str, stream: str,
                          endpoint: str) -> i3d.InceptionI3d:
  """Builds a model and loads a TF1 checkpoint in the original layout."""
  num_classes = i3d.KINETICS_400_CLASSES
  if endpoint == 'Logits':
    # The logits layer's size comes from the file (Kinetics-400 or -600).
    try:
      shapes = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError):
      shapes = {}  # load_original reports the unreadable file.
    biases = [shape for name, shape in shapes.items()
              if name.endswith('Logits/Conv3d_0c_1x1/conv_3d/b')]
    if len(biases) == 1:
      num_classes = int(biases[0][0])
  model = i3d.InceptionI3d(num_classes=num_classes, final_endpoint=endpoint)
  loading.load_original(model, prefix, stream)
  return model
