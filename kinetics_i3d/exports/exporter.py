"""Exports DeepMind's I3D checkpoints for other runtimes, one table of formats.

The network is the I3D of Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017
(https://arxiv.org/abs/1705.07750). Every format starts from the SavedModel
of `saved_model.export_saved_model` (the model's own forward pass, traced);
`FORMATS` says which signature it gets, which converter turns it into what,
and which pip extra installs that converter. A new format is a row.

All or nothing, by one of two paths: a SavedModel is written through
`atomic_files.staged_directory`; a converter's outputs are converted in a
hidden scratch folder beside them, `.{name}.tmp-*`, from a SavedModel there,
and placed together through `atomic_files.staged` (an IR's .bin before its
.xml, so an .xml always has its weights). Nothing temporary is left behind
whatever happens.
"""

import dataclasses
import importlib
import os
import tempfile
from typing import Callable, Dict, List, Optional, Tuple

from absl import logging

import i3d
from kinetics_i3d import streams
from kinetics_i3d.exports import onnx_file
from kinetics_i3d.exports import openvino_ir
from kinetics_i3d.exports import signatures
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import saved_model

# The pip extra that installs every converter (setup.py).
PIP_EXTRA = 'export'
PACKAGE = 'i3d-tf2'


@dataclasses.dataclass(frozen=True)
class ExportFormat:
  """One way of writing the network.

  Attributes:
    name: The value of --format.
    description: One line for --help and the README.
    signature: The SavedModel interface the format starts from.
    convert: (SavedModel folder, output path) -> None, writing the output;
      None when the SavedModel is the output.
    suffix: The ending the output path must have ('' for a folder).
    outputs: Output path -> every path written, the entry point last.
    modules: What must be importable to convert.
    rgb_logits_only: Whether only RGB classifiers have this interface.
  """
  name: str
  description: str
  signature: saved_model.ServingSignature
  convert: Optional[Callable[[str, str], None]]
  suffix: str
  outputs: Callable[[str], Tuple[str, ...]]
  modules: Tuple[str, ...] = ()
  rgb_logits_only: bool = False


def _itself(path: str) -> Tuple[str, ...]:
  return (path,)


FORMATS: Dict[str, ExportFormat] = {
    row.name: row for row in (
        ExportFormat(
            'savedmodel',
            "SavedModel, signature 'serving_default': frames -> logits, "
            'probabilities (or features)', saved_model.SERVING_DEFAULT,
            None, '', _itself),
        ExportFormat(
            'tfhub',
            "SavedModel with the TF-Hub I3D modules' interface: signature "
            "'default', rgb_input -> default (logits)", signatures.TFHUB,
            None, '', _itself, rgb_logits_only=True),
        ExportFormat(
            'onnx', f'ONNX file (tf2onnx, opset {onnx_file.OPSET})',
            saved_model.SERVING_DEFAULT, onnx_file.convert, '.onnx',
            _itself, ('tf2onnx',)),
        ExportFormat(
            'openvino', 'OpenVINO IR: .xml and .bin (float32 weights)',
            saved_model.SERVING_DEFAULT, openvino_ir.convert, '.xml',
            lambda xml: (openvino_ir.bin_path(xml), xml), ('openvino',)),
    )
}


def get_format(name: str) -> ExportFormat:
  """The row of `FORMATS` called `name`; ValueError naming the choices."""
  if name not in FORMATS:
    raise ValueError(f'format={name!r} is unknown; choose one of '
                     f'{sorted(FORMATS)}.')
  return FORMATS[name]


def check_converter(row: ExportFormat) -> None:
  """Raises ImportError (one line, naming the pip extra) if one is missing."""
  for module in row.modules:
    try:
      importlib.import_module(module)
    except ImportError as e:
      raise ImportError(
          f'format={row.name} needs {module}, which is not installed ({e}); '
          f"install it with pip install '{PACKAGE}[{PIP_EXTRA}]' (or "
          f"pip install -e '.[{PIP_EXTRA}]' in a checkout).") from None


def check_request(row: ExportFormat, spec: layouts.CheckpointSpec,
                  endpoint: str, num_frames: Optional[int], output: str,
                  overwrite: bool) -> Tuple[str, ...]:
  """Checks an export before any model is built; returns the output paths.

  Args:
    row: The format.
    spec: The released checkpoint.
    endpoint: Where the exported network stops.
    num_frames: Fixed clip length, or None.
    output: The output path as given.
    overwrite: Whether existing outputs may be replaced.

  Returns:
    Every path the export writes (absolute), the entry point last.

  Raises:
    ValueError: For an unknown endpoint, a clip length too short, an
      interface the checkpoint does not have or an output of the wrong kind.
    FileExistsError: If an output exists and not `overwrite`.
    ImportError: If the converter is not installed.
  """
  if endpoint not in i3d.VALID_ENDPOINTS:
    raise ValueError(f'endpoint={endpoint!r} is not an I3D endpoint; choose '
                     f'one of {list(i3d.VALID_ENDPOINTS)}.')
  if row.rgb_logits_only and (spec.stream != streams.RGB or
                              endpoint != 'Logits'):
    raise ValueError(
        f'format={row.name} stands in for the TF-Hub modules, which classify '
        f'RGB clips; {spec.name} at endpoint {endpoint} has no such '
        'interface. Use --format=savedmodel.')
  saved_model.check_export_num_frames(endpoint, num_frames)
  if row.suffix and not output.endswith(row.suffix):
    raise ValueError(f'output={output}: --format={row.name} writes a '
                     f'{row.suffix} file; end the path with {row.suffix}.')
  paths = tuple(os.path.abspath(p) for p in row.outputs(output))
  for path in paths:
    atomic_files.refuse_existing(path, overwrite)
  check_converter(row)
  return paths


def export(checkpoint: str,
           format_name: str,
           output: str,
           endpoint: str = 'Logits',
           num_frames: Optional[int] = None,
           overwrite: bool = False,
           checkpoint_dir: Optional[str] = None) -> List[str]:
  """Exports a released checkpoint in one format.

  Args:
    checkpoint: A key of `layouts.ORIGINAL_CHECKPOINTS`.
    format_name: A key of `FORMATS`.
    output: The folder (SavedModels) or file (.onnx, .xml) to write.
    endpoint: Where the exported network stops ('Logits' for the classifier,
      an earlier endpoint for features).
    num_frames: Fixed clip length, or None for any (the batch is free).
    overwrite: Replace existing outputs.
    checkpoint_dir: Folder of the released `<name>/model.ckpt`; None for the
      project's (rgb_scratch is fetched there when absent).

  Returns:
    The paths written, the entry point last.

  Raises:
    ValueError: For a bad request (see `check_request`), an unknown
      checkpoint or format, or a checkpoint that cannot be loaded.
    FileExistsError: If an output exists and not `overwrite`.
    ImportError: If the format's converter is not installed.
  """
  row = get_format(format_name)
  if checkpoint not in layouts.ORIGINAL_CHECKPOINTS:
    raise ValueError(f'checkpoint={checkpoint!r} is unknown; choose one of '
                     f'{sorted(layouts.ORIGINAL_CHECKPOINTS)}.')
  spec = layouts.ORIGINAL_CHECKPOINTS[checkpoint]
  paths = check_request(row, spec, endpoint, num_frames, output, overwrite)
  model = loading.build_model(checkpoint, final_endpoint=endpoint,
                              checkpoint_dir=checkpoint_dir)
  parent = os.path.dirname(paths[-1])
  if not os.path.isdir(parent):
    logging.info('Creating %s.', parent)
    os.makedirs(parent, exist_ok=True)
  if row.convert is None:
    saved_model.export_saved_model(model, paths[-1], spec.num_channels,
                                   num_frames=num_frames, overwrite=overwrite,
                                   signature=row.signature)
  else:
    _convert(row, model, spec.num_channels, num_frames, paths, overwrite)
  logging.info('Exported %s (%s) to %s.', checkpoint, row.name,
               ', '.join(paths))
  return list(paths)


def _convert(row: ExportFormat, model: i3d.InceptionI3d, num_channels: int,
             num_frames: Optional[int], paths: Tuple[str, ...],
             overwrite: bool) -> None:
  """Writes a converter's outputs, all of them or none.

  Args:
    row: A format with a converter.
    model: The loaded model.
    num_channels: Its input channels.
    num_frames: Fixed clip length, or None.
    paths: The outputs (absolute), in the order they are placed.
    overwrite: Whether existing outputs may be replaced.
  """
  scratch = tempfile.TemporaryDirectory(
      prefix=f'.{os.path.basename(paths[-1])}{atomic_files.TMP_MARK}',
      dir=os.path.dirname(paths[-1]))
  with scratch as folder:
    source = saved_model.export_saved_model(
        model, os.path.join(folder, 'saved_model'), num_channels,
        num_frames=num_frames, signature=row.signature)
    converted = [os.path.join(folder, os.path.basename(p)) for p in paths]
    row.convert(source, converted[-1])
    with atomic_files.staged(paths, overwrite=overwrite) as temporary:
      for path, written in zip(paths, converted):
        os.replace(written, temporary[path])
