"""Tests for the 2D Inception-v1 module that I3D is inflated from."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import i3d
import i3d_test
from kinetics_i3d.training import inception_v1
from kinetics_i3d.training import inception_v1_weights

_BATCH_SIZE = 5
_IMAGE_SIZE = 224
_NUM_CLASSES = 1000

# Endpoint shapes [B, H, W, C] for [5, 224, 224, 3] images, written out from
# GoogLeNet's table 1 (Szegedy et al. 2015) with its 5x5 convolutions as
# 3x3 (same channels), the form I3D inflates: stride-2 stages halve the map.
_EXPECTED_ENDPOINT_SHAPES = {
    'Conv2d_1a_7x7': (5, 112, 112, 64),
    'MaxPool_2a_3x3': (5, 56, 56, 64),
    'Conv2d_2b_1x1': (5, 56, 56, 64),
    'Conv2d_2c_3x3': (5, 56, 56, 192),
    'MaxPool_3a_3x3': (5, 28, 28, 192),
    'Mixed_3b': (5, 28, 28, 256),
    'Mixed_3c': (5, 28, 28, 480),
    'MaxPool_4a_3x3': (5, 14, 14, 480),
    'Mixed_4b': (5, 14, 14, 512),
    'Mixed_4c': (5, 14, 14, 512),
    'Mixed_4d': (5, 14, 14, 512),
    'Mixed_4e': (5, 14, 14, 528),
    'Mixed_4f': (5, 14, 14, 832),
    'MaxPool_5a_2x2': (5, 7, 7, 832),
    'Mixed_5b': (5, 7, 7, 832),
    'Mixed_5c': (5, 7, 7, 1024),
    'Logits': (5, _NUM_CLASSES),
    'Predictions': (5, _NUM_CLASSES),
}


def random_images(batch=2, size=64, channels=3, seed=0):
  rng = np.random.default_rng(seed)
  return tf.constant(
      rng.uniform(-1, 1, (batch, size, size, channels)).astype(np.float32))


def random_tensors(num_classes, input_channels=3, seed=0):
  """Random weights (He-normal kernels, non-trivial BatchNorm statistics)."""
  rng = np.random.default_rng(seed)
  tensors = {}
  for name, shape in inception_v1.variable_shapes(num_classes,
                                                  input_channels).items():
    if name.endswith('/w'):
      value = rng.normal(0, np.sqrt(2 / np.prod(shape[:-1])), shape)
    elif name.endswith('moving_variance'):
      value = rng.uniform(0.5, 2., shape)
    else:
      value = rng.normal(0, 0.2, shape)
    tensors[name] = value.astype(np.float32)
  return tensors


def features_only(tensors):
  return {n: t for n, t in tensors.items() if not n.startswith('Logits/')}


class InceptionV1ShapeTest(tf.test.TestCase, parameterized.TestCase):

  def test_valid_endpoints_in_order(self):
    self.assertEqual(tuple(_EXPECTED_ENDPOINT_SHAPES),
                     inception_v1.VALID_ENDPOINTS)
    self.assertEqual(tuple(inception_v1.I3D_ENDPOINTS.values()),
                     i3d.VALID_ENDPOINTS)

  def test_endpoint_shapes(self):
    # Eagerly: on CPU one full-size forward pass costs less than a trace.
    model = inception_v1.InceptionV1(final_endpoint='Predictions')
    output, end_points = model(
        random_images(_BATCH_SIZE, _IMAGE_SIZE), is_training=False)
    self.assertEqual(tuple(end_points), inception_v1.VALID_ENDPOINTS)
    self.assertEqual(tuple(output.shape), _EXPECTED_ENDPOINT_SHAPES[
        'Predictions'])
    for name, tensor in end_points.items():
      self.assertEqual(tuple(tensor.shape), _EXPECTED_ENDPOINT_SHAPES[name],
                       name)

  @parameterized.parameters('Conv2d_1a_7x7', 'MaxPool_3a_3x3', 'Mixed_4b',
                            'MaxPool_5a_2x2', 'Logits')
  def test_final_endpoint(self, final_endpoint):
    model = inception_v1.InceptionV1(final_endpoint=final_endpoint)
    output, end_points = model(random_images(1, _IMAGE_SIZE), is_training=False)
    up_to_3d = i3d.endpoints_up_to(inception_v1.I3D_ENDPOINTS[final_endpoint])
    expected_names = tuple(name_2d for name_2d, name_3d
                           in inception_v1.I3D_ENDPOINTS.items()
                           if name_3d in up_to_3d)
    self.assertEqual(tuple(end_points), expected_names)
    self.assertEqual(output.shape[1:],
                     _EXPECTED_ENDPOINT_SHAPES[final_endpoint][1:])
    # Only the modules up to the final endpoint exist (pools have none).
    built = [n for n in inception_v1.VALID_ENDPOINTS if hasattr(model, n)]
    self.assertEqual(built, [
        n for n in expected_names
        if not n.startswith('MaxPool') and n != 'Predictions'
    ])

  def test_unknown_batch_size(self):
    model = inception_v1.InceptionV1(final_endpoint='Mixed_3b')
    output, _ = i3d_test.symbolic_outputs(model, [None, 64, 64, 3],
                                          is_training=False)
    self.assertEqual(output.shape.as_list(), [None, 8, 8, 256])

  def test_without_squeeze(self):
    model = inception_v1.InceptionV1(
        num_classes=7, spatial_squeeze=False, final_endpoint='Predictions')
    predictions, _ = model(random_images(1, _IMAGE_SIZE), is_training=False)
    self.assertEqual(predictions.shape, (1, 1, 1, 7))
    # Larger images give a larger map of logits.
    model = inception_v1.InceptionV1(num_classes=7, spatial_squeeze=False)
    logits, _ = model(tf.zeros([1, 288, 320, 3]), is_training=False)
    self.assertEqual(logits.shape, (1, 3, 4, 7))

  def test_features_take_any_size(self):
    model = inception_v1.InceptionV1(final_endpoint='Mixed_5c')
    output, _ = model(tf.zeros([1, 33, 50, 2]), is_training=False)
    self.assertEqual(output.shape, (1, 2, 2, 1024))

  def test_variable_names_follow_slim_scopes(self):
    model = inception_v1.InceptionV1(num_classes=10)
    model(random_images(1, _IMAGE_SIZE), is_training=False)
    names = {v.name for v in model.variables}
    for name in ('inception_v1/Conv2d_1a_7x7/conv_2d/w:0',
                 'inception_v1/Mixed_5b/Branch_2/Conv2d_0a_3x3/conv_2d/w:0',
                 'inception_v1/Mixed_5c/Branch_2/Conv2d_0b_3x3/conv_2d/w:0',
                 'inception_v1/Mixed_4b/Branch_3/Conv2d_0b_1x1/batch_norm/'
                 'offset:0',
                 'inception_v1/Logits/Conv2d_0c_1x1/conv_2d/b:0'):
      self.assertIn(name, names)
    kernels = [n for n in names if n.endswith('conv_2d/w:0')]
    biases = [n for n in names if n.endswith('conv_2d/b:0')]
    self.assertLen(kernels, 58)  # 57 units with BatchNorm, and the logits.
    self.assertEqual(biases, ['inception_v1/Logits/Conv2d_0c_1x1/conv_2d/b:0'])

  @parameterized.parameters((10, 3), (4, 2))
  def test_variable_shapes_match_the_built_module(self, num_classes, channels):
    model = inception_v1.InceptionV1(num_classes=num_classes)
    model(random_images(1, _IMAGE_SIZE, channels), is_training=False)
    built = {n: t.shape for n, t in
             inception_v1_weights.named_tensors(model).items()}
    expected = inception_v1.variable_shapes(num_classes, channels)
    self.assertEqual(list(built), list(expected))  # Same names, same order.
    self.assertEqual(built, expected)
    self.assertLen(expected, 230)

  def test_every_unit_has_an_i3d_counterpart(self):
    units = [path for path, _ in inception_v1.InceptionV1().units()]
    self.assertEqual(units, list(inception_v1.I3D_UNIT_NAMES))
    self.assertEqual(
        inception_v1.I3D_UNIT_NAMES['Mixed_5b/Branch_2/Conv2d_0a_3x3'],
        'Mixed_5b/Branch_2/Conv3d_0a_3x3')
    self.assertEqual(inception_v1.I3D_UNIT_NAMES['Conv2d_1a_7x7'],
                     'Conv3d_1a_7x7')


def _centre_embedded_i3d(model_2d, final_endpoint):
  """An I3D whose every k x k x k kernel is the 2D kernel at its centre step.

  On a single frame, TF's SAME padding puts the frame at the centre of every
  temporal window, so this I3D computes exactly the 2D network: a check of
  the 2D module against `i3d.InceptionI3d`, which is itself tested against
  an independent raw-op forward pass.
  """
  model_3d = i3d.InceptionI3d(final_endpoint=final_endpoint)
  model_3d(tf.zeros([1, 1, 32, 32, 3]), is_training=False)
  units_3d = {
      m.name_scope.name[len('inception_i3d/'):-1]: m
      for m in model_3d.submodules if isinstance(m, i3d.Unit3D)
  }
  for path_2d, unit_2d in model_2d.units():
    unit_3d = units_3d.pop(inception_v1.I3D_UNIT_NAMES[path_2d])
    w_2d = unit_2d.conv_2d.w.numpy()
    k = w_2d.shape[0]
    w_3d = np.zeros((k,) + w_2d.shape, np.float32)
    w_3d[k // 2] = w_2d
    unit_3d.conv_3d.w.assign(w_3d)
    bn_2d, bn_3d = unit_2d.batch_norm, unit_3d.batch_norm
    bn_3d.offset.assign(bn_2d.offset)
    for stat in ('moving_mean', 'moving_variance'):
      average = getattr(bn_3d, stat).average
      average.assign(
          tf.reshape(getattr(bn_2d, stat).average, average.shape))
  assert not units_3d, sorted(units_3d)
  return model_3d


class InceptionV1NumericsTest(tf.test.TestCase, parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.images = random_images(batch=2, size=64, seed=1)
    cls.tensors = features_only(random_tensors(10, seed=2))
    cls.model = inception_v1.InceptionV1(final_endpoint='Mixed_5c')
    cls.model(cls.images, is_training=False)
    inception_v1_weights.assign_tensors(cls.model, cls.tensors)

  @parameterized.named_parameters(
      # float32 rounding through up to 22 layers. Measured with moving
      # statistics: 2e-6 of each endpoint's largest value. With batch
      # statistics the rounding grows with depth, as each BatchNorm divides
      # by a standard deviation over few values (2 images x 4x4 at Mixed_5c
      # from 128x128 images): 6e-5 (and 5e-4 from 64x64 images).
      ('inference', False, 64, 1e-5),
      ('training', True, 128, 3e-4))
  def test_equals_i3d_on_a_single_frame(self, is_training, size, tolerance):
    images = random_images(batch=2, size=size, seed=1)
    model_2d = inception_v1.InceptionV1(final_endpoint='Mixed_5c')
    model_2d(images, is_training=False)
    inception_v1_weights.assign_tensors(model_2d, self.tensors)
    model_3d = _centre_embedded_i3d(model_2d, 'Mixed_5c')
    _, end_points_2d = model_2d(images, is_training=is_training)
    _, end_points_3d = model_3d(images[:, tf.newaxis], is_training=is_training)
    for endpoint_2d, endpoint_3d in inception_v1.I3D_ENDPOINTS.items():
      if endpoint_3d not in end_points_3d:
        continue
      expected = end_points_3d[endpoint_3d].numpy()[:, 0]
      actual = end_points_2d[endpoint_2d].numpy()
      scale = np.abs(expected).max()
      self.assertGreater(scale, 0.1, endpoint_2d)
      self.assertAllClose(actual, expected, atol=tolerance * scale, rtol=0,
                          msg=endpoint_2d)

  def test_compiled_matches_eager(self):
    eager, _ = self.model(self.images, is_training=False)
    compiled = tf.function(lambda x: self.model(x, is_training=False)[0])
    self.assertAllClose(compiled(self.images), eager, atol=1e-5, rtol=1e-5)

  def test_eps_and_decay_are_i3ds(self):
    bn = self.model.Conv2d_1a_7x7.batch_norm
    self.assertEqual(bn._eps, 1e-3)
    self.assertEqual(bn.moving_mean._decay, 0.999)
    self.assertFalse(bn.scale.trainable)


class InceptionV1HeadTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.images = random_images(batch=2, size=_IMAGE_SIZE, seed=3)
    cls.model = inception_v1.InceptionV1(num_classes=6,
                                         final_endpoint='Predictions')
    cls.model(cls.images, is_training=False)
    inception_v1_weights.assign_tensors(cls.model, random_tensors(6, seed=4))
    cls.predictions, cls.end_points = cls.model(cls.images, is_training=False)

  def test_logits_by_hand(self):
    # 7x7 average pool, then the 1x1 convolution with bias, in float64.
    features = self.end_points['Mixed_5c'].numpy().astype(np.float64)
    w = self.model.Logits.conv_2d.w.numpy()[0, 0].astype(np.float64)
    b = self.model.Logits.conv_2d.b.numpy().astype(np.float64)
    expected = features.mean(axis=(1, 2)) @ w + b
    self.assertAllClose(self.end_points['Logits'], expected, atol=1e-4,
                        rtol=1e-5)

  def test_predictions_are_softmax_of_logits(self):
    logits = self.end_points['Logits'].numpy().astype(np.float64)
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    self.assertAllClose(self.predictions, expected, atol=1e-6)

  def test_dropout_keep_one_is_identity_and_half_is_random(self):
    features = tf.constant(
        np.random.default_rng(5).uniform(0, 1, (1, 7, 7, 1024)), tf.float32)
    a = self.model._logits(features, False, 1.0)
    self.assertAllEqual(a, self.model._logits(features, False, 1.0))
    tf.random.set_seed(6)
    b = self.model._logits(features, False, 0.5)
    c = self.model._logits(features, False, 0.5)
    self.assertNotAllClose(b, c)


class InceptionV1ErrorsTest(tf.test.TestCase, parameterized.TestCase):

  def test_unknown_final_endpoint(self):
    with self.assertRaisesRegex(ValueError, 'Unknown final endpoint.*Mixed_5d'):
      inception_v1.InceptionV1(final_endpoint='Mixed_5d')
    with self.assertRaisesRegex(ValueError, 'Unknown final endpoint'):
      inception_v1.InceptionV1(final_endpoint='Conv3d_1a_7x7')

  @parameterized.parameters(0, -3, 2.5, True, '10', None)
  def test_bad_num_classes(self, num_classes):
    with self.assertRaisesRegex(ValueError, 'num_classes'):
      inception_v1.InceptionV1(num_classes=num_classes)

  def test_clip_instead_of_images(self):
    model = inception_v1.InceptionV1()
    with self.assertRaisesRegex(ValueError, 'rank-4.*InceptionI3d'):
      model(tf.zeros([1, 2, 224, 224, 3]), is_training=False)

  def test_integer_images(self):
    model = inception_v1.InceptionV1(final_endpoint='Mixed_3b')
    with self.assertRaisesRegex(ValueError, 'uint8.*127.5'):
      model(tf.zeros([1, 64, 64, 3], tf.uint8), is_training=False)

  @parameterized.parameters((True, 64), (True, 256), (False, 160))
  def test_wrong_size_for_the_head(self, squeeze, size):
    model = inception_v1.InceptionV1(spatial_squeeze=squeeze)
    with self.assertRaisesRegex(ValueError, '224x224'):
      model(tf.zeros([1, size, size, 3]), is_training=False)

  def test_bad_keep_probability(self):
    model = inception_v1.InceptionV1(final_endpoint='Conv2d_1a_7x7')
    for keep in (0.0, -0.1, 1.5):
      with self.assertRaisesRegex(ValueError, 'keep probability'):
        model(tf.zeros([1, 32, 32, 3]), is_training=False,
              dropout_keep_prob=keep)



if __name__ == '__main__':
  tf.test.main()
