"""Benchmarks: `python -m bench` prints figures; not part of `make test`."""
