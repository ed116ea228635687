"""Benchmarks of the emulator against physical baselines, measured side by side.

`python -m bench` runs every benchmark and writes the table to
docs/performance.md; `python -m bench --smoke` runs the same code with tiny
counts in seconds, as the test suite does.
"""
