"""Freed memory kept for reuse, so a producer thread costs no page faults.

The I3D tools (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New
Model and the Kinetics Dataset", CVPR 2017) decode and resize clips in a
thread beside the network (`prefetch`). A decoded clip is tens of megabytes.
glibc's malloc serves a block that large with a fresh `mmap` and gives it back
on `free`, and a thread's arena gives back the top of its heap as soon as it
is free; the next clip then faults every page in again, about ten thousand
faults per clip, kernel time the model loses on a small machine (a tenth of
its speed on 2 cores). `keep_freed_memory` tells malloc to serve such blocks
from its heaps and to keep what is freed, so the next clip reuses it. The
process's peak memory moves little (six 79-frame clips in batches of 2:
1,774 to 1,818 MiB for `i3d-fvd`'s embedding, 1,400 unchanged for
extract-features), but it no longer shrinks between clips.

It changes malloc for the whole process, so tools call it (`cli`), not the
library. A user's own malloc settings (`MALLOC_TRIM_THRESHOLD_`,
`MALLOC_MMAP_THRESHOLD_`, `GLIBC_TUNABLES`) win, and it does nothing
outside glibc.
"""

import ctypes
import os
import platform

# mallopt's parameter numbers (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to this size come from malloc's heaps; this much free memory at
# a heap's top is kept.
_MMAP_THRESHOLD_BYTES = 1 << 30
_TRIM_THRESHOLD_BYTES = 1 << 30
USER_SETTINGS = ('MALLOC_TRIM_THRESHOLD_', 'MALLOC_MMAP_THRESHOLD_',
                 'GLIBC_TUNABLES')

_kept = False


def keep_freed_memory() -> bool:
  """Makes malloc keep freed memory for reuse (once per process).

  Returns:
    Whether this process's malloc now keeps it (False outside glibc, when
    the user set malloc's thresholds, or when glibc refused them).
  """
  global _kept
  if _kept:
    return True
  if platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc':
    return False
  if any(name in os.environ for name in USER_SETTINGS):
    return False
  try:
    mallopt = ctypes.CDLL(None).mallopt
  except (OSError, AttributeError):
    return False
  mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
  # The mmap threshold first: setting it also stops glibc from moving
  # either threshold by itself.
  _kept = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES) and
               mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES))
  return _kept
