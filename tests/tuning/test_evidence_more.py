"""Part V's paired ratio bootstrap and random-search reach probability against independent references:
SciPy's paired percentile bootstrap, exhaustive enumeration of resamples and of searches, Monte Carlo."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from dsat_tutorial.tuning.evidence_more import chance_of_reaching, paired_ratio_interval

INF = math.inf


def _ratio_of_medians(a, b, axis=-1):
    return np.median(a, axis=axis) / np.median(b, axis=axis)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_paired_ratio_matches_scipy_paired_percentile_bootstrap(seed):
    rng = np.random.default_rng(seed)
    b = rng.lognormal(3.0, 0.3, size=30)
    a = b * rng.lognormal(0.2, 0.2, size=30)            # paired: a moves with b
    ours = paired_ratio_interval(a, b, level=0.9, n_boot=40_000, seed=seed)
    ref = stats.bootstrap((a, b), _ratio_of_medians, paired=True, vectorized=True, confidence_level=0.9,
                          n_resamples=40_000, method="percentile", random_state=seed + 100).confidence_interval
    width = ref.high - ref.low
    assert abs(ours[0] - ref.low) < 0.05 * width and abs(ours[1] - ref.high) < 0.05 * width
    assert ours[0] < np.median(a) / np.median(b) < ours[1]


def test_paired_ratio_bounds_are_order_statistics_of_all_resamples():
    # n = 3 seeds: 27 equally likely resamples; with many draws the bounds are the exact quantiles
    a, b = np.array([10.0, 30.0, 20.0]), np.array([10.0, 10.0, 20.0])
    exact = sorted(float(np.median(a[list(i)]) / np.median(b[list(i)]))
                   for i in itertools.product(range(3), repeat=3))
    lo, hi = paired_ratio_interval(a, b, level=0.8, n_boot=200_000)
    assert lo in exact and hi in exact
    cdf = lambda x: sum(r <= x for r in exact) / 27                      # noqa: E731
    assert cdf(lo) >= 0.1 and cdf(hi) >= 0.9
    assert sum(r < lo for r in exact) / 27 <= 0.1 + 1e-9 and sum(r < hi for r in exact) / 27 <= 0.9 + 1e-9


def test_paired_ratio_pairs_are_kept_together():
    # a_i = 2 b_i exactly: every paired resample has ratio 2; an unpaired resample would not
    b = np.array([10.0, 20.0, 40.0, 80.0, 160.0])
    assert paired_ratio_interval(2 * b, b) == (2.0, 2.0)


def test_paired_ratio_with_failures_gives_inf_not_nan():
    lo, hi = paired_ratio_interval([INF, INF, INF, 10.0, 10.0], [10.0] * 5)
    assert lo == 1.0 and hi == INF
    assert paired_ratio_interval([INF] * 3, [5.0] * 3) == (INF, INF)


@pytest.mark.parametrize("kwargs, name", [({"numerator": [1.0], "denominator": [1.0]}, "numerator"),
                                          ({"numerator": [1, 0], "denominator": [1, 1]}, "numerator"),
                                          ({"numerator": [1, 2], "denominator": [1, INF]}, "denominator"),
                                          ({"numerator": [1, 2], "denominator": [1, 2, 3]}, "denominator"),
                                          ({"numerator": [1, 2], "denominator": [1, 2], "level": 0.0}, "level"),
                                          ({"numerator": [1, 2], "denominator": [1, 2], "n_boot": 5}, "n_boot")])
def test_paired_ratio_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        paired_ratio_interval(**kwargs)


@pytest.mark.parametrize("pool, n", [([True, False, False], 1), ([True, False, False], 3),
                                     ([False, False, True, True, False], 2), ([False] * 4, 3), ([True], 5)])
def test_chance_of_reaching_by_exhaustive_enumeration(pool, n):
    searches = list(itertools.product(pool, repeat=n))
    assert chance_of_reaching(pool, n) == pytest.approx(sum(any(s) for s in searches) / len(searches))


def test_chance_of_reaching_monte_carlo_and_rejects_bad_input():
    rng = np.random.default_rng(0)
    pool = rng.random(35) < 0.2
    draws = pool[rng.integers(0, 35, size=(200_000, 4))].any(axis=1)
    assert chance_of_reaching(pool, 4) == pytest.approx(draws.mean(), abs=5e-3)
    with pytest.raises(ValueError, match="reached"):
        chance_of_reaching([1, 0], 2)
    with pytest.raises(ValueError, match="n must"):
        chance_of_reaching([True], 0)
