"""Metrics built on I3D embeddings: Frechet Video Distance."""
