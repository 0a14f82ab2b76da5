r"""i3d-fvd: Frechet Video Distance between two sets of videos.

FVD (Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", arXiv:1812.01717, 2018) compares the Gaussians of the
rgb_scratch I3D logits (Carreira & Zisserman, CVPR 2017) of two sets of
videos. The protocol, its variants and the library are in
`kinetics_i3d/metrics/fvd/`.

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
--seed), after leaving out --exclude_first_frames (a prediction model's
conditioning frames). The protocol sets the defaults ('stylegan_v': 16
frames, real clips at a random offset, at most 2048 videos; 'fvd2048_128f':
128 frames; 'fvd2048_128f_subsample8f': 16 frames, every 8th).

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

  i3d-fvd --protocol=fvd2048_128f_subsample8f --real=... --generated=... \
      --kvd --bootstrap=200 --json=result.json

--kvd adds the Kernel Video Distance, --bootstrap=N a seeded 95% interval of
FVD, --json the result in a file. The line before the last states everything
that determines the number (protocol, videos per set, frames and how they
were sampled, resize, weights, covariance, square root, version); the last
line printed is `FVD: <value>`.
"""

from kinetics_i3d.utils import cli  # pylint: disable=g-bad-import-order

# pylint: disable=g-import-not-at-top,wrong-import-position
import json
import sys
from typing import Any, Dict, Optional, Sequence

from absl import flags

from kinetics_i3d import paths
from kinetics_i3d.metrics import batching
from kinetics_i3d.metrics import bootstrap
from kinetics_i3d.metrics import fvd
from kinetics_i3d.metrics.fvd import comparison
from kinetics_i3d.metrics.fvd import embedder as embedder_lib
from kinetics_i3d.metrics.fvd import planning
from kinetics_i3d.metrics import kvd
from kinetics_i3d.metrics import short_clips
from kinetics_i3d.utils import atomic_files

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
    'half_pixel; 16 for stylegan_v and fvd2048_128f_subsample8f; 128 for '
    'fvd2048_128f). Fewer than 9 need --short_clips=pad_last.',
    lower_bound=1)
_FRAME_STRIDE = flags.DEFINE_integer(
    'frame_stride', None, "Take every n-th frame. Default: the protocol's "
    '(8 for fvd2048_128f_subsample8f, else 1: consecutive frames).',
    lower_bound=1)
_EXCLUDE_FIRST_FRAMES = flags.DEFINE_integer(
    'exclude_first_frames', 0, 'Leave out the first N frames of every video '
    "before taking clips (a video-prediction model's conditioning frames). "
    '0: conditioning frames included, as common_metrics_on_video_quality '
    'and the BAIR convention count them.', lower_bound=0)
_SHORT_CLIPS = flags.DEFINE_enum(
    'short_clips', 'refuse', list(short_clips.TREATMENTS),
    'Clips under 9 frames (the fewest I3D takes): refuse them, or pad_last: '
    'repeat the last frame up to 9 (changes the number; see README).')
_KVD = flags.DEFINE_bool(
    'kvd', False, 'Also print the Kernel Video Distance (unbiased cubic '
    'polynomial-kernel MMD of the same embeddings, averaged over subsets as '
    "StyleGAN's KID).")
_KVD_SUBSETS = flags.DEFINE_integer(
    'kvd_subsets', kvd.DEFAULT_NUM_SUBSETS, 'KVD: subsets averaged.',
    lower_bound=1)
_KVD_SUBSET_SIZE = flags.DEFINE_integer(
    'kvd_subset_size', None, 'KVD: videos per subset of each set. Default: '
    f'min(the sets\' sizes, {kvd.DEFAULT_MAX_SUBSET_SIZE}).', lower_bound=2)
_BOOTSTRAP = flags.DEFINE_integer(
    'bootstrap', None, 'Also print a 95% percentile bootstrap interval of '
    'FVD from this many resamples of the embeddings (seeded by --seed).',
    lower_bound=2)
_BOOTSTRAP_SIZE = flags.DEFINE_integer(
    'bootstrap_size', None, 'Videos per bootstrap resample of each set. '
    "Default: each set's size.", lower_bound=2)
_JSON = flags.DEFINE_string(
    'json', None, 'Also write the result (FVD, KVD, interval, provenance) '
    'to this JSON file.')
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
    'batch_size', None, 'Videos per forward pass (values do not depend on '
    "it). Default: sized to the GPU's free memory, "
    f'{batching.CPU_BATCH_SIZE} on a CPU.', lower_bound=1)
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
    'overwrite', False, 'Replace existing statistics and --json files.')
_CHECKPOINT_DIR = flags.DEFINE_string(
    'checkpoint_dir', paths.CHECKPOINT_DIR,
    'Folder holding rgb_scratch/model.ckpt (fetched there when absent).')
_PROGRESS = flags.DEFINE_bool(
    'progress', True, 'Show progress bars when stderr is a terminal (a '
    'redirected log gets log lines, as the other tools write).')

flags.mark_flags_as_required(['real', 'generated'])


def _check_extras(plans: Sequence[fvd.SetPlan]) -> None:
  """Refuses KVD / bootstrap settings the sets cannot meet, before work."""
  if not (_KVD.value or _BOOTSTRAP.value):
    return
  counts = []
  for plan in plans:
    source = plan.source
    if isinstance(source, fvd.Statistics):
      if source.embeddings is None:
        raise fvd.FVDError(
            f'{plan.flag}: statistics without embeddings; --kvd and '
            '--bootstrap need them: save them again with this version.')
      counts.append(source.count)
    else:
      counts.append(len(source))
  for flag, size in (('--kvd_subset_size', _KVD_SUBSET_SIZE.value),
                     ('--bootstrap_size', _BOOTSTRAP_SIZE.value)):
    if size is not None and size > min(counts):
      raise fvd.FVDError(
          f'{flag}={size}: larger than a set (real {counts[0]}, generated '
          f'{counts[1]} videos); choose at most {min(counts)}.')


def _extras(stats: Dict[str, fvd.Statistics],
            protocol: fvd.Protocol) -> Dict[str, Any]:
  """KVD and the bootstrap interval, as asked for."""
  real, generated = stats['real'].embeddings, stats['generated'].embeddings
  result = {}
  if _KVD.value:
    result['kvd'] = kvd.kernel_video_distance(
        real, generated, _KVD_SUBSETS.value, _KVD_SUBSET_SIZE.value,
        _SEED.value)
    result['kvd_subsets'] = _KVD_SUBSETS.value
    result['kvd_subset_size'] = _KVD_SUBSET_SIZE.value or min(
        len(real), len(generated), kvd.DEFAULT_MAX_SUBSET_SIZE)
  if _BOOTSTRAP.value:
    interval = bootstrap.bootstrap_interval(
        real, generated,
        lambda x, y: fvd.frechet_video_distance(x, y, protocol),
        _BOOTSTRAP.value, _SEED.value, resample_size=_BOOTSTRAP_SIZE.value)
    result['bootstrap'] = interval
  return result


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
  if _JSON.value:
    fvd.check_output_path(_JSON.value, _OVERWRITE.value, '--json')
  plans = planning.plan_comparison(
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
          'save_real_stats', 'save_generated_stats')},
      exclude_first_frames=_EXCLUDE_FIRST_FRAMES.value,
      short_clip_treatment=_SHORT_CLIPS.value)
  _check_extras(plans)
  cache_dir = _CACHE_DIR.value
  if cache_dir is None:
    cache_dir = fvd.default_cache_dir()
  with cli.outputs_named({'--save_real_stats': _SAVE_REAL_STATS.value,
                          '--save_generated_stats':
                              _SAVE_GENERATED_STATS.value,
                          '--cache_dir': cache_dir}):
    value, stats = comparison.run_comparison(
        plans, protocol,
        embedder=embedder_lib.Embedder(
            protocol, checkpoint_dir=_CHECKPOINT_DIR.value,
            batch_size=(_BATCH_SIZE.value or batching.default_batch_size(
                max(plan.num_frames for plan in plans)))),
        cache_dir=cache_dir or None, overwrite=_OVERWRITE.value,
        progress=_PROGRESS.value and sys.stderr.isatty(),
        max_videos=_MAX_VIDEOS.value)
  extras = _extras(stats, protocol)
  line = fvd.comparison_line(stats)
  if _JSON.value:
    _write_json(_JSON.value, value, extras, stats, line)
  for role in ('real', 'generated'):
    print(f'{role}: {stats[role].count} videos, clips of '
          f'{stats[role].num_frames or "?"} frames')
  if 'kvd' in extras:
    print(f"KVD: {extras['kvd']:.6f} (mean of {extras['kvd_subsets']} "
          f"subsets of {extras['kvd_subset_size']} videos per set)")
  if 'bootstrap' in extras:
    print(f"FVD {extras['bootstrap'].describe()}")
  print(line)
  print(f'FVD: {value:.6f}', flush=True)


def _write_json(path: str, value: float, extras: Dict[str, Any],
                stats: Dict[str, fvd.Statistics], line: str) -> None:
  result: Dict[str, Optional[Any]] = {'fvd': value, 'protocol_line': line}
  result.update({key: v for key, v in extras.items() if key != 'bootstrap'})
  if 'bootstrap' in extras:
    interval = extras['bootstrap']
    result['bootstrap'] = {'low': interval.low, 'high': interval.high,
                           'confidence': interval.confidence,
                           'resamples': interval.num_resamples,
                           'seed': interval.seed}
  result['provenance'] = {role: stats[role].provenance for role in stats}
  atomic_files.write_text(path, json.dumps(result, indent=2, sort_keys=True)
                          + '\n', overwrite=_OVERWRITE.value)


def run() -> None:
  cli.run(main)


if __name__ == '__main__':
  run()
