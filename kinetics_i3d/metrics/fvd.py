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
r"""Frechet Video Distance (FVD) on DeepMind's rgb_scratch I3D, in TF2.

  Thomas Unterthiner, Sjoerd van Steenkiste, Karol Kurach, Raphael Marinier,
  Marcin Michalski, Sylvain Gelly. "Towards Accurate Generative Models of
  Video: A New Metric & Challenges." arXiv:1812.01717, 2018.

The embedding network is I3D (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017). The TF-Hub
module `deepmind/i3d-kinetics-400/1` that the reference loads is DeepMind's
rgb_scratch checkpoint (all 230 tensors identical), which
`checkpoints.build_model('rgb_scratch')` fetches and verifies.

The reference protocol ('reference'), as google-research's
`frechet_video_distance` and TF-GAN's
`frechet_classifier_distance_from_activations` compute it:

1. Videos [N, T, H, W, 3], values in [0, 255], any H and W (T >= 9 here:
   I3D's logits need at least 9 frames). The reference takes the frames as
   given: no temporal resampling.
2. Every frame resized to 224x224 with TF1's `resize_bilinear`
   (align_corners=False, half_pixel_centers=False: source coordinate =
   output index * in / out), aspect ratio not kept.
3. Scaled with 2 * x / 255 - 1 in float32; the reference asserts the model
   input lies in [-1.001, 1.001].
4. The embedding is the graph's `RGB/inception_i3d/Mean`: the 400 Kinetics
   logits (no softmax), spatially squeezed and averaged over time, which is
   exactly the output of `i3d.InceptionI3d(400, final_endpoint='Logits')`.
   The reference feeds batches of exactly 16 videos; batch norm runs in
   inference mode, so the batch size does not change the values.
5. The distance in float64: means, *unbiased* covariances (divided by N - 1),
   FD = |m1 - m2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2), where
   tr sqrt(S1 S2) = tr sqrtm_sym(A S2 A) with A = sqrtm_sym(S1), and
   sqrtm_sym(M) = U diag(s') V^T from the SVD M = U diag(s) V^T, s' = sqrt(s)
   except that singular values below 1e-10 are kept as they are. (TF-GAN
   casts the result back to the embeddings' float32; we return float64.)

Named variants (`PROTOCOLS`), each one documented difference away:

* 'stylegan_v': StyleGAN-V's `fvd2048_16f` (Skorokhodov et al., 2022, as in
  its public `src/metrics/`): at most 2048 videos per set (the first ones in
  sorted order), clips of 16 consecutive frames (real videos from a random
  offset, generated ones from the first frame; videos shorter than 16 frames
  are skipped there, refused here), the *biased* covariance (divided by N)
  and `scipy.linalg.sqrtm(S_gen @ S_real)`, real part of the result. Its
  detector is a TorchScript port of the same TF-Hub model that rescales by
  x / 255 * 2 - 1 and resizes to 224 inside the TorchScript; that resize is
  not in the public source (StyleGAN-V's own docstring says the port matches
  the original "up to the upsampling operation"), so this variant keeps the
  reference resize: see 'half_pixel' for how much the resize matters.
* 'crop': frames resized so that the shorter side is 224 (aspect ratio kept,
  the longer side rounded to the nearest pixel, same TF1 bilinear op), then
  the central 224x224 crop.
* 'half_pixel': TF1 bilinear with half_pixel_centers=True, i.e. TF2's
  `tf.image.resize(..., 'bilinear')` and PyTorch's `interpolate(...,
  align_corners=False)` without antialiasing, the resize of most ports.

Library:

  embedder = fvd.Embedder(protocol='reference')
  real = embedder.embed(real_videos, value_range=255)   # [N, 400] float32
  fake = embedder.embed(fake_videos, value_range=255)
  stats = fvd.Statistics.from_embeddings(real, 'reference', num_frames=16)
  stats.save('real_stats.npz')
  value = fvd.frechet_video_distance(stats, fake, 'reference')

Sets stored on disk (folders of videos or of frame folders, `.npy`/`.npz`
arrays, saved statistics) are read by `open_set` and embedded by
`embed_set`, in batches, with progress, resumably (see `embed_set`).
"""

import dataclasses
import hashlib
import json
import math
import os
import sys
import time
import warnings
import weakref
import zipfile
import zlib
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)

from absl import logging
import numpy as np
from PIL import Image
import scipy.linalg
import tensorflow as tf
import tqdm

import i3d
from kinetics_i3d import paths
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.video import decode
from kinetics_i3d.weights import assets
from kinetics_i3d.weights import checkpoints

NUM_CLASSES = 400
EMBEDDING_SIZE = NUM_CLASSES
INPUT_SIZE = 224
# The reference's assertion on the network input.
INPUT_BOUND = 1.001
# TF-GAN's `_symmetric_matrix_square_root`: smaller singular values are kept
# unrooted.
TFGAN_SQRT_EPS = 1e-10
# The reference's batch size (any size gives the same values).
DEFAULT_BATCH_SIZE = 16
VALUE_RANGES = (255, 1)
CHECKPOINT = 'rgb_scratch'
STATISTICS_FORMAT = 'i3d-fvd-statistics-v1'
CACHE_FORMAT = 'i3d-fvd-partial-embeddings-v1'

VIDEO_EXTENSIONS = ('.avi', '.mp4', '.m4v', '.mov', '.mkv', '.webm', '.mpg',
                    '.mpeg', '.flv', '.wmv', '.ogv', '.gif', '.3gp', '.ts')
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff',
                    '.ppm')

# Clip start within a video: the first frame, or a seeded random offset.
CLIP_STARTS = ('first', 'random')


class FVDError(ValueError):
  """Bad input to FVD; the message names the input and the remedy."""


# What reading a damaged .npy / .npz raises.
_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile)


def min_num_frames() -> int:
  """The fewest frames I3D's logits accept (9)."""
  return i3d.min_num_frames()


# ----------------------------------------------------------------------------
# Protocols.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Protocol:
  """How videos become embeddings and embeddings a distance.

  Attributes:
    name: Key in `PROTOCOLS`.
    difference: One line: how it differs from the reference.
    resize: 'squash' (both sides to 224, aspect ratio not kept) or 'crop'
      (shorter side to 224, centre crop).
    half_pixel_centers: TF1 `resize_bilinear`'s half_pixel_centers.
    covariance: 'unbiased' (N - 1) or 'biased' (N).
    sqrtm: 'tfgan' (symmetric SVD square roots, as TF-GAN) or 'scipy'
      (`scipy.linalg.sqrtm` of the product, real part).
    num_frames: Clip length taken from each video; None: every frame.
    clip_start: {'real': ..., 'generated': ...}, each 'first' or 'random'.
    max_videos: Use at most this many videos per set (first in order).
  """
  name: str
  difference: str
  resize: str = 'squash'
  half_pixel_centers: bool = False
  covariance: str = 'unbiased'
  sqrtm: str = 'tfgan'
  num_frames: Optional[int] = None
  clip_start: Tuple[Tuple[str, str], ...] = (('real', 'first'),
                                             ('generated', 'first'))
  max_videos: Optional[int] = None

  def start_for(self, role: str) -> str:
    return dict(self.clip_start)[role]

  def embedding_fields(self) -> Dict[str, Any]:
    """The fields that change the embedding of a given clip."""
    return {'resize': self.resize,
            'half_pixel_centers': self.half_pixel_centers}


PROTOCOLS: Dict[str, Protocol] = {p.name: p for p in (
    Protocol('reference',
             'google-research frechet_video_distance on TF-GAN, exactly'),
    Protocol('stylegan_v',
             "StyleGAN-V's fvd2048_16f: <= 2048 videos, 16-frame clips "
             '(real at a random offset), biased covariance, scipy sqrtm',
             covariance='biased', sqrtm='scipy', num_frames=16,
             clip_start=(('real', 'random'), ('generated', 'first')),
             max_videos=2048),
    Protocol('crop',
             'shorter side resized to 224 (aspect ratio kept), centre '
             '224x224 crop', resize='crop'),
    Protocol('half_pixel',
             'bilinear resize with half-pixel centres (TF2 / PyTorch '
             'semantics)', half_pixel_centers=True),
)}


def get_protocol(protocol: Union[str, Protocol]) -> Protocol:
  """The `Protocol` named `protocol` (or `protocol` itself)."""
  if isinstance(protocol, Protocol):
    return protocol
  if protocol not in PROTOCOLS:
    raise FVDError(f'Unknown FVD protocol {protocol!r}; choose one of '
                   f'{", ".join(PROTOCOLS)}.')
  return PROTOCOLS[protocol]


# ----------------------------------------------------------------------------
# Preprocessing: values, resize, scaling.
# ----------------------------------------------------------------------------


def _check_value_range(value_range: Any, name: str) -> int:
  try:
    value = int(value_range)
  except (TypeError, ValueError):
    value = None
  if value not in VALUE_RANGES or float(value_range) != value:
    raise FVDError(f'{name}: value_range must be 255 (values in [0, 255]) or '
                   f'1 (values in [0, 1]), got {value_range!r}.')
  return value


def check_values(frames: np.ndarray, value_range: int, name: str) -> None:
  """Refuses NaN or infinite values and values outside [0, value_range].

  The bound allows what the reference's input assertion allows: values that
  map into [-1.001, 1.001].

  Raises:
    FVDError: Naming `name`, the offending value and the remedy.
  """
  frames = np.asarray(frames)
  if frames.dtype == np.bool_ or not (np.issubdtype(frames.dtype, np.floating)
                                      or np.issubdtype(frames.dtype,
                                                       np.integer)):
    raise FVDError(f'{name}: expected uint8 or float pixel values, got dtype '
                   f'{frames.dtype}.')
  if frames.size == 0:
    raise FVDError(f'{name}: is empty (shape {frames.shape}).')
  if np.issubdtype(frames.dtype, np.floating) and not np.all(
      np.isfinite(frames)):
    raise FVDError(f'{name}: contains NaN or infinite values.')
  if frames.dtype == np.uint8 and value_range == 255:
    return
  low, high = float(frames.min()), float(frames.max())
  slack = (INPUT_BOUND - 1.) / 2. * value_range
  if low < -slack or high > value_range + slack:
    other = 1 if value_range == 255 else 255
    raise FVDError(
        f'{name}: values span [{low:g}, {high:g}], outside the declared '
        f'range [0, {value_range}] (value_range={value_range}); declare '
        f'value_range={other} if that is how they are stored, or rescale them.')


def _crop_shape(height: int, width: int) -> Tuple[int, int]:
  """Frame size with the shorter side 224, the longer one rounded."""
  if height <= width:
    return INPUT_SIZE, max(INPUT_SIZE,
                           int(math.floor(width * INPUT_SIZE / height + 0.5)))
  return max(INPUT_SIZE, int(math.floor(height * INPUT_SIZE / width + 0.5))
            ), INPUT_SIZE


def resize_frames(frames: Union[np.ndarray, tf.Tensor],
                  protocol: Union[str, Protocol] = 'reference') -> tf.Tensor:
  """Resizes frames to 224x224 as `protocol` says.

  Args:
    frames: [N, H, W, 3] frames, values in [0, 255] (any real dtype).
    protocol: A protocol name or `Protocol`.

  Returns:
    float32 [N, 224, 224, 3], values in [0, 255].
  """
  protocol = get_protocol(protocol)
  frames = tf.cast(frames, tf.float32)
  height, width = int(frames.shape[1]), int(frames.shape[2])
  size = ((INPUT_SIZE, INPUT_SIZE) if protocol.resize == 'squash' else
          _crop_shape(height, width))
  if (height, width) != size:
    # TF1's ResizeBilinear kernel, which the reference's
    # `tf.image.resize_bilinear` (`tf.compat.v1.image.resize_bilinear`)
    # runs; called directly to skip its deprecation warning.
    frames = tf.raw_ops.ResizeBilinear(
        images=frames, size=size, align_corners=False,
        half_pixel_centers=protocol.half_pixel_centers)
  if protocol.resize == 'crop':
    top = (size[0] - INPUT_SIZE) // 2
    left = (size[1] - INPUT_SIZE) // 2
    frames = frames[:, top:top + INPUT_SIZE, left:left + INPUT_SIZE, :]
  return frames


def _too_few_frames(name: str, num_frames: int) -> FVDError:
  return FVDError(
      f'{name}: clips of {num_frames} frames are too short: I3D needs at '
      f'least {min_num_frames()} frames (its logits average-pool 2 time steps '
      'after 8x temporal downsampling).')


def _check_clip_shape(clip: np.ndarray, name: str) -> None:
  if clip.ndim != 4 or clip.shape[-1] != 3:
    raise FVDError(f'{name}: expected RGB frames [T, H, W, 3], got shape '
                   f'{tuple(clip.shape)}.')
  if clip.shape[0] < min_num_frames():
    raise _too_few_frames(name, clip.shape[0])
  if clip.shape[1] < 1 or clip.shape[2] < 1:
    raise FVDError(f'{name}: frames of size {clip.shape[1]}x{clip.shape[2]}.')


def preprocess_clip(clip: np.ndarray,
                    protocol: Union[str, Protocol] = 'reference',
                    value_range: int = 255,
                    name: str = 'clip') -> np.ndarray:
  """One video as the network's input under `protocol`.

  Args:
    clip: [T, H, W, 3] frames, values in [0, value_range], T >= 9.
    protocol: A protocol name or `Protocol`.
    value_range: 255 or 1 (values in [0, 1] are multiplied by 255 first).
    name: The clip's name in error messages.

  Returns:
    float32 [T, 224, 224, 3], 2 * x / 255 - 1, within [-1.001, 1.001].

  Raises:
    FVDError: For a bad shape, too few frames, NaN or values out of range.
  """
  value_range = _check_value_range(value_range, name)
  clip = np.asarray(clip)
  _check_clip_shape(clip, name)
  check_values(clip, value_range, name)
  frames = tf.convert_to_tensor(np.asarray(clip, np.float32))
  if value_range == 1:
    frames = frames * 255.
  frames = resize_frames(frames, protocol)
  scaled = (2. * frames / 255. - 1.).numpy()
  if scaled.min() < -INPUT_BOUND or scaled.max() > INPUT_BOUND:
    raise FVDError(f'{name}: the model input leaves [-{INPUT_BOUND}, '
                   f'{INPUT_BOUND}] (the reference asserts it).')
  return scaled


# ----------------------------------------------------------------------------
# The embedding.
# ----------------------------------------------------------------------------


# One traced forward pass per model, shared by every embedder using it
# (tracing I3D takes seconds).
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
            [None, None, INPUT_SIZE, INPUT_SIZE, 3], tf.float32)])
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
               protocol: Union[str, Protocol] = 'reference',
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
    self.protocol = get_protocol(protocol)
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
        getattr(model, 'num_classes', None) != NUM_CLASSES):
      raise FVDError('FVD needs the 400-class I3D with '
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
    if inputs.ndim != 5 or inputs.shape[2:] != (INPUT_SIZE, INPUT_SIZE, 3):
      raise FVDError(f'model inputs must be [B, T, 224, 224, 3], got '
                     f'{inputs.shape}.')
    if inputs.shape[1] < min_num_frames():
      raise _too_few_frames('model inputs', inputs.shape[1])
    if inputs.min() < -INPUT_BOUND or inputs.max() > INPUT_BOUND:
      raise FVDError(f'model inputs leave [-{INPUT_BOUND}, {INPUT_BOUND}] '
                     '(the reference asserts they do not).')
    if self._forward is None:
      self.model  # pylint: disable=pointless-statement
      logging.info('FVD embedder: rgb_scratch logits on the %s, protocol %s, '
                   'batches of %d.', self.device, self.protocol.name,
                   self.batch_size)
    if not self._allow_tf32:
      tf.config.experimental.enable_tensor_float_32_execution(False)
    return self._forward(tf.constant(inputs)).numpy()

  def preprocess(self, clip: np.ndarray, value_range: int = 255,
                 name: str = 'clip') -> np.ndarray:
    """`preprocess_clip` under this embedder's protocol."""
    return preprocess_clip(clip, self.protocol, value_range, name)

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


# ----------------------------------------------------------------------------
# Statistics and the distance.
# ----------------------------------------------------------------------------


def _check_embeddings(embeddings: np.ndarray, name: str) -> np.ndarray:
  embeddings = np.asarray(embeddings)
  if embeddings.ndim != 2:
    raise FVDError(f'{name}: embeddings must be [N, D], got shape '
                   f'{embeddings.shape}.')
  if embeddings.shape[0] < 2:
    raise FVDError(f'{name}: {embeddings.shape[0]} video(s); a covariance '
                   'needs at least 2 (FVD is meant for hundreds or more).')
  if not np.all(np.isfinite(embeddings)):
    raise FVDError(f'{name}: embeddings contain NaN or infinite values.')
  return embeddings.astype(np.float64)


@dataclasses.dataclass
class Statistics:
  """A set's Gaussian: float64 mean [D] and covariance [D, D].

  Attributes:
    mean: float64 [D].
    covariance: float64 [D, D], normalised as the protocol says.
    count: Number of videos.
    protocol: Protocol name.
    num_frames: Frames per clip the embeddings came from (0 if unknown).
  """
  mean: np.ndarray
  covariance: np.ndarray
  count: int
  protocol: str
  num_frames: int = 0

  @classmethod
  def from_embeddings(cls, embeddings: np.ndarray,
                      protocol: Union[str, Protocol] = 'reference',
                      num_frames: int = 0,
                      name: str = 'embeddings') -> 'Statistics':
    """Mean and covariance of [N, D] embeddings, in float64.

    Raises:
      FVDError: For fewer than 2 rows, a bad shape or NaN.
    """
    protocol = get_protocol(protocol)
    x = _check_embeddings(embeddings, name)
    mean = x.mean(axis=0)
    centred = x - mean
    divisor = x.shape[0] - 1 if protocol.covariance == 'unbiased' else (
        x.shape[0])
    covariance = centred.T @ centred / divisor
    return cls(mean, covariance, int(x.shape[0]), protocol.name,
               int(num_frames))

  def save(self, path: str, overwrite: bool = False) -> None:
    """Writes an `.npz` (plain arrays, no pickle) atomically.

    Raises:
      FileExistsError: If `path` exists and not `overwrite`.
    """
    with atomic_files.open_atomically(path, 'wb', overwrite=overwrite) as f:
      np.savez(f, format=np.array(STATISTICS_FORMAT),
               mean=np.asarray(self.mean, np.float64),
               covariance=np.asarray(self.covariance, np.float64),
               count=np.array(self.count, np.int64),
               protocol=np.array(self.protocol),
               num_frames=np.array(self.num_frames, np.int64))

  @classmethod
  def load(cls, path: str,
           protocol: Optional[Union[str, Protocol]] = None) -> 'Statistics':
    """Reads statistics written by `save`.

    Args:
      path: The `.npz` file.
      protocol: If given, the file must have been made under it.

    Raises:
      FVDError: For a missing or unreadable file, another format, bad shapes
        or another protocol.
    """
    try:
      with np.load(path, allow_pickle=False) as data:
        fields = {key: data[key] for key in data.files}
    except FileNotFoundError:
      raise FVDError(f'{path}: no such statistics file.') from None
    except _READ_ERRORS as e:
      raise FVDError(f'{path}: not a readable .npz statistics file '
                     f'({" ".join(str(e).split())}).') from None
    return cls._from_fields(fields, path, protocol)

  @classmethod
  def _from_fields(cls, fields: Dict[str, np.ndarray], path: str,
                   protocol: Optional[Union[str, Protocol]]) -> 'Statistics':
    missing = {'format', 'mean', 'covariance', 'count', 'protocol',
               'num_frames'} - set(fields)
    if missing or str(fields['format']) != STATISTICS_FORMAT:
      raise FVDError(
          f'{path}: not FVD statistics written by this library (missing '
          f'{sorted(missing) or "format " + STATISTICS_FORMAT}).')
    try:
      mean = np.asarray(fields['mean'])
      covariance = np.asarray(fields['covariance'])
      count = int(fields['count'])
      num_frames = int(fields['num_frames'])
      protocol_name = str(fields['protocol'])
    except (TypeError, ValueError) as e:
      raise FVDError(f'{path}: malformed statistics ({e}).') from None
    if (mean.shape != (EMBEDDING_SIZE,) or
        covariance.shape != (EMBEDDING_SIZE, EMBEDDING_SIZE) or
        mean.dtype != np.float64 or covariance.dtype != np.float64):
      raise FVDError(
          f'{path}: statistics of shape mean {mean.shape} {mean.dtype}, '
          f'covariance {covariance.shape} {covariance.dtype}; expected '
          f'float64 [{EMBEDDING_SIZE}] and [{EMBEDDING_SIZE}, '
          f'{EMBEDDING_SIZE}] (rgb_scratch logits).')
    if count < 2 or not (np.all(np.isfinite(mean)) and
                         np.all(np.isfinite(covariance))):
      raise FVDError(f'{path}: statistics of {count} videos or with NaN; '
                     'recompute them from at least 2 videos.')
    stats = cls(mean, covariance, count, protocol_name, num_frames)
    if stats.protocol not in PROTOCOLS:
      raise FVDError(f'{path}: made under unknown protocol '
                     f'{stats.protocol!r}.')
    if protocol is not None:
      protocol = get_protocol(protocol)
      if stats.protocol != protocol.name:
        raise FVDError(
            f'{path}: statistics of protocol {stats.protocol!r}, but the '
            f'protocol is {protocol.name!r}; recompute them or pass '
            f'protocol {stats.protocol!r}.')
    return stats


def tfgan_sqrtm(matrix: np.ndarray, eps: float = TFGAN_SQRT_EPS) -> np.ndarray:
  """TF-GAN's square root of a symmetric PSD matrix, by SVD, in float64.

  U diag(s') V^T with s' = sqrt(s), except singular values below `eps`,
  which are kept unrooted (TF-GAN's guard against sqrt near 0).
  """
  u, s, vh = np.linalg.svd(np.asarray(matrix, np.float64))
  root = np.where(s < eps, s, np.sqrt(s))
  return (u * root) @ vh


def trace_sqrt_product(sigma: np.ndarray, sigma_v: np.ndarray,
                       method: str = 'tfgan') -> float:
  """tr sqrt(sigma sigma_v) of two covariances.

  Args:
    sigma: [D, D] (the real set's covariance).
    sigma_v: [D, D] (the generated set's).
    method: 'tfgan': tr sqrtm_sym(A sigma_v A), A = sqrtm_sym(sigma) (TF-GAN);
      'scipy': real part of tr scipy.linalg.sqrtm(sigma_v @ sigma)
      (StyleGAN-V).

  Returns:
    The trace.
  """
  if method == 'tfgan':
    root = tfgan_sqrtm(sigma)
    return float(np.trace(tfgan_sqrtm(root @ (sigma_v @ root))))
  if method == 'scipy':
    with warnings.catch_warnings():
      # Rank-deficient covariances (fewer videos than 400) make the product
      # singular; StyleGAN-V takes the result as it comes, and so do we.
      warnings.simplefilter('ignore', scipy.linalg.LinAlgWarning)
      root = scipy.linalg.sqrtm(sigma_v @ sigma)
    return float(np.real(np.trace(root)))
  raise FVDError(f"sqrtm method must be 'tfgan' or 'scipy', got {method!r}.")


def frechet_distance(real: Statistics, generated: Statistics,
                     protocol: Optional[Union[str, Protocol]] = None
                    ) -> float:
  """|m1 - m2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2), in float64.

  Args:
    real: The real set's statistics.
    generated: The generated set's statistics.
    protocol: If given, both must have been made under it; otherwise they
      must agree with each other.

  Returns:
    The Frechet distance.

  Raises:
    FVDError: If the statistics disagree in protocol, size or clip length.
  """
  names = {real.protocol, generated.protocol}
  if protocol is not None:
    names.add(get_protocol(protocol).name)
  if len(names) > 1:
    raise FVDError(f'statistics of different protocols {sorted(names)}: '
                   'compute both sets under one protocol.')
  method = get_protocol(real.protocol).sqrtm
  if real.mean.shape != generated.mean.shape:
    raise FVDError(f'statistics of different sizes {real.mean.shape} and '
                   f'{generated.mean.shape}.')
  if real.num_frames and generated.num_frames and (
      real.num_frames != generated.num_frames):
    raise FVDError(
        f'the real set has clips of {real.num_frames} frames and the '
        f'generated set of {generated.num_frames}: compare clips of one '
        'length.')
  diff = real.mean - generated.mean
  trace_sqrt = trace_sqrt_product(real.covariance, generated.covariance,
                                  method)
  return float(diff @ diff + np.trace(real.covariance) +
               np.trace(generated.covariance) - 2. * trace_sqrt)


def frechet_video_distance(real: Union[np.ndarray, Statistics],
                           generated: Union[np.ndarray, Statistics],
                           protocol: Union[str, Protocol] = 'reference'
                          ) -> float:
  """FVD from two sets of embeddings [N, 400] or their `Statistics`."""
  protocol = get_protocol(protocol)

  def stats(x, name):
    if isinstance(x, Statistics):
      return x
    return Statistics.from_embeddings(x, protocol, name=name)

  return frechet_distance(stats(real, 'real embeddings'),
                          stats(generated, 'generated embeddings'), protocol)


# ----------------------------------------------------------------------------
# Sets of videos on disk.
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClipSampling:
  """Which frames of a video form its clip.

  Attributes:
    num_frames: Clip length; None: every frame (stride applies).
    stride: Take every `stride`-th frame (1: consecutive frames).
    start: 'first' (from frame 0) or 'random' (a uniform offset, drawn from
      `seed` and the video's name, so reruns and resumes agree).
    seed: Seed of the random offsets.
  """
  num_frames: Optional[int] = None
  stride: int = 1
  start: str = 'first'
  seed: int = 0

  def __post_init__(self):
    if self.num_frames is not None and self.num_frames < min_num_frames():
      raise _too_few_frames(f'num_frames={self.num_frames}', self.num_frames)
    if self.stride < 1:
      raise FVDError(f'frame stride must be >= 1, got {self.stride}.')
    if self.start not in CLIP_STARTS:
      raise FVDError(f'clip start must be one of {CLIP_STARTS}, got '
                     f'{self.start!r}.')

  @property
  def span(self) -> Optional[int]:
    """Source frames one clip covers (None: the whole video)."""
    if self.num_frames is None:
      return None
    return (self.num_frames - 1) * self.stride + 1

  def indices(self, total: int, key: str, name: str) -> np.ndarray:
    """Frame indices of the clip of a video of `total` frames."""
    if self.num_frames is None:
      return np.arange(0, total, self.stride)
    if total < self.span:
      raise FVDError(
          f'{name}: {total} frames, but a clip of {self.num_frames} frames '
          f'at stride {self.stride} needs {self.span}; lower num_frames (at '
          f'least {min_num_frames()}) or the stride, or drop the video.')
    offset = 0
    if self.start == 'random':
      rng = np.random.default_rng(
          [self.seed, zlib.crc32(key.encode('utf-8'))])
      offset = int(rng.integers(0, total - self.span + 1))
    return offset + np.arange(self.num_frames) * self.stride

  def describe(self) -> str:
    length = ('all frames' if self.num_frames is None else
              f'{self.num_frames} frames')
    start = (f'random start (seed {self.seed})' if self.start == 'random'
             else 'from the first frame')
    return f'{length}, stride {self.stride}, {start}'


def iter_stored_frames(path: str) -> Iterator[np.ndarray]:
  """Every frame a video file stores, once each, in order.

  The reference takes frames as given, so videos are not resampled to 25 fps
  here: the project's decoder (`video.decode`) runs at the stream's own
  average frame rate, sampling half a frame after each timestamp, which shows
  each stored frame of a constant-rate video exactly once. (A variable-rate
  video is sampled at its average rate.)

  Args:
    path: A video file in any format FFmpeg reads.

  Yields:
    uint8 [H, W, 3] RGB frames (read-only).

  Raises:
    FVDError: For a missing, unreadable, truncated or corrupt file, or one
      that declares no frame rate.
  """
  try:
    decode.check_video(path)
    rate = decode.source_fps(path)
    if rate is None:
      raise FVDError(f'{path}: the video stream declares no frame rate, so '
                     'its stored frames cannot be told apart; re-encode it '
                     'or extract its frames into a folder.')
    for frame, _ in decode.iter_video_frames(path, fps=rate,
                                             start_time=0.5 / rate):
      yield frame
  except decode.PreprocessError as e:
    raise FVDError(str(e)) from None


def _file_entry(path: str, name: str) -> List[Any]:
  info = os.stat(path)
  return [name, info.st_size, info.st_mtime_ns]


def _sorted_entries(folder: str) -> List[str]:
  try:
    return sorted(os.listdir(folder))
  except OSError as e:
    raise FVDError(f'{folder}: cannot list it ({e.strerror}).') from None


class VideoSet:
  """A set of videos on disk: one video file, frame folder or array row each.

  Kinds:
    'videos': a folder of video files (any FFmpeg format), decoded with the
      project's decoder at each file's own frame rate, i.e. every stored
      frame once (FVD takes frames as stored; no resampling to 25 fps).
    'frames': a folder of folders of frame images, each sorted by name.
    'array': a `.npy` or single-array `.npz` file [N, T, H, W, 3].
  Videos are taken in sorted name (or row) order.
  """

  def __init__(self, path: str, kind: str, names: List[str],
               array: Optional[np.ndarray] = None,
               value_range: int = 255):
    self.path = path
    self.kind = kind
    self.names = names
    self.value_range = value_range
    # The memory-mapped [N, T, H, W, 3] array of an 'array' set.
    self.array = array

  def __len__(self) -> int:
    return len(self.names)

  def limit(self, max_videos: Optional[int]) -> None:
    """Keeps the first `max_videos` videos."""
    if max_videos is not None:
      self.names = self.names[:max_videos]

  def fingerprint(self) -> Dict[str, Any]:
    """What identifies the set's content (names, sizes, times)."""
    root = os.path.abspath(self.path)
    if self.kind == 'array':
      return {'kind': self.kind, 'files': [_file_entry(root, root)],
              'count': len(self.names)}
    files = []
    for name in self.names:
      full = os.path.join(root, name)
      if self.kind == 'frames':
        files.append([name] + [
            _file_entry(os.path.join(full, frame), frame)
            for frame in self._frame_files(name)])
      else:
        files.append(_file_entry(full, name))
    return {'kind': self.kind, 'root': root, 'files': files}

  def _frame_files(self, name: str) -> List[str]:
    folder = os.path.join(self.path, name)
    return [f for f in _sorted_entries(folder)
            if f.lower().endswith(IMAGE_EXTENSIONS)]

  def sample_name(self, index: int) -> str:
    if self.kind == 'array':
      return f'{self.path}[{index}]'
    return os.path.join(self.path, self.names[index])

  def clip(self, index: int, sampling: ClipSampling) -> np.ndarray:
    """The clip of video `index`: [T, H, W, 3] (uint8 or the array's dtype).

    Raises:
      FVDError: For unreadable or truncated files, too few frames, frames of
        different sizes.
    """
    name = self.sample_name(index)
    if self.kind == 'array':
      video = self.array[index]
      return np.asarray(video[sampling.indices(video.shape[0],
                                               self.names[index], name)])
    if self.kind == 'frames':
      return self._frames_clip(index, sampling, name)
    return self._video_clip(index, sampling, name)

  def _frames_clip(self, index: int, sampling: ClipSampling,
                   name: str) -> np.ndarray:
    files = self._frame_files(self.names[index])
    if not files:
      raise FVDError(f'{name}: no frame images '
                     f'({", ".join(IMAGE_EXTENSIONS)}).')
    frames = []
    for i in sampling.indices(len(files), self.names[index], name):
      path = os.path.join(name, files[i])
      try:
        with Image.open(path) as image:
          frames.append(np.asarray(image.convert('RGB')))
      except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise FVDError(f'{path}: not a readable image ({e}).') from None
      if frames[-1].shape != frames[0].shape:
        raise FVDError(f'{path}: frame of size {frames[-1].shape[:2]}, but '
                       f'{files[0]} is {frames[0].shape[:2]}; the frames of '
                       'a video must share one size.')
    return np.stack(frames)

  def _video_clip(self, index: int, sampling: ClipSampling,
                  name: str) -> np.ndarray:
    key = self.names[index]
    if sampling.num_frames is not None and sampling.start == 'first':
      clip = []
      for frame in iter_stored_frames(name):
        clip.append(frame)
        if len(clip) == sampling.span:
          break
    elif sampling.num_frames is None:
      clip = list(iter_stored_frames(name))
    else:
      # A random start: count the frames first, so that memory stays bounded.
      total = sum(1 for _ in iter_stored_frames(name))
      selected = set(sampling.indices(total, key, name).tolist())
      return np.stack([frame for i, frame in enumerate(
          iter_stored_frames(name)) if i in selected])
    return np.stack([clip[i] for i in sampling.indices(len(clip), key, name)])

  def check_values(self) -> None:
    """Scans an array set for NaN and values out of range, chunk by chunk."""
    if self.kind != 'array':
      return
    chunk = max(1, int(2**27 // max(1, np.prod(self.array.shape[1:]))))
    for start in range(0, len(self.names), chunk):
      check_values(self.array[start:start + chunk], self.value_range,
                   f'{self.path}[{start}:{start + chunk}]')


def _load_array_file(path: str) -> Union[np.ndarray, Dict[str, np.ndarray]]:
  try:
    if path.lower().endswith('.npy'):
      with open(path, 'rb') as f:
        if f.read(6) != b'\x93NUMPY':  # Else numpy suggests unpickling it.
          raise FVDError(f'{path}: not a .npy file (no .npy header); write '
                         'arrays with numpy.save.')
      return np.load(path, mmap_mode='r', allow_pickle=False)
    with np.load(path, allow_pickle=False) as data:
      keys = list(data.files)
      if {'mean', 'covariance'} <= set(keys):
        return {key: data[key] for key in keys}
      if len(keys) != 1:
        raise FVDError(
            f'{path}: holds arrays {keys}; store one array [N, T, H, W, 3] '
            '(np.savez(path, videos)) or statistics written by this library.')
      return data[keys[0]]
  except FVDError:
    raise
  except _READ_ERRORS as e:
    raise FVDError(f'{path}: not a readable numpy file '
                   f'({" ".join(str(e).split())}).') from None


def open_set(path: str,
             value_range: Optional[int] = None,
             protocol: Union[str, Protocol] = 'reference',
             flag: str = 'set',
             range_flag: str = 'value_range') -> Union[VideoSet, Statistics]:
  """Opens a set of videos, or saved statistics, without decoding anything.

  Args:
    path: A folder of video files; a folder of frame folders; a `.npy` /
      `.npz` array [N, T, H, W, 3]; or an `.npz` of `Statistics`.
    value_range: 255 or 1, the range of an array's values (required for
      arrays, never guessed); decoded videos and images are uint8 [0, 255].
    protocol: Statistics files must have been made under it.
    flag: How to call the input in errors (e.g. '--real').
    range_flag: How to call `value_range` in errors (e.g. '--value_range').

  Returns:
    A `VideoSet`, or `Statistics`.

  Raises:
    FVDError: For a missing or unreadable path, a folder mixing videos and
      frame folders or holding neither, an array of the wrong shape or
      dtype, a missing value range, statistics of another protocol.
  """
  label = f'{flag}={path}'
  if not os.path.exists(path):
    raise FVDError(f'{label}: no such file or folder.')
  if os.path.isdir(path):
    entries = _sorted_entries(path)
    videos = [e for e in entries if e.lower().endswith(VIDEO_EXTENSIONS) and
              os.path.isfile(os.path.join(path, e))]
    folders = [e for e in entries if os.path.isdir(os.path.join(path, e))
               and not e.startswith('.')]
    if videos and folders:
      raise FVDError(
          f'{label}: holds both video files ({videos[0]}, ...) and folders '
          f'({folders[0]}, ...); give a folder of videos or a folder of '
          'frame folders.')
    if videos:
      return VideoSet(path, 'videos', videos)
    if folders:
      return VideoSet(path, 'frames', folders)
    raise FVDError(
        f'{label}: no video files ({", ".join(VIDEO_EXTENSIONS)}) and no '
        'frame folders in it.')
  if not path.lower().endswith(('.npy', '.npz')):
    raise FVDError(f'{label}: give a folder of videos, a folder of frame '
                   'folders, a .npy/.npz array or a statistics .npz.')
  loaded = _load_array_file(path)
  if isinstance(loaded, dict):
    return Statistics._from_fields(loaded, path, protocol)  # pylint: disable=protected-access
  array = loaded
  if array.ndim != 5 or array.shape[-1] != 3:
    raise FVDError(f'{label}: expected videos [N, T, H, W, 3], got shape '
                   f'{array.shape}.')
  if not (np.issubdtype(array.dtype, np.floating) or
          np.issubdtype(array.dtype, np.integer)) or array.dtype == np.bool_:
    raise FVDError(f'{label}: expected uint8 or float values, got dtype '
                   f'{array.dtype}.')
  if value_range is None:
    raise FVDError(
        f'{label}: an array needs its value range stated: {range_flag}=255 '
        f'(uint8, or floats in [0, 255]) or {range_flag}=1 (floats in '
        '[0, 1]).')
  value_range = _check_value_range(value_range, label)
  names = [str(i) for i in range(array.shape[0])]
  return VideoSet(path, 'array', names, array, value_range)


# ----------------------------------------------------------------------------
# Embedding a set: batches, progress, resumable cache.
# ----------------------------------------------------------------------------


def cache_key(video_set: VideoSet, protocol: Protocol,
              sampling: ClipSampling) -> str:
  """Hex digest identifying a set's embeddings (content and protocol)."""
  description = {
      'format': CACHE_FORMAT,
      'model': CHECKPOINT,
      'protocol': protocol.embedding_fields(),
      'value_range': video_set.value_range,
      'sampling': dataclasses.asdict(sampling),
      'set': video_set.fingerprint(),
  }
  text = json.dumps(description, sort_keys=True)
  return hashlib.sha256(text.encode('utf-8')).hexdigest()


def _read_cache(path: str, key: str, names: List[str]) -> np.ndarray:
  if not os.path.exists(path):
    return np.zeros([0, EMBEDDING_SIZE], np.float32)
  try:
    with np.load(path, allow_pickle=False) as data:
      ok = (str(data['format']) == CACHE_FORMAT and str(data['key']) == key)
      done_names = [str(n) for n in data['names']]
      embeddings = np.asarray(data['embeddings'], np.float32)
  except _READ_ERRORS + (KeyError,) as e:
    logging.warning('%s: unreadable partial embeddings (%s); starting over.',
                    path, e)
    return np.zeros([0, EMBEDDING_SIZE], np.float32)
  if (not ok or done_names != names[:len(done_names)] or
      embeddings.shape != (len(done_names), EMBEDDING_SIZE)):
    logging.warning('%s: partial embeddings of other inputs; starting over.',
                    path)
    return np.zeros([0, EMBEDDING_SIZE], np.float32)
  return embeddings


def _write_cache(path: str, key: str, names: List[str],
                 embeddings: np.ndarray) -> None:
  with atomic_files.open_atomically(path, 'wb') as f:
    np.savez(f, format=np.array(CACHE_FORMAT), key=np.array(key),
             names=np.array(names[:len(embeddings)], dtype=np.str_),
             embeddings=embeddings.astype(np.float32))


def clip_length(video_set: VideoSet, sampling: ClipSampling) -> int:
  """Frames in the set's clips, read from its first video.

  Raises:
    FVDError: If the first video is unreadable or its clip shorter than I3D
      takes.
  """
  if sampling.num_frames is not None:
    return sampling.num_frames
  if video_set.kind == 'array':
    length = len(sampling.indices(video_set.array.shape[1], '0',
                                  video_set.sample_name(0)))
  else:
    length = int(video_set.clip(0, sampling).shape[0])
  if length < min_num_frames():
    raise _too_few_frames(video_set.sample_name(0), length)
  return length


def embed_set(video_set: VideoSet,
              embedder: Embedder,
              sampling: ClipSampling,
              cache_dir: Optional[str] = None,
              label: str = 'videos',
              progress: bool = True,
              on_batch: Optional[Callable[[int], None]] = None,
              num_frames: Optional[int] = None) -> np.ndarray:
  """Embeddings of every video of a set, in batches, resumably.

  With `cache_dir`, the embeddings computed so far are written after every
  batch to `<cache_dir>/<key>.npz` (atomically), where the key is a sha256 of
  the set's file names, sizes and modification times, the protocol's
  preprocessing, the value range and the clip sampling: a killed run,
  started again with the same inputs and settings, resumes after the last
  batch written; anything else starts afresh. The file stays after success,
  so the same set is not embedded twice; delete it at will.

  Args:
    video_set: The set (see `open_set`).
    embedder: The model and protocol.
    sampling: How clips are taken from videos.
    cache_dir: Folder of partial-embedding files; None: no cache.
    label: The set's name in logs ('real', 'generated').
    progress: Show a tqdm bar on stderr (logs are written regardless).
    on_batch: Called with the number of videos done after each batch (tests).
    num_frames: The clip length every video must give (e.g. the first
      video's, from `clip_length`); None: the first clip embedded sets it.

  Returns:
    float32 [len(video_set), 400].

  Raises:
    FVDError: For a video that cannot be read or used (names it), or clips of
      different lengths.
  """
  names = video_set.names
  total = len(names)
  cache_path = None
  done = np.zeros([0, EMBEDDING_SIZE], np.float32)
  if cache_dir:
    os.makedirs(cache_dir, exist_ok=True)
    key = cache_key(video_set, embedder.protocol, sampling)
    cache_path = os.path.join(cache_dir, f'{key[:32]}.npz')
    atomic_files.remove_temporaries(cache_path)
    done = _read_cache(cache_path, key, names)
    if len(done):
      logging.info('%s: resuming after %d of %d videos embedded earlier (%s).',
                   label, len(done), total, cache_path)
  parts = [done]
  count = len(done)
  length = num_frames
  started = time.time()
  last_log = 0.
  bar = tqdm.tqdm(total=total, initial=count, unit='video', file=sys.stderr,
                  disable=not progress, desc=f'FVD {label}')
  try:
    while count < total:
      batch = []
      for index in range(count, min(count + embedder.batch_size, total)):
        name = video_set.sample_name(index)
        clip = video_set.clip(index, sampling)
        length = length or clip.shape[0]
        if clip.shape[0] != length:
          raise FVDError(
              f'{name}: a clip of {clip.shape[0]} frames, but the set\'s '
              f'first has {length}; take clips of one length (num_frames).')
        batch.append(embedder.preprocess(clip, video_set.value_range, name))
      parts.append(embedder.embed_inputs(np.stack(batch)))
      count += len(batch)
      if cache_path:
        _write_cache(cache_path, key, names, np.concatenate(parts))
      bar.update(len(batch))
      now = time.time()
      if now - last_log > 10. or count == total:
        last_log = now
        rate = (count - len(done)) / max(now - started, 1e-9)
        logging.info('%s: embedded %d/%d videos (%.2f videos/s).', label,
                     count, total, rate)
      if on_batch is not None:
        on_batch(count)
  finally:
    bar.close()
  return np.concatenate(parts)


def default_cache_dir() -> str:
  """`<the download cache>/fvd` (`$I3D_CACHE_DIR` or `~/.cache/i3d`)."""
  return os.path.join(assets.cache_dir(), 'fvd')


def check_output_path(path: str, overwrite: bool, flag: str) -> None:
  """Refuses an output that exists (unless `overwrite`) or has no folder."""
  folder = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(folder):
    raise FVDError(f'{flag}={path}: folder {folder} does not exist.')
  if os.path.exists(path) and not overwrite:
    raise FVDError(f'{flag}={path}: exists; pass --overwrite to replace it.')


# ----------------------------------------------------------------------------
# Comparing two sets given by path (what `i3d-fvd` runs).
# ----------------------------------------------------------------------------


@dataclasses.dataclass
class SetPlan:
  """One side of a comparison, checked and ready to embed.

  Attributes:
    role: 'real' or 'generated'.
    flag: How errors and logs call it (e.g. '--real').
    source: The `VideoSet`, or `Statistics` loaded from a file.
    sampling: How clips are taken (None for statistics).
    num_frames: Frames per clip (0 if statistics do not say).
    save_path: Where to write its statistics, if anywhere.
  """
  role: str
  flag: str
  source: Union[VideoSet, Statistics]
  sampling: Optional[ClipSampling]
  num_frames: int
  save_path: Optional[str] = None

  def describe(self) -> str:
    if isinstance(self.source, Statistics):
      return (f'{self.flag}: statistics of {self.source.count} videos, clips '
              f'of {self.source.num_frames or "?"} frames')
    return (f'{self.flag}: {self.source.path} ({len(self.source)} videos, '
            f'{self.source.kind}), clips of {self.sampling.describe()}')


def plan_comparison(real: str,
                    generated: str,
                    protocol: Union[str, Protocol] = 'reference',
                    value_range: Optional[int] = None,
                    num_frames: Optional[int] = None,
                    frame_stride: int = 1,
                    clip_start: Optional[str] = None,
                    seed: int = 0,
                    max_videos: Optional[int] = None,
                    save_real_stats: Optional[str] = None,
                    save_generated_stats: Optional[str] = None,
                    overwrite: bool = False,
                    flag_names: Optional[Dict[str, str]] = None
                   ) -> List[SetPlan]:
  """Checks everything about two inputs that needs no model.

  Opens both sets, applies the protocol's defaults (clip length, clip start
  per role, video count), reads the first video of each to learn its clip
  length, scans arrays for NaN and values out of range, and checks the
  statistics outputs. Bad input fails here, before the model is loaded.

  Args:
    real: Path of the real set (see `open_set`).
    generated: Path of the generated set.
    protocol: A protocol name or `Protocol`.
    value_range: 255 or 1 for array inputs (required for them).
    num_frames: Clip length; None: the protocol's (every frame if it has none).
    frame_stride: Take every n-th frame.
    clip_start: 'first' or 'random'; None: the protocol's for each role.
    seed: Seed of random clip offsets.
    max_videos: Use the first this many videos of each set; None: the
      protocol's (all if it has none).
    save_real_stats: Write the real set's statistics here at the end.
    save_generated_stats: Likewise for the generated set.
    overwrite: Replace existing statistics files.
    flag_names: How to call the inputs in errors: keys 'real', 'generated',
      'value_range', 'num_frames', 'save_real_stats', 'save_generated_stats'
      (defaults: those names).

  Returns:
    [real plan, generated plan].

  Raises:
    FVDError: For any input that cannot be compared (message names it).
  """
  protocol = get_protocol(protocol)
  names = {key: key for key in ('real', 'generated', 'value_range',
                                'num_frames', 'save_real_stats',
                                'save_generated_stats')}
  names.update(flag_names or {})
  if max_videos is None:
    max_videos = protocol.max_videos
  if num_frames is None:
    num_frames = protocol.num_frames
  if num_frames is not None and num_frames < min_num_frames():
    raise _too_few_frames(f'{names["num_frames"]}={num_frames}', num_frames)
  if frame_stride < 1:
    raise FVDError(f'frame stride must be >= 1, got {frame_stride}.')
  if clip_start is not None and clip_start not in CLIP_STARTS:
    raise FVDError(f'clip start must be one of {CLIP_STARTS}, got '
                   f'{clip_start!r}.')
  saves = {'real': save_real_stats, 'generated': save_generated_stats}
  plans = []
  for role, path in (('real', real), ('generated', generated)):
    flag = names[role]
    save_flag = names[f'save_{role}_stats']
    source = open_set(path, value_range, protocol, flag, names['value_range'])
    if isinstance(source, Statistics):
      if saves[role]:
        raise FVDError(f'{save_flag}: {flag}={path} holds statistics '
                       'already; nothing to save.')
      plans.append(SetPlan(role, flag, source, None, source.num_frames))
      continue
    source.limit(max_videos)
    if len(source) < 2:
      raise FVDError(
          f'{flag}={path}: {len(source)} video(s); FVD needs at least 2 per '
          'set (and hundreds for a meaningful value).')
    sampling = ClipSampling(num_frames, frame_stride,
                            clip_start or protocol.start_for(role), seed)
    source.check_values()
    length = clip_length(source, sampling)
    plans.append(SetPlan(role, flag, source, sampling, length, saves[role]))
  lengths = [plan.num_frames for plan in plans]
  if all(lengths) and lengths[0] != lengths[1]:
    raise FVDError(
        f'{plans[0].flag} has clips of {lengths[0]} frames and '
        f'{plans[1].flag} of {lengths[1]}: compare clips of one length '
        f'(set {names["num_frames"]}).')
  for plan in plans:
    if plan.save_path:
      check_output_path(plan.save_path, overwrite,
                        names[f'save_{plan.role}_stats'])
  return plans


def run_comparison(plans: Sequence[SetPlan],
                   protocol: Union[str, Protocol] = 'reference',
                   embedder: Optional[Embedder] = None,
                   cache_dir: Optional[str] = None,
                   overwrite: bool = False,
                   progress: bool = True
                  ) -> Tuple[float, Dict[str, Statistics]]:
  """Embeds what `plan_comparison` planned and returns (FVD, statistics).

  Statistics files are written only once the distance is computed, so a
  failure leaves none behind.

  Args:
    plans: From `plan_comparison`.
    protocol: The protocol the plans were made with.
    embedder: An `Embedder` of `protocol` (it loads the model only if a set
      needs embedding); None: `Embedder(protocol)`.
    cache_dir: Partial-embedding cache (see `embed_set`); None: none.
    overwrite: Replace existing statistics files.
    progress: Progress bars on stderr.

  Returns:
    (the FVD, {'real': Statistics, 'generated': Statistics}).
  """
  protocol = get_protocol(protocol)
  if embedder is not None and embedder.protocol != protocol:
    raise FVDError(f'the embedder is of protocol {embedder.protocol.name!r}, '
                   f'the comparison of {protocol.name!r}.')
  stats = {}
  for plan in plans:
    logging.info('%s.', plan.describe())
    if isinstance(plan.source, Statistics):
      stats[plan.role] = plan.source
      continue
    if embedder is None:
      embedder = Embedder(protocol)
    embeddings = embed_set(plan.source, embedder, plan.sampling, cache_dir,
                           plan.role, progress, num_frames=plan.num_frames)
    stats[plan.role] = Statistics.from_embeddings(
        embeddings, protocol, plan.num_frames, plan.flag)
  value = frechet_distance(stats['real'], stats['generated'], protocol)
  for plan in plans:
    if plan.save_path:
      stats[plan.role].save(plan.save_path, overwrite=overwrite)
      logging.info('Wrote the %s statistics to %s.', plan.role,
                   plan.save_path)
  return value, stats
