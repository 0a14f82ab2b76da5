"""Tests for slim_inception_v1.py: TF-Slim's InceptionV1 checkpoint layout.

The public ImageNet checkpoint is not downloaded. The layout is written out
here from TF-Slim's public `nets/inception_v1.py` (scope 'InceptionV1', each
`slim.conv2d` with `slim.batch_norm` and no scale, the logits with biases),
independently of `inception_v1.variable_shapes`, and checkpoints in it are
generated with random values by a TF1 `Saver`, so the names are exactly
slim's. `slim_forward` is an independent raw-op forward pass of slim's network
from those names; the 2D network fed through the conversion must match it.

Tolerance of that match: both are float32 TF convolutions of the same
weights; they differ only in how BatchNorm is written (here
(x - mean) / sqrt(var + eps) + beta; Sonnet's BatchNorm folds it into one
multiply-add), measured here at most 9.3e-7 of each endpoint's largest
magnitude (two 224x224 images, seeds 1 and 3); the test allows 1e-5.
"""

import os
import shutil
import tempfile

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from kinetics_i3d.training import inception_v1
from kinetics_i3d.training import inception_v1_weights
from kinetics_i3d.training import slim_inception_v1
from tensorflow.core.protobuf import saver_pb2

_RTOL = 1e-5  # Of each endpoint's largest magnitude; see the docstring.
_EPS = 1e-3  # inception_arg_scope's batch_norm_epsilon.

# TF-Slim's nets/inception_v1.py, read off its source: the stem convolutions
# (scope, kernel, output channels; Conv2d_1a_7x7 has stride 2) and each block's
# six convolutions (Branch_0 1x1, Branch_1 1x1 and 3x3, Branch_2 1x1 and 3x3,
# Branch_3 1x1 after a 3x3 max pool), with max pools (kernel, stride) between.
SLIM_STEM = (('Conv2d_1a_7x7', 7, 64), ('Conv2d_2b_1x1', 1, 64),
             ('Conv2d_2c_3x3', 3, 192))
SLIM_BLOCKS = (
    ('Mixed_3b', (64, 96, 128, 16, 32, 32)),
    ('Mixed_3c', (128, 128, 192, 32, 96, 64)),
    ('Mixed_4b', (192, 96, 208, 16, 48, 64)),
    ('Mixed_4c', (160, 112, 224, 24, 64, 64)),
    ('Mixed_4d', (128, 128, 256, 24, 64, 64)),
    ('Mixed_4e', (112, 144, 288, 32, 64, 64)),
    ('Mixed_4f', (256, 160, 320, 32, 128, 128)),
    ('Mixed_5b', (256, 160, 320, 32, 128, 128)),
    ('Mixed_5c', (384, 192, 384, 48, 128, 128)),
)
_POOLS_BEFORE = {
    'Conv2d_2b_1x1': ('MaxPool_2a_3x3', 3, 2),
    'Mixed_3b': ('MaxPool_3a_3x3', 3, 2),
    'Mixed_4b': ('MaxPool_4a_3x3', 3, 2),
    'Mixed_5b': ('MaxPool_5a_2x2', 2, 2),
}


def _block_units(block):
  """(scope, kernel) of a block's six convolutions, slim's names."""
  # Slim calls Mixed_5b's Branch_2 3x3 convolution 'Conv2d_0a_3x3'.
  b2 = 'Conv2d_0a_3x3' if block == 'Mixed_5b' else 'Conv2d_0b_3x3'
  return ((f'{block}/Branch_0/Conv2d_0a_1x1', 1),
          (f'{block}/Branch_1/Conv2d_0a_1x1', 1),
          (f'{block}/Branch_1/Conv2d_0b_3x3', 3),
          (f'{block}/Branch_2/Conv2d_0a_1x1', 1),
          (f'{block}/Branch_2/{b2}', 3),
          (f'{block}/Branch_3/Conv2d_0b_1x1', 1))


def slim_layout(num_classes=1001, input_channels=3):
  """{slim variable name: shape} of InceptionV1, from SLIM_* above."""
  layout = {}

  def unit(scope, k, cin, cout):
    layout[f'InceptionV1/{scope}/weights'] = (k, k, cin, cout)
    for stat in ('beta', 'moving_mean', 'moving_variance'):
      layout[f'InceptionV1/{scope}/BatchNorm/{stat}'] = (cout,)

  channels = input_channels
  for scope, k, cout in SLIM_STEM:
    unit(scope, k, channels, cout)
    channels = cout
  for block, widths in SLIM_BLOCKS:
    inputs = (channels, channels, widths[1], channels, widths[3], channels)
    for (scope, k), cin, cout in zip(_block_units(block), inputs, widths):
      unit(scope, k, cin, cout)
    channels = widths[0] + widths[2] + widths[4] + widths[5]
  layout['InceptionV1/Logits/Conv2d_0c_1x1/weights'] = (1, 1, channels,
                                                        num_classes)
  layout['InceptionV1/Logits/Conv2d_0c_1x1/biases'] = (num_classes,)
  return layout


def random_slim_tensors(num_classes=1001, input_channels=3, seed=0):
  """Random values in slim's layout with non-trivial BatchNorm statistics."""
  rng = np.random.default_rng(seed)
  tensors = {}
  for name, shape in slim_layout(num_classes, input_channels).items():
    fan_in = np.prod(shape[:-1])
    if name.endswith('Logits/Conv2d_0c_1x1/weights'):
      value = rng.normal(0, 1 / np.sqrt(fan_in), shape)
    elif name.endswith('/weights'):  # He-normal keeps activations O(1).
      value = rng.normal(0, np.sqrt(2 / fan_in), shape)
    elif name.endswith('moving_variance'):
      value = rng.uniform(0.5, 2., shape)
    else:  # Offsets, means, biases.
      value = rng.normal(0, 0.2, shape)
    tensors[name] = value.astype(np.float32)
  return tensors


def write_slim_checkpoint(prefix, tensors, v1_format=False):
  """Saves {name: array} with a TF1 Saver, as slim's training did.

  Args:
    prefix: Checkpoint prefix.
    tensors: Variables by name, any dtype (e.g. an int64 'global_step').
    v1_format: Write TF1's V1 format (one file at `prefix`), the format of
      the 2016 TF-Slim releases; else V2 (`.index` and `.data-*`).

  Returns:
    The prefix written.
  """
  version = saver_pb2.SaverDef.V1 if v1_format else saver_pb2.SaverDef.V2
  with tf.Graph().as_default():
    variables = [
        tf.compat.v1.get_variable(name, initializer=np.asarray(value))
        for name, value in tensors.items()
    ]
    saver = tf.compat.v1.train.Saver(variables, write_version=version)
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      return saver.save(session, prefix, write_meta_graph=False)


def slim_forward(tensors, images):
  """Slim's InceptionV1 at inference, with raw TF ops, by slim's names.

  Args:
    tensors: {slim variable name: array}.
    images: [B, H, W, C] float32 in [-1, 1].

  Returns:
    {endpoint: array}, slim's endpoint names; 'Logits' needs 224x224 images.
  """

  def unit(net, scope, stride=1):
    get = lambda suffix: tensors[f'InceptionV1/{scope}/{suffix}']
    net = tf.nn.conv2d(net, get('weights'), stride, 'SAME')
    net = ((net - get('BatchNorm/moving_mean')) /
           tf.sqrt(get('BatchNorm/moving_variance') + _EPS) +
           get('BatchNorm/beta'))
    return tf.nn.relu(net)

  end_points = {}
  net = tf.constant(images)
  for scope, _, _ in SLIM_STEM:
    if scope in _POOLS_BEFORE:
      name, k, s = _POOLS_BEFORE[scope]
      net = end_points[name] = tf.nn.max_pool2d(net, k, s, 'SAME')
    stride = 2 if scope == 'Conv2d_1a_7x7' else 1
    net = end_points[scope] = unit(net, scope, stride)
  for block, _ in SLIM_BLOCKS:
    if block in _POOLS_BEFORE:
      name, k, s = _POOLS_BEFORE[block]
      net = end_points[name] = tf.nn.max_pool2d(net, k, s, 'SAME')
    scopes = [scope for scope, _ in _block_units(block)]
    branch_0 = unit(net, scopes[0])
    branch_1 = unit(unit(net, scopes[1]), scopes[2])
    branch_2 = unit(unit(net, scopes[3]), scopes[4])
    branch_3 = unit(tf.nn.max_pool2d(net, 3, 1, 'SAME'), scopes[5])
    net = end_points[block] = tf.concat(
        [branch_0, branch_1, branch_2, branch_3], axis=3)
  if net.shape[1:3] == (7, 7):
    net = tf.nn.avg_pool2d(net, 7, 1, 'VALID')
    net = tf.nn.conv2d(net, tensors['InceptionV1/Logits/Conv2d_0c_1x1/weights'],
                       1, 'SAME')
    net += tensors['InceptionV1/Logits/Conv2d_0c_1x1/biases']
    end_points['Logits'] = tf.squeeze(net, [1, 2])
  return {name: value.numpy() for name, value in end_points.items()}


def _max_rel_error(actual, expected):
  return np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-12)


class SlimTableTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters((1001, 3), (10, 2))
  def test_table_is_slims_layout(self, num_classes, channels):
    table = slim_inception_v1.slim_table(num_classes, channels)
    self.assertLen(table, 230)
    self.assertEqual({row.name_slim: row.shape for row in table},
                     slim_layout(num_classes, channels))

  def test_every_2d_tensor_once(self):
    table = slim_inception_v1.slim_table()
    names_2d = [row.name_2d for row in table]
    self.assertCountEqual(names_2d, inception_v1.variable_shapes(1001))
    self.assertLen(set(names_2d), len(names_2d))

  def test_names_correspond(self):
    rows = {
        row.name_slim: row.name_2d for row in slim_inception_v1.slim_table()
    }
    for name_slim, name_2d in (
        ('InceptionV1/Conv2d_1a_7x7/weights', 'Conv2d_1a_7x7/conv_2d/w'),
        ('InceptionV1/Conv2d_2c_3x3/BatchNorm/moving_variance',
         'Conv2d_2c_3x3/batch_norm/moving_variance'),
        ('InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/weights',
         'Mixed_3b/Branch_1/Conv2d_0b_3x3/conv_2d/w'),
        ('InceptionV1/Mixed_5b/Branch_2/Conv2d_0a_3x3/BatchNorm/beta',
         'Mixed_5b/Branch_2/Conv2d_0a_3x3/batch_norm/beta'),
        ('InceptionV1/Mixed_5c/Branch_2/Conv2d_0b_3x3/weights',
         'Mixed_5c/Branch_2/Conv2d_0b_3x3/conv_2d/w'),
        ('InceptionV1/Logits/Conv2d_0c_1x1/weights',
         'Logits/Conv2d_0c_1x1/conv_2d/w'),
        ('InceptionV1/Logits/Conv2d_0c_1x1/biases',
         'Logits/Conv2d_0c_1x1/conv_2d/b')):
      self.assertEqual(rows[name_slim], name_2d)

  def test_published_release(self):
    self.assertEqual(
        slim_inception_v1.PUBLISHED_URL,
        'http://download.tensorflow.org/models/inception_v1_2016_08_28.tar.gz')
    self.assertEqual(slim_inception_v1.PUBLISHED_NUM_CLASSES, 1001)


class ConversionTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.tensors = random_slim_tensors(num_classes=10, seed=2)

  def test_every_variable_consumed_values_copied(self):
    conversion = slim_inception_v1.to_inception_v1(self.tensors)
    self.assertEqual(conversion.skipped, ())
    self.assertLen(conversion.tensors_2d, len(self.tensors))
    for row in slim_inception_v1.slim_table(10):
      self.assertAllEqual(conversion.tensors_2d[row.name_2d],
                          self.tensors[row.name_slim])
    name = 'InceptionV1/Conv2d_2b_1x1/BatchNorm/beta'
    before = self.tensors[name].copy()
    conversion.tensors_2d['Conv2d_2b_1x1/batch_norm/beta'][:] = 9.
    self.assertAllEqual(self.tensors[name], before)

  def test_bookkeeping_is_skipped_and_named(self):
    extra = {
        'global_step': np.int64(1000),
        'beta1_power': np.float32(0.9),
        'InceptionV1/Conv2d_1a_7x7/weights/ExponentialMovingAverage':
            np.zeros([7, 7, 3, 64], np.float32),
        'InceptionV1/Mixed_4c/Branch_1/Conv2d_0b_3x3/BatchNorm/beta/Momentum':
            np.zeros([224], np.float32),
        'InceptionV1/Logits/Conv2d_0c_1x1/biases/RMSProp_1':
            np.zeros([10], np.float32),
    }
    conversion = slim_inception_v1.to_inception_v1({**self.tensors, **extra})
    self.assertCountEqual(conversion.skipped, extra)
    self.assertAllEqual(conversion.tensors_2d['Conv2d_1a_7x7/conv_2d/w'],
                        self.tensors['InceptionV1/Conv2d_1a_7x7/weights'])

  @parameterized.parameters(
      'InceptionV1/Mixed_4e/Branch_1/Conv2d_0b_3x3/weights',
      'InceptionV1/Mixed_5b/Branch_2/Conv2d_0a_3x3/BatchNorm/moving_mean',
      'InceptionV1/Conv2d_2c_3x3/BatchNorm/moving_variance',
      'InceptionV1/Logits/Conv2d_0c_1x1/weights')
  def test_missing_variable_is_named(self, name):
    del self.tensors[name]
    with self.assertRaisesRegex(ValueError,
                                f'^ckpt_path: .*missing \\[{name}\\]'):
      slim_inception_v1.to_inception_v1(self.tensors, source='ckpt_path')

  @parameterized.parameters(
      # Mixed_5c's name in Mixed_5b: slim's quirk is the other one.
      'InceptionV1/Mixed_5b/Branch_2/Conv2d_0b_3x3/weights',
      'InceptionV1/AuxLogits/Conv2d_1b_1x1/weights',
      'InceptionV1/Conv2d_1a_7x7/biases',
      'learning_rate',
      'InceptionV1/Mixed_3b/Branch_3/MaxPool_0a_3x3/Momentum')
  def test_unexpected_variable_is_named(self, name):
    self.tensors[name] = np.zeros([3], np.float32)
    with self.assertRaisesRegex(ValueError, f'unexpected \\[{name}\\]'):
      slim_inception_v1.to_inception_v1(self.tensors, source='ckpt_path')

  def test_batch_norm_scale_is_refused(self):
    name = 'InceptionV1/Mixed_4d/Branch_0/Conv2d_0a_1x1/BatchNorm/gamma'
    self.tensors[name] = np.ones([128], np.float32)
    with self.assertRaisesRegex(ValueError, f'ckpt_path: {name}.*scale'):
      slim_inception_v1.to_inception_v1(self.tensors, source='ckpt_path')

  @parameterized.parameters(
      ('InceptionV1/Mixed_4b/Branch_1/Conv2d_0b_3x3/weights', (3, 3, 96, 200)),
      ('InceptionV1/Mixed_4b/Branch_1/Conv2d_0b_3x3/weights', (1, 3, 3, 96,
                                                               208)),
      ('InceptionV1/Conv2d_2b_1x1/BatchNorm/moving_mean', (1, 1, 1, 64)),
      ('InceptionV1/Conv2d_1a_7x7/BatchNorm/beta', (65,)),
      ('InceptionV1/Logits/Conv2d_0c_1x1/weights', (1, 1, 1024, 11)))
  def test_misshaped_variable_is_named(self, name, shape):
    self.tensors[name] = np.zeros(shape, np.float32)
    with self.assertRaisesRegex(ValueError, f'ckpt_path: {name} has shape'):
      slim_inception_v1.to_inception_v1(self.tensors, source='ckpt_path')

  @parameterized.parameters(np.nan, np.inf, -np.inf)
  def test_non_finite_value_is_named(self, bad):
    name = 'InceptionV1/Mixed_3c/Branch_2/Conv2d_0b_3x3/weights'
    self.tensors[name][1, 2, 3, 4] = bad
    with self.assertRaisesRegex(
        ValueError, f'^ckpt_path: {name} holds 1 non-finite value'):
      slim_inception_v1.to_inception_v1(self.tensors, source='ckpt_path')

  def test_integer_variable_is_named(self):
    name = 'InceptionV1/Mixed_3c/Branch_0/Conv2d_0a_1x1/BatchNorm/moving_mean'
    self.tensors[name] = np.zeros([128], np.int32)
    with self.assertRaisesRegex(ValueError, f'{name}.*floating'):
      slim_inception_v1.to_inception_v1(self.tensors)

  @parameterized.parameters('InceptionV1/Conv2d_1a_7x7/weights',
                            'InceptionV1/Logits/Conv2d_0c_1x1/biases')
  def test_not_slim_names_the_variable_and_the_release(self, name):
    del self.tensors[name]
    with self.assertRaisesRegex(
        ValueError, f'ckpt_path: no variable {name}.*inception_v1_2016_08_28'):
      slim_inception_v1.to_inception_v1(self.tensors, source='ckpt_path')

  def test_looks_like_slim(self):
    self.assertTrue(slim_inception_v1.looks_like_slim(list(self.tensors)))
    self.assertFalse(
        slim_inception_v1.looks_like_slim(
            ['model/Conv2d_1a_7x7/conv_2d/w/.ATTRIBUTES/VARIABLE_VALUE']))


class SlimNumericsTest(tf.test.TestCase):
  """The 2D network given the converted weights computes slim's network."""

  def test_2d_network_equals_slim_forward(self):
    tensors = random_slim_tensors(num_classes=1001, seed=1)
    images = np.random.default_rng(3).uniform(-1, 1, (2, 224, 224, 3)).astype(
        np.float32)
    expected = slim_forward(tensors, images)
    model = inception_v1.InceptionV1(num_classes=1001)
    model(images, is_training=False)
    inception_v1_weights.assign_tensors(
        model, slim_inception_v1.to_inception_v1(tensors).tensors_2d)
    _, actual = model(images, is_training=False)
    self.assertCountEqual(expected, inception_v1.VALID_ENDPOINTS[:-1])
    for endpoint, value in expected.items():
      self.assertGreater(np.abs(value).max(), 0.1, endpoint)
      error = _max_rel_error(actual[endpoint].numpy(), value)
      self.assertLess(error, _RTOL, f'{endpoint}: {error:.2g}')


class WriterTest(tf.test.TestCase):
  """The generated checkpoints carry exactly the names they were given."""

  def test_names_and_formats(self):
    folder = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
    tensors = {'InceptionV1/Conv2d_1a_7x7/weights': np.ones([2, 3], np.float32),
               'global_step': np.int64(5)}
    for v1_format in (False, True):
      prefix = write_slim_checkpoint(
          os.path.join(folder, f'v1_{v1_format}.ckpt'), tensors, v1_format)
      reader = tf.train.load_checkpoint(prefix)
      self.assertEqual(reader.get_variable_to_shape_map(),
                       {'InceptionV1/Conv2d_1a_7x7/weights': [2, 3],
                        'global_step': []})
      self.assertEqual(os.path.exists(prefix + '.index'), not v1_format)
      self.assertAllEqual(reader.get_tensor('global_step'), 5)


if __name__ == '__main__':
  tf.test.main()
