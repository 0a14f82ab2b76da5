"""I3D as an OpenVINO IR (.xml + .bin), converted from its SavedModel.

The network is the I3D of Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017
(https://arxiv.org/abs/1705.07750). OpenVINO reads the SavedModel directly
(`openvino.convert_model`); the IR keeps its input (`frames`) and outputs.
Weights stay float32: `openvino.save_model` would halve them to float16 by
default.

Precision at run time: on CPUs with bfloat16 or float16 arithmetic (AVX-512
BF16, AMX, ARM fp16) OpenVINO's CPU plugin computes in that precision unless
told otherwise, which moves the logits far beyond the parity tolerance
(README, Exporting); `compile_ir` asks for float32
(`INFERENCE_PRECISION_HINT`).
"""

from typing import Any, Dict

# Compile settings that keep the exported float32 numbers.
FLOAT32_CONFIG: Dict[str, str] = {'INFERENCE_PRECISION_HINT': 'f32'}


def bin_path(xml_path: str) -> str:
  """The weights file OpenVINO writes and reads beside an IR's .xml."""
  return xml_path[:-len('.xml')] + '.bin'


def convert(saved_model_dir: str, xml_path: str) -> None:
  """Writes the IR of a SavedModel: `xml_path` and its `.bin`.

  Args:
    saved_model_dir: A SavedModel written by `saved_model.export_saved_model`.
    xml_path: The .xml file to write (the caller stages it).

  Raises:
    ImportError: If openvino is not installed.
  """
  import openvino  # pylint: disable=g-import-not-at-top

  model = openvino.convert_model(saved_model_dir)
  openvino.save_model(model, xml_path, compress_to_fp16=False)


def compile_ir(xml_path: str, device: str = 'CPU') -> Any:
  """The IR compiled for `device` in float32.

  Args:
    xml_path: The .xml file (its .bin beside it).
    device: An OpenVINO device name.

  Returns:
    An `openvino.CompiledModel`; `compiled({'frames': x})` runs it.

  Raises:
    ImportError: If openvino is not installed.
  """
  import openvino  # pylint: disable=g-import-not-at-top
  return openvino.Core().compile_model(xml_path, device, FLOAT32_CONFIG)
