r"""Bootstraps an I3D checkpoint from a 2D Inception-v1 (i3d-inflate).

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750 (section 2.4)

Every k x k filter of the image network becomes a k x k x k filter (its
copies along time divided by k); BatchNorm statistics are copied. The result
is a checkpoint in DeepMind's layout, ready for `i3d-train
--config.model.init_checkpoint=<prefix>` (which re-initialises the logits).

The public ImageNet Inception-v1 (with BatchNorm) is TF-Slim's
inception_v1_2016_08_28.tar.gz (top-1 69.8%) from the "Pre-trained Models"
table of the TF-Slim README (tensorflow/models, research/slim), served at
  http://download.tensorflow.org/models/inception_v1_2016_08_28.tar.gz
Unpack it and pass its inception_v1.ckpt:

  i3d-inflate --input=inception_v1.ckpt --num_classes=400

writes data/checkpoints/rgb_inflated/model.ckpt.{index,data-00000-of-00001}.
Other inputs: an .npz of the tensors of kinetics_i3d.training.inception_v1
by name, or a TF2 checkpoint of tf.train.Checkpoint(model=InceptionV1(...)).
Without --num_classes the 2D head is inflated as it is (1001 classes for the
ImageNet release, class 0 being TF-Slim's background class).
"""

# pylint: disable=g-bad-import-order
from kinetics_i3d.utils import cli  # First: quiets TensorFlow's start-up.

import os

from absl import app
from absl import flags

from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.training import checkpoints_2d
from kinetics_i3d.training import inflate
# pylint: enable=g-bad-import-order

_INPUT = flags.DEFINE_string(
    'input', None,
    'The 2D Inception-v1: a TF-Slim InceptionV1 checkpoint (e.g. the '
    'inception_v1.ckpt of TF-Slim\'s inception_v1_2016_08_28.tar.gz, the '
    'public ImageNet weights), an .npz of the tensors of '
    'kinetics_i3d.training.inception_v1 by name, or a TF2 checkpoint prefix '
    'or folder written by tf.train.Checkpoint(model=InceptionV1(...)).')
_INPUT_FORMAT = flags.DEFINE_enum(
    'input_format', 'auto', list(checkpoints_2d.INPUT_FORMATS),
    'Format of --input; auto picks npz for a .npz path, slim for a checkpoint '
    'with InceptionV1/ variables, tf2 otherwise.')
_OUTPUT = flags.DEFINE_string(
    'output', None,
    'Prefix of the I3D checkpoint to write (writes <prefix>.index and '
    '<prefix>.data-00000-of-00001). A folder (existing, or ending in a '
    f'separator) means <folder>/{inflate.PREFIX_NAME}. Default: '
    + os.path.join(paths.CHECKPOINT_DIR,
                   inflate.DEFAULT_FOLDER.format(stream='<stream>'),
                   inflate.PREFIX_NAME) + '.')
_STREAM = flags.DEFINE_enum(
    'stream', streams.RGB, list(streams.STREAMS),
    'Stream of the I3D checkpoint: sets the variable scope (RGB/ or '
    'Flow/inception_i3d) and the input channels the 2D network must have '
    f'({streams.CHANNELS[streams.RGB]} or {streams.CHANNELS[streams.FLOW]}).')
_NUM_CLASSES = flags.DEFINE_integer(
    'num_classes', None,
    'Give I3D a fresh logits head of this many classes (e.g. 400 for '
    'Kinetics-400), dropping the 2D head. Unset: inflate the 2D head as it is '
    '(1001 ImageNet classes, background first, for TF-Slim\'s release).',
    lower_bound=1)
_OVERWRITE = flags.DEFINE_bool(
    'overwrite', False, 'Replace an existing checkpoint at --output.')
flags.mark_flag_as_required('input')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  prefix = inflate.resolve_output(_OUTPUT.value, _STREAM.value)
  cli.check_writable(prefix, '--output')
  with cli.outputs_named({'--output': os.path.dirname(prefix)}):
    tensors = inflate.run(
        _INPUT.value,
        _OUTPUT.value,
        stream=_STREAM.value,
        input_format=_INPUT_FORMAT.value,
        overwrite=_OVERWRITE.value,
        num_classes=_NUM_CLASSES.value)
  # The one report of what was written (stdout, so scripts can read it).
  print(f'Wrote {len(tensors)} inflated tensors to {prefix}.index')


def run() -> None:
  cli.run(main)


if __name__ == '__main__':
  run()
