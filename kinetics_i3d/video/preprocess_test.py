"""Tests for preprocess.py: the names the tools import from it still work.

(I3D's inputs: Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR
2017.) Each step is tested beside the module that defines it: rgb_test.py,
flow_input_test.py, gifs_test.py, model_inputs_test.py, sample_writer_test.py.
"""

from absl.testing import absltest

from kinetics_i3d.video import decode
from kinetics_i3d.video import model_inputs
from kinetics_i3d.video import preprocess
from kinetics_i3d.video import rgb
from kinetics_i3d.video import sample_writer


class ReexportsTest(absltest.TestCase):

  def test_names_are_the_defining_modules_own(self):
    for name, defined in (
        ('PreprocessError', decode.PreprocessError),
        ('resize_smallest_side', rgb.resize_smallest_side),
        ('center_crop', rgb.center_crop),
        ('scale_rgb', rgb.scale_rgb),
        ('check_streams', model_inputs.check_streams),
        ('iter_model_input_frames', model_inputs.iter_model_input_frames),
        ('video_to_model_inputs', model_inputs.video_to_model_inputs),
        ('preprocess_to_files', sample_writer.preprocess_to_files)):
      self.assertIs(getattr(preprocess, name), defined, name)


if __name__ == '__main__':
  absltest.main()
