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
"""Independent computations and shared fixtures of the FVD tests.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) on the rgb_scratch I3D
(Carreira & Zisserman, CVPR 2017). Every number the tests check is checked
against one of these, which share no code with the library:
* the resize against a numpy implementation of TF1's ResizeBilinear kernel
  (float32 source coordinates, as the kernel computes them);
* the distance against float64 numpy: `np.cov` and the eigenvalues of
  S1^1/2 S2 S1^1/2 from `np.linalg.eigh`;
* embeddings against `kinetics_i3d.testing.reference_forward` (raw TF ops on
  the checkpoint's tensors read with `tf.train.load_checkpoint`, sharing no
  code with `i3d.py`).
The model, its checkpoint's tensors and the embeddings of the shared sets are
computed once per test process, whichever test file asks first; clips are 10
frames of a few dozen pixels (everything is resized to the crop anyway).
"""

import functools
import os
import shutil
import tempfile
from typing import Dict, List, Tuple

import av
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.metrics.fvd import embedder as fvd_embedder
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.weights import checkpoints

# Short clips (I3D takes 9 or more) keep the tests fast.
FRAMES = 10
CROP = streams.CROP
SCOPE = 'RGB/inception_i3d/'


def numpy_resize_bilinear(image: np.ndarray, out_h: int, out_w: int,
                          half_pixel: bool = False) -> np.ndarray:
  """TF1 ResizeBilinear (align_corners=False) of [H, W, C], in numpy.

  Source coordinate of output index i: i * in / out (legacy), or
  (i + 0.5) * in / out - 0.5 (half-pixel), in float32 as the kernel computes
  it; neighbours floor and floor + 1 clamped to the image; linear weights.
  """
  image = np.asarray(image, np.float64)

  def axis(out_size, in_size):
    scale = np.float32(in_size) / np.float32(out_size)
    index = np.arange(out_size, dtype=np.float32)
    source = ((index + np.float32(.5)) * scale - np.float32(.5) if half_pixel
              else index * scale).astype(np.float64)
    low = np.floor(source)
    frac = source - low
    low = low.astype(int)
    return (np.clip(low, 0, in_size - 1), np.clip(low + 1, 0, in_size - 1),
            frac)

  y0, y1, fy = axis(out_h, image.shape[0])
  x0, x1, fx = axis(out_w, image.shape[1])
  fx = fx[None, :, None]
  top = image[y0][:, x0] * (1 - fx) + image[y0][:, x1] * fx
  bottom = image[y1][:, x0] * (1 - fx) + image[y1][:, x1] * fx
  return top * (1 - fy[:, None, None]) + bottom * fy[:, None, None]


def numpy_model_input(clip: np.ndarray, crop: bool = False) -> np.ndarray:
  """The reference (or 'crop') preprocessing of [T, H, W, 3], in numpy."""
  height, width = clip.shape[1:3]
  size = (CROP, CROP)
  if crop:
    short = min(height, width)
    size = (int(np.floor(height * CROP / short + .5)),
            int(np.floor(width * CROP / short + .5)))
  frames = np.stack([numpy_resize_bilinear(f, *size) for f in clip])
  top, left = (size[0] - CROP) // 2, (size[1] - CROP) // 2
  frames = frames[:, top:top + CROP, left:left + CROP]
  return (2 * frames / 255 - 1).astype(np.float32)


def independent_fd(a: np.ndarray, b: np.ndarray, ddof: int = 1) -> float:
  """Frechet distance of two embedding sets in float64 (eigh route)."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  s1 = np.cov(a, rowvar=False, ddof=ddof)
  s2 = np.cov(b, rowvar=False, ddof=ddof)
  w, v = np.linalg.eigh(s1)
  root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
  inner = np.linalg.eigvalsh(root @ s2 @ root)
  trace_sqrt = np.sqrt(np.clip(inner, 0, None)).sum()
  diff = a.mean(0) - b.mean(0)
  return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


def random_embeddings(n: int, seed: int, scale: float = 1.,
                      size: int = fvd_embedder.EMBEDDING_SIZE) -> np.ndarray:
  """float32 [n, size] correlated embeddings (covariance of rank <= n - 1)."""
  rng = np.random.default_rng(seed)
  basis = rng.normal(size=(size, size)) / np.sqrt(size)
  return (rng.normal(size=(n, size)) @ basis * scale +
          rng.normal(size=size)).astype(np.float32)


def blob_videos(seed: int, count: int, height: int, width: int,
                num_frames: int = FRAMES) -> np.ndarray:
  """uint8 [count, T, H, W, 3]: coloured blobs moving over a background."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:height, 0:width]
  videos = np.empty((count, num_frames, height, width, 3), np.uint8)
  for n in range(count):
    centre = rng.uniform(0, 1, (3, 2)) * [height, width]
    speed = rng.uniform(-3, 3, (3, 2))
    colour = rng.uniform(30, 220, (3, 3))
    background = rng.uniform(0, 80, 3)
    for t in range(num_frames):
      frame = np.broadcast_to(background, (height, width, 3)).copy()
      for c, s, col in zip(centre, speed, colour):
        cy, cx = c + s * t
        blob = np.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * (height / 6)**2))
        frame += blob[..., None] * col
      videos[n, t] = np.clip(frame, 0, 255).astype(np.uint8)
  return videos


def encode_lossless(path: str, frames: np.ndarray, rate=25) -> str:
  """Writes uint8 [T, H, W, 3] losslessly (FFV1) with PyAV."""
  with av.open(path, 'w') as container:
    stream = container.add_stream('ffv1', rate=rate)
    stream.height, stream.width = frames.shape[1:3]
    stream.pix_fmt = 'bgr0'
    for frame in frames:
      for packet in stream.encode(av.VideoFrame.from_ndarray(frame, 'rgb24')):
        container.mux(packet)
    for packet in stream.encode():
      container.mux(packet)
  return path


def make_tempdir(test_case) -> str:
  """A fresh folder, removed when `test_case` ends."""
  folder = tempfile.mkdtemp()
  test_case.addCleanup(shutil.rmtree, folder, ignore_errors=True)
  return folder


@functools.lru_cache(maxsize=None)
def shared_model() -> i3d.InceptionI3d:
  """The rgb_scratch model, loaded once (fetched on first use)."""
  return checkpoints.build_model('rgb_scratch',
                                 checkpoint_dir=paths.CHECKPOINT_DIR)


@functools.lru_cache(maxsize=None)
def checkpoint_tensors() -> Dict[str, np.ndarray]:
  """rgb_scratch's 230 tensors, read by TF's checkpoint reader."""
  shared_model()
  reader = tf.train.load_checkpoint(
      os.path.join(paths.CHECKPOINT_DIR, 'rgb_scratch', 'model.ckpt'))
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


# Sets used by the embedding and tool tests: two real videos, a square one
# (cropping and squashing agree on it) and a non-square one, and two
# generated videos.
def real_videos() -> List[np.ndarray]:
  return [blob_videos(1, 1, 40, 40)[0], blob_videos(2, 1, 36, 52)[0]]


def generated_videos() -> np.ndarray:
  return blob_videos(3, 2, 30, 44)


@functools.lru_cache(maxsize=None)
def variant_embeddings() -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
  """{preprocessing protocol: (real [2, 400], generated [2, 400])}."""
  out = {}
  for name in ('reference', 'crop', 'half_pixel'):
    embedder = fvd_embedder.Embedder(name, model=shared_model())
    out[name] = (embedder.embed(real_videos(), 255, 'real'),
                 embedder.embed(generated_videos(), 255, 'generated'))
  return out


# The colours of the constant videos whose independent logits are computed.
CONSTANT_COLOURS = (90, (250, 140, 20))


@functools.lru_cache(maxsize=None)
def independent_logits() -> Dict[str, np.ndarray]:
  """The independent forward pass's logits [400], in one batch.

  Returns:
    {'constant_0', 'constant_1': the `CONSTANT_COLOURS` videos;
     'real_1_squash', 'real_1_crop': `real_videos()[1]`, preprocessed by
     `numpy_model_input` without and with the crop}.
  """
  constants = [np.broadcast_to(2 * np.asarray(colour, np.float64) / 255 - 1,
                               (FRAMES, CROP, CROP, 3))
               for colour in CONSTANT_COLOURS]
  clip = real_videos()[1]
  inputs = np.stack(constants + [numpy_model_input(clip),
                                 numpy_model_input(clip, crop=True)])
  logits = reference_forward.reference_logits(
      checkpoint_tensors(), inputs.astype(np.float32), SCOPE)
  names = ('constant_0', 'constant_1', 'real_1_squash', 'real_1_crop')
  return dict(zip(names, np.asarray(logits)))
