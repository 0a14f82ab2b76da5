"""DeepMind's I3D checkpoints in a Sonnet 2 model: the names README documents.

The model is the I3D network of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

This module gathers, under one import, the names callers use; each is
defined in the module of its concern:

  layouts           the released checkpoints and their two layouts (tables)
  resolution        where a checkpoint lives, and fetching an absent one
  name_mapping      original names -> module variables (one table)
  original_checks   a file fits the model, checked before anything is set
  loading           load_original, build_model: all or nothing
  tf2_checkpoints   save / restore of native TF2 checkpoints
  saved_model       export_saved_model for serving

Tests patch a name in the module that defines it.
"""

from kinetics_i3d.weights import layouts
from kinetics_i3d.weights import loading
from kinetics_i3d.weights import name_mapping
from kinetics_i3d.weights import resolution
from kinetics_i3d.weights import saved_model
from kinetics_i3d.weights import tf2_checkpoints

CheckpointError = layouts.CheckpointError
CheckpointSpec = layouts.CheckpointSpec
ORIGINAL_CHECKPOINTS = layouts.ORIGINAL_CHECKPOINTS
STREAM_SCOPES = layouts.STREAM_SCOPES

checkpoint_path = resolution.checkpoint_path
resolve_checkpoint = resolution.resolve_checkpoint

build_variables = name_mapping.build_variables

load_original = loading.load_original
build_model = loading.build_model
load_resolved = loading.load_resolved

save = tf2_checkpoints.save
restore = tf2_checkpoints.restore

ServingSignature = saved_model.ServingSignature
SERVING_DEFAULT = saved_model.SERVING_DEFAULT
check_export_num_frames = saved_model.check_export_num_frames
export_saved_model = saved_model.export_saved_model
