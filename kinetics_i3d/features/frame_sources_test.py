"""Tests for frame_sources.py: one video's network inputs (I3D, CVPR 2017).

Bad pre-made inputs fail with one line naming the file and a remedy, before
any network runs.
"""

import os
import re

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from kinetics_i3d import streams as streams_lib
from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import fixtures
from kinetics_i3d.features import frame_sources
from kinetics_i3d.features import inputs
from kinetics_i3d.features import settings
from kinetics_i3d.video import sample_arrays

_WHOLE_CLIPS = settings.ExtractionConfig(window=0, pooling='clip')
_LOGITS = settings.ExtractionConfig(endpoint='Logits', pooling='logits',
                                    window=0)


def _prepare(path, config=_WHOLE_CLIPS):
  (item,) = inputs.resolve_inputs([path])
  return frame_sources.prepare_inputs(item, config)


class PremadeInputTest(tf.test.TestCase):

  def test_text_file_named_npy(self):
    path = os.path.join(fixtures.new_tempdir(self), 'notes_rgb.npy')
    with open(path, 'w') as f:
      f.write('not an array\n')
    with self.assertRaises(sample_arrays.SampleArrayError) as caught:
      _prepare(path)
    message = str(caught.exception)
    self.assertRegex(message, '^--inputs: ' + re.escape(path) +
                     r' is not a readable \.npy array')
    self.assertNotIn('pickle', message)
    self.assertNotIn('\n', message)

  def test_object_array(self):
    path = os.path.join(fixtures.new_tempdir(self), 'objects_rgb.npy')
    np.save(path, np.array([{}], dtype=object), allow_pickle=True)
    with self.assertRaisesRegex(sample_arrays.SampleArrayError,
                                '^--inputs: ' + re.escape(path) +
                                ' holds Python objects, which are never '
                                'unpickled'):
      _prepare(path)

  def test_missing_stream(self):
    path = os.path.join(fixtures.new_tempdir(self), 'clip_rgb.npy')
    np.save(path, np.zeros((10, 32, 32, 3), np.float32))
    flow = settings.ExtractionConfig(streams=('flow',), window=0,
                                     pooling='clip', flow_backend='opencv')
    with self.assertRaisesRegex(settings.ExtractionError,
                                r'clip_flow\.npy does not exist; the flow '
                                'stream needs it'):
      _prepare(path, flow)

  def test_logits_of_small_frames_say_what_to_do(self):
    path = os.path.join(fixtures.new_tempdir(self), 'small_rgb.npy')
    np.save(path, np.zeros((1, 10, 100, 100, 3), np.float32))
    with self.assertRaises(settings.ExtractionError) as caught:
      _prepare(path, _LOGITS)
    message = str(caught.exception)
    size = streams_lib.CROP
    self.assertRegex(message, '^' + re.escape(path) + ': the logits need '
                     f'{size}x{size} frames, got 100x100; .*i3d-preprocess.*'
                     '--endpoint=Mixed_5c')
    # An option of the library a command-line user cannot pass.
    self.assertNotIn('spatial_squeeze', message)
    # Feature endpoints take the same frames.
    features = extractor_lib.FeatureExtractor(
        _WHOLE_CLIPS, {'rgb': fixtures.random_model('Mixed_5c')})
    (item,) = inputs.resolve_inputs([path])
    self.assertEqual(features.extract(item).features['rgb'].shape,
                     (1, 1024))

  def test_premade_frames_in_order(self):
    path = os.path.join(fixtures.new_tempdir(self), 'ramp_rgb.npy')
    ramp = np.linspace(-1, 1, 20, dtype=np.float32)
    np.save(path, np.broadcast_to(ramp[None, :, None, None, None],
                                  (1, 20, 32, 32, 3)))
    prepared = _prepare(path, settings.ExtractionConfig(
        window=8, stride=8, pooling='clip', batch_size=4))
    self.assertIsNone(prepared.info['source_fps'])
    self.assertAlmostEqual(prepared.info['duration_s'], 20 / streams_lib.FPS)
    windows = {}
    for stream, spans, clips in prepared.batches:
      self.assertEqual(stream, 'rgb')
      for (start, length), clip in zip(spans, clips):
        windows[start] = clip[:, 0, 0, 0]
        self.assertEqual(length, 8)
    self.assertCountEqual(windows, [0, 8, 12])  # 12: the tail window.
    for start, values in windows.items():
      np.testing.assert_array_equal(values, ramp[start:start + 8])


if __name__ == '__main__':
  absltest.main()
