r"""i3d-preprocess: a video file -> I3D's RGB and flow inputs, and two GIFs.

The preprocessing of Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017 (`kinetics_i3d.video`): 25
fps, smaller side 256, centre crop 224, RGB in [-1, 1]; TV-L1 optical flow
(`--flow_backend`), clipped to [-20, 20] and divided by 20. Writes DeepMind's
sample format, <name>_rgb.npy and <name>_flow.npy (float32 [1, T, 224, 224,
C]), and the original README's two visualisations, <name>_rgb.gif and
<name>_flow.gif. Progress goes to the logs (stderr) as well as to a bar on
terminals.

  i3d-preprocess --video=my_clip.mp4 --output_dir=/tmp/out
  python -m kinetics_i3d.preprocess --video=my_clip.mp4 \
      --output_dir=/tmp/out --streams=rgb --nogifs
"""

import sys
from typing import Sequence

# pylint: disable=g-bad-import-order
from kinetics_i3d.utils import cli  # First: silences TensorFlow's start-up.

from absl import app
from absl import flags
from absl import logging
import numpy as np

from kinetics_i3d import streams as streams_lib
from kinetics_i3d.flow import backends
from kinetics_i3d.video import model_inputs
from kinetics_i3d.video import sample_writer

_VIDEO = flags.DEFINE_string(
    'video', None, 'Video file to preprocess (any container/codec FFmpeg '
    'reads).')
_OUTPUT_DIR = flags.DEFINE_string(
    'output_dir', None, 'Folder for <name>_rgb.npy, <name>_flow.npy and the '
    'GIFs; created if missing.')
_NAME = flags.DEFINE_string(
    'name', None, 'Output file prefix; default: the video file name '
    'without its extension.')
_STREAMS = flags.DEFINE_list(
    'streams', list(streams_lib.STREAMS), 'Streams to write: rgb, flow or '
    'rgb,flow. With flow, both streams get T - 1 frames from T frames at 25 '
    'fps.')
_START_TIME = flags.DEFINE_float(
    'start_time', None, 'Clip start in seconds from the first frame (as '
    'Kinetics clips); default: 0.')
_END_TIME = flags.DEFINE_float(
    'end_time', None, 'Clip end in seconds (exclusive); default: the end '
    'of the video.')
_CROP = flags.DEFINE_enum(
    'crop', 'center', ['center', 'random'], 'center: evaluation crop; '
    'random: one training crop for the whole clip (see --seed).')
_SEED = flags.DEFINE_integer(
    'seed', None, 'Seed of the random crop; default: fresh entropy.')
_QUANTIZE_FLOW = flags.DEFINE_bool(
    'quantize_flow', False, 'Round the flow to 8 bits over [-20, 20] and '
    'back before scaling, as the paper\'s pipeline stored it.')
_GIFS = flags.DEFINE_bool(
    'gifs', True, 'Also write <name>_rgb.gif and <name>_flow.gif (the '
    'original README\'s visualisations).')
_NUM_WORKERS = flags.DEFINE_integer(
    'num_workers', None, 'Processes for OpenCV\'s TV-L1; default: every CPU '
    'available.', lower_bound=1)
_OVERWRITE = flags.DEFINE_bool('overwrite', False,
                               'Replace existing output files.')
_FLOW_BACKEND = backends.define_flag()
# --help lists the flags of the tool module and of the modules it adopts.
flags.adopt_module_key_flags(backends)


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {" ".join(argv[1:])}; write '
                         'flags as --name=value.')
  if not _VIDEO.value or not _OUTPUT_DIR.value:
    raise app.UsageError('--video and --output_dir are required.')
  try:
    streams = model_inputs.check_streams([s.strip() for s in _STREAMS.value])
  except ValueError as e:
    raise app.UsageError(f'--streams: {e}') from None
  cli.check_writable(_OUTPUT_DIR.value, '--output_dir', folder=True)
  crop = 'center'
  if _CROP.value == 'random':
    crop = np.random.default_rng(_SEED.value)
  paths = sample_writer.preprocess_to_files(
      _VIDEO.value, _OUTPUT_DIR.value, name=_NAME.value, streams=streams,
      start_time=_START_TIME.value, end_time=_END_TIME.value, crop=crop,
      quantize=_QUANTIZE_FLOW.value, gifs=_GIFS.value,
      num_workers=_NUM_WORKERS.value, overwrite=_OVERWRITE.value,
      progress=sys.stderr.isatty(), flow_backend=_FLOW_BACKEND.value)
  for key, path in paths.items():
    if key.endswith('_npy'):
      array = np.load(path, mmap_mode='r')
      print(f'Wrote {path}: {array.dtype} {tuple(array.shape)}')
    else:
      print(f'Wrote {path}')
  logging.info('Wrote %d files to %s.', len(paths), _OUTPUT_DIR.value)


def run() -> None:
  cli.run(main)


if __name__ == '__main__':
  run()
