"""Tests of i3d-fvd's command line (FVD, Unterthiner et al. 2018, on I3D).

FVD itself is tested in metrics/fvd/*_test.py. Every case here is refused
before any video is embedded (the checkpoint is never loaded).
"""

import os
import tempfile

from absl.testing import absltest

from kinetics_i3d.testing import tool_runs


# The comparison replaced by one that prints how it was asked to report.
_PRINT_PROGRESS = (
    'from kinetics_i3d.utils import cli; '
    'from kinetics_i3d.metrics.fvd import comparison, embedder, planning; '
    'import types; '
    'planning.plan_comparison = lambda *a, **k: 2 * [types.SimpleNamespace('
    'num_frames=16)]; '
    'embedder.Embedder = lambda *a, **k: None; '
    'comparison.run_comparison = lambda *a, progress, **k: print('
    '"progress", progress) or sys.exit(0); ')


class ProgressTest(absltest.TestCase):

  def test_no_bars_in_a_redirected_log(self):
    result = tool_runs.run_tool(
        'kinetics_i3d.fvd', ['--real=a.npy', '--generated=b.npy',
                             '--cache_dir='], prelude=_PRINT_PROGRESS)
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stdout, 'progress False\n')


class FvdToolTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp()
    cls.a_file = os.path.join(cls.root, 'afile')
    open(cls.a_file, 'w').close()
    cls.text_npy = os.path.join(cls.root, 'text.npy')
    with open(cls.text_npy, 'w') as f:
      f.write('not an array\n')
    sets = [f'--real={cls.text_npy}', f'--generated={cls.text_npy}',
            '--value_range=255']
    cache = f'--cache_dir={cls.root}/cache'
    cls.results = tool_runs.run_tools('kinetics_i3d.fvd', {
        'stats_in_proc': sets + [cache, '--save_real_stats=/proc/x.npz'],
        'stats_is_a_folder': sets + [cache,
                                     f'--save_generated_stats={cls.root}',
                                     '--overwrite'],
        'cache_is_a_file': sets + [f'--cache_dir={cls.a_file}'],
        'text_npy': sets + [cache],
        'unknown_flag': sets + [cache, '--batchsize=2'],
    })
    cls.results['interrupted'] = tool_runs.run_tool(
        'kinetics_i3d.fvd', sets + [cache], prelude=(
            'from kinetics_i3d.utils import cli; '
            'from kinetics_i3d.metrics.fvd import planning; '
            'planning.plan_comparison = lambda *a, **k: '
            '(_ for _ in ()).throw(KeyboardInterrupt()); '))
    cls.results['cache_env'] = tool_runs.run_tool(
        'kinetics_i3d.fvd', sets, env={'I3D_CACHE_DIR': '/proc/cache'})

  def _one_line(self, case, returncode, message):
    result = self.results[case]
    self.assertEqual(result.returncode, returncode, result.stderr)
    self.assertNotIn('Traceback', result.stderr)
    self.assertNotIn('.tmp-', result.stderr)
    self.assertLen(result.stderr.strip().splitlines(), 1, result.stderr)
    self.assertRegex(result.last_line, '^i3d-fvd: ' + message)

  def test_output_paths_are_checked_first(self):
    self._one_line('stats_in_proc', 1,
                   '--save_real_stats=/proc/x.npz: /proc cannot be written')
    self._one_line('stats_is_a_folder', 1,
                   f'--save_generated_stats={self.root}: {self.root} is a '
                   'folder, not a file')
    self._one_line('cache_is_a_file', 1,
                   f'--cache_dir={self.a_file}: {self.a_file} is a file, not '
                   'a folder')
    self._one_line('cache_env', 1,
                   'I3D_CACHE_DIR=/proc/cache: /proc cannot be written')

  def test_text_file_named_npy(self):
    self._one_line('text_npy', 1,
                   f'{self.text_npy}: not a readable \\.npy array')
    self.assertNotIn('allow_pickle', self.results['text_npy'].stderr)

  def test_ctrl_c(self):
    self._one_line('interrupted', 130,
                   'interrupted; re-run the same command to resume$')

  def test_unknown_flag(self):
    self._one_line('unknown_flag', 2, "Unknown command line flag 'batchsize'")


if __name__ == '__main__':
  absltest.main()
