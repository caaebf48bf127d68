"""Part V's harness: every method of the book, head to head, on three recurrent workloads.

``tasks`` (the workloads and their targets), ``methods`` (the one table of methods and knob grids),
``runner`` (one seeded run -> one record), ``sweep`` (parallel, cached, resumable; the command line),
``report`` (the aggregates, computed with :mod:`dsat_tutorial.tuning.evidence`, into ``efficacy.json``).
Run ``python -m benchmarks.efficacy`` from the repository root.
"""
