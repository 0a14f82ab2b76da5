"""Tests for settings.py: the extraction settings (I3D, CVPR 2017)."""

import json
import os
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized

from kinetics_i3d import paths
from kinetics_i3d.features import settings
from kinetics_i3d.flow import backends


class ConfigTest(parameterized.TestCase):

  @parameterized.parameters(
      (dict(endpoint='Mixed_9z'), r'endpoint.*Mixed_9z.*Mixed_5c'),
      (dict(pooling='max'), r'pooling.*max'),
      (dict(pooling='logits'), r'logits'),
      (dict(endpoint='Logits'), r'logits'),
      (dict(streams=('rgb', 'depth')), r'streams'),
      (dict(window=-1), r'window'),
      (dict(window=0, stride=4), r'stride.*whole video'),
      (dict(endpoint='Logits', pooling='logits', window=8), r'at least 9'),
      (dict(endpoint='Logits', pooling='logits', crop=112), r'224'),
      (dict(crop=300), r'crop'),
      (dict(batch_size=0), r'batch_size'),
      (dict(output_format='h5'), r'output_format'),
  )
  def test_bad_settings(self, kwargs, regex):
    with self.assertRaisesRegex(ValueError, regex):
      settings.ExtractionConfig(**kwargs)

  def test_defaults(self):
    config = settings.ExtractionConfig()
    self.assertEqual(config.endpoint, 'Mixed_5c')
    self.assertEqual(config.effective_stride, config.window)
    self.assertEqual(settings.ExtractionConfig(streams=('flow', 'rgb')).streams,
                     ('rgb', 'flow'))

  def test_checkpoints_default_to_the_projects_folder(self):
    # Not data/checkpoints under whatever the current directory is.
    self.assertEqual(settings.ExtractionConfig().checkpoint_dir,
                     paths.CHECKPOINT_DIR)
    self.assertTrue(os.path.isabs(settings.ExtractionConfig().checkpoint_dir))

  def test_flow_algorithm_is_part_of_the_settings(self):
    rgb = settings.ExtractionConfig()
    self.assertNotIn('flow', rgb.identity())
    flow = settings.ExtractionConfig(streams=('rgb', 'flow'),
                                     flow_backend='opencv')
    self.assertEqual(flow.identity()['flow'], backends.identity('opencv'))
    self.assertEqual(flow.identity()['flow']['params']['tau'], 0.25)
    self.assertEqual(json.loads(json.dumps(flow.identity())),
                     flow.identity())
    with mock.patch.object(backends, 'default_backend',
                           return_value='opencv'):
      self.assertEqual(
          settings.ExtractionConfig(streams=('flow',)).flow_backend, 'opencv')
    with self.assertRaisesRegex(ValueError, '--flow_backend must be one of'):
      settings.ExtractionConfig(streams=('flow',), flow_backend='farneback')


if __name__ == '__main__':
  absltest.main()
