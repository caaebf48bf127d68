"""Part V's evidence formulas against independent references: brute-force definitions, SciPy's
bootstrap, exhaustive enumeration and Monte Carlo."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from dsat_tutorial.tuning import (bootstrap_interval, expected_best_of_n, performance_profile, profile_score,
                                  robustness, steps_to_target)

INF = math.inf


# ------------------------------------------------------------------ steps_to_target / robustness
def test_steps_to_target_counts_epochs_until_first_hit():
    assert steps_to_target([0.5, 0.3, 0.1, 0.05], 7, 0.3) == 14          # epoch 2 reaches it (<=)
    assert steps_to_target([0.5, 0.1, 0.9], 7, 0.2) == 14                 # later regression does not matter
    assert steps_to_target([0.5, 0.4], 7, 0.2) == INF
    assert steps_to_target([], 7, 0.2) == INF
    assert steps_to_target([INF, float("nan"), 0.1], 3, 0.2) == 9        # non-finite never counts


@pytest.mark.parametrize("kwargs, name", [({"steps_per_epoch": 0, "target": 1.0}, "steps_per_epoch"),
                                          ({"steps_per_epoch": 2, "target": float("nan")}, "target")])
def test_steps_to_target_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        steps_to_target([1.0], **kwargs)


def test_robustness_is_the_share_reached():
    assert robustness([True] * 6 + [False]) == pytest.approx(6 / 7)
    for bad in ([], [1, 0], [[True]]):
        with pytest.raises(ValueError, match="reached"):
            robustness(bad)


# ------------------------------------------------------------------ bootstrap
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bootstrap_matches_scipy_percentile_bootstrap(seed):
    x = np.random.default_rng(seed).lognormal(size=40)
    ours = bootstrap_interval(x, np.mean, level=0.9, n_boot=20_000, seed=seed)
    ref = stats.bootstrap((x,), np.mean, confidence_level=0.9, n_resamples=20_000, method="percentile",
                          random_state=seed + 100).confidence_interval
    sd = x.std() / math.sqrt(len(x))
    assert abs(ours[0] - ref.low) < 0.05 * sd and abs(ours[1] - ref.high) < 0.05 * sd
    assert ours[0] < x.mean() < ours[1]


def test_bootstrap_degenerate_and_nested_levels():
    assert bootstrap_interval([0.4] * 5) == (0.4, 0.4)
    x = [0.2, 0.4, 0.6, 0.8, 1.0]
    lo90, hi90 = bootstrap_interval(x, level=0.9)
    lo99, hi99 = bootstrap_interval(x, level=0.99)
    assert lo99 <= lo90 < hi90 <= hi99
    assert bootstrap_interval(x, np.median, seed=3) == bootstrap_interval(x, lambda s: float(np.median(s)), seed=3)


@pytest.mark.parametrize("kwargs, name", [({"values": [1.0]}, "values"), ({"values": [1, INF]}, "values"),
                                          ({"values": [1, 2], "level": 1.0}, "level"),
                                          ({"values": [1, 2], "n_boot": 10}, "n_boot")])
def test_bootstrap_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        bootstrap_interval(**kwargs)


# ------------------------------------------------------------------ performance profiles
def _profile_by_definition(costs, taus):
    costs = np.asarray(costs, dtype=float)
    n_p, n_m = costs.shape
    out = np.zeros((n_m, len(taus)))
    for m in range(n_m):
        for j, tau in enumerate(taus):
            hits = 0
            for p in range(n_p):
                best = min(costs[p])
                if math.isfinite(costs[p, m]) and costs[p, m] <= tau * best:
                    hits += 1
            out[m, j] = hits / n_p
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_performance_profile_matches_the_definition(seed):
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 20, size=(12, 5)).astype(float) * 10
    costs[rng.random(costs.shape) < 0.25] = INF
    costs[0] = INF                                                     # a problem nobody solves
    taus = [1, 1.25, 1.5, 2, 3, 4, 100]
    prof = performance_profile(costs, taus)
    np.testing.assert_allclose(prof, _profile_by_definition(costs, taus))
    assert np.all(np.diff(prof, axis=1) >= 0)                          # non-decreasing in tau
    solved = np.isfinite(costs).mean(axis=0)
    np.testing.assert_allclose(prof[:, -1], solved)                    # large tau: share solved at all


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_profile_score_is_the_area_under_the_profile(seed):
    rng = np.random.default_rng(seed)
    costs = rng.uniform(1, 10, size=(9, 4))
    costs[rng.random(costs.shape) < 0.2] = INF
    taus = np.linspace(1, 4, 300_001)
    area = np.trapezoid(performance_profile(costs, taus), taus, axis=1) / 3.0
    np.testing.assert_allclose(profile_score(costs, 4.0), area, atol=1e-4)


def test_profile_rejects_bad_input():
    with pytest.raises(ValueError, match="costs"):
        performance_profile([[1.0, -1.0]], [1])
    with pytest.raises(ValueError, match="taus"):
        performance_profile([[1.0, 2.0]], [0.5])
    with pytest.raises(ValueError, match="tau_max"):
        profile_score([[1.0, 2.0]], 1.0)


# ------------------------------------------------------------------ expected best of n
@pytest.mark.parametrize("pool, n", [([0.3, 0.1, 0.7], 2), ([1.0, 1.0, 2.0, 5.0], 3), ([0.2, INF, 0.5], 2)])
def test_expected_best_of_n_by_exhaustive_enumeration(pool, n):
    outcomes = [min(draw) for draw in itertools.product(pool, repeat=n)]
    assert expected_best_of_n(pool, n) == pytest.approx(float(np.mean(outcomes)))


def test_expected_best_of_n_monte_carlo_and_limits():
    rng = np.random.default_rng(0)
    pool = rng.lognormal(size=35)
    draws = pool[rng.integers(0, 35, size=(200_000, 5))].min(axis=1)
    assert expected_best_of_n(pool, 5) == pytest.approx(draws.mean(), rel=5e-3)
    assert expected_best_of_n(pool, 1) == pytest.approx(pool.mean())
    assert expected_best_of_n(pool, 10_000) == pytest.approx(pool.min())
    assert expected_best_of_n([INF, INF], 3) == INF
    with pytest.raises(ValueError, match="n must"):
        expected_best_of_n(pool, 0)
    with pytest.raises(ValueError, match="losses"):
        expected_best_of_n([float("nan")], 1)
