"""TV-L1 optical flow for I3D's flow stream (OpenCV and TensorFlow backends)."""
