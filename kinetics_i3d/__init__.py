"""Everything around the I3D model of Carreira & Zisserman (CVPR 2017), by capability.

The model itself is the top-level module `i3d`, as in DeepMind's kinetics-i3d.
Subpackages: weights (checkpoints, downloads), video (decoding, RGB inputs),
flow (TV-L1), inference (long clips, fast path), features (extraction, Beam),
training (train loop, data, inflation), metrics (FVD), utils, testing.
"""
