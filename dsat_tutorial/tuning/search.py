r"""Grid search and seeded random search over an ``objective(params) -> float`` (lower is better).

What it is: the two searches of Part I, with a :class:`SearchResult` that keeps every trial in order.
What it is not: adaptive search or pruning (the Optuna bridge does that with Optuna's own samplers and
pruners).

References: J. Bergstra and Y. Bengio, "Random search for hyper-parameter optimization", JMLR 13, 2012.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .._validation import check_int
from .space import DISTRIBUTIONS, Choice, LogUniform, as_values  # noqa: F401  (LogUniform, Choice: doctests)

__all__ = ["SearchResult", "grid_search", "random_search"]


@dataclass
class SearchResult:
    """The outcome of a search: every trial in evaluation order and the best one.

    ``trials`` holds ``(params, score)`` pairs; a non-finite score returned by the objective (a diverged
    run) is recorded as ``inf``, so it can never be the best. ``best_params`` is the first trial with
    the lowest score (ties go to the earlier trial), or ``None`` when every trial diverged.

    Taught in: Part I, Hyperparameter search.
    """

    best_params: dict | None
    best_score: float
    trials: list

    def running_best(self) -> np.ndarray:
        """Best score after each trial, ``b_i = min_{j <= i} s_j`` (the curve to compare searches by).

        >>> SearchResult({"a": 1}, 1.0, [({"a": 3}, 3.0), ({"a": 1}, 1.0), ({"a": 2}, 2.0)]).running_best()
        array([3., 1., 1.])
        """
        return np.minimum.accumulate(np.array([s for _, s in self.trials], dtype=float))


def _run(objective: Callable[[dict], float], candidates) -> SearchResult:
    """Evaluate candidates in order; non-finite scores become ``inf`` and the search goes on."""
    trials, best_params, best_score = [], None, math.inf
    for params in candidates:
        score = float(objective(dict(params)))  # the objective gets a copy it may mutate
        if not math.isfinite(score):
            score = math.inf  # diverged (nan, +inf or -inf): recorded, never the best
        trials.append((params, score))
        if score < best_score:
            best_params, best_score = params, score
    return SearchResult(best_params, best_score, trials)


def grid_search(objective: Callable[[dict], float], grid: Mapping[str, Iterable], *,
                max_trials: int | None = None) -> SearchResult:
    r"""Evaluate the objective on the Cartesian product of the grid and keep the lowest score.

    .. math::

        \theta^\star = \operatorname*{arg\,min}_{\theta \in V_1 \times \cdots \times V_d} f(\theta)

    where :math:`V_i` is the list of values of the :math:`i`-th hyperparameter and :math:`f` the
    objective. The order is deterministic: ``itertools.product`` over the keys in the order the dict
    lists them, so the *last* key varies fastest.

    Budget: with ``max_trials`` smaller than the grid, only the first ``max_trials`` combinations in
    that order are evaluated. The earlier keys then never leave their first values -- the grid's
    weakness at a fixed budget (Bergstra & Bengio 2012); use a coarser grid or :func:`random_search`.
    ``max_trials`` larger than the grid evaluates the whole grid. A non-finite score is recorded as
    ``inf`` and the search continues (see :class:`SearchResult`).

    Args:
        objective: ``params -> score`` (lower is better), e.g. a mean cross-validation loss.
        grid: ``name -> non-empty list of values``.
        max_trials: at most this many evaluations (an integer >= 1), or ``None`` for the whole grid.

    Returns:
        :class:`SearchResult`.

    Taught in: Part I, Hyperparameter search.

    >>> r = grid_search(lambda p: (p["lr"] - 0.1) ** 2 + p["h"], {"lr": [0.01, 0.1, 1.0], "h": [2, 1]})
    >>> r.best_params, len(r.trials), r.trials[1][0]
    ({'lr': 0.1, 'h': 1}, 6, {'lr': 0.01, 'h': 1})
    >>> len(grid_search(lambda p: p["lr"], {"lr": [3, 2, 1]}, max_trials=2).trials)
    2
    """
    if not isinstance(grid, Mapping) or len(grid) == 0:
        raise ValueError(f"grid must be a non-empty dict of name -> list of values, got {grid!r}")
    values = [as_values(f"grid[{name!r}]", vals) for name, vals in grid.items()]
    if max_trials is not None:
        max_trials = check_int("max_trials", max_trials, minimum=1)
    combos = itertools.islice(itertools.product(*values), max_trials)
    return _run(objective, (dict(zip(grid, combo)) for combo in combos))


def random_search(objective: Callable[[dict], float], space: Mapping[str, Any], n_trials: int,
                  seed: int = 0) -> SearchResult:
    r"""Evaluate the objective on ``n_trials`` independent draws from ``space``; keep the lowest score.

    .. math::

        \begin{gathered}
        \theta_i \overset{\text{iid}}{\sim} p_1 \otimes \cdots \otimes p_d, \\
        P(\text{some } \theta_i \text{ in the best fraction } q) \\
        = 1 - (1 - q)^{n}
        \end{gathered}

    where :math:`p_j` is the distribution of the :math:`j`-th hyperparameter and :math:`n` =
    ``n_trials``: 60 trials reach the top 5% with probability 0.95 whatever the number of unimportant
    dimensions, which a grid of the same size cannot promise (Bergstra & Bengio 2012).

    One ``np.random.default_rng(seed)`` draws the names in ``space`` order, trial after trial: the same
    seed gives the same trials. Non-finite scores are recorded as ``inf`` (see :class:`SearchResult`).

    Args:
        objective: ``params -> score`` (lower is better).
        space: ``name -> LogUniform | Uniform | IntUniform | Choice``.
        n_trials: number of evaluations (the budget), an integer >= 1.
        seed: seed of the sampler, an integer >= 0.

    Returns:
        :class:`SearchResult`.

    Taught in: Part I, Hyperparameter search.

    >>> space = {"lr": LogUniform(1e-4, 1.0), "cell": Choice(["rnn", "gru"])}
    >>> f = lambda p: abs(math.log10(p["lr"]) + 2) + (p["cell"] == "rnn")
    >>> a, b = random_search(f, space, n_trials=30, seed=1), random_search(f, space, n_trials=30, seed=1)
    >>> a.trials == b.trials, a.best_params["cell"], 1e-3 < a.best_params["lr"] < 1e-1
    (True, 'gru', True)
    """
    if not isinstance(space, Mapping) or len(space) == 0:
        raise ValueError(f"space must be a non-empty dict of name -> distribution, got {space!r}")
    for name, dist in space.items():
        if not isinstance(dist, DISTRIBUTIONS):
            raise ValueError(f"space[{name!r}] must be one of LogUniform, Uniform, IntUniform, Choice, "
                             f"got {dist!r}")
    n_trials = check_int("n_trials", n_trials, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    draws = ({name: dist.sample(rng) for name, dist in space.items()} for _ in range(n_trials))
    return _run(objective, draws)
