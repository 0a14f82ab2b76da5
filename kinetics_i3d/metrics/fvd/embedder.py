# Copyright 2026 The kinetics-i3d TF2 authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
"""The FVD embedding: time-averaged rgb_scratch I3D logits, in batches.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) embeds a video as the 400
Kinetics logits of DeepMind's rgb_scratch I3D (Carreira & Zisserman, CVPR
2017), the TF-Hub module `deepmind/i3d-kinetics-400/1` the reference loads;
batch norm runs in inference mode, so the batch size changes no value.
"""

from typing import Callable, Optional, Sequence, Union
import weakref

from absl import logging
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d.metrics.fvd import preprocessing
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.errors import too_few_frames
from kinetics_i3d.weights import checkpoints

CHECKPOINT = 'rgb_scratch'
# An embedding is the Kinetics-400 logits.
EMBEDDING_SIZE = i3d.KINETICS_400_CLASSES
# The reference's batch size (any size gives the same values).
DEFAULT_BATCH_SIZE = 16

_INPUT_SIZE = preprocessing.INPUT_SIZE
_INPUT_BOUND = preprocessing.INPUT_BOUND

# One traced forward pass per model, shared by every embedder using it.
_FORWARD_FUNCTIONS = weakref.WeakKeyDictionary()


def _forward_function(model: i3d.InceptionI3d) -> Callable[[tf.Tensor],
                                                           tf.Tensor]:
  if model not in _FORWARD_FUNCTIONS:
    # A weak reference, so that the cached function does not keep its own
    # key (the model) alive.
    model_ref = weakref.ref(model)
    _FORWARD_FUNCTIONS[model] = tf.function(
        lambda x: model_ref()(x, is_training=False)[0],
        input_signature=[tf.TensorSpec(
            [None, None, _INPUT_SIZE, _INPUT_SIZE, 3], tf.float32)])
  return _FORWARD_FUNCTIONS[model]


class Embedder:
  """rgb_scratch I3D logits (time-averaged) of videos, in batches.

  The model is loaded on first use (so a run whose embeddings are all cached
  never loads it). Runs on the GPU when TensorFlow sees one. TF32 matrix
  arithmetic (on by default on Ampere and later GPUs) is switched off unless
  `allow_tf32`, so the embedding keeps the float32 precision the reference
  computed it in.
  """

  def __init__(self,
               protocol: Union[str, protocols.Protocol] = 'reference',
               model: Optional[i3d.InceptionI3d] = None,
               checkpoint_dir: str = paths.CHECKPOINT_DIR,
               batch_size: int = DEFAULT_BATCH_SIZE,
               allow_tf32: bool = False):
    """Sets up the embedder.

    Args:
      protocol: A protocol name or `Protocol`.
      model: An `i3d.InceptionI3d(400, final_endpoint='Logits')` with
        rgb_scratch loaded (e.g. one shared between embedders); None:
        `checkpoints.build_model('rgb_scratch')` on first use.
      checkpoint_dir: Where `build_model` finds or fetches rgb_scratch.
      batch_size: Videos per forward pass.
      allow_tf32: Keep TensorFlow's TF32 default on GPUs.

    Raises:
      FVDError: For a bad batch size or model.
    """
    self.protocol = protocols.get_protocol(protocol)
    if not isinstance(batch_size, int) or batch_size < 1:
      raise FVDError(f'batch_size must be a positive integer, got '
                     f'{batch_size!r}.')
    self.batch_size = batch_size
    self._allow_tf32 = allow_tf32
    self._checkpoint_dir = checkpoint_dir
    self._model = None
    self._forward = None
    if model is not None:
      self._set_model(model)

  def _set_model(self, model: i3d.InceptionI3d) -> None:
    if (getattr(model, 'final_endpoint', None) != 'Logits' or
        getattr(model, 'num_classes', None) != EMBEDDING_SIZE):
      raise FVDError(f'FVD needs the {EMBEDDING_SIZE}-class I3D with '
                     "final_endpoint='Logits' (rgb_scratch).")
    self._model = model
    self._forward = _forward_function(model)

  @property
  def model(self) -> i3d.InceptionI3d:
    """The network (loaded now if it was not yet)."""
    if self._model is None:
      self._set_model(checkpoints.build_model(
          CHECKPOINT, final_endpoint='Logits',
          checkpoint_dir=self._checkpoint_dir))
    return self._model

  @property
  def device(self) -> str:
    return 'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'

  def embed_inputs(self, inputs: np.ndarray) -> np.ndarray:
    """Logits of model inputs [B, T, 224, 224, 3] in [-1, 1] -> [B, 400]."""
    inputs = np.asarray(inputs, np.float32)
    if inputs.ndim != 5 or inputs.shape[2:] != (_INPUT_SIZE, _INPUT_SIZE, 3):
      raise FVDError(f'model inputs must be [B, T, {_INPUT_SIZE}, '
                     f'{_INPUT_SIZE}, 3], got {inputs.shape}.')
    if inputs.shape[1] < i3d.min_num_frames():
      raise too_few_frames('model inputs', inputs.shape[1])
    if inputs.min() < -_INPUT_BOUND or inputs.max() > _INPUT_BOUND:
      raise FVDError(f'model inputs leave [-{_INPUT_BOUND}, {_INPUT_BOUND}] '
                     '(the reference asserts they do not).')
    return self.embed_checked_inputs(tf.constant(inputs))

  def embed_checked_inputs(self, inputs: tf.Tensor) -> np.ndarray:
    """`embed_inputs` of float32 inputs already checked (`preprocess`'s).

    Args:
      inputs: float32 [B, T, 224, 224, 3], T >= 9, within [-1.001, 1.001];
        made into a tensor where they were made (`embed_set`'s thread), so
        that this thread only runs the model.

    Returns:
      float32 [B, 400].
    """
    if self._forward is None:
      self.model  # pylint: disable=pointless-statement
      logging.info('FVD embedder: rgb_scratch logits on the %s, protocol %s, '
                   'batches of %d.', self.device, self.protocol.name,
                   self.batch_size)
    if not self._allow_tf32:
      tf.config.experimental.enable_tensor_float_32_execution(False)
    return self._forward(inputs).numpy()

  def preprocess(self, clip: np.ndarray, value_range: int = 255,
                 name: str = 'clip') -> np.ndarray:
    """`preprocessing.preprocess_clip` under this embedder's protocol."""
    return preprocessing.preprocess_clip(clip, self.protocol, value_range, name)

  def preprocess_to_tensor(self, clip: np.ndarray, value_range: int = 255,
                           name: str = 'clip') -> tf.Tensor:
    """`preprocess` as a tensor (`preprocessing.preprocess_clip_tensor`)."""
    return preprocessing.preprocess_clip_tensor(clip, self.protocol,
                                                value_range, name)

  def embed(self,
            videos: Union[np.ndarray, Sequence[np.ndarray]],
            value_range: int = 255,
            name: str = 'videos') -> np.ndarray:
    """Embeddings of videos held in memory.

    Args:
      videos: [N, T, H, W, 3] (or a sequence of [T, H, W, 3] of one length
        T), values in [0, value_range].
      value_range: 255 or 1.
      name: The videos' name in error messages.

    Returns:
      float32 [N, 400].

    Raises:
      FVDError: For bad shapes, too few frames, NaN or values out of range.
    """
    if isinstance(videos, np.ndarray) and videos.ndim != 5:
      raise FVDError(f'{name}: expected videos [N, T, H, W, 3], got shape '
                     f'{videos.shape}.')
    out = []
    batch = []
    for index in range(len(videos)):
      clip = self.preprocess(videos[index], value_range, f'{name}[{index}]')
      if clip.shape[0] != len(videos[0]):
        raise FVDError(
            f'{name}[{index}]: {clip.shape[0]} frames, but {name}[0] has '
            f'{len(videos[0])}; take clips of one length.')
      batch.append(clip)
      if len(batch) == self.batch_size or index == len(videos) - 1:
        out.append(self.embed_inputs(np.stack(batch)))
        batch = []
    if not out:
      return np.zeros([0, EMBEDDING_SIZE], np.float32)
    return np.concatenate(out)

