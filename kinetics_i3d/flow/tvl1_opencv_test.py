"""Tests for tvl1_opencv.py: OpenCV's TV-L1 in worker processes.

(I3D's flow stream: Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017.) The reference is OpenCV's DualTVL1 called directly in this
process; the default parameters are the ones OpenCV documents for
`cv::optflow::DualTVL1OpticalFlow::create`.
"""

import json

from absl.testing import absltest
from absl.testing import parameterized
import cv2
import numpy as np

from kinetics_i3d.flow import backends
from kinetics_i3d.flow import tvl1_opencv
from kinetics_i3d.video import decode_test

gray_to_rgb = decode_test.gray_to_rgb
texture = decode_test.texture


def compute_flow(frames, num_workers=None):
  """A clip's flow with this backend (through `backends.compute_flow`)."""
  return backends.compute_flow(frames, backends.OPENCV,
                               num_workers=num_workers)


class FlowTest(parameterized.TestCase):

  def test_identical_frames_give_exact_zeros(self):
    gray = texture(0, 0, 96, 128)
    # The shortcut in iter_tvl1_flow relies on this property of TV-L1.
    direct = cv2.optflow.DualTVL1OpticalFlow_create().calc(gray, gray, None)
    np.testing.assert_array_equal(direct, 0.0)
    flow = compute_flow(np.stack([gray, gray]), num_workers=1)
    self.assertEqual(flow.shape, (1, 96, 128, 2))
    np.testing.assert_array_equal(flow, 0.0)

  def test_workers_match_in_process_and_opencv(self):
    frames = np.stack([texture(0.7 * t, -0.4 * t, 96, 128) for t in range(4)])
    serial = compute_flow(frames, num_workers=1)
    parallel = compute_flow(frames, num_workers=2)
    self.assertEqual(serial.shape, (3, 96, 128, 2))
    self.assertEqual(serial.dtype, np.float32)
    np.testing.assert_allclose(parallel, serial, rtol=0, atol=1e-5)
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    np.testing.assert_allclose(serial[1], tvl1.calc(frames[1], frames[2], None),
                               rtol=0, atol=1e-5)
    # RGB frames are converted with COLOR_RGB2GRAY (exact for gray pixels).
    from_rgb = compute_flow(gray_to_rgb(frames[:2]), num_workers=1)
    np.testing.assert_allclose(from_rgb, serial[:1], rtol=0, atol=1e-5)

  def test_streams_a_generator_in_order(self):
    frames = [texture(0.5 * t, 0, 48, 64) for t in range(5)]
    flows = list(tvl1_opencv.iter_tvl1_flow(iter(frames), num_workers=2))
    self.assertLen(flows, 4)
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    for t, flow in enumerate(flows):
      np.testing.assert_allclose(
          flow, tvl1.calc(frames[t], frames[t + 1], None), rtol=0, atol=1e-5)
    self.assertEqual(list(tvl1_opencv.iter_tvl1_flow(iter(frames[:1]))), [])

  def test_needs_two_frames(self):
    with self.assertRaisesRegex(ValueError, 'T >= 2'):
      compute_flow(np.zeros((1, 32, 32), np.uint8))

  @parameterized.named_parameters(
      ('float', np.zeros((2, 8, 8), np.float32), 'must be uint8'),
      ('sizes', [np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8)],
       'one size'),
      ('channels', np.zeros((2, 8, 8, 2), np.uint8),
       r'grey \[H, W\] or RGB'),
  )
  def test_bad_frames(self, frames, message):
    with self.assertRaisesRegex(ValueError, message):
      list(tvl1_opencv.iter_tvl1_flow(frames, num_workers=1))

  def test_bad_num_workers(self):
    with self.assertRaisesRegex(ValueError, 'num_workers must be >= 1'):
      list(tvl1_opencv.iter_tvl1_flow(np.zeros((2, 8, 8), np.uint8), 0))

  def test_default_num_workers(self):
    self.assertGreaterEqual(tvl1_opencv.default_num_workers(), 1)


class IdentityTest(absltest.TestCase):

  def test_names_opencv_defaults_and_version(self):
    identity = tvl1_opencv.identity()
    self.assertEqual(identity['name'], 'tvl1')
    self.assertEqual(identity['backend'], 'opencv')
    self.assertEqual(identity['opencv'], cv2.__version__)
    # OpenCV's documented defaults of DualTVL1OpticalFlow::create().
    self.assertEqual(identity['params'], {
        'tau': 0.25, 'lambda': 0.15, 'theta': 0.3, 'nscales': 5, 'warps': 5,
        'epsilon': 0.01, 'inner_iterations': 30, 'outer_iterations': 10,
        'scale_step': 0.8, 'gamma': 0.0, 'median_filtering': 5,
        'use_initial_flow': False})
    # Stored in JSON records and compared after a round trip.
    self.assertEqual(json.loads(json.dumps(identity)), identity)


if __name__ == '__main__':
  absltest.main()
