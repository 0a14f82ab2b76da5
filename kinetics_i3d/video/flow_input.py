"""The flow stream's steps: bound, scale, crop, and the paper's 8-bit storage.

In Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset" (CVPR 2017, https://arxiv.org/abs/1705.07750), TV-L1 flow
is truncated to [-20, 20] pixels (`streams.FLOW_BOUND`) and divided by 20;
Google's released pipeline (MediaPipe) stored it as 8 bits over that range.
The flow is computed on the resized RGB frames (`rgb.resize_smallest_side`)
and takes the RGB stream's crop.
"""

import numpy as np

from kinetics_i3d import streams
from kinetics_i3d.video import rgb

_BOUND = streams.FLOW_BOUND


def flow_to_model_input(flow: np.ndarray, crop: rgb.Crop = 'center',
                        crop_size: int = streams.CROP) -> np.ndarray:
  """Flow at the resized resolution -> the flow stream's input.

  Args:
    flow: float [T, H, W, 2] pixels, computed on frames whose smaller side is
      `streams.RESIZE` (no resize here: flow vectors are in those frames'
      pixels).
    crop: As `rgb.crop_offsets`; use the same as the RGB stream.
    crop_size: Crop side.

  Returns:
    float32 [T, crop_size, crop_size, 2]: clip(flow, -20, 20) / 20, in
    [-1, 1].

  Raises:
    ValueError: For another shape or a bad crop.
  """
  flow = np.asarray(flow)
  if flow.ndim != 4 or flow.shape[-1] != 2:
    raise ValueError(f'flow must be [T, H, W, 2], got shape {flow.shape}.')
  offsets = rgb.crop_offsets(*flow.shape[1:3], crop_size, crop)
  cropped = rgb.crop_at(flow, crop_size, offsets).astype(np.float32)
  return np.clip(cropped, -_BOUND, _BOUND) / np.float32(_BOUND)


def quantize_flow(flow: np.ndarray) -> np.ndarray:
  """Flow in pixels -> uint8, 256 levels over [-20, 20] (the paper's storage).

  q = round((clip(v, -20, 20) + 20) * 255 / 40), rounding half to even: -20
  -> 0, 20 -> 255, 0 -> 128 (127.5 rounded). Google's released pipeline then
  stored q as quality-100 JPEG; that compression is not simulated here.

  Args:
    flow: float flow in pixels, any shape.

  Returns:
    uint8 array of the same shape.
  """
  flow = np.clip(np.asarray(flow, np.float64), -_BOUND, _BOUND)
  return np.rint((flow + _BOUND) * (255 / (2 * _BOUND))).astype(np.uint8)


def dequantize_flow(quantized: np.ndarray) -> np.ndarray:
  """uint8 levels -> float32 pixels: (q / 255 - 0.5) * 2 * 20.

  For flow within [-20, 20], dequantize_flow(quantize_flow(v)) is within half
  a level, 20 / 255 pixels, of v.

  Args:
    quantized: uint8 array from `quantize_flow`.

  Returns:
    float32 array of the same shape in [-20, 20].

  Raises:
    ValueError: For another dtype than uint8.
  """
  quantized = np.asarray(quantized)
  if quantized.dtype != np.uint8:
    raise ValueError(f'quantized flow must be uint8, got {quantized.dtype}.')
  return ((quantized.astype(np.float64) / 255 - 0.5) * 2 *
          _BOUND).astype(np.float32)
