"""pytest configuration shared by the test modules."""

import logging as python_logging

import pytest

from kinetics_i3d.utils import cpu_kernels

# Before TensorFlow is first imported in the test process, as the tools do
# for their own runs: TensorFlow turns oneDNN on by default only on CPUs
# with AVX-512 (or newer); elsewhere Eigen's gradient of the 7x7x7 stride-2
# stem convolution is far slower (README, "oneDNN"), and training tests
# compare the training tool's subprocess runs against gradients computed in
# this process, which must use the same kernels.
cpu_kernels.enable_onednn()


def pytest_collection_modifyitems(items):
  # tf.test.TestCase inherits `test_session`, a deprecated context manager
  # that pytest collects and reports as skipped; it is not one of our tests.
  items[:] = [item for item in items if item.name != 'test_session']


# The logging set-up the process started with (absl's logger level included:
# tf.saved_model.save sets it to WARNING, and a test class may save in its
# setUpClass, before any per-test fixture runs).
_ABSL_LEVEL_AT_START = python_logging.getLogger('absl').level


@pytest.fixture(autouse=True)
def _absl_logger_level_as_at_start():
  """Each test sees absl's INFO lines as a fresh process would."""
  python_logging.getLogger('absl').setLevel(_ABSL_LEVEL_AT_START)
  yield
