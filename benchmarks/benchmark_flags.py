"""The flags several benchmark scripts of this I3D reimplementation share.

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017 (https://arxiv.org/abs/1705.07750).

Each `define_*` defines one flag in the calling script, with the help text
every script gives it; the scripts import this module as `benchmark_flags`
(Python puts a script's own folder first on `sys.path`), beside `timing`.

  _NUM_FRAMES = benchmark_flags.define_num_frames()
  _REPEATS = benchmark_flags.define_repeats('runtime')
  flags.adopt_module_key_flags(benchmark_flags)  # Listed by --helpshort.
"""

from absl import flags

import i3d
from kinetics_i3d import streams

# Frames of DeepMind's sample clip (v_CricketShot_g04_c01), the README's
# timing input.
SAMPLE_CLIP_FRAMES = 79


def define_num_frames(default: int = SAMPLE_CLIP_FRAMES,
                      note: str = f'{SAMPLE_CLIP_FRAMES}: the sample clip'
                      ) -> flags.FlagHolder:
  """--num_frames: frames per clip, at least `i3d.min_num_frames()`."""
  return flags.DEFINE_integer(
      'num_frames', default, f'Frames per clip, at least '
      f'{i3d.min_num_frames()} ({note}).', lower_bound=i3d.min_num_frames())


def define_repeats(per: str, default: int = 5) -> flags.FlagHolder:
  """--repeats: timed calls per `per`, after one untimed warm-up."""
  return flags.DEFINE_integer(
      'repeats', default, f'Timed calls per {per} (after one untimed warm-up '
      'call that also traces and compiles).', lower_bound=1)


def define_stream() -> flags.FlagHolder:
  """--stream: the input stream, rgb or flow."""
  return flags.DEFINE_enum(
      'stream', streams.RGB, list(streams.STREAMS),
      'Input stream: rgb (3 channels) or flow (2).')


def define_sgemm_size(default: int) -> flags.FlagHolder:
  """--sgemm_size: side of the matrices of the sgemm ceiling."""
  return flags.DEFINE_integer(
      'sgemm_size', default, 'Side of the square matrices of the sgemm '
      'ceiling.', lower_bound=256)


def define_num_clips(default: int, what: str,
                     lower_bound: int = 1) -> flags.FlagHolder:
  """--num_clips: the clips a benchmark times, `what` says how."""
  return flags.DEFINE_integer('num_clips', default, f'Clips {what}.',
                              lower_bound=lower_bound)
