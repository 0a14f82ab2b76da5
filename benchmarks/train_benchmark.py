r"""Training step time and clips per second of I3D with the paper's recipe.

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017.

Times `kinetics_i3d.training.train_step.make_train_step` -- the full network (to
'Logits', or `--final_endpoint`), BatchNorm in
training mode, dropout 0.5, softmax cross-entropy, gradients, all-reduce and
the momentum-SGD update -- on random clips of the paper's training size
(batch 6 per replica of 64x224x224 frames) under `tf.distribute.
MirroredStrategy` over the machine's GPUs, or its CPU if it has none. The
input is a repeated in-memory batch, so the figures exclude decoding (the
training pipeline reads preprocessed clips from its cache).

Prints the median and fastest step time over `--steps` timed steps after
`--warmup` untimed ones (tracing, allocation), the clips per second, the
process CPU time per step (all threads; on a shared machine, wall time over
CPU time shows how much other processes took) and the 1-minute load
average seen during the runs.

`--deterministic` enables TensorFlow's op determinism first, as
`--config.deterministic` does for `i3d-train`, to measure what bit-identical
runs cost.

Usage:
  python benchmarks/train_benchmark.py --batch_size=6 --num_frames=64 --steps=3
  python benchmarks/train_benchmark.py --deterministic
"""

import os
import statistics

from kinetics_i3d.utils import cpu_kernels

# As every tool: oneDNN's kernels even on CPUs where TensorFlow leaves them
# off by default. Before TensorFlow is imported.
cpu_kernels.enable_onednn()

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
import tensorflow as tf

import i3d
from kinetics_i3d import streams
from kinetics_i3d.training import train_step
import benchmark_flags  # Beside this script, as timing.py.
import timing  # benchmarks/timing.py, beside this script.

_BATCH_SIZE = flags.DEFINE_integer(
    'batch_size', 6, 'Clips per replica (6 in the paper).')
_NUM_FRAMES = benchmark_flags.define_num_frames(64, note='64 in the paper')
_CROP_SIZE = flags.DEFINE_integer('crop_size', streams.CROP, 'Frame side.')
_STREAM = benchmark_flags.define_stream()
# --helpshort lists the shared flags with the script's own.
flags.adopt_module_key_flags(benchmark_flags)
_NUM_CLASSES = flags.DEFINE_integer('num_classes', i3d.KINETICS_400_CLASSES,
                                    'Output classes.')
_STEPS = flags.DEFINE_integer('steps', 3, 'Timed training steps.')
_WARMUP = flags.DEFINE_integer(
    'warmup', 1, 'Untimed steps first (the first one traces the function).')
_FINAL_ENDPOINT = flags.DEFINE_string(
    'final_endpoint', 'Logits',
    'Last I3D endpoint; an earlier one adds the pooled linear head of '
    '--config.model.final_endpoint (small clips).')
_DETERMINISTIC = flags.DEFINE_boolean(
    'deterministic', False,
    'Enable TensorFlow\'s op determinism first (--config.deterministic).')


def _device_name() -> str:
  gpus = tf.config.list_physical_devices('GPU')
  if gpus:
    details = tf.config.experimental.get_device_details(gpus[0])
    return f'{len(gpus)} x {details.get("device_name", "GPU")}'
  return f'CPU: {timing.cpu_model()} ({os.cpu_count()} cores)'


def main(argv):
  del argv
  if _DETERMINISTIC.value:
    train_step.enable_determinism(0)
  strategy = tf.distribute.MirroredStrategy()
  replicas = strategy.num_replicas_in_sync
  global_batch = _BATCH_SIZE.value * replicas
  channels = streams.CHANNELS[_STREAM.value]
  model, optimizer, step_var = train_step.create_training_state(
      strategy, _NUM_CLASSES.value, _FINAL_ENDPOINT.value, channels,
      momentum=0.9, weight_decay=1e-7, seed=0)
  step = train_step.make_train_step(
      strategy, model, optimizer, step_var,
      lambda s: tf.constant(1e-3), global_batch, keep_prob=0.5, seed=0)

  shape = [_BATCH_SIZE.value, _NUM_FRAMES.value, _CROP_SIZE.value,
           _CROP_SIZE.value, channels]

  def dataset_fn(context):
    del context
    clips = tf.random.stateless_uniform(shape, [0, 1], -1., 1.)
    labels = tf.random.stateless_uniform([shape[0]], [0, 2], 0,
                                         _NUM_CLASSES.value, tf.int32)
    return tf.data.Dataset.from_tensors((clips, labels)).repeat()

  iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))
  print(f'Device: {_device_name()}; {replicas} replica(s) x '
        f'{_BATCH_SIZE.value} clips of {_NUM_FRAMES.value}x{_CROP_SIZE.value}x'
        f'{_CROP_SIZE.value}x{channels} ({_STREAM.value}), to '
        f'{_FINAL_ENDPOINT.value}; deterministic {_DETERMINISTIC.value}; TF '
        f'{tf.__version__}, TF_ENABLE_ONEDNN_OPTS='
        f'{os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")}')
  for i in range(_WARMUP.value):
    with timing.timed() as warm_up:
      float(step(iterator)[0])
    print(f'  warm-up step {i + 1}: {warm_up.wall_s:.2f} s')
  times = []
  cpu_times = []
  loads = [os.getloadavg()[0]]
  for i in range(_STEPS.value):
    with timing.timed() as timed_step:
      loss = float(step(iterator)[0])
    times.append(timed_step.wall_s)
    cpu_times.append(timed_step.cpu_s)
    loads.append(os.getloadavg()[0])
    print(f'  step {i + 1}: {times[-1]:.2f} s, process CPU time '
          f'{cpu_times[-1]:.2f} s (loss {loss:.3f})')
  median = statistics.median(times)
  print(f'Training step (global batch {global_batch}): median {median:.2f} s, '
        f'fastest {min(times):.2f} s over {len(times)} steps; '
        f'{global_batch / median:.3f} clips/s (median), '
        f'{global_batch / min(times):.3f} clips/s (fastest); process CPU time '
        f'{statistics.median(cpu_times):.1f} s per step (all threads); load '
        f'average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} '
        'CPUs.')


if __name__ == '__main__':
  app.run(main)
