"""The TV-L1 implementations of I3D's flow stream, chosen by name.

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", CVPR 2017, feed the flow stream with TV-L1 optical flow;
the released pipeline computes it with OpenCV's DualTVL1 at its default
parameters. Two backends compute that flow:

* 'opencv': OpenCV itself, one frame pair per worker process
  (`tvl1_opencv`); the reference.
* 'tf': the same algorithm in TensorFlow (`tvl1_tf`), batched over frame
  pairs, on whatever device TensorFlow uses (a GPU when present; on a CPU
  in a worker process per frame size, `tvl1_tf_worker`).

`identity(backend)` is the JSON record of an algorithm (name, backend,
parameters, library version): tools store it with the flow they make, so that
a change of backend or parameters never silently reuses stale outputs.
`define_flag()` gives tool modules the `--flow_backend` flag.
"""

import glob
import sys
from typing import Any, Dict, Iterable, Iterator, Optional

from absl import flags
import numpy as np

from kinetics_i3d.flow import tvl1_opencv
from kinetics_i3d.utils import progress as progress_lib

OPENCV = 'opencv'
TF = 'tf'
BACKENDS = (OPENCV, TF)
FLAG_NAME = 'flow_backend'


def _tvl1_tf():
  """The TensorFlow backend's module, imported on first use.

  Imported here rather than at the top: it loads TensorFlow (a slow
  start-up) that the OpenCV path never needs, and a problem in it must only
  break the 'tf' backend.

  Raises:
    ValueError: If it cannot be imported, naming the remedy.
  """
  try:
    from kinetics_i3d.flow import tvl1_tf  # pylint: disable=g-import-not-at-top
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(
        f'--{FLAG_NAME}=tf: the TensorFlow TV-L1 (kinetics_i3d/flow/'
        f'tvl1_tf.py) cannot be imported ({type(e).__name__}: {e}); use '
        f'--{FLAG_NAME}=opencv.') from e
  return tvl1_tf


def _gpu_device_files() -> bool:
  # NVIDIA (/dev/nvidia0, ...) and ROCm (/dev/kfd) device nodes.
  return bool(glob.glob('/dev/nvidia[0-9]*') or glob.glob('/dev/kfd'))


def gpu_visible() -> bool:
  """Whether TensorFlow sees a GPU.

  On Linux without GPU device files the answer is no without loading
  TensorFlow (a start-up a CPU-only flow run never needs).
  """
  if ('tensorflow' not in sys.modules and sys.platform.startswith('linux')
      and not _gpu_device_files()):
    return False
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return bool(tf.config.list_physical_devices('GPU'))


def default_backend() -> str:
  """'tf' with a GPU or on a CPU where it reproduces OpenCV; else 'opencv'.

  On a CPU whose OpenCV kernels `tvl1_tf` reproduces bit for bit
  (`tvl1_opencv.tf_reproduces_kernels()`: AVX2 + FMA3, no AVX-512) the TF
  backend is the faster of the two on the same cores
  (benchmarks/flow_benchmark.py; README "Optical flow"). On other CPUs
  OpenCV, the reference, stays the default: there neither the speed nor the
  exactness of the TF backend was measured.

  Returns:
    A member of `BACKENDS`.
  """
  if gpu_visible() or tvl1_opencv.tf_reproduces_kernels():
    return TF
  return OPENCV


def resolve(value: Optional[str]) -> str:
  """The backend a flag value means: None for `default_backend()`.

  Args:
    value: A member of `BACKENDS`, or None.

  Returns:
    A member of `BACKENDS`.

  Raises:
    ValueError: For any other value.
  """
  if value is None:
    return default_backend()
  if value not in BACKENDS:
    raise ValueError(f'--{FLAG_NAME} must be one of {", ".join(BACKENDS)}, '
                     f'got {value!r}.')
  return value


def identity(backend: Optional[str] = None) -> Dict[str, Any]:
  """The JSON-able identity of the flow a backend computes.

  Args:
    backend: A member of `BACKENDS`; None for `default_backend()`.

  Returns:
    {'name': 'tvl1', 'backend': ..., 'params': {...}, <library>: version},
    e.g. {'name': 'tvl1', 'backend': 'opencv', 'params': {'tau': 0.25, ...},
    'opencv': '5.0.0'}.

  Raises:
    ValueError: For an unknown backend or one that cannot be imported.
  """
  backend = resolve(backend)
  if backend == OPENCV:
    return tvl1_opencv.identity()
  return _tvl1_tf().identity()


def iter_flow(frames: Iterable[np.ndarray],
              backend: Optional[str] = None,
              num_workers: Optional[int] = None,
              batch_size: Optional[int] = None) -> Iterator[np.ndarray]:
  """Streams TV-L1 flow from each frame to the next, in order.

  Args:
    frames: uint8 frames, gray [H, W] or RGB [H, W, 3] (converted with
      cv2.COLOR_RGB2GRAY), all the same size; may be a lazy generator.
    backend: A member of `BACKENDS`; None for `default_backend()`.
    num_workers: 'opencv': processes, None for every CPU available.
    batch_size: 'tf': frame pairs per TensorFlow call; None for its default.

  Yields:
    float32 [H, W, 2] flow (x, y) in pixels from frame t to frame t + 1.

  Raises:
    ValueError: For an unknown backend or bad frames.
  """
  backend = resolve(backend)
  if backend == OPENCV:
    return tvl1_opencv.iter_tvl1_flow(frames, num_workers)
  tvl1_tf = _tvl1_tf()
  if batch_size is None:
    return tvl1_tf.iter_flow(frames)
  return tvl1_tf.iter_flow(frames, batch_size=batch_size)


def compute_flow(frames: np.ndarray,
                 backend: Optional[str] = None,
                 progress: bool = False,
                 num_workers: Optional[int] = None,
                 batch_size: Optional[int] = None) -> np.ndarray:
  """TV-L1 flow between consecutive frames of a clip held in memory.

  Args:
    frames: uint8 gray [T, H, W] or RGB [T, H, W, 3], T >= 2.
    backend: A member of `BACKENDS`; None for `default_backend()`.
    progress: Whether to show a progress bar (after a few seconds). Long runs
      are reported in the logs either way.
    num_workers: As `iter_flow`.
    batch_size: As `iter_flow`.

  Returns:
    float32 [T - 1, H, W, 2]: flow[t] from frame t to frame t + 1, pixels.

  Raises:
    ValueError: For fewer than 2 frames, bad frames or an unknown backend.
  """
  backend = resolve(backend)
  frames = np.asarray(frames)
  if frames.ndim not in (3, 4) or len(frames) < 2:
    raise ValueError(
        f'compute_flow needs uint8 frames [T, H, W] or [T, H, W, 3] with '
        f'T >= 2, got shape {frames.shape}.')
  flows = []
  with progress_lib.Progress(f'TV-L1 flow ({backend})', len(frames) - 1,
                             'pair', bar=progress) as report:
    for flow in iter_flow(frames, backend, num_workers, batch_size):
      flows.append(flow)
      report.update()
  return np.stack(flows).astype(np.float32, copy=False)


def define_flag(flag_values: flags.FlagValues = flags.FLAGS
                ) -> flags.FlagHolder:
  """Defines `--flow_backend` for a tool module.

  Args:
    flag_values: Where to define it.

  Returns:
    The flag's holder; pass its value through `resolve`.
  """
  return flags.DEFINE_enum(
      FLAG_NAME, None, BACKENDS,
      'TV-L1 implementation for the flow stream: opencv (OpenCV\'s '
      'DualTVL1, one frame pair per process) or tf (the same algorithm in '
      'TensorFlow, batched; fast on a GPU). Default: tf when TensorFlow sees '
      'a GPU or the CPU has AVX2 and FMA without AVX-512 (there tf matches '
      'OpenCV bit for bit and is faster), else opencv. The choice and its '
      'parameters are recorded with the outputs.', flag_values=flag_values)
