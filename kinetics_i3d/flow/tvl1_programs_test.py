"""Tests of tvl1_programs: compiled programs, batches and devices.

(The TensorFlow TV-L1 of I3D's flow stream: Carreira & Zisserman, "Quo
Vadis, Action Recognition?", CVPR 2017.) A GPU's batches are split at
MAX_PAIRS_PER_CALL and give every pair exactly the flow it gets alone,
XLA's iterations equal the plain kernels', and running out of device memory
names a smaller batch.
"""

from unittest import mock

import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_params
from kinetics_i3d.flow import tvl1_programs
from kinetics_i3d.flow import tvl1_remap
from kinetics_i3d.flow import tvl1_resize
from kinetics_i3d.flow import tvl1_tf
from kinetics_i3d.flow import tvl1_tf_test
from kinetics_i3d.flow import tvl1_tf_worker

_H, _W = tvl1_tf_test.H, tvl1_tf_test.W


class ProgramsTest(tf.test.TestCase):

  def test_xla_check_is_independent_of_its_data(self):
    rng = np.random.default_rng(5)
    a, b, c = (rng.standard_normal(1000).astype(np.float32) for _ in range(3))
    fused = tf.function(lambda a, b, c: a * b + c, jit_compile=True)
    same = np.array_equal(fused(a, b, c).numpy(), a * b + c)
    self.assertEqual(tvl1_programs.xla_keeps_float_rounding(), same)

  def test_gpu_batches_are_split_and_give_each_pair_its_iterations(self):
    # With a GPU the pairs go to the batched graph in chunks of at most
    # MAX_PAIRS_PER_CALL (remap_cubic's int32 indices rely on it); the
    # GPU is faked, so the chunks run on this CPU. A chunk of 3 pairs gives
    # each its own iterations: the flow each gets alone (on a CPU
    # compute_flow_batch ran them one per call).
    first, second, ours, _ = tvl1_tf_test.synthetic_batch()
    jit = tvl1_programs.default_jit_compile()
    compiled = tvl1_programs.compiled
    sizes = []

    def recording(*args):
      fn = compiled(*args)

      def run(a, b):
        sizes.append(int(a.shape[0]))
        return fn(a, b)
      return run

    gpu = lambda kind: ['GPU:0'] if kind == 'GPU' else []
    with mock.patch.object(tvl1_remap, 'MAX_PAIRS_PER_CALL', 3), \
         mock.patch.object(tvl1_programs, 'compiled', recording), \
         mock.patch.object(tf.config, 'list_logical_devices', gpu):
      flow = tvl1_tf.compute_flow_batch(first, second, jit_compile=jit)
    self.assertEqual(sizes, [3, 1])
    self.assertAllEqual(flow, ours)

  def test_xla_iterations_equal_plain_kernels(self):
    # XLA in the worker process (with its flag), plain kernels here.
    first, second, _, _ = tvl1_tf_test.synthetic_batch()
    with_xla = tvl1_tf.compute_flow_batch(first[2:3], second[2:3],
                                          jit_compile=True)
    worker = tvl1_tf_worker.worker(tvl1_params.DEFAULT_PARAMS.to_dict(),
                                   _H, _W, tvl1_resize.resize_arithmetic())
    self.assertTrue(worker.jit_compile)
    without = tvl1_tf.compute_flow_batch(first[2:3], second[2:3],
                                         jit_compile=False)
    self.assertAllEqual(with_xla, without)

  def test_out_of_memory_names_smaller_batch(self):
    def fail(*unused):
      raise tf.errors.ResourceExhaustedError(None, None, 'OOM')
    key = (tvl1_params.DEFAULT_PARAMS, 8, 8, False,
           tvl1_resize.resize_arithmetic())
    with mock.patch.dict(tvl1_programs._FUNCTIONS, {key: fail}):
      with self.assertRaisesRegex(tvl1_tf.FlowOutOfMemoryError,
                                  'batch_size=2'):
        tvl1_tf.compute_flow_batch(np.zeros((4, 8, 8), np.uint8),
                                   np.ones((4, 8, 8), np.uint8),
                                   jit_compile=False)


if __name__ == '__main__':
  tf.test.main()
