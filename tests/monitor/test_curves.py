"""Tests for dsat_tutorial.monitor.curves: the gap and trend against hand computations, and
label_run on hand-made curves whose label is fixed by their shape (one per rule, plus the order)."""

import math

import numpy as np
import pytest

from dsat_tutorial.monitor import Health, generalisation_gap, label_run, relative_change


def test_gap_is_val_minus_train():
    rng = np.random.default_rng(0)
    tr, va = rng.uniform(0, 2, 10), rng.uniform(0, 2, 10)
    assert np.allclose(generalisation_gap(tr.tolist(), va.tolist()), va - tr)


def test_relative_change():
    assert relative_change([1.0, 5.0, 2.0, 1.5], window=2) == pytest.approx(0.7)
    assert relative_change([1.0, 2.0], window=1) == pytest.approx(-1.0)
    assert math.isnan(relative_change([1.0, float("nan")], window=1))


B = 1.0
falling = [1.0, 0.6, 0.4, 0.3, 0.22, 0.16]


def test_healthy_still_falling():
    assert label_run(falling, [x + 0.05 for x in falling], B) is Health.HEALTHY


def test_overfitting_needs_val_rise_train_fall_and_positive_gap():
    val = [1.0, 0.6, 0.5, 0.55, 0.6, 0.7]          # 40 % above its minimum at the end
    assert label_run(falling, val, B) is Health.OVERFITTING
    assert label_run(falling, val, B, rise=0.5) is not Health.OVERFITTING  # GL below 50 %
    flat_train = [1.0, 0.6, 0.4, 0.4, 0.4, 0.4]
    assert label_run(flat_train, val, B) is not Health.OVERFITTING        # train no longer falling
    low_val = [0.1, 0.05, 0.04, 0.05, 0.06, 0.07]                          # val below train: gap < 0
    assert label_run(falling, low_val, B) is not Health.OVERFITTING


def test_underfitting_above_half_the_baseline():
    tr = [1.0, 0.9, 0.8, 0.7, 0.6, 0.55]
    assert label_run(tr, tr, B) is Health.UNDERFITTING
    assert label_run(tr, tr, B, underfit=0.6) is Health.HEALTHY


def test_plateau_when_neither_improves_by_flat():
    tr = [1.0, 0.5, 0.3, 0.3, 0.299, 0.298]
    assert label_run(tr, [x + 0.01 for x in tr], B) is Health.PLATEAU
    assert label_run(tr, [x + 0.01 for x in tr], B, flat=0.001) is Health.HEALTHY


def test_diverging():
    assert label_run([1.0, 0.5, float("nan")], [1.0, 0.5, 0.5], B, window=1) is Health.DIVERGING
    assert label_run([1.0, 0.4, 1.2], [1.0, 0.4, 1.2], B, window=1) is Health.DIVERGING     # > b and > 2 best
    assert label_run([50.0, 30.0, 20.0], [50.0, 30.0, 20.0], B, window=1) is Health.DIVERGING  # > 10 b
    # above the baseline but neither twice its best nor 10 b: a stalled run, not a diverged one
    assert label_run([1.2, 1.1, 1.15], [1.2, 1.1, 1.15], B, window=1) is Health.UNDERFITTING


def test_rule_order_diverging_before_overfitting():
    tr = [1.0, 0.3, 0.2, 0.1, 5.0]
    assert label_run(tr, [1.0, 0.3, 0.3, 0.5, 6.0], B, window=1) is Health.DIVERGING


@pytest.mark.parametrize("kwargs", [
    dict(train_losses=[1, 2], val_losses=[1], baseline=1.0),
    dict(train_losses=[], val_losses=[], baseline=1.0),
    dict(train_losses=[1, 2, 3], val_losses=[1, 2, 3], baseline=0.0),
    dict(train_losses=[1, 2, 3], val_losses=[1, 2, 3], baseline=1.0, window=3),
    dict(train_losses=[1, 2, 3], val_losses=[1, 2, 3], baseline=1.0, window=1, underfit=0.0),
    dict(train_losses=[1, 2, 3], val_losses=[1, 2, 3], baseline=1.0, window=1, blowup=1.0),
    dict(train_losses="abc", val_losses="abc", baseline=1.0),
])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        label_run(**kwargs)
