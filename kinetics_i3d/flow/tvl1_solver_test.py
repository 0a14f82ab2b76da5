"""Tests of tvl1_solver: OpenCV's stopping rule, decided exactly.

(The TensorFlow TV-L1 of I3D's flow stream: Carreira & Zisserman, "Quo
Vadis, Action Recognition?", CVPR 2017.) The float64 shortcut must give the
sequential float32 sum's verdict wherever it claims one, and the flow must
not change when every decision is left to the sequential sum.
"""

from unittest import mock

import numpy as np
import tensorflow as tf

from kinetics_i3d.flow import tvl1_float32
from kinetics_i3d.flow import tvl1_programs
from kinetics_i3d.flow import tvl1_solver
from kinetics_i3d.flow import tvl1_tf
from kinetics_i3d.flow import tvl1_tf_test


class StoppingRuleTest(tf.test.TestCase):

  def test_stopping_decision_equals_sequential_sum(self):
    # Float32 running sums of many terms, and thresholds just around them:
    # the float64 shortcut must give the sequential sum's verdict wherever
    # it claims to, and leave only the thresholds near a sum to it.
    rng = np.random.default_rng(4)
    terms = rng.random((3, 50, 60)).astype(np.float32)
    seq = tvl1_float32.sequential_sum(tf.constant(terms)).numpy()
    exact = terms.astype(np.float64).sum(axis=(1, 2))
    ambiguous_count = 0
    for eps in (seq[0], np.nextafter(seq[0], np.float32(0)),
                np.nextafter(seq[0], np.float32(np.inf)),
                np.float32(exact[1] * 0.5), np.float32(exact[1] * 2)):
      above, ambiguous = (x.numpy() for x in tvl1_solver.classify_error(
          tf.constant(exact), np.float32(eps), 50 * 60))
      decided = np.where(ambiguous, seq > np.float32(eps), above)
      self.assertAllEqual(decided, seq > np.float32(eps))
      ambiguous_count += int(ambiguous.any())
    self.assertEqual(ambiguous_count, 3)  # Only the thresholds near a sum.

  def test_exact_sum_path_gives_the_same_flow(self):
    # Every stopping decision left to the sequential float32 sum (the
    # compiled loop exits after each iteration and the caller decides)
    # gives the flow the float64 shortcut gave.
    first, second, ours, _ = tvl1_tf_test.synthetic_batch()
    classify = tvl1_solver.classify_error
    exits = []

    def always_ambiguous(error64, scaled_eps, num_pixels):
      above, _ = classify(error64, scaled_eps, num_pixels)
      exits.append(1)
      return above, tf.ones_like(above)

    # In this process (the patch does not reach a worker process): plain
    # kernels, the same loops as the XLA path without the fusion.
    with mock.patch.object(tvl1_solver, 'classify_error', always_ambiguous), \
         mock.patch.dict(tvl1_programs._FUNCTIONS, clear=True):
      flow = tvl1_tf.compute_flow_batch(first[:1], second[:1],
                                        jit_compile=False)
    self.assertNotEmpty(exits)  # Traced with the patched rule.
    self.assertAllEqual(flow, ours[:1])


if __name__ == '__main__':
  tf.test.main()
