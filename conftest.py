"""pytest configuration shared by the test modules."""

# The TensorFlow TV-L1 keeps OpenCV's float32 rounding only if XLA compiles
# without fused multiply-adds, an XLA_FLAGS setting that XLA reads once, at
# its first use in the process; importing the module sets it. In one pytest
# process other tests use XLA first (i3d_test's jit_compile), so import it
# before any test runs. (A user's process imports it with the 'tf' backend.)
from kinetics_i3d.flow import tvl1_tf  # pylint: disable=unused-import


def pytest_collection_modifyitems(items):
  # tf.test.TestCase inherits `test_session`, a deprecated context manager
  # that pytest collects and reports as skipped; it is not one of our tests.
  items[:] = [item for item in items if item.name != 'test_session']
