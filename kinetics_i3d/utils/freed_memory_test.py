"""Tests for `kinetics_i3d.utils.freed_memory`.

malloc's settings belong to the whole process, so each case runs in a
process of its own; page faults are counted by the kernel (`getrusage`).
"""

import json
import os
import platform
import subprocess
import sys

from absl.testing import absltest

from kinetics_i3d.utils import freed_memory

_CLIP_BYTES = 40 << 20

# Allocates, fills and frees a block of _CLIP_BYTES per "clip" in a thread,
# as the tools' producers do, and prints the minor page faults of the last
# clips.
_CLIPS_IN_A_THREAD = r'''
import json, resource, sys, threading
import numpy as np
from kinetics_i3d.utils import freed_memory
kept = freed_memory.keep_freed_memory() if sys.argv[1] == 'keep' else None
again = freed_memory.keep_freed_memory() if kept else None
faults = []
def clips():
  for _ in range(6):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    clip = np.empty(%d, np.uint8)
    clip.fill(1)
    del clip
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
thread = threading.Thread(target=clips)
thread.start()
thread.join()
print(json.dumps({'kept': kept, 'again': again, 'faults': faults[2:]}))
'''


def _run(mode: str, **env: str) -> dict:
  environment = dict(os.environ, **env)
  for name in freed_memory.USER_SETTINGS:
    if name not in env:
      environment.pop(name, None)
  done = subprocess.run([sys.executable, '-c',
                         _CLIPS_IN_A_THREAD % _CLIP_BYTES, mode],
                        env=environment, capture_output=True, text=True,
                        check=True)
  return json.loads(done.stdout.strip().splitlines()[-1])


@absltest.skipUnless(platform.libc_ver()[0] == 'glibc', 'glibc malloc only')
class KeepFreedMemoryTest(absltest.TestCase):

  def test_later_clips_reuse_the_memory_instead_of_faulting_it_in(self):
    # Without it every clip faults its pages in again: at least one fault
    # per 2 MB (the kernel may map more than a page per fault).
    plain = _run('plain')['faults']
    self.assertGreaterEqual(min(plain), _CLIP_BYTES // (2 << 20))
    kept = _run('keep')
    self.assertTrue(kept['kept'])
    self.assertTrue(kept['again'])  # Idempotent.
    self.assertLessEqual(max(kept['faults']), min(plain) // 10)

  def test_a_users_malloc_setting_wins(self):
    for name, value in [('MALLOC_TRIM_THRESHOLD_', '131072'),
                        ('GLIBC_TUNABLES', 'glibc.malloc.trim_threshold=1')]:
      with self.subTest(name):
        result = _run('keep', **{name: value})
        self.assertFalse(result['kept'])


if __name__ == '__main__':
  absltest.main()
