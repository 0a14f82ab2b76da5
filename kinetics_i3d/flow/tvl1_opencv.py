# Copyright 2026 The kinetics-i3d TF2 authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
r"""TV-L1 optical flow with OpenCV's DualTVL1, in parallel worker processes.

I3D's flow stream (Joao Carreira, Andrew Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017,
https://arxiv.org/abs/1705.07750) takes TV-L1 optical flow between
consecutive frames at 25 fps. Google's released pipeline (MediaPipe's
`Tvl1OpticalFlowCalculator`) computes it with OpenCV's
`createOptFlow_DualTVL1()` at its default parameters on frames converted with
`COLOR_RGB2GRAY`, from frame t to frame t + 1; this module does the same with
`cv2.optflow.DualTVL1OpticalFlow_create()`.

TV-L1 is slow (README "Optical flow" gives its cost per frame pair), so
pairs run in worker processes, at most 2 per worker in flight. `identity()`
names the algorithm, its parameters and the OpenCV version, for records of
how a flow was made (`kinetics_i3d.flow.backends`).
"""

import collections
import concurrent.futures
import multiprocessing
import os
from typing import Any, Deque, Dict, Iterable, Iterator, Optional, Tuple

from absl import logging
import cv2
import numpy as np

from kinetics_i3d.flow import frame_checks

NAME = 'tvl1'
BACKEND = 'opencv'

_worker_tvl1 = None


def _create() -> Any:
  return cv2.optflow.DualTVL1OpticalFlow_create()


def parameters() -> Dict[str, Any]:
  """The parameters OpenCV's DualTVL1 runs with, read from a fresh object.

  Returns:
    {name: value} under the names `tvl1_params.TVL1Params.to_dict` uses: tau,
    lambda, theta, nscales, warps, epsilon, inner_iterations,
    outer_iterations, scale_step, gamma, median_filtering, use_initial_flow.
  """
  tvl1 = _create()

  def real(value: float) -> float:
    # The getters widen float32 fields to double: 0.15 would read
    # 0.15000000596046448. Seven digits are the float32 value.
    return float(f'{value:.7g}')

  return {
      'tau': real(tvl1.getTau()),
      'lambda': real(tvl1.getLambda()),
      'theta': real(tvl1.getTheta()),
      'nscales': int(tvl1.getScalesNumber()),
      'warps': int(tvl1.getWarpingsNumber()),
      'epsilon': real(tvl1.getEpsilon()),
      'inner_iterations': int(tvl1.getInnerIterations()),
      'outer_iterations': int(tvl1.getOuterIterations()),
      'scale_step': real(tvl1.getScaleStep()),
      'gamma': real(tvl1.getGamma()),
      'median_filtering': int(tvl1.getMedianFiltering()),
      'use_initial_flow': bool(tvl1.getUseInitialFlow()),
  }


def identity() -> Dict[str, Any]:
  """The algorithm's identity, to record next to flow computed with it.

  Returns:
    A JSON-serialisable dict: name 'tvl1', backend 'opencv', the parameters
    (`parameters()`) and the OpenCV version.
  """
  return {
      'name': NAME,
      'backend': BACKEND,
      'params': parameters(),
      'opencv': cv2.__version__,
  }


def _init_tvl1_worker() -> None:
  global _worker_tvl1
  # One pair per process already fills the cores; OpenCV's own threads would
  # only oversubscribe them.
  cv2.setNumThreads(1)
  _worker_tvl1 = _create()


def _tvl1_in_worker(pair: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
  return _worker_tvl1.calc(pair[0], pair[1], None)


# OpenCV's CpuFeatures ids (core/cvdef.h; the Python module does not export
# the names).
_CV_CPU_AVX2, _CV_CPU_FMA3, _CV_CPU_AVX_512F = 11, 12, 13


def tf_reproduces_kernels() -> bool:
  """Whether this CPU runs the OpenCV kernels `tvl1_tf` reproduces exactly.

  OpenCV's x86 wheels dispatch remap and resize code by CPU: with AVX2 and
  FMA3 (and no AVX-512) the kernels whose arithmetic `tvl1_tf` follows bit
  for bit (verified on AMD EPYC); with AVX-512 (not verified here) or
  without AVX2 (no FMA) other code, which `tvl1_tf` matches to 1-2 ulp.

  Returns:
    True for an AVX2 + FMA3 CPU without AVX-512 with OpenCV's optimised
    code enabled.
  """
  return bool(cv2.useOptimized() and
              cv2.checkHardwareSupport(_CV_CPU_AVX2) and
              cv2.checkHardwareSupport(_CV_CPU_FMA3) and
              not cv2.checkHardwareSupport(_CV_CPU_AVX_512F))


def default_num_workers() -> int:
  """CPUs this process may run on (its affinity mask), at least 1."""
  try:
    return max(1, len(os.sched_getaffinity(0)))
  except AttributeError:
    return max(1, os.cpu_count() or 1)


class _Pool:
  """TV-L1 in `workers` processes, or in this process for one worker."""

  def __init__(self, workers: int):
    self.workers = workers
    self._executor = None
    self._tvl1 = None

  def in_process(self, pair: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    if self._tvl1 is None:
      self._tvl1 = _create()
    return self._tvl1.calc(pair[0], pair[1], None)

  def submit(self, pair: Tuple[np.ndarray, np.ndarray]) -> Any:
    """A finished flow (one worker) or (pair, future) for a running one."""
    if self.workers == 1:
      return self.in_process(pair)
    if self._executor is None:
      # forkserver: forking a process whose OpenCV thread pool is running
      # can deadlock, and spawn would re-import the caller's main script
      # (TensorFlow and all) in every worker.
      self._executor = concurrent.futures.ProcessPoolExecutor(
          max_workers=self.workers,
          mp_context=multiprocessing.get_context('forkserver'),
          initializer=_init_tvl1_worker)
    return pair, self._executor.submit(_tvl1_in_worker, pair)

  def result(self, item: Any) -> np.ndarray:
    if isinstance(item, np.ndarray):
      return item
    pair, future = item
    try:
      return future.result()
    except concurrent.futures.process.BrokenProcessPool:
      # E.g. a main script the workers cannot import (python - < file).
      if self.workers > 1:
        logging.warning('TV-L1 worker processes failed; computing the flow '
                        'in this process instead.')
        self.workers = 1
      return self.in_process(pair)

  def close(self) -> None:
    if self._executor is not None:
      self._executor.shutdown(wait=True, cancel_futures=True)


def iter_tvl1_flow(frames: Iterable[np.ndarray],
                   num_workers: Optional[int] = None) -> Iterator[np.ndarray]:
  """Streams TV-L1 flow between consecutive frames, in order.

  OpenCV's `DualTVL1OpticalFlow` with its default parameters (as Google's
  released MediaPipe graph uses) from frame t to frame t + 1. Pairs run in
  `num_workers` processes (each with its own TV-L1 object: they cannot be
  pickled); at most 2 * num_workers pairs are in flight, so memory stays
  bounded and `frames` may be a lazy generator. Two identical frames give
  exactly zero flow without running TV-L1 (which also returns exactly zero
  for them), which matters for low frame-rate sources whose frames repeat.

  Args:
    frames: uint8 frames, gray [H, W] (or RGB [H, W, 3], converted with
      cv2.COLOR_RGB2GRAY), all the same size.
    num_workers: Processes; None for every CPU this process may use; 1 runs
      in this process.

  Yields:
    float32 [H, W, 2] flow (x, y) in pixels: frame_t(p) ~ frame_t+1(p + flow).

  Raises:
    ValueError: For frames of another dtype, shape or size, or num_workers
      below 1.
  """
  workers = default_num_workers() if num_workers is None else int(num_workers)
  if workers < 1:
    raise ValueError(f'num_workers must be >= 1, got {num_workers}.')
  iterator = iter(frames)
  first = next(iterator, None)
  if first is None:
    return
  previous = frame_checks.gray_frame(first, 'frames[0]')
  pool = _Pool(workers)
  # Each entry: a finished flow, or (frame pair, future) for a running one.
  pending: Deque[Any] = collections.deque()
  try:
    for t, frame in enumerate(iterator, 1):
      current = frame_checks.gray_frame(frame, f'frames[{t}]')
      if current.shape != previous.shape:
        raise ValueError(
            f'Flow frames must all have one size: {previous.shape} then '
            f'{current.shape}.')
      if np.array_equal(previous, current):
        pending.append(np.zeros(current.shape + (2,), np.float32))
      else:
        pending.append(pool.submit((previous, current)))
      previous = current
      while len(pending) > 2 * pool.workers or (
          pending and isinstance(pending[0], np.ndarray)):
        yield pool.result(pending.popleft())
    while pending:
      yield pool.result(pending.popleft())
  finally:
    pool.close()
