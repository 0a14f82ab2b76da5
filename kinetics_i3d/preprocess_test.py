"""Tests of i3d-preprocess' command line (I3D's inputs, CVPR 2017).

The preprocessing itself, and the tool on real videos, are tested in
video/*_test.py (the files: video/sample_writer_test.py).
"""

import os
import tempfile

from absl.testing import absltest

from kinetics_i3d.testing import tool_runs

# Ctrl-C while the video is being preprocessed.
_INTERRUPTED = ('from kinetics_i3d.utils import cli; '
                'from kinetics_i3d.video import sample_writer; '
                'sample_writer.preprocess_to_files = lambda *a, **k: '
                '(_ for _ in ()).throw(KeyboardInterrupt()); ')


class PreprocessToolTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.video = os.path.join(cls.root, 'clip.mp4')
    open(cls.video, 'w').close()
    out = f'--output_dir={cls.root}/out'
    cls.results = tool_runs.run_tools('kinetics_i3d.preprocess', {
        'unknown_flag': [f'--video={cls.video}', out, '--strat_time=1'],
        'repeated_flag': [f'--video={cls.video}', '--video=b.mp4', out],
        'output_in_proc': [f'--video={cls.video}', '--output_dir=/proc/o'],
    })
    cls.results['interrupted'] = tool_runs.run_tool(
        'kinetics_i3d.preprocess', [f'--video={cls.video}', out],
        prelude=_INTERRUPTED)

  def _one_line(self, case, returncode, message):
    result = self.results[case]
    self.assertEqual(result.returncode, returncode, result.stderr)
    self.assertNotIn('Traceback', result.stderr)
    self.assertLen(result.stderr.strip().splitlines(), 1, result.stderr)
    self.assertRegex(result.last_line, '^i3d-preprocess: ' + message)

  def test_flags(self):
    self._one_line('unknown_flag', 2, "Unknown command line flag 'strat_time'")
    self._one_line('repeated_flag', 2, '--video given more than once')

  def test_output_dir_checked_first(self):
    self._one_line('output_in_proc', 1,
                   '--output_dir=/proc/o: /proc cannot be written')

  def test_ctrl_c(self):
    self._one_line('interrupted', 130,
                   'interrupted; re-run the same command to resume$')
    self.assertFalse(os.path.exists(os.path.join(self.root, 'out')))


if __name__ == '__main__':
  absltest.main()
