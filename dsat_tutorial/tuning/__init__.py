"""Hyperparameter search and cross-validation splits: grid search, seeded random search, k-fold and
time-series (expanding-window) splits.

What it is: small, dependency-free (NumPy only) building blocks that a chapter can read in one sitting.
A search takes an ``objective(params) -> float`` (lower is better, typically a validation loss) and
returns a :class:`SearchResult`; the split functions return index arrays that the objective uses to
train and validate. What it is not: a replacement for ``sklearn.model_selection`` (no estimators, no
parallelism, no refitting) or for adaptive methods (Bayesian optimisation, Hyperband: use Optuna).
The splits reproduce scikit-learn's ``KFold`` and ``TimeSeriesSplit``, and the unit tests check them against it.

Source 004 (§3.5, L51 and Q&A L148) says hyperparameters are tuned "by cross-validation or random
search" without saying how; its code's "随机拆分" (random split, L80) is a fixed slice (004-E10). For
sequences a shuffled split would also train on the future, which :func:`time_series_splits` rules out.

References:
    J. Bergstra and Y. Bengio, "Random search for hyper-parameter optimization", JMLR 13:281-305, 2012.
    T. Hastie, R. Tibshirani and J. Friedman, *The Elements of Statistical Learning*, 2nd ed., §7.10.
    C. Bergmeir and J. M. Benítez, "On the use of cross-validation for time series predictor
    evaluation", Information Sciences 191:192-213, 2012.
    R. J. Hyndman and G. Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., §5.10.

Scaling out is Optuna's job, not this package's: ``optuna_bridge.py`` holds :class:`OptunaPruning` (a
``fit`` callback feeding Optuna's pruners) and :func:`suggest` (these search spaces as
``trial.suggest_*`` calls); Optuna is imported only when they are used.

Modules: ``search.py`` (the searches), ``space.py`` (the distributions), ``splits.py`` (the splits),
``optuna_bridge.py`` (Optuna), ``knob_sweep.py`` (one-knob sensitivity sweeps of the
learning-rate-free methods, Part III).
"""

from __future__ import annotations

from .evidence import (bootstrap_interval, expected_best_of_n, performance_profile, profile_score, robustness,
                       steps_to_target)
from .evidence_more import chance_of_reaching, paired_ratio_interval
from .knob_sweep import flatness, run_knob
from .optuna_bridge import OptunaPruning, suggest
from .search import SearchResult, grid_search, random_search
from .space import Choice, IntUniform, LogUniform, Uniform
from .splits import kfold_splits, time_series_splits

__all__ = ["steps_to_target", "robustness", "bootstrap_interval", "performance_profile", "profile_score",
           "expected_best_of_n", "paired_ratio_interval", "chance_of_reaching", "SearchResult", "LogUniform", "Uniform", "IntUniform", "Choice",
           "grid_search", "random_search", "kfold_splits", "time_series_splits", "OptunaPruning", "suggest", "run_knob", "flatness"]
