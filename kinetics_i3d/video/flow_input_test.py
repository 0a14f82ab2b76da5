"""Tests for flow_input.py: flow bounded to [-20, 20] / 20, and 8-bit storage.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.) The
expected values are the paper's formulas evaluated here.
"""

from absl.testing import absltest
import numpy as np

from kinetics_i3d.video import flow_input


class FlowInputTest(absltest.TestCase):

  def test_flow_to_model_input(self):
    flow = np.zeros((2, 256, 300, 2), np.float32)
    flow[0, ..., 0] = 25.0
    flow[0, ..., 1] = -5.0
    flow[1, ..., 0] = -40.0
    flow[1, ..., 1] = 19.9
    out = flow_input.flow_to_model_input(flow)
    self.assertEqual(out.shape, (2, 224, 224, 2))
    self.assertEqual(out.dtype, np.float32)
    np.testing.assert_allclose(out[0, ..., 0], 1.0)
    np.testing.assert_allclose(out[0, ..., 1], -0.25)
    np.testing.assert_allclose(out[1, ..., 0], -1.0)
    np.testing.assert_allclose(out[1, ..., 1], 19.9 / 20, rtol=1e-6)

  def test_quantize_round_trip(self):
    rng = np.random.default_rng(0)
    flow = rng.uniform(-20, 20, (100000,)).astype(np.float32)
    restored = flow_input.dequantize_flow(flow_input.quantize_flow(flow))
    self.assertEqual(restored.dtype, np.float32)
    # Half a level: the levels are 40 / 255 pixels apart.
    self.assertLessEqual(np.abs(restored - flow).max(),
                         20 / 255 + 1e-5)

  def test_quantize_levels(self):
    q = flow_input.quantize_flow(np.array([-20.0, 20.0, 0.0, -100.0, 100.0]))
    self.assertEqual(q.dtype, np.uint8)
    self.assertEqual(q.tolist(), [0, 255, 128, 0, 255])
    levels = np.arange(256, dtype=np.uint8)
    # How a reader of the paper's 8-bit flow images maps them back.
    np.testing.assert_allclose(flow_input.dequantize_flow(levels),
                               (levels / 255 - 0.5) * 2 * 20, atol=1e-5)
    np.testing.assert_array_equal(
        flow_input.quantize_flow(flow_input.dequantize_flow(levels)), levels)
    with self.assertRaisesRegex(ValueError, 'must be uint8'):
      flow_input.dequantize_flow(levels.astype(np.int16))


if __name__ == '__main__':
  absltest.main()
