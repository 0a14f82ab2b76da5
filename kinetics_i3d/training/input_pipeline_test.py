"""Tests for input_pipeline.py: clips, flips and replica batches for I3D.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.) Cached
arrays are written here with known pixels; expected values follow the
paper's scaling and the pipeline's stated (seed, step, slot) contract.
"""

import os

import numpy as np
import tensorflow as tf

from kinetics_i3d.training import clip_cache
from kinetics_i3d.training import input_pipeline
from kinetics_i3d.training import train_data_test

_tempdir = train_data_test.tempdir


class ModelInputTest(tf.test.TestCase):

  def test_flow_input_scale(self):
    # The paper's 8-bit storage: level q is (q / 255 - 0.5) * 40 pixels, and
    # the model sees pixels / 20.
    clip = np.array([0, 255, 51], np.uint8).reshape(1, 1, 3, 1) * np.ones(
        (1, 1, 1, 2), np.uint8)
    self.assertAllClose(
        input_pipeline.to_model_input(clip, 'flow', flip=False)[0, 0, :, 0],
        [-1., 1., -0.6])

  def test_flip_negates_x_flow_only(self):
    clip = np.random.default_rng(1).integers(1, 256, (2, 3, 4, 2)).astype(
        np.uint8)
    plain = input_pipeline.to_model_input(clip, 'flow', flip=False)
    flipped = input_pipeline.to_model_input(clip, 'flow', flip=True)
    for t in range(2):
      for y in range(3):
        for x in range(4):
          mirror = plain[t, y, 3 - x]
          self.assertAllClose(flipped[t, y, x], [-mirror[0], mirror[1]])

  def test_rgb_input_range_and_flip(self):
    clip = np.array([[[[0, 0, 0], [255, 255, 255]]]], np.uint8)
    self.assertAllClose(
        input_pipeline.to_model_input(clip, 'rgb', flip=False),
        [[[[-1, -1, -1], [1, 1, 1]]]])
    self.assertAllClose(
        input_pipeline.to_model_input(clip, 'rgb', flip=True),
        [[[[1, 1, 1], [-1, -1, -1]]]])


class SamplingTest(tf.test.TestCase):

  def test_train_clip_loops_short_videos(self):
    array = np.arange(3)[:, None, None, None] * np.ones((3, 4, 5, 1), np.uint8)
    clip, _ = input_pipeline.train_clip(array, 7, 4, np.random.default_rng(0))
    self.assertEqual(clip.shape, (7, 4, 4, 1))
    self.assertAllEqual(clip[:, 0, 0, 0], [0, 1, 2, 0, 1, 2, 0])

  def test_eval_clip_is_centred(self):
    array = np.zeros((10, 8, 12, 1), np.uint8)
    array[:, 2:6, 4:8] = 1
    array[3:7, 0, 0] = 2  # Mark the frames of the centre window.
    clip = input_pipeline.eval_clip(array, 4, 4)
    self.assertEqual(clip.shape, (4, 4, 4, 1))
    self.assertTrue(np.all(clip == 1))
    self.assertLen(input_pipeline.eval_clip(array, 0, 4), 10)
    self.assertLen(input_pipeline.eval_clip(array[:3], 0, 4, min_frames=9), 9)

  def test_each_epoch_visits_every_video_once(self):
    examples = list(range(7))
    seen = [
        input_pipeline.train_example(examples, step, slot, 3, seed=5)
        for step in range(7) for slot in range(3)
    ]
    for epoch in range(3):
      self.assertCountEqual(seen[epoch * 7:(epoch + 1) * 7], examples)
    self.assertNotEqual(seen[:7], seen[7:14])  # Reshuffled per epoch.

  def test_replica_pipelines_partition_the_global_batch(self):
    root = _tempdir(self)
    cached = []
    for i in range(5):
      path = os.path.join(root, f'{i}.npy')
      np.save(path, np.full((4, 6, 6, 3), 10 * i, np.uint8))
      cached.append(clip_cache.CachedExample(f'video{i}', i, path))

    def batches(replica_ids, start, deterministic=False):
      dataset = input_pipeline.train_dataset(cached, 'rgb', 3, 4, 2, 2,
                                         replica_ids, start, 3, seed=1,
                                         deterministic=deterministic)
      return [(c.numpy(), l.numpy()) for c, l in dataset]

    both = batches([0, 1], 0)
    # The deterministic pipeline's options change nothing in the clips.
    for a, b in zip(both, batches([0, 1], 0, deterministic=True)):
      self.assertAllEqual(a[0], b[0])
      self.assertAllEqual(a[1], b[1])
    self.assertLen(both, 6)  # 3 steps x 2 replicas.
    first, second = batches([0], 0), batches([1], 0)
    for step in range(3):
      self.assertAllEqual(both[2 * step][1], first[step][1])
      self.assertAllEqual(both[2 * step + 1][1], second[step][1])
      self.assertAllEqual(both[2 * step + 1][0], second[step][0])
    # Starting later gives the same clips for the same steps.
    resumed = batches([0, 1], 1)
    for a, b in zip(both[2:], resumed):
      self.assertAllEqual(a[0], b[0])
    # Labels follow the videos: video i holds pixel value 10 i - 127.5 ...
    for clips, labels in both:
      pixel = (clips[:, 0, 0, 0, 0] + 1.) * 127.5
      self.assertAllClose(pixel, 10. * labels, atol=1e-3)


if __name__ == '__main__':
  tf.test.main()
