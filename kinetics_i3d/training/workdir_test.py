"""Tests for workdir.py: the model_dir of an I3D training run."""

import json
import os
import shutil
import tempfile

from absl.testing import absltest

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import workdir


def _config(model_dir: str, num_classes: int = 3):
  config = config_lib.get_config()
  config.model_dir = model_dir
  config.num_classes = num_classes
  return config


class WorkdirTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.root = tempfile.mkdtemp(prefix='workdir_test_')
    self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)

  def _fake_checkpoint(self, model_dir: str) -> None:
    folder = workdir.checkpoint_dir(model_dir)
    os.makedirs(folder)
    for suffix in ('.index', '.data-00000-of-00001'):
      open(os.path.join(folder, 'ckpt-0' + suffix), 'w').close()
    with open(os.path.join(folder, 'checkpoint'), 'w') as f:
      f.write('model_checkpoint_path: "ckpt-0"\n'
              'all_model_checkpoint_paths: "ckpt-0"\n')

  def test_a_new_folder_is_checked_but_not_created(self):
    model_dir = os.path.join(self.root, 'a', 'b')
    workdir.check_writable(model_dir, 'model_dir')
    self.assertEqual(os.listdir(self.root), [])

  def test_folder_under_a_file_is_refused(self):
    path = os.path.join(self.root, 'file')
    open(path, 'w').close()
    with self.assertRaisesRegex(
        config_lib.TrainError,
        f'^model_dir={path}/run: {path} is a file, not a folder'):
      workdir.check_writable(os.path.join(path, 'run'), 'model_dir')

  def test_settings_of_a_run_must_match(self):
    model_dir = os.path.join(self.root, 'run')
    os.makedirs(model_dir)
    workdir.write_meta(_config(model_dir))
    self._fake_checkpoint(model_dir)
    workdir.check_meta(_config(model_dir))
    with self.assertRaisesRegex(
        config_lib.TrainError,
        'holds a run with num_classes=3 but this run asks for num_classes=4'):
      workdir.check_meta(_config(model_dir, num_classes=4))

  def test_settings_beside_no_checkpoint_are_ignored_and_replaced(self):
    # Left by a failed run of an older version, which wrote them first.
    model_dir = os.path.join(self.root, 'run')
    os.makedirs(model_dir)
    with open(os.path.join(model_dir, workdir.META_FILE), 'w') as f:
      json.dump({'stream': 'rgb', 'num_classes': -1,
                 'final_endpoint': 'Logits'}, f)
    workdir.check_meta(_config(model_dir))
    workdir.write_meta(_config(model_dir))
    self.assertEqual(workdir.read_meta(model_dir)['num_classes'], 3)

  def test_cache_dir(self):
    self.assertEqual(workdir.cache_dir(_config('/m')), '/m/cache')
    config = _config('')
    with self.assertRaisesRegex(config_lib.TrainError, 'data.cache_dir'):
      workdir.cache_dir(config)
    config.data.cache_dir = '/c'
    self.assertEqual(workdir.cache_dir(config), '/c')


if __name__ == '__main__':
  absltest.main()
