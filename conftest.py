"""pytest configuration shared by the test modules."""

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
