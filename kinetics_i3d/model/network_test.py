"""Tests of what I3D and its 2D Inception-v1 share (CVPR 2017)."""

import inspect

from absl.testing import absltest
import sonnet as snt

from kinetics_i3d.model import network


class _Net(network.InceptionNetwork):
  VALID_ENDPOINTS = ('a', 'b', 'c')
  LAYERS = ('row a', 'row b', 'row c')

  def __call__(self, inputs, is_training: bool):
    """Doubles."""
    return inputs * 2


network.show_call_signature(_Net)


class InceptionNetworkTest(absltest.TestCase):

  def test_endpoints_up_to_the_final_one(self):
    net = _Net(3, True, 'b', name='net')
    self.assertEqual(net._endpoints, ('a', 'b'))
    self.assertEqual(net._layers, ('row a', 'row b'))
    self.assertEqual((net.num_classes, net.spatial_squeeze,
                      net.final_endpoint), (3, True, 'b'))

  def test_bad_arguments(self):
    with self.assertRaisesRegex(ValueError, "Unknown final endpoint 'd'"):
      _Net(3, True, 'd', name='net')
    for num_classes in (0, True, 2.5):
      with self.assertRaisesRegex(ValueError, 'num_classes'):
        _Net(num_classes, True, 'a', name='net')

  def test_call_signature_shown(self):
    self.assertIsInstance(_Net(3, True, 'a', name='net'), snt.Module)
    self.assertEqual(str(inspect.signature(_Net.__call__)),
                     '(self, inputs, is_training: bool)')
    self.assertEqual(_Net.__call__.__doc__, 'Doubles.')


if __name__ == '__main__':
  absltest.main()
