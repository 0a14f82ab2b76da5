"""Tests for datasets.py: class folders and split files of I3D's datasets.

(Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", CVPR 2017: UCF-101's layout and split files.)
"""

import os

from absl.testing import parameterized
import tensorflow as tf

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import datasets
from kinetics_i3d.training import train_data_test

_tempdir = train_data_test.tempdir


class ListingTest(tf.test.TestCase, parameterized.TestCase):

  def test_folder_classes_are_sorted_subfolders(self):
    root = _tempdir(self)
    for name in ('b_walk', 'a_run'):
      os.makedirs(os.path.join(root, name))
      open(os.path.join(root, name, 'x.mp4'), 'w').close()
      open(os.path.join(root, name, 'notes.txt'), 'w').close()
    examples, classes = datasets.list_video_folder(root)
    self.assertEqual(classes, ['a_run', 'b_walk'])
    self.assertEqual([(os.path.relpath(e.path, root), e.label)
                      for e in examples], [('a_run/x.mp4', 0),
                                           ('b_walk/x.mp4', 1)])

  def test_empty_folder_is_an_error(self):
    root = _tempdir(self)
    os.makedirs(os.path.join(root, 'some_class'))
    with self.assertRaisesRegex(datasets.DatasetError, 'holds no videos'):
      datasets.list_video_folder(root)
    with self.assertRaisesRegex(datasets.DatasetError, 'does not exist'):
      datasets.list_video_folder(os.path.join(root, 'missing'))

  def test_split_file(self):
    root = _tempdir(self)
    split = os.path.join(root, 'train.txt')
    with open(split, 'w') as f:
      f.write('# comment\nA/v 1.avi 1\n\n/abs/w.avi 3\n')
    examples = datasets.read_split_file(split, label_offset=1)
    self.assertEqual(examples, [
        datasets.Example(os.path.join(root, 'A/v 1.avi'), 0),
        datasets.Example('/abs/w.avi', 2)
    ])
    with self.assertRaisesRegex(datasets.DatasetError, 'outside'):
      datasets.check_labels(examples, 2, split)
    datasets.check_labels(examples, 3, split)
    # Bare paths (UCF101's test lists) take their folder's class.
    with open(split, 'w') as f:
      f.write('b/x.avi\na/y.avi 0\n')
    self.assertEqual(
        datasets.read_split_file(split, class_names=['a', 'b']),
        [datasets.Example(os.path.join(root, 'b/x.avi'), 1),
         datasets.Example(os.path.join(root, 'a/y.avi'), 0)])

  @parameterized.parameters('a.avi', 'a.avi x', 'c/a.avi', '')
  def test_bad_split_lines(self, line):
    root = _tempdir(self)
    split = os.path.join(root, 'bad.txt')
    with open(split, 'w') as f:
      f.write(line + '\n')
    expected = 'lists no videos' if not line else r'bad.txt:1: expected'
    with self.assertRaisesRegex(datasets.DatasetError, expected):
      datasets.read_split_file(split, class_names=['a', 'b'])


class LoadExamplesTest(parameterized.TestCase, tf.test.TestCase):

  def test_folder_or_split_file(self):
    root = _tempdir(self)
    for name in ('a', 'b'):
      os.makedirs(os.path.join(root, name))
      open(os.path.join(root, name, 'x.avi'), 'w').close()
    examples, names = datasets.load_examples(root, '', '', 0, 2, 'train')
    self.assertEqual(names, ['a', 'b'])
    self.assertEqual([e.label for e in examples], [0, 1])
    split = os.path.join(_tempdir(self), 'test.txt')
    with open(split, 'w') as f:
      f.write('b/x.avi\na/x.avi\n')  # UCF-101's test lists: no labels.
    examples, names = datasets.load_examples('', split, root, 1, 2, 'eval')
    self.assertIsNone(names)
    self.assertEqual([e.label for e in examples], [1, 0])
    self.assertEqual(examples[0].path, os.path.join(root, 'b/x.avi'))
    for directory, split_file in (('', ''), (root, split)):
      with self.assertRaisesRegex(config_lib.TrainError,
                                  'exactly one of data.eval_dir and '
                                  'data.eval_split'):
        datasets.load_examples(directory, split_file, '', 0, 2, 'eval')
    for num_classes, what in ((1, 'train'), (5, 'train'), (1, 'eval')):
      with self.assertRaisesRegex(datasets.DatasetError,
                                  '2 class folders .* num_classes=2'):
        datasets.load_examples(root, '', '', 0, num_classes, what)
    # A model may be evaluated on some of its classes, with a warning.
    with self.assertLogs(level='WARNING') as logs:
      datasets.load_examples(root, '', '', 0, 4, 'eval')
    self.assertIn('lists videos of 2 of num_classes=4 classes; class(es) 2, '
                  '3 have no videos', '\n'.join(logs.output))

  def _split_file(self, text):
    root = _tempdir(self)
    for name in ('a', 'b'):
      os.makedirs(os.path.join(root, name))
    split = os.path.join(root, 'train.txt')
    with open(split, 'w') as f:
      f.write(text)
    return root, split

  @parameterized.named_parameters(
      ('word_label', 'a/g1.avi 0\nb/g2.avi seven\n',
       r'train.txt:2: expected "<video path> <integer label>", got label '
       r"'seven'"),
      ('label_too_large', 'a/g1.avi 0\nb/g2.avi 2\n',
       r'train.txt:2: label 2 .*b/g2.avi.* outside \[0, 2\)'),
      ('negative_label', '# header\na/g1.avi -1\n',
       r'train.txt:2: label -1 .* outside \[0, 2\)'),
      ('bare_path_outside_classes', 'c/g3.avi\n',
       r'train.txt:1: expected "<video path> <integer label>", or a path '
       r'inside one of the class folders'),
  )
  def test_bad_split_line_names_file_and_line(self, text, message):
    root, split = self._split_file(text)
    with self.assertRaisesRegex(datasets.DatasetError, message):
      datasets.load_examples('', split, root, 0, 2, 'train')

  def test_split_with_a_subset_of_the_classes_warns(self):
    root, split = self._split_file('a/g1.avi 0\nb/g2.avi 2\n')
    with self.assertLogs(level='WARNING') as logs:
      examples, _ = datasets.load_examples('', split, root, 0, 5, 'train')
    self.assertEqual([e.label for e in examples], [0, 2])
    self.assertRegex('\n'.join(logs.output),
                     r'train.txt lists videos of 2 of num_classes=5 classes; '
                     r'class\(es\) 1, 3, 4 have no videos')


if __name__ == '__main__':
  tf.test.main()
