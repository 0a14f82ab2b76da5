"""Exports DeepMind's I3D checkpoints for other runtimes, one table of formats.

The network is the I3D of Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017
(https://arxiv.org/abs/1705.07750). Every format starts from the SavedModel
of `checkpoints.export_saved_model` (the model's own forward pass, traced);
`FORMATS` says which signature it gets, which converter turns it into what,
and which pip extra installs that converter. A new format is a row.

All or nothing: the parent folder of the output gets a hidden staging
folder, `.{name}.tmp-*`; everything is written there and renamed into place
at the end (an IR's .bin before its .xml, so an .xml always has its
weights), and the staging folder is removed whatever happens.
"""

import dataclasses
import importlib
import os
import shutil
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from absl import logging

import i3d
from kinetics_i3d import streams
from kinetics_i3d.exports import onnx_file
from kinetics_i3d.exports import openvino_ir
from kinetics_i3d.exports import signatures
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.weights import checkpoints

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
  signature: checkpoints.ServingSignature
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
            'probabilities (or features)', checkpoints.SERVING_DEFAULT,
            None, '', _itself),
        ExportFormat(
            'tfhub',
            "SavedModel with the TF-Hub I3D modules' interface: signature "
            "'default', rgb_input -> default (logits)", signatures.TFHUB,
            None, '', _itself, rgb_logits_only=True),
        ExportFormat(
            'onnx', f'ONNX file (tf2onnx, opset {onnx_file.OPSET})',
            checkpoints.SERVING_DEFAULT, onnx_file.convert, '.onnx',
            _itself, ('tf2onnx',)),
        ExportFormat(
            'openvino', 'OpenVINO IR: .xml and .bin (float32 weights)',
            checkpoints.SERVING_DEFAULT, openvino_ir.convert, '.xml',
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


def check_request(row: ExportFormat, spec: checkpoints.CheckpointSpec,
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
  checkpoints.check_export_num_frames(endpoint, num_frames)
  if row.suffix and not output.endswith(row.suffix):
    raise ValueError(f'output={output}: --format={row.name} writes a '
                     f'{row.suffix} file; end the path with {row.suffix}.')
  paths = tuple(os.path.abspath(p) for p in row.outputs(output))
  if not overwrite:
    for path in paths:
      if os.path.lexists(path):
        raise FileExistsError(f'{path} exists; pass --overwrite to replace '
                              'it.')
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
    checkpoint: A key of `checkpoints.ORIGINAL_CHECKPOINTS`.
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
  if checkpoint not in checkpoints.ORIGINAL_CHECKPOINTS:
    raise ValueError(f'checkpoint={checkpoint!r} is unknown; choose one of '
                     f'{sorted(checkpoints.ORIGINAL_CHECKPOINTS)}.')
  spec = checkpoints.ORIGINAL_CHECKPOINTS[checkpoint]
  paths = check_request(row, spec, endpoint, num_frames, output, overwrite)
  model = checkpoints.build_model(checkpoint, final_endpoint=endpoint,
                                  checkpoint_dir=checkpoint_dir)
  parent = os.path.dirname(paths[-1])
  if not os.path.isdir(parent):
    logging.info('Creating %s.', parent)
    os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(
      prefix=f'.{os.path.basename(paths[-1])}{atomic_files.TMP_MARK}',
      dir=parent)
  try:
    saved_model = os.path.join(staging, 'saved_model')
    checkpoints.export_saved_model(model, saved_model, spec.num_channels,
                                   num_frames=num_frames,
                                   signature=row.signature)
    if row.convert is None:
      staged = [saved_model]
    else:
      staged = [os.path.join(staging, os.path.basename(p)) for p in paths]
      row.convert(saved_model, staged[-1])
    _publish(staged, paths, overwrite)
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  logging.info('Exported %s (%s) to %s.', checkpoint, row.name,
               ', '.join(paths))
  return list(paths)


def _publish(staged: Sequence[str], paths: Sequence[str],
             overwrite: bool) -> None:
  """Renames each staged output over its path, in order."""
  for source, path in zip(staged, paths):
    if os.path.lexists(path):
      if not overwrite:  # Created by someone else meanwhile.
        raise FileExistsError(f'{path} exists; pass --overwrite to replace '
                              'it.')
      if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
      else:
        os.remove(path)
    os.rename(source, path)
