"""One video's network inputs: frames decoded once, windowed and batched.

I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017) reads frames at 25 fps, resized and
centre-cropped, scaled to [-1, 1], and TV-L1 flow between them. A video file
is decoded once for both streams; the original's pre-made inputs
(`<name>_rgb.npy`, `<name>_flow.npy`) are read by memory map through
`video.sample_arrays`. Frames flow through a `Windower` per stream into
batches of windows, so memory stays flat in video length.
"""

import dataclasses
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.features import inputs as inputs_lib
from kinetics_i3d.features import settings
from kinetics_i3d.features import windows
from kinetics_i3d.video import containers
from kinetics_i3d.video import formats
from kinetics_i3d.video import model_inputs
from kinetics_i3d.video import sample_arrays

# (stream, [(first frame, number of frames)], float32 windows [B, T, H, W, C]
# that passed `validate_windows`, as a tensor).
InputBatch = Tuple[str, List[Tuple[int, int]], tf.Tensor]
# (stream, one frame [H, W, C] of it), in decoding order.
Frames = Iterator[Tuple[str, np.ndarray]]

_PREPROCESS_HINT = ('make model inputs with i3d-preprocess (smaller side '
                    f'{streams_lib.RESIZE}, centre crop {streams_lib.CROP}) '
                    'or pass the video itself')


def validate_windows(config: settings.ExtractionConfig, stream: str,
                     clips: Union[np.ndarray, tf.Tensor]) -> None:
  """Raises ValueError for float32 windows the network cannot take."""
  i3d.validate_inputs(clips, final_endpoint=config.endpoint,
                      num_channels=streams_lib.CHANNELS[stream],
                      name=f'{stream} windows')


@dataclasses.dataclass
class VideoInputs:
  """One video's network inputs, made batch by batch as `batches` is read.

  `windowers` (frame counts) and `info` ('source_fps', 'duration_s') are
  complete once `batches` is exhausted.
  """
  batches: Iterator[InputBatch]
  windowers: Dict[str, windows.Windower]
  info: Dict[str, Any]


def prepare_inputs(item: inputs_lib.VideoItem,
                   config: settings.ExtractionConfig,
                   read_path: Optional[str] = None) -> VideoInputs:
  """Opens a video (or pre-made inputs) for `FeatureExtractor.extract`.

  Args:
    item: The video.
    config: The settings.
    read_path: A local copy of `item.path` to read instead.

  Returns:
    The video's inputs; nothing is decoded before `batches` is read.

  Raises:
    ExtractionError: For an input that does not exist.
    sample_arrays.SampleArrayError: For a pre-made input the network cannot
      take.
  """
  if item.is_premade:
    sources, info = _premade_sources(item, config)
  else:
    sources, info = _video_sources(read_path or item.path, config)
  windowers = {
      s: windows.Windower(config.window, config.effective_stride,
                          config.cover_tail, f'{s} stream of {item.path}',
                          stack=tf.stack)
      for s in config.streams
  }
  return VideoInputs(_window_batches(sources, windowers, config), windowers,
                     info)


def _window_batches(sources: Frames, windowers: Dict[str, windows.Windower],
                    config: settings.ExtractionConfig
                   ) -> Iterator[InputBatch]:
  """Batches of `config.batch_size` windows per stream, in window order."""
  pending = {s: [] for s in config.streams}

  def ready(stream, final=False):
    while pending[stream] and (final or
                               len(pending[stream]) >= config.batch_size):
      batch = pending[stream][:config.batch_size]
      del pending[stream][:config.batch_size]
      if len(batch) == 1:  # No copy of a window already made.
        clips = tf.expand_dims(batch[0][1], 0)
      else:
        clips = tf.stack([clip for _, clip in batch])
      # Here, in the thread making the batches, not in series with the model.
      validate_windows(config, stream, clips)
      yield (stream, [(start, len(clip)) for start, clip in batch], clips)

  # Sources yield (stream, frame) in decoding order, so both streams are
  # windowed while the video is read once. Frames become tensors as they
  # come, and windows are stacked from them: TensorFlow's allocator reuses
  # its memory, where every numpy window would be fresh pages to fault in,
  # kernel time taken from the model beside this thread.
  for stream, frame in sources:
    pending[stream].extend(windowers[stream].push(
        tf.convert_to_tensor(frame, tf.float32)))
    yield from ready(stream)
  for stream in config.streams:
    pending[stream].extend(windowers[stream].finish())
    yield from ready(stream, final=True)


def _load_premade(path: str, stream: str,
                  config: settings.ExtractionConfig) -> np.ndarray:
  """A pre-made input [T, H, W, C], memory-mapped, if the network takes it."""
  array = sample_arrays.load(path, stream, '--inputs')
  height, width = array.shape[1:3]
  size = streams_lib.CROP
  if config.endpoint == 'Logits' and (height, width) != (size, size):
    # Unlike `sample_arrays.load`'s frame-size check, this names the
    # feature endpoints, which take any frame size.
    raise settings.ExtractionError(
        f'{path}: the logits need {size}x{size} frames, got '
        f'{height}x{width}; {_PREPROCESS_HINT}, or extract features of an '
        'endpoint before the logits (e.g. --endpoint=Mixed_5c '
        '--pooling=time), which take any frame size.')
  return array


def _premade_sources(item: inputs_lib.VideoItem,
                     config: settings.ExtractionConfig
                    ) -> Tuple[Frames, Dict[str, Any]]:
  """Streams frames of `<name>_rgb.npy` / `<name>_flow.npy` (memory-mapped)."""
  available = dict(item.premade)
  arrays = {}
  for stream in config.streams:
    if stream not in available:
      raise settings.ExtractionError(
          f'{item.path}{formats.SAMPLE_SUFFIXES[stream]} does not exist; the '
          f'{stream} stream needs it (or choose --streams accordingly).')
    arrays[stream] = _load_premade(available[stream], stream, config)

  def frames():
    for stream, array in arrays.items():
      for t in range(array.shape[0]):
        yield stream, np.asarray(array[t], np.float32)

  num_frames = max(a.shape[0] for a in arrays.values())
  return frames(), {'source_fps': None,
                    'duration_s': num_frames / streams_lib.FPS}


def _video_sources(path: str, config: settings.ExtractionConfig
                  ) -> Tuple[Frames, Dict[str, Any]]:
  """Streams (stream, frame) of a video file, decoded once for both streams.

  Frames come from `model_inputs.iter_model_input_frames`: 25 fps, smaller side
  `config.resize`, centre crop `config.crop`, flow by `config.flow_backend`;
  with flow, step t holds RGB frame t and the flow from frame t to t + 1, so
  N frames give N - 1 steps for both streams (N for RGB alone).
  """
  if not os.path.isfile(path):
    raise settings.ExtractionError(f'{path}: no such file or folder.')
  info = {'source_fps': containers.source_fps(path), 'duration_s': None}

  def frames():
    steps = 0
    for step in model_inputs.iter_model_input_frames(
        path, config.streams, fps=streams_lib.FPS, resize=config.resize,
        crop_size=config.crop, num_workers=config.flow_workers,
        flow_backend=config.flow_backend):
      steps += 1
      for stream in config.streams:
        yield stream, step[stream]
    # With flow the last frame has no step of its own but is still video.
    info['duration_s'] = (steps + ('flow' in config.streams)) / streams_lib.FPS

  return frames(), info
