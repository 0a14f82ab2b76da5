"""Tests for streams.py: the two streams of I3D (Carreira & Zisserman 2017)."""

from absl.testing import absltest
from absl.testing import parameterized

from kinetics_i3d import streams


class StreamsTest(parameterized.TestCase):

  def test_the_papers_facts(self):
    # Section 3 of the paper: 25 fps, smaller side 256, 224 crops, TV-L1
    # flow truncated to [-20, 20]; RGB has 3 channels, flow (x, y) 2.
    self.assertEqual(streams.STREAMS, ('rgb', 'flow'))
    self.assertEqual(streams.CHANNELS, {'rgb': 3, 'flow': 2})
    self.assertEqual((streams.FPS, streams.RESIZE, streams.CROP,
                      streams.FLOW_BOUND), (25., 256, 224, 20.))

  @parameterized.parameters('rgb', 'flow')
  def test_check_stream(self, stream):
    self.assertEqual(streams.check_stream(stream), stream)

  def test_bad_stream_names_what_was_given(self):
    with self.assertRaisesRegex(
        ValueError, r"^--streams must be one of \('rgb', 'flow'\), got "
        r"'depth'\.$"):
      streams.check_stream('depth', '--streams')


if __name__ == '__main__':
  absltest.main()
