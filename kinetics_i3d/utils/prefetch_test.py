"""Tests for `kinetics_i3d.utils.prefetch`."""

import threading
import time

from absl.testing import absltest
import cv2

from kinetics_i3d.utils import prefetch


class PrefetcherTest(absltest.TestCase):

  def test_yields_every_item_in_order(self):
    with prefetch.Prefetcher(iter(range(50)), depth=3) as items:
      self.assertEqual(list(items), list(range(50)))

  def test_opencv_runs_on_one_thread_while_the_producer_runs(self):
    before = cv2.getNumThreads()
    self.addCleanup(cv2.setNumThreads, before)
    cv2.setNumThreads(2)

    def threads_seen():
      yield cv2.getNumThreads()

    with prefetch.Prefetcher(threads_seen()) as items:
      self.assertEqual(list(items), [1])
    self.assertEqual(cv2.getNumThreads(), 2)

  def test_producer_runs_ahead_while_consumer_works(self):
    produced = []

    def slow_items():
      for i in range(4):
        time.sleep(0.05)
        produced.append(i)
        yield i

    start = time.monotonic()
    with prefetch.Prefetcher(slow_items(), depth=4) as items:
      for _ in items:
        time.sleep(0.05)  # The consumer's work, overlapped with production.
    elapsed = time.monotonic() - start
    # In series this takes 8 x 0.05 s; overlapped about 5 x 0.05 s.
    self.assertLess(elapsed, 0.35)
    self.assertEqual(produced, [0, 1, 2, 3])

  def test_holds_at_most_depth_items_ahead(self):
    produced = []

    def counted():
      for i in range(100):
        produced.append(i)
        yield i

    with prefetch.Prefetcher(counted(), depth=2) as items:
      self.assertEqual(next(items), 0)
      time.sleep(0.3)
      # One taken, two waiting, one being put: never the whole set.
      self.assertLessEqual(len(produced), 4)

  def test_producer_error_reaches_consumer_after_earlier_items(self):

    def failing():
      yield 1
      raise OSError('cannot read clip.mp4')

    items = prefetch.Prefetcher(failing())
    self.assertEqual(next(items), 1)
    with self.assertRaisesRegex(OSError, 'clip.mp4'):
      next(items)
    with self.assertRaises(StopIteration):
      next(items)

  def test_close_stops_producer_and_its_thread(self):
    closed = threading.Event()

    def endless():
      try:
        i = 0
        while True:
          yield i
          i += 1
      finally:
        closed.set()

    with prefetch.Prefetcher(endless(), depth=2, name='endless') as items:
      next(items)
    self.assertTrue(closed.wait(2))
    self.assertNotIn('endless', [t.name for t in threading.enumerate()])

  def test_exception_in_consumer_closes_producer(self):
    with self.assertRaises(KeyboardInterrupt):
      with prefetch.Prefetcher(iter(range(10**6)), name='interrupted') as it:
        next(it)
        raise KeyboardInterrupt
    self.assertNotIn('interrupted', [t.name for t in threading.enumerate()])

  def test_rejects_depth_below_one(self):
    with self.assertRaisesRegex(ValueError, 'depth'):
      prefetch.Prefetcher([], depth=0)


if __name__ == '__main__':
  absltest.main()
