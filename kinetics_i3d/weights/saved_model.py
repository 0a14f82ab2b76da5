"""The Sonnet 2 I3D model as a SavedModel that plain TensorFlow serves.

The model is the I3D network of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

`export_saved_model` writes a SavedModel with a `serving_default` signature
(float32 `frames` in, `logits` and `probabilities` out, or `features` of a
truncated model) that `tf.saved_model.load` serves without this repository's
code; a `ServingSignature` sets another interface (`exports.signatures`).
"""

import dataclasses
import os
from typing import Callable, Dict, Optional

from absl import logging
import tensorflow as tf

import i3d
from kinetics_i3d import streams
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.utils import log_state
from kinetics_i3d.weights import name_mapping


def reaches_logits(final_endpoint: str) -> bool:
  """Whether a model stopping at `final_endpoint` computes the logits."""
  return 'Logits' in i3d.endpoints_up_to(final_endpoint)


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
    input_name: The name of its one input, float32
      [B, T, streams.CROP, streams.CROP, C].
    outputs: (model output, end points) -> {output name: tensor}.
  """
  name: str
  input_name: str
  outputs: Callable[[tf.Tensor, Dict[str, tf.Tensor]], Dict[str, tf.Tensor]]


SERVING_DEFAULT = ServingSignature('serving_default', 'frames',
                                   classifier_or_features)


def _check_exportable(model: i3d.InceptionI3d, num_channels: int,
                      num_frames: Optional[int]) -> None:
  """Raises ValueError for a model, channel count or length not servable."""
  if reaches_logits(model.final_endpoint) and not model.spatial_squeeze:
    raise ValueError(
        'Logits can be exported only with spatial_squeeze=True '
        f'({streams.CROP}x{streams.CROP} frames); got final_endpoint '
        f'{model.final_endpoint!r}, spatial_squeeze={model.spatial_squeeze}.')
  check_export_num_frames(model.final_endpoint, num_frames)
  built_channels = name_mapping.model_num_channels(model)
  if built_channels is not None and built_channels != num_channels:
    raise ValueError(f'num_channels={num_channels}, but the model takes '
                     f'{built_channels} input channels.')


def _serving_module(model: i3d.InceptionI3d, num_channels: int,
                    num_frames: Optional[int],
                    signature: ServingSignature) -> tf.Module:
  """A module holding the model and its one traced signature, `serve`."""
  serving = tf.Module()
  serving.model = model

  @tf.function(input_signature=[
      tf.TensorSpec(
          [None, num_frames, streams.CROP, streams.CROP, num_channels],
          tf.float32, name=signature.input_name)
  ])
  def serve(frames):
    output, end_points = model(frames, is_training=False)
    return signature.outputs(output, end_points)

  serving.serve = serve
  return serving


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

  The SavedModel is written through `atomic_files.staged_directory`, so
  `export_dir` is either absent (or as it was) or complete.

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
  _check_exportable(model, num_channels, num_frames)
  export_dir = os.path.abspath(export_dir)
  with atomic_files.staged_directory(export_dir, overwrite) as staging:
    name_mapping.build_variables(model, num_channels)
    serving = _serving_module(model, num_channels, num_frames, signature)
    with log_state.kept_log_level():  # Else later INFO lines are lost.
      tf.saved_model.save(serving, staging,
                          signatures={signature.name: serving.serve})
  logging.info('Exported a SavedModel to %s.', export_dir)
  return export_dir
