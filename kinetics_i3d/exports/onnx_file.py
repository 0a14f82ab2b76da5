"""I3D as an ONNX file, converted from its SavedModel by tf2onnx.

The network is the I3D of Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017
(https://arxiv.org/abs/1705.07750). The SavedModel's `serving_default`
signature is traced once more and handed to tf2onnx, so the ONNX graph has
the same input (`frames`, float32 [B, T, 224, 224, C], B and T free unless
the SavedModel fixed T) and outputs (`logits`, `probabilities`, or
`features`). The opset is 17: the graph needs nothing newer, and tf2onnx
converts it from TensorFlow 2.21 without changes.
"""

from typing import Any

import tensorflow as tf

OPSET = 17
SIGNATURE = 'serving_default'


def convert(saved_model_dir: str, output_path: str) -> None:
  """Writes the ONNX file of a SavedModel's `serving_default` signature.

  Args:
    saved_model_dir: A SavedModel written by `saved_model.export_saved_model`.
    output_path: The .onnx file to write (the caller stages it).

  Raises:
    ImportError: If tf2onnx is not installed.
  """
  import tf2onnx  # pylint: disable=g-import-not-at-top

  # `loaded` owns the variables: it must live until the conversion is done.
  loaded = tf.saved_model.load(saved_model_dir)
  serving = loaded.signatures[SIGNATURE]
  (name, spec), = serving.structured_input_signature[1].items()
  input_spec = tf.TensorSpec(spec.shape, spec.dtype, name=name)

  # A tf.function over the loaded signature, so tf2onnx sees the input and
  # output names of the SavedModel.
  @tf.function(input_signature=[input_spec])
  def signature(frames):
    return serving(**{name: frames})

  tf2onnx.convert.from_function(signature, input_signature=[input_spec],
                                opset=OPSET, output_path=output_path)
  del loaded


def session(path: str) -> Any:
  """An onnxruntime CPU session of an exported file (default optimisations).

  Args:
    path: The .onnx file.

  Returns:
    An `onnxruntime.InferenceSession`; `session.run(None, {'frames': x})`.

  Raises:
    ImportError: If onnxruntime is not installed.
  """
  import onnxruntime  # pylint: disable=g-import-not-at-top
  return onnxruntime.InferenceSession(path,
                                      providers=['CPUExecutionProvider'])
