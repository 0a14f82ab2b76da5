"""Windows of frames: where they start, and cutting a stream into them.

I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017) takes clips of a fixed length; a long
video's features are those of windows of `window` frames every `stride`
frames, the last one moved back to end at the last frame (`cover_tail`). A
video shorter than the window is one window of all its frames, down to the
fewest frames the network takes (`i3d.min_num_frames()`).
"""

import collections
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

import i3d
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.features import settings


def min_window_frames(window: int) -> int:
  """Fewest frames a stream may have: the window, or the network's minimum.

  A stream shorter than `window` becomes one window of all its frames, as
  long as I3D takes a clip that short (`i3d.min_num_frames()`); a window set
  below that is its own minimum.

  Args:
    window: Frames per window; 0 for whole videos.

  Returns:
    The minimum number of frames (1 for `window` 0: any whole video).
  """
  if window == 0:
    return 1
  return min(window, i3d.min_num_frames())


def _too_short(what: str, num_frames: int, window: int,
               min_frames: int) -> settings.ExtractionError:
  fps = streams_lib.FPS
  seconds = f'{num_frames} frames at {fps:g} fps ({num_frames / fps:.2f} s)'
  if min_frames >= window:
    return settings.ExtractionError(
        f'{what} has {seconds}, fewer than --window={window}; use a smaller '
        '--window, or --window=0 for whole videos.')
  return settings.ExtractionError(
      f'{what} has {seconds}; I3D needs at least {min_frames} frames (a '
      f'video shorter than --window={window} is taken as one window of all '
      'its frames, but not below that).')


class Windower:
  """Cuts a stream of frames into windows, holding at most one window.

  Frames are pushed one at a time; completed windows come back from `push`
  and, for the tail window, from `finish`. Windows start every `stride`
  frames while a whole window fits; with `cover_tail`, a last one ends at
  the last frame if those leave frames uncovered. A stream shorter than the
  window (but not than `min_frames`) is one window of all its frames, and
  `shorter_than_window` is then True.
  """

  def __init__(self, window: int, stride: int, cover_tail: bool = True,
               what: str = 'the video', min_frames: Optional[int] = None,
               stack: Callable[[Sequence[np.ndarray]], Any] = np.stack):
    """Initializes an empty stream.

    Args:
      window: Frames per window; 0 for one window holding the whole stream
        (memory then grows with the stream).
      stride: Frames between window starts (> 0 when `window` > 0).
      cover_tail: Add a window ending at the last frame when the regular
        windows stop earlier.
      what: How to call the stream in errors.
      min_frames: Fewest frames the stream may have; None for
        `min_window_frames(window)`.
      stack: Makes one clip [T, H, W, C] of a window's frames (`np.stack`;
        `frame_sources` stacks tensors with `tf.stack`).

    Raises:
      ValueError: For a stride below 1 with windows.
    """
    if window > 0 and stride < 1:
      raise ValueError(f'stride must be >= 1, got {stride}.')
    self._window = window
    self._stride = stride
    self._cover_tail = cover_tail
    self._what = what
    self._min_frames = (min_window_frames(window) if min_frames is None
                        else min_frames)
    self._stack = stack
    # Invariant: the buffer holds frames [buffer_start, count).
    self._buffer = collections.deque()
    self._buffer_start = 0
    self._count = 0
    self._next_start = 0
    self._last_start = None
    self.shorter_than_window = False

  @property
  def count(self) -> int:
    """Frames pushed so far."""
    return self._count

  def _clip(self, start: int) -> np.ndarray:
    offset = start - self._buffer_start
    return self._stack([self._buffer[i] for i in range(offset,
                                                       offset + self._window)])

  def push(self, frame: np.ndarray) -> List[Tuple[int, np.ndarray]]:
    """Adds the next frame [H, W, C]; returns (start, clip) of windows done.

    Frames are held, not copied: with `stack` they may be any array type it
    takes (tensors for `tf.stack`).
    """
    self._buffer.append(frame)
    self._count += 1
    if self._window == 0:
      return []
    done = []
    if self._count - self._next_start == self._window:
      done.append((self._next_start, self._clip(self._next_start)))
      self._last_start = self._next_start
      self._next_start += self._stride
    # Drop frames neither the next regular window nor a tail window needs.
    # Until the first window is complete nothing is dropped, so a stream
    # shorter than the window is still whole at `finish`.
    keep_from = self._next_start
    if self._cover_tail:
      keep_from = min(keep_from, self._count - self._window)
    while self._buffer and self._buffer_start < keep_from:
      self._buffer.popleft()
      self._buffer_start += 1
    return done

  def finish(self) -> List[Tuple[int, np.ndarray]]:
    """Ends the stream; returns the remaining (tail or whole) window.

    Returns:
      (start, clip [T, H, W, C]) of the last window, if one is left.

    Raises:
      ExtractionError: If the stream is empty or shorter than `min_frames`.
    """
    if self._count == 0:
      raise settings.ExtractionError(f'{self._what} has no frames.')
    if self._count < self._min_frames:
      raise _too_short(self._what, self._count, self._window,
                       self._min_frames)
    if self._window == 0 or self._count < self._window:
      self.shorter_than_window = self._window > 0
      clip = self._stack(list(self._buffer))
      self._buffer.clear()
      return [(0, clip)]
    if self._cover_tail and self._last_start + self._window < self._count:
      return [(self._count - self._window,
               self._clip(self._count - self._window))]
    return []
