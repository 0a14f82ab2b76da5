"""Test support: an independent raw-op forward pass and reference data."""
