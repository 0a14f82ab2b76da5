"""Exact chunked evaluation of long clips and the BatchNorm-folded fast path."""
