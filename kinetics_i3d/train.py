r"""Trains or evaluates I3D streams with the paper's recipe (i3d-train).

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Settings come from an ml_collections config file, as in big_vision: a Python
file whose `get_config()` returns the configuration. The default is
configs/kinetics_rgb.py, the paper's RGB recipe; configs/kinetics_flow.py is
the flow recipe and configs/ucf101_finetune.py (`:flow` for the flow stream)
fine-tunes on UCF-101. `--config.<field>=value` overrides any field;
`--helpfull` lists them with their meaning. The library is
`kinetics_i3d.training` (`train.train`, `evaluation.evaluate_checkpoints`).

Examples:

  # Fine-tune the RGB stream on UCF-101 split 1 from ImageNet+Kinetics
  # weights (UCF101/<class>/<video>.avi and ucfTrainTestlist/ here).
  i3d-train --config=configs/ucf101_finetune.py --config.model_dir=/tmp/ucf_rgb

  # The paper's flow recipe on a Kinetics split file.
  i3d-train --config=configs/kinetics_flow.py \
    --config.data.train_split=kinetics400/train.txt \
    --config.model_dir=/tmp/kinetics_flow

  # Evaluate both streams and their sum of logits on the test list.
  i3d-train --config=configs/ucf101_finetune.py --config.mode=eval \
    --config.model_dir=/tmp/ucf_eval --config.eval.rgb_checkpoint=/tmp/ucf_rgb \
    --config.eval.flow_checkpoint=/tmp/ucf_flow
"""

# pylint: disable=g-bad-import-order
from kinetics_i3d.utils import cli  # First: quiets TensorFlow's start-up.

import os
import sys
from typing import NoReturn

from absl import app
from absl import flags
from absl import logging
import ml_collections
from ml_collections import config_flags
import tensorflow as tf

from kinetics_i3d import paths
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import evaluation
from kinetics_i3d.training import train
# pylint: enable=g-bad-import-order

# The checkout's configs/, or the copy shipped in the package.
CONFIG_DIR = paths.CONFIG_DIR
DEFAULT_CONFIG = os.path.join(CONFIG_DIR, 'kinetics_rgb.py')


def _config_help() -> str:
  return (
      'Training recipe: a Python file whose get_config() returns the '
      f'configuration (default: {DEFAULT_CONFIG}, the paper\'s RGB recipe; '
      f'also kinetics_flow.py and ucf101_finetune.py[:flow] in {CONFIG_DIR}).'
      ' Override a field as --config.<field>=value. The fields, with the '
      'RGB recipe\'s values:\n' +
      config_lib.describe(config_lib.get_config()))


def _fail_config(error: BaseException) -> NoReturn:
  """One line for a --config that ml_collections could not apply."""
  if isinstance(error, SyntaxError):
    cli.fail(f'--config: {error.filename} is not a Python config file '
             f'({error.msg}, line {error.lineno}); give a file whose '
             f'get_config() returns the configuration, such as '
             f'{DEFAULT_CONFIG}.', cli.EXIT_USAGE)
  if isinstance(error, OSError):
    detail = str(error).strip().splitlines()[-1].strip()
    cli.fail(f'--config: cannot load the config file ({detail}); give a '
             f'file such as {DEFAULT_CONFIG}.', cli.EXIT_USAGE)
  field = str(error).strip('\'"')
  given = [a.split('=')[0] for a in sys.argv[1:]
           if a.split('=')[0].endswith(f'.{field}')]
  cli.fail(f'unknown --config field {field}'
           + (f' in {given[0]}' if given else '') +
           '; --helpfull lists the fields of the config.')
  raise AssertionError('not reached')


def _define_config_flag() -> flags.FlagHolder:
  # ml_collections loads the default file and applies the --config.<field>
  # overrides of sys.argv right here when no --config is given: an unknown
  # field then fails while the module is imported.
  try:
    return config_flags.DEFINE_config_file('config', DEFAULT_CONFIG,
                                           _config_help())
  except (AttributeError, KeyError, SyntaxError) as e:
    _fail_config(e)


_CONFIG = _define_config_flag()


def _config() -> ml_collections.ConfigDict:
  """The parsed configuration; a usage error for a missing file."""
  path = flags.FLAGS['config'].config_filename.split(':', 1)[0]
  if not os.path.isfile(path):
    raise app.UsageError(f'--config: cannot load the config file (no such '
                         f'file: {path}); give a file such as '
                         f'{DEFAULT_CONFIG}.')
  return _CONFIG.value


def main(argv):
  del argv
  config = _config()
  if config.mode not in config_lib.MODES:
    raise app.UsageError(f'--config.mode must be one of {config_lib.MODES}, '
                         f'got {config.mode!r}.')
  logging.info('Config %s.', flags.FLAGS['config'].config_filename)
  try:
    if config.mode == 'train':
      result = train.train(config)
      logging.info('Finished at step %d (%d unreadable videos skipped).',
                   result.step, result.skipped_videos)
    else:
      evaluation.evaluate_checkpoints(config)
  except tf.errors.OpError as e:
    # E.g. a checkpoint or summary that cannot be written (disk full).
    cli.fail(f'{e.message.strip().splitlines()[0]} (model_dir='
             f'{config.model_dir}).')


def run() -> None:
  try:
    cli.run(main)
  except (AttributeError, KeyError, OSError, SyntaxError) as e:
    # Raised while parsing an explicit --config and its overrides.
    if flags.FLAGS.is_parsed():
      raise
    _fail_config(e)


if __name__ == '__main__':
  run()
