"""Tests for backends.py: choosing the TV-L1 implementation of the flow stream.

(I3D's flow stream: Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017.) The OpenCV backend is checked against OpenCV called directly; the
TensorFlow backend's dispatch against a stand-in module (its numbers are
tvl1_tf_test.py's business, and compiling it is slow on a CPU).
"""

import json
import os
import subprocess
import sys
import types
from unittest import mock

from absl import flags
from absl.testing import absltest
from absl.testing import parameterized
import cv2
import numpy as np

import kinetics_i3d.flow
from kinetics_i3d.flow import backends
from kinetics_i3d.flow import tvl1_opencv
from kinetics_i3d.utils import progress
from kinetics_i3d.video import decode_test

_TF_MODULE = 'kinetics_i3d.flow.tvl1_tf'


def _frames(num_frames: int = 4) -> np.ndarray:
  return np.stack([decode_test.texture(0.5 * t, -0.25 * t, 48, 64)
                   for t in range(num_frames)])


class _TfStandIn:
  """Replaces the 'tf' backend's module for one test."""

  def __init__(self, test: absltest.TestCase, module):
    package = kinetics_i3d.flow
    if hasattr(package, 'tvl1_tf'):
      real = package.tvl1_tf
      delattr(package, 'tvl1_tf')
      test.addCleanup(setattr, package, 'tvl1_tf', real)
    test.enter_context(mock.patch.dict(sys.modules, {_TF_MODULE: module}))


def _fake_tvl1_tf(calls):
  """A module with tvl1_tf's API: flow t is filled with t."""

  def iter_flow(frames, batch_size=8):
    calls.append(batch_size)
    frames = list(frames)
    for t in range(len(frames) - 1):
      yield np.full(frames[t].shape[:2] + (2,), t, np.float32)

  return types.SimpleNamespace(
      identity=lambda: {'name': 'tvl1', 'backend': 'tf', 'params': {},
                        'tensorflow': 'x'},
      iter_flow=iter_flow)


class ChoiceTest(parameterized.TestCase):

  def test_backends(self):
    self.assertEqual(backends.BACKENDS, ('opencv', 'tf'))

  @parameterized.parameters((True, True, 'tf'), (True, False, 'tf'),
                            (False, True, 'tf'), (False, False, 'opencv'))
  def test_default_follows_the_gpu_and_cpu(self, gpu, reproduced, expected):
    with mock.patch.object(backends, 'gpu_visible', return_value=gpu), \
         mock.patch.object(tvl1_opencv, 'tf_reproduces_kernels',
                           return_value=reproduced):
      self.assertEqual(backends.default_backend(), expected)
      self.assertEqual(backends.resolve(None), expected)

  def test_cpu_default_needs_no_tensorflow(self):
    if backends._gpu_device_files():  # pylint: disable=protected-access
      self.skipTest('GPU device files present: TensorFlow must be asked.')
    result = subprocess.run(
        [sys.executable, '-c',
         'import sys; from kinetics_i3d.flow import backends; '
         'print(backends.default_backend(), "tensorflow" in sys.modules)'],
        capture_output=True, text=True, check=True, timeout=300,
        env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
    expected = 'tf' if tvl1_opencv.tf_reproduces_kernels() else 'opencv'
    self.assertEqual(result.stdout.split(), [expected, 'False'])

  def test_reproduced_kernels_are_read_from_opencv(self):
    # AVX2 (id 11) and FMA3 (12) without AVX-512F (13), optimised code on.
    for avx2, fma, avx512, optimized, expected in (
        (True, True, False, True, True), (True, True, True, True, False),
        (True, False, False, True, False), (False, True, False, True, False),
        (True, True, False, False, False)):
      support = {11: avx2, 12: fma, 13: avx512}
      with mock.patch.object(cv2, 'checkHardwareSupport',
                             side_effect=support.__getitem__), \
           mock.patch.object(cv2, 'useOptimized', return_value=optimized):
        self.assertEqual(tvl1_opencv.tf_reproduces_kernels(), expected)

  def test_resolve(self):
    self.assertEqual(backends.resolve('tf'), 'tf')
    self.assertEqual(backends.resolve('opencv'), 'opencv')
    with self.assertRaisesRegex(ValueError,
                                r"--flow_backend must be one of opencv, tf, "
                                r"got 'farneback'"):
      backends.resolve('farneback')


class IdentityTest(absltest.TestCase):

  def test_opencv(self):
    identity = backends.identity('opencv')
    self.assertEqual(identity, tvl1_opencv.identity())
    self.assertEqual((identity['name'], identity['backend']),
                     ('tvl1', 'opencv'))
    self.assertEqual(identity['opencv'], cv2.__version__)
    self.assertEqual(json.loads(json.dumps(identity)), identity)

  def test_default(self):
    with mock.patch.object(backends, 'gpu_visible', return_value=False), \
         mock.patch.object(tvl1_opencv, 'tf_reproduces_kernels',
                           return_value=False):
      self.assertEqual(backends.identity(), backends.identity('opencv'))

  def test_tf_comes_from_its_module(self):
    _TfStandIn(self, _fake_tvl1_tf([]))
    self.assertEqual(backends.identity('tf')['backend'], 'tf')

  def test_a_broken_tf_module_breaks_only_tf(self):
    _TfStandIn(self, None)  # None in sys.modules: the import fails.
    with self.assertRaisesRegex(ValueError,
                                '--flow_backend=tf: .*cannot be imported.*'
                                'use --flow_backend=opencv'):
      backends.identity('tf')
    with self.assertRaisesRegex(ValueError, 'cannot be imported'):
      backends.iter_flow(_frames(), 'tf')
    self.assertEqual(backends.identity('opencv')['backend'], 'opencv')


class FlowTest(absltest.TestCase):

  def test_opencv_is_opencv(self):
    frames = _frames()
    flow = backends.compute_flow(frames, 'opencv', num_workers=1)
    self.assertEqual((flow.shape, flow.dtype), ((3, 48, 64, 2), np.float32))
    tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
    for t in range(3):
      np.testing.assert_allclose(flow[t], tvl1.calc(frames[t], frames[t + 1],
                                                    None), rtol=0, atol=1e-5)
    streamed = list(backends.iter_flow(iter(frames), 'opencv', num_workers=2))
    np.testing.assert_allclose(np.stack(streamed), flow, rtol=0, atol=1e-5)

  def test_tf_gets_the_frames_and_batch_size(self):
    calls = []
    _TfStandIn(self, _fake_tvl1_tf(calls))
    flow = backends.compute_flow(_frames(5), 'tf', batch_size=3)
    self.assertEqual(calls, [3])
    np.testing.assert_array_equal(flow[:, 0, 0, 0], [0, 1, 2, 3])
    list(backends.iter_flow(_frames(2), 'tf'))
    self.assertEqual(calls, [3, 8])  # The module's own default.

  def test_needs_two_frames(self):
    with self.assertRaisesRegex(ValueError, 'T >= 2'):
      backends.compute_flow(_frames(1), 'opencv')

  def test_long_runs_are_logged(self):
    with mock.patch.object(progress, 'LOG_EVERY_S', 0.0):
      with self.assertLogs(level='INFO') as logs:
        backends.compute_flow(_frames(3), 'opencv', num_workers=1)
    self.assertIn('TV-L1 flow (opencv): 1/2 pairs (50%)',
                  logs.records[0].getMessage())


class FlagTest(absltest.TestCase):

  def test_flag(self):
    values = flags.FlagValues()
    holder = backends.define_flag(values)
    values(['tool'])
    self.assertIsNone(holder.value)
    values(['tool', '--flow_backend=tf'])
    self.assertEqual(holder.value, 'tf')
    self.assertIn('GPU', values['flow_backend'].help)
    with self.assertRaises(flags.IllegalFlagValueError):
      values(['tool', '--flow_backend=farneback'])


if __name__ == '__main__':
  absltest.main()
