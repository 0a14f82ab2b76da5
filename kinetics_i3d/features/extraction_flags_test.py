"""Tests for extraction_flags.py: the I3D feature tools' shared flags.

(I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.)
Flags are defined into fresh `FlagValues`, so these tests touch no tool's.
"""

from typing import Sequence

from absl import flags
from absl.testing import absltest

from kinetics_i3d import paths
from kinetics_i3d.features import extraction_flags
from kinetics_i3d.features import settings
from kinetics_i3d.flow import backends


def _parse(argv: Sequence[str]) -> flags.FlagValues:
  values = flags.FlagValues()
  extraction_flags.define_extraction_flags(values)
  values(['tool', *argv])
  return values


class ExtractionFlagsTest(absltest.TestCase):

  def test_defaults(self):
    values = _parse([])
    config = extraction_flags.config_from_flags(values)
    self.assertEqual(config, settings.ExtractionConfig())
    self.assertEqual(values.checkpoint_dir, paths.CHECKPOINT_DIR)
    self.assertIsNone(values.flow_backend)
    self.assertFalse(values.overwrite)

  def test_logits_either_way(self):
    for argv in (['--pooling=logits'], ['--endpoint=Logits']):
      config = extraction_flags.config_from_flags(_parse(argv))
      self.assertEqual((config.endpoint, config.pooling),
                       ('Logits', 'logits'), argv)

  def test_settings(self):
    config = extraction_flags.config_from_flags(_parse([
        '--streams=both', '--window=32', '--stride=16', '--nocover_tail',
        '--checkpoint_dir=/ckpt', '--flow_backend=opencv', '--fast',
        '--output_format=npz', '--flow_workers=3']))
    self.assertEqual(config.streams, ('rgb', 'flow'))
    self.assertEqual((config.window, config.stride, config.cover_tail),
                     (32, 16, False))
    self.assertEqual(config.checkpoint_dir, '/ckpt')
    self.assertEqual(config.flow_backend, 'opencv')
    self.assertEqual(config.identity()['flow'], backends.identity('opencv'))
    self.assertTrue(config.fast)
    self.assertEqual((config.output_format, config.flow_workers), ('npz', 3))

  def test_inconsistent_flags(self):
    with self.assertRaisesRegex(ValueError, 'logits'):
      extraction_flags.config_from_flags(
          _parse(['--endpoint=Logits', '--pooling=time']))

  def test_bad_values(self):
    for argv in (['--window=-1'], ['--flow_backend=farneback'],
                 ['--streams=depth']):
      with self.assertRaises(flags.IllegalFlagValueError, msg=argv):
        _parse(argv)

  def test_every_flag_has_help(self):
    values = flags.FlagValues()
    extraction_flags.define_extraction_flags(values)
    for name in values:
      self.assertTrue(values[name].help, name)


if __name__ == '__main__':
  absltest.main()
