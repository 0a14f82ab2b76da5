"""OpenCV on one thread while a background producer feeds the model.

The I3D tools (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New
Model and the Kinetics Dataset", CVPR 2017) resize frames with OpenCV in a
thread that runs beside the network, which already keeps every core busy.
OpenCV's own parallel loops then only add thread hand-offs: on 2 cores its
default cost about a third more CPU time per clip than one thread, time the
model loses. `single_threaded()` sets OpenCV's thread count (a setting of the
whole process) to 1 while any producer runs and restores it when the last
one ends; OpenCV's results do not depend on its thread count.
"""

import contextlib
import threading
from typing import Iterator

import cv2

_lock = threading.Lock()
_active = 0  # Producers running; guarded by _lock.
_saved_threads = 0  # cv2.getNumThreads() before the first one started.


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
  """OpenCV runs on one thread inside the block (and any overlapping one).

  Blocks may overlap in different threads: the setting made before the
  first is restored when the last one ends.

  Yields:
    Nothing.
  """
  global _active, _saved_threads
  with _lock:
    if _active == 0:
      _saved_threads = cv2.getNumThreads()
      cv2.setNumThreads(1)
    _active += 1
  try:
    yield
  finally:
    with _lock:
      _active -= 1
      if _active == 0:
        cv2.setNumThreads(_saved_threads)
