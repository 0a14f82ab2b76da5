"""Tests for gifs.py: the README's GIFs of the two input streams (CVPR 2017).

Expected pixels follow the original README's recipe, written out here.
"""

import os
import shutil
import tempfile

from absl.testing import absltest
import numpy as np
from PIL import Image

from kinetics_i3d.video import gifs


class GifsTest(absltest.TestCase):

  def test_gif_frames(self):
    rgb = np.array([-1.0, 0.0, 1.0], np.float32).reshape(1, 1, 3, 1)
    rgb = np.repeat(rgb, 3, axis=-1)
    out = gifs.rgb_gif_frames(rgb)
    self.assertEqual(out[0, 0, :, 0].tolist(), [0, 128, 255])
    flow = np.array([[-1.0, 0.0], [0.5, 1.0]], np.float32).reshape(1, 1, 2, 2)
    out = gifs.flow_gif_frames(flow)
    # (+0.5, clipped to [0, 1]) * 255 with a zero third channel -> 128.
    self.assertEqual(out[0, 0].tolist(), [[0, 128, 128], [255, 255, 128]])
    with self.assertRaisesRegex(ValueError, r'flow must be \[T, H, W, 2\]'):
      gifs.flow_gif_frames(np.zeros((0, 4, 4, 2)))

  def test_write_gif(self):
    tmp = tempfile.mkdtemp()
    self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
    rng = np.random.default_rng(0)
    # Few colours keep Pillow's palette search fast.
    rgb = rng.choice([-1.0, 0.0, 1.0], (5, 32, 48, 3)).astype(np.float32)
    flow = rng.choice([-0.5, 0.5], (1, 5, 32, 48, 2)).astype(np.float32)
    for frames, name in ((gifs.rgb_gif_frames(rgb), 'a.gif'),
                         (gifs.flow_gif_frames(flow), 'b.gif')):
      path = os.path.join(tmp, name)
      gifs.write_gif(frames, path)
      with Image.open(path) as gif:
        self.assertEqual(gif.format, 'GIF')
        self.assertEqual(gif.size, (48, 32))
        self.assertEqual(gif.n_frames, 5)
        self.assertEqual(gif.info['duration'], 40)  # 25 fps.
        self.assertEqual(gif.info['loop'], 0)
    self.assertCountEqual(os.listdir(tmp), ['a.gif', 'b.gif'])


if __name__ == '__main__':
  absltest.main()
