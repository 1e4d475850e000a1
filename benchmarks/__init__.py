"""Benchmarks (run with `make bench`) and the per-agent reference implementation."""
