"""What every command-line tool of the project shares.

* TensorFlow's C++ start-up chatter (CUDA probes on a machine without a GPU,
  printed before any log level applies) is hidden: TensorFlow is imported,
  and its devices probed, with stderr captured, and only other lines are
  passed on. `TF_CPP_MIN_LOG_LEVEL` defaults to 2. Tool modules import this
  module before TensorFlow.
* TensorFlow's oneDNN kernels are on (`cpu_kernels.enable_onednn`), even on
  CPUs where TensorFlow leaves them off, unless `TF_ENABLE_ONEDNN_OPTS=0`.
* With `--flow_backend=tf`, the TF TV-L1's worker process starts first, so
  that its import of TensorFlow overlaps the tool's
  (`kinetics_i3d.flow.early_flow_worker`).
* malloc keeps freed memory for reuse (`freed_memory.keep_freed_memory`,
  from `run`), so the clips decoded beside the model cost no page faults.
* A usage error is one line, `<tool>: <message> (see --help)`, and exit
  status 2, instead of absl's whole help text; `--help` itself exits 0.
* Errors the tool expects (a `ValueError` or `OSError` it raised with a
  message naming the file or flag) are one line and exit status 1, never a
  traceback.
* A flag the tool does not define, or a single-valued flag given twice
  (`--inputs=a --inputs=b`, which absl would quietly reduce to the last), is
  a usage error.
* Ctrl-C ends with one line, `interrupted; re-run the same command to
  resume`, and exit status 130 (128 + SIGINT, as shells report it); the
  tools record their finished work on the way out.
* Output paths are probed with `check_writable` before any work, and an
  `OSError` reaches the user as `os_error_message`: the flag or variable and
  the path the user gave, never a temporary name.
* Logging goes to stderr (absl's default for scripts), so progress reported
  with `absl.logging` reaches redirected output too.
"""

import contextlib
import logging as python_logging
import os
import re
import sys
import tempfile
from typing import (Callable, Iterator, List, Mapping, Optional, Sequence,
                    Tuple, Type)

from kinetics_i3d.flow import early_flow_worker
from kinetics_i3d.utils import cpu_kernels
from kinetics_i3d.utils import freed_memory

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


early_flow_worker.start_if_asked(sys.argv)
_import_tensorflow_quietly()

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
from absl import logging

from kinetics_i3d import paths
from kinetics_i3d.utils import atomic_files

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT.
INTERRUPTED_MESSAGE = 'interrupted; re-run the same command to resume'


def _tool_name() -> str:
  return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else 'tool'


def fail(message: str, status: int = EXIT_ERROR) -> None:
  """Prints `<tool>: <message>` on one line to stderr and exits."""
  message = ' '.join(str(message).split())
  print(f'{_tool_name()}: {message}', file=sys.stderr, flush=True)
  sys.exit(status)


_HELP_ARGS = ('--help', '-help', '--helpshort', '--helpfull', '--helpxml',
              '-?', '--?')


def _flag_name(arg: str) -> Optional[str]:
  """The defined flag an argument sets (`--x=1`, `-x 1`, `--nox`), or None."""
  if not arg.startswith('-') or arg in ('-', '--'):
    return None
  name = arg.lstrip('-').split('=', 1)[0]
  if name not in flags.FLAGS and name.startswith('no') and (
      name[2:] in flags.FLAGS):
    name = name[2:]
  return name if name in flags.FLAGS else None


def repeated_flags(argv: Sequence[str]) -> List[str]:
  """Single-valued flags that `argv` sets more than once, in first order.

  absl keeps only the last value of such a flag; multi-valued flags
  (`DEFINE_multi_*`) may repeat. Arguments after `--` are not flags.
  """
  seen, repeated = set(), []
  for arg in argv[1:]:
    if arg == '--':
      break
    name = _flag_name(arg)
    if name is None or isinstance(flags.FLAGS[name], flags.MultiFlag):
      continue
    if name in seen and name not in repeated:
      repeated.append(name)
    seen.add(name)
  return repeated


def refuse_repeated_flags(argv: Sequence[str]) -> None:
  """A one-line usage error if a single-valued flag is given twice."""
  repeated = repeated_flags(argv)
  if repeated:
    names = ', '.join(f'--{name}' for name in repeated)
    fail(f'{names} given more than once (only the last would count); give '
         'each once (list flags take comma-separated values) (see --help)',
         EXIT_USAGE)


def _last_traceback_line(message: str) -> str:
  """A message with an embedded traceback cut to the head and the error."""
  head, marker, tail = message.partition('Traceback (most recent call last)')
  if not marker:
    return message
  lines = [line.strip() for line in tail.splitlines() if line.strip()]
  return f'{head.strip()} {lines[-1] if lines else ""}'.strip()


def usage_error_text(error: BaseException) -> str:
  """The one-line text of a flag-parsing error."""
  return ' '.join(_last_traceback_line(str(error)).split())


def parse_flags(argv: Sequence[str], known_only: bool = False) -> List[str]:
  """Parses `argv` into `flags.FLAGS`; one-line usage errors, exit 2.

  Args:
    argv: The command line, program name first.
    known_only: Leave arguments that are not this tool's flags in the
      result (for a tool that hands them on, e.g. to Apache Beam).

  Returns:
    The arguments that are not flags (program name first), and with
    `known_only` the unknown flags too.
  """
  try:
    # Repeats are counted once the flags parsed, so a --flagfile or an
    # unknown flag is reported by absl first.
    remaining = flags.FLAGS(list(argv), known_only=known_only)
  except SystemExit:
    # absl exits 1 after printing the help it was asked for.
    if any(arg.split('=')[0] in _HELP_ARGS for arg in argv[1:]):
      sys.exit(0)
    raise
  except flags.Error as e:
    fail(f'{usage_error_text(e)} (see --help)', EXIT_USAGE)
  refuse_repeated_flags(argv)
  return remaining


def _parse_flags_one_line(argv: Sequence[str]) -> Sequence[str]:
  return parse_flags(argv)


def _shown_path(path: str) -> str:
  """`path` with a temporary name `.{name}.tmp-{random}` made `name`."""
  folder, name = os.path.split(path)
  if name.startswith('.') and atomic_files.TMP_MARK in name:
    name = name[1:name.rindex(atomic_files.TMP_MARK)]
  return os.path.join(folder, name)


def os_error_message(what: str, user_path: str, error: OSError) -> str:
  """One line for an OS error on a path the user gave.

  Args:
    what: The flag (`--output_dir`) or variable (`I3D_CACHE_DIR`) that gave
      the path.
    user_path: The path as the user gave it.
    error: The error; its own file names (temporary ones included) are not
      shown, only its reason.

  Returns:
    `<what>=<user_path>: <reason>; <remedy>`.
  """
  reason = error.strerror or str(error) or type(error).__name__
  if isinstance(error, IsADirectoryError):
    remedy = 'give a file path, not a folder'
  elif isinstance(error, (NotADirectoryError, FileExistsError)):
    remedy = 'a file stands where a folder is needed; give a folder path'
  elif isinstance(error, PermissionError):
    remedy = 'choose a path you can write'
  else:
    remedy = 'choose a writable path'
  return f'{what}={user_path}: {reason.rstrip(".")}; {remedy}.'


@contextlib.contextmanager
def outputs_named(outputs: Mapping[str, Optional[str]]) -> Iterator[None]:
  """Turns an `OSError` on an output into `os_error_message`'s `ValueError`.

  For errors after the checks (a disk that fills up, a folder removed
  meanwhile): the user reads the flag and the path they gave.

    with cli.outputs_named({'--output_dir': output_dir}):
      ...  # The work.

  Args:
    outputs: {flag or variable: the path it gave (None: not given)}; an error
      on that path, or on anything under it, is named after it.

  Yields:
    Nothing.
  """
  try:
    yield
  except OSError as e:
    if not isinstance(e.filename, str):
      raise
    failed = os.path.abspath(_shown_path(e.filename))
    for what, path in outputs.items():
      if not path or '://' in path:
        continue
      given = os.path.abspath(path)
      if failed == given or failed.startswith(given.rstrip(os.sep) + os.sep):
        raise ValueError(os_error_message(what, path, e)) from None
    raise


def check_writable(path: str, what: str, folder: bool = False) -> None:
  """Raises `ValueError` (one line from `run`) if `path` cannot be written.

  Call it for every output path before any work.

  Args:
    path: The output file or folder, as the user gave it. Paths of other
      file systems (`gs://...`) are not checked here.
    what: The flag or variable that gave it, e.g. '--output_dir'.
    folder: Whether `path` is a folder.

  Raises:
    ValueError: `<what>=<path>: <reason>; <remedy>`.
  """
  if not path or '://' in path:
    return
  problem = atomic_files.write_problem(path, folder)
  if problem:
    raise ValueError(f'{what}={path}: {problem}; choose a writable '
                     f'{"folder" if folder else "file path"}.')


def check_download_cache() -> None:
  """`check_writable` for the download cache (`$I3D_CACHE_DIR`)."""
  what = paths.CACHE_ENV if os.environ.get(paths.CACHE_ENV) else (
      f'the download cache (set {paths.CACHE_ENV} to move it)')
  check_writable(paths.cache_dir(), what, folder=True)


def error_text(error: BaseException) -> str:
  """One line for an error no tool put in words (temporary names hidden)."""
  if not isinstance(error, OSError):
    return ' '.join(str(error).split()) or type(error).__name__
  text = str(error)
  for name in (error.filename, error.filename2):
    if isinstance(name, str) and name:
      text = text.replace(name, _shown_path(name))
  return text or type(error).__name__


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
  freed_memory.keep_freed_memory()

  def guarded_main(argv: Sequence[str]) -> Optional[int]:
    logging.use_absl_handler()
    # TensorFlow gave its logger a handler of its own when imported (before
    # absl's existed): its lines would show twice.
    python_logging.getLogger('tensorflow').handlers.clear()
    try:
      return main(argv)
    except KeyboardInterrupt:
      fail(INTERRUPTED_MESSAGE, EXIT_INTERRUPTED)
    except app.UsageError as e:
      fail(f'{e} (see --help)', EXIT_USAGE)
    except expected_errors as e:  # pylint: disable=catching-non-exception
      fail(error_text(e))
    return None

  try:
    app.run(guarded_main, flags_parser=flags_parser or _parse_flags_one_line)
  except KeyboardInterrupt:  # During flag parsing or absl's set-up.
    fail(INTERRUPTED_MESSAGE, EXIT_INTERRUPTED)
