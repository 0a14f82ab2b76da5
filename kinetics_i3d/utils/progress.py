"""Progress of long work: a bar on terminals, and lines in the logs.

The tools of this reimplementation of I3D (Joao Carreira, Andrew Zisserman,
"Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR
2017, https://arxiv.org/abs/1705.07750) decode videos, compute TV-L1 flow and
extract features for minutes or hours. A tqdm bar alone shows nothing when
stderr is redirected to a file (a batch job's log), so `Progress` also logs a
line with absl.logging every `LOG_EVERY_S` seconds (count, rate, time left),
and a last line when it logged any. Work that ends within the first interval
logs nothing. The rate and time left are measured from the first finished
item on: the first one also pays one-off costs (loading, XLA compilation)
that the others do not, so no time left is estimated before a second.

Downloads count bytes (`unit=BYTES`, shown in KiB and MiB), start from what
an earlier run left (`initial`) and log a line at each tenth of the file
(`log_lines=10`) rather than every few seconds.

  with progress.Progress('TV-L1 flow', total=num_pairs, unit='pair',
                         bar=sys.stderr.isatty()) as report:
    for pair in pairs:
      ...
      report.update()
"""

import time
from typing import Callable, Optional, Tuple

from absl import logging
import tqdm

# Seconds between two log lines of one piece of work.
LOG_EVERY_S = 10.0
# A bar appears only for work that lasts longer than this.
BAR_DELAY_S = 3.0
# The unit of a count of bytes (a download), shown in KiB and MiB.
BYTES = 'B'


def binary_size(num_bytes: float) -> str:
  """'512.0 KiB' below a MiB, else '48.5 MiB'."""
  if num_bytes < 1 << 20:
    return f'{num_bytes / 1024:.1f} KiB'
  return f'{num_bytes / (1 << 20):.1f} MiB'


def _duration(seconds: float) -> str:
  seconds = int(round(seconds))
  if seconds < 60:
    return f'{seconds} s'
  if seconds < 3600:
    return f'{seconds // 60} min {seconds % 60:02d} s'
  return f'{seconds // 3600} h {seconds % 3600 // 60:02d} min'


class Progress:
  """Counts finished items; shows a bar and logs every few seconds."""

  def __init__(self,
               desc: str,
               total: Optional[int] = None,
               unit: str = 'frame',
               bar: bool = False,
               log_every_s: Optional[float] = None,
               clock: Callable[[], float] = time.monotonic,
               *,
               initial: int = 0,
               log_lines: Optional[int] = None,
               bar_delay_s: float = BAR_DELAY_S):
    """Starts counting.

    Args:
      desc: What is done, e.g. 'TV-L1 flow of clip.mp4'.
      total: Items expected, if known.
      unit: Name of one item ('frame', 'pair', 'video'), or `BYTES`: counts
        are then sizes in KiB and MiB.
      bar: Whether to show a tqdm bar on stderr (after `bar_delay_s`); pass
        `sys.stderr.isatty()` to show it on terminals only.
      log_every_s: Seconds between log lines; None for `LOG_EVERY_S`.
      clock: Monotonic time in seconds (tests pass a fake one).
      initial: Items done before this count began (a resumed download); not
        counted in the rate.
      log_lines: With a known `total`, log a line each time another
        `1/log_lines` of it is done, instead of every `log_every_s`.
      bar_delay_s: Seconds of work before the bar appears.
    """
    self._desc = desc
    self._total = total
    self._unit = unit
    self._log_every_s = LOG_EVERY_S if log_every_s is None else log_every_s
    self._clock = clock
    self._start = clock()
    self._last_log = self._start
    self._initial = initial
    self._count = initial
    # Items between two evenly spaced log lines (`log_lines`), and the next.
    self._step = max(total // log_lines, 1) if log_lines and total else None
    self._next_line = (initial // self._step + 1) * self._step if (
        self._step) else None
    # (time, count) at the first update: the end of the warm-up.
    self._warm: Optional[Tuple[float, int]] = None
    self._logged = False
    self._note = ''
    scale = {'unit_scale': True, 'unit_divisor': 1024} if unit == BYTES else {}
    self._bar = tqdm.tqdm(total=total, initial=initial, desc=desc, unit=unit,
                          disable=not bar, delay=bar_delay_s,
                          dynamic_ncols=True, **scale)

  @property
  def count(self) -> int:
    """Items finished so far."""
    return self._count

  def set_note(self, note: str) -> None:
    """Text shown after the counts (e.g. '3 failed'), on the bar and in logs."""
    self._note = note
    self._bar.set_postfix_str(note, refresh=False)

  def update(self, n: int = 1) -> None:
    """Records `n` more finished items; logs if a line is due."""
    self._count += n
    self._bar.update(n)
    now = self._clock()
    if self._warm is None:
      self._warm = (now, self._count)
    if self._line_due(now):
      self._last_log = now
      self._logged = True
      logging.info('%s', self.message(now))

  def _line_due(self, now: float) -> bool:
    if self._step is None:
      return now - self._last_log >= self._log_every_s
    if self._count < self._next_line:
      return False
    self._next_line = (self._count // self._step + 1) * self._step
    return True

  def message(self, now: Optional[float] = None) -> str:
    """'<desc>: <count>/<total> <unit>s (<pct>%), <rate>/s, about <t> left'."""
    now = self._clock() if now is None else now
    elapsed = max(now - self._start, 1e-9)
    rate = (self._count - self._initial) / elapsed
    warm = self._warm is not None and self._count > self._warm[1]
    if warm:
      rate = (self._count - self._warm[1]) / max(now - self._warm[0], 1e-9)
    text = f'{self._desc}: {self._counts()}, {self._rate(rate)}'
    if warm and self._total and rate > 0 and self._count < self._total:
      text += f', about {_duration((self._total - self._count) / rate)} left'
    if self._note:
      text += f' ({self._note})'
    return text + '.'

  def close(self) -> None:
    """Removes the bar; logs a last line if the work was long enough to log."""
    self._bar.close()
    if self._logged:
      elapsed = self._clock() - self._start
      note = f' ({self._note})' if self._note else ''
      done = (binary_size(self._count) if self._unit == BYTES else
              f'{self._count} {self._unit}s')
      logging.info('%s: done, %s in %s%s.', self._desc, done,
                   _duration(elapsed), note)
      self._logged = False

  def _counts(self) -> str:
    """'20/100 pairs (20%)', '3 videos', '4.8 MiB/48.5 MiB (10%)'."""
    if self._unit == BYTES:
      text = binary_size(self._count)
      if self._total:
        text += f'/{binary_size(self._total)}'
    else:
      text = f'{self._count}'
      if self._total:
        text += f'/{self._total}'
      text += f' {self._unit}s'
    if self._total:
      text += f' ({100 * self._count / self._total:.0f}%)'
    return text

  def _rate(self, rate: float) -> str:
    if self._unit == BYTES:
      return f'{binary_size(rate)}/s'
    return f'{rate:.3g} {self._unit}s/s'

  def __enter__(self) -> 'Progress':
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()
