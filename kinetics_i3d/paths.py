"""Where the project's files are: what it ships, and what it fetches or makes.

I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
the Kinetics Dataset", CVPR 2017, https://arxiv.org/abs/1705.07750) comes with
the files DeepMind's kinetics-i3d keeps at its root (`data/label_map*.txt`),
the training recipes (`configs/`), the release pins and test data. The tools
use two kinds of files:

* Shipped, read-only: the label maps, the recipes, the pins
  (`kinetics_i3d/weights/deepmind_release.json`) and the test data
  (`kinetics_i3d/testing/testdata/`). They are in the package, so an
  installed copy has them: `kinetics_i3d/data/label_map*.txt` and
  `kinetics_i3d/configs` are symbolic links to the root's `data/*.txt` and
  `configs/` in the repository, and building the sdist or the wheel copies
  what they point to. A checkout reads the root's files.
* Fetched or generated (checkpoints, the sample arrays, downloads): one data
  folder. Running from a checkout (a clone, `pip install -e .` or not
  installed at all), it is the checkout's `data/`, as in the original
  (`data/checkpoints/<name>/`); downloads wait in the download cache,
  `$I3D_CACHE_DIR` or `~/.cache/i3d`. Installed (`pip install .`, a wheel),
  the download cache is the data folder too: `$I3D_CACHE_DIR` (or
  `~/.cache/i3d`) holds `checkpoints/<name>/`, the sample arrays and the
  downloads. Nothing is ever written inside the package.

The folders are computed when they are read (`paths.DATA_DIR`, ... are
module attributes evaluated on access), so `$I3D_CACHE_DIR` set before a
folder is first used is honoured; importing this module creates nothing.
"""

import os
from typing import Dict, List

# The environment variable that moves the download cache, and the data folder
# of an installed copy.
CACHE_ENV = 'I3D_CACHE_DIR'

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# The folder holding the package: the repository's root in a checkout,
# site-packages when installed.
PROJECT_DIR = os.path.dirname(PACKAGE_DIR)
TESTDATA_DIR = os.path.join(PACKAGE_DIR, 'testing', 'testdata')

# Shipped files, by their path under the checkout's root; the package holds
# each at the same path under PACKAGE_DIR.
_LABEL_MAP_FILES = {400: 'data/label_map.txt', 600: 'data/label_map_600.txt'}
_CONFIG_FOLDER = 'configs'


def in_checkout() -> bool:
  """Whether the package runs from a checkout of the repository.

  Returns:
    True when the folder above the package is the repository's root (it
    holds `setup.py` and the original's `data/label_map.txt`), as in a clone
    with or without `pip install -e .`; False for an installed copy.
  """
  return (os.path.isfile(os.path.join(PROJECT_DIR, 'setup.py')) and
          os.path.isfile(os.path.join(PROJECT_DIR, _LABEL_MAP_FILES[400])))


def cache_dir() -> str:
  """The download cache: `$I3D_CACHE_DIR` if set and non-empty, else
  `~/.cache/i3d`. Not created here (`weights.assets.cache_dir` creates it)."""
  return os.environ.get(CACHE_ENV) or os.path.join(
      os.path.expanduser('~'), '.cache', 'i3d')


def data_dir() -> str:
  """The folder for fetched and generated files (see the module docstring).

  Returns:
    The checkout's `data/` in a checkout, else `cache_dir()`.
  """
  return os.path.join(PROJECT_DIR, 'data') if in_checkout() else cache_dir()


def checkpoint_dir() -> str:
  """`<data_dir()>/checkpoints`, the parent of the `<name>/` checkpoints."""
  return os.path.join(data_dir(), 'checkpoints')


def xla_cache_dir() -> str:
  """`<data_dir()>/cache/xla`: compiled XLA programs kept across processes.

  The TensorFlow TV-L1 (`flow/tvl1_tf_worker.py`) keeps its XLA persistent
  compilation cache here, one subfolder per program version; any of it may
  be deleted at any time (it is rebuilt on the next run).
  """
  return os.path.join(data_dir(), 'cache', 'xla')


def out_dir() -> str:
  """Reports: the checkout's `out/`, else `<data_dir()>/out`."""
  return os.path.join(PROJECT_DIR if in_checkout() else data_dir(), 'out')


def shipped_path(relative: str) -> str:
  """A shipped file or folder, by its path under the repository's root.

  Args:
    relative: e.g. 'data/label_map.txt' or 'configs'.

  Returns:
    The checkout's copy in a checkout, else the package's.
  """
  return os.path.join(PROJECT_DIR if in_checkout() else PACKAGE_DIR,
                      *relative.split('/'))


def config_dir() -> str:
  """The folder of the training recipes (`kinetics_rgb.py`, ...)."""
  return shipped_path(_CONFIG_FOLDER)


def label_maps() -> Dict[int, str]:
  """{number of classes: label map file} of Kinetics-400 and -600."""
  return {n: shipped_path(p) for n, p in _LABEL_MAP_FILES.items()}


# The names of earlier versions, evaluated when read (PEP 562).
_LAZY = {
    'DATA_DIR': data_dir,
    'OUT_DIR': out_dir,
    'CHECKPOINT_DIR': checkpoint_dir,
    'CONFIG_DIR': config_dir,
    'LABEL_MAPS': label_maps,
}


def __getattr__(name: str):
  try:
    return _LAZY[name]()
  except KeyError:
    raise AttributeError(f'module {__name__!r} has no attribute '
                         f'{name!r}') from None


def __dir__() -> List[str]:
  return sorted(list(globals()) + list(_LAZY))
