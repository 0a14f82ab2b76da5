"""Tests for containers.py: opening video files and reading their headers.

(I3D's inputs: Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR
2017.) Clips are encoded here with PyAV (helpers in decode_test.py); bad
files are refused in decode_test.py, where decoding meets them.
"""

from absl.testing import absltest

from kinetics_i3d.video import containers
from kinetics_i3d.video import decode_test

encode = decode_test.encode
index_frame = decode_test.index_frame


class HeaderTest(decode_test.TempDirTestCase):

  def test_source_fps_and_estimated_frames(self):
    path = encode(self.path('clip.avi'), [index_frame(i) for i in range(20)],
                  10, codec='mpeg4')
    self.assertAlmostEqual(containers.source_fps(path), 10.0)
    # 2 s at 25 fps; a clip of [0.5, 1.3) s is 0.8 s.
    self.assertEqual(containers.estimate_num_frames(path), 50)
    self.assertEqual(containers.estimate_num_frames(path, start_time=0.5,
                                                end_time=1.3), 20)
    self.assertIsNone(containers.source_fps(self.path('missing.avi')))
    self.assertIsNone(containers.estimate_num_frames(self.path('missing.avi')))


if __name__ == '__main__':
  absltest.main()
