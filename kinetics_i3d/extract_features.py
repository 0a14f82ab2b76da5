r"""i3d-extract-features: I3D features of many videos, resumable, shardable.

Features of Carreira & Zisserman's I3D ("Quo Vadis, Action Recognition? A New
Model and the Kinetics Dataset", CVPR 2017) at any endpoint, pooled over
space, windows or not at all (`kinetics_i3d.features.extract_features`
describes the outputs: features, records/, manifest.jsonl,
extraction_config.json). Re-running a command skips finished videos and
retries failed ones; --shard_index/--num_shards split the inputs for array
jobs. Progress goes to the logs (stderr) and, on a terminal, to a bar.

  i3d-extract-features --inputs='videos/**/*.mp4' --output_dir=feats
  i3d-extract-features --inputs=list.txt --streams=both \
      --rgb_checkpoint=rgb_imagenet --flow_checkpoint=flow_imagenet \
      --window=64 --stride=32 --pooling=clip --output_dir=feats
  python -m kinetics_i3d.extract_features --inputs=data \
      --endpoint=Logits --output_dir=logits
"""

import sys
from typing import Sequence

# pylint: disable=g-bad-import-order
from kinetics_i3d.utils import cli  # First: silences TensorFlow's start-up.

from absl import app
from absl import flags

from kinetics_i3d.features import batch_run
from kinetics_i3d.features import extraction_flags
from kinetics_i3d.features import inputs
from kinetics_i3d.flow import backends

extraction_flags.define_extraction_flags()
_SHARD_INDEX = flags.DEFINE_integer(
    'shard_index', 0, 'Which shard of the sorted inputs this process runs.',
    lower_bound=0)
_NUM_SHARDS = flags.DEFINE_integer(
    'num_shards', 1, 'Number of shards (e.g. the size of an array job).',
    lower_bound=1)
_PROGRESS = flags.DEFINE_bool(
    'progress', True, 'Show a progress bar (videos/s, time left) when stderr '
    'is a terminal; progress is logged every few seconds either way.')
# --help lists the flags of the tool module and of the modules it adopts.
flags.adopt_module_key_flags(extraction_flags)
flags.adopt_module_key_flags(backends)


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {" ".join(argv[1:])}; write '
                         'flags as --name=value.')
  f = flags.FLAGS
  if not f.inputs:
    raise app.UsageError('--inputs is required: video files, folders, globs '
                         'or list files.')
  if not f.output_dir:
    raise app.UsageError('--output_dir is required.')
  cli.check_writable(f.output_dir, '--output_dir', folder=True)
  try:
    config = extraction_flags.config_from_flags(f)
    inputs.check_named_files(f.inputs)
    items = inputs.resolve_inputs(f.inputs)
    items = inputs.shard(items, _SHARD_INDEX.value,
                                   _NUM_SHARDS.value)
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  # A folder that cannot be written or a checkpoint that cannot be loaded
  # raises ValueError: one line from cli.run.
  with cli.outputs_named({'--output_dir': f.output_dir}):
    summary = batch_run.run(items, config, f.output_dir,
                                   overwrite=f.overwrite,
                                   progress=_PROGRESS.value)
  print(summary)
  print(f'Manifest: {summary.manifest}')
  if summary.failed:
    for video, error in summary.failures:
      print(f'FAILED {video}: {error}', file=sys.stderr)
    cli.fail(f'{summary.failed} video(s) failed; their errors are in '
             f'{summary.manifest}. Re-run the same command to retry them '
             '(finished videos are skipped).')


def run() -> None:
  cli.run(main)


if __name__ == '__main__':
  run()
