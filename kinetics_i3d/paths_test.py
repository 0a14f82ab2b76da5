"""Tests for paths.py: shipped files and the one data folder (I3D tools).

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017. The installed case is simulated here by
moving `PROJECT_DIR` to a folder that is not a checkout; packaging_test.py
runs a real installed wheel.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized

from kinetics_i3d import paths


class PathsTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.tmp = tempfile.mkdtemp(prefix='paths_test_')
    self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

  def _installed(self):
    """As if the package were in site-packages (`self.tmp`)."""
    return mock.patch.object(paths, 'PROJECT_DIR', self.tmp)

  def test_checkout_keeps_the_original_layout(self):
    root = paths.PROJECT_DIR
    self.assertTrue(paths.in_checkout())
    self.assertEqual(paths.DATA_DIR, os.path.join(root, 'data'))
    self.assertEqual(paths.CHECKPOINT_DIR,
                     os.path.join(root, 'data', 'checkpoints'))
    self.assertEqual(paths.OUT_DIR, os.path.join(root, 'out'))
    self.assertEqual(paths.xla_cache_dir(),
                     os.path.join(root, 'data', 'cache', 'xla'))
    self.assertEqual(paths.CONFIG_DIR, os.path.join(root, 'configs'))
    self.assertEqual(paths.LABEL_MAPS, {
        400: os.path.join(root, 'data', 'label_map.txt'),
        600: os.path.join(root, 'data', 'label_map_600.txt')})
    # $I3D_CACHE_DIR moves the downloads, not a checkout's data/.
    with mock.patch.dict(os.environ, {paths.CACHE_ENV: self.tmp}):
      self.assertEqual(paths.DATA_DIR, os.path.join(root, 'data'))
      self.assertEqual(paths.cache_dir(), self.tmp)

  @parameterized.parameters('data/label_map.txt', 'data/label_map_600.txt',
                            'configs/kinetics_rgb.py',
                            'configs/kinetics_flow.py',
                            'configs/ucf101_finetune.py')
  def test_package_copy_is_the_root_file(self, relative):
    # The package's copy is a link to the root's file: one file, not two.
    in_package = os.path.join(paths.PACKAGE_DIR, relative)
    self.assertTrue(os.path.samefile(
        in_package, os.path.join(paths.PROJECT_DIR, relative)))

  def test_installed_reads_the_package_and_writes_the_user_folder(self):
    cache = os.path.join(self.tmp, 'elsewhere')
    with self._installed():
      self.assertFalse(paths.in_checkout())
      # Read when used: a variable set after import is honoured.
      with mock.patch.dict(os.environ, {paths.CACHE_ENV: cache}):
        self.assertEqual(paths.DATA_DIR, cache)
        self.assertEqual(paths.CHECKPOINT_DIR,
                         os.path.join(cache, 'checkpoints'))
        self.assertEqual(paths.OUT_DIR, os.path.join(cache, 'out'))
        self.assertEqual(paths.xla_cache_dir(),
                         os.path.join(cache, 'cache', 'xla'))
      with mock.patch.dict(os.environ, {paths.CACHE_ENV: '',
                                        'HOME': self.tmp}):
        self.assertEqual(paths.DATA_DIR,
                         os.path.join(self.tmp, '.cache', 'i3d'))
      self.assertEqual(paths.CONFIG_DIR,
                       os.path.join(paths.PACKAGE_DIR, 'configs'))
      self.assertTrue(os.path.isfile(
          os.path.join(paths.CONFIG_DIR, 'kinetics_rgb.py')))
      for num_classes, path in paths.LABEL_MAPS.items():
        self.assertStartsWith(path, paths.PACKAGE_DIR + os.sep)
        with open(path) as f:
          self.assertLen(f.read().splitlines(), num_classes)
    self.assertFalse(os.path.exists(cache))

  def test_a_folder_with_setup_py_only_is_not_a_checkout(self):
    open(os.path.join(self.tmp, 'setup.py'), 'w').close()
    with self._installed():
      self.assertFalse(paths.in_checkout())

  def test_import_and_lookups_create_nothing(self):
    cache = os.path.join(self.tmp, 'cache')
    env = dict(os.environ, I3D_CACHE_DIR=cache, HOME=self.tmp,
               PYTHONPATH=paths.PROJECT_DIR)
    subprocess.run(
        [sys.executable, '-c', 'from kinetics_i3d import paths; '
         'paths.DATA_DIR, paths.CHECKPOINT_DIR, paths.OUT_DIR, '
         'paths.CONFIG_DIR, paths.LABEL_MAPS, paths.cache_dir()'],
        env=env, check=True, cwd=self.tmp)
    self.assertEmpty(os.listdir(self.tmp))

  def test_unknown_name(self):
    with self.assertRaisesRegex(AttributeError, 'has no attribute'):
      _ = paths.NO_SUCH_DIR
    self.assertIn('CHECKPOINT_DIR', dir(paths))


if __name__ == '__main__':
  absltest.main()
