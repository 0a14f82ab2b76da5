"""Keeping the process's log level across calls into TensorFlow and converters.

`tf.saved_model.save`, used by the I3D exports (Carreira & Zisserman, "Quo
Vadis, Action Recognition?", CVPR 2017), sets absl's logger to WARNING and
leaves it there, which silences every later INFO line of the process
(progress, what a tool wrote). `kept_log_level` restores it.
"""

import contextlib
import logging as python_logging
from typing import Iterator


@contextlib.contextmanager
def kept_log_level() -> Iterator[None]:
  """Restores the level of absl's logger on exit."""
  logger = python_logging.getLogger('absl')
  level = logger.level
  try:
    yield
  finally:
    logger.setLevel(level)
