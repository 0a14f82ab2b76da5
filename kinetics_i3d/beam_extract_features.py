r"""i3d-beam-extract-features: I3D features of many videos on Apache Beam.

The extraction of `i3d-extract-features` (the same flags, outputs, records,
manifest and resume rule; I3D of Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017) as a Beam
pipeline whose workers each load the checkpoints once
(`kinetics_i3d.features.beam_pipeline`, which shows Dataflow, Flink and Spark
command lines). Flags this tool does not define must be Beam pipeline
options, by their documented names (`--runner`, `--direct_num_workers`, ...);
anything else is refused. Without `--runner`, the pipeline runs on Beam's
in-process FnApiRunner (`DirectRunner` would first try to download the Prism
runner from the internet). Needs the `[beam]` extra: `pip install -e
'.[beam]'`.

  i3d-beam-extract-features --inputs='videos/*.mp4' --output_dir=feats \
      --direct_num_workers=2 --direct_running_mode=multi_processing
"""

import logging as python_logging
import sys
from typing import List, Sequence

# pylint: disable=g-bad-import-order
from kinetics_i3d.utils import cli  # First: silences TensorFlow's start-up.

from absl import app
from absl import flags


class _DropApitoolsWarning(python_logging.Filter):
  """Beam's import warns that the (unused) BigQuery client is missing."""

  def filter(self, record: python_logging.LogRecord) -> bool:
    return 'apitools not found' not in record.getMessage()


def _import_beam():
  """Imports Apache Beam quietly; one line naming the extra if missing."""
  quiet = _DropApitoolsWarning()
  root = python_logging.getLogger()
  root.addFilter(quiet)
  try:
    import apache_beam  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError as e:
    cli.fail(f'Apache Beam is not installed ({e}); install the [beam] extra: '
             "pip install -e '.[beam]' (in a checkout) or pip install "
             "'kinetics-i3d-tf2[beam]'.")
  finally:
    root.removeFilter(quiet)


_import_beam()

# pylint: disable=g-import-not-at-top,wrong-import-position
from apache_beam.options import pipeline_options

from kinetics_i3d.features import beam_pipeline
from kinetics_i3d.features import extraction_flags
from kinetics_i3d.features import inputs
from kinetics_i3d.flow import backends
# pylint: enable=g-import-not-at-top,wrong-import-position

extraction_flags.define_extraction_flags()
# --help lists the flags of the tool module and of the modules it adopts.
flags.adopt_module_key_flags(extraction_flags)
flags.adopt_module_key_flags(backends)



def unknown_options(args: Sequence[str]) -> List[str]:
  """The arguments of `args` that Beam's pipeline options do not take.

  Parsed as Beam parses them (`PipelineOptions.get_all_options`, which only
  logs what it discards): every options class's arguments, no abbreviations.

  Args:
    args: What this tool's flag parser left (no program name).

  Returns:
    The arguments no Beam option takes, in order.
  """
  # pylint: disable=protected-access
  parser = pipeline_options._BeamArgumentParser(allow_abbrev=False,
                                                add_help=False)
  for cls in pipeline_options.PipelineOptions.__subclasses__():
    cls._add_argparse_args(parser)
  # pylint: enable=protected-access
  _, unknown = parser.parse_known_args(list(args))
  return unknown


def _parse_known_flags(argv: Sequence[str]) -> List[str]:
  """Parses this tool's flags; the others must be Beam options."""
  remaining = cli.parse_flags(argv, known_only=True)
  unknown = unknown_options(remaining[1:])
  if unknown:
    cli.fail(f'unknown flag {unknown[0]}: neither a flag of this tool nor a '
             'Beam pipeline option (see --help)', cli.EXIT_USAGE)
  return remaining


def main(argv: Sequence[str]) -> None:
  f = flags.FLAGS
  pipeline_args = list(argv[1:])
  if not f.inputs:
    raise app.UsageError('--inputs is required: video files, folders, globs '
                         'or list files (local or on a Beam file system).')
  if not f.output_dir:
    raise app.UsageError('--output_dir is required.')
  cli.check_writable(f.output_dir, '--output_dir', folder=True)
  try:
    config = extraction_flags.config_from_flags(f)
    inputs.check_named_files(f.inputs)
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
