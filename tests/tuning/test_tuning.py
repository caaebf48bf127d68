"""Tests for dsat_tutorial.tuning: searches against brute-force references, samplers against their
distributions, and the splits against scikit-learn's KFold / TimeSeriesSplit."""

import dataclasses
import math
import pickle

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.model_selection import KFold, TimeSeriesSplit

from dsat_tutorial.tuning import (Choice, IntUniform, LogUniform, SearchResult, Uniform, grid_search,
                                  kfold_splits, random_search, time_series_splits)


def _ks_uniform(u):
    """Kolmogorov-Smirnov distance between the sample u and U(0, 1)."""
    u = np.sort(np.asarray(u))
    n = len(u)
    return max(np.max(np.arange(1, n + 1) / n - u), np.max(u - np.arange(n) / n))


KS_CRIT_1PCT = 1.63  # sqrt(n) * D exceeds this with probability ~1% under the null


# ---------------------------------------------------------------------------------------------------------
# grid search


GRID = {"lr": [0.3, 0.01, 0.1], "hidden": [8, 16], "cell": ["rnn", "gru"]}


def _brute_force_order():
    """The documented order, written as explicit nested loops (last key fastest)."""
    return [{"lr": lr, "hidden": h, "cell": c}
            for lr in GRID["lr"] for h in GRID["hidden"] for c in GRID["cell"]]


def _objective(p):
    return (math.log10(p["lr"]) + 1.0) ** 2 + 0.01 * p["hidden"] + (0.5 if p["cell"] == "rnn" else 0.0)


def test_grid_order_and_best_match_brute_force():
    result = grid_search(_objective, GRID)
    reference = _brute_force_order()
    assert [p for p, _ in result.trials] == reference
    scores = [_objective(p) for p in reference]
    i = int(np.argmin(scores))
    assert result.best_params == reference[i] == {"lr": 0.1, "hidden": 8, "cell": "gru"}
    assert result.best_score == scores[i]
    assert [s for _, s in result.trials] == scores


def test_grid_ties_go_to_the_first_trial():
    result = grid_search(lambda p: 1.0, {"a": [1, 2, 3]})
    assert result.best_params == {"a": 1}


def test_grid_budget_truncates_in_grid_order():
    result = grid_search(_objective, GRID, max_trials=5)
    assert [p for p, _ in result.trials] == _brute_force_order()[:5]
    assert result.best_score == min(_objective(p) for p in _brute_force_order()[:5])
    # a budget above the grid size evaluates the whole grid once
    assert len(grid_search(_objective, GRID, max_trials=1000).trials) == 12


def test_grid_accepts_arrays_and_ranges_as_python_scalars():
    result = grid_search(lambda p: p["lr"] + p["n"], {"lr": np.array([0.5, 0.25]), "n": range(2)})
    assert result.best_params == {"lr": 0.25, "n": 0}
    assert type(result.best_params["lr"]) is float


def test_objective_gets_a_copy():
    def mutating(p):
        p["lr"] = -1
        return 0.0

    result = grid_search(mutating, {"lr": [1, 2]})
    assert [p for p, _ in result.trials] == [{"lr": 1}, {"lr": 2}]


# ---------------------------------------------------------------------------------------------------------
# non-finite objectives


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_diverged_trial_is_recorded_as_inf_and_never_wins(bad):
    f = lambda p: bad if p["lr"] == 1.0 else p["lr"]  # noqa: E731
    result = grid_search(f, {"lr": [1.0, 0.5, 0.2]})
    assert [s for _, s in result.trials] == [math.inf, 0.5, 0.2]
    assert result.best_params == {"lr": 0.2} and result.best_score == 0.2


def test_all_trials_diverged():
    result = random_search(lambda p: math.nan, {"lr": LogUniform(1e-3, 1.0)}, n_trials=4)
    assert result.best_params is None and result.best_score == math.inf
    assert len(result.trials) == 4


def test_running_best_is_the_prefix_minimum():
    result = grid_search(lambda p: p["x"], {"x": [3.0, 5.0, 1.0, math.nan, 0.5]})
    assert result.running_best().tolist() == [3.0, 3.0, 1.0, 1.0, 0.5]


# ---------------------------------------------------------------------------------------------------------
# random search and the distributions


SPACE = {"lr": LogUniform(1e-5, 1e-1), "dropout": Uniform(0.0, 0.5), "layers": IntUniform(1, 3),
         "cell": Choice(["rnn", "gru", "lstm"])}


def test_random_search_same_seed_same_trials():
    a = random_search(_sum_objective, SPACE, n_trials=20, seed=7)
    b = random_search(_sum_objective, SPACE, n_trials=20, seed=7)
    assert a.trials == b.trials and a.best_params == b.best_params


def test_random_search_different_seeds_differ():
    a = random_search(_sum_objective, SPACE, n_trials=20, seed=0)
    b = random_search(_sum_objective, SPACE, n_trials=20, seed=1)
    assert [p["lr"] for p, _ in a.trials] != [p["lr"] for p, _ in b.trials]


def _sum_objective(p):
    return p["lr"] + p["dropout"] + p["layers"]


def test_random_search_draws_names_in_space_order_trial_after_trial():
    result = random_search(_sum_objective, SPACE, n_trials=3, seed=3)
    rng = np.random.default_rng(3)
    for params, score in result.trials:
        lr = math.exp(rng.uniform(math.log(1e-5), math.log(1e-1)))
        dropout = rng.uniform(0.0, 0.5)
        layers = rng.integers(1, 4)  # exclusive upper bound: 1, 2 or 3
        cell = ["rnn", "gru", "lstm"][rng.integers(3)]
        assert params == pytest.approx({"lr": lr, "dropout": dropout, "layers": layers, "cell": cell})
        assert score == pytest.approx(lr + dropout + layers)


def test_random_search_best_is_the_minimum_of_its_trials():
    result = random_search(_sum_objective, SPACE, n_trials=50, seed=0)
    scores = [s for _, s in result.trials]
    assert result.best_score == min(scores)
    assert result.best_params == result.trials[scores.index(min(scores))][0]
    assert all(isinstance(p["lr"], float) and isinstance(p["layers"], int) for p, _ in result.trials)


def test_log_uniform_bounds_and_log_is_uniform():
    low, high, n = 1e-4, 1.0, 4000
    rng = np.random.default_rng(2024)
    x = np.array([LogUniform(low, high).sample(rng) for _ in range(n)])
    assert x.min() >= low and x.max() <= high
    u = (np.log(x) - math.log(low)) / (math.log(high) - math.log(low))
    assert math.sqrt(n) * _ks_uniform(u) < KS_CRIT_1PCT
    # each of the four decades holds a quarter of the mass (density 1 / (x ln(high/low)))
    counts = np.histogram(x, bins=[1e-4, 1e-3, 1e-2, 1e-1, 1.0])[0]
    assert np.all(np.abs(counts / n - 0.25) < 0.03)
    # the same check has power: samples uniform in x are far from uniform in log x
    y = np.random.default_rng(2024).uniform(low, high, n)
    assert math.sqrt(n) * _ks_uniform((np.log(y) - math.log(low)) / math.log(high / low)) > 10


def test_degenerate_ranges_return_the_endpoint():
    rng = np.random.default_rng(0)
    assert LogUniform(0.3, 0.3).sample(rng) == 0.3
    assert Uniform(2.0, 2.0).sample(rng) == 2.0
    assert IntUniform(5, 5).sample(rng) == 5


def test_uniform_samples_in_bounds_and_uniform():
    rng = np.random.default_rng(11)
    x = np.array([Uniform(-2.0, 3.0).sample(rng) for _ in range(3000)])
    assert x.min() >= -2.0 and x.max() <= 3.0
    assert math.sqrt(len(x)) * _ks_uniform((x + 2.0) / 5.0) < KS_CRIT_1PCT


def test_int_uniform_is_inclusive_and_uniform():
    rng = np.random.default_rng(5)
    draws = [IntUniform(-1, 2).sample(rng) for _ in range(4000)]
    values, counts = np.unique(draws, return_counts=True)
    assert values.tolist() == [-1, 0, 1, 2]
    assert np.all(np.abs(counts / 4000 - 0.25) < 0.03)


def test_choice_frequencies():
    options = ["tanh", "relu", None]
    rng = np.random.default_rng(99)
    draws = [Choice(options).sample(rng) for _ in range(3000)]
    freq = np.array([sum(d == o for d in draws) for o in options]) / 3000
    assert abs(freq.sum() - 1.0) < 1e-12  # nothing outside the options
    # chi-square with 2 degrees of freedom; 9.21 is the 99% quantile
    chi2 = np.sum((freq * 3000 - 1000) ** 2 / 1000)
    assert chi2 < 9.21
    assert np.all(np.abs(freq - 1 / 3) < 0.03)


def test_distributions_are_frozen_and_picklable():
    c = Choice(["a", "b"])
    assert c.options == ("a", "b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.options = ("c",)
    d = LogUniform(1e-3, 1.0)
    assert pickle.loads(pickle.dumps(d)) == d and repr(d) == "LogUniform(low=0.001, high=1.0)"


# ---------------------------------------------------------------------------------------------------------
# k-fold


def _assert_partition(splits, n, k):
    assert len(splits) == k
    vals = [v for _, v in splits]
    assert np.array_equal(np.sort(np.concatenate(vals)), np.arange(n))  # each index in exactly one fold
    sizes = [len(v) for v in vals]
    assert max(sizes) - min(sizes) <= 1
    for train, val in splits:
        assert train.dtype == np.int64 and val.dtype == np.int64
        assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(n))  # train = complement


@given(n=st.integers(2, 200), data=st.data())
def test_kfold_matches_sklearn_without_shuffle(n, data):
    k = data.draw(st.integers(2, n))
    ours = kfold_splits(n, k)
    _assert_partition(ours, n, k)
    ref = list(KFold(n_splits=k).split(np.zeros(n)))
    for (t, v), (rt, rv) in zip(ours, ref, strict=True):
        assert np.array_equal(t, rt) and np.array_equal(v, rv)


@given(n=st.integers(2, 200), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_kfold_shuffled_partitions_with_sklearn_fold_sizes(n, seed, data):
    k = data.draw(st.integers(2, n))
    ours = kfold_splits(n, k, shuffle=True, seed=seed)
    _assert_partition(ours, n, k)
    ref = KFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(n))
    assert [len(v) for _, v in ours] == [len(v) for _, v in ref]


def test_kfold_shuffle_is_seeded():
    a = kfold_splits(30, 3, shuffle=True, seed=1)
    b = kfold_splits(30, 3, shuffle=True, seed=1)
    c = kfold_splits(30, 3, shuffle=True, seed=2)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(a, c))
    assert not np.array_equal(a[0][1], kfold_splits(30, 3)[0][1])  # shuffling changed the folds


# ---------------------------------------------------------------------------------------------------------
# time-series splits


ts_args = dict(n=st.integers(2, 120), n_splits=st.integers(1, 8),
               test_size=st.none() | st.integers(1, 30), gap=st.integers(0, 10),
               max_train_size=st.none() | st.integers(1, 50))


@given(**ts_args)
def test_time_series_never_trains_on_the_future(n, n_splits, test_size, gap, max_train_size):
    try:
        splits = time_series_splits(n, n_splits, test_size=test_size, gap=gap, max_train_size=max_train_size)
    except ValueError:
        assume(False)
    assert len(splits) == n_splits
    m = len(splits[0][1])
    assert splits[-1][1][-1] == n - 1  # the last block ends at the last sample
    for j, (train, val) in enumerate(splits):
        assert len(train) >= 1 and len(val) == m
        assert np.array_equal(val, np.arange(val[0], val[0] + m))  # one contiguous block
        assert train.max() < val.min() - gap  # strictly before, and the gap is left out
        assert np.array_equal(train, np.arange(train[0], train[-1] + 1))
        assert train[-1] == val[0] - gap - 1  # training ends right before the gap
        assert max_train_size is None or len(train) <= max_train_size
        if j:
            assert val[0] == splits[j - 1][1][-1] + 1  # blocks tile the end of the series in order


@given(**ts_args)
def test_time_series_matches_sklearn(n, n_splits, test_size, gap, max_train_size):
    assume(n_splits >= 2)  # scikit-learn needs at least two splits
    try:
        ref = list(TimeSeriesSplit(n_splits=n_splits, test_size=test_size, gap=gap,
                                   max_train_size=max_train_size).split(np.zeros(n)))
    except ValueError:
        with pytest.raises(ValueError):
            time_series_splits(n, n_splits, test_size=test_size, gap=gap, max_train_size=max_train_size)
        return
    ours = time_series_splits(n, n_splits, test_size=test_size, gap=gap, max_train_size=max_train_size)
    assert len(ours) == len(ref)
    for (t, v), (rt, rv) in zip(ours, ref):
        assert np.array_equal(t, rt) and np.array_equal(v, rv)


def test_time_series_single_split_is_a_holdout_at_the_end():
    (train, val), = time_series_splits(10, 1)  # test_size = 10 // 2 = 5
    assert train.tolist() == [0, 1, 2, 3, 4] and val.tolist() == [5, 6, 7, 8, 9]
    (train, val), = time_series_splits(10, 1, test_size=3, gap=2, max_train_size=4)
    assert train.tolist() == [1, 2, 3, 4] and val.tolist() == [7, 8, 9]


# ---------------------------------------------------------------------------------------------------------
# argument validation


def _f(p):
    return 0.0


@pytest.mark.parametrize("call, match", [
    (lambda: kfold_splits(10, 1), r"k must be an integer >= 2"),
    (lambda: kfold_splits(10, 11), r"k must be an integer in \[2, n=10\], got 11"),
    (lambda: kfold_splits(1, 2), r"n must be an integer >= 2"),
    (lambda: kfold_splits(10, 2.0), r"k must be an integer"),
    (lambda: kfold_splits(10, 2, shuffle=True, seed=-1), r"seed must be an integer >= 0"),
    (lambda: time_series_splits(10, 0), r"n_splits must be an integer >= 1"),
    (lambda: time_series_splits(4, 4), r"n must be >= n_splits \+ 1 = 5 when test_size is None, got 4"),
    (lambda: time_series_splits(10, 3, test_size=4), r"n must be >= gap \+ n_splits \* test_size \+ 1 = 13"),
    (lambda: time_series_splits(10, 2, gap=5), r"n must be >= gap \+ n_splits \* test_size \+ 1 = 12"),
    (lambda: time_series_splits(10, 2, test_size=0), r"test_size must be an integer >= 1"),
    (lambda: time_series_splits(10, 2, gap=-1), r"gap must be an integer >= 0"),
    (lambda: time_series_splits(10, 2, max_train_size=0), r"max_train_size must be an integer >= 1"),
    (lambda: grid_search(_f, {}), r"grid must be a non-empty dict"),
    (lambda: grid_search(_f, {"lr": []}), r"grid\['lr'\] must be a non-empty list"),
    (lambda: grid_search(_f, {"act": "tanh"}), r"grid\['act'\] must be a non-empty list"),
    (lambda: grid_search(_f, {"lr": 0.1}), r"grid\['lr'\] must be a non-empty list"),
    (lambda: grid_search(_f, [("lr", [1])]), r"grid must be a non-empty dict"),
    (lambda: grid_search(_f, {"lr": [1]}, max_trials=0), r"max_trials must be an integer >= 1"),
    (lambda: random_search(_f, {}, 5), r"space must be a non-empty dict"),
    (lambda: random_search(_f, {"lr": [0.1, 0.2]}, 5), r"space\['lr'\] must be one of LogUniform"),
    (lambda: random_search(_f, {"lr": Uniform(0, 1)}, 0), r"n_trials must be an integer >= 1"),
    (lambda: random_search(_f, {"lr": Uniform(0, 1)}, 5, seed=-3), r"seed must be an integer >= 0"),
    (lambda: LogUniform(0.0, 1.0), r"low must be finite and > 0, got 0.0"),
    (lambda: LogUniform(-1e-3, 1.0), r"low must be finite and > 0"),
    (lambda: LogUniform(1e-2, 1e-3), r"high must be >= low = 0.01, got 0.001"),
    (lambda: LogUniform(1e-2, math.inf), r"high must be a finite real number"),
    (lambda: Uniform(1.0, 0.0), r"high must be >= low = 1.0, got 0.0"),
    (lambda: Uniform(math.nan, 1.0), r"low must be a finite real number"),
    (lambda: IntUniform(3, 2), r"high must be an integer >= 3, got 2"),
    (lambda: IntUniform(0.5, 2), r"low must be an integer, got 0.5"),
    (lambda: Choice([]), r"options must be a non-empty list"),
    (lambda: Choice("ab"), r"options must be a non-empty list"),
])
def test_invalid_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_search_result_is_a_dataclass_with_the_contract_fields():
    names = [f.name for f in dataclasses.fields(SearchResult)]
    assert names == ["best_params", "best_score", "trials"]
