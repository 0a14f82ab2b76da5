"""Which files the tools take for videos, images, lists and sample arrays.

Every tool of this I3D reimplementation (Carreira & Zisserman, "Quo Vadis,
Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017,
https://arxiv.org/abs/1705.07750) that looks through a folder decides what is
a video, a frame image or a list of files by these suffixes alone, so a file
is the same kind of input to all of them. Suffixes compare case-insensitively.
"""

import os
from typing import Dict, Optional, Tuple

from kinetics_i3d import streams

# Containers PyAV (FFmpeg) decodes.
VIDEO_EXTENSIONS: Tuple[str, ...] = (
    '.3gp', '.avi', '.flv', '.gif', '.m4v', '.mkv', '.mov', '.mp4', '.mpeg',
    '.mpg', '.ogv', '.ts', '.webm', '.wmv')
# Frame images (a folder of them is one video, frames in name order).
IMAGE_EXTENSIONS: Tuple[str, ...] = (
    '.bmp', '.jpeg', '.jpg', '.png', '.ppm', '.tif', '.tiff', '.webp')
# Text files listing inputs, one path per line.
LIST_EXTENSIONS: Tuple[str, ...] = ('.list', '.lst', '.txt')
# The original's preprocessed sample arrays: `<name>_rgb.npy`, `<name>_flow.npy`.
SAMPLE_SUFFIXES: Dict[str, str] = {
    stream: f'_{stream}.npy' for stream in streams.STREAMS}


def _suffix(path: str) -> str:
  return os.path.splitext(path)[1].lower()


def is_video(path: str) -> bool:
  """Whether `path` names a video file by its suffix."""
  return _suffix(path) in VIDEO_EXTENSIONS


def is_image(path: str) -> bool:
  """Whether `path` names a frame image by its suffix."""
  return _suffix(path) in IMAGE_EXTENSIONS


def is_list(path: str) -> bool:
  """Whether `path` names a list of inputs by its suffix."""
  return _suffix(path) in LIST_EXTENSIONS


def sample_stream(path: str) -> Optional[str]:
  """The stream of a `<name>_rgb.npy` / `<name>_flow.npy` file, else None."""
  name = os.path.basename(path).lower()
  for stream, suffix in SAMPLE_SUFFIXES.items():
    if name.endswith(suffix) and len(name) > len(suffix):
      return stream
  return None
