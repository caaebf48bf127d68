r"""Two more pieces of Part V's evidence: a paired bootstrap interval for a ratio of two statistics over
the same seeds, and the probability that a random search of ``n`` trials reaches a target.

What it is: small pure functions on arrays of per-seed (or per-run) results, next to
:mod:`dsat_tutorial.tuning.evidence`. What it is not: a statistics library (``scipy.stats.bootstrap`` with
``paired=True`` is the reference the tests compare with).

References: B. Efron & R. Tibshirani (1993), "An introduction to the bootstrap", ch. 13 (percentile
interval) and ch. 6 (paired resampling); R. M. Schmidt, F. Schneider & P. Hennig (2021), "Descending
through a crowded valley", ICML (the tuning-budget view).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_range
from .evidence import robustness

__all__ = ["paired_ratio_interval", "chance_of_reaching"]


def paired_ratio_interval(numerator, denominator, level: float = 0.95, n_boot: int = 10_000,
                          seed: int = 0) -> tuple[float, float]:
    r"""Percentile bootstrap interval of :math:`\operatorname{med}(a) / \operatorname{med}(b)` where
    :math:`a_i, b_i` are measured on the same seed :math:`i` (resampled together, as pairs).

    .. math::
        \begin{gathered}
        \rho^{*}_b = \frac{\operatorname{med}_{i \in I_b} a_i}{\operatorname{med}_{i \in I_b} b_i}, \\
        [\rho_{lo}, \rho_{hi}] = \big[q_{\alpha/2}(\rho^{*}),\ q_{1-\alpha/2}(\rho^{*})\big]
        \end{gathered}

    where each :math:`I_b` draws :math:`n` seed indices with replacement, :math:`b = 1..B` and
    :math:`\alpha = 1 -` ``level``. The quantiles are order statistics (``method="inverted_cdf"``), so a
    numerator of ``inf`` (a run that never reached its target) gives ``inf`` bounds, never NaN.

    Args:
        numerator: 1-d values > 0 (``inf`` allowed), one per seed.
        denominator: 1-d finite values > 0, same length (at least 2).
        level: in (0, 1). n_boot: >= 100. seed: for the resampling.

    Returns:
        ``(low, high)``.

    Reference: Efron & Tibshirani (1993), ch. 6 and 13. Taught in: Part V, Speed to target and cost.

    >>> paired_ratio_interval([20, 20, 20], [10, 10, 10])
    (2.0, 2.0)
    """
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    if a.ndim != 1 or a.size < 2 or np.any(np.isnan(a)) or np.any(a <= 0):
        raise ValueError(f"numerator must be a 1-d sequence of at least 2 values > 0 (inf allowed), got {numerator!r}")
    if b.shape != a.shape or not np.all(np.isfinite(b)) or np.any(b <= 0):
        raise ValueError(f"denominator must be finite values > 0 of the numerator's length, got {denominator!r}")
    level = check_range("level", level, 0.0, 1.0, low_closed=False, high_closed=False)
    n_boot = check_int("n_boot", n_boot, minimum=100)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    ratios = np.median(a[idx], axis=1) / np.median(b[idx], axis=1)
    alpha = 1.0 - level
    lo, hi = np.quantile(ratios, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    return float(lo), float(hi)


def chance_of_reaching(reached, n: int) -> float:
    r"""Probability that a random search of ``n`` trials, drawn with replacement from a pool of equally
    likely runs, contains at least one run that reached the target.

    .. math::
        \begin{gathered}
        P_n = 1 - (1 - p)^n, \\
        p = \frac{1}{K}\sum_{k=1}^{K} \mathbb{1}[\text{run } k \text{ reached}]
        \end{gathered}

    Args:
        reached: non-empty 1-d booleans, one per run of the pool (e.g. a grid's knob values x seeds).
        n: number of trials, >= 1.

    Reference: the tuning-budget view of Schmidt et al. (2021). Taught in: Part V, What to use when.

    >>> chance_of_reaching([True, False], 1), chance_of_reaching([True, False], 2)
    (0.5, 0.75)
    """
    p = robustness(reached)  # the share that reached it (and the same check of ``reached``)
    n = check_int("n", n)
    return float(1.0 - (1.0 - p) ** n)
