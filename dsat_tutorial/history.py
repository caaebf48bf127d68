"""The old import path of :class:`History`: ``from dsat_tutorial.history import History`` keeps working.

What it is: a re-export of :mod:`dsat_tutorial.training.history`, where the run record now lives (it is
what :func:`dsat_tutorial.training.fit` returns). What it is not: a second implementation. New code
imports ``from dsat_tutorial.training import History``.
"""

from .training.history import EPOCH_KEYS, SPIKE_KEYS, STEP_KEYS, History

__all__ = ["History", "EPOCH_KEYS", "STEP_KEYS", "SPIKE_KEYS"]
