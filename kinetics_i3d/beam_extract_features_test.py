"""Tests of i3d-beam-extract-features' start-up (I3D, CVPR 2017, on Beam).

The pipeline itself is tested in features/beam_pipeline_test.py.
"""

from absl.testing import absltest

from kinetics_i3d.testing import tool_runs

# Makes `import apache_beam` fail as it does where Beam is not installed.
_WITHOUT_BEAM = "sys.modules['apache_beam'] = None; "


class WithoutBeamTest(absltest.TestCase):

  def test_missing_beam_names_the_extra_in_one_line(self):
    for args in (['--help'], ['--inputs=a.mp4', '--output_dir=out']):
      result = tool_runs.run_tool('kinetics_i3d.beam_extract_features', args,
                                  prelude=_WITHOUT_BEAM)
      self.assertEqual(result.returncode, 1, result.stderr)
      self.assertNotIn('Traceback', result.stderr)
      self.assertLen(result.stderr.strip().splitlines(), 1, result.stderr)
      self.assertIn("i3d-beam-extract-features: Apache Beam is not installed",
                    result.last_line)
      self.assertIn("pip install -e '.[beam]'", result.last_line)


if __name__ == '__main__':
  absltest.main()
