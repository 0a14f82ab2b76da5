"""Tests of the report: DeepMind's published outputs, reproduced byte for byte.

Golden data: testing/testdata/original_out/*.txt are the reports DeepMind
published with kinetics-i3d (out/*.txt, made by their TF1 evaluate_sample.py
on their cricket sample).
"""

import math
import os

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from kinetics_i3d import paths
from kinetics_i3d.inference import report

_GOLDEN_DIR = os.path.join(paths.TESTDATA_DIR, 'original_out')
_GOLDEN_NAMES = ('imagenet_rgb', 'imagenet_flow', 'imagenet_joint',
                 'no_imagenet_rgb', 'no_imagenet_flow', 'no_imagenet_joint')


def parse_report(text):
  """(norm, [(probability, logit, label)]) of a report, numbers as float32."""
  lines = text.split('\n')
  norm = np.float32(lines[0][len('Norm of logits: '):])
  rows = []
  for line in lines[3:-1]:
    probability, logit, label = line.split(' ', 2)
    rows.append((np.float32(probability), np.float32(logit), label))
  return norm, rows


class ReportTest(parameterized.TestCase):

  @parameterized.parameters(*_GOLDEN_NAMES)
  def test_reproduces_original_files_byte_for_byte(self, name):
    with open(os.path.join(_GOLDEN_DIR, name + '.txt')) as f:
      golden = f.read()
    norm, parsed = parse_report(golden)
    self.assertLen(parsed, 20)
    rows = [report.ReportRow(p, l, c) for p, l, c in parsed]
    self.assertEqual(report.format_report(norm, rows), golden)

  def test_golden_files_are_the_published_ones(self):
    # Guards the golden copies: DeepMind's joint report starts like this.
    with open(os.path.join(_GOLDEN_DIR, 'imagenet_joint.txt')) as f:
      self.assertStartsWith(
          f.read(), 'Norm of logits: 138.468658\n\nTop classes and '
          'probabilities\n1.0 41.813675 playing cricket\n')

  def test_rows_against_float64_softmax(self):
    rng = np.random.default_rng(0)
    logits = rng.normal(0., 4., 400).astype(np.float32)
    labels = [f'class {i}' for i in range(400)]
    norm, rows = report.report_rows(logits, labels)
    # Independent: float64 softmax and norm with the standard library.
    exps = [math.exp(float(x) - float(logits.max())) for x in logits]
    total = math.fsum(exps)
    order = sorted(range(400), key=lambda i: -float(logits[i]))[:20]
    self.assertEqual([row.label for row in rows],
                     [labels[i] for i in order])
    for row, i in zip(rows, order):
      self.assertEqual(row.logit, logits[i])
      self.assertIsInstance(row.probability, np.float32)
      self.assertAlmostEqual(float(row.probability) / (exps[i] / total), 1.,
                             delta=1e-5)
    self.assertAlmostEqual(
        float(norm), math.sqrt(math.fsum(float(x)**2 for x in logits)),
        delta=1e-4)

  def test_report_layout(self):
    logits = np.linspace(-3., 5., 600, dtype=np.float32)
    text = report.report(logits, report.load_labels(600))
    lines = text.split('\n')
    self.assertLen(lines, 24)  # 23 lines and the final newline.
    self.assertEqual(lines[1:3], ['', 'Top classes and probabilities'])
    self.assertEqual(lines[-1], '')
    # The largest logit is the last class of the Kinetics-600 list.
    self.assertEndsWith(lines[3], ' 5.0 ' +
                        report.load_labels(600)[-1])

  def test_rejects_logits_of_wrong_length(self):
    with self.assertRaisesRegex(ValueError, r'shape \[400\]'):
      report.report_rows(np.zeros(600, np.float32),
                                  report.load_labels(400))

  @parameterized.parameters(400, 600)
  def test_label_maps(self, num_classes):
    labels = report.load_labels(num_classes)
    self.assertLen(labels, num_classes)
    self.assertLen(set(labels), num_classes)


if __name__ == '__main__':
  absltest.main()
