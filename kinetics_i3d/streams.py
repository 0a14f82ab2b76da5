"""The two input streams of I3D and the facts every tool shares about them.

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", CVPR 2017: an RGB stream and an optical-flow stream, each
an I3D network, whose logits are summed. Inputs are sampled at 25 frames per
second; frames are resized so the smaller side is 256 and cropped to 224;
flow is TV-L1, truncated to [-20, 20] pixels and divided by 20.
"""

from typing import Dict, Tuple

RGB = 'rgb'
FLOW = 'flow'
STREAMS: Tuple[str, ...] = (RGB, FLOW)
# Channels of each stream's input: RGB, and flow's (x, y) displacement.
CHANNELS: Dict[str, int] = {RGB: 3, FLOW: 2}
# 'an RGB checkpoint', 'a flow checkpoint'.
WITH_ARTICLE: Dict[str, str] = {RGB: 'an RGB', FLOW: 'a flow'}

FPS = 25.0
RESIZE = 256
CROP = 224
FLOW_BOUND = 20.0


def check_stream(stream: str, what: str = 'stream') -> str:
  """Returns `stream` if it is 'rgb' or 'flow', else raises ValueError."""
  if stream not in STREAMS:
    raise ValueError(f'{what} must be one of {STREAMS}, got {stream!r}.')
  return stream
