"""Tests of exact chunked evaluation against the whole-clip pass.

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017. The network runs with random weights in
DeepMind's rgb_imagenet layout; the chunk plan is checked against the
model's own feature lengths and a receptive field counted by hand.
"""

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

import i3d
from kinetics_i3d.inference import chunked
from kinetics_i3d.testing import random_checkpoints

# The network the chunked passes run: random weights in rgb_imagenet's layout.
RANDOM_MODEL = ('rgb_imagenet', 7)


class ChunkPlanTest(parameterized.TestCase):

  def test_lengths_agree_with_the_model(self):
    for num_frames in range(9, 400):
      self.assertEqual(
          chunked.num_logit_steps(num_frames),
          i3d.feature_shape(num_frames, 224, 224,
                                            'Mixed_5c')[0] - 1)

  def test_receptive_field_width(self):
    # 2 pooled steps of Mixed_5c, 8 frames apart, each seeing 99 frames:
    # 1 + 6 + 2*2 + 2*2*2 + 2*2*4 + 5*2*4 + 4 + 2*2*8 = 99 (see
    # TEMPORAL_LAYERS), so 99 + 8 = 107.
    first, last = chunked.receptive_field(5, 1000)
    self.assertEqual(last - first + 1, 107)

  @parameterized.parameters(128, 160, 256, 512)
  def test_chunks_partition_steps_on_the_clip_grid(self, chunk_frames):
    for num_frames in list(range(9, 700, 3)) + [1499, 1500, 1501, 1502]:
      chunks = chunked.plan_chunks(num_frames, chunk_frames)
      num_steps = chunked.num_logit_steps(num_frames)
      self.assertEqual(chunks[0].first_step, 0)
      self.assertEqual(chunks[-1].stop_step, num_steps)
      self.assertEqual(chunks[-1].stop, num_frames)
      for before, after in zip(chunks, chunks[1:]):
        self.assertEqual(before.stop_step, after.first_step)
        self.assertLess(before.start, after.start)
      for chunk in chunks:
        length = chunk.stop - chunk.start
        self.assertLessEqual(length, chunk_frames if len(chunks) > 1 else
                             num_frames)
        self.assertEqual(chunk.start % 8, 0)
        # Same length modulo 4: same padding at the two strided layers
        # whose padding depends on parity, hence the same grid.
        self.assertEqual(length % 4, num_frames % 4)
        self.assertLess(chunk.first_step, chunk.stop_step)
        for step in (chunk.first_step, chunk.stop_step - 1):
          first, last = chunked.receptive_field(step, num_frames)
          self.assertGreaterEqual(max(first, 0), chunk.start)
          self.assertLess(min(last, num_frames - 1), chunk.stop)

  def test_short_clip_is_one_chunk(self):
    self.assertEqual(
        chunked.plan_chunks(79, 256),
        [chunked.Chunk(start=0, stop=79, first_step=0, stop_step=9)])

  def test_too_few_frames(self):
    with self.assertRaisesRegex(chunked.ChunkError,
                                'at least 9 frames, got 8'):
      chunked.plan_chunks(8, 256)

  def test_chunk_too_small(self):
    with self.assertRaisesRegex(chunked.ChunkError,
                                '--chunk_frames=100 is too small'):
      chunked.plan_chunks(300, 100)


class ChunkedLogitsTest(parameterized.TestCase):
  """Chunked evaluation against the whole-clip pass, on the real network."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls._model = random_checkpoints.model(*RANDOM_MODEL)

  def test_chunked_equals_whole_clip(self):
    num_frames, chunk_frames, pieces = 131, 120, (1, 7, 50, 3)
    rng = np.random.default_rng(num_frames)
    # Smooth in time, so that neighbouring steps differ as in real video.
    clip = np.cumsum(rng.normal(0., .1, (num_frames, 224, 224, 3)), axis=0)
    clip = np.clip(clip, -1., 1.).astype(np.float32)
    whole, _ = self._model(clip[None], is_training=False)
    whole = whole[0].numpy()
    self.assertGreater(np.abs(whole).max(), 1.)
    stream = chunked.StreamingLogits(self._model, num_frames,
                                             chunk_frames)
    self.assertGreater(len(stream.chunks), 1)
    start, index = 0, 0
    while start < num_frames:
      size = pieces[index % len(pieces)]
      stream.push(clip[start:start + size])
      start, index = start + size, index + 1
    np.testing.assert_allclose(stream.result(), whole, rtol=0, atol=1e-4)

  def test_incomplete_clip(self):
    stream = chunked.StreamingLogits(self._model, 300, 256)
    stream.push(np.zeros((20, 224, 224, 3), np.float32))
    with self.assertRaisesRegex(chunked.ChunkError,
                                'got 20 of the announced 300 frames'):
      stream.result()
    with self.assertRaisesRegex(chunked.ChunkError,
                                'more than the announced 300'):
      stream.push(np.zeros((281, 224, 224, 3), np.float32))

  def test_bad_values_name_the_input(self):
    clip = np.zeros((1, 10, 224, 224, 3), np.float32)
    clip[0, 3, 5, 5, 0] = np.nan
    with self.assertRaisesRegex(chunked.ChunkError,
                                'x_rgb.npy.*NaN'):
      chunked.clip_logits(self._model, clip, name='x_rgb.npy')


if __name__ == '__main__':
  absltest.main()
