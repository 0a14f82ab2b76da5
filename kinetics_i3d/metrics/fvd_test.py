"""Tests for metrics/fvd.py and the i3d-fvd tool.

FVD: Unterthiner et al., "Towards Accurate Generative Models of Video: A New
Metric & Challenges", 2018, on the rgb_scratch I3D (Carreira & Zisserman,
CVPR 2017).

Every number is checked against an independent computation:
* the resize against a numpy implementation of TF1's ResizeBilinear kernel
  (float32 source coordinates, as the kernel computes them);
* the distance against float64 numpy: `np.cov` and the eigenvalues of
  S1^1/2 S2 S1^1/2 from `np.linalg.eigh`, and a closed form for diagonal
  covariances;
* embeddings against `kinetics_i3d.testing.reference_forward` (raw TF ops on
  the checkpoint's tensors read with `tf.train.load_checkpoint`, sharing no
  code with `i3d.py`), on inputs preprocessed with the numpy resize.
The real rgb_scratch model is loaded once; clips are 10 frames of a few dozen
pixels (everything is resized to 224 anyway).
"""

import fractions
import functools
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from absl.testing import absltest
from absl.testing import parameterized
import av
import numpy as np
from PIL import Image
import tensorflow as tf

from kinetics_i3d import paths
from kinetics_i3d.metrics import fvd
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.weights import checkpoints

_FRAMES = 10  # Short clips (I3D takes 9 or more) keep the tests fast.
_SCOPE = 'RGB/inception_i3d/'


# ----------------------------------------------------------------------------
# Independent computations and fixtures.
# ----------------------------------------------------------------------------


def numpy_resize_bilinear(image: np.ndarray, out_h: int, out_w: int,
                          half_pixel: bool = False) -> np.ndarray:
  """TF1 ResizeBilinear (align_corners=False) of [H, W, C], in numpy.

  Source coordinate of output index i: i * in / out (legacy), or
  (i + 0.5) * in / out - 0.5 (half-pixel), in float32 as the kernel computes
  it; neighbours floor and floor + 1 clamped to the image; linear weights.
  """
  image = np.asarray(image, np.float64)

  def axis(out_size, in_size):
    scale = np.float32(in_size) / np.float32(out_size)
    index = np.arange(out_size, dtype=np.float32)
    source = ((index + np.float32(.5)) * scale - np.float32(.5) if half_pixel
              else index * scale).astype(np.float64)
    low = np.floor(source)
    frac = source - low
    low = low.astype(int)
    return (np.clip(low, 0, in_size - 1), np.clip(low + 1, 0, in_size - 1),
            frac)

  y0, y1, fy = axis(out_h, image.shape[0])
  x0, x1, fx = axis(out_w, image.shape[1])
  fx = fx[None, :, None]
  top = image[y0][:, x0] * (1 - fx) + image[y0][:, x1] * fx
  bottom = image[y1][:, x0] * (1 - fx) + image[y1][:, x1] * fx
  return top * (1 - fy[:, None, None]) + bottom * fy[:, None, None]


def numpy_model_input(clip: np.ndarray, crop: bool = False) -> np.ndarray:
  """The reference (or 'crop') preprocessing of [T, H, W, 3], in numpy."""
  height, width = clip.shape[1:3]
  size = (224, 224)
  if crop:
    short = min(height, width)
    size = (int(np.floor(height * 224 / short + .5)),
            int(np.floor(width * 224 / short + .5)))
  frames = np.stack([numpy_resize_bilinear(f, *size) for f in clip])
  top, left = (size[0] - 224) // 2, (size[1] - 224) // 2
  frames = frames[:, top:top + 224, left:left + 224]
  return (2 * frames / 255 - 1).astype(np.float32)


def independent_fd(a: np.ndarray, b: np.ndarray, ddof: int = 1) -> float:
  """Frechet distance of two embedding sets in float64 (eigh route)."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  s1 = np.cov(a, rowvar=False, ddof=ddof)
  s2 = np.cov(b, rowvar=False, ddof=ddof)
  w, v = np.linalg.eigh(s1)
  root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
  inner = np.linalg.eigvalsh(root @ s2 @ root)
  trace_sqrt = np.sqrt(np.clip(inner, 0, None)).sum()
  diff = a.mean(0) - b.mean(0)
  return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


def blob_videos(seed: int, count: int, height: int, width: int,
                num_frames: int = _FRAMES) -> np.ndarray:
  """uint8 [count, T, H, W, 3]: coloured blobs moving over a background."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:height, 0:width]
  videos = np.empty((count, num_frames, height, width, 3), np.uint8)
  for n in range(count):
    centre = rng.uniform(0, 1, (3, 2)) * [height, width]
    speed = rng.uniform(-3, 3, (3, 2))
    colour = rng.uniform(30, 220, (3, 3))
    background = rng.uniform(0, 80, 3)
    for t in range(num_frames):
      frame = np.broadcast_to(background, (height, width, 3)).copy()
      for c, s, col in zip(centre, speed, colour):
        cy, cx = c + s * t
        blob = np.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * (height / 6)**2))
        frame += blob[..., None] * col
      videos[n, t] = np.clip(frame, 0, 255).astype(np.uint8)
  return videos


def encode_lossless(path: str, frames: np.ndarray, rate=25) -> str:
  """Writes uint8 [T, H, W, 3] losslessly (FFV1) with PyAV."""
  with av.open(path, 'w') as container:
    stream = container.add_stream('ffv1', rate=rate)
    stream.height, stream.width = frames.shape[1:3]
    stream.pix_fmt = 'bgr0'
    for frame in frames:
      for packet in stream.encode(av.VideoFrame.from_ndarray(frame, 'rgb24')):
        container.mux(packet)
    for packet in stream.encode():
      container.mux(packet)
  return path


@functools.lru_cache(maxsize=None)
def shared_model():
  """The rgb_scratch model, loaded once (fetched on first use)."""
  return checkpoints.build_model('rgb_scratch',
                                 checkpoint_dir=paths.CHECKPOINT_DIR)


@functools.lru_cache(maxsize=None)
def checkpoint_tensors():
  """rgb_scratch's 230 tensors, read by TF's checkpoint reader."""
  shared_model()
  reader = tf.train.load_checkpoint(
      os.path.join(paths.CHECKPOINT_DIR, 'rgb_scratch', 'model.ckpt'))
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


# Sets used by the embedding and tool tests: two real videos, a square one
# (cropping and squashing agree on it) and a non-square one, and two
# generated videos.
def real_videos():
  return [blob_videos(1, 1, 40, 40)[0], blob_videos(2, 1, 36, 52)[0]]


def generated_videos() -> np.ndarray:
  return blob_videos(3, 2, 30, 44)


@functools.lru_cache(maxsize=None)
def variant_embeddings():
  """{preprocessing protocol: (real [2, 400], generated [2, 400])}."""
  out = {}
  for name in ('reference', 'crop', 'half_pixel'):
    embedder = fvd.Embedder(name, model=shared_model())
    out[name] = (embedder.embed(real_videos(), 255, 'real'),
                 embedder.embed(generated_videos(), 255, 'generated'))
  return out


def make_tempdir(test_case) -> str:
  folder = tempfile.mkdtemp()
  test_case.addCleanup(lambda: subprocess.run(['rm', '-rf', folder],
                                              check=False))
  return folder


# ----------------------------------------------------------------------------
# The distance (no model).
# ----------------------------------------------------------------------------


class FrechetDistanceTest(parameterized.TestCase):

  def _embeddings(self, n, seed, scale=1.):
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(400, 400)) / 20
    return (rng.normal(size=(n, 400)) @ basis * scale +
            rng.normal(size=400)).astype(np.float32)

  @parameterized.named_parameters(
      ('rank_deficient_10', 10), ('rank_deficient_60', 60),
      ('full_rank_700', 700))
  def test_reference_distance_matches_numpy(self, n):
    a, b = self._embeddings(n, 1), self._embeddings(n, 2, 1.3)
    got = fvd.frechet_video_distance(a, b, 'reference')
    want = independent_fd(a, b, ddof=1)
    # Both float64; they differ only by round-off in the square roots.
    self.assertAllCloseish(got, want, rtol=1e-7, atol=1e-4)

  @parameterized.named_parameters(('rank_deficient_30', 30),
                                  ('full_rank_600', 600))
  def test_stylegan_v_distance_is_biased_and_matches_numpy(self, n):
    a, b = self._embeddings(n, 3), self._embeddings(n, 4, .8)
    got = fvd.frechet_video_distance(a, b, 'stylegan_v')
    self.assertAllCloseish(got, independent_fd(a, b, ddof=0), rtol=1e-6,
                           atol=1e-3)
    unbiased = fvd.frechet_video_distance(a, b, 'reference')
    self.assertNotAlmostEqual(got, unbiased, delta=1e-3)

  @parameterized.parameters('tfgan', 'scipy')
  def test_diagonal_covariances_closed_form(self, method):
    rng = np.random.default_rng(5)
    m1, m2 = rng.normal(size=400), rng.normal(size=400)
    v1, v2 = rng.uniform(0, 3, 400), rng.uniform(0, 3, 400)
    v1[:50] = 0.  # Rank-deficient, as with fewer videos than dimensions.
    protocol = 'reference' if method == 'tfgan' else 'stylegan_v'
    s1 = fvd.Statistics(m1, np.diag(v1), 10, protocol)
    s2 = fvd.Statistics(m2, np.diag(v2), 10, protocol)
    want = (np.sum((m1 - m2)**2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2)))
    self.assertAllCloseish(fvd.frechet_distance(s1, s2), want, rtol=1e-9,
                           atol=1e-6)

  def test_identical_sets_give_zero(self):
    a = self._embeddings(50, 6)
    self.assertAllCloseish(fvd.frechet_video_distance(a, a), 0., atol=1e-3)

  def test_tfgan_sqrtm_squares_back(self):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(30, 30))
    spd = x @ x.T
    root = fvd.tfgan_sqrtm(spd)
    np.testing.assert_allclose(root @ root, spd, atol=1e-9)
    # Singular values under 1e-10 are kept unrooted, as TF-GAN does.
    tiny = np.diag([4., 1e-12])
    np.testing.assert_allclose(fvd.tfgan_sqrtm(tiny), np.diag([2., 1e-12]))

  def test_statistics_round_trip_exactly(self):
    folder = make_tempdir(self)
    stats = fvd.Statistics.from_embeddings(self._embeddings(20, 8),
                                           'stylegan_v', num_frames=16)
    path = os.path.join(folder, 'stats.npz')
    stats.save(path)
    loaded = fvd.Statistics.load(path, 'stylegan_v')
    self.assertEqual(loaded.mean.tobytes(), stats.mean.tobytes())
    self.assertEqual(loaded.covariance.tobytes(), stats.covariance.tobytes())
    self.assertEqual((loaded.count, loaded.protocol, loaded.num_frames),
                     (20, 'stylegan_v', 16))
    self.assertEqual(os.listdir(folder), ['stats.npz'])  # No temporaries.
    with self.assertRaises(FileExistsError):
      stats.save(path)

  def test_statistics_of_another_protocol_are_refused(self):
    folder = make_tempdir(self)
    path = os.path.join(folder, 'stats.npz')
    fvd.Statistics.from_embeddings(self._embeddings(5, 9), 'stylegan_v').save(
        path)
    with self.assertRaisesRegex(fvd.FVDError, r"stats\.npz.*'stylegan_v'.*"
                                r"'reference'"):
      fvd.Statistics.load(path, 'reference')

  def test_statistics_of_another_shape_are_refused(self):
    folder = make_tempdir(self)
    path = os.path.join(folder, 'small.npz')
    fvd.Statistics(np.zeros(10), np.eye(10), 5, 'reference').save(path)
    with self.assertRaisesRegex(fvd.FVDError, r'small\.npz.*\[400\]'):
      fvd.Statistics.load(path)

  def test_unreadable_statistics_are_refused(self):
    folder = make_tempdir(self)
    good = os.path.join(folder, 'good.npz')
    fvd.Statistics.from_embeddings(self._embeddings(5, 10)).save(good)
    cut = os.path.join(folder, 'cut.npz')
    with open(good, 'rb') as f, open(cut, 'wb') as g:
      g.write(f.read()[:1000])
    with self.assertRaisesRegex(fvd.FVDError, r'cut\.npz: not a readable'):
      fvd.Statistics.load(cut)
    other = os.path.join(folder, 'other.npz')
    np.savez(other, x=np.zeros(3))
    with self.assertRaisesRegex(fvd.FVDError, r'other\.npz: not FVD stat'):
      fvd.Statistics.load(other)
    with np.load(good) as data:
      fields = dict(data)
    fields['count'] = np.arange(3)
    malformed = os.path.join(folder, 'malformed.npz')
    np.savez(malformed, **fields)
    with self.assertRaisesRegex(fvd.FVDError, r'malformed\.npz: malformed'):
      fvd.Statistics.load(malformed)

  def test_bad_embeddings_and_mismatches(self):
    a = self._embeddings(5, 11)
    with self.assertRaisesRegex(fvd.FVDError, r'1 video.*at least 2'):
      fvd.frechet_video_distance(a[:1], a)
    nan = a.copy()
    nan[2, 3] = np.nan
    with self.assertRaisesRegex(fvd.FVDError, 'NaN'):
      fvd.frechet_video_distance(a, nan)
    s_ref = fvd.Statistics.from_embeddings(a, 'reference', 16)
    s_sgv = fvd.Statistics.from_embeddings(a, 'stylegan_v', 16)
    with self.assertRaisesRegex(fvd.FVDError, 'different protocols'):
      fvd.frechet_distance(s_ref, s_sgv)
    s_ref8 = fvd.Statistics.from_embeddings(a, 'reference', 12)
    with self.assertRaisesRegex(fvd.FVDError, '16 frames.*12'):
      fvd.frechet_distance(s_ref, s_ref8)

  def assertAllCloseish(self, got, want, rtol=0., atol=0.):  # pylint: disable=invalid-name
    self.assertLessEqual(abs(got - want), atol + rtol * abs(want),
                         f'got {got!r}, want {want!r}')


# ----------------------------------------------------------------------------
# Preprocessing (TF ops, no model).
# ----------------------------------------------------------------------------


class PreprocessTest(parameterized.TestCase):

  @parameterized.product(size=[(7, 5), (64, 80), (300, 400), (224, 224),
                               (120, 90)],
                         protocol=['reference', 'half_pixel'])
  def test_resize_matches_numpy_tf1_bilinear(self, size, protocol):
    rng = np.random.default_rng(size[0] * 1000 + size[1])
    frames = rng.integers(0, 256, (2, *size, 3)).astype(np.uint8)
    got = fvd.resize_frames(frames, protocol).numpy()
    for frame, out in zip(frames, got):
      want = numpy_resize_bilinear(frame, 224, 224,
                                   half_pixel=protocol == 'half_pixel')
      # float32 interpolation of values up to 255.
      np.testing.assert_allclose(out, want, atol=2e-3)

  def test_half_pixel_differs_from_reference(self):
    frames = np.random.default_rng(0).integers(0, 256, (1, 30, 40, 3))
    ref = fvd.resize_frames(frames, 'reference').numpy()
    half = fvd.resize_frames(frames, 'half_pixel').numpy()
    self.assertGreater(np.abs(ref - half).max(), 10.)

  @parameterized.parameters((36, 52), (80, 60), (224, 300), (50, 50))
  def test_crop_variant(self, height, width):
    clip = np.random.default_rng(height).integers(
        0, 256, (9, height, width, 3)).astype(np.uint8)
    got = fvd.preprocess_clip(clip, 'crop')
    np.testing.assert_allclose(got, numpy_model_input(clip, crop=True),
                               atol=2e-5)
    squash = fvd.preprocess_clip(clip, 'reference')
    if height == width:
      np.testing.assert_array_equal(got, squash)
    else:
      self.assertGreater(np.abs(got - squash).max(), .1)

  def test_scaling_and_value_ranges(self):
    clip = np.random.default_rng(1).integers(0, 256, (9, 20, 30, 3))
    uint8 = fvd.preprocess_clip(clip.astype(np.uint8), 'reference', 255)
    np.testing.assert_allclose(uint8, numpy_model_input(clip), atol=2e-5)
    self.assertBetween(float(uint8.min()), -1.001, -0.5)
    self.assertBetween(float(uint8.max()), 0.5, 1.001)
    unit = fvd.preprocess_clip(clip / 255., 'reference', 1)
    np.testing.assert_allclose(unit, uint8, atol=1e-5)
    # Exactly 0 and 255 map to -1 and 1.
    edges = np.zeros((9, 4, 4, 3), np.uint8)
    edges[:, :2] = 255
    out = fvd.preprocess_clip(edges)
    self.assertEqual((out.min(), out.max()), (-1., 1.))

  def test_bad_clips(self):
    clip = np.full((9, 8, 8, 3), 100., np.float32)
    with self.assertRaisesRegex(fvd.FVDError,
                                r'v1: clips of 8 frames.*at least 9'):
      fvd.preprocess_clip(clip[:8], name='v1')
    bad = clip.copy()
    bad[3, 2, 1, 0] = np.nan
    with self.assertRaisesRegex(fvd.FVDError, 'v2: contains NaN'):
      fvd.preprocess_clip(bad, name='v2')
    with self.assertRaisesRegex(
        fvd.FVDError, r'v3: values span \[100, 100\].*\[0, 1\].*'
        'value_range=255'):
      fvd.preprocess_clip(clip, value_range=1, name='v3')
    with self.assertRaisesRegex(fvd.FVDError, r'v4: values span \[-3'):
      fvd.preprocess_clip(clip - 103, name='v4')
    with self.assertRaisesRegex(fvd.FVDError, r'v5: expected RGB'):
      fvd.preprocess_clip(clip[..., :2], name='v5')
    with self.assertRaisesRegex(fvd.FVDError, 'value_range must be 255'):
      fvd.preprocess_clip(clip, value_range=2)
    with self.assertRaisesRegex(fvd.FVDError, 'Unknown FVD protocol'):
      fvd.preprocess_clip(clip, 'fvd_v9')
    # Refused before the model is loaded (the embedder loads it lazily).
    embedder = fvd.Embedder('reference', checkpoint_dir='/nonexistent')
    with self.assertRaisesRegex(fvd.FVDError, r'set\[1\]: 10 frames, but '
                                r'set\[0\] has 9'):
      embedder.embed([clip, np.concatenate([clip, clip[:1]])], name='set')

  def test_clip_sampling(self):
    first = fvd.ClipSampling(9, 2, 'first')
    np.testing.assert_array_equal(first.indices(30, 'a', 'a'),
                                  np.arange(0, 18, 2))
    everything = fvd.ClipSampling()
    np.testing.assert_array_equal(everything.indices(12, 'a', 'a'),
                                  np.arange(12))
    random = fvd.ClipSampling(16, 1, 'random', seed=3)
    offsets = {int(random.indices(100, f'v{i}', 'x')[0]) for i in range(20)}
    self.assertGreater(len(offsets), 5)  # Offsets vary between videos...
    again = fvd.ClipSampling(16, 1, 'random', seed=3)
    np.testing.assert_array_equal(random.indices(100, 'v7', 'x'),
                                  again.indices(100, 'v7', 'x'))  # ...not runs.
    for index in range(20):
      got = random.indices(17, f'v{index}', 'x')
      self.assertBetween(int(got[0]), 0, 1)
    with self.assertRaisesRegex(fvd.FVDError, r'vid: 10 frames.*needs 17'):
      fvd.ClipSampling(9, 2).indices(10, 'vid', 'vid')
    with self.assertRaisesRegex(fvd.FVDError, r'num_frames=8.*at least 9'):
      fvd.ClipSampling(8)


# ----------------------------------------------------------------------------
# Sets on disk (decoding, no model).
# ----------------------------------------------------------------------------


class SetsTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = make_tempdir(self)
    self.videos = blob_videos(4, 3, 24, 32, num_frames=12)

  def _path(self, name):
    return os.path.join(self.folder, name)

  def test_video_files_decode_every_stored_frame(self):
    os.mkdir(self._path('videos'))
    # 10 fps, NTSC 29.97 and 25 fps: frames as stored, never resampled.
    for name, video, rate in zip(('a.mkv', 'b.avi', 'c.mkv'), self.videos,
                                 (10, fractions.Fraction(30000, 1001), 25)):
      encode_lossless(os.path.join(self._path('videos'), name), video, rate)
    video_set = fvd.open_set(self._path('videos'))
    self.assertEqual((video_set.kind, video_set.names),
                     ('videos', ['a.mkv', 'b.avi', 'c.mkv']))
    for index in range(3):
      np.testing.assert_array_equal(
          video_set.clip(index, fvd.ClipSampling()), self.videos[index])
      np.testing.assert_array_equal(
          video_set.clip(index, fvd.ClipSampling(9, 1, 'first')),
          self.videos[index, :9])
      sampling = fvd.ClipSampling(9, 1, 'random', seed=1)
      start = sampling.indices(12, video_set.names[index], '')[0]
      np.testing.assert_array_equal(video_set.clip(index, sampling),
                                    self.videos[index, start:start + 9])

  def test_frame_folders_and_arrays(self):
    for index, video in enumerate(self.videos):
      folder = self._path(f'frames/video_{index}')
      os.makedirs(folder)
      for t, frame in enumerate(video):
        Image.fromarray(frame).save(os.path.join(folder, f'{t:04d}.png'))
    frames = fvd.open_set(self._path('frames'))
    self.assertEqual(frames.kind, 'frames')
    np.save(self._path('videos.npy'), self.videos)
    np.savez(self._path('videos.npz'), self.videos / 255.)
    array = fvd.open_set(self._path('videos.npy'), 255)
    unit = fvd.open_set(self._path('videos.npz'), 1)
    sampling = fvd.ClipSampling(9, 1, 'first')
    for index in range(3):
      np.testing.assert_array_equal(frames.clip(index, sampling),
                                    self.videos[index, :9])
      np.testing.assert_array_equal(array.clip(index, sampling),
                                    self.videos[index, :9])
      np.testing.assert_allclose(unit.clip(index, sampling) * 255,
                                 self.videos[index, :9], atol=1e-9)

  def _plan(self, real, generated, **kwargs):
    return fvd.plan_comparison(self._path(real), self._path(generated),
                               **kwargs)

  def test_plan_applies_protocol_defaults(self):
    np.save(self._path('a.npy'), blob_videos(5, 3, 8, 8, num_frames=20))
    np.save(self._path('b.npy'), blob_videos(6, 3, 8, 8, num_frames=20))
    real, generated = self._plan('a.npy', 'b.npy', protocol='stylegan_v',
                                 value_range=255)
    self.assertEqual((real.sampling.num_frames, real.sampling.start,
                      generated.sampling.start), (16, 'random', 'first'))
    real, _ = self._plan('a.npy', 'b.npy', value_range=255, max_videos=2)
    self.assertEqual((real.num_frames, len(real.source)), (20, 2))

  def test_bad_sets(self):
    np.save(self._path('one.npy'), blob_videos(5, 1, 8, 8))
    np.save(self._path('ten.npy'), blob_videos(5, 3, 8, 8, num_frames=10))
    np.save(self._path('twelve.npy'), blob_videos(5, 3, 8, 8, num_frames=12))
    np.save(self._path('short.npy'), blob_videos(5, 3, 8, 8, num_frames=8))
    floats = blob_videos(5, 3, 8, 8).astype(np.float32)
    np.save(self._path('floats.npy'), floats)
    floats[2, 1, 1, 1, 1] = np.nan
    np.save(self._path('nan.npy'), floats)
    np.save(self._path('rank4.npy'), floats[0])
    cases = (
        (('one.npy', 'ten.npy'), r'one\.npy: 1 video\(s\).*at least 2'),
        (('ten.npy', 'twelve.npy'), r'10 frames.*12.*num_frames'),
        (('short.npy', 'ten.npy'), r'short\.npy\[0\]: clips of 8 frames.*'
         'at least 9'),
        (('floats.npy', 'ten.npy', 1), r'floats\.npy\[0:.*\[0, 1\]'),
        (('nan.npy', 'ten.npy'), r'nan\.npy\[0:.*NaN'),
        (('rank4.npy', 'ten.npy'), r'rank4\.npy: expected videos'),
        (('ten.npy', 'ten.npy', None), r'ten\.npy: an array needs its value '
         'range'),
        (('missing', 'ten.npy'), 'missing: no such file'),
    )
    for args, pattern in cases:
      real, generated = args[:2]
      value_range = args[2] if len(args) > 2 else 255
      with self.subTest(pattern):
        with self.assertRaisesRegex(fvd.FVDError, pattern):
          self._plan(real, generated, value_range=value_range)

  def test_bad_video_files(self):
    os.mkdir(self._path('bad'))
    encode_lossless(self._path('bad/a.mkv'), self.videos[0])
    with open(self._path('bad/b.mp4'), 'wb') as f:
      f.write(b'this is not a video' * 100)
    long_video = np.repeat(self.videos[1], 10, axis=0)  # 120 frames, 4.8 s.
    encode_lossless(self._path('whole.mkv'), long_video)
    with open(self._path('whole.mkv'), 'rb') as f:
      data = f.read()
    with open(self._path('bad/c.mkv'), 'wb') as f:
      f.write(data[:len(data) // 4])
    video_set = fvd.open_set(self._path('bad'))
    sampling = fvd.ClipSampling(9)
    self.assertEqual(video_set.clip(0, sampling).shape, (9, 24, 32, 3))
    with self.assertRaisesRegex(fvd.FVDError, r'b\.mp4: '):
      video_set.clip(1, sampling)
    with self.assertRaisesRegex(fvd.FVDError, r'c\.mkv: .*truncated'):
      video_set.clip(2, fvd.ClipSampling())
    os.mkdir(self._path('mixed'))
    os.mkdir(self._path('mixed/frames'))
    encode_lossless(self._path('mixed/a.mkv'), self.videos[0])
    with self.assertRaisesRegex(fvd.FVDError, 'both video files'):
      fvd.open_set(self._path('mixed'))
    os.makedirs(self._path('frames/v0'))
    os.makedirs(self._path('frames/v1'))
    for t in range(9):
      for video in ('v0', 'v1'):
        size = (32, 24) if video == 'v1' and t == 4 else (32, 32)
        Image.fromarray(np.zeros((*size, 3), np.uint8)).save(
            self._path(f'frames/{video}/{t}.png'))
    with open(self._path('frames/v0/5.png'), 'wb') as f:
      f.write(b'not a png')
    frames = fvd.open_set(self._path('frames'))
    with self.assertRaisesRegex(fvd.FVDError, r'v0/5\.png: not a readable'):
      frames.clip(0, fvd.ClipSampling())
    with self.assertRaisesRegex(fvd.FVDError, r'v1/4\.png: frame of size'):
      frames.clip(1, fvd.ClipSampling())
    os.mkdir(self._path('empty'))
    with self.assertRaisesRegex(fvd.FVDError, r'empty: no video files'):
      fvd.open_set(self._path('empty'))


# ----------------------------------------------------------------------------
# Embeddings (the real rgb_scratch model).
# ----------------------------------------------------------------------------


class EmbeddingTest(parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.model = shared_model()
    cls.tensors = checkpoint_tensors()

  def _reference_logits(self, model_inputs):
    """[B, T, 224, 224, 3] -> [B, 400] by the independent forward pass."""
    return reference_forward.reference_logits(self.tensors, model_inputs,
                                              _SCOPE)

  def test_constant_videos_give_the_squared_logit_distance(self):
    # Two sets of constant videos: the covariances vanish, and FVD is the
    # squared distance between the two constants' logits, whatever the source
    # frame sizes (a constant resizes to itself).
    embedder = fvd.Embedder('reference', model=self.model)
    grey = [np.full((_FRAMES, h, w, 3), 90, np.uint8)
            for h, w in ((16, 20), (40, 24))]
    orange = [np.full((_FRAMES, h, w, 3), (250, 140, 20), np.uint8)
              for h, w in ((30, 30), (12, 50))]
    value = fvd.frechet_video_distance(embedder.embed(grey),
                                       embedder.embed(orange))

    model_inputs = np.stack([np.broadcast_to(
        2 * np.asarray(colour, np.float64) / 255 - 1,
        (_FRAMES, 224, 224, 3)) for colour in (90, (250, 140, 20))])
    logits = self._reference_logits(model_inputs.astype(np.float32))
    want = np.sum((logits[0].astype(np.float64) - logits[1])**2)
    self.assertGreater(want, 1.)
    self.assertLessEqual(abs(value - want), 1e-3 * want)

  def test_embedding_matches_the_independent_forward_pass(self):
    real, _ = variant_embeddings()['reference']
    crop, _ = variant_embeddings()['crop']
    clip = real_videos()[1]
    want = self._reference_logits(np.stack(
        [numpy_model_input(clip), numpy_model_input(clip, crop=True)]))
    np.testing.assert_allclose(real[1], want[0], atol=2e-3, rtol=1e-3)
    np.testing.assert_allclose(crop[1], want[1], atol=2e-3, rtol=1e-3)

  def test_protocols_on_the_same_videos(self):
    embeddings = variant_embeddings()
    ref_real, ref_gen = embeddings['reference']
    crop_real, _ = embeddings['crop']
    half_real, _ = embeddings['half_pixel']
    # The square video: cropping is squashing; the others differ.
    np.testing.assert_allclose(crop_real[0], ref_real[0], atol=1e-5)
    self.assertGreater(np.abs(crop_real[1] - ref_real[1]).max(), 1e-2)
    self.assertGreater(np.abs(half_real - ref_real).max(), 1e-3)
    values = {name: fvd.frechet_video_distance(*embeddings[name], name)
              for name in ('reference', 'crop', 'half_pixel')}
    values['stylegan_v'] = fvd.frechet_video_distance(ref_real, ref_gen,
                                                      'stylegan_v')
    self.assertAlmostEqual(values['reference'],
                           independent_fd(ref_real, ref_gen, 1),
                           delta=1e-6 * values['reference'] + 1e-4)
    self.assertAlmostEqual(values['stylegan_v'],
                           independent_fd(ref_real, ref_gen, 0),
                           delta=1e-6 * values['stylegan_v'] + 1e-4)
    distinct = sorted(values.values())
    for low, high in zip(distinct, distinct[1:]):
      self.assertGreater(high - low, 1e-3, values)

  def test_embed_set_resumes_after_a_kill(self):
    folder = make_tempdir(self)
    path = os.path.join(folder, 'generated.npy')
    np.save(path, generated_videos())
    video_set = fvd.open_set(path, 255)
    embedder = fvd.Embedder('reference', model=self.model, batch_size=1)
    cache = os.path.join(folder, 'cache')

    class Killed(Exception):
      pass

    def kill(done):
      raise Killed(done)

    with self.assertRaises(Killed):
      fvd.embed_set(video_set, embedder, fvd.ClipSampling(), cache,
                    progress=False, on_batch=kill)
    self.assertLen(os.listdir(cache), 1)  # The first batch, cached.
    calls = []
    original = embedder.embed_inputs

    def counting(inputs):
      calls.append(len(inputs))
      return original(inputs)

    embedder.embed_inputs = counting
    resumed = fvd.embed_set(video_set, embedder, fvd.ClipSampling(), cache,
                            progress=False)
    self.assertEqual(calls, [1])  # Only the second video was left.
    # Batches of 1 give what one batch of 2 gave.
    np.testing.assert_allclose(resumed,
                               variant_embeddings()['reference'][1],
                               atol=1e-5)
    # The cache is keyed by the inputs, the preprocessing and the sampling.
    key = fvd.cache_key(video_set, embedder.protocol, fvd.ClipSampling())
    for protocol, sampling in (('half_pixel', fvd.ClipSampling()),
                               ('reference', fvd.ClipSampling(9))):
      other = fvd.cache_key(video_set, fvd.get_protocol(protocol), sampling)
      self.assertNotEqual(other, key)
    self.assertEqual(
        fvd.cache_key(video_set, fvd.get_protocol('stylegan_v'),
                      fvd.ClipSampling()), key)  # Same preprocessing.
    np.save(path, generated_videos()[::-1])  # New content, same name.
    changed = fvd.open_set(path, 255)
    self.assertNotEqual(
        fvd.cache_key(changed, embedder.protocol, fvd.ClipSampling()), key)


# ----------------------------------------------------------------------------
# The tool, in a subprocess.
# ----------------------------------------------------------------------------


class CliTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp()
    # Real: a folder of (lossless) video files of two sizes; generated: an
    # array.
    cls.real = os.path.join(cls.folder, 'real')
    os.mkdir(cls.real)
    for index, video in enumerate(real_videos()):
      encode_lossless(os.path.join(cls.real, f'{index}.mkv'), video, 12)
    cls.generated = os.path.join(cls.folder, 'generated.npy')
    np.save(cls.generated, generated_videos())
    shared_model()  # Fetches rgb_scratch once, before any subprocess.

  @classmethod
  def tearDownClass(cls):
    subprocess.run(['rm', '-rf', cls.folder], check=False)
    super().tearDownClass()

  def _run(self, *args):
    return subprocess.run(
        [sys.executable, '-m', 'kinetics_i3d.fvd', '--noprogress',
         f'--cache_dir={self.folder}/cache', *args],
        capture_output=True, text=True, check=False)

  def test_fvd_of_arrays_and_saved_statistics(self):
    stats = os.path.join(self.folder, 'real_stats.npz')
    result = self._run(f'--real={self.real}', f'--generated={self.generated}',
                       '--value_range=255', f'--save_real_stats={stats}')
    self.assertEqual(result.returncode, 0, result.stderr)
    last = result.stdout.strip().splitlines()[-1]
    self.assertRegex(last, r'^FVD: \d+\.\d{6}$')
    want = fvd.frechet_video_distance(*variant_embeddings()['reference'])
    self.assertAlmostEqual(float(last.split()[1]), want,
                           delta=1e-4 * want + 1e-3)
    self.assertIn('real: 2 videos, clips of 10 frames', result.stdout)
    # From the saved statistics (the generated embeddings come from the
    # cache): the same number.
    again = self._run(f'--real={stats}', f'--generated={self.generated}',
                      '--value_range=255')
    self.assertEqual(again.returncode, 0, again.stderr)
    self.assertEqual(again.stdout.strip().splitlines()[-1], last)

  def _start(self, args, name):
    """Starts `args` with stdout and stderr to `<name>.out` / `<name>.err`."""
    with open(f'{name}.out', 'w') as out, open(f'{name}.err', 'w') as err:
      process = subprocess.Popen(args, stdout=out, stderr=err)

    def stop():
      if process.poll() is None:
        process.kill()
        process.wait()

    self.addCleanup(stop)
    return process

  def _finish(self, process, name, timeout=600):
    """Waits for a process of `_start`; returns (status, stdout, stderr)."""
    process.wait(timeout)
    with open(f'{name}.out') as out, open(f'{name}.err') as err:
      return process.returncode, out.read(), err.read()

  def _committed(self, cache: str) -> dict:
    """{cache key: embeddings [n, 400]} of the cache files in `cache`."""
    found = {}
    if not os.path.isdir(cache):
      return found
    for name in os.listdir(cache):
      if name.startswith('.') or not name.endswith('.npz'):
        continue  # Temporaries: never committed.
      with np.load(os.path.join(cache, name), allow_pickle=False) as data:
        found[str(data['key'])] = np.array(data['embeddings'])
    return found

  def test_resumes_exactly_after_sigkill(self):
    # Resumability as a user meets it: the tool in its own process,
    # SIGKILLed after a committed batch, then the same command again; its
    # FVD line must be that of a run never interrupted.
    folder = make_tempdir(self)
    real = os.path.join(folder, 'real.npy')
    generated = os.path.join(folder, 'generated.npy')
    np.save(real, blob_videos(21, 6, 32, 48, num_frames=9))
    np.save(generated, blob_videos(22, 6, 48, 40, num_frames=9))
    total = 12
    # Which cache file holds which set, keyed as the library keys them.
    protocol = fvd.get_protocol('reference')
    roles = {fvd.cache_key(plan.source, protocol, plan.sampling): plan.role
             for plan in fvd.plan_comparison(real, generated, protocol,
                                             value_range=255)}

    def command(cache, stats):
      return [sys.executable, '-m', 'kinetics_i3d.fvd', f'--real={real}',
              f'--generated={generated}', '--value_range=255',
              '--batch_size=1', f'--cache_dir={cache}',
              f'--save_real_stats={stats}',
              f'--checkpoint_dir={paths.CHECKPOINT_DIR}', '--noprogress']

    def committed(cache):
      return {roles[key]: rows for key, rows in self._committed(cache).items()}

    # The uninterrupted run, in a fresh cache, overlaps the others (most of
    # a run is start-up, much of it single-threaded).
    fresh_cache = os.path.join(folder, 'fresh_cache')
    fresh_name = os.path.join(folder, 'fresh')
    fresh = self._start(command(fresh_cache, f'{fresh_name}.npz'),
                        fresh_name)

    # Kill once a batch is committed; if the kill came only after the last
    # batch (a stalled poller on a loaded machine), start over once.
    for attempt in range(2):
      cache = os.path.join(folder, f'cache_{attempt}')
      name = os.path.join(folder, f'killed_{attempt}')
      stats = f'{name}.npz'
      process = self._start(command(cache, stats), name)
      deadline = time.monotonic() + 600
      # Cache files appear by atomic renames only: complete when seen.
      while (process.poll() is None and time.monotonic() < deadline and
             not committed(cache)):
        time.sleep(.05)
      if process.poll() is None:
        process.send_signal(signal.SIGKILL)
      status, _, stderr = self._finish(process, name, 60)
      self.assertIn(status, (-signal.SIGKILL, 0), stderr)
      done = {role: len(rows) for role, rows in committed(cache).items()}
      self.assertTrue(done, f'no batch committed in 600 s:\n{stderr}')
      if status == -signal.SIGKILL and sum(done.values()) < total:
        break
    else:
      self.fail(f'killed only after the last batch, twice: {done}')
    before = committed(cache)
    # The kill left no output (statistics are written last) and nothing
    # that blocks a re-run. Plant what a kill inside a cache write leaves:
    # a cut temporary file.
    self.assertFalse(os.path.exists(stats))
    self.assertEqual([f for f in os.listdir(folder)
                      if f.startswith(f'.{os.path.basename(stats)}')], [])
    partial = os.path.join(cache, min(
        f for f in os.listdir(cache) if not f.startswith('.')))
    with open(partial, 'rb') as f, open(
        atomic_files.temporary_name(partial), 'wb') as g:
      g.write(f.read()[:200])

    resumed = subprocess.run(command(cache, stats), capture_output=True,
                             text=True, timeout=600, check=False)
    self.assertEqual(resumed.returncode, 0, resumed.stderr)
    # Exactly the committed videos were skipped, set by set.
    skipped = {role: int(count) for role, count in re.findall(
        r'(real|generated): resuming after (\d+) of \d+ videos',
        resumed.stderr)}
    self.assertEqual(skipped, {r: n for r, n in done.items() if n},
                     resumed.stderr)
    self.assertLess(sum(skipped.values()), total)
    self.assertEqual([f for f in os.listdir(cache) if f.startswith('.')], [])
    self.assertTrue(os.path.exists(stats))
    after = committed(cache)
    for role, rows in before.items():  # Committed rows are kept as written.
      np.testing.assert_array_equal(after[role][:len(rows)], rows)

    status, stdout, stderr = self._finish(fresh, fresh_name)
    self.assertEqual(status, 0, stderr)
    self.assertNotIn('resuming', stderr)
    last = stdout.strip().splitlines()[-1]
    self.assertRegex(last, r'^FVD: \d+\.\d{6}$')
    self.assertEqual(resumed.stdout.strip().splitlines()[-1], last)
    fresh_rows = committed(fresh_cache)
    self.assertEqual(sorted(fresh_rows), ['generated', 'real'])
    for role, rows in fresh_rows.items():  # Bit for bit, not just as printed.
      np.testing.assert_array_equal(after[role], rows)

  def _assert_one_line_error(self, result, pattern):
    self.assertEqual(result.returncode, 1, result.stderr)
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('fvd.py: ')]
    self.assertLen(errors, 1, result.stderr)
    self.assertRegex(errors[0], pattern)
    self.assertNotIn('Traceback', result.stderr)
    self.assertNotIn('FVD:', result.stdout)

  def test_bad_inputs_are_one_line_errors_and_write_nothing(self):
    one = os.path.join(self.folder, 'one.npy')
    np.save(one, generated_videos()[:1])
    nan = os.path.join(self.folder, 'nan.npy')
    videos = generated_videos().astype(np.float32)
    videos[1, 2, 3, 4, 0] = np.nan
    np.save(nan, videos)
    other = os.path.join(self.folder, 'stylegan_stats.npz')
    fvd.Statistics.from_embeddings(np.random.default_rng(0).normal(
        size=(4, 400)), 'stylegan_v', _FRAMES).save(other)
    out = os.path.join(self.folder, 'out_stats.npz')
    cases = (
        ((f'--real={one}', f'--generated={self.generated}'),
         r'--real=.*one\.npy: 1 video\(s\); FVD needs at least 2'),
        ((f'--real={nan}', f'--generated={self.generated}'),
         r'nan\.npy\[0:.*contains NaN'),
        ((f'--real={other}', f'--generated={self.generated}'),
         r"stylegan_stats\.npz: statistics of protocol 'stylegan_v'"),
        ((f'--real={self.real}', f'--generated={self.generated}',
          '--num_frames=8'), r'--num_frames=8: clips of 8 frames are too '
         'short: I3D needs at least 9'),
    )
    for args, pattern in cases:
      with self.subTest(pattern):
        self._assert_one_line_error(
            self._run(*args, '--value_range=255',
                      f'--save_generated_stats={out}'), pattern)
        self.assertFalse(os.path.exists(out))
    self.assertEqual(
        [f for f in os.listdir(self.folder) if f.startswith('.')], [])


if __name__ == '__main__':
  absltest.main()
