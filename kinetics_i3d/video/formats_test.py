"""Tests for formats: one answer to 'is this a video?' for every tool."""

from absl.testing import parameterized
import tensorflow as tf

from kinetics_i3d.video import formats


class FormatsTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters('a.mp4', 'b/C.AVI', 'clip.ts', 'x.webm', 'y.gif')
  def test_videos(self, path):
    self.assertTrue(formats.is_video(path))
    self.assertFalse(formats.is_image(path))

  @parameterized.parameters('f.png', 'F.JPG', 'g.tiff')
  def test_images(self, path):
    self.assertTrue(formats.is_image(path))
    self.assertFalse(formats.is_video(path))

  @parameterized.parameters('videos.txt', 'a.LST', 'b.list')
  def test_lists(self, path):
    self.assertTrue(formats.is_list(path))

  @parameterized.parameters('notes.md', 'mp4', 'a.mp4.part', 'x_rgb.npy')
  def test_neither(self, path):
    self.assertFalse(formats.is_video(path) or formats.is_image(path) or
                     formats.is_list(path))

  def test_no_suffix_is_in_two_lists(self):
    lists = (formats.VIDEO_EXTENSIONS, formats.IMAGE_EXTENSIONS,
             formats.LIST_EXTENSIONS)
    every = [suffix for suffixes in lists for suffix in suffixes]
    self.assertLen(set(every), len(every))
    for suffix in every:
      self.assertEqual(suffix, suffix.lower())
      self.assertTrue(suffix.startswith('.'))

  @parameterized.parameters(('v_rgb.npy', 'rgb'), ('d/V_FLOW.npy', 'flow'),
                            ('_rgb.npy', None), ('v.npy', None),
                            ('v_rgb.npz', None))
  def test_sample_stream(self, path, stream):
    self.assertEqual(formats.sample_stream(path), stream)


if __name__ == '__main__':
  tf.test.main()
