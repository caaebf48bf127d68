"""Tests for dsat_tutorial.data: shapes, seeding, baselines, signal, splits without leakage.

References are computed independently: targets by explicit loops over the stated rules, baselines
with numpy from the targets, the S&P 500 scaler from the CSV read with the csv module.
"""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dsat_tutorial.data import (
    SeriesSplit, Task, adding_problem, baseline_loss, delayed_sum, load_digit_sequences, load_sp500,
    make_loaders, sine_forecast, split_indices, threshold_sequences,
)

GENERATORS = {
    "adding": lambda **kw: adding_problem(200, 12, **kw),
    "sine": lambda **kw: sine_forecast(200, 12, 0.1, **kw),
    "delayed": lambda **kw: delayed_sum(200, 12, 3, **kw),
    "threshold": lambda **kw: threshold_sequences(200, 12, 5, **kw),
}
EXPECTED = {  # X shape, y shape, y dtype, loss
    "adding": ((200, 12, 2), (200, 1), torch.float32, "mse"),
    "sine": ((200, 12, 1), (200, 1), torch.float32, "mse"),
    "delayed": ((200, 12, 3), (200, 12, 1), torch.float32, "mse"),
    "threshold": ((200, 12, 5), (200,), torch.int64, "cross_entropy"),
}


# ---------------------------------------------------------------- shapes, dtypes, seeding
@pytest.mark.parametrize("name", GENERATORS)
def test_shapes_dtypes_and_loss(name):
    task = GENERATORS[name]()
    x_shape, y_shape, y_dtype, loss = EXPECTED[name]
    assert isinstance(task, Task)
    assert tuple(task.X.shape) == x_shape and task.X.dtype == torch.float32
    assert tuple(task.y.shape) == y_shape and task.y.dtype == y_dtype
    assert task.loss == loss and isinstance(task.description, str) and task.description
    assert torch.isfinite(task.X).all()


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_different_seed_differs(name):
    a, b, c = GENERATORS[name](seed=0), GENERATORS[name](seed=0), GENERATORS[name](seed=1)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and a.baseline_loss == b.baseline_loss
    assert not torch.equal(a.X, c.X)


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_do_not_touch_global_rng(name):
    torch.manual_seed(0)
    np.random.seed(0)
    before = (torch.rand(1), np.random.rand())
    torch.manual_seed(0)
    np.random.seed(0)
    GENERATORS[name]()
    assert (torch.rand(1), np.random.rand()) == before


# ---------------------------------------------------------------- baselines, computed with numpy
@pytest.mark.parametrize("name", ["adding", "sine", "delayed"])
def test_mse_baseline_is_variance_of_targets(name):
    task = GENERATORS[name]()
    y = task.y.numpy().astype(np.float64)
    assert task.baseline_loss == pytest.approx(np.var(y, axis=0).mean(), rel=1e-9)


def test_classification_baseline_is_entropy_of_base_rate():
    task = threshold_sequences(500, seed=3)
    p = task.y.numpy().mean()
    assert task.baseline_loss == pytest.approx(-(p * math.log(p) + (1 - p) * math.log(1 - p)), rel=1e-9)


def test_baselines_match_closed_forms_for_large_n():
    assert adding_problem(20000).baseline_loss == pytest.approx(1 / 6, rel=0.05)  # Var(U1 + U2)
    assert sine_forecast(20000, noise=0.2).baseline_loss == pytest.approx(0.5 + 0.04, rel=0.05)
    # per-step means: t=0 constant 0, t=1 Var(x)=1/3, t>=2 (1 + 1/4)/3
    T = 10
    expected = (0 + 1 / 3 + (T - 2) * 1.25 / 3) / T
    assert delayed_sum(20000, T).baseline_loss == pytest.approx(expected, rel=0.03)
    assert threshold_sequences(20000).baseline_loss == pytest.approx(math.log(2), rel=0.01)


def test_baseline_loss_fit_on_other_split(rng):
    y_train = torch.from_numpy(rng.normal(1.0, 1.0, (50, 1)))
    y_val = torch.from_numpy(rng.normal(3.0, 1.0, (40, 1)))
    ref = np.mean((y_val.numpy() - y_train.numpy().mean()) ** 2)
    assert baseline_loss(y_val, "mse", fit_on=y_train) == pytest.approx(ref)
    labels_tr, labels_val = torch.tensor([0, 0, 0, 1]), torch.tensor([1, 1, 0])
    ce_ref = -(math.log(0.25) * 2 + math.log(0.75)) / 3
    assert baseline_loss(labels_val, "cross_entropy", fit_on=labels_tr) == pytest.approx(ce_ref)
    bce = torch.nn.functional.binary_cross_entropy(torch.full((3,), 0.25, dtype=torch.float64),
                                                   labels_val.double())
    assert baseline_loss(labels_val, "bce", fit_on=labels_tr) == pytest.approx(float(bce))


def test_baseline_loss_rejects_unknown_loss():
    with pytest.raises(ValueError, match="loss must be one of"):
        baseline_loss(torch.zeros(3), "mae")


# ---------------------------------------------------------------- the signal: targets follow the rule
def test_adding_problem_targets_follow_the_rule():
    task = adding_problem(300, 9, seed=4)
    X = task.X.numpy()
    half = 9 // 2
    for i in range(len(X)):
        marked = np.flatnonzero(X[i, :, 1])
        assert len(marked) == 2 and marked[0] < half <= marked[1]
        assert set(np.unique(X[i, :, 1])) == {0.0, 1.0}
        assert task.y[i, 0].item() == pytest.approx(float(X[i, marked, 0].astype(np.float64).sum()), abs=1e-6)
    assert X[..., 0].min() >= 0 and X[..., 0].max() < 1


def test_delayed_sum_follows_the_rule_scalar_and_004_E9_variant():
    for features, k in [(1, 0), (3, 1)]:
        task = delayed_sum(50, 7, features, seed=2)
        x = task.X.numpy().astype(np.float64)
        ref = np.zeros((50, 7))
        for t in range(7):
            if t >= 1:
                ref[:, t] += x[:, t - 1, 0]
            if t >= 2:
                ref[:, t] += 0.5 * x[:, t - 2, k]
        np.testing.assert_allclose(task.y.numpy()[..., 0], ref, atol=1e-6)


def test_threshold_labels_follow_the_rule_with_a_gap_and_are_balanced():
    T, F, margin = 12, 5, 0.5
    task = threshold_sequences(2000, T, F, margin=margin, seed=5)
    means = task.X.numpy().astype(np.float64).reshape(2000, -1).mean(axis=1)
    np.testing.assert_array_equal(task.y.numpy(), (means > 0.5).astype(np.int64))
    assert np.abs(means - 0.5).min() >= margin / math.sqrt(12 * T * F)
    assert 0.45 < task.y.float().mean().item() < 0.55
    plain = threshold_sequences(2000, T, F, margin=0.0, seed=5)
    plain_means = plain.X.numpy().astype(np.float64).reshape(2000, -1).mean(axis=1)
    assert np.abs(plain_means - 0.5).min() < margin / math.sqrt(12 * T * F)  # margin 0: no gap


def test_sine_targets_continue_the_window():
    # without noise, a sine obeys s[t+1] = 2 cos(w) s[t] - s[t-1]; estimate 2cos(w) per window
    task = sine_forecast(100, 10, noise=0.0, seed=6)
    x, y = task.X[..., 0].double().numpy(), task.y[:, 0].double().numpy()
    for i in range(100):
        a = np.linalg.lstsq(x[i, 1:-1, None], x[i, 2:] + x[i, :-2], rcond=None)[0][0]
        assert y[i] == pytest.approx(a * x[i, -1] - x[i, -2], abs=1e-4)


def test_sine_signal_is_learnable_by_least_squares():
    task = sine_forecast(seed=7)  # defaults
    X = np.c_[task.X[..., 0].double().numpy(), np.ones(len(task.X))]
    y = task.y[:, 0].double().numpy()
    w = np.linalg.lstsq(X[:800], y[:800], rcond=None)[0]
    assert np.mean((X[800:] @ w - y[800:]) ** 2) < 0.1 * np.var(y[800:])


# ---------------------------------------------------------------- argument validation
@pytest.mark.parametrize("call, arg", [
    (lambda: adding_problem(0), "n"),
    (lambda: adding_problem(10, 1), "seq_len"),
    (lambda: adding_problem(10, seed=-1), "seed"),
    (lambda: sine_forecast(10, 5, noise=-0.1), "noise"),
    (lambda: sine_forecast(10, 5, freq_range=(0.2, 0.1)), "freq_range"),
    (lambda: sine_forecast(10, 5, freq_range=(0.1, 0.6)), "freq_range"),
    (lambda: sine_forecast(10, 5, freq_range=0.1), r"freq_range must be a pair"),
    (lambda: sine_forecast(10, 5, freq_range=(0.01, 0.02, 0.03)), r"freq_range must be a pair"),
    (lambda: delayed_sum(10, 5, features=0), "features"),
    (lambda: delayed_sum(10, 0), "seq_len"),
    (lambda: threshold_sequences(10, margin=2.5), "margin"),
    (lambda: threshold_sequences(10, threshold=1.0), "threshold"),
    (lambda: threshold_sequences(10, 1, 1, margin=2.0), "margin"),
])
def test_invalid_arguments_raise_value_error_naming_them(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


def test_task_validates_shapes():
    with pytest.raises(ValueError, match="X must have shape"):
        Task(torch.zeros(3, 4), torch.zeros(3), 0.0, "mse", "")
    with pytest.raises(ValueError, match="same number of samples"):
        Task(torch.zeros(3, 4, 1), torch.zeros(2), 0.0, "mse", "")
    assert isinstance(threshold_sequences(10).loss_fn(), torch.nn.CrossEntropyLoss)


# ---------------------------------------------------------------- make_loaders / split_indices
def _indices(loader):
    return torch.tensor(loader.dataset.indices)


@given(n=st.integers(2, 500), frac=st.floats(0.01, 0.99), ordered=st.booleans())
def test_split_indices_partition(n, frac, ordered):
    tr, va = split_indices(n, frac, seed=3, time_ordered=ordered)
    assert len(va) >= 1 and len(tr) >= 1
    assert torch.equal(torch.cat([tr, va]).sort().values, torch.arange(n))
    if ordered:
        assert tr.max() < va.min()


def test_make_loaders_sizes_and_batches():
    X = torch.arange(100, dtype=torch.float32).reshape(100, 1, 1)
    y = torch.arange(100)
    train, val = make_loaders(X, y, batch_size=16, val_fraction=0.25, seed=0)
    assert len(train.dataset) == 75 and len(val.dataset) == 25
    assert sorted(_indices(train).tolist() + _indices(val).tolist()) == list(range(100))
    for xb, yb in train:  # pairs stay aligned
        assert torch.equal(xb[:, 0, 0].long(), yb)


def test_time_ordered_split_never_validates_on_the_past():
    X = torch.arange(50, dtype=torch.float32).reshape(50, 1, 1)
    train, val = make_loaders(X, torch.arange(50), batch_size=8, val_fraction=0.3, seed=1,
                              time_ordered=True)
    seen_train = torch.cat([yb for _, yb in train])
    seen_val = torch.cat([yb for _, yb in val])
    assert seen_val.min() > seen_train.max()
    assert torch.equal(seen_val, torch.arange(35, 50))  # validation in time order


def test_make_loaders_is_reproducible_and_independent_of_global_rng():
    task = adding_problem(64, 4)

    def batches(seed, global_seed):
        torch.manual_seed(global_seed)
        train, _ = make_loaders(task.X, task.y, batch_size=8, val_fraction=0.25, seed=seed)
        return [[yb for _, yb in train] for _ in range(2)]  # two epochs

    a, b, c = batches(0, 0), batches(0, 123), batches(1, 0)
    assert all(torch.equal(u, v) for ea, eb in zip(a, b) for u, v in zip(ea, eb))
    assert not all(torch.equal(u, v) for u, v in zip(a[0], c[0]))
    assert not all(torch.equal(u, v) for u, v in zip(a[0], a[1]))  # reshuffled every epoch


def test_make_loaders_without_shuffle_and_val_order():
    X = torch.arange(20, dtype=torch.float32).reshape(20, 1, 1)
    train, val = make_loaders(X, torch.arange(20), batch_size=4, val_fraction=0.5, seed=2, shuffle=False)
    assert torch.equal(torch.cat([yb for _, yb in train]), _indices(train))
    assert torch.equal(torch.cat([yb for _, yb in val]), _indices(val))
    assert train.num_workers == 0 and val.num_workers == 0


@pytest.mark.parametrize("kwargs, arg", [
    ({"val_fraction": 0.0}, "val_fraction"), ({"val_fraction": 1.0}, "val_fraction"),
    ({"batch_size": 0}, "batch_size"), ({"seed": -1}, "seed"),
])
def test_make_loaders_validates_arguments(kwargs, arg):
    task = adding_problem(20, 4)
    with pytest.raises(ValueError, match=arg):
        make_loaders(task.X, task.y, **{"batch_size": 4, "val_fraction": 0.2, "seed": 0, **kwargs})


def test_make_loaders_validates_shapes():
    with pytest.raises(ValueError, match=r"X must be a tensor of shape \(N, T, F\)"):
        make_loaders(torch.zeros(10, 3), torch.zeros(10), 2, 0.2, 0)
    with pytest.raises(ValueError, match="len\\(y\\) == len\\(X\\)"):
        make_loaders(torch.zeros(10, 3, 1), torch.zeros(9), 2, 0.2, 0)


# ---------------------------------------------------------------- real data
def test_digit_sequences():
    task = load_digit_sequences()
    assert tuple(task.X.shape) == (1797, 8, 8) and task.X.dtype == torch.float32
    assert task.y.dtype == torch.int64 and set(task.y.tolist()) == set(range(10))
    pixels = task.X * 16
    assert torch.equal(pixels, pixels.round()) and pixels.min() == 0 and pixels.max() == 16
    counts = np.bincount(task.y.numpy()) / 1797
    assert task.baseline_loss == pytest.approx(-(counts * np.log(counts)).sum())


def _read_csv():
    path = Path(__import__("dsat_tutorial").__file__).parent / "data" / "datasets" / "sp500_monthly.csv"
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if not r[0].startswith("#")][1:]
    return [r[0] for r in rows], np.array([float(r[1]) for r in rows])


@pytest.mark.parametrize("target", ["log_price", "log_return"])
def test_sp500_no_leakage_and_training_scaler(target):
    T, frac = 6, 0.25
    split = load_sp500(T, frac, target)
    assert isinstance(split, SeriesSplit)
    dates, close = _read_csv()
    v = np.log(close) if target == "log_price" else np.diff(np.log(close))
    dates = dates if target == "log_price" else dates[1:]
    n_tr, n_val = len(split.train.y), len(split.val.y)
    assert n_tr + n_val == len(v) - T and n_val == round(frac * (len(v) - T))
    # every validation target is later than everything the training windows touch
    assert min(split.val_dates) > max(split.train_dates)
    assert split.train_dates[-1] == dates[n_tr + T - 1] and split.val_dates[0] == dates[n_tr + T]
    # the scaler uses exactly the values of the training windows (inputs and targets)
    used = v[: n_tr + T]
    assert split.mean == pytest.approx(used.mean()) and split.std == pytest.approx(used.std())
    z = (v - used.mean()) / used.std()
    for i in (0, n_tr - 1):
        np.testing.assert_allclose(split.train.X[i, :, 0].numpy(), z[i: i + T], atol=1e-5)
        assert split.train.y[i, 0].item() == pytest.approx(z[i + T], abs=1e-5)
    np.testing.assert_allclose(split.val.y[:, 0].numpy(), z[n_tr + T:], atol=1e-5)
    np.testing.assert_allclose(split.inverse_transform(split.val.y)[:, 0].numpy(), v[n_tr + T:], atol=1e-5)
    # baselines: the training mean scored on validation; the naive "last value" forecast
    y_val = z[n_tr + T:]
    assert split.val.baseline_loss == pytest.approx(np.mean((y_val - z[T: n_tr + T].mean()) ** 2), rel=1e-5)
    assert split.persistence_loss == pytest.approx(np.mean((y_val - z[n_tr + T - 1: -1]) ** 2), rel=1e-5)


def test_sp500_returns_have_almost_no_linear_signal():
    # the docstring's claim: an AR(12) fitted on the training block scores about 1.0 x the baseline
    split = load_sp500(12, 0.2, "log_return")
    A = np.c_[split.train.X[..., 0].double().numpy(), np.ones(len(split.train.X))]
    w = np.linalg.lstsq(A, split.train.y[:, 0].double().numpy(), rcond=None)[0]
    B = np.c_[split.val.X[..., 0].double().numpy(), np.ones(len(split.val.X))]
    mse = np.mean((B @ w - split.val.y[:, 0].double().numpy()) ** 2)
    assert 0.9 < mse / split.val.baseline_loss < 1.2


def test_sp500_loaders_and_validation():
    split = load_sp500()
    train, val = split.loaders(batch_size=50, seed=0)
    assert torch.equal(torch.cat([yb for _, yb in val]), split.val.y)
    a = [yb for _, yb in split.loaders(batch_size=50, seed=0)[0]]
    assert all(torch.equal(u, v) for u, v in zip(a, [yb for _, yb in train]))
    with pytest.raises(ValueError, match="target"):
        load_sp500(target="price")
    with pytest.raises(ValueError, match="seq_len"):
        load_sp500(seq_len=400)
