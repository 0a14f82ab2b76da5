"""Pooled I3D features of windows, videos and pre-made inputs.

The network is the Inception-v1 based I3D of Carreira & Zisserman, "Quo
Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017
(https://arxiv.org/abs/1705.07750). `FeatureExtractor` runs one network per
stream up to the configured endpoint and pools its activations:

* 'time':   averaged over space, one vector per temporal step: [T', C];
* 'clip':   averaged over the whole window: [C];
* 'logits': the classifier's logits (endpoint 'Logits'): [num_classes].
"""

import contextlib
import dataclasses
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.features import frame_sources
from kinetics_i3d.features import inputs as inputs_lib
from kinetics_i3d.features import networks as networks_lib
from kinetics_i3d.features import settings
from kinetics_i3d.utils import prefetch


@dataclasses.dataclass
class VideoFeatures:
  """The features of one video.

  Attributes:
    item: The input.
    features: stream -> float32 [num_windows, ...].
    windows: stream -> [num_windows, 2] (start, end) in seconds; a window of
      n frames starting at frame t spans [t, t + n) / 25.
    num_frames: stream -> frames (flow fields) the stream had at 25 fps.
    source_fps: Frame rate of the file (None for pre-made inputs).
    duration_s: Duration of the 25 fps stream in seconds.
    shorter_than_window: stream -> whether the stream was shorter than the
      window, hence one window of all its frames.
  """
  item: inputs_lib.VideoItem
  features: Dict[str, np.ndarray]
  windows: Dict[str, np.ndarray]
  num_frames: Dict[str, int]
  source_fps: Optional[float]
  duration_s: Optional[float]
  shorter_than_window: Dict[str, bool] = dataclasses.field(
      default_factory=dict)


class FeatureExtractor:
  """Turns windows, videos and pre-made inputs into pooled features.

  Loads (or takes) one network per stream once; the pooled forward pass is
  traced once per stream and window size, for any batch size.
  """

  def __init__(self, config: settings.ExtractionConfig,
               networks: Optional[Mapping[str, Any]] = None):
    """Initializes the extractor.

    Args:
      config: The settings.
      networks: Optional stream -> model (an `i3d.InceptionI3d` or a
        `FastI3d` built at least up to `config.endpoint`); by default each
        stream's checkpoint is loaded with `features.networks.build_network`.

    Raises:
      ValueError: If a given network lacks a stream of `config.streams`.
      checkpoints.CheckpointError: If a checkpoint cannot be loaded.
    """
    self._config = config
    if networks is None:
      networks = {s: networks_lib.build_network(config, s)
                  for s in config.streams}
    missing = [s for s in config.streams if s not in networks]
    if missing:
      raise ValueError(f'networks: no network for streams {missing}.')
    self._networks = {}
    for stream in config.streams:
      model = networks[stream]
      final = getattr(model, 'final_endpoint', None)
      if final is not None and config.endpoint not in i3d.endpoints_up_to(
          final):
        raise ValueError(f'The {stream} network stops at {final!r}, before '
                         f'the endpoint {config.endpoint!r}.')
      self._networks[stream] = networks_lib.as_network(model)
    # (stream, T, H, W) -> traced pooled forward pass.
    self._functions = {}

  @property
  def config(self) -> settings.ExtractionConfig:
    """The settings the features are made with."""
    return self._config

  def _pooled_forward(self, stream: str, clip_shape: Tuple[Any, int, int]):
    """The traced forward pass for windows of one size, any batch size."""
    key = (stream, *clip_shape)
    if key in self._functions:
      return self._functions[key]
    network = self._networks[stream]
    endpoint = self._config.endpoint
    pooling = self._config.pooling

    # Known T, H, W: graphs with static spatial shapes run faster on CPU
    # than fully dynamic ones; the batch axis stays open for the smaller
    # last batch.
    @tf.function(input_signature=[
        tf.TensorSpec([None, *clip_shape, streams_lib.CHANNELS[stream]],
                      tf.float32)
    ])
    @tf.autograph.experimental.do_not_convert
    def forward(clips):
      _, end_points = network(clips)
      net = end_points[endpoint]
      if pooling == 'time':
        return tf.reduce_mean(net, axis=[2, 3])
      if pooling == 'clip':
        return tf.reduce_mean(net, axis=[1, 2, 3])
      return net

    self._functions[key] = forward
    return forward

  def features(self, stream: str, clips: np.ndarray) -> np.ndarray:
    """Pooled features of a batch of windows of one stream.

    Args:
      stream: 'rgb' or 'flow'.
      clips: [B, T, H, W, C] float32 model inputs in [-1, 1].

    Returns:
      [B, T', C'] ('time'), [B, C'] ('clip') or [B, num_classes] ('logits').

    Raises:
      ValueError: For clips the network cannot take.
    """
    clips = np.asarray(clips, np.float32)
    frame_sources.validate_windows(self._config, stream, clips)
    return self._checked_features(stream, clips)

  def _checked_features(self, stream: str,
                        clips: Union[np.ndarray, tf.Tensor]) -> np.ndarray:
    """`features` of float32 clips that passed `validate_windows`."""
    clip_shape = tuple(clips.shape[1:4])
    if self._config.window == 0 or clip_shape[0] != self._config.window:
      # Whole videos (and videos shorter than the window) differ in length:
      # one trace with an open time axis.
      clip_shape = (None, *clip_shape[1:])
    forward = self._pooled_forward(stream, clip_shape)
    if not isinstance(clips, tf.Tensor):
      clips = tf.constant(clips)
    return forward(clips).numpy()

  def extract(self, item: inputs_lib.VideoItem,
              read_path: Optional[str] = None,
              inputs: Optional[frame_sources.VideoInputs] = None
             ) -> VideoFeatures:
    """Features of every window of every stream of one video.

    The video is decoded, resized, scaled, windowed and checked in a
    background thread, a batch of windows ahead of the network.

    Args:
      item: A video file or pre-made inputs.
      read_path: Read the video from this (local) file instead of
        `item.path` (Beam workers copy remote files first).
      inputs: The video's batches, already being made (`InputStream`, which
        prepares the next videos while this one runs); by default
        `frame_sources.prepare_inputs(item, config, read_path)`.

    Returns:
      The features and where their windows lie.

    Raises:
      ExtractionError, SampleArrayError, containers.PreprocessError, OSError,
        ValueError: For an input that cannot be read or is too short.
    """
    config = self._config
    if inputs is None:
      inputs = frame_sources.prepare_inputs(item, config, read_path)
      batches = prefetch.Prefetcher(inputs.batches, depth=1,
                                    name='features-inputs')
    else:
      batches = inputs.batches
    # stream -> [(first frame, number of frames)] of the windows done.
    spans = {s: [] for s in config.streams}
    outputs = {s: [] for s in config.streams}
    with contextlib.closing(batches):
      for stream, batch_spans, clips in batches:
        spans[stream].extend(batch_spans)
        outputs[stream].append(self._checked_features(stream, clips))
    fps = streams_lib.FPS
    windowers = inputs.windowers
    return VideoFeatures(
        item=item,
        features={s: np.concatenate(outputs[s]) for s in config.streams},
        windows={
            s: np.array([[t / fps, (t + n) / fps] for t, n in spans[s]],
                        np.float64) for s in config.streams
        },
        num_frames={s: windowers[s].count for s in config.streams},
        source_fps=inputs.info.get('source_fps'),
        duration_s=inputs.info.get('duration_s'),
        shorter_than_window={
            s: windowers[s].shorter_than_window for s in config.streams
        },
    )
