"""LossAdaptiveLR, BoldDriver and PlateauLR: each rule against an independent reference -- a NumPy
re-derivation of the loss-ratio rule, hand-computed bold-driver sequences, and PyTorch's own
ReduceLROnPlateau (its golden test cases and random metric sequences) -- plus property tests over
arbitrary signal sequences (NaN and inf included).
"""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.optim.lr_scheduler import ReduceLROnPlateau

from dsat_tutorial.controllers import BoldDriver, LossAdaptiveLR, NonFiniteSignalWarning, PlateauLR
from dsat_tutorial.schedules import CosineDecay, Warmup


def make_opt(*lrs):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups)


def feed(opt, sched, signals):
    """Post-update order (optimizer.step(), then scheduler.step(signal)); the lrs after each signal."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteSignalWarning)
        for s in signals:
            opt.step()
            sched.step(s)
            out.append(sched.get_last_lr())
    return out


# ---------------------------------------------------------------- LossAdaptiveLR

def loss_ratio_reference(losses, base, smoothing=0.0, floor=1e-3, min_loss=None):
    """The rule of issue 4 written with NumPy array operations (EMA loop, cumulative minimum)."""
    x = np.maximum(np.asarray(losses, dtype=np.float64), 0.0)
    avg = np.empty_like(x)
    avg[0] = x[0]
    for k in range(1, len(x)):
        avg[k] = smoothing * avg[k - 1] + (1 - smoothing) * x[k]
    if min_loss is None:
        positive = np.flatnonzero(avg > 0)
        ref = np.zeros_like(avg)
        if positive.size:
            ref[positive[0]:] = avg[positive[0]]
        m = np.maximum(np.minimum.accumulate(avg), floor * ref)
    else:
        m = np.full_like(avg, min_loss)
    with np.errstate(invalid="ignore", divide="ignore"):
        lr = base / (1 + avg / m)
    return np.where(avg == 0, base, lr)


@pytest.mark.parametrize("smoothing", [0.0, 0.5, 0.9])
def test_loss_adaptive_tracks_min_loss(rng, smoothing):
    losses = np.abs(rng.normal(1.0, 0.5, 200)) * np.exp(-np.arange(200) / 50)
    losses[[10, 11, 50]] = 0.0       # zero losses must not freeze training
    losses[[20, 60]] = -0.3          # a negative loss counts as 0
    opt = make_opt(0.1)
    got = [lr[0] for lr in feed(opt, LossAdaptiveLR(opt, smoothing=smoothing), losses.tolist())]
    np.testing.assert_allclose(got, loss_ratio_reference(losses, 0.1, smoothing), rtol=1e-12, atol=0)
    assert all(0 < lr <= 0.1 for lr in got)


def test_loss_adaptive_with_fixed_min_loss(rng):
    losses = rng.uniform(0, 5, 50)
    opt = make_opt(0.2)
    got = [lr[0] for lr in feed(opt, LossAdaptiveLR(opt, min_loss=0.25, smoothing=0.3), losses.tolist())]
    np.testing.assert_allclose(got, loss_ratio_reference(losses, 0.2, 0.3, min_loss=0.25), rtol=1e-12)


def test_loss_adaptive_zero_losses_stay_finite():
    opt = make_opt(0.1)
    sched = LossAdaptiveLR(opt)
    assert feed(opt, sched, [0.0, 0.0, -1.0]) == [[0.1]] * 3          # 0/0: the base rate
    lrs = [lr[0] for lr in feed(opt, sched, [2.0, 0.0, 1.0, 0.0])]       # first positive loss after zeros
    assert all(math.isfinite(lr) and 0 < lr <= 0.1 for lr in lrs)
    assert lrs == pytest.approx([0.1 / (1 + 2.0 / 0.002), 0.1, 0.1 / (1 + 1.0 / 0.002), 0.1], rel=1e-12)


def test_loss_adaptive_source_min_loss_zero_would_freeze():
    """003-E3: with min_loss tracked as a plain running minimum a single zero loss gives 0 or 0/0;
    the floor keeps the rate positive and finite."""
    opt = make_opt(0.1)
    lrs = [lr[0] for lr in feed(opt, LossAdaptiveLR(opt, floor=0.01), [1.0, 0.0, 0.5])]
    assert lrs[-1] == pytest.approx(0.1 / (1 + 0.5 / 0.01), rel=1e-12) and lrs[-1] > 0


@pytest.mark.parametrize("smoothing", [0.0, 0.7])
def test_loss_adaptive_is_scale_invariant(rng, smoothing):
    losses = rng.lognormal(0.0, 1.0, 100) / np.arange(1, 101)
    runs = []
    for factor in (1.0, 100.0):
        opt = make_opt(0.1)
        sched = LossAdaptiveLR(opt, smoothing=smoothing)
        runs.append([lr[0] for lr in feed(opt, sched, (losses * factor).tolist())])
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12)
    # the source's hard-coded min_loss = 1 (003-E4) is not: the same losses x100 change the rate
    assert 0.1 / (1 + losses[-1]) != pytest.approx(0.1 / (1 + 100 * losses[-1]), rel=0.01)


def test_loss_adaptive_with_schedule_ticks_only_on_step():
    schedule = Warmup(CosineDecay(0.1, total_steps=20), warmup_steps=3)
    opt = make_opt(0.1, 0.3)
    sched = LossAdaptiveLR(opt, schedule=schedule)
    losses, t = iter([3.0, 1.0, 2.0, 0.5, 4.0]), 0
    factor = 1.0
    for k in range(25):
        opt.step()
        sched.step()
        t += 1
        if k % 5 == 4:            # once per "epoch": report a loss, the clock stays
            loss = next(losses)
            sched.step(loss)
            seen = [3.0, 1.0, 2.0, 0.5, 4.0][: k // 5 + 1]
            factor = 1 / (1 + loss / max(min(seen), 1e-3 * 3.0))
        assert sched.t == t
        expected = [schedule(t) * factor, 3 * schedule(t) * factor]
        assert sched.get_last_lr() == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- BoldDriver

def test_bold_driver_hand_computed():
    opt = make_opt(0.1, 0.2)
    sched = BoldDriver(opt, increase=1.1, decrease=0.5)
    lrs, flags = [], []
    for loss in (1.0, 0.8, 0.9, 0.85, 0.7, 0.7):
        opt.step()
        sched.step(loss)
        lrs.append(sched.get_last_lr()[0])
        flags.append(sched.improved)
    # 0.85 < 0.9 but not below the last accepted loss 0.8: after a rollback the weights are those of 0.8
    assert flags == [True, True, False, False, True, False]
    assert lrs == pytest.approx([0.1, 0.11, 0.055, 0.0275, 0.03025, 0.015125], rel=1e-14)
    assert sched.get_last_lr()[1] == pytest.approx(2 * 0.015125, rel=1e-14)


def test_bold_driver_bounds_per_group():
    opt = make_opt(0.1, 0.2)
    sched = BoldDriver(opt, increase=2.0, decrease=0.1, min_lr=[0.05, 0.01], max_lr=[0.3, 1.0])
    lrs = feed(opt, sched, [5.0, 4.0, 3.0, 2.0, 3.0, 3.0, 3.0])
    assert lrs[3] == pytest.approx([0.3, 1.0])            # 0.1 * 8 capped at 0.3; 0.2 * 8 capped at 1.0
    assert lrs[-1] == pytest.approx([0.05, 0.01])         # three rejections: floored


def test_bold_driver_with_rollback_tames_a_too_large_rate():
    """f(x) = x^2 at lr 1.5 diverges (x <- -2x); bold driver + rollback on `improved` converges."""
    x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=1.5)
    sched = BoldDriver(opt, increase=1.1, decrease=0.5)
    saved = x.detach().clone()
    for _ in range(60):
        opt.zero_grad()
        (x ** 2).sum().backward()
        opt.step()
        sched.step((x ** 2).sum())     # a tensor that requires grad is fine as a signal
        if sched.improved:
            saved = x.detach().clone()
        else:
            with torch.no_grad():
                x.copy_(saved)     # Battiti's undo
    assert float(saved.abs()) < 1e-6


# ---------------------------------------------------------------- PlateauLR vs ReduceLROnPlateau

# PyTorch's own golden cases (test/optim/test_lrscheduler.py, test_reduce_lr_on_plateau1..8): two groups
# at lr 0.5, the lr of each group after epoch e, and the scheduler arguments.
GOLDEN = [
    (10, [[0.5] * 20], [10 - i * 0.0167 for i in range(20)],
     dict(threshold_mode="abs", mode="min", threshold=0.01, patience=5, cooldown=5)),
    (22, [[0.5] * 6 + [0.05] * 7 + [0.005] * 7 + [0.0005] * 2], [10 - i * 0.0165 for i in range(22)],
     dict(patience=5, cooldown=0, threshold_mode="abs", mode="min", threshold=0.1)),
    (22, [[0.5] * (2 + 6) + [0.05] * (5 + 6) + [0.005] * 4], [-0.8] * 2 + [-0.234] * 20,
     dict(mode="max", patience=5, cooldown=5, threshold_mode="abs")),
    (20, [[0.5] * 20], [1.5 * (1.025 ** i) for i in range(20)],
     dict(mode="max", patience=3, threshold_mode="rel", threshold=0.1)),
    (20, [[0.5] * 6 + [0.05] * (5 + 6) + [0.005] * 4], [1.5 * (1.005 ** i) for i in range(20)],
     dict(mode="max", threshold_mode="rel", threshold=0.1, patience=5, cooldown=5)),
    (20, [[0.5] * 20], [1.5 * (0.85 ** i) for i in range(20)],
     dict(mode="min", threshold_mode="rel", threshold=0.1)),
    (20, [[0.5] * 6 + [0.05] * (5 + 6) + [0.005] * 4], [1] * 7 + [0.6] + [0.5] * 12,
     dict(mode="min", threshold_mode="rel", threshold=0.1, patience=5, cooldown=5)),
    (20, [[0.5] * 6 + [0.4] * 14, [0.5] * 6 + [0.3] * 14], [1.5 * (1.005 ** i) for i in range(20)],
     dict(mode="max", threshold_mode="rel", min_lr=[0.4, 0.3], threshold=0.1, patience=5, cooldown=5)),
]


def drive_both(metrics, kwargs, lrs=(0.5, 0.5)):
    """Our PlateauLR and PyTorch's ReduceLROnPlateau on separate optimizers, stepped identically."""
    opt_a, opt_b = make_opt(*lrs), make_opt(*lrs)
    ours, theirs = PlateauLR(opt_a, **kwargs), ReduceLROnPlateau(opt_b, **kwargs)
    a, b = [], []
    for m in metrics:
        opt_a.step(); opt_b.step()
        ours.step(m); theirs.step(m)
        a.append([g["lr"] for g in opt_a.param_groups])
        b.append([g["lr"] for g in opt_b.param_groups])
    return a, b


@pytest.mark.parametrize("epochs,targets,metrics,kwargs", GOLDEN, ids=[f"golden{i + 1}" for i in range(8)])
def test_plateau_golden_cases(epochs, targets, metrics, kwargs):
    ours, theirs = drive_both(metrics[:epochs], kwargs)
    assert ours == theirs
    for group, target in enumerate(targets):
        assert [lrs[group] for lrs in ours] == pytest.approx(target[:epochs], rel=1e-12)


def _metric_sequences(seed):
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 1, 120))                        # random walk
    noisy = np.exp(-np.arange(120) / 30) + rng.normal(0, 0.05, 120)  # decaying, noisy
    plateaus = np.repeat(rng.uniform(0, 1, 12).round(1), 10)        # exact ties
    return [walk, noisy, plateaus, -noisy]


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("cooldown", [0, 5])
@pytest.mark.parametrize("patience", [3, 5])
def test_plateau_grid_matches_reduce_lr_on_plateau(mode, threshold_mode, cooldown, patience):
    kwargs = dict(mode=mode, threshold_mode=threshold_mode, cooldown=cooldown, patience=patience,
                  factor=0.5, threshold=0.01, min_lr=[1e-3, 0.0])
    for metrics in _metric_sequences(seed=patience * 10 + cooldown):
        ours, theirs = drive_both(metrics.tolist(), kwargs, lrs=(0.5, 0.2))
        assert ours == theirs


@given(metrics=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60),
       mode=st.sampled_from(["min", "max"]), threshold_mode=st.sampled_from(["rel", "abs"]),
       patience=st.integers(0, 4), cooldown=st.integers(0, 3), factor=st.floats(0.05, 0.95))
def test_plateau_random_sequences_match_reduce_lr_on_plateau(metrics, mode, threshold_mode, patience,
                                                             cooldown, factor):
    kwargs = dict(mode=mode, threshold_mode=threshold_mode, patience=patience, cooldown=cooldown,
                  factor=factor, min_lr=[0.01, 0.0], eps=1e-8)
    ours, theirs = drive_both(metrics, kwargs, lrs=(0.5, 0.1))
    assert ours == theirs


def test_plateau_with_warmup_cosine_is_schedule_times_scale():
    """lr = schedule(t) * scale at every step; the scale comes from a ReduceLROnPlateau on a dummy
    optimizer at lr 1 (with min_lr = min_scale), driven by the same metrics."""
    schedule = Warmup(CosineDecay(0.1, total_steps=180, end_lr=0.001), warmup_steps=20)
    min_scale = 0.02
    opt = make_opt(0.1, 0.3)
    sched = PlateauLR(opt, schedule, factor=0.3, patience=2, cooldown=1, min_scale=min_scale)
    dummy = make_opt(1.0)
    scale_ref = ReduceLROnPlateau(dummy, factor=0.3, patience=2, cooldown=1, min_lr=min_scale)
    metrics = iter(np.concatenate([np.linspace(1, 0.5, 5), np.full(15, 0.5)]).tolist())
    scales = []
    for t in range(1, 201):
        opt.step()
        sched.step()
        if t % 10 == 0:          # once per 10-step epoch
            m = next(metrics)
            sched.step(m)
            dummy.step()
            scale_ref.step(m)
        scale = dummy.param_groups[0]["lr"]
        scales.append(scale)
        assert sched.t == t
        assert sched.scale == scale
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(
            [schedule(t) * scale, 3 * schedule(t) * scale], rel=1e-14, abs=0)
    assert min(scales) == min_scale and sched.num_reductions >= 3    # reductions happened, floored


def test_plateau_with_schedule_min_lr_bounds_only_the_reductions():
    schedule = Warmup(CosineDecay(0.1, total_steps=50), warmup_steps=5, start_lr=0.0)
    opt = make_opt(0.1)
    sched = PlateauLR(opt, schedule, factor=0.1, patience=0, min_lr=0.02)
    assert sched.get_last_lr() == [0.0]           # the warm-up starts below min_lr: untouched
    opt.step()
    for metric in (1.0, 1.0, 1.0):                 # two decisions: scale 0.01
        sched.step(metric)
    assert sched.scale == pytest.approx(0.01)
    lrs = []
    for t in range(1, 50):
        opt.step()
        sched.step()
        s = schedule(t)
        lrs.append(sched.get_last_lr()[0])
        assert lrs[-1] == max(s * sched.scale, min(s, 0.02))


# ---------------------------------------------------------------- properties over arbitrary signals

SIGNALS = st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                             st.sampled_from([math.nan, math.inf, -math.inf, 0.0])), max_size=40)


@given(signals=SIGNALS, smoothing=st.sampled_from([0.0, 0.5, 0.99]))
def test_loss_adaptive_lr_finite_and_in_range(signals, smoothing):
    opt = make_opt(0.1, 0.4)
    sched = LossAdaptiveLR(opt, smoothing=smoothing)
    for lr0, lr1 in feed(opt, sched, signals):
        assert math.isfinite(lr0) and 0.0 <= lr0 <= 0.1
        assert lr1 == pytest.approx(4 * lr0, rel=1e-15, abs=0)
    assert sched.nonfinite_signals == sum(not math.isfinite(s) for s in signals)


@given(signals=st.lists(st.one_of(st.just(0.0), st.floats(1e-100, 1e100), st.floats(-1e3, 0.0),
                                  st.sampled_from([math.nan, math.inf])), max_size=40))
def test_loss_adaptive_lr_strictly_positive_for_representable_ratios(signals):
    opt = make_opt(0.1)
    for (lr,) in feed(opt, LossAdaptiveLR(opt), signals):
        assert 0.0 < lr <= 0.1


@given(signals=SIGNALS)
def test_bold_driver_lr_finite_and_within_bounds(signals):
    opt = make_opt(0.1, 0.2)
    sched = BoldDriver(opt, increase=1.5, decrease=0.5, min_lr=[0.001, 0.0])
    for lr0, lr1 in feed(opt, sched, signals):
        assert math.isfinite(lr0) and math.isfinite(lr1)
        assert 0.001 <= lr0 and 0.0 <= lr1


@given(signals=SIGNALS)
def test_bold_driver_lr_stays_within_finite_per_group_bounds(signals):
    """Both documented bounds, upper included: [min_lr, max_lr] per group, whatever the signals."""
    opt = make_opt(0.1, 0.2)
    sched = BoldDriver(opt, increase=1.5, decrease=0.5, min_lr=[0.001, 0.0], max_lr=[0.3, 0.25])
    for lr0, lr1 in feed(opt, sched, signals):
        assert 0.001 <= lr0 <= 0.3 and 0.0 <= lr1 <= 0.25
    fresh = make_opt(0.1, 0.2)
    improving = feed(fresh, BoldDriver(fresh, increase=1.5, max_lr=[0.3, 0.25]), [10.0 - k for k in range(8)])
    assert improving[-1] == [0.3, 0.25]  # the caps are reached, not just respected


@given(signals=SIGNALS, use_schedule=st.booleans())
def test_plateau_lr_finite_and_within_bounds(signals, use_schedule):
    schedule = Warmup(CosineDecay(0.1, total_steps=30), warmup_steps=3) if use_schedule else None
    opt = make_opt(0.1, 0.2)
    sched = PlateauLR(opt, schedule, factor=0.5, patience=0, min_lr=[0.01, 0.0], min_scale=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteSignalWarning)
        for s in signals:
            opt.step()
            sched.step()      # a tick (no-op for the clock-less case) ...
            sched.step(s)     # ... and a metric
            lrs = sched.get_last_lr()
            for lr, lo, ratio in zip(lrs, (0.01, 0.0), (1.0, 2.0)):
                top = schedule(sched.t) * ratio if use_schedule else 0.1 * ratio
                assert math.isfinite(lr) and lr <= top * (1 + 1e-15)
                assert lr >= min(top, lo) and lr >= top * 0.1 * (1 - 1e-15)
