"""Enrolling provincial nodes with one-time tokens."""
