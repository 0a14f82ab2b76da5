"""Tests for input_stream.py: inputs made ahead of the network (I3D, 2017)."""

import os
import threading
from unittest import mock

from absl.testing import absltest
import numpy as np

from kinetics_i3d.features import batch_run
from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import fixtures
from kinetics_i3d.features import frame_sources
from kinetics_i3d.features import input_stream
from kinetics_i3d.features import inputs


class InputStreamTest(fixtures.SmallVideosTestCase):

  # v0 is one batch of windows: two windows of 16 in 20 frames.
  NUM_VIDEOS = 2

  def test_videos_not_wanted_get_none(self):
    folder = fixtures.new_tempdir(self)
    for name in ('a', 'b', 'c'):
      np.save(os.path.join(folder, f'{name}_rgb.npy'),
              np.zeros((20, 32, 32, 3), np.float32))
    items = inputs.resolve_inputs([folder])
    with input_stream.InputStream(items, self.config,
                                  lambda item: item.key != 'b') as stream:
      first = stream.inputs(0)
      self.assertIsNone(stream.inputs(1))
      last = stream.inputs(2)
      # A video not read before the next one is asked for is dropped.
      self.assertEqual(list(first.batches), [])
      batches = list(last.batches)
    self.assertLen(batches, 1)
    stream_name, spans, clips = batches[0]
    self.assertEqual((stream_name, spans), ('rgb', [(0, 16), (4, 16)]))
    self.assertEqual(clips.shape, (2, 16, 32, 32, 3))
    self.assertEqual(last.windowers['rgb'].count, 20)

  def test_next_video_is_decoded_while_the_model_runs(self):
    # v0 is one batch; the model's call on it waits for v1's first decoded
    # frame, which only a pipeline that decodes ahead delivers in time.
    next_decoded = threading.Event()
    original_sources = frame_sources._video_sources

    def spied_sources(path, config):
      frames, info = original_sources(path, config)

      def spied_frames():
        for stream_frame in frames:
          if path == self.videos[1]:
            next_decoded.set()
          yield stream_frame
      return spied_frames(), info

    extractor = extractor_lib.FeatureExtractor(self.config, {'rgb': self.model})
    original_features = extractor._checked_features
    overlapped = []

    def waiting_features(stream, clips):
      if not overlapped:
        overlapped.append(next_decoded.wait(timeout=60))
      return original_features(stream, clips)

    output_dir = fixtures.new_tempdir(self)
    items = inputs.resolve_inputs(self.videos)
    with mock.patch.object(frame_sources, '_video_sources', spied_sources), \
        mock.patch.object(extractor, '_checked_features', waiting_features):
      summary = batch_run.run(items, self.config, output_dir, extractor,
                              progress=False)
    self.assertEqual(summary.succeeded, len(self.videos))
    self.assertEqual(overlapped, [True])
    # The same features as one video extracted alone, in this thread.
    for item in items:
      alone = self.extractor.extract(item).features['rgb']
      np.testing.assert_array_equal(
          np.load(os.path.join(output_dir, f'{item.key}_rgb.npy')), alone)


if __name__ == '__main__':
  absltest.main()
