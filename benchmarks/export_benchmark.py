r"""Seconds per clip of I3D in this repository and in the exported runtimes.

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017.

In one run, on the same random 79-frame 224x224 RGB clip (batch 1) and the
public rgb_scratch weights:
  * model:     `i3d.InceptionI3d` in `tf.function` (TensorFlow's kernels;
               oneDNN unless TF_ENABLE_ONEDNN_OPTS=0);
  * fast:      `fast_inference.fold_batch_norm` (BatchNorm folded, 1x1x1
               branch convolutions merged), `tf.function`;
  * onnxruntime on the ONNX file of `i3d-export --format=onnx`;
  * openvino on the IR of `i3d-export --format=openvino` (float32);
timed round-robin (one call of each per repeat, after a warm-up call), so
that load from other processes affects them alike. Beside them: the sgemm
ceiling, the GFLOP/s of a large float32 matmul in TensorFlow, and the
s/clip the convolutions' 277.9 GFLOP would take at that rate. Each
runtime's max |logits - model's logits| is printed too.

Usage:
  python benchmarks/export_benchmark.py --repeats=5
"""

import os
import statistics
import tempfile
from typing import Callable, Dict, List, Sequence

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from kinetics_i3d import streams
from kinetics_i3d.exports import exporter
from kinetics_i3d.exports import onnx_file
from kinetics_i3d.exports import openvino_ir
from kinetics_i3d.inference import fast_inference
from kinetics_i3d.weights import checkpoints
import benchmark_flags  # Beside this script, as timing.py.
import timing  # benchmarks/timing.py, beside this script.

_REPEATS = benchmark_flags.define_repeats('runtime')
_NUM_FRAMES = benchmark_flags.define_num_frames()
_SGEMM_SIZE = benchmark_flags.define_sgemm_size(2048)
# --helpshort lists the shared flags with the script's own.
flags.adopt_module_key_flags(benchmark_flags)
_EXPORT_DIR = flags.DEFINE_string(
    'export_dir', None, 'Folder for the ONNX file and the IR (reused when '
    'present). Default: a temporary folder.')


def _sgemm_gflops(size: int, repeats: int) -> float:
  """Best GFLOP/s of a float32 [size, size] x [size, size] matmul."""
  a = tf.random.stateless_uniform([size, size], seed=[1, 2])
  b = tf.random.stateless_uniform([size, size], seed=[3, 4])
  matmul = tf.function(tf.linalg.matmul)
  matmul(a, b).numpy()
  best = float('inf')
  for _ in range(max(3, repeats)):
    with timing.timed() as spent:
      matmul(a, b).numpy()
    best = min(best, spent.wall_s)
  return 2 * size**3 / best / 1e9


def _runtimes(export_dir: str) -> Dict[str, Callable[[np.ndarray],
                                                     np.ndarray]]:
  """name -> (clip -> logits) for each runtime."""
  model = checkpoints.build_model('rgb_scratch')
  plain = tf.function(lambda x: model(x, is_training=False)[0])
  fast = fast_inference.fold_batch_norm(model, merge_branch_convs=True,
                                        mode='function')
  outputs = {}
  for name, filename in (('onnx', 'i3d.onnx'), ('openvino', 'i3d.xml')):
    outputs[name] = os.path.join(export_dir, filename)
    if not os.path.exists(outputs[name]):
      exporter.export('rgb_scratch', name, outputs[name])
  session = onnx_file.session(outputs['onnx'])
  compiled = openvino_ir.compile_ir(outputs['openvino'])
  return {
      'model': lambda x: plain(tf.constant(x)).numpy(),
      'fast': lambda x: fast(tf.constant(x))[0].numpy(),
      'onnxruntime': lambda x: session.run(['logits'], {'frames': x})[0],
      'openvino': lambda x: compiled({'frames': x})[compiled.output('logits')],
  }


def main(argv: Sequence[str]) -> None:
  del argv
  frames = _NUM_FRAMES.value
  flop = fast_inference.conv_flops(frames, streams.CROP, streams.CROP,
                                 streams.CHANNELS[streams.RGB])
  print(f'CPU: {timing.cpu_model()}, nproc {os.cpu_count()}, '
        f'{len(os.sched_getaffinity(0))} usable; load average '
        f'{", ".join(f"{x:.2f}" for x in os.getloadavg())}')
  print(f'TensorFlow {tf.__version__}, oneDNN opts '
        f'{os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")}')
  gflops = _sgemm_gflops(_SGEMM_SIZE.value, _REPEATS.value)
  print(f'sgemm ceiling ({_SGEMM_SIZE.value}^2, TensorFlow): {gflops:.1f} '
        f'GFLOP/s; the {flop / 1e9:.1f} GFLOP of a {frames}-frame clip\'s '
        f'convolutions at that rate: {flop / gflops / 1e9:.3f} s/clip')

  tf.get_logger().setLevel('ERROR')
  with tempfile.TemporaryDirectory() as scratch:
    runtimes = _runtimes(_EXPORT_DIR.value or scratch)
    clip = np.random.default_rng(0).uniform(
        -1., 1., (1, frames, streams.CROP, streams.CROP,
                   streams.CHANNELS[streams.RGB])).astype(np.float32)
    logits = {name: run(clip) for name, run in runtimes.items()}  # Warm-up.
    wall: Dict[str, List[float]] = {name: [] for name in runtimes}
    loads = [os.getloadavg()[0]]
    for _ in range(_REPEATS.value):
      for name, run in runtimes.items():
        with timing.timed() as spent:
          run(clip)
        wall[name].append(spent.wall_s)
      loads.append(os.getloadavg()[0])

  print(f'\nbatch 1, {frames} frames; median of {_REPEATS.value} repeats '
        f'(min: fastest); 1-min load {min(loads):.1f}-{max(loads):.1f}')
  header = (f'{"runtime":<12} {"s/clip":>8} {"min":>7} {"GFLOP/s":>8} '
            f'{"x ceiling":>9} {"max|dlogits|":>12}')
  print(header)
  print('-' * len(header))
  for name, times in wall.items():
    median = statistics.median(times)
    rate = flop / median / 1e9
    diff = float(np.max(np.abs(logits[name] - logits['model'])))
    print(f'{name:<12} {median:8.3f} {min(times):7.3f} {rate:8.1f} '
          f'{rate / gflops:9.2f} {diff:12.1e}', flush=True)


if __name__ == '__main__':
  app.run(main)
