"""The inputs of a list of videos, made in one thread ahead of the network.

Feature extraction with I3D (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017) alternates
decoding (and TV-L1 flow) with the network's forward passes. `InputStream`
makes the next video's first batch while the network runs on this one's
last, so that neither waits for the other.
"""

from typing import Callable, Iterator, NamedTuple, Optional, Sequence

from kinetics_i3d.features import frame_sources
from kinetics_i3d.features import inputs as inputs_lib
from kinetics_i3d.features import settings
from kinetics_i3d.utils import prefetch


class _Event(NamedTuple):
  """What `InputStream`'s thread hands over: one batch of one video."""
  index: int  # In the list of videos.
  inputs: Optional[frame_sources.VideoInputs]  # None if not made.
  batch: Optional[frame_sources.InputBatch]  # None: no (more) batches.
  last: bool  # The video's last event.
  error: Optional[Exception] = None  # Raised where the batch would be.


class InputStream:
  """The inputs of a list of videos, made in one thread ahead of the model.

  While the network runs on one video's last batch, the thread decodes and
  windows the next video's first (it reads one batch ahead to know which is
  last). Ask for the videos in list order (`inputs`); the rest of a video
  not fully read is dropped, and a video the thread did not make (`wanted`
  said no) gets None. Use as a context manager.
  """

  def __init__(self, items: Sequence[inputs_lib.VideoItem],
               config: settings.ExtractionConfig,
               wanted: Callable[[inputs_lib.VideoItem], bool]):
    """Starts making inputs.

    Args:
      items: The videos, in the order they will be asked for.
      config: The settings.
      wanted: Whether the thread should make a video's inputs (False for a
        video that will be skipped).
    """
    self._events = prefetch.Prefetcher(
        self._produce(items, config, wanted), depth=1, name='features-inputs')
    self._head: Optional[_Event] = None

  @staticmethod
  def _produce(items: Sequence[inputs_lib.VideoItem],
               config: settings.ExtractionConfig,
               wanted: Callable[[inputs_lib.VideoItem], bool]
              ) -> Iterator[_Event]:
    for index, item in enumerate(items):
      if not wanted(item):
        continue
      inputs = None
      try:
        inputs = frame_sources.prepare_inputs(item, config)
        batches = iter(inputs.batches)
        batch = next(batches, None)
        while True:
          following = next(batches, None)
          yield _Event(index, inputs, batch, following is None)
          if following is None:
            break
          batch = following
      except Exception as e:  # pylint: disable=broad-except
        # Raised in the consumer, recorded as the video's failure there.
        yield _Event(index, inputs, None, True, e)

  def _peek(self) -> Optional[_Event]:
    if self._head is None:
      self._head = next(self._events, None)
    return self._head

  def _batches(self, index: int) -> Iterator[frame_sources.InputBatch]:
    while True:
      event = self._peek()
      if event is None or event.index != index:
        return
      self._head = None
      if event.error is not None:
        raise event.error
      if event.batch is not None:
        yield event.batch
      if event.last:
        return

  def inputs(self, index: int) -> Optional[frame_sources.VideoInputs]:
    """The inputs of video `items[index]`, or None if the thread skipped it."""
    while True:
      event = self._peek()
      if event is None or event.index > index:
        return None
      if event.index == index:
        break
      self._head = None  # The rest of a video not asked for, or cut short.
    made = event.inputs
    return frame_sources.VideoInputs(self._batches(index),
                                     made.windowers if made else {},
                                     made.info if made else {})

  def close(self) -> None:
    """Stops the thread; the inputs not yet read are dropped."""
    self._events.close()

  def __enter__(self) -> 'InputStream':
    return self

  def __exit__(self, *unused_exc_info: object) -> None:
    self.close()
