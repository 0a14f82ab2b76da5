"""pytest configuration shared by the test modules."""


def pytest_collection_modifyitems(items):
  # tf.test.TestCase inherits `test_session`, a deprecated context manager
  # that pytest collects and reports as skipped; it is not one of our tests.
  items[:] = [item for item in items if item.name != 'test_session']
