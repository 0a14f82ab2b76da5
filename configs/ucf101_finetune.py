r"""Fine-tuning I3D on UCF-101 (split 1) from ImageNet+Kinetics weights.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

The paper fine-tunes its Kinetics-pretrained I3D on UCF-101 (section 5).
This recipe starts from DeepMind's released rgb_imagenet (or flow_imagenet)
checkpoint with new 101-way logits and trains the whole network with the
paper's optimizer and clips: learning rate 0.1 for 3000 steps, then 0.01 to
step 5000, scaled by global batch / 384 (0.0016 and 0.00016 on one replica
of 6 clips; 5000 steps of 6 clips are about 3 epochs of the 9537 training
videos). UCF-101's split files number classes from 1.

Run from the folder that holds UCF101/<class>/<video>.avi and
ucfTrainTestlist/ (or override the paths); `:flow` selects the flow stream:

  i3d-train --config=configs/ucf101_finetune.py --config.model_dir=/tmp/ucf_rgb
  i3d-train --config=configs/ucf101_finetune.py:flow \
    --config.model_dir=/tmp/ucf_flow
"""

import ml_collections

from kinetics_i3d import streams
from kinetics_i3d.training import config as config_lib

UCF101_CLASSES = 101


def get_config(stream: str = streams.RGB) -> ml_collections.ConfigDict:
  """The UCF-101 fine-tuning recipe of `stream` ('rgb' or 'flow')."""
  config = config_lib.get_config()
  config.stream = streams.check_stream(stream, 'ucf101_finetune.py:<stream>')
  config.num_classes = UCF101_CLASSES
  config.model.init_checkpoint = f'{stream}_imagenet'
  config.data.video_root = 'UCF101'
  config.data.train_split = 'ucfTrainTestlist/trainlist01.txt'
  config.data.eval_split = 'ucfTrainTestlist/testlist01.txt'
  config.data.label_offset = 1  # trainlist01.txt numbers classes from 1.
  config.optim.schedule = 'custom'
  config.optim.lr_boundaries = (3000,)
  config.optim.lr_values = (0.1, 0.01)
  config.optim.train_steps = 5000
  return config
