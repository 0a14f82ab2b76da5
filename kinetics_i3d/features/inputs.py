"""Which videos an extraction runs on: files, folders, globs, list files.

The inputs of I3D feature extraction (Carreira & Zisserman, "Quo Vadis,
Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017) are
video files or the original's pre-made model inputs `<name>_rgb.npy` /
`<name>_flow.npy`, named directly, by folder (searched recursively), by glob
or in list files. `resolve_inputs` turns them into sorted `VideoItem`s with
unique keys; `shard` splits them for array jobs.
"""

import collections
import dataclasses
import glob
import hashlib
import os
from typing import List, Mapping, Optional, Sequence, Set, Tuple

from kinetics_i3d.video import formats


@dataclasses.dataclass(frozen=True)
class VideoItem:
  """One unit of work: a video file or a set of pre-made model inputs.

  Attributes:
    key: Name of its outputs in the output folder (unique within a run).
    path: The video file, or for pre-made inputs their common prefix
      (`<dir>/<name>` of `<dir>/<name>_rgb.npy`).
    premade: (stream, .npy path) pairs; empty for a video file.
  """
  key: str
  path: str
  premade: Tuple[Tuple[str, str], ...] = ()

  @property
  def is_premade(self) -> bool:
    """Whether the item is pre-made model inputs rather than a video."""
    return bool(self.premade)

  @property
  def source(self) -> str:
    """The file a user gave: the video, or the (first) pre-made .npy."""
    return self.premade[0][1] if self.premade else self.path


def _is_candidate(path: str) -> bool:
  """Whether a file found in a folder or glob is an input."""
  return formats.is_video(path) or formats.sample_stream(path) is not None


def _expand_folder(folder: str, origin: str) -> List[str]:
  found = []
  for root, dirs, files in os.walk(folder):
    dirs.sort()
    found.extend(os.path.join(root, f) for f in sorted(files)
                 if _is_candidate(f) and not f.startswith('.'))
  if not found:
    raise ValueError(f'{origin}: folder {folder!r} holds no videos '
                     f'({", ".join(formats.VIDEO_EXTENSIONS)}) or *_rgb.npy '
                     '/ *_flow.npy inputs.')
  return found


def _expand_list(listing: str, origin: str, seen_lists: Set[str]
                ) -> List[str]:
  if not os.path.isfile(listing):
    raise ValueError(f'{origin}: list file {listing!r} does not exist.')
  real = os.path.realpath(listing)
  if real in seen_lists:
    raise ValueError(f'{origin}: list file {listing!r} includes itself.')
  seen_lists.add(real)
  base = os.path.dirname(listing)
  found = []
  with open(listing) as f:
    for number, line in enumerate(f, 1):
      line = line.strip()
      if not line or line.startswith('#'):
        continue
      entry = os.path.join(base, os.path.expanduser(line))
      found.extend(_expand(entry, f'{listing}:{number}', seen_lists))
  return found


def _expand(spec: str, origin: str, seen_lists: Set[str]) -> List[str]:
  """Expands one input spec into file paths (missing files kept as is)."""
  if os.path.isdir(spec):
    return _expand_folder(spec, origin)
  if glob.has_magic(spec):
    found = sorted(p for p in glob.glob(spec, recursive=True)
                   if os.path.isfile(p) and not formats.is_list(p))
    if not found:
      raise ValueError(f'{origin}: the glob {spec!r} matches no files.')
    return found
  if formats.is_list(spec):
    return _expand_list(spec, origin, seen_lists)
  if spec.lower().endswith('.npy') and formats.sample_stream(spec) is None:
    raise ValueError(f'{origin}: {spec!r} is a .npy file but not a pre-made '
                     'input; name model inputs <name>_rgb.npy or '
                     '<name>_flow.npy.')
  # A missing file is not an error of the whole run: it becomes a recorded
  # failure, like an unreadable one.
  return [spec]


def check_named_files(specs: Sequence[str], origin: str = '--inputs') -> None:
  """Refuses a file named on the command line that does not exist.

  A missing file inside a list file is a recorded failure of one video (the
  others go on); one the user typed is a typo, refused before anything is
  written.

  Args:
    specs: The specs of `resolve_inputs`.
    origin: The flag, for the message.

  Raises:
    ValueError: Naming the first missing file.
  """
  for spec in specs:
    if '://' in spec or glob.has_magic(spec) or formats.is_list(spec):
      continue  # Remote, a glob or a list: checked where expanded.
    if not os.path.exists(spec):
      raise ValueError(f'{origin}: {spec} does not exist; give video files, '
                       'folders, globs or list files.')


def resolve_inputs(specs: Sequence[str], origin: str = '--inputs'
                  ) -> List[VideoItem]:
  """Turns paths, folders, globs and list files into sorted work items.

  Args:
    specs: Each a video file, a folder (searched recursively for video files
      and pre-made `*_rgb.npy` / `*_flow.npy`), a glob (`**` recursive), or a
      list file (`formats.LIST_EXTENSIONS`: one spec per line, relative to
      the list's folder, '#' comments).
    origin: How to call `specs` in error messages.

  Returns:
    Items sorted by path, duplicates removed; pre-made `<p>_rgb.npy` and
    `<p>_flow.npy` form one item. Keys are file stems, with a hash of the
    path appended where two inputs share a stem.

  Raises:
    ValueError: For an empty input list, an empty folder or glob, a missing
      list file or a stray .npy file.
  """
  if not specs:
    raise ValueError(f'{origin}: no inputs given.')
  seen_lists = set()
  videos = {}
  premade = collections.defaultdict(dict)
  for spec in specs:
    for path in _expand(os.path.expanduser(spec), origin, seen_lists):
      path = os.path.normpath(path)
      stream = formats.sample_stream(path)
      if stream is None:
        videos[os.path.abspath(path)] = path
      else:
        prefix = path[:-len(formats.SAMPLE_SUFFIXES[stream])]
        premade[os.path.abspath(prefix)][stream] = path
  return items_from_paths(list(videos.values()), premade)


def _stem(path: str, is_premade: bool) -> str:
  name = os.path.basename(path.rstrip('/').split('/')[-1])
  return name if is_premade else os.path.splitext(name)[0]


def items_from_paths(videos: Sequence[str],
                     premade: Optional[Mapping[str, Mapping[str, str]]] = None
                    ) -> List[VideoItem]:
  """Work items with unique keys from video paths and pre-made inputs.

  Args:
    videos: Video file paths (local or, for Beam, any file system's).
    premade: prefix -> {stream: .npy path}.

  Returns:
    Items sorted by path. Keys are file stems, with a hash of the path
    appended where two inputs share a stem.
  """
  items = [(path, ()) for path in videos]
  for streams in (premade or {}).values():
    stream, path = sorted(streams.items())[0]
    prefix = path[:-len(formats.SAMPLE_SUFFIXES[stream])]
    items.append((prefix, tuple(sorted(streams.items()))))
  items.sort()
  counts = collections.Counter(_stem(p, bool(m)) for p, m in items)
  result = []
  for path, made in items:
    key = _stem(path, bool(made))
    if counts[key] > 1:
      ident = path if '://' in path else os.path.abspath(path)
      digest = hashlib.sha1(ident.encode()).hexdigest()[:8]
      key = f'{key}-{digest}'
    result.append(VideoItem(key=key, path=path, premade=made))
  return result


def shard(items: Sequence[VideoItem], shard_index: int,
          num_shards: int) -> List[VideoItem]:
  """The round-robin share of a sorted item list for one of `num_shards`.

  Args:
    items: All items, in the same order on every shard (`resolve_inputs`
      sorts them).
    shard_index: In [0, num_shards).
    num_shards: Number of shards, >= 1.

  Returns:
    items[shard_index::num_shards]: every item lands in exactly one shard.

  Raises:
    ValueError: For an index outside [0, num_shards).
  """
  if not isinstance(num_shards, int) or num_shards < 1:
    raise ValueError(f'--num_shards must be >= 1, got {num_shards!r}.')
  if not isinstance(shard_index, int) or not 0 <= shard_index < num_shards:
    raise ValueError(f'--shard_index must be in [0, {num_shards}), got '
                     f'{shard_index!r}.')
  return list(items[shard_index::num_shards])
