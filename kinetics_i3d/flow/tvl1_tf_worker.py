r"""The TensorFlow TV-L1 on a CPU, in a worker process with its own XLA flags.

I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017) is trained on OpenCV's
DualTVL1 flow; `tvl1_tf` reproduces it in TensorFlow. On a CPU it keeps
OpenCV's float32 rounding only if XLA compiles without fused multiply-adds
(`--xla_cpu_max_isa=AVX`), an XLA_FLAGS setting that XLA reads once per
process and that applies to every XLA computation in it. So the flow runs in
a worker process of its own, started with that flag, and the calling process
keeps its XLA flags (its own XLA computations keep AVX2 and FMA).

One worker serves one program (parameters, frame size, resize arithmetic):
it is started on first use, traces and runs its program once on a blank
pair while the caller goes on, and then serves every call for that program
in this process; it ends when this process does (or `close_all()`). A tool
that knows from its flags that it will need one starts a spare first
(`start_spare`, from `early_flow_worker`), which imports TensorFlow while
the tool does and serves the first program asked for. Each
program is compiled the same way in every worker, so XLA's persistent
compilation cache (TF_XLA_FLAGS `--tf_xla_persistent_cache_directory`) finds
the compiled loops a previous process wrote: from the second process on a
new worker loads them instead of compiling. The cache folder is
`paths.xla_cache_dir()/<program version>`, the version naming everything
that changes the compiled code (TensorFlow's version, the source of the TF
TV-L1's modules, the ISA flag, the CPU's features). XLA writes
each entry to a temporary file and renames it into place, and checks a
loaded entry against the program it compiled, so concurrent processes share
the folder safely.

Frames go to the worker and flows come back as plain `.npy` records on its
stdin and stdout (`tvl1_worker_pipe`); each reply starts with a JSON header
(status or error). A
worker that dies is restarted once for the call that found it dead; if the
new one dies too, the call raises `FlowWorkerError` with the worker's last
words.
"""

import atexit
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from typing import (Any, BinaryIO, Dict, List, NamedTuple, Optional,
                    Sequence, Tuple)

from absl import logging
import numpy as np

from kinetics_i3d import paths
from kinetics_i3d.flow import tvl1_params
from kinetics_i3d.flow import tvl1_worker_pipe as pipe

# XLA's CPU compiler contracts a * b + c into FMA instructions when the CPU
# has them, which changes float32 rounding; AVX has no FMA.
XLA_ISA_FLAG = '--xla_cpu_max_isa=AVX'
CACHE_FLAG = '--tf_xla_persistent_cache_directory'
# The command-line argument of a worker started before its program is known.
SPARE_ARG = '--spare'
# The modules whose source shapes the compiled program (and this one).
_SOURCES = ('tvl1_float32.py', 'tvl1_params.py', 'tvl1_programs.py',
            'tvl1_remap.py', 'tvl1_resize.py', 'tvl1_solver.py',
            'tvl1_stencils.py', 'tvl1_tf.py', 'tvl1_tf_worker.py')


class FlowWorkerError(RuntimeError):
  """The worker process computing the TensorFlow TV-L1 failed.

  Attributes:
    kind: The name of the exception the worker raised, or None when the
      worker itself failed (died, or could not start).
  """

  def __init__(self, message: str, kind: Optional[str] = None):
    super().__init__(message)
    self.kind = kind


def _cpu_features() -> str:
  """The CPU's feature flags (what XLA's generated code may rely on)."""
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith(('flags', 'Features')):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  import platform  # pylint: disable=g-import-not-at-top
  return f'{platform.machine()} {platform.processor()}'


def program_version() -> str:
  """The name of the cache subfolder for this code on this machine.

  Returns:
    'tf<version>-<digest>': the digest covers the sources of the TF TV-L1's
    modules (`_SOURCES`), the ISA flag and the CPU's features.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  digest = hashlib.sha256()
  here = os.path.dirname(os.path.abspath(__file__))
  for name in _SOURCES:
    with open(os.path.join(here, name), 'rb') as f:
      digest.update(f.read())
  digest.update(XLA_ISA_FLAG.encode())
  digest.update(_cpu_features().encode())
  return f'tf{tf.__version__}-{digest.hexdigest()[:16]}'


def cache_dir() -> str:
  """This code's XLA cache folder: `paths.xla_cache_dir()/<version>`."""
  return os.path.join(paths.xla_cache_dir(), program_version())


def _with_flag(value: Optional[str], flag: str) -> str:
  return f'{value or ""} {flag}'.strip()


def worker_environment(base: Dict[str, str],
                       cache: Optional[str]) -> Dict[str, str]:
  """The environment of a worker: `base` plus the XLA flags it needs.

  Args:
    base: The caller's environment.
    cache: The XLA persistent cache folder; None for none.

  Returns:
    A new dict; `base` is left unchanged.
  """
  env = dict(base)
  env['XLA_FLAGS'] = _with_flag(env.get('XLA_FLAGS'), XLA_ISA_FLAG)
  _add_cache_flag(env, cache)
  # Errors come back through the pipe; TensorFlow's log lines (and XLA's
  # notes on each cache file it reads) would only clutter the caller's.
  env['TF_CPP_MIN_LOG_LEVEL'] = '3'
  env['PYTHONPATH'] = os.pathsep.join(
      [paths.PROJECT_DIR] + [p for p in [env.get('PYTHONPATH')] if p])
  return env


def _add_cache_flag(env: Dict[str, str], cache: Optional[str]) -> None:
  """Points XLA's persistent cache at `cache` (None: none) in `env`."""
  if cache is not None:
    env['TF_XLA_FLAGS'] = _with_flag(env.get('TF_XLA_FLAGS'),
                                     f'{CACHE_FLAG}={cache}')


def _created_cache_dir() -> Optional[str]:
  """`cache_dir()`, created; None (with a warning) if it cannot be."""
  cache = cache_dir()
  try:
    os.makedirs(cache, exist_ok=True)
  except OSError as e:
    logging.warning('TF TV-L1: cannot create the XLA cache folder %s (%s); '
                    'this process compiles its flow program anew.', cache, e)
    return None
  return cache


# Errors a worker reports that the caller re-raises as themselves.
_ERRORS = {'ValueError': ValueError}


def _program_name(spec: Dict[str, Any]) -> str:
  return f'{spec["height"]}x{spec["width"]} frames'


class FlowWorker:
  """One worker process serving one TV-L1 program; thread-safe."""

  def __init__(self, spec: Dict[str, Any],
               command: Optional[List[str]] = None,
               spare: Optional['_Spare'] = None):
    """Starts the worker (returns at once; it warms up on its own).

    Args:
      spec: {'params': TVL1Params.to_dict(), 'height': int, 'width': int,
        'resize': 'ipp' or 'opencv'}.
      command: The worker's command line; default: this module's `main`
        with `spec`.
      spare: A process from `start_spare` to serve `spec` (it has imported
        TensorFlow, or is doing so); a new process replaces it if it dies.
    """
    self.spec = spec
    self._command = command or [
        sys.executable, '-m', __name__, json.dumps(spec)]
    self._lock = threading.Lock()
    # Whether the worker's loops are XLA-compiled; known after a call.
    self.jit_compile = None
    self._process = None
    self._stderr = None
    if spare is None or not self._adopt(spare):
      self._start()

  def _adopt(self, spare: '_Spare') -> bool:
    """Gives the spare this program; returns whether it took it."""
    self._process, self._stderr = spare.process, spare.stderr
    try:
      pipe.write_arrays(self._process.stdin,
                   [pipe.encode_header({'spec': self.spec,
                             'cache': _created_cache_dir()})])
    except OSError:  # It died: `_start` closes what is left of it.
      return False
    return True

  def _start(self) -> None:
    """Starts the process (closing what is left of a previous one)."""
    if self._process is not None:
      for stream in (self._process.stdin, self._process.stdout,
                     self._stderr):
        try:
          stream.close()
        except OSError:
          pass  # A broken pipe has nothing left to flush.
    self._stderr = tempfile.TemporaryFile()
    self._process = subprocess.Popen(
        self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=self._stderr,
        env=worker_environment(os.environ, _created_cache_dir()))

  @property
  def pid(self) -> int:
    return self._process.pid

  def _last_words(self) -> str:
    """The worker's exit status and last stderr line, for a message."""
    try:
      code = self._process.wait(timeout=10)
    except subprocess.TimeoutExpired:
      self._process.kill()
      code = self._process.wait()
    self._stderr.seek(0)
    lines = [l.strip() for l in
             self._stderr.read().decode(errors='replace').splitlines()
             if l.strip()]
    return f'exit status {code}' + (f': {lines[-1]}' if lines else '')

  def _exchange(self, first: np.ndarray,
                second: np.ndarray) -> Tuple[Dict[str, Any],
                                             Optional[np.ndarray]]:
    pipe.write_arrays(self._process.stdin, [first, second])
    header = pipe.read_array(self._process.stdout)
    if header is None:
      raise EOFError('no reply')
    header = pipe.decode_header(header)
    if 'error' in header:
      return header, None
    return header, pipe.read_array(self._process.stdout)

  def compute(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """TV-L1 flow of float32 [N, H, W] pairs, as `tvl1_tf` computes it.

    Returns:
      float32 [N, H, W, 2].

    Raises:
      ValueError: As `tvl1_tf.compute_flow_batch` in the worker.
      FlowWorkerError: If the worker (restarted once) dies or fails.
    """
    with self._lock:
      for attempt in range(2):
        try:
          header, flow = self._exchange(first, second)
          break
        except (OSError, EOFError, ValueError) as e:
          words = self._last_words()
          if attempt:
            raise FlowWorkerError(
                f'The TensorFlow TV-L1 worker for {_program_name(self.spec)} '
                f'(pid {self.pid}) failed twice ({words}); use '
                f'--flow_backend=opencv.') from e
          self._start()
    if 'error' in header:
      if header['error'] in _ERRORS:
        raise _ERRORS[header['error']](header['message'])
      raise FlowWorkerError(header['message'], header['error'])
    self.jit_compile = header['jit_compile']
    return flow

  def close(self) -> None:
    """Ends the worker (end of its input), killing it after 10 s."""
    with self._lock:
      try:
        self._process.stdin.close()
        self._process.wait(timeout=10)
      except (OSError, subprocess.TimeoutExpired):
        self._process.kill()
        self._process.wait()
      self._stderr.close()


class _Spare(NamedTuple):
  """A worker process started before its program was known."""
  process: subprocess.Popen
  stderr: BinaryIO


_WORKERS: Dict[str, FlowWorker] = {}
_WORKERS_LOCK = threading.Lock()
_spare: Optional[_Spare] = None  # Guarded by _WORKERS_LOCK.
_at_exit_registered = False  # Guarded by _WORKERS_LOCK.


def _close_all_at_exit() -> None:
  """Registers `close_all` to run at exit, once; call with the lock held."""
  global _at_exit_registered
  if not _at_exit_registered:
    _at_exit_registered = True
    atexit.register(close_all)


def start_spare() -> None:
  """Starts a worker now, for the first program this process asks for.

  Importing TensorFlow is most of a warm worker's start; a tool that knows
  from its flags that it will compute TF TV-L1 flow on a CPU calls this
  before it imports TensorFlow itself (`early_flow_worker`), so that the two
  imports overlap. The spare learns its program from the first `worker`
  call; one that is never used is killed at exit. It changes nothing in
  this process: this module does not import TensorFlow.
  """
  global _spare
  with _WORKERS_LOCK:
    if _spare is not None or _WORKERS:
      return
    stderr = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, '-m', __name__, SPARE_ARG], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=stderr,
        env=worker_environment(os.environ, None))
    _spare = _Spare(process, stderr)
    _close_all_at_exit()


def _spec(params: Dict[str, Any], height: int, width: int,
          resize: str) -> Dict[str, Any]:
  return {'params': params, 'height': int(height), 'width': int(width),
          'resize': resize}


def worker(params: Dict[str, Any], height: int, width: int,
           resize: str) -> FlowWorker:
  """The worker for a program, started on first use.

  Args:
    params: `TVL1Params.to_dict()`.
    height: Frame height.
    width: Frame width.
    resize: `tvl1_resize.resize_arithmetic()` of the caller's OpenCV.

  Returns:
    The program's running `FlowWorker`.
  """
  global _spare
  spec = _spec(params, height, width, resize)
  key = json.dumps(spec, sort_keys=True)
  with _WORKERS_LOCK:
    if key not in _WORKERS:
      _close_all_at_exit()
      _WORKERS[key] = FlowWorker(spec, spare=_spare)
      _spare = None
    return _WORKERS[key]


def close_all() -> None:
  """Ends every worker of this process (and kills an unused spare)."""
  global _spare
  with _WORKERS_LOCK:
    workers = list(_WORKERS.values())
    _WORKERS.clear()
    spare, _spare = _spare, None
  if spare is not None:  # It has done nothing yet: no need to wait for it.
    spare.process.kill()
    spare.process.wait()
    for stream in (spare.process.stdin, spare.process.stdout, spare.stderr):
      stream.close()
  for w in workers:
    w.close()


def _serve(spec: Dict[str, Any], requests: BinaryIO,
           replies: BinaryIO) -> None:
  """The worker's loop: a pair of arrays in, a header and a flow out."""
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  from kinetics_i3d.flow import tvl1_programs
  # pylint: enable=g-import-not-at-top
  # Grappler's rewrites of the loops' graph only slow a warm start (the
  # program is already in its final form); this process runs nothing else.
  tf.config.optimizer.set_experimental_options(
      {'disable_meta_optimizer': True})
  try:
    program = tvl1_programs.WorkerProgram(
        tvl1_params.TVL1Params.from_dict(spec['params']), spec['height'],
        spec['width'], spec['resize'])
    program.warm_up()
  except Exception as e:  # pylint: disable=broad-except
    failure = e  # Reported for each request, as the request's error.
  else:
    failure = None
  while True:
    first = pipe.read_array(requests)
    if first is None:
      return
    second = pipe.read_array(requests)
    try:
      if failure is not None:
        raise failure
      flow = program(first, second)
    except Exception as e:  # pylint: disable=broad-except
      pipe.write_arrays(replies, [pipe.encode_header({'error': type(e).__name__,
                                      'message': str(e)})])
      continue
    pipe.write_arrays(replies, [pipe.encode_header({'jit_compile': program.jit_compile}),
                           flow])


def _spare_spec(requests: BinaryIO) -> Optional[Dict[str, Any]]:
  """A spare's program: imports TensorFlow, then waits for the caller's."""
  import tensorflow  # pylint: disable=g-import-not-at-top,unused-import
  header = pipe.read_array(requests)
  if header is None:  # Not needed after all.
    return None
  header = pipe.decode_header(header)
  # XLA reads its flags at its first compilation, not at import.
  _add_cache_flag(os.environ, header['cache'])
  return header['spec']


def main(argv: Sequence[str]) -> None:
  """Serves one program (JSON spec in argv[1], or `SPARE_ARG`) on stdio."""
  replies = os.fdopen(os.dup(1), 'wb')
  # Anything else written to stdout would corrupt the replies.
  os.dup2(2, 1)
  sys.stdout = sys.stderr
  requests = sys.stdin.buffer
  spec = (_spare_spec(requests) if argv[1] == SPARE_ARG else
          json.loads(argv[1]))
  if spec is not None:
    _serve(spec, requests, replies)


if __name__ == '__main__':
  main(sys.argv)
