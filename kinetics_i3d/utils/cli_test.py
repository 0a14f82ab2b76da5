"""Tests of the command-line conventions every tool shares (`cli.run`)."""

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

from absl.testing import absltest

from kinetics_i3d.testing import tool_runs

_TOOL = textwrap.dedent('''\
    """A tiny tool: its docstring is long, as real tools' are.

    More lines that a usage error must not print.
    """
    from kinetics_i3d.utils import cli
    from absl import app
    from absl import flags
    import tensorflow as tf

    _MODE = flags.DEFINE_enum('mode', 'ok', ['ok', 'usage', 'value', 'bug',
                                             'interrupt', 'oserror', 'tflog',
                                             'memory'],
                              'What to do.')
    _ITEMS = flags.DEFINE_list('items', [], 'A list flag.')
    _TAGS = flags.DEFINE_multi_string('tag', [], 'A repeatable flag.')
    _VERBOSE = flags.DEFINE_bool('verbose', False, 'A boolean flag.')

    def main(argv):
      del argv
      if _MODE.value == 'interrupt':
        raise KeyboardInterrupt
      if _MODE.value == 'oserror':
        raise FileNotFoundError(2, 'No such file or directory',
                                '/proc/.x.npz.tmp-44a249227f28')
      if _MODE.value == 'memory':
        # Minor page faults of the last of 4 blocks of 40 MB, each made and
        # freed in a thread as a clip beside the model.
        import resource, threading
        import numpy as np
        faults = []
        def clips():
          for _ in range(4):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            np.ones(40 << 20, np.uint8)
            faults.append(
                resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        thread = threading.Thread(target=clips)
        thread.start()
        thread.join()
        print(faults[-1])
        return
      if _MODE.value == 'tflog':
        tf.get_logger().info('a TensorFlow log line')
        return
      if _MODE.value == 'usage':
        raise app.UsageError('--mode=usage: a usage error')
      if _MODE.value == 'value':
        raise ValueError('data.npy: not a valid array; make one with X.')
      if _MODE.value == 'bug':
        raise KeyError('a bug')
      print(float(tf.reduce_sum(tf.ones([2]))))

    def run():
      cli.run(main)

    if __name__ == '__main__':
      run()
    ''')


# Usage errors: (arguments, the one line expected).
_USAGE_ERRORS = (
    (['--mode=usage'], 'tool.py: --mode=usage: a usage error (see --help)'),
    (['--nosuchflag'],
     "tool.py: Unknown command line flag 'nosuchflag' (see --help)"),
    (['--mode=other'], 'tool.py: flag --mode=other: value should be one '
     "of <ok|usage|value|bug|interrupt|oserror|tflog|memory> (see --help)"),
    # absl would keep the last value of a single-valued flag.
    (['--items=a', '--items=b'], 'tool.py: --items given more than once '
     '(only the last would count); give each once (list flags take '
     'comma-separated values) (see --help)'),
    (['--verbose', '--mode=ok', '--noverbose'], 'tool.py: --verbose given '
     'more than once (only the last would count); give each once (list '
     'flags take comma-separated values) (see --help)'),
)


class CliTest(absltest.TestCase):
  """The tiny tool run as `python tool.py`, every case forked at once."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls._dir = tempfile.TemporaryDirectory()
    cls._script = os.path.join(cls._dir.name, 'tool.py')
    with open(cls._script, 'w') as f:
      f.write(_TOOL)
    cases = {
        'help': ['--help'],
        'helpfull': ['--helpfull'],
        'value': ['--mode=value'],
        'repeatable': ['--tag=a', '--tag=b', '--items=a,b'],
        'interrupt': ['--mode=interrupt'],
        'oserror': ['--mode=oserror'],
        'tflog': ['--mode=tflog', '--verbosity=0'],
        'bug': ['--mode=bug'],
        'memory': ['--mode=memory'],
    }
    cases.update({f'usage_{i}': args
                  for i, (args, _) in enumerate(_USAGE_ERRORS)})
    cls._results = tool_runs.run_tools(
        'tool', cases, prelude=f'sys.path.insert(0, {cls._dir.name!r}); ',
        as_main=True)

  @classmethod
  def tearDownClass(cls):
    cls._dir.cleanup()
    super().tearDownClass()

  def test_success_has_no_tensorflow_start_up_noise(self):
    # A fresh interpreter without TF_CPP_MIN_LOG_LEVEL: the start is the point.
    env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
    result = subprocess.run([sys.executable, self._script], env=env,
                            capture_output=True, text=True, timeout=300)
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertEqual(result.stdout, '2.0\n')
    self.assertEqual(result.stderr, '')

  @absltest.skipUnless(platform.libc_ver()[0] == 'glibc', 'glibc malloc only')
  def test_freed_memory_is_kept_for_reuse(self):
    # Without it each block faults in again, at least once per 2 MB
    # (freed_memory_test shows that).
    result = self._results['memory']
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertLessEqual(int(result.stdout), 2)

  def test_help_exits_zero(self):
    for flag in ('help', 'helpfull'):
      result = self._results[flag]
      self.assertEqual(result.returncode, 0, flag)
      self.assertIn('--mode', result.stdout)

  def test_help_of_a_console_script_shows_the_tool(self):
    # A console script's __main__ is a generated wrapper that calls run().
    wrapper = ('import sys; sys.argv[0] = "/venv/bin/i3d-tool"; '
               'import tool; tool.run()')
    result = subprocess.run([sys.executable, '-c', wrapper, '--help'],
                            cwd=self._dir.name, capture_output=True,
                            text=True, timeout=300)
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertIn('A tiny tool: its docstring is long', result.stdout)
    self.assertIn('--mode: <ok|usage|value|bug|interrupt|oserror|tflog|'
                  'memory>: What to do.', result.stdout)

  def test_usage_errors_are_one_line(self):
    for i, (args, message) in enumerate(_USAGE_ERRORS):
      result = self._results[f'usage_{i}']
      self.assertEqual(result.returncode, 2, args)
      self.assertEqual(result.stderr.splitlines(), [message], args)

  def test_expected_errors_are_one_line(self):
    result = self._results['value']
    self.assertEqual(result.returncode, 1)
    self.assertEqual(result.stderr.splitlines(),
                     ['tool.py: data.npy: not a valid array; make one with X.'])

  def test_repeatable_flags_may_repeat(self):
    result = self._results['repeatable']
    self.assertEqual(result.returncode, 0, result.stderr)

  def test_ctrl_c_is_one_line_and_exit_130(self):
    result = self._results['interrupt']
    self.assertEqual(result.returncode, 130)
    self.assertEqual(result.stderr.splitlines(), [
        'tool.py: interrupted; re-run the same command to resume'])

  def test_os_errors_show_no_temporary_name(self):
    result = self._results['oserror']
    self.assertEqual(result.returncode, 1)
    self.assertEqual(result.stderr.splitlines(), [
        "tool.py: [Errno 2] No such file or directory: '/proc/x.npz'"])

  def test_tensorflow_log_lines_show_once(self):
    result = self._results['tflog']
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertLen([line for line in result.stderr.splitlines()
                    if 'a TensorFlow log line' in line], 1, result.stderr)

  def test_bugs_keep_their_traceback(self):
    result = self._results['bug']
    self.assertNotEqual(result.returncode, 0)
    self.assertIn('Traceback', result.stderr)


class CheckWritableTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.root = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, self.root)
    self.a_file = os.path.join(self.root, 'afile')
    open(self.a_file, 'w').close()

  def test_writable_paths_pass_and_leave_nothing(self):
    from kinetics_i3d.utils import cli  # pylint: disable=g-import-not-at-top
    cli.check_writable(os.path.join(self.root, 'new', 'stats.npz'), '--x')
    cli.check_writable(os.path.join(self.root, 'new', 'dir'), '--x',
                       folder=True)
    self.assertEqual(os.listdir(self.root), ['afile'])

  def test_unwritable_paths_name_the_flag_and_the_path(self):
    from kinetics_i3d.utils import cli  # pylint: disable=g-import-not-at-top
    for path, folder, reason in (
        ('/proc/x.npz', False, '/proc cannot be written'),
        ('/proc/cache', True, '/proc cannot be written'),
        (self.root, False, f'{self.root} is a folder, not a file'),
        (self.a_file, True, f'{self.a_file} is a file, not a folder'),
        (os.path.join(self.a_file, 'model.ckpt'), False,
         f'{self.a_file} is a file, not a folder'),
    ):
      with self.assertRaisesRegex(ValueError, '^' + re.escape(
          f'--out={path}: {reason}')):
        cli.check_writable(path, '--out', folder=folder)

  def test_os_errors_on_outputs_name_the_flag(self):
    from kinetics_i3d.utils import cli  # pylint: disable=g-import-not-at-top
    stats = os.path.join(self.root, 'stats.npz')
    outputs = {'--save_real_stats': stats, '--cache_dir': None,
               '--output_dir': os.path.join(self.root, 'out')}
    for filename, message in (
        (os.path.join(self.root, '.stats.npz.tmp-0123456789ab'),
         f'--save_real_stats={stats}: No space left on device; choose a '
         'writable path.'),
        (os.path.join(self.root, 'out', 'records', 'x.json'),
         f'--output_dir={self.root}/out: No space left on device; choose a '
         'writable path.'),
    ):
      with self.assertRaises(ValueError) as caught:
        with cli.outputs_named(outputs):
          raise OSError(28, 'No space left on device', filename)
      self.assertEqual(str(caught.exception), message)
    with self.assertRaises(FileNotFoundError):  # Not an output: as it was.
      with cli.outputs_named(outputs):
        raise FileNotFoundError(2, 'No such file', '/elsewhere/input.npy')

  def test_os_error_message(self):
    from kinetics_i3d.utils import cli  # pylint: disable=g-import-not-at-top
    error = IsADirectoryError(21, 'Is a directory', '/d/.s.npz.tmp-0123')
    self.assertEqual(cli.os_error_message('--save_real_stats', '/d', error),
                     '--save_real_stats=/d: Is a directory; give a file '
                     'path, not a folder.')


if __name__ == '__main__':
  absltest.main()
