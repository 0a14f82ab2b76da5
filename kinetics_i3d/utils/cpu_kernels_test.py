"""Tests of `cpu_kernels`: every I3D tool gets TensorFlow's oneDNN kernels.

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017. Each case runs a fresh interpreter, since
TensorFlow reads `TF_ENABLE_ONEDNN_OPTS` once, when it is imported.
"""

import ast
import os
import subprocess
import sys
import textwrap

from absl.testing import absltest
from absl.testing import parameterized

from kinetics_i3d.utils import cpu_kernels

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _tool_modules():
  """The console scripts' modules, read from setup.py's `_TOOLS` table."""
  with open(os.path.join(_ROOT, 'setup.py')) as f:
    tree = ast.parse(f.read())
  for node in tree.body:
    if isinstance(node, ast.Assign) and any(
        getattr(t, 'id', None) == '_TOOLS' for t in node.targets):
      return [f'kinetics_i3d.{m}' for m in ast.literal_eval(node.value)
              .values()]
  raise AssertionError('setup.py has no _TOOLS table.')


# Imports each module named in argv in turn, in a process where `import
# tensorflow` is intercepted: prints the module and TF_ENABLE_ONEDNN_OPTS as
# it is when the module first imports TensorFlow (TensorFlow is never
# loaded, so this is fast), then forgets the project's modules and (unless
# the first argument is --keep) the variable before the next one.
_ENV_AT_TF_IMPORT = textwrap.dedent('''\
    import importlib, importlib.abc, os, sys

    class Intercepted(Exception):
      pass

    class Finder(importlib.abc.MetaPathFinder):
      def find_spec(self, name, path=None, target=None):
        if name == 'tensorflow' or name.startswith('tensorflow.'):
          raise Intercepted(os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset'))
        return None

    sys.meta_path.insert(0, Finder())
    keep = sys.argv[1:2] == ['--keep']
    for module in sys.argv[1 + keep:]:
      if not keep:
        os.environ.pop('TF_ENABLE_ONEDNN_OPTS', None)
      for name in [n for n in sys.modules
                   if n in ('i3d', 'evaluate_sample')
                   or n.startswith('kinetics_i3d')]:
        del sys.modules[name]
      try:
        importlib.import_module(module)
        print(module, 'no-tensorflow-import')
      except Intercepted as e:
        print(module, e.args[0])
    ''')

# Reports, after the given statements, whether TensorFlow runs oneDNN.
_REPORT = textwrap.dedent('''\
    import os
    from tensorflow.python.util import _pywrap_util_port
    print('env', os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset'))
    print('onednn', bool(_pywrap_util_port.IsMklEnabled()))
    ''')


def _run(code, env_value=None, *args):
  env = {k: v for k, v in os.environ.items()
         if k not in (cpu_kernels.ENV_VAR, 'PYTHONPATH')}
  env['PYTHONPATH'] = os.pathsep.join(
      [_ROOT] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
                 if p])
  env['TF_CPP_MIN_LOG_LEVEL'] = '3'
  if env_value is not None:
    env[cpu_kernels.ENV_VAR] = env_value
  result = subprocess.run([sys.executable, '-c', code, *args], env=env,
                          cwd=_ROOT,
                          capture_output=True, text=True, timeout=300)
  if result.returncode:
    raise AssertionError(f'exit {result.returncode}:\n{result.stderr}')
  return result


def _values(stdout):
  return dict(line.split(' ', 1) for line in stdout.splitlines()
              if line.startswith(('env ', 'onednn ')))


class CpuKernelsTest(parameterized.TestCase):

  def test_every_tool_sets_the_variable_before_importing_tensorflow(self):
    modules = ['i3d', 'evaluate_sample', 'kinetics_i3d.features.beam_pipeline'
              ] + _tool_modules()
    stdout = _run(_ENV_AT_TF_IMPORT, None, *modules).stdout
    seen = dict(line.split(' ', 1) for line in stdout.splitlines())
    self.assertEqual(seen, {m: '1' for m in modules})

  def test_the_users_setting_wins_before_tensorflow(self):
    stdout = _run(_ENV_AT_TF_IMPORT, '0', '--keep', 'i3d',
                  'kinetics_i3d.extract_features').stdout
    self.assertEqual(stdout.split(),
                     ['i3d', '0', 'kinetics_i3d.extract_features', '0'])

  @parameterized.named_parameters(
      ('import_i3d', 'import i3d'),
      ('tool_entry', 'from kinetics_i3d.utils import cli'),
  )
  def test_fresh_process_runs_onednn(self, statement):
    result = _run(f'{statement}\n{_REPORT}')
    self.assertEqual(_values(result.stdout), {'env': '1', 'onednn': 'True'})
    self.assertNotIn(cpu_kernels.HINT, result.stderr)

  def test_explicit_off_is_honoured_without_a_hint(self):
    result = _run(f'import i3d\nfrom kinetics_i3d.utils import cli\n{_REPORT}',
                  '0')
    self.assertEqual(_values(result.stdout), {'env': '0', 'onednn': 'False'})
    self.assertNotIn(cpu_kernels.HINT, result.stderr)

  def test_tensorflow_imported_first_without_onednn_gives_one_hint(self):
    # TensorFlow loaded with oneDNN off, then the variable unset: as on a CPU
    # without AVX-512, where off is TensorFlow's default.
    code = textwrap.dedent('''\
        import os
        import tensorflow
        del os.environ['TF_ENABLE_ONEDNN_OPTS']
        import i3d
        from kinetics_i3d.utils import cli
        from kinetics_i3d.utils import cpu_kernels
        cpu_kernels.enable_onednn()
        ''') + _REPORT
    result = _run(code, '0')
    self.assertEqual(_values(result.stdout),
                     {'env': 'unset', 'onednn': 'False'})
    self.assertEqual(result.stderr.count(cpu_kernels.HINT), 1,
                     result.stderr)
    self.assertLen([line for line in result.stderr.splitlines()
                    if 'oneDNN' in line], 1, result.stderr)


if __name__ == '__main__':
  absltest.main()
