"""Tests of the TensorFlow TV-L1's worker processes (tvl1_tf_worker).

The flow of I3D's flow stream (Carreira & Zisserman, CVPR 2017) is computed
on a CPU in a worker process whose XLA flags keep OpenCV's float32 rounding;
the calling process keeps its own. Checked here: the worker's flow equals the
plain TensorFlow kernels' (no XLA) computed in this process, importing the
flow modules changes no environment variable (XLA_FLAGS included), a second
worker loads what the first compiled from the persistent cache, a killed
worker is replaced, a worker that cannot run gives a one-line error, and a
spare worker serves the first program (the pipe: `tvl1_worker_pipe_test`).
Small frames (24x32: two pyramid levels) keep the compilations short.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from unittest import mock

from absl.testing import absltest
import cv2
import numpy as np

from kinetics_i3d import paths
from kinetics_i3d.flow import tvl1_params
from kinetics_i3d.flow import tvl1_resize
from kinetics_i3d.flow import tvl1_tf
from kinetics_i3d.flow import tvl1_tf_worker

_H, _W = 24, 32


def _pair():
  """A smooth texture and the same texture shifted by (1.3, -0.6) px."""
  rng = np.random.default_rng(7)
  big = cv2.GaussianBlur(rng.random((2 * _H, 2 * _W)).astype(np.float32),
                         (0, 0), 2)
  big = (big - big.min()) / (big.max() - big.min()) * 255
  moved = cv2.warpAffine(big, np.float32([[1, 0, 1.3], [0, 1, -0.6]]),
                         (2 * _W, 2 * _H), flags=cv2.INTER_CUBIC)
  crop = (slice(_H // 2, _H // 2 + _H), slice(_W // 2, _W // 2 + _W))
  return (np.clip(big[crop], 0, 255).round()[None].astype(np.float32),
          np.clip(moved[crop], 0, 255).round()[None].astype(np.float32))


def _spec():
  return tvl1_tf_worker._spec(tvl1_params.DEFAULT_PARAMS.to_dict(), _H, _W,
                              tvl1_resize.resize_arithmetic())


def _cache_files(folder):
  """{name: (inode, mtime)} of the finished cache entries in a folder."""
  out = {}
  for name in os.listdir(folder):
    if name.endswith('.pb'):
      st = os.stat(os.path.join(folder, name))
      out[name] = (st.st_ino, st.st_mtime_ns)
  return out


class WorkerTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.cache = tempfile.mkdtemp(prefix='tvl1_tf_worker_test_')
    cls.patch = mock.patch.object(tvl1_tf_worker, 'cache_dir',
                                  lambda: cls.cache)
    cls.patch.start()
    cls.first, cls.second = _pair()
    # The first worker on an empty cache compiles and fills it; it starts
    # at once and warms up while this process computes its reference.
    worker = tvl1_tf_worker.FlowWorker(_spec())
    # Plain TensorFlow kernels in this process: no XLA, so no flag needed.
    cls.plain = tvl1_tf.compute_flow_batch(cls.first, cls.second,
                                           jit_compile=False)
    try:
      cls.cold = worker.compute(cls.first, cls.second)
      cls.cold_jit = worker.jit_compile
    finally:
      worker.close()
    cls.after_cold = _cache_files(cls.cache)
    cls.worker = tvl1_tf_worker.FlowWorker(_spec())
    cls.warm = cls.worker.compute(cls.first, cls.second)

  @classmethod
  def tearDownClass(cls):
    cls.worker.close()
    cls.patch.stop()
    shutil.rmtree(cls.cache, ignore_errors=True)
    super().tearDownClass()

  def test_worker_flow_equals_plain_kernels(self):
    self.assertTrue(self.cold_jit)  # XLA, with OpenCV's rounding.
    np.testing.assert_array_equal(self.cold, self.plain)
    np.testing.assert_array_equal(self.warm, self.plain)
    # And it is the motion (warpAffine moved the texture by +1.3, -0.6).
    np.testing.assert_allclose(np.median(self.plain[0].reshape(-1, 2), 0),
                               [1.3, -0.6], atol=0.15)

  def test_second_worker_loads_the_cache(self):
    self.assertNotEmpty(self.after_cold)
    # A miss would have compiled and written (renamed) the entries anew.
    self.assertEqual(_cache_files(self.cache), self.after_cold)

  def test_cache_folder_is_under_the_data_folder(self):
    self.patch.stop()
    try:
      folder = tvl1_tf_worker.cache_dir()
    finally:
      self.patch.start()
    self.assertEqual(os.path.dirname(folder), paths.xla_cache_dir())
    self.assertStartsWith(os.path.basename(folder), 'tf')

  def test_killed_worker_is_replaced(self):
    pid = self.worker.pid
    os.kill(pid, signal.SIGKILL)
    flow = self.worker.compute(self.first, self.second)
    self.assertNotEqual(self.worker.pid, pid)
    np.testing.assert_array_equal(flow, self.plain)

  def test_worker_error_is_reported_and_it_keeps_serving(self):
    with self.assertRaises(tvl1_tf_worker.FlowWorkerError) as raised:
      self.worker.compute(np.zeros((1, 8, 8), np.float32),
                          np.ones((1, 8, 8), np.float32))
    self.assertIsNotNone(raised.exception.kind)
    np.testing.assert_array_equal(
        self.worker.compute(self.first, self.second), self.plain)

  def _first_worker_after_a_spare(self, kill_spare: bool = False):
    """(spare's pid, the first worker's pid, its flow); workers closed."""
    tvl1_tf_worker.close_all()  # The spare serves only a first program.
    self.addCleanup(tvl1_tf_worker.close_all)
    tvl1_tf_worker.start_spare()
    spare = tvl1_tf_worker._spare.process
    if kill_spare:
      spare.kill()
      spare.wait()
    worker = tvl1_tf_worker.worker(tvl1_params.DEFAULT_PARAMS.to_dict(), _H,
                                   _W, tvl1_resize.resize_arithmetic())
    return spare.pid, worker.pid, worker.compute(self.first, self.second)

  def test_a_spare_serves_the_first_program_from_the_cache(self):
    spare_pid, worker_pid, flow = self._first_worker_after_a_spare()
    self.assertEqual(worker_pid, spare_pid)
    np.testing.assert_array_equal(flow, self.plain)
    # It got the cache folder with its program: nothing compiled anew.
    self.assertEqual(_cache_files(self.cache), self.after_cold)

  def test_a_spare_that_died_is_replaced(self):
    spare_pid, worker_pid, flow = self._first_worker_after_a_spare(
        kill_spare=True)
    self.assertNotEqual(worker_pid, spare_pid)
    np.testing.assert_array_equal(flow, self.plain)

  def test_an_unused_spare_is_killed_at_the_end(self):
    tvl1_tf_worker.close_all()
    tvl1_tf_worker.start_spare()
    spare = tvl1_tf_worker._spare.process
    tvl1_tf_worker.close_all()
    self.assertIsNotNone(spare.poll())
    self.assertIsNone(tvl1_tf_worker._spare)

  def test_worker_that_cannot_run_gives_one_line(self):
    command = [sys.executable, '-c',
               'import sys; sys.stderr.write("no TensorFlow here\\n"); '
               'sys.exit(3)']
    worker = tvl1_tf_worker.FlowWorker(_spec(), command=command)
    with self.assertRaisesRegex(
        tvl1_tf_worker.FlowWorkerError,
        r'^The TensorFlow TV-L1 worker for 24x32 frames \(pid \d+\) failed '
        r'twice \(exit status 3: no TensorFlow here\); use '
        r'--flow_backend=opencv\.$'):
      worker.compute(self.first, self.second)

  def test_flow_modules_leave_the_callers_environment(self):
    # In a fresh process: importing the flow modules changes no environment
    # variable, computing flow through a worker leaves XLA_FLAGS as they
    # were, and this process's XLA still contracts multiply-adds where the
    # CPU has FMA. The worker loads this class's compiled program.
    script = '\n'.join([
        'import json, os, sys',
        'before = os.environ.get("XLA_FLAGS")',
        'import cv2, numpy as np, tensorflow  # They set variables of theirs.',
        'environ = dict(os.environ)',
        'from kinetics_i3d.flow import backends, frame_checks, tvl1_float32',
        'from kinetics_i3d.flow import tvl1_opencv, tvl1_params, tvl1_programs',
        'from kinetics_i3d.flow import tvl1_remap, tvl1_resize, tvl1_solver',
        'from kinetics_i3d.flow import tvl1_stencils, tvl1_tf, tvl1_tf_worker',
        'changed = sorted(k for k in set(environ) | set(os.environ)',
        '                 if environ.get(k) != os.environ.get(k))',
        'imported = os.environ.get("XLA_FLAGS")',
        'tvl1_tf_worker.cache_dir = lambda: sys.argv[1]',
        'a = np.zeros((1, 24, 32), np.uint8)',
        'b = np.zeros((1, 24, 32), np.uint8); b[0, 10:14, 10:14] = 200',
        'tvl1_tf.compute_flow_batch(a, b)',
        'print(json.dumps([before, imported, changed,',
        '                  os.environ.get("XLA_FLAGS"),',
        '                  tvl1_programs.xla_keeps_float_rounding()]))',
    ])
    env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
    env['PYTHONPATH'] = paths.PROJECT_DIR
    result = subprocess.run([sys.executable, '-c', script, self.cache],
                            env=env, capture_output=True, text=True,
                            check=False)
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    before, imported, changed, after, keeps = json.loads(
        result.stdout.strip().splitlines()[-1])
    self.assertIsNone(before)
    self.assertIsNone(imported)
    self.assertEqual(changed, [])
    self.assertIsNone(after)
    has_fma = cv2.checkHardwareSupport(12)  # CV_CPU_FMA3
    self.assertEqual(keeps, not has_fma)


class EnvironmentTest(absltest.TestCase):

  def test_environment_adds_the_flags_and_keeps_the_callers(self):
    base = {'XLA_FLAGS': '--xla_dump_to=/tmp/x', 'PATH': '/bin'}
    env = tvl1_tf_worker.worker_environment(base, '/c')
    self.assertEqual(base, {'XLA_FLAGS': '--xla_dump_to=/tmp/x',
                            'PATH': '/bin'})
    self.assertEqual(env['XLA_FLAGS'],
                     '--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX')
    self.assertEqual(env['TF_XLA_FLAGS'],
                     '--tf_xla_persistent_cache_directory=/c')
    self.assertEqual(env['PYTHONPATH'].split(os.pathsep)[0],
                     paths.PROJECT_DIR)
    self.assertEqual(env['PATH'], '/bin')
    self.assertNotIn('TF_XLA_FLAGS',
                     tvl1_tf_worker.worker_environment(base, None))


if __name__ == '__main__':
  absltest.main()
