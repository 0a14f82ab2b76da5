r"""i3d-beam-extract-features: I3D features of many videos on Apache Beam.

The extraction of `i3d-extract-features` (the same flags, outputs, records,
manifest and resume rule; I3D of Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017) as a Beam
pipeline whose workers each load the checkpoints once
(`kinetics_i3d.features.beam_pipeline`, which shows Dataflow, Flink and Spark
command lines). Flags this tool does not define are Beam pipeline options.

  i3d-beam-extract-features --inputs='videos/*.mp4' --output_dir=feats \
      --runner=DirectRunner --direct_num_workers=2 \
      --direct_running_mode=multi_processing
"""

import sys
from typing import List, Sequence

# pylint: disable=g-bad-import-order
from kinetics_i3d.utils import cli  # First: silences TensorFlow's start-up.

from absl import app
from absl import flags

from kinetics_i3d.features import beam_pipeline
from kinetics_i3d.features import extraction_flags
from kinetics_i3d.flow import backends

extraction_flags.define_extraction_flags()
# --help lists the flags of the tool module and of the modules it adopts.
flags.adopt_module_key_flags(extraction_flags)
flags.adopt_module_key_flags(backends)

_HELP_FLAGS = ('--help', '-help', '--helpshort', '--helpfull', '--helpxml',
               '-?', '--?')


def _parse_known_flags(argv: Sequence[str]) -> List[str]:
  """Parses this tool's flags; the others are Beam options, left in argv."""
  try:
    return flags.FLAGS(list(argv), known_only=True)
  except SystemExit:
    # absl exits 1 after printing the help it was asked for.
    if any(arg.split('=')[0] in _HELP_FLAGS for arg in argv[1:]):
      sys.exit(0)
    raise
  except flags.Error as e:
    cli.fail(f'{e} (see --help)', cli.EXIT_USAGE)
  return list(argv)  # Not reached.


def main(argv: Sequence[str]) -> None:
  f = flags.FLAGS
  pipeline_args = list(argv[1:])
  if not f.inputs:
    raise app.UsageError('--inputs is required: video files, folders, globs '
                         'or list files (local or on a Beam file system).')
  if not f.output_dir:
    raise app.UsageError('--output_dir is required.')
  try:
    config = extraction_flags.config_from_flags(f)
    items = beam_pipeline.resolve_inputs(f.inputs)
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  # A folder that cannot be written or a checkpoint that cannot be loaded
  # raises ValueError: one line from cli.run.
  summary, counters = beam_pipeline.run_pipeline(
      items, config, f.output_dir, pipeline_args, overwrite=f.overwrite)
  print(f'{summary} Checkpoints loaded {counters.get("model_loads", 0)} '
        'time(s) (once per worker).')
  print(f'Manifest: {summary.manifest}')
  if summary.failed:
    for video, error in summary.failures:
      print(f'FAILED {video}: {error}', file=sys.stderr)
    cli.fail(f'{summary.failed} video(s) failed; see {summary.manifest}.')


def run() -> None:
  cli.run(main, flags_parser=_parse_known_flags)


if __name__ == '__main__':
  run()
