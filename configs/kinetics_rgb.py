r"""The paper's recipe for the RGB stream of I3D on Kinetics-400.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

As the kinetics-i3d README documents it: SGD with momentum 0.9, weight decay
1e-7, dropout keep probability 0.5, 6 clips of 64 frames (224x224 crops of
frames resized to 256) per replica on 64 replicas, learning rate 0.1 until
step 97k, 0.01 until 108k and 0.001 until 115k (scaled by global batch / 384
on fewer replicas). These are the defaults of
`kinetics_i3d.training.config.get_config`, where each is stated once.

  i3d-train --config=configs/kinetics_rgb.py \
    --config.data.train_split=kinetics400/train.txt \
    --config.model_dir=/tmp/kinetics_rgb
"""

import ml_collections

from kinetics_i3d.training import config as config_lib


def get_config() -> ml_collections.ConfigDict:
  """The RGB recipe (train from scratch; ImageNet inflation is optional)."""
  return config_lib.get_config()
