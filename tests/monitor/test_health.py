"""Tests for dsat_tutorial.monitor: HealthMonitor on synthetic learning curves whose verdicts are
known from their shape (where the minimum is, how long the loss stays flat), with and without noise."""

import io
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dsat_tutorial.monitor import Health, HealthMonitor

H, U, O, P, D = Health.HEALTHY, Health.UNDERFITTING, Health.OVERFITTING, Health.PLATEAU, Health.DIVERGING


def run(monitor, train, val=None):
    val = [None] * len(train) if val is None else val
    return [monitor.update(t, v) for t, v in zip(train, val)]


def decay(n, start=2.0, rate=0.15, floor=0.05):
    return floor + (start - floor) * np.exp(-rate * np.arange(n))


# ---------------------------------------------------------------- HEALTHY


def test_clean_decreasing_curves_are_healthy():
    train = decay(40)
    verdicts = run(HealthMonitor(patience=5), train, 1.1 * train + 0.02)
    assert verdicts == [H] * 40


def test_single_spike_does_not_flip_a_healthy_verdict():
    train, val = decay(30), decay(30) + 0.1
    train[12] *= 4.0  # one bad epoch, below divergence_factor x best
    val[12] *= 4.0
    monitor = HealthMonitor(patience=3)
    assert run(monitor, train, val) == [H] * 30
    assert monitor.train_bad_epochs == 0


def test_noisy_decreasing_curve_stays_healthy(rng):
    # 5% multiplicative noise: individual epochs go up, never `patience` epochs in a row without a new best
    n = 60
    train = decay(n, rate=0.08) * np.exp(rng.normal(0.0, 0.05, n))
    val = (decay(n, rate=0.08) + 0.05) * np.exp(rng.normal(0.0, 0.05, n))
    assert any(np.diff(train) > 0) and any(np.diff(val) > 0)  # the noise really does go up sometimes
    assert run(HealthMonitor(patience=5), train, val) == [H] * n


# ---------------------------------------------------------------- OVERFITTING


def test_overfitting_starts_exactly_patience_epochs_after_the_validation_minimum():
    n, turn, patience = 40, 15, 4
    train = decay(n)
    e = np.arange(n)
    val = 0.5 + 0.002 * (e - turn) ** 2  # minimum at epoch index `turn`
    verdicts = run(HealthMonitor(patience=patience), train, val)
    first = turn + patience  # index of the first epoch with b_va == patience
    assert verdicts[:first] == [H] * first
    assert verdicts[first:] == [O] * (n - first)


def test_noisy_overfitting_is_not_flipped_by_single_epochs(rng):
    n, turn, patience = 50, 15, 5
    e = np.arange(n)
    train = decay(n, rate=0.1) * np.exp(rng.normal(0.0, 0.02, n))
    train[30] = train[29] * 1.5  # one bad train epoch inside the overfitting phase
    val = (0.5 + 0.003 * (e - turn) ** 2) * np.exp(rng.normal(0.0, 0.01, n))
    val[35] = val[34] * 0.8  # one lucky validation epoch that still does not beat the best
    assert val[35] > val[:turn + 1].min()
    monitor = HealthMonitor(patience=patience)
    verdicts = run(monitor, train, val)
    best_val_epoch = int(np.argmin(val))
    assert best_val_epoch in range(turn - 2, turn + 3)
    assert verdicts[best_val_epoch + patience:] == [O] * (n - best_val_epoch - patience)
    assert "validation loss has not improved" in monitor.reason and f"epoch {n}" in monitor.reason


def test_gap_is_validation_minus_train():
    monitor = HealthMonitor()
    assert math.isnan(monitor.gap)
    monitor.update(0.25, 0.75)
    assert monitor.gap == 0.5
    monitor.update(0.2)
    assert math.isnan(monitor.gap)  # no validation loss this epoch


# ---------------------------------------------------------------- UNDERFITTING


def test_underfitting_against_a_baseline():
    # loss creeps from 0.99 to 0.95 of the baseline: improving, but no better than a trivial predictor
    baseline, patience = 2.0, 4
    train = baseline * np.linspace(0.99, 0.95, 20)
    verdicts = run(HealthMonitor(patience=patience, baseline=baseline), train, train + 0.01)
    assert verdicts == [H] * (patience - 1) + [U] * (20 - patience + 1)
    # the same curve well below 0.9 x baseline is healthy
    good = run(HealthMonitor(patience=patience, baseline=baseline), 0.5 * train, 0.5 * train + 0.01)
    assert good == [H] * 20


def test_underfitting_ends_once_the_best_train_loss_beats_the_ratio():
    monitor = HealthMonitor(patience=2, baseline=1.0, underfit_ratio=0.9)
    verdicts = run(monitor, [0.99, 0.97, 0.95, 0.85, 0.95, 0.84])
    # epoch 5 (0.95) is one noisy epoch back above 0.9: the best (0.85) keeps it from flipping back
    assert verdicts == [H, U, U, H, H, H]


def test_overfitting_takes_precedence_over_underfitting():
    monitor = HealthMonitor(patience=2, baseline=1.0)
    verdicts = run(monitor, [0.99, 0.98, 0.97, 0.96], [1.0, 1.1, 1.2, 1.3])
    assert verdicts == [H, U, O, O]


# ---------------------------------------------------------------- PLATEAU


def test_plateau_then_recovery_after_a_drop():
    # the decay ends at 0.74 (index 9), the flat part at 0.3 improves once (index 10) and then never:
    # b_tr = k at index 10 + k, so the first PLATEAU is at index 10 + patience
    patience = 5
    train = np.concatenate([decay(10, floor=0.3), np.full(12, 0.3), [0.2, 0.15]])
    assert train[9] > 0.7
    verdicts = run(HealthMonitor(patience=patience), train)
    assert verdicts == [H] * (10 + patience) + [P] * (12 - patience) + [H, H]


def test_noisy_plateau_with_validation(rng):
    n, patience, level = 30, 5, 0.4
    # noise of +-0.02% is below min_delta = 0.1%: no epoch counts as an improvement after the first
    train = level * (1 + rng.uniform(-2e-4, 2e-4, n))
    val = (level + 0.1) * (1 + rng.uniform(-2e-4, 2e-4, n))
    train[10] *= 1.5  # and one noisy spike
    verdicts = run(HealthMonitor(patience=patience, min_delta=1e-3), train, val)
    assert verdicts == [H] * patience + [P] * (n - patience)


def test_plateau_needs_both_losses_flat():
    # train flat, validation still improving: healthy (not a plateau, not overfitting)
    monitor = HealthMonitor(patience=3)
    verdicts = run(monitor, [1.0] * 8, list(np.linspace(1.0, 0.5, 8)))
    assert verdicts == [H] * 8


# ---------------------------------------------------------------- DIVERGING


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_train_loss_diverges_and_does_not_become_the_best(bad):
    monitor = HealthMonitor(patience=3)
    assert monitor.update(bad) == D  # even on the first epoch
    assert run(monitor, [1.0, 0.9]) == [H, H]
    assert monitor.update(bad, 0.5) == D
    assert monitor.best_train == 0.9 and monitor.train_bad_epochs == 1
    assert "train loss is" in monitor.reason


def test_divergence_factor_on_positive_losses():
    monitor = HealthMonitor(divergence_factor=10.0)
    assert run(monitor, [1.0, 0.5, 4.9, 5.0, 5.1]) == [H, H, H, H, D]  # 10 x best 0.5 = 5.0
    assert "exceeds the best train loss 0.5" in monitor.reason


def test_infinite_divergence_factor_disables_the_ratio_test():
    monitor = HealthMonitor(divergence_factor=math.inf)
    assert run(monitor, [1.0, 1e300]) == [H, H]
    assert monitor.update(math.nan) == D


# ---------------------------------------------------------------- negative losses


def test_negative_losses():
    # e.g. a Gaussian negative log-likelihood: the same rules in terms of |best|
    monitor = HealthMonitor(patience=3, min_delta=1e-3, divergence_factor=10.0)
    improving = list(-1.0 - 0.5 * np.arange(6))  # -1 ... -3.5
    assert run(monitor, improving) == [H] * 6
    # -3.5 - 0.001 * 3.5 = -3.5035: -3.503 is not an improvement, -3.504 is
    assert run(monitor, [-3.503, -3.503, -3.504]) == [H, H, H]
    assert monitor.best_train == -3.504
    assert run(monitor, [-3.504, -3.5, -3.5]) == [H, H, P]
    # divergence: L - best > 9 |best| = 31.536  <=>  L > 28.032
    assert monitor.update(28.0) == P
    assert monitor.update(28.1) == D


# ---------------------------------------------------------------- state_dict


def test_state_dict_round_trip_continues_identically(rng):
    n = 40
    train = decay(n) * np.exp(rng.normal(0, 0.05, n))
    val = (0.5 + 0.003 * (np.arange(n) - 15) ** 2)
    monitor = HealthMonitor(patience=4, baseline=3.0)
    run(monitor, train[:20], val[:20])
    buffer = io.BytesIO()
    torch.save(monitor.state_dict(), buffer)
    buffer.seek(0)
    restored = HealthMonitor()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.state_dict() == monitor.state_dict()
    assert restored.state == monitor.state and restored.reason == monitor.reason
    rest_a = run(monitor, train[20:], val[20:])
    rest_b = run(restored, train[20:], val[20:])
    assert rest_a == rest_b and O in rest_a
    assert restored.state_dict() == monitor.state_dict()


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("kwargs, name", [
    ({"patience": 0}, "patience"), ({"patience": 2.0}, "patience"), ({"patience": True}, "patience"),
    ({"min_delta": -1e-3}, "min_delta"), ({"min_delta": math.nan}, "min_delta"),
    ({"divergence_factor": 1.0}, "divergence_factor"), ({"divergence_factor": 0.5}, "divergence_factor"),
    ({"divergence_factor": math.nan}, "divergence_factor"),
    ({"baseline": 0.0}, "baseline"), ({"baseline": -1.0}, "baseline"), ({"baseline": math.inf}, "baseline"),
    ({"underfit_ratio": 0.0}, "underfit_ratio"), ({"underfit_ratio": 1.01}, "underfit_ratio"),
])
def test_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        HealthMonitor(**kwargs)


def test_boundary_arguments_are_accepted():
    HealthMonitor(patience=1, min_delta=0.0, divergence_factor=1.0001, baseline=1e-9, underfit_ratio=1.0)


# ---------------------------------------------------------------- properties

losses = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-10, 10))


@given(seq=st.lists(st.tuples(losses, st.one_of(st.none(), losses)), min_size=1, max_size=25),
       patience=st.integers(1, 4), baseline=st.one_of(st.none(), st.floats(0.1, 10)))
def test_never_crashes_and_non_finite_train_loss_diverges(seq, patience, baseline):
    monitor = HealthMonitor(patience=patience, baseline=baseline)
    for epoch, (train, val) in enumerate(seq, start=1):
        verdict = monitor.update(train, val)
        assert isinstance(verdict, Health) and verdict is monitor.state
        assert monitor.reason.startswith(f"epoch {epoch}: ")
        if not math.isfinite(train):
            assert verdict is D
        assert monitor.train_bad_epochs <= epoch and monitor.val_bad_epochs <= epoch
    # the best is one of the finite losses, and none of them beats it by the min_delta margin
    finite = [t for t, _ in seq if math.isfinite(t)]
    best = monitor.best_train
    if finite:
        assert best in finite and min(finite) >= best - monitor.min_delta * abs(best)
    else:
        assert best == math.inf


# ---------------------------------------------------------------- issue 12, defect 2: non-finite validation loss

@pytest.mark.parametrize("history", [[], [(1.0, 1.0)], [(1.0, 1.0), (0.9, 0.95)]], ids=["first", "second", "third"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_a_non_finite_validation_loss_is_diverging_and_the_reason_names_it(history, bad):
    monitor = HealthMonitor(patience=3)
    for t, v in history:
        assert monitor.update(t, v) is Health.HEALTHY
    assert monitor.update(0.9, bad) is Health.DIVERGING
    assert "validation loss" in monitor.reason and str(bad) in monitor.reason
    assert "improved this epoch" not in monitor.reason


def test_a_non_finite_train_loss_reason_names_the_train_loss():
    monitor = HealthMonitor()
    monitor.update(1.0, 1.0)
    assert monitor.update(math.nan, 1.0) is Health.DIVERGING
    assert "train loss is nan" in monitor.reason
