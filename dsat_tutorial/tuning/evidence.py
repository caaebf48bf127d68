r"""How Part V turns many runs into evidence: time to target, robustness, performance profiles, the
bootstrap, and the expected best of a random search.

What it is: the formulas of the benchmarking protocol of AlgoPerf (Dahl et al. 2023) and "Descending
through a crowded valley" (Schmidt, Schneider & Hennig 2021), each a small pure function on arrays of
results: :func:`steps_to_target`, :func:`robustness`, :func:`bootstrap_interval`,
:func:`performance_profile`, :func:`profile_score` and :func:`expected_best_of_n`. What it is not: the
sweep that produces the runs (``benchmarks/efficacy``) nor a statistics library (SciPy's
``scipy.stats.bootstrap`` is the reference the tests compare with).

References: E. D. Dolan & J. J. Moré (2002), "Benchmarking optimization software with performance
profiles", Math. Programming 91; G. E. Dahl et al. (2023), "Benchmarking neural network training
algorithms", arXiv:2306.07179; R. M. Schmidt, F. Schneider & P. Hennig (2021), ICML; B. Efron &
R. Tibshirani (1993), "An introduction to the bootstrap", ch. 13.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .._validation import check_int, check_range

__all__ = ["steps_to_target", "robustness", "bootstrap_interval", "performance_profile", "profile_score",
           "expected_best_of_n"]


def steps_to_target(val_losses: Sequence[float], steps_per_epoch: int, target: float) -> float:
    r"""Optimizer steps until the validation loss first reaches the target (``inf`` if it never does).

    .. math::
        \begin{aligned}
        S = n_e \cdot \min\{e \ge 1 : L^{va}_e \le L^{\star}\}
        \end{aligned}

    where :math:`n_e` is ``steps_per_epoch``, :math:`L^{va}_e` is the validation loss after epoch :math:`e` (validated once per epoch, so
    :math:`S` is a multiple of an epoch) and :math:`L^{\star}` the target. NaN and inf never reach it.

    Reference: Dahl et al. (2023), "time to result". Taught in: Part V, Speed to target and cost.

    >>> steps_to_target([0.9, 0.4, 0.2, 0.1], steps_per_epoch=10, target=0.25)
    30
    >>> steps_to_target([0.9, float("nan")], 10, 0.25)
    inf
    """
    steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch)
    target = float(target)
    if math.isnan(target):
        raise ValueError("target must be a number, got nan")
    for e, loss in enumerate(val_losses, start=1):
        if math.isfinite(loss) and loss <= target:
            return e * steps_per_epoch
    return math.inf


def robustness(reached) -> float:
    r"""The share of a grid of runs that reached the target.

    .. math:: R = \frac{1}{K} \sum_{k=1}^{K} \mathbb{1}[\text{run } k \text{ reached } L^{\star}]

    ``reached`` is a non-empty sequence of booleans (e.g. one per knob value of one seed).
    Taught in: Part V, Robustness to the initial learning rate.

    >>> robustness([True, True, False, False, False, False, True])
    0.42857142857142855
    """
    arr = np.asarray(reached)
    if arr.ndim != 1 or arr.size == 0 or arr.dtype != bool:
        raise ValueError(f"reached must be a non-empty 1-d sequence of booleans, got {reached!r}")
    return float(arr.mean())


def bootstrap_interval(values, statistic: Callable = np.mean, level: float = 0.95, n_boot: int = 10_000,
                       seed: int = 0) -> tuple[float, float]:
    r"""Percentile bootstrap interval of ``statistic`` over independent ``values`` (e.g. seeds).

    .. math::
        \begin{gathered}
        \theta^{*}_b = s\big(x^{*}_{b}\big),\ b = 1..B, \\
        [\hat\theta_{lo}, \hat\theta_{hi}] = \big[q_{\alpha/2}(\theta^{*}),\ q_{1-\alpha/2}(\theta^{*})\big]
        \end{gathered}

    where each :math:`x^{*}_b` draws :math:`n` values with replacement from the :math:`n` values,
    :math:`s` is ``statistic``, :math:`B` is ``n_boot``, :math:`\alpha = 1 -` ``level`` and :math:`q`
    the empirical quantile. With 5 seeds the interval is coarse (and too narrow: the bootstrap
    underestimates spread for small :math:`n`); read it as "how much the seeds disagree".

    Args:
        values: 1-d finite numbers, at least 2.
        statistic: array -> number, applied along axis 1 of a (B, n) array when it accepts ``axis``.
        level: in (0, 1). n_boot: >= 100. seed: for the resampling.

    Reference: Efron & Tibshirani (1993), ch. 13. Taught in: Part V, Robustness to the initial
    learning rate.

    >>> bootstrap_interval([0.5, 0.5, 0.5])
    (0.5, 0.5)
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"values must be a 1-d sequence of at least 2 finite numbers, got {values!r}")
    level = check_range("level", level, 0.0, 1.0, low_closed=False, high_closed=False)
    n_boot = check_int("n_boot", n_boot, minimum=100)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    samples = x[rng.integers(0, x.size, size=(n_boot, x.size))]
    try:
        stats = np.asarray(statistic(samples, axis=1), dtype=float)
    except TypeError:
        stats = np.array([statistic(s) for s in samples], dtype=float)
    alpha = 1.0 - level
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _ratios(costs) -> np.ndarray:
    c = np.asarray(costs, dtype=float)
    if c.ndim != 2 or c.size == 0 or np.any(np.isnan(c)) or np.any(c <= 0):
        raise ValueError("costs must be a non-empty 2-d array (problems x methods) of values > 0 or inf")
    best = c.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        r = c / best
    r[~np.isfinite(c)] = np.inf                  # a failure is never within any factor
    return r


def performance_profile(costs, taus) -> np.ndarray:
    r"""Dolan-Moré performance profiles: for each method, the share of problems it solves within a
    factor :math:`\tau` of the best method on that problem.

    .. math::
        \begin{gathered}
        r_{p,m} = \frac{t_{p,m}}{\min_{m'} t_{p,m'}}, \\
        \rho_m(\tau) = \frac{1}{|P|}\,\big|\{p \in P : r_{p,m} \le \tau\}\big|
        \end{gathered}

    where :math:`t_{p,m} > 0` is the cost (e.g. steps to target) of method :math:`m` on problem
    :math:`p` and ``inf`` a failure (never counted; a problem no method solves counts for none).

    Args:
        costs: array ``(problems, methods)`` of values > 0 or ``inf``.
        taus: the factors :math:`\tau \ge 1` to evaluate.

    Returns:
        array ``(methods, len(taus))`` of shares in [0, 1].

    Reference: Dolan & Moré (2002). Taught in: Part V, Speed to target and cost.

    >>> performance_profile([[10, 20], [30, 15], [40, float("inf")]], [1, 2]).tolist()
    [[0.6666666666666666, 1.0], [0.3333333333333333, 0.6666666666666666]]
    """
    r = _ratios(costs)
    t = np.asarray(taus, dtype=float)
    if t.ndim != 1 or t.size == 0 or np.any(t < 1):
        raise ValueError(f"taus must be a non-empty 1-d sequence of values >= 1, got {taus!r}")
    return (r.T[:, :, None] <= t[None, None, :]).mean(axis=1)


def profile_score(costs, tau_max: float = 4.0) -> np.ndarray:
    r"""AlgoPerf's benchmark score: the area under each method's performance profile from 1 to
    :math:`\tau_{max}`, normalised to [0, 1].

    .. math::
        \begin{aligned}
        B_m &= \frac{1}{T - 1} \int_1^{T} \rho_m(\tau)\, d\tau \\
            &= \frac{1}{|P|}\sum_{p} \frac{\max(0,\ T - r_{p,m})}{T - 1}
        \end{aligned}

    where :math:`T = \tau_{max}` (the right-hand side holds because :math:`\rho_m` is a step function with
    :math:`r_{p,m} \ge 1`).
    1 means the fastest on every problem; 0 means never within :math:`\tau_{max}` of the fastest.

    Args:
        costs: array ``(problems, methods)`` as for :func:`performance_profile`.
        tau_max: :math:`\tau_{max} > 1` (AlgoPerf: 4).

    Reference: Dahl et al. (2023), section 4.5. Taught in: Part V, Speed to target and cost.

    >>> profile_score([[10, 20], [30, 15], [40, float("inf")]]).round(4).tolist()
    [0.8889, 0.5556]
    """
    tau_max = float(tau_max)
    if not tau_max > 1 or not math.isfinite(tau_max):
        raise ValueError(f"tau_max must be a finite number > 1, got {tau_max!r}")
    r = _ratios(costs)
    return np.clip(tau_max - r, 0.0, None).mean(axis=0) / (tau_max - 1.0)


def expected_best_of_n(losses, n: int) -> float:
    r"""Expected best (lowest) loss of a random search that draws ``n`` runs, with replacement, from a
    pool of equally likely outcomes.

    .. math::
        \begin{aligned}
        \mathbb{E}\big[\min_{j \le n} X_j\big] = \sum_{i=1}^{K} x_{(i)}
        &\left[\Big(\tfrac{K-i+1}{K}\Big)^{n} \right. \\
        &\left. - \Big(\tfrac{K-i}{K}\Big)^{n}\right]
        \end{aligned}

    where :math:`x_{(1)} \le \dots \le x_{(K)}` are the pool sorted (e.g. a grid's final losses over
    its knob values and seeds) and the bracket is :math:`P(\min = x_{(i)})`. ``inf`` (a diverged run)
    is allowed: it contributes only if every draw can be a failure, making the expectation ``inf``.

    Reference: the tuning-budget view of Schmidt et al. (2021). Taught in: Part V, What to use when.

    >>> expected_best_of_n([1.0, 2.0], 1), expected_best_of_n([1.0, 2.0], 2)
    (1.5, 1.25)
    """
    x = np.sort(np.asarray(losses, dtype=float))
    if x.ndim != 1 or x.size == 0 or np.any(np.isnan(x)):
        raise ValueError(f"losses must be a non-empty 1-d sequence without NaN, got {losses!r}")
    n = check_int("n", n)
    k = x.size
    i = np.arange(1, k + 1)
    weights = ((k - i + 1) / k) ** n - ((k - i) / k) ** n
    used = weights > 0
    return float(np.sum(x[used] * weights[used]))
