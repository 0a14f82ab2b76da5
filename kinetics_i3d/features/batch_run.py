"""A resumable batch run: every video extracted, written and recorded once.

Feature extraction with I3D (Carreira & Zisserman, "Quo Vadis, Action
Recognition? A New Model and the Kinetics Dataset", CVPR 2017) over many
videos. Everything is checked before anything is written: a run that fails
on its settings, its checkpoints or its folder leaves nothing behind.
Re-running the same command skips the videos whose record and outputs exist,
and retries failed ones; a video that fails is recorded with its error and
the run goes on. `process_item` is the step both `run` and the Beam
pipeline's workers take for each video.
"""

import dataclasses
import json
import os
import sys
import time
from typing import Any, Callable, ContextManager, Dict, List, Mapping
from typing import Optional, Sequence, Tuple

from absl import logging

from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import frame_sources
from kinetics_i3d.features import input_stream
from kinetics_i3d.features import inputs as inputs_lib
from kinetics_i3d.features import networks
from kinetics_i3d.features import outputs
from kinetics_i3d.features import settings
from kinetics_i3d.features import storage as storage_lib
from kinetics_i3d.utils import errors
from kinetics_i3d.utils import progress as progress_lib


def _describe_error(error: BaseException) -> str:
  return f'{type(error).__name__}: {errors.first_line(error, limit=None)}'


def _remove_stale_temporaries(item: inputs_lib.VideoItem,
                              config: settings.ExtractionConfig,
                              output_dir: str,
                              storage: storage_lib.OutputStorage) -> None:
  for name in outputs.output_names(item.key, config).values():
    storage.remove_stale_temporaries(output_dir, name)
  storage.remove_stale_temporaries(
      storage.join(output_dir, storage_lib.RECORDS_DIR), f'{item.key}.json')


def process_item(
    item: inputs_lib.VideoItem,
    extractor_fn: Callable[[], extractor_lib.FeatureExtractor],
    config: settings.ExtractionConfig, output_dir: str,
    overwrite: bool = False,
    storage: Optional[storage_lib.OutputStorage] = None,
    localize: Optional[Callable[[str], ContextManager[str]]] = None,
    inputs: Optional[frame_sources.VideoInputs] = None
) -> Tuple[str, Dict[str, Any]]:
  """Extracts, writes and records one video; never raises for a bad video.

  Args:
    item: The video.
    extractor_fn: Returns the (shared, lazily built) extractor.
    config: The settings.
    output_dir: The output folder (checked with `check_output_dir`).
    overwrite: Recompute even if finished outputs exist.
    storage: `LocalStorage` (default) or a Beam file-system storage.
    localize: Optional context manager factory: path -> a local copy's path
      (for videos on remote file systems).
    inputs: The video's inputs if already being made (`InputStream`).

  Returns:
    ('ok' | 'failed' | 'skipped', the video's record).
  """
  storage = storage or storage_lib.LocalStorage()
  record_path = outputs.record_path(output_dir, item.key, storage)
  if not overwrite and outputs.is_done(item, config, output_dir, storage):
    return 'skipped', json.loads(storage.read_bytes(record_path))
  _remove_stale_temporaries(item, config, output_dir, storage)
  begin = time.monotonic()
  extractor = extractor_fn()
  try:
    if localize is not None and not item.is_premade:
      with localize(item.path) as local_path:
        result = extractor.extract(item, read_path=local_path)
    else:
      result = extractor.extract(item, inputs=inputs)
    storage.makedirs(output_dir)
    names = outputs.write_features(result, config, output_dir, storage)
    outputs.commit_settings(output_dir, config, storage)
    record = outputs.make_record(item, config, result, names,
                                 elapsed_s=time.monotonic() - begin)
  except (KeyboardInterrupt, SystemExit):
    raise
  except Exception as e:  # pylint: disable=broad-except
    # Whatever one video does, the batch goes on; the error is recorded.
    logging.warning('Failed: %s: %s', item.source, _describe_error(e))
    record = outputs.make_record(item, config, error=_describe_error(e),
                                 elapsed_s=time.monotonic() - begin)
  storage.makedirs(storage.join(output_dir, storage_lib.RECORDS_DIR))
  storage.write_bytes(record_path, outputs.json_bytes(record))
  return record['status'], record


@dataclasses.dataclass
class Summary:
  """Counts of a run; `failures` lists (video, error)."""
  succeeded: int = 0
  failed: int = 0
  skipped: int = 0
  failures: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
  manifest: Optional[str] = None
  elapsed_s: float = 0.

  def add(self, status: str, record: Mapping[str, Any]) -> None:
    """Counts one video's status ('ok', 'skipped' or 'failed')."""
    if status == 'ok':
      self.succeeded += 1
    elif status == 'skipped':
      self.skipped += 1
    else:
      self.failed += 1
      self.failures.append((record['video'], record['error']))

  def counts(self) -> str:
    """'N succeeded, N failed, N skipped'."""
    return (f'{self.succeeded} succeeded, {self.failed} failed, '
            f'{self.skipped} skipped')

  def __str__(self) -> str:
    total = self.succeeded + self.failed + self.skipped
    return (f'{total} videos: {self.succeeded} succeeded, {self.failed} '
            f'failed, {self.skipped} skipped (already done) in '
            f'{self.elapsed_s:.1f} s.')


class _LazyExtractor:
  """The run's extractor: the one given, or one built when first needed."""

  def __init__(self, config: settings.ExtractionConfig,
               extractor: Optional[extractor_lib.FeatureExtractor]):
    self._config = config
    self._extractor = extractor

  @property
  def loaded(self) -> bool:
    """Whether the extractor exists (given, or its checkpoints loaded)."""
    return self._extractor is not None

  def __call__(self) -> extractor_lib.FeatureExtractor:
    """The extractor, its checkpoints loaded on the first call."""
    if self._extractor is None:
      self._extractor = extractor_lib.FeatureExtractor(self._config)
    return self._extractor


def _process_all(items: Sequence[inputs_lib.VideoItem],
                 config: settings.ExtractionConfig, output_dir: str,
                 extractor_fn: _LazyExtractor, overwrite: bool,
                 report: progress_lib.Progress) -> Summary:
  """Runs `process_item` over `items`, inputs made ahead in a thread."""
  summary = Summary()

  def wanted(item):
    return overwrite or not outputs.is_done(item, config, output_dir)

  with input_stream.InputStream(items, config, wanted) as stream:
    for index, item in enumerate(items):
      if not extractor_fn.loaded and wanted(item):
        # Loading the checkpoint is a setting error for the whole run, not
        # a failure of this video: let it raise, before anything is written.
        extractor_fn()
      status, record = process_item(item, extractor_fn, config, output_dir,
                                    overwrite, inputs=stream.inputs(index))
      summary.add(status, record)
      report.set_note(summary.counts())
      report.update()
  return summary


def run(items: Sequence[inputs_lib.VideoItem],
        config: settings.ExtractionConfig, output_dir: str,
        extractor: Optional[extractor_lib.FeatureExtractor] = None,
        overwrite: bool = False, progress: bool = True) -> Summary:
  """Extracts features of `items` into `output_dir`, resumably.

  Everything is checked before anything is written: the checkpoint
  settings, the folder (writable; not holding features made with other
  settings) and the checkpoints themselves, loaded when the first unfinished
  video comes. The folder and its settings file are written with the first
  features.

  Args:
    items: The videos (e.g. one shard of `resolve_inputs`).
    config: The settings.
    output_dir: Output folder (created with the first output).
    extractor: A ready extractor; by default one is built (checkpoints
      loaded) when the first unfinished video comes.
    overwrite: Recompute finished videos and replace features made with other
      settings.
    progress: Show a progress bar (videos/s, time left) when stderr is a
      terminal; progress is logged every few seconds either way.

  Returns:
    The counts; the manifest is rebuilt at the end.

  Raises:
    ValueError: If `output_dir` cannot be written or holds other features.
    checkpoints.CheckpointError: If a checkpoint cannot be loaded.
  """
  begin = time.monotonic()
  if extractor is None:
    networks.check_checkpoints(config)
  outputs.check_output_dir(output_dir, config, overwrite)
  logging.info('Extracting %s features (%s) of %d videos into %s.',
               config.endpoint, ','.join(config.streams), len(items),
               output_dir)
  bar = progress and sys.stderr.isatty()
  with progress_lib.Progress('Features', len(items), 'video',
                             bar=bar) as report:
    try:
      summary = _process_all(items, config, output_dir,
                             _LazyExtractor(config, extractor), overwrite,
                             report)
    except KeyboardInterrupt:
      # Ctrl-C: the manifest lists the videos finished so far.
      if os.path.isdir(output_dir):
        outputs.write_manifest(output_dir,
                               settings_identity=config.identity())
      raise
  summary.manifest = outputs.write_manifest(
      output_dir, settings_identity=config.identity())
  summary.elapsed_s = time.monotonic() - begin
  return summary
