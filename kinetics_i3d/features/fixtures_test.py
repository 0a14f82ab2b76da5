"""Tests for fixtures.py: the feature tests' inputs (I3D, CVPR 2017)."""

import os

from absl.testing import absltest
import av

from kinetics_i3d.features import fixtures
from kinetics_i3d.features import storage


class FixturesTest(absltest.TestCase):

  def test_video_has_the_frames_asked_for(self):
    path = fixtures.make_video(
        os.path.join(fixtures.new_tempdir(self), 'v.mp4'), 12, 32, 40)
    with av.open(path) as container:
      frames = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
    self.assertLen(frames, 12)
    self.assertEqual(frames[0].shape, (32, 40, 3))

  def test_models_and_checkpoints_are_built_once(self):
    self.assertIs(fixtures.random_model('Mixed_3b'),
                  fixtures.random_model('Mixed_3b'))
    prefix = fixtures.make_test_checkpoint('rgb_scratch')
    self.assertEqual(fixtures.make_test_checkpoint('rgb_scratch'), prefix)
    self.assertTrue(os.path.exists(prefix + '.index'))

  def test_storage_conformance_check(self):
    fixtures.assert_implements_storage(self, storage.LocalStorage())
    with self.assertRaises(AssertionError):
      fixtures.assert_implements_storage(self, object())


if __name__ == '__main__':
  absltest.main()
