"""Tests for train_data.py, and the synthetic videos other training tests use.

The input pipeline of I3D's training recipe (Carreira & Zisserman, "Quo
Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017)
is tested beside its rooms: datasets_test.py, clip_cache_test.py,
input_pipeline_test.py. This file keeps the helpers that write synthetic
videos (`write_synthetic_dataset`, used by train_test.py too) and checks the
names train_data gathers.
"""

import os
import shutil
import tempfile
from typing import Tuple

import av
import numpy as np
import tensorflow as tf

from kinetics_i3d.training import clip_cache
from kinetics_i3d.training import datasets
from kinetics_i3d.training import input_pipeline
from kinetics_i3d.training import train_data


def tempdir(test: tf.test.TestCase) -> str:
  """A temporary folder removed after `test`."""
  # tempfile, not create_tempdir: that needs absl flags, unparsed under pytest.
  path = tempfile.mkdtemp(prefix='train_test_')
  test.addCleanup(shutil.rmtree, path, ignore_errors=True)
  return path


# Class k: a square of colour _COLOURS[k] moving along _MOTIONS[k] (pixels per
# frame, [dy, dx]) over a noisy grey background.
_COLOURS = ((220, 40, 40), (40, 220, 40), (40, 40, 220), (220, 220, 40))
_MOTIONS = ((0, 2), (0, -2), (2, 0), (-2, 0))


def write_video(path: str, frames: np.ndarray, fps: int = 25) -> None:
  """Writes uint8 [T, H, W, 3] frames (even H, W) as MPEG-4 in `path`."""
  with av.open(path, 'w') as container:
    stream = container.add_stream('mpeg4', rate=fps)
    stream.height, stream.width = frames.shape[1:3]
    stream.pix_fmt = 'yuv420p'
    for frame in frames:
      for packet in stream.encode(av.VideoFrame.from_ndarray(frame, 'rgb24')):
        container.mux(packet)
    for packet in stream.encode():
      container.mux(packet)


def synthetic_video(label: int, rng: np.random.Generator, num_frames: int = 12,
                    size: Tuple[int, int] = (40, 48)) -> np.ndarray:
  """A clip of class `label`: uint8 [num_frames, H, W, 3]."""
  height, width = size
  frames = 90 + rng.integers(0, 30, (num_frames, height, width, 3))
  frames = frames.astype(np.uint8)
  y, x = rng.integers(10, height - 20), rng.integers(10, width - 20)
  dy, dx = _MOTIONS[label]
  for t in range(num_frames):
    top, left = (y + dy * t) % (height - 10), (x + dx * t) % (width - 10)
    frames[t, top:top + 10, left:left + 10] = _COLOURS[label]
  return frames


def write_synthetic_dataset(root: str, num_classes: int = 3,
                            per_class: int = 2, broken: int = 0,
                            seed: int = 0) -> None:
  """Writes root/class_<k>/v<i>.avi, plus `broken` unreadable videos."""
  rng = np.random.default_rng(seed)
  for label in range(num_classes):
    folder = os.path.join(root, f'class_{label}')
    os.makedirs(folder, exist_ok=True)
    for i in range(per_class):
      write_video(
          os.path.join(folder, f'v{i}.avi'), synthetic_video(label, rng))
  for i in range(broken):
    with open(os.path.join(root, 'class_0', f'broken{i}.avi'), 'wb') as f:
      f.write(b'not a video at all' * 10)


class ReexportsTest(tf.test.TestCase):

  def test_names_are_the_defining_modules_own(self):
    for name, module in (
        ('DatasetError', datasets), ('Example', datasets),
        ('list_video_folder', datasets), ('load_examples', datasets),
        ('CachedExample', clip_cache), ('build_cache', clip_cache),
        ('warn_empty_classes', clip_cache),
        ('train_dataset', input_pipeline), ('eval_dataset', input_pipeline)):
      self.assertIs(getattr(train_data, name), getattr(module, name), name)


if __name__ == '__main__':
  tf.test.main()
