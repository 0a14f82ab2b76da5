"""A feature folder's files: features, records, manifest, settings file.

For each video, I3D feature extraction (Carreira & Zisserman, "Quo Vadis,
Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017)
writes its features, then its record (`records/<key>.json`, written last, so
it marks a finished video). `manifest.jsonl` lists the records made with the
folder's settings; `extraction_config.json` pins the folder to the settings
of its first features. Every write goes through an `OutputStorage`.
"""

import io
import json
from typing import Any, Dict, Mapping, Optional

import numpy as np

from kinetics_i3d import streams as streams_lib
from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import inputs as inputs_lib
from kinetics_i3d.features import settings
from kinetics_i3d.features import storage as storage_lib


def output_names(key: str, config: settings.ExtractionConfig
                ) -> Dict[str, str]:
  """stream (or 'all' for .npz) -> file name of a video's features."""
  if config.output_format == 'npz':
    return {'all': f'{key}.npz'}
  return {s: f'{key}_{s}.npy' for s in config.streams}


def _npy_bytes(array: np.ndarray) -> bytes:
  buffer = io.BytesIO()
  np.save(buffer, array, allow_pickle=False)
  return buffer.getvalue()


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  return buffer.getvalue()


def json_bytes(value: Any) -> bytes:
  """`value` as the indented, key-sorted JSON of records and settings."""
  return (json.dumps(value, indent=1, sort_keys=True) + '\n').encode()


def record_path(output_dir: str, key: str,
                storage: storage_lib.OutputStorage) -> str:
  """Where the record of video `key` lies."""
  return storage.join(output_dir, storage_lib.RECORDS_DIR, f'{key}.json')


def write_features(result: extractor_lib.VideoFeatures,
                   config: settings.ExtractionConfig, output_dir: str,
                   storage: Optional[storage_lib.OutputStorage] = None
                  ) -> Dict[str, str]:
  """Writes a video's features atomically; returns stream -> file name."""
  storage = storage or storage_lib.LocalStorage()
  names = output_names(result.item.key, config)
  if config.output_format == 'npz':
    arrays = {}
    for stream in config.streams:
      arrays[stream] = result.features[stream].astype(np.float32)
      arrays[f'{stream}_windows'] = result.windows[stream]
    storage.write_bytes(storage.join(output_dir, names['all']),
                        _npz_bytes(arrays))
  else:
    for stream in config.streams:
      storage.write_bytes(storage.join(output_dir, names[stream]),
                          _npy_bytes(result.features[stream].astype(
                              np.float32)))
  return names


def _stream_records(result: extractor_lib.VideoFeatures,
                    config: settings.ExtractionConfig,
                    names: Mapping[str, str]) -> Dict[str, Any]:
  return {
      stream: {
          'file': names.get(stream, names.get('all')),
          'shape': list(result.features[stream].shape),
          'num_frames': result.num_frames[stream],
          'windows': result.windows[stream].round(6).tolist(),
          # One window of all the frames: the video is shorter than
          # config.window.
          'shorter_than_window': bool(
              result.shorter_than_window.get(stream, False)),
      } for stream in config.streams
  }


def make_record(item: inputs_lib.VideoItem, config: settings.ExtractionConfig,
                result: Optional[extractor_lib.VideoFeatures] = None,
                names: Optional[Mapping[str, str]] = None,
                error: Optional[str] = None,
                elapsed_s: Optional[float] = None) -> Dict[str, Any]:
  """The manifest entry of one video (status 'ok' or 'failed')."""
  record = {
      'key': item.key,
      'video': item.source,
      'inputs': dict(item.premade) or None,
      'status': 'failed' if error else 'ok',
      'error': error,
      'endpoint': config.endpoint,
      'pooling': config.pooling,
      'window': config.window,
      'stride': config.effective_stride,
      'fps': streams_lib.FPS,
      'checkpoints': {s: config.checkpoint(s) for s in config.streams},
      # How the flow was made: algorithm, backend, parameters, version.
      'flow': config.flow_identity,
      # All the settings, so that a resume never takes features made with
      # other ones (left by an interrupted --overwrite run) as done.
      'settings': config.identity(),
      'elapsed_s': None if elapsed_s is None else round(elapsed_s, 3),
  }
  if result is not None:
    record['source_fps'] = result.source_fps
    record['duration_s'] = result.duration_s
    record['streams'] = _stream_records(result, config, names)
  return record


def is_done(item: inputs_lib.VideoItem, config: settings.ExtractionConfig,
            output_dir: str,
            storage: Optional[storage_lib.OutputStorage] = None) -> bool:
  """Whether a finished record made with these settings and its files exist."""
  storage = storage or storage_lib.LocalStorage()
  path = record_path(output_dir, item.key, storage)
  if not storage.exists(path):
    return False
  try:
    record = json.loads(storage.read_bytes(path))
  except (OSError, ValueError):
    return False
  if (record.get('status') != 'ok' or record.get('video') != item.source or
      record.get('settings') != config.identity()):
    return False
  return all(
      storage.exists(storage.join(output_dir, name))
      for name in output_names(item.key, config).values())


def check_output_dir(output_dir: str, config: settings.ExtractionConfig,
                     overwrite: bool = False,
                     storage: Optional[storage_lib.OutputStorage] = None
                    ) -> None:
  """Refuses a folder that cannot be written or holds other features.

  Writes nothing: the folder and its settings file are made with the first
  features (`commit_settings`), so a run that fails before any video is done
  leaves nothing behind that would refuse the corrected re-run.

  Args:
    output_dir: The output folder.
    config: The settings.
    overwrite: Replace features made with other settings.
    storage: `LocalStorage` (default) or a Beam file-system storage.

  Raises:
    ValueError: If the folder cannot be written or holds features made with
      other settings (and not `overwrite`).
  """
  storage = storage or storage_lib.LocalStorage()
  config_path = storage.join(output_dir, storage_lib.CONFIG_NAME)
  identity = config.identity()
  try:
    if not overwrite and storage.exists(config_path):
      try:
        previous = json.loads(storage.read_bytes(config_path))
      except ValueError:
        previous = None
      if previous != identity:
        differ = sorted(k for k in set(identity) | set(previous or {})
                        if (previous or {}).get(k) != identity.get(k))
        raise ValueError(
            f'--output_dir={output_dir} holds features made with other '
            f'settings ({", ".join(differ)} differ; see {config_path}). Use '
            'another --output_dir, or --overwrite to replace them.')
    storage.check_writable(output_dir)
  except OSError as e:
    raise storage_lib.not_writable(output_dir, e.strerror or str(e)) from e


def commit_settings(output_dir: str, config: settings.ExtractionConfig,
                    storage: Optional[storage_lib.OutputStorage] = None
                   ) -> None:
  """Writes `extraction_config.json` unless it already holds these settings.

  Called with each video's features, before its record: the folder's
  settings file appears with the first committed output.

  Args:
    output_dir: The output folder (it exists).
    config: The settings.
    storage: `LocalStorage` (default) or a Beam file-system storage.
  """
  storage = storage or storage_lib.LocalStorage()
  path = storage.join(output_dir, storage_lib.CONFIG_NAME)
  data = json_bytes(config.identity())
  if not storage.exists(path) or storage.read_bytes(path) != data:
    storage.write_bytes(path, data)


def write_manifest(output_dir: str,
                   storage: Optional[storage_lib.OutputStorage] = None,
                   settings_identity: Optional[Mapping[str, Any]] = None
                  ) -> str:
  """Rebuilds `manifest.jsonl` from the folder's records, atomically.

  Args:
    output_dir: The output folder.
    storage: `LocalStorage` (default) or a Beam file-system storage.
    settings_identity: If given, only records made with these settings
      (`ExtractionConfig.identity()`) are listed; records another run left
      (e.g. failures with settings that were then changed) are not.

  Returns:
    The manifest's path.
  """
  storage = storage or storage_lib.LocalStorage()
  folder = storage.join(output_dir, storage_lib.RECORDS_DIR)
  lines = []
  for name in storage.list_names(folder):
    if not name.endswith('.json') or name.startswith('.'):
      continue
    try:
      record = json.loads(storage.read_bytes(storage.join(folder, name)))
    except (OSError, ValueError):
      continue
    if (settings_identity is not None and
        record.get('settings') != settings_identity):
      continue
    lines.append(json.dumps(record, sort_keys=True))
  storage.makedirs(output_dir)
  path = storage.join(output_dir, storage_lib.MANIFEST_NAME)
  storage.write_bytes(path, ''.join(line + '\n' for line in lines).encode())
  return path
