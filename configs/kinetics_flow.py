r"""The paper's recipe for the optical-flow stream of I3D on Kinetics-400.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

The RGB recipe (`configs/kinetics_rgb.py`) on TV-L1 flow, with the README's
flow schedule: learning rate 0.1, 0.01 from step 97k, 0.001 from 104.5k, 0.1
again from 115k, 0.01 from 140k, 0.001 from 150k, end at 155k (the
`optim.schedule='stream'` preset of the flow stream). The flow of every
video is computed once into the cache; `--config.data.flow_backend` picks the
TV-L1 implementation.

  i3d-train --config=configs/kinetics_flow.py \
    --config.data.train_split=kinetics400/train.txt \
    --config.model_dir=/tmp/kinetics_flow
"""

import ml_collections

from kinetics_i3d import streams
from kinetics_i3d.training import config as config_lib


def get_config() -> ml_collections.ConfigDict:
  """The flow recipe."""
  config = config_lib.get_config()
  config.stream = streams.FLOW
  return config
