"""Tests for saved_model.py: the SavedModel serves without this repository.

The model is the I3D of Carreira & Zisserman (CVPR 2017), loaded from a
random checkpoint in DeepMind's rgb_imagenet layout; a fresh interpreter with
only TensorFlow serves the export, and its logits are the model's.
"""

import os
import subprocess
import sys
import tempfile
import textwrap

from absl.testing import absltest
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import streams
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import name_mapping
from kinetics_i3d.weights import saved_model
from kinetics_i3d.weights.loading_test import LOGITS_ATOL
from kinetics_i3d.weights.loading_test import OriginalFixtures
from kinetics_i3d.weights.loading_test import random_clip

_CROP = streams.CROP

# Runs in a fresh interpreter outside the repository: only TensorFlow.
_SERVE_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    serve = loaded.signatures['serving_default']
    spec = serve.structured_input_signature[1]['frames']
    print('INPUT', spec.shape.as_list(), spec.dtype.name)
    print('OUTPUTS', sorted(serve.structured_outputs))
    out = serve(frames=tf.constant(np.load(sys.argv[2])))
    np.save(sys.argv[3], out['logits'].numpy())
    np.save(sys.argv[4], out['probabilities'].numpy())
    print('REPO_MODULES',
          sorted(m for m in sys.modules
                 if m == 'i3d' or m.split('.')[0] == 'kinetics_i3d'))
""")


class SavedModelTest(tf.test.TestCase):

  def test_export_and_serve_without_repo_code(self):
    model = i3d.InceptionI3d()
    loading.load_original(model, OriginalFixtures.path('rgb_imagenet'),
                          'rgb_imagenet')
    work = tempfile.mkdtemp(dir=OriginalFixtures.directory())
    export_dir = os.path.join(work, 'export')
    saved_model.export_saved_model(model, export_dir, num_channels=3)
    self.assertTrue(os.path.exists(os.path.join(export_dir, 'saved_model.pb')))
    self.assertEqual(sorted(os.listdir(work)), ['export'])  # No temp dirs.

    clip = random_clip((1, 10, _CROP, _CROP, 3), seed=13)
    np.save(os.path.join(work, 'clip.npy'), clip)
    script = os.path.join(work, 'serve.py')
    with open(script, 'w') as f:
      f.write(_SERVE_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['TF_CPP_MIN_LOG_LEVEL'] = '2'
    out = subprocess.run(
        [sys.executable, '-I', script, export_dir,
         os.path.join(work, 'clip.npy'), os.path.join(work, 'logits.npy'),
         os.path.join(work, 'probs.npy')],
        cwd=work, env=env, capture_output=True, text=True, check=False)
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    self.assertIn(f'INPUT [None, None, {_CROP}, {_CROP}, 3] float32',
                  out.stdout)
    self.assertIn("OUTPUTS ['logits', 'probabilities']", out.stdout)
    self.assertIn('REPO_MODULES []', out.stdout)

    logits = np.load(os.path.join(work, 'logits.npy'))
    probabilities = np.load(os.path.join(work, 'probs.npy'))
    expected, _ = model(tf.constant(clip), is_training=False)
    np.testing.assert_allclose(logits, expected.numpy(), rtol=0,
                               atol=LOGITS_ATOL)
    np.testing.assert_allclose(probabilities, tf.nn.softmax(expected).numpy(),
                               rtol=0, atol=1e-6)

    with self.assertRaisesRegex(FileExistsError, 'export exists'):
      saved_model.export_saved_model(model, export_dir, num_channels=3)
    with self.assertRaisesRegex(ValueError, 'num_channels=2'):
      saved_model.export_saved_model(
          model, export_dir, num_channels=2, overwrite=True)

  def test_export_overwrite_replaces(self):
    model = i3d.InceptionI3d(num_classes=5)
    name_mapping.build_variables(model, 2)
    work = tempfile.mkdtemp(dir=OriginalFixtures.directory())
    export_dir = os.path.join(work, 'export')
    os.makedirs(export_dir)
    with open(os.path.join(export_dir, 'old.txt'), 'w') as f:
      f.write('old')
    saved_model.export_saved_model(
        model, export_dir, num_channels=2, num_frames=9, overwrite=True)
    self.assertFalse(os.path.exists(os.path.join(export_dir, 'old.txt')))
    self.assertEqual(sorted(os.listdir(work)), ['export'])
    loaded = tf.saved_model.load(export_dir)
    serve = loaded.signatures['serving_default']
    self.assertEqual(
        serve.structured_input_signature[1]['frames'].shape.as_list(),
        [None, 9, _CROP, _CROP, 2])

  def test_truncated_model_exports_features(self):
    model = i3d.InceptionI3d(final_endpoint='Conv3d_1a_7x7')
    name_mapping.build_variables(model, 3)
    export_dir = os.path.join(
        tempfile.mkdtemp(dir=OriginalFixtures.directory()), 'features')
    saved_model.export_saved_model(model, export_dir, num_channels=3,
                                   num_frames=4)
    serve = tf.saved_model.load(export_dir).signatures['serving_default']
    self.assertEqual(list(serve.structured_outputs), ['features'])
    clip = random_clip((2, 4, _CROP, _CROP, 3), seed=5)
    expected, _ = model(tf.constant(clip), is_training=False)
    self.assertAllClose(serve(frames=tf.constant(clip))['features'], expected,
                        rtol=0, atol=1e-6)

  def test_logits_need_enough_frames(self):
    no_export = os.path.join(OriginalFixtures.directory(), 'no_export')
    with self.assertRaisesRegex(ValueError, 'num_frames=8 is below 9'):
      saved_model.export_saved_model(i3d.InceptionI3d(), no_export,
                                     num_channels=3, num_frames=8)
    self.assertFalse(os.path.exists(no_export))


if __name__ == '__main__':
  absltest.main()
