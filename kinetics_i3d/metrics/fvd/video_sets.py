# Copyright 2026 The kinetics-i3d TF2 authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
"""Sets of videos on disk, read for FVD without holding a set in memory.

FVD (Unterthiner et al., arXiv:1812.01717, 2018) compares sets of hundreds or
thousands of videos through I3D (Carreira & Zisserman, CVPR 2017). A set is a
folder of video files, a folder of frame folders or a `.npy` / `.npz` array
[N, T, H, W, 3]; `open_set` opens one (or saved `Statistics`) without
decoding anything, and `VideoSet.clip` reads one video's clip when asked.
"""

import os
from typing import Any, Dict, Iterator, List, Optional, Union

import numpy as np
from PIL import Image

from kinetics_i3d.metrics import array_sources
from kinetics_i3d.metrics import short_clips
from kinetics_i3d.metrics.fvd import preprocessing
from kinetics_i3d.metrics.fvd import protocols
from kinetics_i3d.metrics.fvd.errors import FVDError
from kinetics_i3d.metrics.fvd.errors import too_few_frames
from kinetics_i3d.metrics.fvd.sampling import ClipSampling
from kinetics_i3d.metrics.fvd.stats import Statistics
from kinetics_i3d.utils import errors
from kinetics_i3d.video import decode
from kinetics_i3d.video import formats


def iter_stored_frames(path: str) -> Iterator[np.ndarray]:
  """Every frame a video file stores, once each, in order.

  The reference takes frames as given, so videos are not resampled to 25 fps
  here: the project's decoder (`video.decode`) runs at the stream's own
  average frame rate, sampling half a frame after each timestamp, which shows
  each stored frame of a constant-rate video exactly once. (A variable-rate
  video is sampled at its average rate.)

  Args:
    path: A video file in any format FFmpeg reads.

  Yields:
    uint8 [H, W, 3] RGB frames (read-only).

  Raises:
    FVDError: For a missing, unreadable, truncated or corrupt file, or one
      that declares no frame rate.
  """
  try:
    decode.check_video(path)
    rate = decode.source_fps(path)
    if rate is None:
      raise FVDError(f'{path}: the video stream declares no frame rate, so '
                     'its stored frames cannot be told apart; re-encode it '
                     'or extract its frames into a folder.')
    for frame, _ in decode.iter_video_frames(path, fps=rate,
                                             start_time=0.5 / rate):
      yield frame
  except decode.PreprocessError as e:
    raise FVDError(str(e)) from None


def _file_entry(path: str, name: str) -> List[Any]:
  info = os.stat(path)
  return [name, info.st_size, info.st_mtime_ns]


def _sorted_entries(folder: str) -> List[str]:
  try:
    return sorted(os.listdir(folder))
  except OSError as e:
    raise FVDError(f'{folder}: cannot list it ({e.strerror}).') from None


class VideoSet:
  """A set of videos on disk: one video file, frame folder or array row each.

  Kinds:
    'videos': a folder of video files (any FFmpeg format), decoded with the
      project's decoder at each file's own frame rate, i.e. every stored
      frame once (FVD takes frames as stored; no resampling to 25 fps).
    'frames': a folder of folders of frame images, each sorted by name.
    'array': a `.npy` or single-array `.npz` file [N, T, H, W, 3].
  Videos are taken in sorted name (or row) order.
  """

  def __init__(self, path: str, kind: str, names: List[str],
               array: Optional[np.ndarray] = None,
               value_range: int = 255):
    """A set `open_set` found.

    Args:
      path: The folder or array file.
      kind: 'videos', 'frames' or 'array'.
      names: The videos' file or folder names (an array's row numbers).
      array: The memory-mapped [N, T, H, W, 3] array of an 'array' set.
      value_range: 255 or 1, the range of the set's values.
    """
    self.path = path
    self.kind = kind
    self.names = names
    self.value_range = value_range
    self.array = array

  def __len__(self) -> int:
    return len(self.names)

  def limit(self, max_videos: Optional[int]) -> None:
    """Keeps the first `max_videos` videos."""
    if max_videos is not None:
      self.names = self.names[:max_videos]

  def fingerprint(self) -> Dict[str, Any]:
    """What identifies the set's content (names, sizes, times)."""
    root = os.path.abspath(self.path)
    if self.kind == 'array':
      return {'kind': self.kind, 'files': [_file_entry(root, root)],
              'count': len(self.names)}
    files = []
    for name in self.names:
      full = os.path.join(root, name)
      if self.kind == 'frames':
        files.append([name] + [
            _file_entry(os.path.join(full, frame), frame)
            for frame in self._frame_files(name)])
      else:
        files.append(_file_entry(full, name))
    return {'kind': self.kind, 'root': root, 'files': files}

  def _frame_files(self, name: str) -> List[str]:
    folder = os.path.join(self.path, name)
    return [f for f in _sorted_entries(folder)
            if formats.is_image(f)]

  def sample_name(self, index: int) -> str:
    """Video `index` as messages name it (its path, or `array[index]`)."""
    if self.kind == 'array':
      return f'{self.path}[{index}]'
    return os.path.join(self.path, self.names[index])

  def clip(self, index: int, sampling: ClipSampling) -> np.ndarray:
    """The clip of video `index`: [T, H, W, 3] (uint8 or the array's dtype).

    Raises:
      FVDError: For unreadable or truncated files, too few frames, frames of
        different sizes.
    """
    name = self.sample_name(index)
    if self.kind == 'array':
      try:
        video = self.array[index]
      except array_sources.ArrayFileError as e:
        raise FVDError(str(e)) from None
      clip = np.asarray(video[sampling.indices(video.shape[0],
                                               self.names[index], name)])
    elif self.kind == 'frames':
      clip = self._frames_clip(index, sampling, name)
    else:
      clip = self._video_clip(index, sampling, name)
    return short_clips.apply(clip, sampling.short_clips)

  def _frames_clip(self, index: int, sampling: ClipSampling,
                   name: str) -> np.ndarray:
    files = self._frame_files(self.names[index])
    if not files:
      raise FVDError(f'{name}: no frame images '
                     f'({", ".join(formats.IMAGE_EXTENSIONS)}).')
    frames = []
    for i in sampling.indices(len(files), self.names[index], name):
      path = os.path.join(name, files[i])
      try:
        with Image.open(path) as image:
          frames.append(np.asarray(image.convert('RGB')))
      except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise FVDError(f'{path}: not a readable image '
                       f'({errors.first_line(e)}).') from None
      if frames[-1].shape != frames[0].shape:
        raise FVDError(f'{path}: frame of size {frames[-1].shape[:2]}, but '
                       f'{files[0]} is {frames[0].shape[:2]}; the frames of '
                       'a video must share one size.')
    return np.stack(frames)

  def _video_clip(self, index: int, sampling: ClipSampling,
                  name: str) -> np.ndarray:
    key = self.names[index]
    if sampling.num_frames is not None and sampling.start == 'first':
      clip = []
      needed = sampling.skip_first + max(sampling.span, sampling.min_frames)
      for frame in iter_stored_frames(name):
        clip.append(frame)
        if len(clip) == needed:
          break
    elif sampling.num_frames is None:
      clip = list(iter_stored_frames(name))
    else:
      # A random start: count the frames first, so that memory stays bounded.
      total = sum(1 for _ in iter_stored_frames(name))
      selected = set(sampling.indices(total, key, name).tolist())
      return np.stack([frame for i, frame in enumerate(
          iter_stored_frames(name)) if i in selected])
    return np.stack([clip[i] for i in sampling.indices(len(clip), key, name)])

  def check_values(self) -> None:
    """Scans an array set for NaN and values out of range, chunk by chunk."""
    if self.kind != 'array' or (self.array.dtype == np.uint8 and
                                self.value_range == 255):
      return  # Every uint8 value lies in [0, 255]: nothing to read.
    # About 16M values (64 MB as float32) at a time: memory stays bounded.
    chunk = max(1, int(2**24 // max(1, np.prod(self.array.shape[1:]))))
    for start in range(0, len(self.names), chunk):
      preprocessing.check_values(
          self.array[start:start + chunk], self.value_range,
          f'{self.path}[{start}:{start + chunk}]')


def _load_array_file(path: str) -> Union[array_sources.OffsetArray,
                                         array_sources.StreamedMember,
                                         Dict[str, np.ndarray]]:
  """Statistics (read whole), or a video array read row by row."""
  try:
    if path.lower().endswith('.npy'):
      return array_sources.open_npy(path)
    with np.load(path, allow_pickle=False) as data:
      keys = list(data.files)
      if {'mean', 'covariance'} <= set(keys):
        return {key: data[key] for key in keys}
    if len(keys) != 1:
      raise FVDError(
          f'{path}: holds arrays {keys}; store one array [N, T, H, W, 3] '
          '(np.savez(path, videos)) or statistics written by this library.')
    return array_sources.open_npz_member(path, keys[0] + '.npy')
  except FVDError:
    raise
  except array_sources.ArrayFileError as e:
    raise FVDError(str(e)) from None
  except array_sources.READ_ERRORS as e:
    raise FVDError(f'{path}: not a readable numpy file '
                   f'({errors.first_line(e)}).') from None


def open_set(path: str,
             value_range: Optional[int] = None,
             protocol: Union[str, protocols.Protocol] = 'reference',
             flag: str = 'set',
             range_flag: str = 'value_range') -> Union[VideoSet, Statistics]:
  """Opens a set of videos, or saved statistics, without decoding anything.

  Args:
    path: A folder of video files; a folder of frame folders; a `.npy` /
      `.npz` array [N, T, H, W, 3]; or an `.npz` of `Statistics`.
    value_range: 255 or 1, the range of an array's values (required for
      arrays, never guessed); decoded videos and images are uint8 [0, 255].
    protocol: Statistics files must have been made under it.
    flag: How to call the input in errors (e.g. '--real').
    range_flag: How to call `value_range` in errors (e.g. '--value_range').

  Returns:
    A `VideoSet`, or `Statistics`.

  Raises:
    FVDError: For a missing or unreadable path, a folder mixing videos and
      frame folders or holding neither, an array of the wrong shape or
      dtype, a missing value range, statistics of another protocol.
  """
  label = f'{flag}={path}'
  if not os.path.exists(path):
    raise FVDError(f'{label}: no such file or folder.')
  if os.path.isdir(path):
    return _open_folder(path, label)
  if not path.lower().endswith(('.npy', '.npz')):
    raise FVDError(f'{label}: give a folder of videos, a folder of frame '
                   'folders, a .npy/.npz array or a statistics .npz.')
  loaded = _load_array_file(path)
  if isinstance(loaded, dict):
    return Statistics.from_fields(loaded, path, protocol)
  return _array_set(path, loaded, value_range, label, range_flag)


def _open_folder(path: str, label: str) -> VideoSet:
  """The set of a folder of video files or of frame folders."""
  entries = _sorted_entries(path)
  videos = [e for e in entries if formats.is_video(e) and
            os.path.isfile(os.path.join(path, e))]
  folders = [e for e in entries if os.path.isdir(os.path.join(path, e))
             and not e.startswith('.')]
  if videos and folders:
    raise FVDError(
        f'{label}: holds both video files ({videos[0]}, ...) and folders '
        f'({folders[0]}, ...); give a folder of videos or a folder of '
        'frame folders.')
  if videos:
    return VideoSet(path, 'videos', videos)
  if folders:
    return VideoSet(path, 'frames', folders)
  raise FVDError(
      f'{label}: no video files ({", ".join(formats.VIDEO_EXTENSIONS)}) and '
      'no frame folders in it.')


def _array_set(path: str, array: Any, value_range: Optional[int], label: str,
               range_flag: str) -> VideoSet:
  """The set of an opened array [N, T, H, W, 3] of stated value range."""
  if array.ndim != 5 or array.shape[-1] != 3:
    raise FVDError(f'{label}: expected videos [N, T, H, W, 3], got shape '
                   f'{array.shape}.')
  if not (np.issubdtype(array.dtype, np.floating) or
          np.issubdtype(array.dtype, np.integer)) or array.dtype == np.bool_:
    raise FVDError(f'{label}: expected uint8 or float values, got dtype '
                   f'{array.dtype}.')
  if value_range is None:
    raise FVDError(
        f'{label}: an array needs its value range stated: {range_flag}=255 '
        f'(uint8, or floats in [0, 255]) or {range_flag}=1 (floats in '
        '[0, 1]).')
  value_range = preprocessing.check_value_range(value_range, label)
  names = [str(i) for i in range(array.shape[0])]
  return VideoSet(path, 'array', names, array, value_range)


def clip_length(video_set: VideoSet, sampling: ClipSampling) -> int:
  """Frames in the set's clips, read from its first video.

  Raises:
    FVDError: If the first video is unreadable or its clip shorter than I3D
      takes.
  """
  if video_set.kind == 'array':  # One length for all: check it now.
    length = len(sampling.indices(video_set.array.shape[1], '0',
                                  video_set.sample_name(0)))
  elif sampling.num_frames is not None:
    length = sampling.num_frames
  else:
    length = int(video_set.clip(0, sampling).shape[0])
  treated = short_clips.treated_length(length, sampling.short_clips)
  if treated is None:
    raise too_few_frames(video_set.sample_name(0), length)
  return treated
