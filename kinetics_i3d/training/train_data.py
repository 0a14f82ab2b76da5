"""Training and evaluation input pipeline for I3D: the names tools import.

Implements the data side of the training recipe of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

in three rooms, whose public names this module gathers:

  datasets.py        the videos and labels: a folder of class subfolders or
                     a split file (Example, DatasetError, load_examples)
  clip_cache.py      every video preprocessed once into uint8 arrays keyed
                     on the video and the TV-L1 implementation (build_cache)
  input_pipeline.py  tf.data batches: random windows, crops and flips for
                     training as a pure function of (seed, step, slot),
                     centre crops for evaluation (train_dataset, eval_dataset)
"""

from kinetics_i3d.training import clip_cache
from kinetics_i3d.training import datasets
from kinetics_i3d.training import input_pipeline

DatasetError = datasets.DatasetError
Example = datasets.Example
list_video_folder = datasets.list_video_folder
load_examples = datasets.load_examples

CachedExample = clip_cache.CachedExample
build_cache = clip_cache.build_cache
warn_empty_classes = clip_cache.warn_empty_classes

train_dataset = input_pipeline.train_dataset
eval_dataset = input_pipeline.eval_dataset
