"""Checkpoint layouts, resolution of released names, pinned downloads, conversion."""
