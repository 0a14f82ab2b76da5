"""Writes a video's I3D inputs in the format of DeepMind's sample, all-or-nothing.

DeepMind's kinetics-i3d release (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017) ships one
preprocessed clip as `<name>_rgb.npy` and `<name>_flow.npy` (float32
[1, T, 224, 224, C] in [-1, 1]) with a GIF of each stream. This module writes
the same files for any video, as the `i3d-preprocess` tool
(`python -m kinetics_i3d.preprocess`) does; `sample_arrays.load` reads them.
"""

import os
from typing import Dict, Optional, Sequence

from absl import logging
import numpy as np

import i3d
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.flow import backends
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.video import containers
from kinetics_i3d.video import decode
from kinetics_i3d.video import formats
from kinetics_i3d.video import gifs as gifs_lib
from kinetics_i3d.video import model_inputs
from kinetics_i3d.video import rgb

PreprocessError = decode.PreprocessError


def _output_paths(output_dir: str, name: str, streams: Sequence[str],
                  with_gifs: bool) -> Dict[str, str]:
  """{'<stream>_npy' | '<stream>_gif': path} of `preprocess_to_files`."""
  paths = {}
  for stream in streams:
    paths[f'{stream}_npy'] = os.path.join(
        output_dir, name + formats.SAMPLE_SUFFIXES[stream])
    if with_gifs:
      paths[f'{stream}_gif'] = os.path.join(output_dir, f'{name}_{stream}.gif')
  return paths


def _make_output_dir(output_dir: str) -> None:
  try:
    os.makedirs(output_dir, exist_ok=True)
  except OSError as e:
    raise PreprocessError(
        f'{output_dir}: cannot create the output folder '
        f'({e.strerror or e}).') from None
  if not os.access(output_dir, os.W_OK | os.X_OK):
    raise PreprocessError(f'{output_dir}: the output folder is not writable.')


def _warn_if_too_short(inputs: Dict[str, np.ndarray], video: str) -> None:
  """Warns when the clip is shorter than I3D's logits can take."""
  num_frames = next(iter(inputs.values())).shape[1]
  if num_frames < i3d.min_num_frames():
    logging.warning(
        '%s: the clip has %d frames; I3D\'s logits need at least %d (take a '
        'longer clip: a later --end_time or an earlier --start_time).', video,
        num_frames, i3d.min_num_frames())


def _write_npy(array: np.ndarray, path: str) -> None:
  with open(path, 'wb') as f:
    np.save(f, np.asarray(array), allow_pickle=False)


def _new_outputs(video: str, output_dir: str, name: Optional[str],
                 streams: Sequence[str], with_gifs: bool,
                 overwrite: bool) -> Dict[str, str]:
  """The output paths, refusing a bad name or outputs that may not go."""
  if name is None:
    name = os.path.splitext(os.path.basename(os.fspath(video)))[0]
  if not name or os.sep in name or (os.altsep and os.altsep in name):
    raise PreprocessError(f'--name must be a plain file prefix, got {name!r}.')
  paths = _output_paths(output_dir, name, streams, with_gifs)
  for path in paths.values():
    try:
      atomic_files.refuse_existing(path, overwrite)
    except FileExistsError as e:
      raise PreprocessError(str(e)) from None
  return paths


def _write_outputs(inputs: Dict[str, np.ndarray], paths: Dict[str, str],
                   output_dir: str) -> None:
  """Writes the arrays and the GIFs `paths` names, all or none of them."""
  gif_frames = {streams_lib.RGB: gifs_lib.rgb_gif_frames,
                streams_lib.FLOW: gifs_lib.flow_gif_frames}
  try:
    with atomic_files.staged(list(paths.values())) as staged:
      for stream, array in inputs.items():
        _write_npy(array, staged[paths[f'{stream}_npy']])
      for stream, array in inputs.items():
        if f'{stream}_gif' in paths:
          gifs_lib.write_gif(gif_frames[stream](array),
                         staged[paths[f'{stream}_gif']])
  except OSError as e:
    raise PreprocessError(
        f'--output_dir={output_dir}: cannot write the output '
        f'({e.strerror or e}).') from None


def preprocess_to_files(video: str, output_dir: str, name: Optional[str] = None,
                        streams: Sequence[str] = streams_lib.STREAMS,
                        start_time: Optional[float] = None,
                        end_time: Optional[float] = None,
                        crop: rgb.Crop = 'center', quantize: bool = False,
                        gifs: bool = True, num_workers: Optional[int] = None,
                        overwrite: bool = False,
                        progress: bool = False,
                        flow_backend: Optional[str] = None) -> Dict[str, str]:
  """Preprocesses `video` and writes its files all-or-nothing.

  Args:
    video: Input video file.
    output_dir: Output folder, created if missing.
    name: File prefix; None for the video's base name without extension.
    streams: 'rgb' and/or 'flow'.
    start_time: Clip start in seconds; None for 0.
    end_time: Clip end in seconds (exclusive); None for the end.
    crop: As `model_inputs.video_to_model_inputs`.
    quantize: Round the flow through 8 bits.
    gifs: Whether to write the GIFs too.
    num_workers: OpenCV TV-L1 processes; None for every CPU available.
    overwrite: Whether existing outputs may be replaced.
    progress: Whether to show progress bars (long work is logged anyway).
    flow_backend: A member of `backends.BACKENDS`; None for
      `backends.default_backend()`.

  Returns:
    {'<stream>_npy' | '<stream>_gif': written path}.

  Raises:
    PreprocessError: For a bad video, bad arguments, outputs that exist
      without `overwrite`, or an output folder that cannot be written.
    ValueError: For bad streams or flow backend.
  """
  streams = model_inputs.check_streams(streams)
  with_flow = streams_lib.FLOW in streams
  backend = backends.resolve(flow_backend) if with_flow else None
  paths = _new_outputs(video, output_dir, name, streams, gifs, overwrite)
  decode.check_clip_times(video, start_time, end_time)
  problem = atomic_files.write_problem(output_dir, folder=True)
  if problem:
    raise PreprocessError(f'--output_dir={output_dir}: {problem}.')
  containers.check_video(video)
  flow_note = ''
  if backend is not None:
    flow = backends.identity(backend)
    flow_note = f'; flow: {flow["name"]} ({backend}, {flow["params"]})'
  logging.info('Preprocessing %s: streams %s%s.', video, ','.join(streams),
               flow_note)
  inputs = model_inputs.video_to_model_inputs(
      video, streams, start_time=start_time, end_time=end_time, crop=crop,
      quantize=quantize, num_workers=num_workers, progress=progress,
      flow_backend=backend)
  _warn_if_too_short(inputs, video)
  # Made only now: a run that fails (not a video, a start past the end)
  # leaves no new, empty folder behind.
  _make_output_dir(output_dir)
  _write_outputs(inputs, paths, output_dir)
  return paths
