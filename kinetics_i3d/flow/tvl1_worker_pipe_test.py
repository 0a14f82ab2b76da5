"""Tests of `tvl1_worker_pipe`: plain arrays only, between caller and worker.

(The TF TV-L1 worker of I3D's flow stream, Carreira & Zisserman, CVPR 2017.)
"""

import io

from absl.testing import absltest
import numpy as np

from kinetics_i3d.flow import tvl1_worker_pipe


class PipeTest(absltest.TestCase):

  def test_arrays_round_trip(self):
    arrays = [np.arange(12, dtype=np.uint8).reshape(3, 4),
              np.linspace(0, 1, 6, dtype=np.float32).reshape(1, 2, 3)]
    stream = io.BytesIO()
    tvl1_worker_pipe.write_arrays(stream, arrays)
    stream.seek(0)
    for array in arrays:
      got = tvl1_worker_pipe.read_array(stream)
      self.assertEqual(got.dtype, array.dtype)
      np.testing.assert_array_equal(got, array)
    self.assertIsNone(tvl1_worker_pipe.read_array(stream))

  def test_pickled_objects_are_refused(self):
    stream = io.BytesIO()
    np.save(stream, np.array([{'a': 1}], dtype=object), allow_pickle=True)
    stream.seek(0)
    with self.assertRaisesRegex(ValueError, 'allow_pickle'):
      tvl1_worker_pipe.read_array(stream)

  def test_headers_round_trip(self):
    header = {'spec': {'height': 24}, 'cache': None}
    self.assertEqual(tvl1_worker_pipe.decode_header(
        tvl1_worker_pipe.encode_header(header)), header)


if __name__ == '__main__':
  absltest.main()
