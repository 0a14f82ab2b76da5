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
r"""From a video file to I3D's RGB and optical-flow inputs, as in the paper.

The model is the Inflated 3D ConvNet of

  Joao Carreira, Andrew Zisserman.
  "Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset."
  CVPR 2017. https://arxiv.org/abs/1705.07750

DeepMind's kinetics-i3d README states the recipe; Google later released the
pipeline itself in MediaPipe (TV-L1 flow with OpenCV's default parameters on
RGB->gray frames, frame t to t+1; flow stored as 8-bit over [-20, 20]). Steps:

1. Decode and resample to 25 fps (`kinetics_i3d.video.decode`).
2. RGB: resize so the smaller side is 256 pixels (bilinear, aspect ratio
   kept; smaller frames are upsampled), crop 224x224 (centre for evaluation,
   random for training: the same crop for every frame), rescale to [-1, 1]
   as x / 255 * 2 - 1. float32 [1, T, 224, 224, 3].
3. Flow: the resized 256-pixel RGB frames to gray (cv2.COLOR_RGB2GRAY), TV-L1
   from each frame to the next (`kinetics_i3d.flow.backends`: OpenCV's
   DualTVL1 at its defaults, or the same in TensorFlow); clip to [-20, 20],
   divide by 20, the same crop as RGB; keep both channels (x, y). float32
   [1, T, 224, 224, 2]. Optionally round-trip through the 8-bit storage the
   paper's pipeline used (`flow_input.quantize_flow` / `dequantize_flow`).

The sizes and bounds are `kinetics_i3d.streams`' (RESIZE, CROP, FLOW_BOUND,
FPS).

Frame counts: T frames at 25 fps give T - 1 flow fields (flow[t] is the motion
from frame t to frame t + 1). When both streams are produced, the RGB stream
keeps its first T - 1 frames, so that rgb[t] and flow[t] describe the same
instant and both arrays have the same length, as in DeepMind's sample (79 RGB
frames, 79 flow fields, flow[t] from frame t to t + 1). RGB alone keeps all T
frames. The two-stream model adds the streams' logits, so equal lengths are a
convention, not a requirement. Flow needs at least 2 frames.

The steps live in rooms of their own, and this module gathers their public
names where the tools import them:

  rgb.py            resize_smallest_side, crop_offsets, center_crop, scale_rgb
  flow_input.py     flow_to_model_input, quantize_flow, dequantize_flow
  gifs.py           rgb_gif_frames, flow_gif_frames, write_gif
  model_inputs.py   check_streams, iter_model_input_frames (a long video with
                    bounded memory), video_to_model_inputs (file -> arrays)
  sample_writer.py  preprocess_to_files: DeepMind's sample format
                    (<name>_rgb.npy, <name>_flow.npy) and the README's two
                    GIFs, as the `i3d-preprocess` tool writes them
  gray.py           to_gray, the one RGB -> grey conversion
"""

from kinetics_i3d.video import decode
from kinetics_i3d.video import model_inputs
from kinetics_i3d.video import rgb
from kinetics_i3d.video import sample_writer

# Raised by these modules too: a video that cannot be decoded or preprocessed.
PreprocessError = decode.PreprocessError

resize_smallest_side = rgb.resize_smallest_side
center_crop = rgb.center_crop
scale_rgb = rgb.scale_rgb

check_streams = model_inputs.check_streams
iter_model_input_frames = model_inputs.iter_model_input_frames
video_to_model_inputs = model_inputs.video_to_model_inputs

preprocess_to_files = sample_writer.preprocess_to_files
