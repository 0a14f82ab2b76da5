r"""Seconds and GFLOP/s per clip of the I3D forward pass on this machine.

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017.

Times inference (`is_training=False`) on random clips of 224x224 frames for
  * plain:  `i3d.InceptionI3d` as written (BatchNorm as separate ops);
  * folded: `fast_inference.fold_batch_norm(model, merge_branch_convs=False)`;
  * fast:   the same plus each Inception block's three 1x1x1 convolutions on
            the block input merged into one,
each run eagerly, in `tf.function` and in `tf.function(jit_compile=True)`.
The models are timed round-robin (one call of each per repeat) so that load
from other processes affects them alike; the table gives the median and the
fastest repeat, the process CPU time per clip (all threads) and the 1-minute
load average seen during the runs. GFLOP/s counts only the convolutions
(`fast_inference.conv_flops`: 277.9 GFLOP for a 79-frame RGB clip).

With --first_conv_study it also times Conv3d_1a_7x7 (7x7x7, stride 2, 3
input channels) alone, directly and rewritten as a space-to-depth 4x4x4
stride-1 convolution over 24 channels, the reformulation considered for it.

Usage:
  python benchmarks/i3d_benchmark.py --batch_sizes=1,4 --repeats=5
"""

import os
import statistics
from typing import Callable, Dict, List, Sequence, Tuple

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import streams
from kinetics_i3d.inference import fast_inference
import benchmark_flags  # Beside this script, as timing.py.
import timing  # benchmarks/timing.py, beside this script.

_MODELS = ('plain', 'folded', 'fast')
_MODES = ('eager', 'function', 'xla')
# The figure quoted in the issue, for a 79-frame 224x224 RGB clip.
_QUOTED_GFLOP = 277.9

_BATCH_SIZES = flags.DEFINE_list(
    'batch_sizes', ['1', '4'], 'Comma-separated batch sizes to time.')
_NUM_FRAMES = benchmark_flags.define_num_frames()
_STREAM = benchmark_flags.define_stream()
_REPEATS = benchmark_flags.define_repeats('model, mode and batch size')
# --helpshort lists the shared flags with the script's own.
flags.adopt_module_key_flags(benchmark_flags)
_MODES_FLAG = flags.DEFINE_multi_enum(
    'modes', list(_MODES), _MODES,
    'Execution modes: eager, function (tf.function) and xla '
    '(tf.function(jit_compile=True)). Repeat the flag for several.')
_MODELS_FLAG = flags.DEFINE_multi_enum(
    'models', list(_MODELS), _MODELS,
    'Models to time: plain (i3d.InceptionI3d), folded (BatchNorm folded) '
    'and fast (folded + merged 1x1x1 convolutions).')
_FIRST_CONV_STUDY = flags.DEFINE_boolean(
    'first_conv_study', True,
    'Also time Conv3d_1a_7x7 alone, direct vs space-to-depth.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the random weights and clips.')


def _randomize_statistics(model: i3d.InceptionI3d, seed: int) -> None:
  """Gives every BatchNorm non-trivial moving statistics and offsets."""
  rng = np.random.default_rng(seed)
  for unit in _units(model):
    bn = unit.batch_norm
    channels = bn.offset.shape[-1]
    shape = bn.moving_mean.average.shape
    bn.moving_mean.average.assign(
        rng.normal(0., 0.2, shape).astype(np.float32))
    bn.moving_variance.average.assign(
        rng.uniform(0.5, 2., shape).astype(np.float32))
    bn.offset.assign(rng.normal(0., 0.2, channels).astype(np.float32))


def _units(model: i3d.InceptionI3d) -> List[i3d.Unit3D]:
  return [m for m in model.submodules
          if isinstance(m, i3d.Unit3D) and m.batch_norm is not None]


def _build_callables(
    model: i3d.InceptionI3d, models: Sequence[str],
    mode: str) -> Dict[str, Callable[[tf.Tensor], tf.Tensor]]:
  """Returns name -> function from clips to logits, for one mode."""
  callables = {}
  for name in models:
    if name == 'plain':
      plain = lambda x: model(x, is_training=False)[0]
      if mode == 'eager':
        callables[name] = plain
      else:
        callables[name] = tf.function(plain, jit_compile=(mode == 'xla'))
    else:
      fast = fast_inference.fold_batch_norm(
          model, merge_branch_convs=(name == 'fast'), mode=mode)
      callables[name] = lambda x, fast=fast: fast(x)[0]
  return callables


def _time_round_robin(
    callables: Dict[str, Callable[[tf.Tensor], tf.Tensor]], clips: tf.Tensor,
    repeats: int) -> Tuple[Dict[str, List[float]], Dict[str, List[float]],
                           Dict[str, np.ndarray], List[float]]:
  """Times each callable `repeats` times, alternating between them."""
  wall = {name: [] for name in callables}
  cpu = {name: [] for name in callables}
  logits = {}
  for name, fn in callables.items():  # Warm-up: trace, compile, allocate.
    logits[name] = fn(clips).numpy()
  loads = [os.getloadavg()[0]]
  for _ in range(repeats):
    for name, fn in callables.items():
      with timing.timed() as spent:
        fn(clips).numpy()
      wall[name].append(spent.wall_s)
      cpu[name].append(spent.cpu_s)
    loads.append(os.getloadavg()[0])
  return wall, cpu, logits, loads


def _space_to_depth_first_conv(x: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
  """Conv3d_1a_7x7 (SAME, stride 2) as a stride-1 4x4x4 VALID convolution.

  The 7x7x7 kernel is zero-padded to 8x8x8 at the end of each axis; the
  input gets TF SAME's padding (the smaller half first) plus one more step at
  the end, making every axis even; each 2x2x2 block of the padded input then
  becomes one position with 8x the channels.

  Args:
    x: Clips [B, T, H, W, C].
    w: Kernel [7, 7, 7, C, C_out].

  Returns:
    [B, ceil(T/2), ceil(H/2), ceil(W/2), C_out], the SAME stride-2 conv.
  """
  batch, *spatial, channels = x.shape
  paddings = [[0, 0]]
  blocks = []
  for size in spatial:
    out = -(-size // 2)
    total = max((out - 1) * 2 + 7 - size, 0)
    paddings.append([total // 2, total - total // 2 + 1])
    blocks.append(out + 3)
  paddings.append([0, 0])
  x = tf.pad(x, paddings)
  x = tf.reshape(x, [batch, blocks[0], 2, blocks[1], 2, blocks[2], 2,
                     channels])
  x = tf.transpose(x, [0, 1, 3, 5, 2, 4, 6, 7])
  x = tf.reshape(x, [batch, *blocks, 8 * channels])
  w = tf.pad(w, [[0, 1], [0, 1], [0, 1], [0, 0], [0, 0]])
  out_channels = w.shape[-1]
  w = tf.reshape(w, [4, 2, 4, 2, 4, 2, channels, out_channels])
  w = tf.transpose(w, [0, 2, 4, 1, 3, 5, 6, 7])
  w = tf.reshape(w, [4, 4, 4, 8 * channels, out_channels])
  return tf.nn.conv3d(x, w, strides=[1] * 5, padding='VALID')


def _first_conv_study(clips: tf.Tensor, repeats: int, seed: int) -> None:
  channels = clips.shape[-1]
  w = tf.random.stateless_normal([7, 7, 7, channels, 64], seed=[seed, 1],
                                 stddev=0.05)
  b = tf.random.stateless_normal([64], seed=[seed, 2])
  variants = {
      'direct': lambda x: tf.nn.conv3d(x, w, [1, 2, 2, 2, 1], 'SAME'),
      'space_to_depth': lambda x: _space_to_depth_first_conv(x, w),
  }
  callables = {
      name: tf.function(lambda x, f=f: tf.nn.relu(tf.nn.bias_add(f(x), b)))
      for name, f in variants.items()
  }
  wall, _, outputs, loads = _time_round_robin(callables, clips, repeats)
  flop = fast_inference.conv_flops(
      *clips.shape[1:], final_endpoint='Conv3d_1a_7x7') * clips.shape[0]
  diff = np.max(np.abs(outputs['space_to_depth'] - outputs['direct']))
  print(f'\nConv3d_1a_7x7 alone (tf.function, batch {clips.shape[0]}, '
        f'{flop / 1e9:.1f} GFLOP; max |space_to_depth - direct| = '
        f'{diff:.2e}; load {min(loads):.1f}-{max(loads):.1f}):')
  for name, times in wall.items():
    median = statistics.median(times)
    print(f'  {name:<15} {median:7.3f} s (min {min(times):.3f} s)  '
          f'{flop / median / 1e9:6.1f} GFLOP/s')


def main(argv: Sequence[str]) -> None:
  del argv
  try:
    batch_sizes = [int(b) for b in _BATCH_SIZES.value]
  except ValueError:
    raise app.UsageError(
        f'--batch_sizes: expected comma-separated integers, got '
        f'{",".join(_BATCH_SIZES.value)!r}.') from None
  if not batch_sizes or min(batch_sizes) < 1:
    raise app.UsageError('--batch_sizes: every batch size must be >= 1.')
  models = [m for m in _MODELS if m in _MODELS_FLAG.value]
  modes = [m for m in _MODES if m in _MODES_FLAG.value]

  channels = streams.CHANNELS[_STREAM.value]
  frames = _NUM_FRAMES.value
  flop = fast_inference.conv_flops(frames, streams.CROP, streams.CROP,
                                 channels)
  print(f'CPU: {timing.cpu_model()}, nproc {os.cpu_count()}, '
        f'{len(os.sched_getaffinity(0))} usable')
  print(f'TensorFlow {tf.__version__}, oneDNN opts '
        f'{os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)")}')
  print(f'Convolutions of one {frames}x224x224x{channels} clip '
        f'(Conv3d_1a_7x7 .. Mixed_5c): {flop / 1e9:.1f} GFLOP')
  if (frames, channels) == (79, 3):
    status = 'OK' if round(flop / 1e9, 1) == _QUOTED_GFLOP else 'MISMATCH'
    print(f'  check against the quoted {_QUOTED_GFLOP} GFLOP: {status}')

  # Each FastI3d traces its own tf.function; TF warns about that, harmlessly.
  tf.get_logger().setLevel('ERROR')
  tf.random.set_seed(_SEED.value)
  model = i3d.InceptionI3d()
  model(tf.zeros([1, i3d.min_num_frames(), streams.CROP, streams.CROP,
                  channels]), is_training=False)
  _randomize_statistics(model, _SEED.value)

  header = (f'{"model":<7} {"mode":<9} {"batch":>5} {"s/clip":>8} '
            f'{"min":>7} {"GFLOP/s":>8} {"CPU s/clip":>10} {"load":>9} '
            f'{"max|dlogits|":>12}')
  print('\nPer clip, median of', _REPEATS.value, 'repeats (min: fastest '
        'repeat; load: 1-min load average during the runs; dlogits vs plain '
        'in the same mode). On a busy machine, CPU s/clip / usable cores '
        'estimates the wall time on an idle one.')
  print(header)
  print('-' * len(header))
  for batch in batch_sizes:
    clips = tf.random.stateless_uniform(
        [batch, frames, streams.CROP, streams.CROP, channels],
        seed=[_SEED.value, batch], minval=-1., maxval=1.)
    for mode in modes:
      callables = _build_callables(model, models, mode)
      wall, cpu, logits, loads = _time_round_robin(callables, clips,
                                                   _REPEATS.value)
      for name in models:
        median = statistics.median(wall[name]) / batch
        fastest = min(wall[name]) / batch
        cpu_per_clip = statistics.median(cpu[name]) / batch
        diff = ''
        if 'plain' in logits and name != 'plain':
          diff = f'{np.max(np.abs(logits[name] - logits["plain"])):.1e}'
        print(f'{name:<7} {mode:<9} {batch:>5} {median:8.3f} {fastest:7.3f} '
              f'{flop / median / 1e9:8.1f} {cpu_per_clip:10.3f} '
              f'{min(loads):4.1f}-{max(loads):<4.1f} {diff:>12}', flush=True)
  if _FIRST_CONV_STUDY.value:
    clips = tf.random.stateless_uniform(
        [1, frames, streams.CROP, streams.CROP, channels],
        seed=[_SEED.value, 0], minval=-1., maxval=1.)
    _first_conv_study(clips, _REPEATS.value, _SEED.value)


if __name__ == '__main__':
  app.run(main)
