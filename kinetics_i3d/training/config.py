"""The training configuration of I3D: every field, its default and meaning.

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

DeepMind released no training code; the kinetics-i3d README documents the
recipe, and `get_config` states it once: the RGB stream, SGD with momentum
0.9, weight decay 1e-7, dropout keep probability 0.5 before the logits, 6
clips per replica, 64-frame windows of 224x224 crops of frames resized to
256, and the README's piecewise-constant schedule of the stream. The recipes
in the repository's `configs/` folder (Kinetics RGB, Kinetics flow, UCF-101
fine-tuning) start from it and change only what differs, as big_vision's
configs do; `i3d-train --config=configs/<recipe>.py` loads one and
`--config.<field>=value` overrides a field.

`FIELD_HELP` says what each field means; `describe` lists the fields for
`--helpfull` (ml_collections defines a `--config.<field>` flag only for the
fields given on the command line, so absl's help cannot list them itself).

This module imports no TensorFlow: config files load it while flags are
defined.
"""

from typing import Any, Dict, List

import ml_collections

import i3d
from kinetics_i3d import paths
from kinetics_i3d import streams

MODES = ('train', 'eval')
STRATEGIES = ('mirrored', 'multi_worker')
SCHEDULES = ('stream', 'rgb', 'flow', 'custom')
LR_SCALINGS = ('linear', 'none')
# 64 replicas x 6 clips: the global batch the README's schedules were run at.
REFERENCE_BATCH_SIZE = 384


class TrainError(ValueError):
  """A configuration, dataset or checkpoint that training cannot use."""


def get_config() -> ml_collections.ConfigDict:
  """The paper's recipe for the RGB stream on Kinetics-400."""
  config = ml_collections.ConfigDict()
  config.mode = 'train'
  config.stream = streams.RGB
  config.num_classes = i3d.KINETICS_400_CLASSES
  config.model_dir = ''
  config.seed = 0
  config.deterministic = False
  config.strategy = 'mirrored'
  config.cpu_replicas = 0
  config.checkpoint_every = 1000
  config.max_checkpoints = 5
  config.summary_every = 100

  config.data = ml_collections.ConfigDict()
  config.data.train_dir = ''
  config.data.train_split = ''
  config.data.eval_dir = ''
  config.data.eval_split = ''
  config.data.video_root = ''
  config.data.label_offset = 0
  config.data.cache_dir = ''
  config.data.resize = streams.RESIZE
  config.data.crop_size = streams.CROP
  config.data.num_frames = 64
  config.data.eval_num_frames = 0
  config.data.parallelism = 0
  # None: `backends.default_backend()`; a placeholder typed str for overrides.
  config.data.flow_backend = ml_collections.config_dict.placeholder(str)

  config.model = ml_collections.ConfigDict()
  config.model.init_checkpoint = ''
  config.model.checkpoint_dir = paths.CHECKPOINT_DIR
  config.model.final_endpoint = 'Logits'
  config.model.dropout_keep_prob = 0.5

  config.optim = ml_collections.ConfigDict()
  config.optim.per_replica_batch_size = 6
  config.optim.schedule = 'stream'
  config.optim.lr_boundaries = (0,)
  config.optim.lr_values = (0.1,)
  config.optim.train_steps = 0
  config.optim.lr_scaling = 'linear'
  config.optim.reference_batch_size = REFERENCE_BATCH_SIZE
  config.optim.momentum = 0.9
  config.optim.weight_decay = 1e-7

  config.eval = ml_collections.ConfigDict()
  config.eval.rgb_checkpoint = ''
  config.eval.flow_checkpoint = ''
  return config


FIELD_HELP: Dict[str, str] = {
    'mode': f'One of {MODES}: train one stream, or evaluate checkpoints.',
    'stream': f'One of {streams.STREAMS}: the stream trained.',
    'num_classes': 'Classes of the dataset (the logits layer).',
    'model_dir': 'Checkpoints, summaries and train_meta.json go here; a run '
                 'resumes from it.',
    'seed': 'Seed of the initial weights, video order, windows, crops, flips '
            'and dropout masks.',
    'deterministic': 'Bit-identical weights from run to run and across a '
                     'kill and resume (TF op determinism, one op at a '
                     'time).',
    'strategy': f'One of {STRATEGIES}: local devices, or the machines of '
                'TF_CONFIG.',
    'cpu_replicas': 'On a machine without GPUs, >0 splits the CPU into this '
                    'many replicas (to try data parallelism).',
    'checkpoint_every': 'Steps between checkpoints.',
    'max_checkpoints': 'Checkpoints kept.',
    'summary_every': 'Steps between TensorBoard summaries and log lines.',
    'data.train_dir': 'Training videos, one subfolder per class (UCF-101 '
                      'layout); or give data.train_split.',
    'data.train_split': 'Training split file of "path label" lines.',
    'data.eval_dir': 'Evaluation videos, one subfolder per class; or give '
                     'data.eval_split.',
    'data.eval_split': 'Evaluation split file ("path label" or bare paths).',
    'data.video_root': 'Base of relative split-file paths; its sorted '
                       'subfolders are the classes of lines without a label.',
    'data.label_offset': 'Subtracted from split-file labels (1 for UCF-101\'s '
                         '1-based lists).',
    'data.cache_dir': 'Preprocessed videos; empty: <model_dir>/cache.',
    'data.resize': 'Smaller side of the frames before cropping.',
    'data.crop_size': 'Side of the square crops.',
    'data.num_frames': 'Frames of a training clip.',
    'data.eval_num_frames': 'Frames of an evaluation clip; 0: whole videos, as '
                            'the paper evaluates.',
    'data.parallelism': 'Videos decoded at once; 0: automatic.',
    'data.flow_backend': 'TV-L1 implementation (opencv or tf); unset: tf with '
                         'a GPU or an AVX2 + FMA CPU without AVX-512, else '
                         'opencv. Part of the cache key.',
    'model.init_checkpoint': 'Start from this checkpoint (a released name such '
                             'as rgb_imagenet, or a TF1 prefix) with new '
                             'logits; empty: from scratch.',
    'model.checkpoint_dir': 'Folder holding <name>/model.ckpt.* of the '
                            'released checkpoints.',
    'model.final_endpoint': 'Last I3D endpoint; before Logits, a pooled '
                            'linear head is added (small inputs, tests).',
    'model.dropout_keep_prob': 'Dropout keep probability before the logits.',
    'optim.per_replica_batch_size': 'Clips per replica per step.',
    'optim.schedule': f'One of {SCHEDULES}; stream: the README\'s schedule of '
                      'the stream; custom: optim.lr_boundaries/lr_values.',
    'optim.lr_boundaries': 'Steps where the next learning rate starts '
                           '(custom schedule).',
    'optim.lr_values': 'Learning rates, one more than boundaries (custom '
                       'schedule).',
    'optim.train_steps': 'Last step; 0: the schedule\'s end (required with '
                         'custom).',
    'optim.lr_scaling': f'One of {LR_SCALINGS}; linear: rates x global batch '
                        '/ optim.reference_batch_size.',
    'optim.reference_batch_size': 'Global batch the schedule was tuned for.',
    'optim.momentum': 'SGD momentum.',
    'optim.weight_decay': 'L2 coefficient on convolution and linear kernels.',
    'eval.rgb_checkpoint': 'RGB model to evaluate: a model_dir, a TF2 '
                           'checkpoint prefix or a released name.',
    'eval.flow_checkpoint': 'Flow model to evaluate (as eval.rgb_checkpoint).',
}


def field_names(config: ml_collections.ConfigDict, prefix: str = ''
               ) -> List[str]:
  """Dotted names of the leaf fields of `config`, in definition order."""
  names = []
  for key, value in config.items():
    if isinstance(value, ml_collections.ConfigDict):
      names += field_names(value, f'{prefix}{key}.')
    else:
      names.append(prefix + key)
  return names


def get_field(config: ml_collections.ConfigDict, name: str) -> Any:
  """The value of the field with dotted name `name`, e.g. 'optim.momentum'."""
  node = config
  for part in name.split('.'):
    node = node[part]
  return node


def describe(config: ml_collections.ConfigDict, flag: str = 'config') -> str:
  """One line per field: `--config.<field> (default: value): meaning`."""
  lines = []
  for name in field_names(config):
    value = get_field(config, name)
    text = repr(value) if isinstance(value, str) else str(value)
    lines.append(f'--{flag}.{name} (default: {text}): '
                 f'{FIELD_HELP.get(name, "")}')
  return '\n'.join(lines)
