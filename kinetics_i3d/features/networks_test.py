"""Tests for networks.py: checkpoints loaded for features (I3D, CVPR 2017)."""

import os
from unittest import mock

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import fixtures
from kinetics_i3d.features import networks
from kinetics_i3d.features import settings
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import loading


class CheckpointDirTest(absltest.TestCase):

  def test_a_folder_that_appears_is_logged(self):
    folder = os.path.join(fixtures.new_tempdir(self), 'my_checkpoints')
    config = settings.ExtractionConfig(checkpoint_dir=folder)

    def build_model(name, final_endpoint, checkpoint_dir):
      del name, final_endpoint
      os.makedirs(os.path.join(checkpoint_dir, 'rgb_scratch'))
      return 'model'

    with mock.patch.object(loading, 'build_model',
                           side_effect=build_model) as build:
      with self.assertLogs(level='INFO') as logs:
        self.assertEqual(networks.load_stream_model(config, 'rgb'), 'model')
    build.assert_called_once_with('rgb_scratch', final_endpoint='Mixed_5c',
                                  checkpoint_dir=folder)
    self.assertIn(f'Created --checkpoint_dir={folder}', logs.output[0])

  def test_an_existing_folder_is_used_quietly(self):
    folder = fixtures.new_tempdir(self)
    config = settings.ExtractionConfig(checkpoint_dir=folder)
    with mock.patch.object(loading, 'build_model', return_value='model'):
      with self.assertNoLogs(level='INFO'):
        networks.load_stream_model(config, 'rgb')


class CheckpointTest(tf.test.TestCase):

  def test_wrong_stream_named_checkpoint(self):
    config = settings.ExtractionConfig(rgb_checkpoint='flow_imagenet')
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'--rgb_checkpoint=flow_imagenet is a flow'):
      networks.build_network(config, 'rgb')

  def test_wrong_stream_checkpoint_file(self):
    flow_file = fixtures.make_test_checkpoint('flow_imagenet')
    config = settings.ExtractionConfig(rgb_checkpoint=flow_file)
    with self.assertRaisesRegex(checkpoints.CheckpointError, 'wrong stream'):
      networks.build_network(config, 'rgb')

  def test_cheap_checks_fetch_nothing(self):
    folder = os.path.join(fixtures.new_tempdir(self), 'empty')
    # A released checkpoint of the right stream is fetched when loaded.
    networks.check_checkpoints(settings.ExtractionConfig(
        checkpoint_dir=folder, streams=('rgb', 'flow'), flow_backend='opencv'))
    self.assertFalse(os.path.exists(folder))
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'--flow_checkpoint=rgb_imagenet is an RGB'):
      networks.check_checkpoints(settings.ExtractionConfig(
          streams=('flow',), flow_checkpoint='rgb_imagenet',
          flow_backend='opencv'))
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                r'--rgb_checkpoint=/nowhere/model.ckpt is '
                                r'neither a released checkpoint'):
      networks.check_checkpoints(settings.ExtractionConfig(
          rgb_checkpoint='/nowhere/model.ckpt'))

  def test_missing_checkpoint(self):
    config = settings.ExtractionConfig(flow_checkpoint='/nowhere/model.ckpt',
                                       streams=('flow',))
    with self.assertRaisesRegex(checkpoints.CheckpointError,
                                'neither a released checkpoint'):
      networks.build_network(config, 'flow')

  def test_fast_inference_matches(self):
    prefix = fixtures.make_test_checkpoint('rgb_scratch')
    clip = np.random.default_rng(4).uniform(
        -1, 1, (2, 8, 32, 32, 3)).astype(np.float32)
    features = {}
    for fast in (False, True):
      config = settings.ExtractionConfig(rgb_checkpoint=prefix, window=8,
                                         pooling='time', fast=fast)
      features[fast] = extractor_lib.FeatureExtractor(config).features(
          'rgb', clip)
    # Folding BatchNorm reorders float32 arithmetic only.
    self.assertAllClose(features[True], features[False], rtol=1e-4,
                        atol=1e-4)

  def test_checkpoint_file_features(self):
    prefix = fixtures.make_test_checkpoint('rgb_scratch')
    config = settings.ExtractionConfig(rgb_checkpoint=prefix,
                                       endpoint='Mixed_4f', window=9,
                                       stride=9, pooling='time')
    extractor = extractor_lib.FeatureExtractor(config)
    # The reference computes the logits too: it needs 224x224 frames.
    clip = np.random.default_rng(3).uniform(
        -1, 1, (9, 224, 224, 3)).astype(np.float32)
    got = extractor.features('rgb', clip[None])
    tensors = reference_forward.random_original_tensors('rgb_scratch', 0)
    expected = reference_forward.reference_endpoints(
        tensors, clip[None], scope='RGB/inception_i3d/')['Mixed_4f']
    self.assertAllClose(got, expected.mean(axis=(2, 3)), rtol=1e-4,
                        atol=1e-4)


if __name__ == '__main__':
  absltest.main()
