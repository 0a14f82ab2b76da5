"""The interface of DeepMind's TF-Hub I3D modules, for a drop-in SavedModel.

The I3D of Carreira & Zisserman ("Quo Vadis, Action Recognition? A New Model
and the Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750) was
published on TF-Hub as https://tfhub.dev/deepmind/i3d-kinetics-400/1 and
https://tfhub.dev/deepmind/i3d-kinetics-600/1 (TF1 Hub format). What its
users rely on, as read from the published sources:

* the module documentation (tensorflow/tfhub.dev,
  assets/docs/deepmind/models/i3d-kinetics-400/1.md): `logits = module(frames)`
  with frames [batch_size, frame_count, 224, 224, 3];
* TF-Hub's action-recognition tutorial (tensorflow/docs,
  site/en/hub/tutorials/action_recognition_with_tf_hub.ipynb):
  `hub.load(URL).signatures['default']`, called with one float32 tensor
  [1, T, 224, 224, 3] as its only positional argument, and
  `['default']` of the result taken as the logits (softmax applied after);
* TF1 callers passing the input by name, `module(dict(rgb_input=frames))`:
  the one input is `rgb_input`, float32 [None, None, 224, 224, 3];
* the reference FVD (google-research, frechet_video_distance.py): the
  pre-softmax logits `RGB/inception_i3d/Mean:0` of `hub.Module(URL)(videos)`.

`TFHUB` is that interface as a `saved_model.ServingSignature`: signature
'default', input 'rgb_input', output 'default' (the logits, [B, classes]).
"""

from typing import Dict

import tensorflow as tf

from kinetics_i3d.weights import saved_model

TFHUB_SIGNATURE = 'default'
TFHUB_INPUT = 'rgb_input'
TFHUB_OUTPUT = 'default'


def tfhub_outputs(output: tf.Tensor,
                  end_points: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
  """The module's one output: the logits [B, num_classes], before softmax.

  Args:
    output: The model's output (unused: a 'Predictions' model's output is
      the softmax, and the module returns logits).
    end_points: Every endpoint; must hold 'Logits'.

  Returns:
    {'default': logits}.

  Raises:
    ValueError: For a model truncated before the logits.
  """
  del output
  if 'Logits' not in end_points:
    raise ValueError('The TF-Hub modules return logits; a model truncated '
                     'before them has no TF-Hub interface.')
  return {TFHUB_OUTPUT: end_points['Logits']}


TFHUB = saved_model.ServingSignature(TFHUB_SIGNATURE, TFHUB_INPUT,
                                     tfhub_outputs)
