"""Tests for onnx_file.py, openvino_ir.py and signatures.py on a small graph.

The I3D exports (Carreira & Zisserman, CVPR 2017) are checked end to end in
exporter_test.py; here the converters run in a second on a SavedModel of one
3D convolution, whose output a float64 numpy computation gives independently.
"""

import os
import shutil
import tempfile

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from kinetics_i3d.exports import onnx_file
from kinetics_i3d.exports import openvino_ir
from kinetics_i3d.exports import signatures

_KERNEL = np.random.default_rng(0).normal(size=(1, 3, 3, 3, 4)).astype(
    np.float32)


def _numpy_conv(clip):
  """VALID 1x3x3 convolution in float64, written out."""
  batch, frames, height, width, _ = clip.shape
  out = np.zeros((batch, frames, height - 2, width - 2, 4))
  for dy in range(3):
    for dx in range(3):
      patch = clip[:, :, dy:dy + height - 2, dx:dx + width - 2, :]
      out += patch.astype(np.float64) @ _KERNEL[0, dy, dx].astype(np.float64)
  return out


class ConvertersTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp(prefix='converters_test-')
    module = tf.Module()
    module.kernel = tf.Variable(_KERNEL)

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, 8, 8, 3], tf.float32, name='frames')])
    def serve(frames):
      conv = tf.nn.conv3d(frames, module.kernel, [1] * 5, 'VALID')
      return {'features': conv}

    module.serve = serve
    cls.saved_model = os.path.join(cls.folder, 'saved_model')
    tf.saved_model.save(module, cls.saved_model,
                        signatures={'serving_default': serve})
    cls.clip = np.random.default_rng(1).uniform(
        -1., 1., (2, 3, 8, 8, 3)).astype(np.float32)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.folder, ignore_errors=True)
    super().tearDownClass()

  def test_onnx(self):
    path = os.path.join(self.folder, 'conv.onnx')
    onnx_file.convert(self.saved_model, path)
    import onnx  # pylint: disable=g-import-not-at-top
    self.assertEqual(onnx.load(path).opset_import[0].version, onnx_file.OPSET)
    session = onnx_file.session(path)
    self.assertEqual(session.get_inputs()[0].name, 'frames')
    got, = session.run(['features'], {'frames': self.clip})
    self.assertAllClose(got, _numpy_conv(self.clip), rtol=0, atol=1e-5)

  def test_openvino_keeps_float32_weights(self):
    path = os.path.join(self.folder, 'conv.xml')
    openvino_ir.convert(self.saved_model, path)
    self.assertTrue(os.path.exists(openvino_ir.bin_path(path)))
    with open(path) as f:
      self.assertNotIn('element_type="f16"', f.read())
    compiled = openvino_ir.compile_ir(path)
    got = compiled({'frames': self.clip})[compiled.output('features')]
    self.assertAllClose(got, _numpy_conv(self.clip), rtol=0, atol=1e-5)
    self.assertEqual(
        compiled.get_property('INFERENCE_PRECISION_HINT').to_string(), 'f32')

  def test_tfhub_outputs_are_the_logits(self):
    logits = tf.constant([[1., 2.]])
    outputs = signatures.tfhub_outputs(tf.nn.softmax(logits),
                                       {'Logits': logits})
    self.assertEqual(list(outputs), ['default'])
    self.assertAllEqual(outputs['default'], logits)
    with self.assertRaisesRegex(ValueError, 'return logits'):
      signatures.tfhub_outputs(logits, {'Mixed_5c': logits})


if __name__ == '__main__':
  absltest.main()
