"""Timing helpers shared by the benchmark scripts of this I3D reimplementation.

I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017 (https://arxiv.org/abs/1705.07750).

The benchmark scripts import this module as `timing` (Python puts a script's
own folder first on `sys.path`).

  with timing.timed() as t:
    work()
  print(f'{t.wall_s:.2f} s, {t.cpu_s:.2f} CPU-s on {timing.cpu_model()}')
"""

import contextlib
import dataclasses
import platform
import time
from typing import Iterator


@dataclasses.dataclass
class Timing:
  """Seconds a block took: wall clock, and CPU time of this process.

  `cpu_s` counts every thread of this process (so it can exceed `wall_s`) and
  no child process.
  """
  wall_s: float = 0.
  cpu_s: float = 0.


@contextlib.contextmanager
def timed() -> Iterator[Timing]:
  """Times the `with` block; the `Timing` it yields is filled in at its end."""
  result = Timing()
  wall_start, cpu_start = time.perf_counter(), time.process_time()
  try:
    yield result
  finally:
    result.wall_s = time.perf_counter() - wall_start
    result.cpu_s = time.process_time() - cpu_start


def cpu_model() -> str:
  """The CPU's model name, e.g. 'AMD EPYC 7B13', or 'unknown'."""
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or 'unknown'

