r"""i3d-fvd: Frechet Video Distance between two sets of videos.

FVD (Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", arXiv:1812.01717, 2018) compares the Gaussians of the
rgb_scratch I3D logits (Carreira & Zisserman, CVPR 2017) of two sets of
videos. The protocol, its variants and the library are in
`kinetics_i3d/metrics/fvd.py`.

Each of --real and --generated is one of
  * a folder of video files (decoded at their own frame rate: every stored
    frame once, as the reference takes frames as given);
  * a folder of folders of frame images (one folder per video, frames in
    name order);
  * a `.npy` / `.npz` array [N, T, H, W, 3] (uint8, or floats), with
    --value_range saying whether values lie in [0, 255] or [0, 1] (one range
    for every array given; values outside it are an error, never rescaled);
  * an `.npz` of statistics written earlier (--save_real_stats ...).

Clips: every frame of every video (--num_frames unset; all videos must then
have one length), or --num_frames consecutive frames (every --frame_stride-th)
from the first frame or from a random offset (--clip_start, seeded by
--seed). The protocol sets the defaults ('stylegan_v': 16 frames, real clips
at a random offset, at most 2048 videos).

Embedding runs on the GPU when TensorFlow sees one, in batches, with a progress
bar and log lines; the embeddings done so far are cached after each batch
(--cache_dir), so a killed run started again resumes.

Usage:
  i3d-fvd --real=data/real_videos --generated=out/samples
  i3d-fvd --real=real.npy --generated=fake.npy --value_range=255
  i3d-fvd --real=real_frames/ --generated=fake.npz --value_range=1 \
      --num_frames=16 --save_real_stats=real_stats.npz
  i3d-fvd --real=real_stats.npz --generated=fake.npy --value_range=255
  i3d-fvd --protocol=stylegan_v --real=ucf101/ --generated=samples/

The last line printed is `FVD: <value>`.
"""

from kinetics_i3d.utils import cli  # pylint: disable=g-bad-import-order

# pylint: disable=g-import-not-at-top,wrong-import-position
import sys

from absl import flags

from kinetics_i3d import paths
from kinetics_i3d.metrics import fvd

_REAL = flags.DEFINE_string(
    'real', None, 'The real set: a folder of videos, a folder of frame '
    'folders, a .npy/.npz array [N, T, H, W, 3] or a statistics .npz.')
_GENERATED = flags.DEFINE_string(
    'generated', None, 'The generated set, in any of the forms of --real.')
_PROTOCOL = flags.DEFINE_enum(
    'protocol', 'reference', list(fvd.PROTOCOLS),
    'FVD protocol: ' + '; '.join(
        f'{p.name}: {p.difference}' for p in fvd.PROTOCOLS.values()) + '.')
_VALUE_RANGE = flags.DEFINE_enum(
    'value_range', None, ['255', '1'],
    'Range of the values stored in .npy/.npz arrays: 255 ([0, 255], e.g. '
    'uint8) or 1 ([0, 1]). Required for arrays; never guessed.')
_NUM_FRAMES = flags.DEFINE_integer(
    'num_frames', None, 'Frames per clip (at least 9, the fewest I3D takes). '
    "Default: the protocol's (every frame for reference, crop and "
    'half_pixel; 16 for stylegan_v).', lower_bound=1)
_FRAME_STRIDE = flags.DEFINE_integer(
    'frame_stride', 1, 'Take every n-th frame (1: consecutive frames).',
    lower_bound=1)
_CLIP_START = flags.DEFINE_enum(
    'clip_start', None, list(fvd.CLIP_STARTS),
    "Where clips start: 'first' frame or a 'random' offset (seeded by "
    "--seed). Default: the protocol's (stylegan_v: random for real, first "
    'for generated; otherwise first).')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of random clip offsets.')
_MAX_VIDEOS = flags.DEFINE_integer(
    'max_videos', None, "Use at most this many videos per set (the first in "
    "name order). Default: the protocol's (2048 for stylegan_v, else all).",
    lower_bound=2)
_BATCH_SIZE = flags.DEFINE_integer(
    'batch_size', fvd.DEFAULT_BATCH_SIZE,
    'Videos per forward pass (values do not depend on it).', lower_bound=1)
_CACHE_DIR = flags.DEFINE_string(
    'cache_dir', None, 'Folder of the partial-embedding files that make a '
    'killed run resumable. Default: <$I3D_CACHE_DIR or ~/.cache/i3d>/fvd; '
    "'' turns caching off.")
_SAVE_REAL_STATS = flags.DEFINE_string(
    'save_real_stats', None, 'Write the real set\'s statistics to this .npz.')
_SAVE_GENERATED_STATS = flags.DEFINE_string(
    'save_generated_stats', None,
    'Write the generated set\'s statistics to this .npz.')
_OVERWRITE = flags.DEFINE_bool(
    'overwrite', False, 'Replace existing statistics files.')
_CHECKPOINT_DIR = flags.DEFINE_string(
    'checkpoint_dir', paths.CHECKPOINT_DIR,
    'Folder holding rgb_scratch/model.ckpt (fetched there when absent).')
_PROGRESS = flags.DEFINE_bool(
    'progress', True, 'Show progress bars when stderr is a terminal (a '
    'redirected log gets log lines, as the other tools write).')

flags.mark_flags_as_required(['real', 'generated'])


def _check_outputs() -> None:
  """Every output path is checked before any video is embedded."""
  cli.check_writable(_SAVE_REAL_STATS.value, '--save_real_stats')
  cli.check_writable(_SAVE_GENERATED_STATS.value, '--save_generated_stats')
  if _CACHE_DIR.value:
    cli.check_writable(_CACHE_DIR.value, '--cache_dir', folder=True)
  elif _CACHE_DIR.value is None:
    cli.check_download_cache()


def main(argv):
  del argv
  _check_outputs()
  protocol = fvd.get_protocol(_PROTOCOL.value)
  plans = fvd.plan_comparison(
      _REAL.value, _GENERATED.value, protocol,
      value_range=(None if _VALUE_RANGE.value is None else
                   int(_VALUE_RANGE.value)),
      num_frames=_NUM_FRAMES.value,
      frame_stride=_FRAME_STRIDE.value,
      clip_start=_CLIP_START.value,
      seed=_SEED.value,
      max_videos=_MAX_VIDEOS.value,
      save_real_stats=_SAVE_REAL_STATS.value,
      save_generated_stats=_SAVE_GENERATED_STATS.value,
      overwrite=_OVERWRITE.value,
      flag_names={name: f'--{name}' for name in (
          'real', 'generated', 'value_range', 'num_frames',
          'save_real_stats', 'save_generated_stats')})
  cache_dir = _CACHE_DIR.value
  if cache_dir is None:
    cache_dir = fvd.default_cache_dir()
  with cli.outputs_named({'--save_real_stats': _SAVE_REAL_STATS.value,
                          '--save_generated_stats':
                              _SAVE_GENERATED_STATS.value,
                          '--cache_dir': cache_dir}):
    value, stats = fvd.run_comparison(
        plans, protocol,
        embedder=fvd.Embedder(protocol, checkpoint_dir=_CHECKPOINT_DIR.value,
                              batch_size=_BATCH_SIZE.value),
        cache_dir=cache_dir or None, overwrite=_OVERWRITE.value,
        progress=_PROGRESS.value and sys.stderr.isatty())
  for role in ('real', 'generated'):
    print(f'{role}: {stats[role].count} videos, clips of '
          f'{stats[role].num_frames or "?"} frames')
  print(f'protocol: {protocol.name}')
  print(f'FVD: {value:.6f}', flush=True)


def run() -> None:
  cli.run(main)


if __name__ == '__main__':
  run()
