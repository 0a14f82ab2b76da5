"""Top-1 / top-5 accuracy of trained I3D streams and of their two-stream sum.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

As the paper evaluates: centre crops of whole videos (looped up to the
network's minimum length), the model averaging its logits over time; the
two-stream prediction adds the RGB and flow logits with equal weights.
(`evaluate_sample.py` at the repository's root is DeepMind's one-clip
demonstration; this module scores checkpoints on a labelled dataset.)
"""

import json
import os
from typing import Dict

from absl import logging
import ml_collections
import numpy as np
import tensorflow as tf

import i3d
from kinetics_i3d import streams
from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import initialisation
from kinetics_i3d.training import stream_model
from kinetics_i3d.training import train_data
from kinetics_i3d.training import workdir
from kinetics_i3d.utils import atomic_files
from kinetics_i3d.utils import errors
from kinetics_i3d.weights import checkpoints

TrainError = config_lib.TrainError
RESULTS_FILE = 'eval_results.json'


def top_k_correct(logits: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
  """Whether each label is among its row's k largest logits: bool [N]."""
  # Ties count against the label: rank = number of strictly larger logits.
  label_logits = logits[np.arange(len(labels)), labels]
  rank = (logits > label_logits[:, None]).sum(axis=1)
  return rank < k


def score(logits_by_stream: Dict[str, Dict[str, np.ndarray]],
          labels: Dict[str, int]) -> Dict[str, Dict[str, float]]:
  """Top-1 / top-5 accuracy per stream and for the sum of the streams' logits.

  Args:
    logits_by_stream: {'rgb' / 'flow': {video: float [num_classes] logits}}.
    labels: {video: label}.

  Returns:
    {stream: {'top1', 'top5', 'num_videos'}}, plus 'two_stream' (the logits
    added with equal weights, over the videos both streams have) when both
    streams are given.
  """
  combos = dict(logits_by_stream)
  if len(logits_by_stream) == 2:
    rgb, flow = logits_by_stream['rgb'], logits_by_stream['flow']
    combos['two_stream'] = {
        video: rgb[video] + flow[video] for video in set(rgb) & set(flow)
    }
  results = {}
  for name, by_video in combos.items():
    videos = sorted(by_video)
    logits = np.stack([by_video[v] for v in videos])
    y = np.array([labels[v] for v in videos])
    results[name] = {
        'top1': float(top_k_correct(logits, y, 1).mean()),
        'top5': float(top_k_correct(logits, y, min(5, logits.shape[1])).mean()),
        'num_videos': len(videos),
    }
  return results


def _load_released(stream: str, source: str,
                   config: ml_collections.ConfigDict
                  ) -> stream_model.StreamModel:
  """A model of `stream` with one of DeepMind's released checkpoints."""
  field = f'eval.{stream}_checkpoint'
  spec = checkpoints.ORIGINAL_CHECKPOINTS[source]
  if spec.stream != stream:
    raise TrainError(f'{field}={source} is a {spec.stream} checkpoint.')
  if spec.num_classes != config.num_classes:
    raise TrainError(f'{field}={source} has {spec.num_classes} classes, '
                     f'num_classes is {config.num_classes}.')
  path = initialisation.released_checkpoint_path(
      source, config.model.checkpoint_dir, field)
  model = stream_model.StreamModel(config.num_classes)
  try:
    checkpoints.load_original(model.i3d, path, spec)
  except checkpoints.CheckpointError as e:
    raise TrainError(f'{field}: {e}') from e
  return model


def load_for_eval(stream: str, source: str,
                  config: ml_collections.ConfigDict
                 ) -> stream_model.StreamModel:
  """A model of `stream` from a model_dir, a TF2 prefix or a released name.

  Raises:
    TrainError: If the checkpoint is missing or made for another stream,
      class count or network.
  """
  if source in checkpoints.ORIGINAL_CHECKPOINTS:
    return _load_released(stream, source, config)
  final_endpoint = config.model.final_endpoint
  meta = workdir.read_meta(source) if os.path.isdir(source) else None
  if meta is not None:
    if meta['stream'] != stream or meta['num_classes'] != config.num_classes:
      raise TrainError(
          f'eval.{stream}_checkpoint={source} was trained for stream '
          f'{meta["stream"]} with {meta["num_classes"]} classes, not {stream} '
          f'with {config.num_classes}.')
    final_endpoint = meta['final_endpoint']
  if not os.path.isdir(source) and not tf.io.gfile.exists(source + '.index'):
    raise TrainError(
        f'eval.{stream}_checkpoint={source}: no such checkpoint (not a '
        f'folder, no {source}.index, not a released name such as '
        f'{stream}_imagenet); give a model_dir of i3d-train or a prefix.')
  if os.path.isdir(workdir.checkpoint_dir(source)):
    source = workdir.checkpoint_dir(source)
  model = stream_model.StreamModel(config.num_classes, final_endpoint)
  model.build(streams.CHANNELS[stream])
  path = tf.train.latest_checkpoint(source) if os.path.isdir(source) else source
  if not path:
    raise TrainError(f'eval.{stream}_checkpoint: no checkpoint in {source}.')
  try:
    status = tf.train.Checkpoint(**model.trackables()).restore(path)
    status.assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    raise TrainError(f'eval.{stream}_checkpoint: {path} does not fit a '
                     f'{stream} model with {config.num_classes} classes '
                     f'({errors.first_line(e)}).') from e
  status.expect_partial()
  return model


def _stream_logits(model: stream_model.StreamModel, stream: str,
                   cached, config: ml_collections.ConfigDict
                  ) -> Dict[int, np.ndarray]:
  """{position in `cached`: logits} of one stream over the cached videos."""
  min_frames = 1 if model.truncated else i3d.min_num_frames()
  dataset = train_data.eval_dataset(
      cached, stream, config.data.eval_num_frames, config.data.crop_size,
      batch_size=1 if config.data.eval_num_frames <= 0 else 8,
      min_frames=min_frames)
  crop = config.data.crop_size
  # Whole videos differ in length: one trace for any clip length.
  forward = tf.function(
      lambda x: model(x, is_training=False),
      input_signature=[
          tf.TensorSpec([None, None, crop, crop, streams.CHANNELS[stream]],
                        tf.float32)
      ])
  out = {}
  for clips, _, indices in dataset:
    for index, row in zip(indices.numpy(), forward(clips).numpy()):
      out[int(index)] = row
  return out


def evaluate_checkpoints(config: ml_collections.ConfigDict
                        ) -> Dict[str, Dict[str, float]]:
  """Top-1 / top-5 accuracy of each configured stream and of their sum.

  Videos are centre-cropped; `data.eval_num_frames=0` runs the whole video
  (looped up to the network's minimum length) and the model averages its
  logits over time, as the paper evaluates. The two-stream score adds the
  streams' logits with equal weights, over the videos both streams could
  read. With `model_dir` set, the results are also written to
  `<model_dir>/eval_results.json`.

  Args:
    config: A configuration with `eval.rgb_checkpoint` and/or
      `eval.flow_checkpoint`, and `data.eval_dir` or `data.eval_split`.

  Returns:
    {'rgb': {...}, 'flow': {...}, 'two_stream': {...}} (those available),
    each with 'top1', 'top5' and 'num_videos'.

  Raises:
    TrainError (train_data.DatasetError included): For a bad configuration.
  """
  sources = {
      stream: source for stream, source in (
          (streams.RGB, config.eval.rgb_checkpoint),
          (streams.FLOW, config.eval.flow_checkpoint)) if source
  }
  if not sources:
    raise TrainError('Set eval.rgb_checkpoint and/or eval.flow_checkpoint.')
  if config.model_dir:
    workdir.check_writable(config.model_dir, 'model_dir')
  workdir.check_writable(workdir.cache_dir(config), 'data.cache_dir')
  examples, _ = train_data.load_examples(
      config.data.eval_dir, config.data.eval_split, config.data.video_root,
      config.data.label_offset, config.num_classes, 'eval')
  logits_by_stream, labels = {}, {}
  for stream, source in sources.items():
    model = load_for_eval(stream, source, config)
    cached = train_data.build_cache(
        examples, workdir.cache_dir(config), stream, config.data.resize,
        parallelism=config.data.parallelism or None,
        flow_backend=config.data.flow_backend)
    logits = _stream_logits(model, stream, cached, config)
    logits_by_stream[stream] = {cached[i].path: row for i, row in
                                logits.items()}
    labels.update((cached[i].path, cached[i].label) for i in logits)
  results = score(logits_by_stream, labels)
  for name, metrics in results.items():
    logging.info('%s: top-1 %.4f, top-5 %.4f over %d videos', name,
                 metrics['top1'], metrics['top5'], metrics['num_videos'])
  if config.model_dir:
    os.makedirs(config.model_dir, exist_ok=True)
    out_path = os.path.join(config.model_dir, RESULTS_FILE)
    atomic_files.write_text(out_path, json.dumps(results, indent=1))
    logging.info('Wrote %s.', out_path)
  return results
