r"""TV-L1 optical flow in TensorFlow, reproducing OpenCV's DualTVL1 exactly.

I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017) is trained on TV-L1 optical
flow computed with OpenCV's `cv2.optflow.DualTVL1OpticalFlow_create()` at its
default parameters. The algorithm is the duality-based TV-L1 of Zach, Pock and
Bischof, "A Duality Based Approach for Realtime TV-L1 Optical Flow" (DAGM
2007), in the form described by Sanchez, Meinhardt-Llopis and Facciolo,
"TV-L1 Optical Flow Estimation", Image Processing On Line 3 (2013). This
package runs the same computation as OpenCV 5.0's `tvl1flow.cpp` (CPU path),
batched over frame pairs, inside one compiled `tf.function` per input shape,
so that it runs on whatever device TensorFlow uses (a GPU when present).

Every step that changes the output follows OpenCV, operation by operation in
float32, so that rounding matches. The rooms:

  * `tvl1_params`: DualTVL1's parameters (OpenCV's defaults).
  * `tvl1_resize`: the pyramid (levels of 0.8 x the size, fewer below 16
    pixels) and `cv::resize(INTER_LINEAR)` as IPP or OpenCV's own code
    computes it.
  * `tvl1_remap`: `cv::remap(INTER_CUBIC)`, the warp of I1 by the flow.
  * `tvl1_stencils`: the 5x5 median, the derivatives and the divergence.
  * `tvl1_float32`: fused multiply-adds, hypot and sequential sums rounded
    as OpenCV's C++ rounds them.
  * `tvl1_solver`: the iterations and OpenCV's stopping rule, per pair.
  * `tvl1_programs`: the traced program per shape, run per device.
  * `tvl1_tf_worker`: on a CPU, the process that runs the programs with
    XLA's FMA contraction turned off (an XLA_FLAGS setting for a whole
    process), so this module changes nothing in the calling process.
  * this module: the API, `compute_flow_batch` and `iter_flow`.

Input: uint8 frames are converted to float32 unchanged (0..255); float input
must already be in [0, 255] (OpenCV multiplies float input by 255). Frames
smaller than 3 pixels on a side are rejected (OpenCV's stencils assume >= 3).

Agreement: on a CPU with AVX2 and FMA (the kernels OpenCV's x86 wheels
dispatch there) the building blocks match OpenCV bit for bit, with IPP on or
off, and so does the flow up to rare last-bit differences (README "Optical
flow" gives the measurements). OpenCV dispatches other remap/resize code on
CPUs with AVX-512 or without AVX2, and XLA contracts multiply-adds on a GPU:
there the building blocks differ by 1-2 ulp, which TV-L1's thresholds and
median grow into small flow differences.
"""

from typing import Any, Dict, Iterable, Iterator, List, Optional

import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import frame_checks
from kinetics_i3d.flow import tvl1_params
from kinetics_i3d.flow import tvl1_programs
from kinetics_i3d.flow import tvl1_resize
from kinetics_i3d.flow import tvl1_tf_worker

# The API's own names, defined in the modules above.
TVL1Params = tvl1_params.TVL1Params
DEFAULT_PARAMS = tvl1_params.DEFAULT_PARAMS
FlowOutOfMemoryError = tvl1_programs.FlowOutOfMemoryError

_DEFAULT_BATCH_SIZE = 8


def identity(params: TVL1Params = DEFAULT_PARAMS) -> Dict[str, Any]:
  """The algorithm's identity, to record next to flow computed with it.

  Args:
    params: The parameters used.

  Returns:
    A JSON-serialisable dict: name 'tvl1', backend 'tf', the parameters and
    the TensorFlow version.
  """
  return {
      'name': 'tvl1',
      'backend': 'tf',
      'reference': 'cv2.optflow.DualTVL1OpticalFlow (OpenCV 5.0 CPU path)',
      'params': params.to_dict(),
      'resize_arithmetic': tvl1_resize.resize_arithmetic(),
      'tensorflow': tf.__version__,
  }


def _in_worker(a: np.ndarray, b: np.ndarray, params: TVL1Params,
               resize: str) -> np.ndarray:
  """`tvl1_programs.run_pairs` in the program's `tvl1_tf_worker` process."""
  worker = tvl1_tf_worker.worker(params.to_dict(), a.shape[1], a.shape[2],
                                 resize)
  try:
    return worker.compute(a, b)
  except tvl1_tf_worker.FlowWorkerError as e:
    if e.kind == FlowOutOfMemoryError.__name__:
      raise FlowOutOfMemoryError(str(e)) from e
    raise


def compute_flow_batch(first: np.ndarray, second: np.ndarray,
                       params: TVL1Params = DEFAULT_PARAMS,
                       jit_compile: Optional[bool] = None) -> np.ndarray:
  """TV-L1 flow from first[i] to second[i], as OpenCV's calc(first, second).

  Args:
    first: uint8 (or float in [0, 255]) gray frames [N, H, W].
    second: Same shape and dtype kind; the frames after `first`.
    params: Algorithm parameters (OpenCV's defaults).
    jit_compile: Compile with XLA (on a CPU: in the worker process, where
      XLA keeps OpenCV's rounding); False: plain TensorFlow kernels in this
      process (same results, slower); None: XLA.

  Returns:
    float32 [N, H, W, 2] flow (x, y) in pixels. Pairs of identical frames
    get exactly 0, as from OpenCV, without running the solver. On a GPU the
    pairs run in batches of at most `tvl1_remap.MAX_PAIRS_PER_CALL`; on a
    CPU one per call, as many calls at once as the process has CPUs (same
    results), in a `tvl1_tf_worker` process unless jit_compile is False.

  Raises:
    ValueError: for a bad argument (named in the message): wrong rank or
      dtype, different shapes, empty batch, non-finite or out-of-range
      values, frames smaller than 3x3, unsupported parameters.
    FlowOutOfMemoryError: when the device runs out of memory; the message
      names a smaller batch size to use.
    tvl1_tf_worker.FlowWorkerError: when the worker process fails twice.
  """
  params.validate()
  a, b = frame_checks.pair_batch(first, second)
  n, height, width = a.shape
  flow = np.zeros((n, height, width, 2), np.float32)
  todo = np.flatnonzero(np.any(a != b, axis=(1, 2)))
  if todo.size == 0:
    return flow
  resize = tvl1_resize.resize_arithmetic()
  gpu = tvl1_programs.on_gpu()
  if not gpu and jit_compile is not False:
    flow[todo] = _in_worker(a[todo], b[todo], params, resize)
    return flow
  if jit_compile is None:
    jit_compile = tvl1_programs.default_jit_compile()
  fn = tvl1_programs.compiled(params, height, width, bool(jit_compile),
                              resize)
  flow[todo] = tvl1_programs.run_pairs(fn, a[todo], b[todo], gpu)
  return flow


def _start_worker(shape: Any, params: TVL1Params,
                  jit_compile: Optional[bool]) -> None:
  """Starts the worker a CPU will use, to warm up while frames are read."""
  if (jit_compile is not False and
      min(shape) >= frame_checks.MIN_FRAME_SIZE and
      not tvl1_programs.on_gpu()):
    tvl1_tf_worker.worker(params.to_dict(), *shape,
                          tvl1_resize.resize_arithmetic())


def _batch_flow(firsts: List[np.ndarray], seconds: List[np.ndarray],
                params: TVL1Params, jit_compile: Optional[bool],
                batch_size: int) -> np.ndarray:
  """`compute_flow_batch` of the pairs `iter_flow` has gathered."""
  try:
    return compute_flow_batch(np.stack(firsts), np.stack(seconds), params,
                              jit_compile)
  except FlowOutOfMemoryError as e:
    raise FlowOutOfMemoryError(
        f'{e} (iter_flow batch_size={batch_size}; try '
        f'batch_size={max(1, batch_size // 2)}).') from e


def iter_flow(frames: Iterable[np.ndarray],
              batch_size: int = _DEFAULT_BATCH_SIZE,
              params: TVL1Params = DEFAULT_PARAMS,
              jit_compile: Optional[bool] = None) -> Iterator[np.ndarray]:
  """Streams TV-L1 flow between consecutive frames.

  Holds at most `batch_size` pairs at a time: accumulates them, computes
  them in one batch and yields their flows in order.

  Args:
    frames: uint8 frames, gray [H, W] or RGB [H, W, 3], all the same size.
    batch_size: Pairs per TensorFlow call.
    params: Algorithm parameters.
    jit_compile: As in `compute_flow_batch`.

  Yields:
    float32 [H, W, 2] flow from frame t to frame t + 1, for t = 0, 1, ...

  Raises:
    ValueError: for a bad frame (named by its index) or batch_size.
    FlowOutOfMemoryError: as `compute_flow_batch`.
  """
  if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
    raise ValueError(f'batch_size must be a positive int, got {batch_size!r}.')
  previous = None
  firsts, seconds = [], []
  for t, frame in enumerate(frames):
    current = frame_checks.gray_frame(frame, f'frames[{t}]')
    if previous is None:
      _start_worker(current.shape, params, jit_compile)
    else:
      if current.shape != previous.shape:
        raise ValueError(f'frames[{t}] has size {current.shape}, but earlier '
                         f'frames have {previous.shape}.')
      firsts.append(previous)
      seconds.append(current)
      if len(firsts) == batch_size:
        yield from _batch_flow(firsts, seconds, params, jit_compile,
                               batch_size)
        firsts, seconds = [], []
    previous = current
  if firsts:
    yield from _batch_flow(firsts, seconds, params, jit_compile, batch_size)
