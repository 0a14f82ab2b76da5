"""The report `evaluate_sample.py` prints: the top classes of a logits vector.

DeepMind's kinetics-i3d sample script (for the I3D of Carreira & Zisserman,
"Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset", CVPR
2017) prints the norm of the logits, then the 20 most probable Kinetics
classes as `probability logit class`, numbers as numpy's float32 `str()`.
These functions reproduce its published outputs byte for byte.
"""

import dataclasses
from typing import List, Sequence, Tuple

import numpy as np
import tensorflow as tf

from kinetics_i3d import paths

TOP_K = 20


@dataclasses.dataclass(frozen=True)
class ReportRow:
  """One line of the report: float32 probability and logit, class name."""
  probability: np.float32
  logit: np.float32
  label: str


def format_report(norm: np.float32, rows: Sequence[ReportRow]) -> str:
  """The original's report text, newline-terminated.

  Args:
    norm: The Euclidean norm of the logits vector.
    rows: The top classes, most probable first.

  Returns:
    'Norm of logits: %f', a blank line, 'Top classes and probabilities', then
    one `probability logit class` line per row; numbers are formatted by
    numpy's float32 `str()` (shortest round-trip digits), as the original's
    `print(prob, logit, label)` of float32 scalars did.
  """
  lines = ['Norm of logits: %f' % norm, '', 'Top classes and probabilities']
  for row in rows:
    # str(), not format(): format() of a numpy scalar prints the float64.
    lines.append(' '.join(
        (str(np.float32(row.probability)), str(np.float32(row.logit)),
         row.label)))
  return '\n'.join(lines) + '\n'


def report_rows(logits: np.ndarray, labels: Sequence[str],
                top_k: int = TOP_K) -> Tuple[np.float32, List[ReportRow]]:
  """The norm and top classes of a logits vector, computed as the original.

  Args:
    logits: [num_classes] logits (summed over streams for joint).
    labels: Class names, `num_classes` of them, in the logits' order.
    top_k: Number of rows.

  Returns:
    (norm, rows): `np.linalg.norm` of the float32 logits, and the `top_k`
    classes by decreasing probability (TF's float32 softmax of the logits).

  Raises:
    ValueError: If `logits` is not a vector as long as `labels`.
  """
  logits = np.asarray(logits, np.float32)
  if logits.ndim != 1 or logits.shape[0] != len(labels):
    raise ValueError(f'Expected logits of shape [{len(labels)}] (one per '
                     f'label), got {logits.shape}.')
  probabilities = tf.nn.softmax(logits).numpy()
  norm = np.linalg.norm(logits)
  order = np.argsort(probabilities)[::-1][:top_k]
  rows = [ReportRow(probabilities[i], logits[i], labels[i]) for i in order]
  return norm, rows


def report(logits: np.ndarray, labels: Sequence[str],
           top_k: int = TOP_K) -> str:
  """The report text of a logits vector (see `format_report`)."""
  return format_report(*report_rows(logits, labels, top_k))


def load_labels(num_classes: int) -> List[str]:
  """The Kinetics class names for a 400- or 600-class checkpoint."""
  path = paths.LABEL_MAPS[num_classes]
  with open(path) as f:
    labels = [line.strip() for line in f]
  if len(labels) != num_classes:
    raise ValueError(f'{path}: expected {num_classes} class names, got '
                          f'{len(labels)}.')
  return labels
