"""Tests for outputs.py: a feature folder's settings file, records, formats.

(I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.)
A run that fails writes nothing that would refuse the corrected run; the
flow algorithm's identity decides whether flow features are reused.
"""

import json
import os
import tempfile
from unittest import mock

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from kinetics_i3d.features import batch_run
from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import fixtures
from kinetics_i3d.features import inputs
from kinetics_i3d.features import outputs
from kinetics_i3d.features import settings
from kinetics_i3d.features import storage
from kinetics_i3d.flow import backends
from kinetics_i3d.weights import checkpoints


class SettingsFileTest(tf.test.TestCase):
  """A run that fails writes nothing that would refuse the corrected run."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp()
    cls.video = fixtures.make_video(os.path.join(cls.folder, 'v.mp4'), 20,
                                    seed=7)
    cls.items = inputs.resolve_inputs([cls.video])
    cls.model = fixtures.random_model('Mixed_5c')

  def _config(self, **kwargs):
    return settings.ExtractionConfig(**{**fixtures.SMALL, **kwargs})

  def test_failed_flow_run_leaves_nothing(self):
    output_dir = os.path.join(fixtures.new_tempdir(self), 'features')
    # The flow network cannot be loaded (an RGB checkpoint file), as when a
    # user's --streams=flow run lacks the flow weights.
    flow = self._config(streams=('flow',), flow_backend='opencv',
                        flow_checkpoint=fixtures.make_test_checkpoint(
                            'rgb_scratch'))
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'wrong stream'):
      batch_run.run(self.items, flow, output_dir, progress=False)
    self.assertFalse(os.path.exists(output_dir))
    # The corrected command, with other settings, in the same folder.
    rgb = self._config(window=8, stride=8)
    summary = batch_run.run(self.items, rgb, output_dir,
                            extractor_lib.FeatureExtractor(
                                rgb, {'rgb': self.model}),
                            progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (1, 0))
    with open(os.path.join(output_dir, storage.CONFIG_NAME)) as f:
      self.assertEqual(json.load(f), rgb.identity())

  def test_run_whose_videos_all_failed_pins_no_settings(self):
    output_dir = fixtures.new_tempdir(self)
    corrupt = fixtures.write_corrupt_video(
        os.path.join(fixtures.new_tempdir(self), 'bad.mp4'))
    first = self._config()
    summary = batch_run.run(inputs.resolve_inputs([corrupt]), first,
                            output_dir, extractor_lib.FeatureExtractor(
                                first, {'rgb': self.model}),
                            progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (0, 1))
    self.assertFalse(
        os.path.exists(os.path.join(output_dir, storage.CONFIG_NAME)))
    # Other settings are accepted; the manifest lists this run's records.
    other = self._config(window=8, stride=8)
    items = inputs.resolve_inputs([corrupt, self.video])
    summary = batch_run.run(items, other, output_dir,
                            extractor_lib.FeatureExtractor(
                                other, {'rgb': self.model}),
                            progress=False)
    self.assertEqual((summary.succeeded, summary.failed), (1, 1))
    with open(os.path.join(output_dir, storage.MANIFEST_NAME)) as f:
      records = [json.loads(line) for line in f]
    self.assertCountEqual([r['key'] for r in records], ['bad', 'v'])
    for record in records:
      self.assertEqual(record['settings'], other.identity())
    with open(os.path.join(output_dir, storage.CONFIG_NAME)) as f:
      self.assertEqual(json.load(f), other.identity())

  def test_refused_run_changes_nothing(self):
    output_dir = fixtures.new_tempdir(self)
    first = self._config()
    batch_run.run(self.items, first, output_dir,
                  extractor_lib.FeatureExtractor(first, {'rgb': self.model}),
                  progress=False)
    before = {n: os.stat(os.path.join(output_dir, n)).st_mtime_ns
              for n in os.listdir(output_dir)}
    with self.assertRaisesRegex(ValueError, r'window.*differ.*--overwrite'):
      batch_run.run(self.items, self._config(window=8, stride=8), output_dir,
                    progress=False)
    self.assertEqual({n: os.stat(os.path.join(output_dir, n)).st_mtime_ns
                      for n in os.listdir(output_dir)}, before)

  def test_npz_output(self):
    output_dir = fixtures.new_tempdir(self)
    config = self._config(output_format='npz')
    features = extractor_lib.FeatureExtractor(config,
                                             {'rgb': self.model})
    batch_run.run(self.items, config, output_dir, features, progress=False)
    with np.load(os.path.join(output_dir, 'v.npz')) as data:
      self.assertCountEqual(data.files, ['rgb', 'rgb_windows'])
      self.assertEqual(data['rgb'].shape, (2, 1024))
      self.assertAllClose(data['rgb_windows'], [[0., .64], [.16, .8]])


class FlowIdentityTest(tf.test.TestCase):
  """The flow algorithm's identity decides whether flow features are reused."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp()
    video = fixtures.make_video(os.path.join(cls.folder, 'f.mp4'), 12, 36, 44,
                                seed=8)
    cls.items = inputs.resolve_inputs([video])
    cls.settings = dict(streams=('flow',), window=8, stride=8, resize=36,
                        crop=32, pooling='clip', flow_backend='opencv')
    cls.model = fixtures.random_model('Mixed_5c', channels=2, seed=1)

  def _run(self, config, output_dir, **kwargs):
    return batch_run.run(self.items, config, output_dir,
                         extractor_lib.FeatureExtractor(
                             config, {'flow': self.model}),
                         progress=False, **kwargs)

  def test_recorded_and_compared_on_resume(self):
    output_dir = fixtures.new_tempdir(self)
    config = settings.ExtractionConfig(**self.settings)
    self.assertEqual(self._run(config, output_dir).succeeded, 1)
    opencv = backends.identity('opencv')
    with open(os.path.join(output_dir, storage.MANIFEST_NAME)) as f:
      record = json.loads(f.readline())
    self.assertEqual(record['flow'], opencv)
    self.assertEqual(record['settings']['flow'], opencv)
    with open(os.path.join(output_dir, storage.CONFIG_NAME)) as f:
      self.assertEqual(json.load(f)['flow'], opencv)
    self.assertEqual(self._run(config, output_dir).skipped, 1)

    # The same backend with other parameters (or another library version).
    changed = {**opencv, 'params': {**opencv['params'], 'tau': 0.2}}
    with mock.patch.object(backends, 'identity', return_value=changed):
      other = settings.ExtractionConfig(**self.settings)
    self.assertFalse(outputs.is_done(self.items[0], other, output_dir))
    with self.assertRaisesRegex(ValueError, r'\(flow differ.*--overwrite'):
      self._run(other, output_dir)
    summary = self._run(other, output_dir, overwrite=True)
    self.assertEqual((summary.succeeded, summary.skipped), (1, 0))
    with open(os.path.join(output_dir, storage.MANIFEST_NAME)) as f:
      self.assertEqual(json.loads(f.readline())['flow'], changed)

  def test_another_backend_is_other_settings(self):
    output_dir = fixtures.new_tempdir(self)
    self._run(settings.ExtractionConfig(**self.settings), output_dir)
    tf_identity = {'name': 'tvl1', 'backend': 'tf', 'params': {},
                   'tensorflow': tf.__version__}
    with mock.patch.object(backends, 'identity', return_value=tf_identity):
      other = settings.ExtractionConfig(**{**self.settings,
                                           'flow_backend': 'tf'})
    self.assertEqual(other.identity()['flow'], tf_identity)
    self.assertFalse(outputs.is_done(self.items[0], other, output_dir))
    with self.assertRaisesRegex(ValueError, r'\(flow differ'):
      self._run(other, output_dir)


if __name__ == '__main__':
  absltest.main()
