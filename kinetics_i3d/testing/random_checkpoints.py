"""Checkpoints of random I3D weights in DeepMind's layouts, made once a session.

Only one of DeepMind's five I3D checkpoints (Carreira & Zisserman, "Quo Vadis,
Action Recognition? A New Model and the Kinetics Dataset", CVPR 2017) is
reachable from the test machines, so tests fill the original layouts with
random values (`reference_forward.random_original_tensors`). Drawing the
tensors, writing them as a TF1 checkpoint and building a network from it are
the slow part of many test classes; here each is done once per test session
and shared. What is returned is shared too: the arrays are read-only, and a
test that changes a model's variables must build its own.
"""

import atexit
import functools
import shutil
import tempfile
from typing import Dict

import numpy as np

import i3d
from kinetics_i3d.testing import reference_forward
from kinetics_i3d.weights import checkpoints
from kinetics_i3d.weights import tf1_checkpoint


@functools.lru_cache(maxsize=None)
def original_tensors(layout: str, seed: int) -> Dict[str, np.ndarray]:
  """`reference_forward.random_original_tensors(layout, seed)`, read-only.

  Args:
    layout: A released checkpoint's name, e.g. 'rgb_imagenet'.
    seed: The random seed.

  Returns:
    {original variable name: read-only array}.
  """
  tensors = reference_forward.random_original_tensors(layout, seed)
  for array in tensors.values():
    array.flags.writeable = False
  return tensors


@functools.lru_cache(maxsize=None)
def _session_folder() -> str:
  folder = tempfile.mkdtemp(prefix='random_checkpoints_')
  atexit.register(shutil.rmtree, folder, ignore_errors=True)
  return folder


@functools.lru_cache(maxsize=None)
def checkpoint_dir(*layouts_and_seeds: tuple) -> str:
  """A folder of TF1 checkpoints, one per (layout, seed), in the tools' layout.

  Args:
    *layouts_and_seeds: (layout, seed) pairs, at most one per layout.

  Returns:
    A folder where `checkpoints.checkpoint_path(layout, folder)` holds
    `original_tensors(layout, seed)`; removed when the session ends.
  """
  folder = tempfile.mkdtemp(dir=_session_folder())
  for layout, seed in layouts_and_seeds:
    tf1_checkpoint.write_tf1_checkpoint(
        original_tensors(layout, seed),
        checkpoints.checkpoint_path(layout, folder))
  return folder


@functools.lru_cache(maxsize=None)
def model(layout: str, seed: int) -> i3d.InceptionI3d:
  """The network restored from `checkpoint_dir((layout, seed))`, shared.

  Args:
    layout: A released checkpoint's name.
    seed: The random seed of its tensors.

  Returns:
    The built network; callers must not change its variables.
  """
  return checkpoints.build_model(
      layout, checkpoint_dir=checkpoint_dir((layout, seed)))
