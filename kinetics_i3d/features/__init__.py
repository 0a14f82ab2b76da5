"""Endpoint features from many videos, on one machine or on Apache Beam."""
