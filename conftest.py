"""pytest configuration shared by the test modules."""

import logging as python_logging
import os

import pytest

from kinetics_i3d.utils import cpu_kernels

# Before TensorFlow is first imported in the test process, as the tools do
# for their own runs: TensorFlow turns oneDNN on by default only on CPUs
# with AVX-512 (or newer); elsewhere Eigen's gradient of the 7x7x7 stride-2
# stem convolution is hundreds of times slower (about 15 s instead of 0.1 s
# for a training step here), and training tests compare the training tool's
# subprocess runs against gradients computed in this process, which must use
# the same kernels.
cpu_kernels.enable_onednn()


def pytest_collection_modifyitems(items):
  # tf.test.TestCase inherits `test_session`, a deprecated context manager
  # that pytest collects and reports as skipped; it is not one of our tests.
  items[:] = [item for item in items if item.name != 'test_session']


def _logging_state():
  """What a test could leave changed in Python's logging set-up."""
  root = python_logging.getLogger()
  return (root.level, tuple(root.handlers), python_logging.root.manager.disable,
          python_logging.getLogger('absl').level,
          python_logging.getLogger('absl').propagate)


@pytest.fixture(autouse=True)
def _restore_logging():
  """Gives each test the logging set-up it started with.

  Tests that assert on log records (`assertLogs`) must not depend on what an
  earlier test in the same process did to the logging set-up (a tool run
  in-process installs absl's handler; libraries adjust levels).
  """
  before = _logging_state()
  yield
  after = _logging_state()
  if after != before:
    root = python_logging.getLogger()
    root.setLevel(before[0])
    root.handlers[:] = list(before[1])
    python_logging.disable(before[2])
    python_logging.getLogger('absl').setLevel(before[3])
    python_logging.getLogger('absl').propagate = before[4]
    log = os.environ.get('I3D_TEST_LOGGING_LEAKS')
    if log:
      with open(log, 'a') as f:
        f.write(f'{os.environ.get("PYTEST_CURRENT_TEST")}: {before} -> '
                f'{after}\n')
