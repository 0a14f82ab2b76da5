"""Tests for windows.py: window starts and streamed windows (I3D, CVPR 2017)."""

from typing import Iterable, List, Tuple
import weakref

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

import i3d
from kinetics_i3d.features import fixtures
from kinetics_i3d.features import settings
from kinetics_i3d.features import windows


def _windows(frames: Iterable[np.ndarray], window: int, stride: int,
             cover_tail: bool = True) -> List[Tuple[int, np.ndarray]]:
  """Every (start, clip) a `Windower` gives for `frames`, pushed one by one."""
  windower = windows.Windower(window, stride, cover_tail)
  done = []
  for frame in frames:
    done.extend(windower.push(frame))
  return done + windower.finish()


class WindowTest(parameterized.TestCase):

  @parameterized.parameters(
      # (frames, window, stride, cover_tail, expected starts)
      (10, 4, 3, True, [0, 3, 6]),
      (11, 4, 3, True, [0, 3, 6, 7]),
      (11, 4, 3, False, [0, 3, 6]),
      (4, 4, 2, True, [0]),
      (20, 4, 8, True, [0, 8, 16]),
      (21, 4, 8, True, [0, 8, 16, 17]),
      (21, 4, 8, False, [0, 8, 16]),
      (3, 4, 1, True, []),
  )
  def test_window_starts(self, num_frames, window, stride, cover_tail,
                         expected):
    frames = np.zeros((num_frames, 1, 1, 1), np.float32)
    if expected:
      got = _windows(frames, window, stride, cover_tail)
      self.assertEqual([start for start, _ in got], expected)
    else:
      # Shorter than the window, and than a window set this small.
      with self.assertRaisesRegex(settings.ExtractionError,
                                  'fewer than --window'):
        _windows(frames, window, stride, cover_tail)
    # The oracle the other tests use.
    self.assertEqual(
        fixtures.window_starts(num_frames, window, stride, cover_tail),
        expected)

  @parameterized.product(num_frames=[5, 9, 13, 30], window=[1, 4, 5],
                         stride=[1, 3, 4, 7], cover_tail=[True, False])
  def test_streamed_windows_are_the_slices(self, num_frames, window, stride,
                                           cover_tail):
    frames = np.arange(num_frames, dtype=np.float32).reshape(-1, 1, 1, 1)
    got = _windows(frames, window, stride, cover_tail)
    expected = fixtures.window_starts(num_frames, window, stride, cover_tail)
    self.assertEqual([start for start, _ in got], expected)
    for start, clip in got:
      np.testing.assert_array_equal(clip, frames[start:start + window])

  def test_buffer_stays_one_window(self):
    windower = windows.Windower(window=8, stride=3)
    pushed = []
    most = 0
    for t in range(1000):
      frame = np.full((2, 2, 1), t, np.float32)
      pushed.append(weakref.ref(frame))
      windower.push(frame)
      del frame
      most = max(most, sum(ref() is not None for ref in pushed[-20:]))
    self.assertLessEqual(most, 9)
    self.assertLen(windower.finish(), 1)  # 1000 - 8 is not a multiple of 3.

  def test_whole_video_window(self):
    frames = np.arange(7, dtype=np.float32).reshape(-1, 1, 1, 1)
    ((start, clip),) = _windows(frames, 0, 0)
    self.assertEqual(start, 0)
    np.testing.assert_array_equal(clip, frames)

  def test_windows_are_made_by_the_given_stack(self):
    # Regular windows, the tail window, and a stream shorter than a window.
    frames = np.arange(11, dtype=np.float32).reshape(-1, 1, 1, 1)
    for count, window, want in [(11, 4, [(0, 4), (4, 8), (7, 11)]),
                                (11, 16, [(0, 11)])]:
      windower = windows.Windower(
          window, 4, stack=lambda held: ('made', [int(f[0, 0, 0]) for f in
                                                  held]))
      got = []
      for frame in frames[:count]:
        got.extend(windower.push(frame))
      got.extend(windower.finish())
      self.assertEqual(got, [(first, ('made', list(range(first, end))))
                             for first, end in want])

  def test_too_short_names_the_flag(self):
    frames = np.zeros((5, 1, 1, 1), np.float32)
    with self.assertRaisesRegex(settings.ExtractionError,
                                r'5 frames.*--window=8.*smaller --window'):
      _windows(frames, 8, 8)
    with self.assertRaisesRegex(settings.ExtractionError, 'no frames'):
      _windows([], 8, 8)

  def test_stream_shorter_than_the_window_is_one_window(self):
    frames = np.arange(10, dtype=np.float32).reshape(-1, 1, 1, 1)
    windower = windows.Windower(window=16, stride=16)
    for frame in frames:
      self.assertEqual(windower.push(frame), [])
    ((start, clip),) = windower.finish()
    self.assertEqual(start, 0)
    np.testing.assert_array_equal(clip, frames)
    self.assertTrue(windower.shorter_than_window)
    # Down to the network's minimum, and no further.
    self.assertEqual(i3d.min_num_frames(), 9)
    self.assertEqual(windows.min_window_frames(64), 9)
    self.assertEqual(windows.min_window_frames(4), 4)
    self.assertEqual(windows.min_window_frames(0), 1)
    self.assertLen(_windows(frames[:9], 64, 64), 1)
    with self.assertRaisesRegex(settings.ExtractionError,
                                r'8 frames.*at least 9 frames.*--window=64'):
      _windows(frames[:8], 64, 64)

  def test_full_windows_are_not_marked(self):
    windower = windows.Windower(window=4, stride=4)
    for t in range(8):
      windower.push(np.full((1, 1, 1), t, np.float32))
    self.assertEqual(windower.finish(), [])
    self.assertFalse(windower.shorter_than_window)


if __name__ == '__main__':
  absltest.main()
