"""TensorFlow's fast oneDNN CPU kernels for every I3D tool.

I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017) spends its time in 3D convolutions.
TensorFlow runs them with oneDNN only when `TF_ENABLE_ONEDNN_OPTS` says so or,
with the variable unset, on CPUs with AVX-512 or newer; elsewhere (the AVX2
CPUs most users have) it falls back to Eigen's kernels, which run the model
at a fraction of the speed (README, Speed). TensorFlow reads the variable
once, when it is imported, so `enable_onednn` must run before that: every
tool calls it through `kinetics_i3d.utils.cli`, `i3d.py` at its top, and
the Beam pipeline's module (the workers' entry).

A user's explicit setting wins: `TF_ENABLE_ONEDNN_OPTS=0` keeps Eigen's
kernels. A process that imported TensorFlow first, with oneDNN off though
the user did not ask for that, gets one log line saying how to turn it on.
"""

import os
import sys

from absl import logging

ENV_VAR = 'TF_ENABLE_ONEDNN_OPTS'

HINT = (f'TensorFlow runs without its oneDNN kernels, so I3D runs slower: '
        f'set {ENV_VAR}=1 before TensorFlow is first imported (or import '
        f'i3d before TensorFlow).')
# What TensorFlow reads as false (tsl's ReadBoolFromEnvVar).
_OFF = ('0', 'false')

_hinted = False


def onednn_enabled() -> bool:
  """Whether the imported TensorFlow runs oneDNN kernels.

  Returns:
    The answer of TensorFlow's own check; True when TensorFlow is not
    imported yet or does not say (then nothing can be told).
  """
  if 'tensorflow' not in sys.modules:
    return True
  try:
    # pylint: disable=g-import-not-at-top
    from tensorflow.python.util import _pywrap_util_port
  except ImportError:
    return True
  return bool(_pywrap_util_port.IsMklEnabled())


def enable_onednn() -> None:
  """Turns oneDNN on for this process's TensorFlow, or says how to.

  Before TensorFlow is imported: sets `TF_ENABLE_ONEDNN_OPTS=1` unless the
  variable is set (the child processes a tool starts inherit it). After:
  logs `HINT` once per process if oneDNN is off and the variable does not
  say `0` (the user's choice).
  """
  global _hinted
  if 'tensorflow' not in sys.modules:
    os.environ.setdefault(ENV_VAR, '1')
    return
  if (_hinted or os.environ.get(ENV_VAR, '').lower() in _OFF or
      onednn_enabled()):
    return
  _hinted = True
  logging.warning(HINT)
