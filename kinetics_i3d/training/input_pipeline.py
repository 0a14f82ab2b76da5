"""The tf.data pipelines that feed I3D's training and evaluation from the cache.

The data side of the recipe of Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset" (CVPR 2017,
https://arxiv.org/abs/1705.07750), as the kinetics-i3d README describes it:
random 224x224 crops and random temporal windows for training, centre crops
for evaluation, videos looped when shorter than the window. Left-right flips
augment both streams; flipping a flow field also negates its horizontal
component. Clips come from `clip_cache`'s uint8 arrays.

Training clips are a pure function of `(seed, step, slot)` (which video,
window, crop and flip), so that a resumed run reads exactly the clips an
uninterrupted run would have read, however many workers prefetch them.
"""

import functools
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from kinetics_i3d import streams
from kinetics_i3d.training import clip_cache
from kinetics_i3d.video import flow_input
from kinetics_i3d.video import rgb

_Examples = Sequence[clip_cache.CachedExample]


def _window(length: int, num_frames: int, start: int) -> np.ndarray:
  # Short videos are looped, as in the paper.
  return (start + np.arange(num_frames)) % length


def to_model_input(clip: np.ndarray, stream: str, flip: bool) -> np.ndarray:
  """Converts a cached uint8 clip to float32 model input in [-1, 1].

  Args:
    clip: uint8 [T, H, W, C] from the cache.
    stream: 'rgb' or 'flow'.
    flip: Whether to flip left-right (negating the flow's x component).

  Returns:
    float32 [T, H, W, C] in [-1, 1].
  """
  if stream == streams.RGB:
    out = rgb.scale_rgb(clip)
  else:
    out = flow_input.dequantize_flow(clip) / np.float32(streams.FLOW_BOUND)
  if flip:
    out = out[:, :, ::-1]
    if stream == streams.FLOW:
      # A mirrored video moves the other way horizontally.
      out = out * np.array([-1., 1.], np.float32)
  return np.ascontiguousarray(out, dtype=np.float32)


def train_clip(array: np.ndarray, num_frames: int, crop_size: int,
               rng: np.random.Generator) -> Tuple[np.ndarray, bool]:
  """Draws a random window, random crop and random flip from a cached array.

  Args:
    array: uint8 [T, H, W, C] with H, W >= crop_size.
    num_frames: Window length (looping videos shorter than it).
    crop_size: Side of the square crop.
    rng: Source of randomness.

  Returns:
    `(clip, flip)`: uint8 [num_frames, crop_size, crop_size, C] and whether to
    flip it.
  """
  length, height, width = array.shape[:3]
  start = int(rng.integers(0, max(length - num_frames, 0) + 1))
  top = int(rng.integers(0, height - crop_size + 1))
  left = int(rng.integers(0, width - crop_size + 1))
  flip = bool(rng.integers(0, 2))
  clip = array[_window(length, num_frames, start), top:top + crop_size,
               left:left + crop_size]
  return clip, flip


def eval_clip(array: np.ndarray, num_frames: int, crop_size: int,
              min_frames: int = 1) -> np.ndarray:
  """Centre crop and centre window.

  Args:
    array: uint8 [T, H, W, C].
    num_frames: Window length; 0 for the whole video.
    crop_size: Side of the square centre crop.
    min_frames: With `num_frames` 0, videos shorter than this are looped to
      this length (the network's minimum clip).

  Returns:
    uint8 [T', crop_size, crop_size, C].
  """
  length, height, width = array.shape[:3]
  if num_frames <= 0:
    indices = _window(length, max(length, min_frames), 0)
  else:
    indices = _window(length, num_frames, max(length - num_frames, 0) // 2)
  top = (height - crop_size) // 2
  left = (width - crop_size) // 2
  return array[indices, top:top + crop_size, left:left + crop_size]


@functools.lru_cache(maxsize=4)
def _epoch_order(seed: int, epoch: int, size: int) -> np.ndarray:
  return np.random.default_rng([seed, epoch, size]).permutation(size)


def train_example(examples: _Examples, step: int, slot: int,
                  global_batch_size: int, seed: int) -> int:
  """Index of the video in `slot` of the global batch of `step`."""
  position = step * global_batch_size + slot
  epoch, index = divmod(position, len(examples))
  return int(_epoch_order(seed, epoch, len(examples))[index])


def _load_array(example: clip_cache.CachedExample) -> np.ndarray:
  return np.load(example.cache_path, mmap_mode='r', allow_pickle=False)


def _train_loader(examples: _Examples, stream: str, num_frames: int,
                  crop_size: int, global_batch: int, seed: int
                 ) -> Callable[[tf.Tensor, tf.Tensor],
                               Tuple[tf.Tensor, tf.Tensor]]:
  """(step, slot) tensors -> (clip, label) tensors, the clip of that slot."""
  channels = streams.CHANNELS[stream]

  def load(step: np.ndarray, slot: np.ndarray):
    step, slot = int(step), int(slot)
    example = examples[train_example(examples, step, slot, global_batch,
                                     seed)]
    rng = np.random.default_rng([seed, step, slot])
    clip, flip = train_clip(_load_array(example), num_frames, crop_size, rng)
    return to_model_input(clip, stream, flip), np.int32(example.label)

  def load_tensors(step, slot):
    clip, label = tf.numpy_function(load, [step, slot],
                                    (tf.float32, tf.int32), stateful=False)
    clip.set_shape([num_frames, crop_size, crop_size, channels])
    label.set_shape([])
    return clip, label

  return load_tensors


def train_dataset(examples: _Examples,
                  stream: str,
                  num_frames: int,
                  crop_size: int,
                  per_replica_batch_size: int,
                  num_replicas: int,
                  replica_ids: Sequence[int],
                  start_step: int,
                  num_steps: int,
                  seed: int,
                  parallelism: Optional[int] = None,
                  deterministic: bool = False) -> tf.data.Dataset:
  """Training batches for some replicas, for steps [start_step, num_steps).

  The global batch of a step has `per_replica_batch_size * num_replicas`
  slots; replica r takes slots [r * b, (r + 1) * b). The dataset yields, for
  each step, one batch per replica in `replica_ids`, in that order (which is
  how `tf.distribute` hands consecutive elements to a worker's replicas).

  Args:
    examples: Cached training videos.
    stream: 'rgb' or 'flow'.
    num_frames: Frames per clip.
    crop_size: Crop side (224 in the paper).
    per_replica_batch_size: Clips per replica per step (6 in the paper).
    num_replicas: Replicas in sync across all workers.
    replica_ids: The replicas this input pipeline feeds.
    start_step: First step (the restored step when resuming).
    num_steps: Step to stop before.
    seed: Seed of the video order, windows, crops and flips.
    parallelism: Clips prepared at once; None for AUTOTUNE.
    deterministic: Set tf.data's deterministic options and no automatic
      map parallelisation, so that nothing in the pipeline depends on thread
      timing. (The clips are a pure function of step and slot, and the
      parallel map keeps their order, in either mode.)

  Returns:
    A dataset of `(clips, labels)`: float32 [b, num_frames, crop_size,
    crop_size, C] in [-1, 1] and int32 [b].
  """
  batch = per_replica_batch_size
  slots = np.concatenate([np.arange(r * batch, (r + 1) * batch)
                          for r in replica_ids]).astype(np.int64)
  load = _train_loader(examples, stream, num_frames, crop_size,
                       batch * num_replicas, seed)
  steps = tf.data.Dataset.range(start_step, num_steps)
  pairs = steps.flat_map(lambda step: tf.data.Dataset.from_tensor_slices(
      slots).map(lambda slot: (step, slot)))
  dataset = pairs.map(
      load, num_parallel_calls=parallelism or tf.data.AUTOTUNE,
      deterministic=True).batch(batch, drop_remainder=True).prefetch(2)
  if deterministic:
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_optimization.map_parallelization = False
    dataset = dataset.with_options(options)
  return dataset


def eval_dataset(examples: _Examples,
                 stream: str,
                 num_frames: int,
                 crop_size: int,
                 batch_size: int = 1,
                 min_frames: int = 1) -> tf.data.Dataset:
  """Evaluation batches in `examples` order: centre crops, no flips.

  Args:
    examples: Cached evaluation videos.
    stream: 'rgb' or 'flow'.
    num_frames: Frames of the centre window; 0 for the whole video (as the
      paper evaluates), which needs `batch_size` 1.
    crop_size: Crop side.
    batch_size: Clips per batch.
    min_frames: Whole videos shorter than this are looped to this length.

  Returns:
    A dataset of `(clips, labels, indices)`: float32 [B, T, crop, crop, C],
    int32 [B] and the int64 [B] positions in `examples`.

  Raises:
    ValueError: If whole videos are asked for with a batch above 1.
  """
  if num_frames <= 0 and batch_size != 1:
    raise ValueError('Whole-video evaluation (num_frames=0) needs batch size '
                     f'1, got {batch_size}.')
  channels = streams.CHANNELS[stream]

  def load(index: np.ndarray):
    example = examples[int(index)]
    clip = eval_clip(_load_array(example), num_frames, crop_size, min_frames)
    return to_model_input(clip, stream, False), np.int32(example.label)

  def load_tensors(index):
    clip, label = tf.numpy_function(load, [index], (tf.float32, tf.int32),
                                    stateful=False)
    clip.set_shape([num_frames if num_frames > 0 else None, crop_size,
                    crop_size, channels])
    label.set_shape([])
    return clip, label, index

  return tf.data.Dataset.range(len(examples)).map(
      load_tensors, num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=True).batch(batch_size).prefetch(2)
