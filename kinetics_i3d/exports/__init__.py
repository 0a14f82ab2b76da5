"""Exports of I3D for other runtimes: SavedModel, TF-Hub drop-in, ONNX, IR."""
