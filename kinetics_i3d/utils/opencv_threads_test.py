"""Tests for `kinetics_i3d.utils.opencv_threads`."""

import threading

from absl.testing import absltest
import cv2

from kinetics_i3d.utils import opencv_threads


class SingleThreadedTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self._before = cv2.getNumThreads()
    self.addCleanup(cv2.setNumThreads, self._before)
    cv2.setNumThreads(3)  # A setting of the user's, to be restored.

  def test_one_thread_inside_and_the_setting_restored_after(self):
    with opencv_threads.single_threaded():
      self.assertEqual(cv2.getNumThreads(), 1)
    self.assertEqual(cv2.getNumThreads(), 3)

  def test_restored_after_an_error(self):
    with self.assertRaises(KeyError):
      with opencv_threads.single_threaded():
        raise KeyError('boom')
    self.assertEqual(cv2.getNumThreads(), 3)

  def test_overlapping_blocks_in_two_threads_restore_once_the_last_ends(self):
    first_inside, second_inside = threading.Event(), threading.Event()
    first_may_leave, first_left = threading.Event(), threading.Event()
    seen = {}

    def first():
      with opencv_threads.single_threaded():
        first_inside.set()
        first_may_leave.wait(10)
      first_left.set()

    thread = threading.Thread(target=first)
    thread.start()
    self.assertTrue(first_inside.wait(10))
    with opencv_threads.single_threaded():
      second_inside.set()
      first_may_leave.set()  # The first block ends while this one runs.
      self.assertTrue(first_left.wait(10))
      seen['after the first ended'] = cv2.getNumThreads()
    thread.join(10)
    seen['after both'] = cv2.getNumThreads()
    self.assertEqual(seen, {'after the first ended': 1, 'after both': 3})


if __name__ == '__main__':
  absltest.main()
