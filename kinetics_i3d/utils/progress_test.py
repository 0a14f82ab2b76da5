"""Tests for progress.py: progress of long I3D preprocessing work in the logs.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.) A fake
clock stands in for time; the expected lines are computed by hand.
"""

from absl.testing import absltest

from kinetics_i3d.utils import progress


class FakeClock:

  def __init__(self):
    self.now = 100.0

  def __call__(self) -> float:
    return self.now


class ProgressTest(absltest.TestCase):

  def test_logs_every_interval_with_rate_and_time_left(self):
    clock = FakeClock()
    with self.assertLogs(level='INFO') as logs:
      with progress.Progress('TV-L1 flow of a.mp4', total=100, unit='pair',
                             log_every_s=10, clock=clock) as report:
        for _ in range(100):
          clock.now += 0.5  # 2 pairs per second.
          report.update()
    messages = [r.getMessage() for r in logs.records]
    # One line every 20 pairs (10 s), then the last line.
    self.assertLen(messages, 6)
    self.assertEqual(messages[0], 'TV-L1 flow of a.mp4: 20/100 pairs (20%), '
                     '2 pairs/s, about 40 s left.')
    self.assertEqual(messages[3], 'TV-L1 flow of a.mp4: 80/100 pairs (80%), '
                     '2 pairs/s, about 10 s left.')
    self.assertEqual(messages[-1], 'TV-L1 flow of a.mp4: done, 100 pairs in '
                     '50 s.')

  def test_warm_up_is_not_counted_in_the_time_left(self):
    clock = FakeClock()
    with self.assertLogs(level='INFO') as logs:
      with progress.Progress('TV-L1 flow', total=100, unit='pair',
                             log_every_s=10, clock=clock) as report:
        clock.now += 30  # The first pair also compiles the XLA loop.
        report.update()
        for _ in range(10):
          clock.now += 1  # Then 1 pair per second.
          report.update()
        report.update(89)
    messages = [r.getMessage() for r in logs.records]
    self.assertEqual(messages[:2], [
        'TV-L1 flow: 1/100 pairs (1%), 0.0333 pairs/s.',
        'TV-L1 flow: 11/100 pairs (11%), 1 pairs/s, about 1 min 29 s left.'])

  def test_unknown_total_and_note(self):
    clock = FakeClock()
    with self.assertLogs(level='INFO') as logs:
      report = progress.Progress('Features', unit='video', log_every_s=60,
                                 clock=clock)
      report.set_note('1 failed')
      clock.now += 3600
      report.update(3)
      report.close()
    self.assertEqual([r.getMessage() for r in logs.records], [
        'Features: 3 videos, 0.000833 videos/s (1 failed).',
        'Features: done, 3 videos in 1 h 00 min (1 failed).'])

  def test_short_work_is_silent(self):
    clock = FakeClock()
    with self.assertNoLogs(level='INFO'):
      with progress.Progress('Decoding', total=5, clock=clock) as report:
        for _ in range(5):
          clock.now += 1
          report.update()
    self.assertEqual(report.count, 5)

  def test_bytes_resumed_with_a_line_per_tenth(self):
    clock = FakeClock()
    mib = 1 << 20
    with self.assertLogs(level='INFO') as logs:
      with progress.Progress('model.ckpt.data', total=10 * mib,
                             unit=progress.BYTES, initial=3 * mib,
                             log_lines=10, clock=clock) as report:
        for _ in range(14):
          clock.now += 1  # 512 KiB per second.
          report.update(mib // 2)
    messages = [r.getMessage() for r in logs.records]
    # The 3 MiB of the earlier run are not counted in the rate.
    self.assertEqual(messages, [
        'model.ckpt.data: 4.0 MiB/10.0 MiB (40%), 512.0 KiB/s, about 12 s '
        'left.',
        'model.ckpt.data: 5.0 MiB/10.0 MiB (50%), 512.0 KiB/s, about 10 s '
        'left.',
        'model.ckpt.data: 6.0 MiB/10.0 MiB (60%), 512.0 KiB/s, about 8 s '
        'left.',
        'model.ckpt.data: 7.0 MiB/10.0 MiB (70%), 512.0 KiB/s, about 6 s '
        'left.',
        'model.ckpt.data: 8.0 MiB/10.0 MiB (80%), 512.0 KiB/s, about 4 s '
        'left.',
        'model.ckpt.data: 9.0 MiB/10.0 MiB (90%), 512.0 KiB/s, about 2 s '
        'left.',
        'model.ckpt.data: 10.0 MiB/10.0 MiB (100%), 512.0 KiB/s.',
        'model.ckpt.data: done, 10.0 MiB in 14 s.'])

  def test_binary_size(self):
    self.assertEqual(progress.binary_size(512), '0.5 KiB')
    self.assertEqual(progress.binary_size((1 << 20) - 1), '1024.0 KiB')
    self.assertEqual(progress.binary_size(48.5 * (1 << 20)), '48.5 MiB')


if __name__ == '__main__':
  absltest.main()
