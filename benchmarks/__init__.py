"""Benchmarks of dsat_tutorial: speed and memory ratios (scripts) and Part V's efficacy harness (``python -m benchmarks.efficacy``)."""
