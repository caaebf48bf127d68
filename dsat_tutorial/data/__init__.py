"""Data for every chapter: seeded synthetic tasks with a learnable signal, real data loaded offline,
and a seeded train/validation split into data loaders.

What it is:
    * :class:`Task` -- what every generator returns: ``X`` float32 ``(N, T, F)``, targets ``y``, the
      ``loss`` to train with and ``baseline_loss``, the loss of the best constant predictor
      (:func:`baseline_loss`), so a chapter can show its model beats it.
    * Synthetic tasks (each target is computed from its inputs, unlike the sources' random labels):
      :func:`adding_problem`, :func:`sine_forecast`, :func:`delayed_sum`,
      :func:`threshold_sequences`; :func:`uniform_regression` (source 003's uniform rows, with or
      without a signal).
    * Real data, never touching the network: :func:`load_digit_sequences` (scikit-learn's digits as
      8-step row sequences) and :func:`load_sp500` (the monthly S&P 500 index shipped in
      ``dsat_tutorial/data/datasets/``, see its README for source and licence), split in time and
      scaled with training-split statistics only (:class:`SeriesSplit`).
    * :func:`make_loaders` -- a seeded random or time-ordered split into ``DataLoader`` objects.

What it is not: a data-loading framework. Everything fits in memory as tensors.

References: Hochreiter & Schmidhuber (1997) for the adding problem; ERRATA 000-E2, 000-E3, 000-E4,
003-E8, 004-E9 for what the sources' data got wrong.
"""

from __future__ import annotations

from .loaders import make_loaders, split_indices
from .real import SeriesSplit, load_digit_sequences, load_sp500
from .synthetic import adding_problem, delayed_sum, sine_forecast, threshold_sequences
from .tabular import uniform_regression
from .task import Task, baseline_loss

__all__ = [
    "Task", "baseline_loss",
    "adding_problem", "sine_forecast", "delayed_sum", "threshold_sequences", "uniform_regression",
    "load_digit_sequences", "load_sp500", "SeriesSplit",
    "split_indices", "make_loaders",
]
