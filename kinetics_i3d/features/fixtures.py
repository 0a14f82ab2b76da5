"""Test inputs for the feature-extraction tests: videos, models, references.

Shared by the test modules of this package (I3D of Carreira & Zisserman,
"Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR
2017). Models, checkpoints and reference computations are built once per
process and cached: tests must not change them.
"""

import functools
import inspect
import json
import os
import shutil
import tempfile
from typing import Dict, List, Sequence

from absl.testing import absltest
import av
import numpy as np
import sonnet as snt
import tensorflow as tf

import i3d
from kinetics_i3d import streams as streams_lib
from kinetics_i3d.features import batch_run
from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import inputs as inputs_lib
from kinetics_i3d.features import outputs
from kinetics_i3d.features import settings
from kinetics_i3d.features import storage
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.video import model_inputs
from kinetics_i3d.weights import tf1_checkpoint

# Small windows of small frames, wherever 224x224 is not the point (feature
# endpoints take any frame size).
SMALL = dict(window=16, stride=16, batch_size=2, resize=32, crop=32,
             pooling='clip')


def window_starts(num_frames: int, window: int, stride: int,
                  cover_tail: bool = True) -> List[int]:
  """First frames of the full windows over `num_frames` frames: the oracle.

  Args:
    num_frames: Length of the stream.
    window: Frames per window (> 0).
    stride: Frames between consecutive starts (> 0).
    cover_tail: Whether a window ends at the last frame when the regular
      windows stop earlier.

  Returns:
    Start indices; empty if `num_frames < window`.
  """
  if num_frames < window:
    return []
  starts = list(range(0, num_frames - window + 1, stride))
  if cover_tail and starts[-1] + window < num_frames:
    starts.append(num_frames - window)
  return starts


def make_video(path: str, num_frames: int, height: int = 64, width: int = 80,
               fps: int = 25, seed: int = 0) -> str:
  """Writes a small MPEG-4 video of moving coloured blobs with PyAV."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:height, 0:width]
  centres = rng.uniform(0, 1, (3, 2)) * [height, width]
  speeds = rng.uniform(-2, 2, (3, 2))
  colours = rng.uniform(40, 255, (3, 3))
  with av.open(path, 'w') as container:
    stream = container.add_stream('mpeg4', rate=fps)
    stream.width, stream.height = width, height
    stream.pix_fmt = 'yuv420p'
    stream.options = {'qscale': '2'}
    for t in range(num_frames):
      frame = np.full((height, width, 3), 30., np.float32)
      for centre, speed, colour in zip(centres, speeds, colours):
        cy, cx = centre + speed * t
        blob = np.exp(-((yy - cy)**2 + (xx - cx)**2) / (2 * 8.**2))
        frame += blob[..., None] * colour
      image = av.VideoFrame.from_ndarray(
          np.clip(frame, 0, 255).astype(np.uint8), format='rgb24')
      for packet in stream.encode(image):
        container.mux(packet)
    for packet in stream.encode():
      container.mux(packet)
  return path


class SmallVideosTestCase(tf.test.TestCase):
  """Test classes over `NUM_VIDEOS` small videos and a random extractor.

  Video i has 20 + 10 i frames; the settings are `SMALL`, the network a
  random Mixed_5c one (cached across classes). The folder goes at the end.
  """

  NUM_VIDEOS = 2

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.folder = tempfile.mkdtemp(prefix='features_test_')
    cls.addClassCleanup(shutil.rmtree, cls.folder, ignore_errors=True)
    cls.videos = [
        make_video(os.path.join(cls.folder, f'v{i}.mp4'), 20 + 10 * i,
                   seed=10 + i) for i in range(cls.NUM_VIDEOS)
    ]
    cls.config = settings.ExtractionConfig(**SMALL)
    cls.model = random_model('Mixed_5c')
    cls.extractor = extractor_lib.FeatureExtractor(cls.config,
                                                   {'rgb': cls.model})


def write_corrupt_video(path: str) -> str:
  """Writes an MP4 header followed by noise: a video no decoder reads."""
  with open(path, 'wb') as f:
    f.write(b'\x00\x00\x00\x18ftypmp42' + os.urandom(2000))
  return path


def new_tempdir(test: absltest.TestCase) -> str:
  """A temporary folder removed after the test (works under pytest too)."""
  folder = tempfile.mkdtemp(prefix='features_test_')
  test.addCleanup(shutil.rmtree, folder, ignore_errors=True)
  return folder


@functools.lru_cache(maxsize=None)
def make_test_checkpoint(layout: str = 'rgb_scratch', seed: int = 0) -> str:
  """A TF1 checkpoint in a released layout with random weights (cached)."""
  folder = tempfile.mkdtemp(prefix=f'i3d_{layout}_')
  prefix = os.path.join(folder, 'model.ckpt')
  tf1_checkpoint.write_tf1_checkpoint(
      reference_forward.random_original_tensors(layout, seed), prefix)
  return prefix


@functools.lru_cache(maxsize=None)
def random_model(final_endpoint: str = 'Mixed_5c',
                 channels: int = 3, seed: int = 0) -> i3d.InceptionI3d:
  """A randomly initialised model with its variables built (cached).

  Its BatchNorm moving variances are set to 0.5 (a fresh model's are 0, and
  inference then divides by sqrt(eps) in every layer: activations reach
  1e24 by Mixed_5c, where float32 summation order alone changes results by
  1e-3). With 0.5 each unit doubles the variance the ReLU halves, so
  activations stay of order 0.1 to 1 at every endpoint.

  Args:
    final_endpoint: Where the model stops.
    channels: 3 (RGB) or 2 (flow).
    seed: TensorFlow's global seed for the initial values.

  Returns:
    The model, shared by every caller with these arguments.
  """
  tf.random.set_seed(seed)
  model = i3d.InceptionI3d(final_endpoint=final_endpoint)
  size = streams_lib.CROP if _reaches_logits(final_endpoint) else 16
  model(tf.zeros([1, i3d.min_num_frames(), size, size, channels]),
        is_training=False)
  for module in model.submodules:
    if isinstance(module, snt.BatchNorm):
      average = module.moving_variance.average
      average.assign(tf.fill(average.shape, 0.5))
  return model


def _reaches_logits(final_endpoint: str) -> bool:
  """Whether a model ending at `final_endpoint` computes the logits."""
  return 'Logits' in i3d.endpoints_up_to(final_endpoint)


@functools.lru_cache(maxsize=None)
def _decoded(path: str, streams: Sequence[str], resize: int,
             crop: int) -> Dict[str, np.ndarray]:
  inputs = model_inputs.video_to_model_inputs(
      path, streams=tuple(streams), resize=resize, crop_size=crop,
      num_workers=1)
  return {s: np.asarray(inputs[s], np.float32)[0] for s in streams}


def decode_model_inputs(path: str, streams: Sequence[str], resize: int,
                        crop: int) -> Dict[str, np.ndarray]:
  """Whole-video model inputs {stream: [T, H, W, C]} through model_inputs.

  The reference path: the whole video decoded at once (no windows, no
  streaming through the extraction).

  Args:
    path: The video.
    streams: 'rgb' and/or 'flow'.
    resize: Smaller side of the resized frames.
    crop: Side of the centre crop.

  Returns:
    stream -> float32 [T, H, W, C] in [-1, 1].
  """
  return dict(_decoded(path, tuple(streams), resize, crop))


def pooled_reference(model, clip: np.ndarray, endpoint: str,
                     pooling: str) -> np.ndarray:
  """Pools the model's own end_points for one clip [T, H, W, C] with numpy."""
  output, end_points = model(tf.constant(clip[None]), is_training=False)
  if pooling == 'logits':
    return output.numpy()[0]
  net = end_points[endpoint].numpy()[0].astype(np.float64)
  if pooling == 'time':
    return net.mean(axis=(1, 2))
  return net.mean(axis=(0, 1, 2))


def assert_implements_storage(test: absltest.TestCase, candidate) -> None:
  """Asserts `candidate` has every `OutputStorage` method, same parameters."""
  test.assertIsInstance(candidate, storage.OutputStorage)
  members = [name for name, value in vars(storage.OutputStorage).items()
             if inspect.isfunction(value) and not name.startswith('_')]
  test.assertLen(members, 8)
  for name in members:
    expected = inspect.signature(getattr(storage.OutputStorage, name))
    got = inspect.signature(getattr(type(candidate), name))
    test.assertEqual(list(got.parameters), list(expected.parameters), name)


class StubExtractor:
  """Stands in for `FeatureExtractor`: fixed features, no network."""

  def __init__(self, config):
    self.config = config

  def extract(self, item, read_path=None, inputs=None):
    del read_path, inputs
    streams = self.config.streams
    return extractor_lib.VideoFeatures(
        item=item,
        features={s: np.full((2, 8), 0.5, np.float32) for s in streams},
        windows={s: np.array([[0., .64], [.16, .8]]) for s in streams},
        num_frames={s: 20 for s in streams},
        source_fps=None, duration_s=0.8,
        shorter_than_window={s: False for s in streams})


def outputs_through(test: absltest.TestCase, candidate: storage.OutputStorage
                   ) -> Dict[str, bytes]:
  """The files `batch_run.process_item` writes through `candidate`.

  One pre-made input, processed with a `StubExtractor`, then processed again
  (skipped).

  Args:
    test: The test (for temporary folders and assertions).
    candidate: The storage to write through.

  Returns:
    Relative path -> contents of every file written, `elapsed_s` removed
    from the record.
  """
  folder = new_tempdir(test)
  np.save(os.path.join(folder, 'clip_rgb.npy'),
          np.zeros((20, 32, 32, 3), np.float32))
  (item,) = inputs_lib.resolve_inputs([folder])
  config = settings.ExtractionConfig(**SMALL)
  stub = StubExtractor(config)
  output_dir = os.path.join(folder, 'out')
  outputs.check_output_dir(output_dir, config, storage=candidate)
  for expected in ('ok', 'skipped'):
    status, _ = batch_run.process_item(item, lambda: stub, config, output_dir,
                                       storage=candidate)
    test.assertEqual(status, expected)
  outputs.write_manifest(output_dir, candidate)
  written = {}
  for root, _, names in os.walk(output_dir):
    for name in names:
      path = os.path.join(root, name)
      with open(path, 'rb') as f:
        data = f.read()
      if name.endswith('.json') and 'records' in root:
        record = json.loads(data)
        del record['elapsed_s']
        data = outputs.json_bytes(record)
      elif name == storage.MANIFEST_NAME:
        data = b''.join(
            json.dumps({k: v for k, v in json.loads(line).items()
                        if k != 'elapsed_s'}).encode()
            for line in data.splitlines())
      # The inputs' folder differs between calls.
      data = data.replace(folder.encode(), b'<inputs>')
      written[os.path.relpath(path, output_dir)] = data
  return written
