"""The TF TV-L1 worker started with the tool, before either imports TensorFlow.

I3D's flow stream (Carreira & Zisserman, "Quo Vadis, Action Recognition? A
New Model and the Kinetics Dataset", CVPR 2017) needs TV-L1 flow. On a CPU
the TensorFlow TV-L1 runs in a worker process (`tvl1_tf_worker`), and once
its compiled loops are in the persistent cache, most of a worker's start is
importing TensorFlow and tracing its program (about 2.5 s and 3.4 s on 2
cores), time the tool used to wait for after its own start. So a tool whose
command line says `--flow_backend=tf` starts the worker first
(`tvl1_tf_worker.start_spare`), before it imports TensorFlow itself
(`kinetics_i3d.utils.cli` calls `start_if_asked`): the two imports overlap,
and the worker learns its program when the tool's first frames come.

Only an explicit `--flow_backend=tf` starts one, and not on a machine with
an NVIDIA GPU, where the TF TV-L1 runs in the tool's own process. A worker
that is not used (a tool run that stops early, or one that computes no
flow) is killed at exit.
"""

import glob
from typing import Optional, Sequence

from kinetics_i3d.flow import tvl1_tf_worker

_FLAG = '--flow_backend'  # backends.FLAG_NAME (that module imports OpenCV).
_GPU_DEVICES = '/dev/nvidia[0-9]*'


def _last_value(argv: Sequence[str], flag: str) -> Optional[str]:
  """The last value given to `flag` (`--flag=value` or `--flag value`)."""
  value = None
  for i, arg in enumerate(argv):
    if arg == '--':
      break
    if arg.startswith(flag + '='):
      value = arg[len(flag) + 1:]
    elif arg == flag and i + 1 < len(argv):
      value = argv[i + 1]
  return value


def asks_for_tf_flow(argv: Sequence[str]) -> bool:
  """Whether a command line asks for the TF TV-L1 on a CPU-only machine."""
  return (_last_value(argv[1:], _FLAG) == 'tf' and
          not glob.glob(_GPU_DEVICES))


def start_if_asked(argv: Sequence[str]) -> bool:
  """Starts the TF TV-L1 worker if `argv` asks for it; returns whether.

  Args:
    argv: The tool's command line (`sys.argv`).

  Returns:
    Whether a worker was started.
  """
  if not asks_for_tf_flow(argv):
    return False
  tvl1_tf_worker.start_spare()
  return True
