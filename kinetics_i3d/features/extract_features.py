r"""I3D features from many videos: endpoints, windows, resumable batch runs.

The network is the Inception-v1 based I3D of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

Beyond classification I3D is mostly used as a feature extractor (temporal
action localisation, retrieval, FVD-style metrics). This module computes the
activations of any endpoint (default 'Mixed_5c', the last one before the
logits head) for the RGB stream, the optical-flow stream or both, pooled as

* 'time':   averaged over space, one vector per temporal step: [T', C];
* 'clip':   averaged over the whole window: [C];
* 'logits': the classifier's logits (endpoint 'Logits'): [num_classes].

Videos are read at 25 fps, the rate the checkpoints were trained at, and cut
into windows of `window` frames every `stride` frames (the last window is
moved back to end at the last frame unless `cover_tail` is off), so every
output has a leading windows axis: [num_windows, T', C], [num_windows, C] or
[num_windows, num_classes]; `window=0` takes the whole video as one window,
and so does a video shorter than the window (down to the 9 frames the network
needs, `i3d.min_num_frames()`; the manifest marks it `shorter_than_window`).
Frames are streamed through the windows: memory stays flat in video length
(only one window per stream plus one batch of windows is held at a time).

Inputs are video files, folders (searched recursively), globs, list files
(`.txt`, one path per line) or pre-made model inputs `<name>_rgb.npy` /
`<name>_flow.npy` ([1, T, H, W, C] or [T, H, W, C] in [-1, 1], as the
original's sample) read by memory map.

Output, in the output folder:

* `<name>_rgb.npy` and/or `<name>_flow.npy` (or `<name>.npz` with arrays
  'rgb', 'flow', 'rgb_windows', 'flow_windows'), float32 features;
* `records/<name>.json`: the record of one video (written last, atomically,
  so it marks a finished video);
* `manifest.jsonl`: every record made with the folder's settings, one JSON
  object per line, rebuilt at the end of each run: video path, source fps,
  duration, windows [start, end] in seconds, endpoint, pooling, checkpoints,
  the flow algorithm (`flow.backends.identity`), feature shapes, status,
  error;
* `extraction_config.json`: the settings the folder's features were made
  with (`ExtractionConfig.identity()`, the flow algorithm's name, backend,
  parameters and library version included), written with the first features;
  a later run with other settings is refused (use another folder or
  `overwrite`).

Everything is checked before anything is written: a run that fails on its
settings, its checkpoints or its folder leaves nothing behind, so the
corrected command runs in the same folder. Every file is written under a
temporary name and renamed into place, so a killed run leaves no partial
output; re-running the same command skips the videos whose record and
outputs exist, and retries failed ones. A video that fails is recorded with
its error and the run goes on. `shard` splits the sorted video list
round-robin, for array jobs on any scheduler; `beam_pipeline` runs the same
extraction on Apache Beam runners. The command-line tools are
`kinetics_i3d.extract_features` (i3d-extract-features) and
`kinetics_i3d.beam_extract_features` (i3d-beam-extract-features).

The work is done in this package's modules, one room each: `settings`
(ExtractionConfig), `inputs` (what to extract), `windows`, `networks`
(checkpoints), `frame_sources` and `input_stream` (network inputs),
`extractor` (FeatureExtractor), `storage` and `outputs` (the folder's
files) and `batch_run` (the resumable run). This module names the entry
points the tools and benchmarks use.
"""


# pylint: disable=unused-import
from kinetics_i3d.features.batch_run import run
from kinetics_i3d.features.batch_run import Summary
from kinetics_i3d.features.extractor import FeatureExtractor
from kinetics_i3d.features.frame_sources import prepare_inputs
from kinetics_i3d.features.inputs import check_named_files
from kinetics_i3d.features.inputs import resolve_inputs
from kinetics_i3d.features.inputs import shard
from kinetics_i3d.features.inputs import VideoItem
from kinetics_i3d.features.settings import ExtractionConfig
# pylint: enable=unused-import
