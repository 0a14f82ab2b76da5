"""Tests for inputs.py: which videos a run takes (I3D, CVPR 2017)."""

import os

from absl.testing import absltest

from kinetics_i3d.features import fixtures
from kinetics_i3d.features import inputs


class ResolveInputsTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.root = fixtures.new_tempdir(self)
    os.makedirs(os.path.join(self.root, 'a', 'deep'))
    os.makedirs(os.path.join(self.root, 'b'))
    self.files = [
        os.path.join(self.root, 'a', 'x.mp4'),
        os.path.join(self.root, 'a', 'deep', 'y.avi'),
        os.path.join(self.root, 'b', 'x.mp4'),  # Same stem as a/x.mp4.
        os.path.join(self.root, 'b', 'clip_rgb.npy'),
        os.path.join(self.root, 'b', 'clip_flow.npy'),
    ]
    for path in self.files:
      open(path, 'wb').close()
    open(os.path.join(self.root, 'a', 'notes.md'), 'w').close()

  def test_folder_glob_list_and_premade(self):
    by_folder = inputs.resolve_inputs([self.root])
    self.assertLen(by_folder, 4)
    premade = [i for i in by_folder if i.is_premade]
    self.assertLen(premade, 1)
    self.assertEqual(premade[0].key, 'clip')
    self.assertEqual(dict(premade[0].premade), {
        'rgb': self.files[3], 'flow': self.files[4]})
    keys = [i.key for i in by_folder]
    self.assertLen(set(keys), 4)
    self.assertLen([k for k in keys if k.startswith('x-')], 2)

    by_glob = inputs.resolve_inputs([os.path.join(self.root, '**', '*.mp4')])
    self.assertEqual(sorted(i.path for i in by_glob),
                     sorted([self.files[0], self.files[2]]))

    listing = os.path.join(self.root, 'list.txt')
    with open(listing, 'w') as f:
      f.write('# videos\na/x.mp4\n\na/deep/y.avi\nmissing.mp4\n')
    by_list = inputs.resolve_inputs([listing, self.files[0]])
    # Sorted by path, the duplicate dropped, the missing file kept (it fails
    # when processed, like an unreadable one).
    self.assertEqual([os.path.relpath(i.path, self.root) for i in by_list],
                     ['a/deep/y.avi', 'a/x.mp4', 'missing.mp4'])

  def test_bad_specs(self):
    empty = fixtures.new_tempdir(self)
    with self.assertRaisesRegex(ValueError, 'holds no videos'):
      inputs.resolve_inputs([empty])
    with self.assertRaisesRegex(ValueError, 'matches no files'):
      inputs.resolve_inputs([os.path.join(empty, '*.mp4')])
    with self.assertRaisesRegex(ValueError, 'list file.*does not exist'):
      inputs.resolve_inputs([os.path.join(empty, 'list.txt')])
    stray = os.path.join(empty, 'features.npy')
    open(stray, 'wb').close()
    with self.assertRaisesRegex(ValueError, '_rgb.npy'):
      inputs.resolve_inputs([stray])
    with self.assertRaisesRegex(ValueError, 'no inputs'):
      inputs.resolve_inputs([])

  def test_sharding_covers_every_video_once(self):
    items = inputs.items_from_paths([f'/v/{i:03d}.mp4' for i in range(23)])
    for num_shards in (1, 2, 3, 5, 23, 30):
      shards = [inputs.shard(items, i, num_shards) for i in range(num_shards)]
      flat = [item for part in shards for item in part]
      self.assertCountEqual(flat, items)  # Each exactly once.
      sizes = [len(part) for part in shards]
      self.assertLessEqual(max(sizes) - min(sizes), 1)
    with self.assertRaisesRegex(ValueError, 'shard_index'):
      inputs.shard(items, 3, 3)
    with self.assertRaisesRegex(ValueError, 'num_shards'):
      inputs.shard(items, 0, 0)


if __name__ == '__main__':
  absltest.main()
