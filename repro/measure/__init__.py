"""Measurements by real runs: byte-exact searches, thresholds, the matrix and sweeps."""
