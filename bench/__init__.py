"""Benchmarks of minefed: data generators and load drivers (see bench/README.md)."""
