"""Where the project keeps its files: data/, out/, checkpoints, label maps.

The repository keeps DeepMind's kinetics-i3d layout at its root (`data/`
holds the label maps, the sample arrays and `data/checkpoints/<name>/`), and
every tool reads and writes there by default, whatever the current directory,
so one copy of each checkpoint serves every tool.
"""

import os

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.path.join(PROJECT_DIR, 'data')
OUT_DIR = os.path.join(PROJECT_DIR, 'out')
CHECKPOINT_DIR = os.path.join(DATA_DIR, 'checkpoints')
TESTDATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            'testing', 'testdata')
LABEL_MAPS = {
    400: os.path.join(DATA_DIR, 'label_map.txt'),
    600: os.path.join(DATA_DIR, 'label_map_600.txt'),
}
