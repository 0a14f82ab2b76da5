"""The tiny training runs the tests of `kinetics_i3d.training` share.

The network is the real I3D stem truncated at 'Mixed_3c' with the pooled
linear head (`model.final_endpoint`), on 8-frame 32x32 crops of a tiny
synthetic dataset (`train_data_test.write_synthetic_dataset`), so that a
training step is quick. One dataset and its cache serve every test file of a
session. Runs that need a fresh process (logical CPU devices, `TF_CONFIG`
and op determinism must be set before TensorFlow starts) go through
`python -m kinetics_i3d.train` (`run_tool`).
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import ml_collections
import numpy as np
import tensorflow as tf

from kinetics_i3d.training import config as config_lib
from kinetics_i3d.training import train_data_test
from kinetics_i3d.training import workdir

NUM_CLASSES = 3
ENDPOINT = 'Mixed_3c'
TOOL = [sys.executable, '-m', 'kinetics_i3d.train']


class Fixture:
  """One synthetic dataset (and its cache) shared by every test."""
  root: Optional[str] = None

  @classmethod
  def directory(cls) -> str:
    if cls.root is None:
      cls.root = tempfile.mkdtemp(prefix='train_test_')
      # Shared by every test file of the session; removed when it ends.
      atexit.register(shutil.rmtree, cls.root, ignore_errors=True)
      train_data_test.write_synthetic_dataset(
          os.path.join(cls.root, 'videos'), num_classes=NUM_CLASSES,
          per_class=2, broken=1)
    return cls.root

  @classmethod
  def videos(cls) -> str:
    return os.path.join(cls.directory(), 'videos')

  @classmethod
  def new_dir(cls, name: str) -> str:
    return tempfile.mkdtemp(prefix=name + '-', dir=cls.directory())


def tiny_config(model_dir: str, **overrides) -> ml_collections.ConfigDict:
  """The recipe on a truncated network and 8x32x32 clips."""
  config = config_lib.get_config()
  config.model_dir = model_dir
  config.num_classes = NUM_CLASSES
  config.data.train_dir = Fixture.videos()
  config.data.cache_dir = os.path.join(Fixture.directory(), 'cache')
  config.data.resize = 40
  config.data.crop_size = 32
  config.data.num_frames = 8
  config.data.parallelism = 2
  config.model.final_endpoint = ENDPOINT
  config.optim.per_replica_batch_size = 4
  config.optim.schedule = 'custom'
  config.optim.lr_values = (0.01,)
  config.optim.train_steps = 40
  config.optim.lr_scaling = 'none'
  config.checkpoint_every = 20
  config.summary_every = 10
  for key, value in overrides.items():
    node = config
    *parents, leaf = key.split('.')
    for parent in parents:
      node = node[parent]
    node[leaf] = value
  return config


def command_line(config) -> List[str]:
  """`--config.a.b=value` flags reproducing `config` (scalars and tuples)."""
  out = []

  def walk(node, prefix):
    for key, value in node.items():
      if isinstance(value, ml_collections.ConfigDict):
        walk(value, f'{prefix}{key}.')
      elif value is not None:  # An unset placeholder keeps its default.
        text = repr(tuple(value)) if isinstance(value, tuple) else str(value)
        out.append(f'--config.{prefix}{key}={text}')

  walk(config, '')
  return out


def run_tool(args: Sequence[str], env_extra: Optional[Dict[str, str]] = None,
             wait: bool = True):
  """Runs i3d-train from a folder outside the project, as a user would."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  env.update(env_extra or {})
  process = subprocess.Popen(
      TOOL + list(args), cwd=Fixture.directory(), env=env,
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  if not wait:
    return process
  output, _ = process.communicate(timeout=300)
  return process.returncode, output


def run_train_py(config, env_extra: Optional[Dict[str, str]] = None,
                  wait: bool = True):
  return run_tool(command_line(config), env_extra, wait)


def finish(processes) -> List[str]:
  """Waits for processes started by run_tool; their outputs."""
  outputs = []
  for process in processes:
    try:
      output, _ = process.communicate(timeout=300)
    finally:
      process.kill()
    outputs.append(output)
  return outputs


def checkpoint_tensors(prefix: str) -> Dict[str, np.ndarray]:
  reader = tf.train.load_checkpoint(prefix)
  return {
      name: reader.get_tensor(name)
      for name in reader.get_variable_to_shape_map()
      if not name.startswith('_CHECKPOINTABLE_OBJECT_GRAPH')
  }


def free_ports(count: int) -> List[int]:
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(('localhost', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def _step(prefix: Optional[str]) -> int:
  return int(prefix.rsplit('-', 1)[1]) if prefix else -1


def kill_after_checkpoint(process, model_dir: str) -> int:
  """SIGKILLs a training run once it committed a step > 0; returns the step."""
  deadline = time.monotonic() + 300
  while time.monotonic() < deadline and process.poll() is None:
    if _step(workdir.latest_checkpoint(model_dir)) > 0:
      process.send_signal(signal.SIGKILL)
      break
    time.sleep(0.02)
  process.communicate(timeout=60)
  return _step(workdir.latest_checkpoint(model_dir))
