"""The videos and labels of a training or evaluation set for I3D.

Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset" (CVPR 2017, https://arxiv.org/abs/1705.07750) train on
Kinetics and fine-tune on UCF-101 and HMDB-51. A dataset here is either a
folder with one subfolder of videos per class (UCF-101's layout; classes in
sorted order) or a split file of `path label` lines (UCF-101's
`trainlist0*.txt`) or bare paths in class folders (its `testlist0*.txt`).
"""

import dataclasses
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

from absl import logging

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.video import formats


class DatasetError(config_lib.TrainError):
  """A dataset that cannot be used: no videos, bad labels, bad split file."""


@dataclasses.dataclass(frozen=True)
class Example:
  """One labelled video."""
  path: str
  label: int


def _subfolders(root: str) -> List[str]:
  return sorted(
      d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))


def list_video_folder(root: str) -> Tuple[List[Example], List[str]]:
  """Lists a UCF101-style folder: one subfolder of videos per class.

  Classes are the subfolder names in sorted order; label i is the i-th.

  Args:
    root: The dataset folder.

  Returns:
    `(examples, class_names)`, examples sorted by path.

  Raises:
    DatasetError: If `root` is not a folder or holds no videos.
  """
  if not os.path.isdir(root):
    raise DatasetError(f'Dataset folder {root!r} does not exist; pass a folder '
                       'with one subfolder of videos per class.')
  class_names = _subfolders(root)
  examples = []
  for label, name in enumerate(class_names):
    folder = os.path.join(root, name)
    for dirpath, _, files in sorted(os.walk(folder)):
      for f in sorted(files):
        if formats.is_video(f):
          examples.append(Example(os.path.join(dirpath, f), label))
  if not examples:
    raise DatasetError(
        f'Dataset folder {root!r} holds no videos (looked for '
        f'{", ".join(formats.VIDEO_EXTENSIONS)} files in class subfolders, '
        f'found {len(class_names)} subfolders). Expected '
        'root/<class>/<video>.')
  return examples, class_names


def _split_line(line: str, where: str, label_offset: int,
                classes: Dict[str, int]) -> Tuple[str, int]:
  """(video, label) of one split-file line; `where` is 'file:line'."""
  parts = line.rsplit(maxsplit=1)
  if len(parts) == 2:
    if not re.fullmatch(r'[-+]?\d+', parts[1]):
      raise DatasetError(
          f'{where}: expected "<video path> <integer label>", got label '
          f'{parts[1]!r} in {line!r}; write the label as an integer.')
    return parts[0], int(parts[1]) - label_offset
  folder = os.path.basename(os.path.dirname(line))
  if folder not in classes:
    raise DatasetError(
        f'{where}: expected "<video path> <integer label>", or a path inside '
        f'one of the class folders of the video root; got {line!r}.')
  return line, classes[folder]


def read_split_file(path: str,
                    video_root: Optional[str] = None,
                    label_offset: int = 0,
                    class_names: Optional[Sequence[str]] = None,
                    num_classes: Optional[int] = None) -> List[Example]:
  """Reads a split file of `path label` lines (or bare `path` lines).

  Blank lines and lines starting with '#' are ignored. Relative video paths
  are relative to `video_root`, or to the split file's folder if None. A line
  without an integer label (UCF101's `testlist0*.txt`) takes the position of
  the video's parent folder in `class_names`.

  Args:
    path: The split file.
    video_root: Folder that relative video paths start from.
    label_offset: Subtracted from every explicit label (1 for UCF101's
      1-based `trainlist0*.txt`).
    class_names: Class folder names in label order, for bare paths.
    num_classes: If given, every label must lie in [0, num_classes).

  Returns:
    The examples, in file order.

  Raises:
    DatasetError: Naming the file and line, if the file is missing, a line
      is not `path label` with an integer label (in range, given
      `num_classes`) nor a bare path in a class folder, or it lists no
      videos.
  """
  if not os.path.isfile(path):
    raise DatasetError(f'Split file {path!r} does not exist.')
  if video_root is None:
    video_root = os.path.dirname(os.path.abspath(path))
  classes = {name: i for i, name in enumerate(class_names or ())}
  examples = []
  with open(path) as f:
    for line_number, line in enumerate(f, start=1):
      line = line.strip()
      if not line or line.startswith('#'):
        continue
      where = f'{path}:{line_number}'
      video, label = _split_line(line, where, label_offset, classes)
      if num_classes is not None and not 0 <= label < num_classes:
        raise DatasetError(
            f'{where}: label {label} of {video!r} is outside '
            f'[0, {num_classes}) (after label_offset={label_offset}); set '
            'num_classes to the number of classes (or label_offset=1 for '
            '1-based labels).')
      examples.append(Example(os.path.join(video_root, video), label))
  if not examples:
    raise DatasetError(f'Split file {path!r} lists no videos.')
  return examples


def check_labels(examples: Sequence[Example], num_classes: int,
                 source: str) -> None:
  """Raises DatasetError naming the first label outside [0, num_classes)."""
  for example in examples:
    if not 0 <= example.label < num_classes:
      raise DatasetError(
          f'{source}: label {example.label} of {example.path!r} is outside '
          f'[0, {num_classes}); set num_classes to the number of classes (or '
          'label_offset=1 for 1-based labels).')


def _warn_unlisted_classes(examples: Sequence[Example], num_classes: int,
                           source: str) -> None:
  """Warns once about the labels below `num_classes` no example has."""
  used = {example.label for example in examples}
  missing = [label for label in range(num_classes) if label not in used]
  if missing:
    shown = ', '.join(str(label) for label in missing[:20])
    more = f' and {len(missing) - 20} more' if len(missing) > 20 else ''
    logging.warning(
        '%s lists videos of %d of num_classes=%d classes; class(es) %s%s '
        'have no videos (set num_classes if that is not intended).', source,
        num_classes - len(missing), num_classes, shown, more)


def load_examples(directory: str, split: str, video_root: str,
                  label_offset: int, num_classes: int, what: str
                 ) -> Tuple[List[Example], Optional[List[str]]]:
  """The examples of a class-subfolder dataset or of a split file.

  Args:
    directory: A folder of class subfolders (UCF-101 layout), or ''.
    split: A split file (see `read_split_file`), or ''.
    video_root: Base of the split file's relative paths ('': its folder).
    label_offset: Subtracted from the split file's labels.
    num_classes: Classes of the model; every label must be below it.
    what: 'train' or 'eval', for messages (`data.<what>_dir`).

  Returns:
    `(examples, class_names)`; class names (label order) for a folder
    dataset, else None.

  Raises:
    DatasetError: Unless exactly one of `directory` and `split` is given,
      for a folder with more class folders than `num_classes` (or, to train,
      another number), or a bad dataset. A split file (or an evaluation
      folder) whose labels cover only some of the classes is logged as a
      warning naming the classes without videos.
  """
  if bool(directory) == bool(split):
    raise DatasetError(f'Give exactly one of data.{what}_dir and '
                       f'data.{what}_split (got {directory!r} and {split!r}).')
  if directory:
    examples, class_names = list_video_folder(directory)
    # Training needs every class the model has; evaluation may test a
    # model on some of its classes (the first ones, in folder order).
    if len(class_names) > num_classes or (
        what == 'train' and len(class_names) != num_classes):
      raise DatasetError(
          f'{directory} has {len(class_names)} class folders but num_classes '
          f'is {num_classes}; set num_classes={len(class_names)}.')
    check_labels(examples, num_classes, directory)
    _warn_unlisted_classes(examples, num_classes, directory)
    return examples, class_names
  folders = None
  if video_root and os.path.isdir(video_root):
    folders = _subfolders(video_root)
  examples = read_split_file(split, video_root or None, label_offset, folders,
                             num_classes)
  check_labels(examples, num_classes, split)
  _warn_unlisted_classes(examples, num_classes, split)
  return examples, None
