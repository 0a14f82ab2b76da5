"""What the feature extraction computes: endpoint, pooling, streams, windows.

I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750) is mostly
used as a feature extractor. `ExtractionConfig` holds every setting of an
extraction; `identity()` is the part that decides the output values, which a
folder of features is pinned to.
"""

import dataclasses
from typing import Any, Dict, Optional, Tuple

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.flow import backends

STREAM_CHOICES = {'rgb': ('rgb',), 'flow': ('flow',), 'both': ('rgb', 'flow')}
POOLINGS = ('time', 'clip', 'logits')
ENDPOINTS = i3d.FEATURE_ENDPOINTS + ('Logits',)
OUTPUT_FORMATS = ('npy', 'npz')


class ExtractionError(ValueError):
  """A video (or pre-made input) that cannot be turned into features."""


@dataclasses.dataclass(frozen=True)
class ExtractionConfig:
  """What to extract and how; everything that decides the output values.

  Attributes:
    endpoint: One of `ENDPOINTS`; 'Logits' goes with pooling 'logits'.
    pooling: 'time' ([T', C] per window), 'clip' ([C]) or 'logits'.
    streams: ('rgb',), ('flow',) or ('rgb', 'flow').
    window: Frames (at 25 fps) per window; 0 for the whole video. A video
      shorter than the window is one window of all its frames.
    stride: Frames between window starts; 0 means `window`.
    cover_tail: Add a last window ending at the last frame when the regular
      windows leave frames uncovered.
    batch_size: Windows per forward pass.
    resize: Smaller side of the resized frames (the paper: 256).
    crop: Side of the centre crop fed to the network (the paper: 224; the
      logits need 224).
    rgb_checkpoint: Name in `checkpoints.ORIGINAL_CHECKPOINTS` or path
      prefix of a TF1 checkpoint in the original layout, for RGB.
    flow_checkpoint: The same for flow.
    checkpoint_dir: The folder holding the released checkpoints as
      `<name>/model.ckpt.*` (the project's `data/checkpoints` by default).
    output_format: 'npy' (one file per stream) or 'npz' (one per video).
    flow_workers: Processes computing TV-L1 flow with OpenCV.
    fast: Run an inference-only copy with BatchNorm folded into the
      convolutions (`fast_inference`): the same features within float32
      round-off.
    flow_backend: TV-L1 implementation, a member of `backends.BACKENDS`;
      None for `backends.default_backend()`, resolved when the flow stream is
      extracted (it is part of `identity()` then).
  """
  endpoint: str = 'Mixed_5c'
  pooling: str = 'time'
  streams: Tuple[str, ...] = ('rgb',)
  window: int = 64
  stride: int = 0
  cover_tail: bool = True
  batch_size: int = 4
  resize: int = streams_lib.RESIZE
  crop: int = streams_lib.CROP
  rgb_checkpoint: str = 'rgb_scratch'
  flow_checkpoint: str = 'flow_imagenet'
  checkpoint_dir: str = paths.CHECKPOINT_DIR
  output_format: str = 'npy'
  flow_workers: int = 1
  fast: bool = False
  flow_backend: Optional[str] = None
  # backends.identity(flow_backend) when flow is extracted; set by
  # __post_init__ (it reads the library's parameters once).
  flow_identity: Optional[Dict[str, Any]] = dataclasses.field(
      default=None, init=False, compare=False, repr=False)

  def __post_init__(self):
    self._check_output()
    streams = tuple(self.streams)
    if not streams or any(s not in streams_lib.STREAMS for s in streams) or (
        len(set(streams)) != len(streams)):
      raise ValueError('streams: expected a non-empty subset of '
                       f'{streams_lib.STREAMS}, got {self.streams!r}.')
    object.__setattr__(self, 'streams', tuple(
        s for s in streams_lib.STREAMS if s in streams))
    self._check_windows()
    for name in ('batch_size', 'resize', 'crop', 'flow_workers'):
      value = getattr(self, name)
      if not isinstance(value, int) or value < 1:
        raise ValueError(f'{name}: expected a positive integer, got '
                         f'{value!r}.')
    if self.crop > self.resize:
      raise ValueError(f'crop: the centre crop ({self.crop}) cannot be larger '
                       f'than the resized smaller side ({self.resize}).')
    if self.flow_backend is not None:
      backends.resolve(self.flow_backend)  # Checks the name.
    if 'flow' in self.streams:
      backend = backends.resolve(self.flow_backend)
      object.__setattr__(self, 'flow_backend', backend)
      object.__setattr__(self, 'flow_identity', backends.identity(backend))

  def _check_output(self) -> None:
    """Checks the endpoint, the pooling and the file format."""
    if self.endpoint not in ENDPOINTS:
      raise ValueError(f'endpoint: unknown endpoint {self.endpoint!r}; choose '
                       f'one of {ENDPOINTS}.')
    if self.pooling not in POOLINGS:
      raise ValueError(f'pooling: unknown pooling {self.pooling!r}; choose '
                       f'one of {POOLINGS}.')
    if (self.pooling == 'logits') != (self.endpoint == 'Logits'):
      raise ValueError(
          f'pooling={self.pooling!r} with endpoint={self.endpoint!r}: the '
          "logits pooling reads endpoint 'Logits' and endpoint 'Logits' only "
          "has logits; pass both as 'logits'/'Logits', or a feature endpoint "
          "with pooling 'time' or 'clip'.")
    if self.output_format not in OUTPUT_FORMATS:
      raise ValueError(f'output_format: choose one of {OUTPUT_FORMATS}, got '
                       f'{self.output_format!r}.')

  def _check_windows(self) -> None:
    """Checks window and stride, and what the logits need of them."""
    for name in ('window', 'stride'):
      value = getattr(self, name)
      if not isinstance(value, int) or value < 0:
        raise ValueError(f'{name}: expected a number of frames >= 0 (0 for '
                         f'the default), got {value!r}.')
    if self.window == 0 and self.stride:
      raise ValueError('stride: --window=0 takes the whole video as one '
                       f'window; a stride ({self.stride}) has no meaning.')
    if self.endpoint == 'Logits':
      if 0 < self.window < i3d.min_num_frames():
        raise ValueError(
            f'window: the logits need at least {i3d.min_num_frames()} frames, '
            f'got --window={self.window}.')
      # The logits head pools a 7x7 map: 224x224 frames.
      if self.crop != streams_lib.CROP:
        raise ValueError(
            f'crop: the logits need {streams_lib.CROP}x{streams_lib.CROP} '
            f'frames, got --crop={self.crop}.')

  @property
  def effective_stride(self) -> int:
    """Frames between window starts, the default (`window`) resolved."""
    return self.stride or self.window

  def checkpoint(self, stream: str) -> str:
    """The checkpoint setting of `stream` ('rgb' or 'flow')."""
    return self.rgb_checkpoint if stream == 'rgb' else self.flow_checkpoint

  def identity(self) -> Dict[str, Any]:
    """The settings that decide output values (not speed or paths).

    Returns:
      A JSON-able dict; with the flow stream, 'flow' is the algorithm's
      identity (name, backend, parameters, library version).
    """
    identity = {
        'endpoint': self.endpoint,
        'pooling': self.pooling,
        'streams': list(self.streams),
        'window': self.window,
        'stride': self.effective_stride,
        'cover_tail': self.cover_tail,
        'resize': self.resize,
        'crop': self.crop,
        'fps': streams_lib.FPS,
        'checkpoints': {s: self.checkpoint(s) for s in self.streams},
        'output_format': self.output_format,
    }
    if self.flow_identity is not None:
      identity['flow'] = self.flow_identity
    return identity
