"""What every command-line tool of the project shares.

* TensorFlow's C++ start-up chatter (CUDA probes on a machine without a GPU,
  printed before any log level applies) is hidden: TensorFlow is imported,
  and its devices probed, with stderr captured, and only other lines are
  passed on. `TF_CPP_MIN_LOG_LEVEL` defaults to 2. Tool modules import this
  module before TensorFlow.
* TensorFlow's oneDNN kernels are on (`cpu_kernels.enable_onednn`), even on
  CPUs where TensorFlow leaves them off, unless `TF_ENABLE_ONEDNN_OPTS=0`.
* A usage error is one line, `<tool>: <message> (see --help)`, and exit
  status 2, instead of absl's whole help text; `--help` itself exits 0.
* Errors the tool expects (a `ValueError` or `OSError` it raised with a
  message naming the file or flag) are one line and exit status 1, never a
  traceback.
* Logging goes to stderr (absl's default for scripts), so progress reported
  with `absl.logging` reaches redirected output too.
"""

import os
import re
import sys
import tempfile
from typing import Callable, Optional, Sequence, Tuple, Type

from kinetics_i3d.utils import cpu_kernels

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
cpu_kernels.enable_onednn()

# Start-up lines of TensorFlow's C++ runtime that say nothing to a user.
_STARTUP_NOISE = re.compile(
    r'All log messages before absl::InitializeLog|cudart_stub\.cc|'
    r'cuda_platform\.cc|cuda_executor\.cc|cpu_feature_guard\.cc|'
    r'To enable the following instructions|computation_placer\.cc|'
    r'port\.cc:\d+\] oneDNN custom operations')


def _import_tensorflow_quietly() -> None:
  """Imports TensorFlow and probes its devices with stderr filtered."""
  if 'tensorflow' in sys.modules:
    return
  try:
    saved = os.dup(2)
  except OSError:  # No stderr to filter.
    return
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      tf.config.list_physical_devices()  # The CUDA probe happens here.
    finally:
      os.dup2(saved, 2)
      os.close(saved)
    captured.seek(0)
    for line in captured.read().decode('utf-8', 'replace').splitlines():
      if not _STARTUP_NOISE.search(line):
        print(line, file=sys.stderr)


_import_tensorflow_quietly()

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
from absl import logging

EXIT_ERROR = 1
EXIT_USAGE = 2


def _tool_name() -> str:
  return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else 'tool'


def fail(message: str, status: int = EXIT_ERROR) -> None:
  """Prints `<tool>: <message>` on one line to stderr and exits."""
  message = ' '.join(str(message).split())
  print(f'{_tool_name()}: {message}', file=sys.stderr, flush=True)
  sys.exit(status)


_HELP_ARGS = ('--help', '-help', '--helpshort', '--helpfull', '--helpxml',
              '-?', '--?')


def _parse_flags_one_line(argv: Sequence[str]) -> Sequence[str]:
  try:
    return flags.FLAGS(argv)
  except SystemExit:
    # absl exits 1 after printing the help it was asked for.
    if any(arg.split('=')[0] in _HELP_ARGS for arg in argv[1:]):
      sys.exit(0)
    raise
  except flags.Error as e:
    fail(f'{e} (see --help)', EXIT_USAGE)
  return argv  # Not reached.


def _show_tool_help(main: Callable[..., object]) -> None:
  """Makes `--help` describe the tool when it runs as a console script.

  absl's `--help` shows the docstring and key flags of the `__main__` module
  (found through `sys.argv[0]`); a console script's `__main__` is a
  generated wrapper, so the tool module's are registered for it.
  """
  tool = sys.modules.get(main.__module__)
  main_module = sys.modules.get('__main__')
  if tool is None or tool is main_module or not sys.argv:
    return
  if main_module is not None and tool.__doc__:
    main_module.__doc__ = tool.__doc__
  for flag in flags.FLAGS.get_key_flags_for_module(tool):
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)


def run(main: Callable[[Sequence[str]], Optional[int]],
        expected_errors: Tuple[Type[BaseException], ...] = (ValueError,
                                                            OSError),
        flags_parser: Optional[Callable[[Sequence[str]],
                                        Sequence[str]]] = None) -> None:
  """Runs `main` as absl's `app.run` does, with one-line errors.

  Args:
    main: The tool's main(argv).
    expected_errors: Exceptions reported as one line (exit 1) rather than a
      traceback; the tool raises them with messages that name the input.
    flags_parser: Optional replacement for the flag parser (e.g. one that
      leaves unknown flags to Apache Beam).
  """

  _show_tool_help(main)

  def guarded_main(argv: Sequence[str]) -> Optional[int]:
    logging.use_absl_handler()
    try:
      return main(argv)
    except app.UsageError as e:
      fail(f'{e} (see --help)', EXIT_USAGE)
    except expected_errors as e:  # pylint: disable=catching-non-exception
      fail(str(e) or type(e).__name__)
    return None

  app.run(guarded_main, flags_parser=flags_parser or _parse_flags_one_line)
