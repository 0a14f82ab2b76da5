"""The flags the feature-extraction tools share, and the settings they mean.

I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017) features are extracted by two tools:
`kinetics_i3d.extract_features` (one machine, or shards of an array job) and
`kinetics_i3d.beam_extract_features` (Apache Beam runners). Both call
`define_extraction_flags()` at import and build their settings with
`config_from_flags()`, so the two accept the same flags with the same
meaning.
"""

from typing import Any, Callable, Dict, Tuple

from absl import flags

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.features import settings
from kinetics_i3d.flow import backends

# (define function, name, default, help, keyword arguments): one row a flag.
_FLAGS: Tuple[Tuple[Callable[..., Any], str, Any, str, Dict[str, Any]],
              ...] = (
    (flags.DEFINE_list, 'inputs', None,
     'Comma-separated video files, folders (searched recursively), globs '
     "(quote them; '**' is recursive), list files (.txt: one path per line) "
     'or pre-made <name>_rgb.npy / <name>_flow.npy model inputs.', {}),
    (flags.DEFINE_string, 'output_dir', None,
     'Folder for the features, records and manifest.jsonl; created with the '
     'first features.', {}),
    (flags.DEFINE_enum, 'endpoint', 'Mixed_5c',
     "Endpoint whose activations are the features ('Logits' goes with "
     '--pooling=logits).', dict(enum_values=settings.ENDPOINTS)),
    (flags.DEFINE_enum, 'pooling', 'time',
     "'time': spatial mean per temporal step [T', C]; 'clip': mean over the "
     "window [C]; 'logits': the classifier's logits (endpoint Logits).",
     dict(enum_values=settings.POOLINGS)),
    (flags.DEFINE_enum, 'streams', 'rgb',
     'Which streams: rgb, flow (TV-L1, slow on a CPU) or both.',
     dict(enum_values=sorted(settings.STREAM_CHOICES))),
    (flags.DEFINE_integer, 'window', 64,
     'Frames (at 25 fps) per window; 0 for the whole video (memory then '
     'grows with the video). A video shorter than the window is one window '
     f'of all its frames (at least {i3d.min_num_frames()}, the fewest I3D '
     'takes).', dict(lower_bound=0)),
    (flags.DEFINE_integer, 'stride', None,
     'Frames between window starts; default --window.', dict(lower_bound=1)),
    (flags.DEFINE_bool, 'cover_tail', True,
     'Add a last window ending at the last frame when the strided windows '
     'stop before it.', {}),
    (flags.DEFINE_integer, 'batch_size', 4, 'Windows per forward pass.',
     dict(lower_bound=1)),
    (flags.DEFINE_integer, 'resize', streams_lib.RESIZE,
     'Smaller side of the resized frames, in pixels.', dict(lower_bound=1)),
    (flags.DEFINE_integer, 'crop', streams_lib.CROP,
     'Side of the centre crop fed to the network '
     f'({streams_lib.CROP} for the logits).', dict(lower_bound=1)),
    (flags.DEFINE_string, 'rgb_checkpoint', 'rgb_scratch',
     'RGB checkpoint: a released name (rgb_imagenet, rgb_scratch, '
     'rgb_scratch_kin600) or the prefix of a TF1 checkpoint file.', {}),
    (flags.DEFINE_string, 'flow_checkpoint', 'flow_imagenet',
     'Flow checkpoint: a released name (flow_imagenet, flow_scratch) or the '
     'prefix of a TF1 checkpoint file.', {}),
    (flags.DEFINE_string, 'checkpoint_dir', paths.CHECKPOINT_DIR,
     'Folder holding the released checkpoints as <name>/model.ckpt.* '
     "(DeepMind's data/checkpoints layout); the public rgb_scratch is "
     'fetched there when missing (the folder is created, with a log line).',
     {}),
    (flags.DEFINE_enum, 'output_format', 'npy',
     'npy: <name>_<stream>.npy per stream; npz: <name>.npz with features and '
     'window times.', dict(enum_values=settings.OUTPUT_FORMATS)),
    (flags.DEFINE_integer, 'flow_workers', 1,
     'Processes computing TV-L1 optical flow with OpenCV.',
     dict(lower_bound=1)),
    (flags.DEFINE_bool, 'fast', False,
     'Fold BatchNorm into the convolutions (kinetics_i3d.inference.'
     'fast_inference): the same features within float32 round-off, faster '
     'on CPU.', {}),
    (flags.DEFINE_bool, 'overwrite', False,
     'Recompute finished videos and replace features made with other '
     'settings.', {}),
)


def define_extraction_flags(flag_values: flags.FlagValues = flags.FLAGS
                            ) -> None:
  """Defines the extraction flags (`_FLAGS`, and --flow_backend).

  Args:
    flag_values: Where to define them.
  """
  for define, name, default, help_text, kwargs in _FLAGS:
    define(name, default, help=help_text, flag_values=flag_values, **kwargs)
  backends.define_flag(flag_values)


def config_from_flags(flag_values: flags.FlagValues = flags.FLAGS
                      ) -> settings.ExtractionConfig:
  """Builds the settings from parsed flags.

  Args:
    flag_values: Flags defined by `define_extraction_flags` and parsed.

  Returns:
    The settings.

  Raises:
    ValueError: For inconsistent flags, naming them.
  """
  f = flag_values
  endpoint, pooling = f.endpoint, f.pooling
  # --pooling=logits alone means endpoint Logits, and --endpoint=Logits alone
  # means the logits pooling.
  if pooling == 'logits' and not f['endpoint'].present:
    endpoint = 'Logits'
  if endpoint == 'Logits' and not f['pooling'].present:
    pooling = 'logits'
  return settings.ExtractionConfig(
      endpoint=endpoint,
      pooling=pooling,
      streams=settings.STREAM_CHOICES[f.streams],
      window=f.window,
      stride=f.stride or 0,
      cover_tail=f.cover_tail,
      batch_size=f.batch_size,
      resize=f.resize,
      crop=f.crop,
      rgb_checkpoint=f.rgb_checkpoint,
      flow_checkpoint=f.flow_checkpoint,
      checkpoint_dir=f.checkpoint_dir,
      output_format=f.output_format,
      flow_workers=f.flow_workers,
      fast=f.fast,
      flow_backend=f[backends.FLAG_NAME].value)
