"""Overlapping a producer of work items with their consumer.

The I3D tools (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New
Model and the Kinetics Dataset", CVPR 2017) decode, resize and scale clips
before the network sees them. `Prefetcher` runs the producing iterator in a
background thread, a bounded number of items ahead, so that this work
overlaps the model's instead of running in series with it. Decoding (PyAV),
resizing and numpy release the interpreter lock for their heavy parts, and
the model runs in TensorFlow's own threads, so one producer thread is enough
to hide them. While a producer runs, OpenCV runs on one thread
(`opencv_threads.single_threaded`): the model has the cores.

An exception raised by the producer is re-raised in the consumer, at the
`next()` that would have returned the item; closing the prefetcher (or
leaving its `with` block, for instance on Ctrl-C) stops the producer after
the item it is on, and never leaves a thread behind.
"""

import queue
import threading
from typing import Generic, Iterable, Iterator, Optional, TypeVar

from kinetics_i3d.utils import opencv_threads

T = TypeVar('T')

_END = object()  # Marks the end of the producer's items.


class _Failure:
  """Carries the producer's exception to the consumer."""

  def __init__(self, error: BaseException):
    self.error = error


class Prefetcher(Generic[T], Iterator[T]):
  """Iterates over `items`, produced up to `depth` items ahead in a thread.

  Use as a context manager (or call `close`) so that the producer stops when
  the consumer stops early:

    with Prefetcher(decoded_clips(paths), depth=2) as clips:
      for clip in clips:
        ...
  """

  def __init__(self, items: Iterable[T], depth: int = 2,
               name: str = 'prefetch'):
    """Starts producing.

    Args:
      items: The iterable to draw from; it is iterated in the background
        thread only.
      depth: How many produced items may wait for the consumer; at least 1.
        Memory held is bounded by `depth + 1` items (the waiting ones and
        the one being produced).
      name: The background thread's name (shown by debuggers and in
        `threading.enumerate()`).

    Raises:
      ValueError: If `depth` is below 1.
    """
    if depth < 1:
      raise ValueError(f'Prefetcher depth must be at least 1, got {depth}.')
    self._queue: 'queue.Queue[object]' = queue.Queue(maxsize=depth)
    self._stop = threading.Event()
    self._done = False
    self._thread = threading.Thread(
        target=self._produce, args=(iter(items),), name=name, daemon=True)
    self._thread.start()

  def _put(self, item: object) -> bool:
    """Puts `item` on the queue unless stopped; returns whether it did."""
    while not self._stop.is_set():
      try:
        self._queue.put(item, timeout=0.1)
        return True
      except queue.Full:
        continue
    return False

  def _produce(self, iterator: Iterator[T]) -> None:
    with opencv_threads.single_threaded():
      self._produce_all(iterator)

  def _produce_all(self, iterator: Iterator[T]) -> None:
    try:
      for item in iterator:
        if not self._put(item):
          return
      self._put(_END)
    except BaseException as error:  # pylint: disable=broad-except
      self._put(_Failure(error))
    finally:
      close = getattr(iterator, 'close', None)
      if close is not None:
        try:
          close()
        except Exception:  # pylint: disable=broad-except
          pass

  def __iter__(self) -> 'Prefetcher[T]':
    return self

  def __next__(self) -> T:
    if self._done:
      raise StopIteration
    item = self._queue.get()
    if item is _END:
      self._finish()
      raise StopIteration
    if isinstance(item, _Failure):
      self._finish()
      raise item.error
    return item  # type: ignore[return-value]

  def _finish(self) -> None:
    self._done = True
    self._thread.join()

  def close(self) -> None:
    """Stops the producer and waits for its thread to end."""
    self._done = True
    self._stop.set()
    # Unblock a producer waiting on a full queue; what it held is dropped.
    while True:
      try:
        self._queue.get_nowait()
      except queue.Empty:
        break
    self._thread.join()

  def __enter__(self) -> 'Prefetcher[T]':
    return self

  def __exit__(self, *unused_exc_info: object) -> Optional[bool]:
    self.close()
    return None
