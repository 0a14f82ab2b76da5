"""The TensorFlow TV-L1's compiled programs: one per shape, run per device.

The TensorFlow TV-L1 (`tvl1_tf`) reproduces OpenCV's DualTVL1, the flow of
I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition?",
CVPR 2017). A program is `tvl1_solver.flow_graph` traced for one
(parameters, frame size, XLA or not, resize arithmetic); it is traced once
per process and kept. XLA's CPU compiler contracts a * b + c into FMA
instructions (changing float32 rounding) unless the process runs with
`--xla_cpu_max_isa=AVX`; `xla_keeps_float_rounding()` says whether it does,
and only there (in a `tvl1_tf_worker` process, or on a GPU) are the
iterations XLA-compiled.

A batch iterates until its slowest pair has converged, and on a CPU the
masked iterations of the others cost as much as real ones, while a GPU has
the parallelism to spare: so a GPU runs the pairs in batches of at most
`MAX_PAIRS_PER_CALL`, and a CPU one pair per call, as many calls at once as
the process has CPUs.
"""

import concurrent.futures
import functools
import threading
from typing import Any, Dict, Tuple

import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_opencv
from kinetics_i3d.flow import tvl1_params
from kinetics_i3d.flow import tvl1_remap
from kinetics_i3d.flow import tvl1_solver

# A program's key: (params, height, width, jit_compile, resize arithmetic).
ProgramKey = Tuple[tvl1_params.TVL1Params, int, int, bool, str]

# The size of the multiply-add `xla_keeps_float_rounding` compiles.
_XLA_CHECK_SIZE = 4096


class FlowOutOfMemoryError(RuntimeError):
  """The device ran out of memory for a batch; names a batch size to try."""


_FUNCTIONS: Dict[ProgramKey, Any] = {}
_FUNCTIONS_LOCK = threading.Lock()


def compiled(params: tvl1_params.TVL1Params, height: int, width: int,
             jit_compile: bool, resize: str) -> Any:
  """The traced program for a shape, made on first use.

  The loops stay in a TensorFlow graph (the rare exact sum needs
  TensorFlow's sequential cumsum); the per-iteration work inside them is
  XLA-compiled when `jit_compile` is set.

  Args:
    params: Algorithm parameters.
    height: Frame height.
    width: Frame width.
    jit_compile: Whether XLA compiles the iterations.
    resize: `tvl1_resize.resize_arithmetic()` of the OpenCV to follow.

  Returns:
    A `tf.function` of float32 [N, H, W] (first, second) -> [N, H, W, 2].
  """
  key = (params, height, width, jit_compile, resize)
  with _FUNCTIONS_LOCK:
    fn = _FUNCTIONS.get(key)
    if fn is None:
      spec = tf.TensorSpec([None, height, width], tf.float32)
      fn = tf.function(
          functools.partial(tvl1_solver.flow_graph, params=params,
                            jit_compile=jit_compile, resize=resize),
          input_signature=[spec, spec], reduce_retracing=True,
          autograph=False)
      _FUNCTIONS[key] = fn
  return fn


@functools.lru_cache(maxsize=None)
def xla_keeps_float_rounding() -> bool:
  """Whether XLA on the CPU rounds a * b + c like plain C++ (no FMA).

  OpenCV's tvl1flow.cpp is built without FMA. `tvl1_tf_worker` starts its
  workers with `--xla_cpu_max_isa=AVX` (no FMA) in XLA_FLAGS; this check
  runs a compiled multiply-add once and compares it with numpy, so that a
  worker whose flag did not take effect falls back to plain TensorFlow
  kernels instead of drifting. In a process without the flag it is False
  on FMA CPUs.

  Returns:
    True when compiled a * b + c equals the twice-rounded result.
  """
  rng = np.random.default_rng(0)
  a, b, c = (rng.standard_normal(_XLA_CHECK_SIZE).astype(np.float32)
             for _ in range(3))
  with tf.device('/CPU:0'):
    out = tf.function(lambda a, b, c: a * b + c, jit_compile=True)(a, b, c)
  return bool(np.array_equal(out.numpy(), a * b + c))


def on_gpu() -> bool:
  """Whether TensorFlow places this process's programs on a GPU."""
  return bool(tf.config.list_logical_devices('GPU'))


def default_jit_compile() -> bool:
  """XLA for the iterations in this process: on a GPU, and on a CPU when it
  keeps rounding (in a `tvl1_tf_worker` process)."""
  return on_gpu() or xla_keeps_float_rounding()


def _out_of_memory(n: int, height: int, width: int) -> FlowOutOfMemoryError:
  smaller = max(1, n // 2)
  return FlowOutOfMemoryError(
      f'Out of device memory computing TV-L1 flow for a batch of '
      f'{n} pairs of {height}x{width}; use batch_size={smaller}'
      f'{" or fewer" if smaller > 1 else " (or a smaller image)"}.')


def run_pairs(fn: Any, a: np.ndarray, b: np.ndarray,
              gpu: bool) -> np.ndarray:
  """Runs a compiled program on float32 [N, H, W] pairs that all differ.

  Args:
    fn: A program from `compiled`.
    a: float32 [N, H, W] first frames.
    b: float32 [N, H, W] second frames.
    gpu: Batches of `MAX_PAIRS_PER_CALL` (a GPU) or one pair per call, one
      call per CPU at a time.

  Returns:
    float32 [N, H, W, 2].

  Raises:
    FlowOutOfMemoryError: naming a smaller batch size.
  """
  n, height, width = a.shape
  flow = np.empty((n, height, width, 2), np.float32)
  if gpu:
    step = tvl1_remap.MAX_PAIRS_PER_CALL
    parts = [np.arange(i, min(n, i + step)) for i in range(0, n, step)]
    workers = 1
  else:
    parts = [np.arange(i, i + 1) for i in range(n)]
    workers = min(n, tvl1_opencv.default_num_workers())

  def run(part: np.ndarray) -> None:
    flow[part] = fn(tf.constant(a[part]), tf.constant(b[part])).numpy()

  try:
    if workers > 1:
      with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, parts))
    else:
      for part in parts:
        run(part)
  except tf.errors.ResourceExhaustedError as e:
    raise _out_of_memory(n, height, width) from e
  return flow


class WorkerProgram:
  """One program as a `tvl1_tf_worker` process runs it, on its CPU."""

  def __init__(self, params: tvl1_params.TVL1Params, height: int, width: int,
               resize: str):
    """Traces the program (XLA-compiled where that keeps OpenCV's rounding).

    Args:
      params: Algorithm parameters.
      height: Frame height.
      width: Frame width.
      resize: `tvl1_resize.resize_arithmetic()` of the calling process.
    """
    self.shape = (height, width)
    self.jit_compile = xla_keeps_float_rounding()
    self._fn = compiled(params, height, width, self.jit_compile, resize)

  def warm_up(self) -> None:
    """Runs a blank pair (converges at once), compiling every loop."""
    blank = np.zeros((1,) + self.shape, np.float32)
    self(blank, blank + 1)

  def __call__(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Flow of float32 [N, H, W] pairs that all differ: [N, H, W, 2]."""
    return run_pairs(self._fn, first, second, gpu=False)
