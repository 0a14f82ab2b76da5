# Copyright 2026 The kinetics-i3d TF2 authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
"""Tests for release_urls.py: where DeepMind's I3D release is served.

(Carreira & Zisserman, "Quo Vadis, Action Recognition?", CVPR 2017.)
"""

import os
from unittest import mock

from absl.testing import absltest

from kinetics_i3d.weights import release_urls


class UrlTest(absltest.TestCase):

  def test_url_for(self):
    with mock.patch.dict(os.environ, {release_urls.URL_ENV: ''}):
      self.assertEqual(
          release_urls.url_for('data/v_CricketShot_g04_c01_rgb.npy'),
          'https://raw.githubusercontent.com/deepmind/kinetics-i3d/'
          '0667e889a5904b4dc122e0ded4c332f49f8df42c/data/'
          'v_CricketShot_g04_c01_rgb.npy')
    with mock.patch.dict(os.environ,
                         {release_urls.URL_ENV: 'https://mirror.example/k/'}):
      self.assertEqual(release_urls.url_for('data/x.npy'),
                       'https://mirror.example/k/data/x.npy')
    self.assertEqual(release_urls.url_for('data/x.npy', 'file:///m'),
                     'file:///m/data/x.npy')

  def test_release_error_is_one_line_with_the_manual_way(self):
    error = release_urls.release_error(
        'https://mirror.example/k/data/x.npy', 'HTTP error 404\nNot Found',
        'data/x.npy', '/d')
    self.assertIsInstance(error, OSError)
    self.assertEqual(
        str(error),
        'https://mirror.example/k/data/x.npy: HTTP error 404 Not Found. '
        'Retry, set KINETICS_I3D_URL to a mirror, or copy DeepMind\'s '
        'data/x.npy from https://github.com/deepmind/kinetics-i3d (commit '
        '0667e889a5904b4dc122e0ded4c332f49f8df42c) to /d by hand.')


if __name__ == '__main__':
  absltest.main()
