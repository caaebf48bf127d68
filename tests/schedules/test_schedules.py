"""Tests for dsat_tutorial.schedules.

Every schedule is checked against (1) hand-computed values at step 0, at its boundaries and past its
end, (2) an independent computation of its formula over 1,200 steps (numpy closed forms written
differently, or plain loops), (3) PyTorch's own scheduler driven by ``optimizer.step();
scheduler.step()``, and (4) hypothesis properties. Then pickling, repr, statelessness, every
``ValueError`` and the source errors each schedule corrects (ERRATA ids in the test names).
"""

import dataclasses
import math
import pickle
import re

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import dsat_tutorial.schedules as schedules_module
from dsat_tutorial.schedules import (
    Constant,
    CosineDecay,
    CosineWarmRestarts,
    ExponentialDecay,
    Join,
    LinearDecay,
    OneCycle,
    PolynomialDecay,
    Sawtooth,
    StepDecay,
    Triangular,
    Warmup,
)

N = 1200  # steps compared against references: more than 1,000 and past every schedule's end
T = np.arange(N)


def values(schedule, n=N):
    return np.array([schedule(t) for t in range(n)])


# ---------------------------------------------------------------------------------------------------
# 1) hand-computed values at step 0, at every boundary and past the end
# ---------------------------------------------------------------------------------------------------

_J = Join([Constant(0.1), LinearDecay(0.1, 10), Constant(0.001)], boundaries=[5, 20])
EDGES = [
    (Constant(0.3), [(0, 0.3), (10**6, 0.3)]),
    (StepDecay(0.01, 0.1, 10), [(0, 1e-2), (9, 1e-2), (10, 1e-3), (19, 1e-3), (20, 1e-4), (99, 1e-11)]),
    (StepDecay(0.01, 0.1, 10, staircase=False), [(0, 1e-2), (5, 1e-2 / math.sqrt(10)), (10, 1e-3)]),
    (ExponentialDecay(0.1, 0.5, every=2), [(0, 0.1), (1, 0.1 / math.sqrt(2)), (2, 0.05), (1000, 0.1 / 2**500)]),
    (PolynomialDecay(0.1, 1000, power=0.9, end_lr=0.001),
     [(0, 0.1), (500, 0.099 * 0.5**0.9 + 0.001), (999, 0.099 * 0.001**0.9 + 0.001), (1000, 0.001),
      (1001, 0.001), (10**6, 0.001)]),
    (LinearDecay(0.01, 1000), [(0, 0.01), (250, 0.0075), (999, 1e-5), (1000, 0.0), (1500, 0.0)]),
    (LinearDecay(0.01, 1000, end_lr=0.002), [(0, 0.01), (500, 0.006), (1000, 0.002), (10**6, 0.002)]),
    (CosineDecay(0.1, 20, end_lr=0.001), [(0, 0.1), (10, 0.0505), (20, 0.001), (21, 0.001), (10**6, 0.001)]),
    # cycles of 10, 20, 40, 80 steps start at 0, 10, 30, 70, 150
    (CosineWarmRestarts(0.1, 10, period_mult=2),
     [(0, 0.1), (5, 0.05), (9, 0.05 * (1 + math.cos(0.9 * math.pi))), (10, 0.1), (20, 0.05), (30, 0.1),
      (69, 0.05 * (1 + math.cos(39 / 40 * math.pi))), (70, 0.1), (110, 0.05), (150, 0.1)]),
    (CosineWarmRestarts(0.1, 10, end_lr=0.02), [(0, 0.1), (5, 0.06), (10, 0.1), (10**6 + 5, 0.06)]),
    (Sawtooth(0.1, 4, end_lr=0.02), [(0, 0.1), (1, 0.08), (3, 0.04), (4, 0.1), (7, 0.04), (10**6, 0.1)]),
    (Triangular(0.001, 0.006, 4), [(0, 0.001), (2, 0.0035), (4, 0.006), (6, 0.0035), (8, 0.001),
                                   (12, 0.006), (10**6, 0.001), (10**6 + 4, 0.006)]),
    # max 1.0: initial 1/25 = 0.04, final 0.04/1e4; the warm-up ends at 0.3*100 - 1 = 29 (+ 4e-15)
    (OneCycle(1.0, 100), [(0, 0.04), (29, 1.0), (99, 4e-6), (100, 4e-6), (10**6, 4e-6)]),
    (OneCycle(1.0, 20, pct_start=0.1, div_factor=10.0, final_div_factor=100.0),  # warm-up of one step
     [(0, 0.1), (1, 1.0), (19, 1e-3), (20, 1e-3)]),
    (Warmup(Constant(0.1), 10, start_lr=0.01), [(0, 0.01), (5, 0.055), (9, 0.091), (10, 0.1), (10**6, 0.1)]),
    (Warmup(CosineDecay(0.1, 100), 10), [(0, 0.01), (4, 0.05), (9, 0.1), (10, 0.1), (60, 0.05), (110, 0.0),
                                         (10**6, 0.0)]),
    (Warmup(CosineDecay(0.1, 100), 10, start_lr=0.0), [(0, 0.0), (5, 0.05), (10, 0.1), (60, 0.05)]),
    (_J, [(0, 0.1), (4, 0.1), (5, 0.1), (10, 0.05), (15, 0.0), (19, 0.0), (20, 0.001), (10**6, 0.001)]),
]


@pytest.mark.parametrize(("schedule", "points"), EDGES, ids=[repr(s)[:60] for s, _ in EDGES])
def test_hand_computed_values_at_start_boundaries_and_past_the_end(schedule, points):
    for step, expected in points:
        assert math.isclose(schedule(step), expected, rel_tol=1e-12, abs_tol=1e-15), (step, expected)


# ---------------------------------------------------------------------------------------------------
# 2) independent computations of each formula over 1,200 steps
# ---------------------------------------------------------------------------------------------------

def ref_step_loop(lr0, rate, every):
    out, lr = [], lr0
    for t in range(N):  # multiply once at each multiple of `every`
        if t and t % every == 0:
            lr *= rate
        out.append(lr)
    return np.array(out)


def ref_sgdr_loop(lr0, period, mult, end_lr):
    out, t_cur, t_i = [], 0, period
    for _ in range(N):  # PyTorch's bookkeeping: T_cur counts up, the cycle length grows at each restart
        out.append(end_lr + (lr0 - end_lr) * math.cos(math.pi * t_cur / t_i / 2) ** 2)
        t_cur += 1
        if t_cur == t_i:
            t_cur, t_i = 0, t_i * mult
    return np.array(out)


def ref_triangular_smith(base, top, half):
    cycle = np.floor(1 + T / (2 * half))
    x = np.abs(T / half - 2 * cycle + 1)
    return base + (top - base) * np.maximum(0, 1 - x)


def ref_onecycle(max_lr, total, pct, div, final_div):
    init, low, e = max_lr / div, max_lr / div / final_div, pct * total - 1
    t = np.minimum(T, total - 1)
    up = init + (max_lr - init) * np.sin(np.pi / 2 * t / e) ** 2
    down = low + (max_lr - low) * np.cos(np.pi / 2 * (t - e) / (total - 1 - e)) ** 2
    return np.where(t <= e, up, down)


REFERENCES = [
    (Constant(0.3), np.full(N, 0.3)),
    (StepDecay(0.1, 0.7, 13), ref_step_loop(0.1, 0.7, 13)),
    (StepDecay(0.1, 0.7, 13, staircase=False), 0.1 * np.exp(T / 13 * np.log(0.7))),
    (ExponentialDecay(0.1, 0.99), 0.1 * np.exp(T * np.log(0.99))),
    (ExponentialDecay(0.1, 0.5, every=100), 0.1 * np.exp2(-T / 100)),
    (PolynomialDecay(0.1, 1000, power=0.9, end_lr=0.001),
     0.001 + 0.099 * np.exp(0.9 * np.log(np.clip((1000 - T) / 1000, 1e-300, 1))) * (T < 1000)),
    (PolynomialDecay(0.1, 500, power=2.0), 0.1 * np.clip(1 - T / 500, 0, 1) ** 2),
    (LinearDecay(0.1, 1000, end_lr=0.01), np.interp(T, [0, 1000], [0.1, 0.01])),
    (LinearDecay(0.1, 777), np.interp(T, [0, 777], [0.1, 0.0])),
    (CosineDecay(0.1, 1000, end_lr=0.001), 0.001 + 0.099 * np.cos(np.pi / 2 * np.minimum(T, 1000) / 1000) ** 2),
    (CosineWarmRestarts(0.1, 50, period_mult=2, end_lr=0.001), ref_sgdr_loop(0.1, 50, 2, 0.001)),
    (CosineWarmRestarts(0.1, 70, period_mult=1), ref_sgdr_loop(0.1, 70, 1, 0.0)),
    (CosineWarmRestarts(0.1, 3, period_mult=3), ref_sgdr_loop(0.1, 3, 3, 0.0)),
    (Sawtooth(0.1, 37, end_lr=0.01), np.tile(np.linspace(0.1, 0.01, 38)[:-1], N // 37 + 1)[:N]),
    (Triangular(0.001, 0.1, 37), ref_triangular_smith(0.001, 0.1, 37)),
    (OneCycle(0.1, 1001, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
     ref_onecycle(0.1, 1001, 0.25, 10.0, 100.0)),
    (OneCycle(0.1, 1000), ref_onecycle(0.1, 1000, 0.3, 25.0, 1e4)),
    (Warmup(ExponentialDecay(0.1, 0.99), 100, start_lr=0.01),
     np.where(T < 100, np.interp(T, [0, 100], [0.01, 0.1]), 0.1 * 0.99 ** np.maximum(T - 100.0, 0))),
    (Warmup(LinearDecay(0.1, 300), 0), np.interp(T, [0, 300], [0.1, 0.0])),
    (Join([LinearDecay(0.1, 100, end_lr=0.05), CosineDecay(0.05, 500), Constant(0.002)], [100, 700]),
     np.concatenate([np.linspace(0.1, 0.05, 101)[:-1],
                     0.05 * np.cos(np.pi / 2 * np.minimum(np.arange(600), 500) / 500) ** 2,
                     np.full(N - 700, 0.002)])),
]


@pytest.mark.parametrize(("schedule", "reference"), REFERENCES, ids=[repr(s)[:60] for s, _ in REFERENCES])
def test_matches_an_independent_computation_over_1200_steps(schedule, reference):
    assert reference.shape == (N,), "reference must hold one value per step"
    np.testing.assert_allclose(values(schedule), reference, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------------
# 3) equivalence with PyTorch's schedulers, driven by optimizer.step(); scheduler.step()
# ---------------------------------------------------------------------------------------------------

def torch_lrs(make_scheduler, n, lr=0.1):
    """Learning rates of a torch scheduler at steps 0..n, read from the optimizer's param group."""
    param = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.SGD([param], lr=lr, momentum=0.9)  # momentum: CyclicLR/OneCycleLR cycle it
    scheduler = make_scheduler(optimizer)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(n):
        param.grad = torch.ones(3)
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return np.array(lrs, dtype=np.float64)


sched = torch.optim.lr_scheduler
TORCH_CASES = [  # (ours, torch factory, steps compared, peak lr)
    (StepDecay(0.1, 0.9, 10), lambda o: sched.StepLR(o, step_size=10, gamma=0.9), N, 0.1),
    (ExponentialDecay(0.1, 0.995), lambda o: sched.ExponentialLR(o, gamma=0.995), N, 0.1),
    (PolynomialDecay(0.1, 1000, power=0.9), lambda o: sched.PolynomialLR(o, total_iters=1000, power=0.9), N, 0.1),
    (PolynomialDecay(0.1, 1000, power=2.0), lambda o: sched.PolynomialLR(o, total_iters=1000, power=2.0), N, 0.1),
    (LinearDecay(0.1, 1000, end_lr=0.1 * 0.05),
     lambda o: sched.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=1000), N, 0.1),
    (LinearDecay(0.1, 1000), lambda o: sched.PolynomialLR(o, total_iters=1000, power=1.0), N, 0.1),
    (CosineDecay(0.1, 1000, end_lr=0.001), lambda o: sched.CosineAnnealingLR(o, T_max=1000, eta_min=0.001),
     1000, 0.1),
    (CosineWarmRestarts(0.1, 50, period_mult=2, end_lr=0.001),
     lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=50, T_mult=2, eta_min=0.001), N, 0.1),
    (CosineWarmRestarts(0.1, 70), lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=70), N, 0.1),
    (Triangular(0.001, 0.1, 37),
     lambda o: sched.CyclicLR(o, base_lr=0.001, max_lr=0.1, step_size_up=37, mode="triangular"), N, 0.1),
    (OneCycle(0.1, 1200), lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=1200), N - 1, 0.1),
    (OneCycle(0.1, 1001, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
     lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=1001, pct_start=0.25, div_factor=10.0,
                                final_div_factor=100.0), 1000, 0.1),
    (OneCycle(0.1, 1000, pct_start=0.002), lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=1000,
                                                                     pct_start=0.002), 999, 0.1),
]


@pytest.mark.parametrize(("schedule", "make", "n", "peak"), TORCH_CASES,
                         ids=[repr(c[0])[:60] for c in TORCH_CASES])
def test_matches_pytorch_scheduler(schedule, make, n, peak):
    assert n >= 999, "compare at least 1,000 learning rates"
    theirs = torch_lrs(make, n)
    ours = values(schedule, n + 1)
    assert np.max(np.abs(ours - theirs)) <= 1e-10 * peak


def test_onecycle_rejects_exactly_the_warmups_pytorch_cannot_run():
    # pct_start * total_steps = 1: PyTorch's warm-up ends at step 0 and it divides by zero at step 0
    param = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ZeroDivisionError):
        sched.OneCycleLR(torch.optim.SGD([param], lr=0.1, momentum=0.9), max_lr=0.1, total_steps=20,
                         pct_start=0.05)
    with pytest.raises(ValueError, match="warm-up"):
        OneCycle(0.1, 20, pct_start=0.05)
    # pct_start * total_steps = 1.5: PyTorch runs, but the warm-up is shorter than a step and the
    # peak is never reached
    lrs = torch_lrs(lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=30, pct_start=0.05), 29)
    assert lrs.max() < 0.1
    with pytest.raises(ValueError, match="warm-up"):
        OneCycle(0.1, 30, pct_start=0.05)
    # pct_start * total_steps = 2: the shortest accepted warm-up, one step, reaches the peak
    assert OneCycle(0.1, 20, pct_start=0.1)(1) == torch_lrs(
        lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=20, pct_start=0.1), 1)[1] == 0.1


# ---------------------------------------------------------------------------------------------------
# 4) hypothesis properties
# ---------------------------------------------------------------------------------------------------

lrs = st.one_of(st.just(0.0), st.floats(1e-6, 10.0), st.floats(0.0, 8e307))  # huge: no overflow
fracs = st.floats(0.0, 1.0)
counts = st.integers(1, 300)
rates = st.floats(1e-3, 1.0)
steps = st.one_of(st.integers(0, 3000), st.integers(0, 10**7))


@st.composite
def with_end_lr(draw, cls, *counts_and_more):
    lr0 = draw(lrs)
    args = [draw(s) for s in counts_and_more]
    return cls(lr0, *args, end_lr=lr0 * draw(fracs))


@st.composite
def triangulars(draw):
    base = draw(lrs)
    return Triangular(base, base + draw(lrs), draw(counts))


@st.composite
def onecycles(draw, min_div_factor=0.5):
    total = draw(st.integers(4, 5000))
    pct = draw(st.floats(2.0 / total, 0.99))
    assume(pct * total - 1 >= 1)
    return OneCycle(draw(lrs), total, pct, draw(st.floats(min_div_factor, 100.0)), draw(st.floats(1.0, 1e5)))


decays = st.one_of(
    st.builds(StepDecay, lrs, rates, counts, st.booleans()),
    st.builds(ExponentialDecay, lrs, rates, counts),
    with_end_lr(PolynomialDecay, counts, st.floats(0.1, 5.0)),
    with_end_lr(LinearDecay, counts),
    with_end_lr(CosineDecay, counts),
)
cyclic = st.one_of(
    with_end_lr(CosineWarmRestarts, counts, st.integers(1, 4)),
    with_end_lr(Sawtooth, counts),
    triangulars(),
    onecycles(),
)
simple = st.one_of(st.builds(Constant, lrs), decays, cyclic)
composed = st.one_of(
    st.builds(Warmup, simple, st.integers(0, 300), lrs),
    st.lists(simple, min_size=1, max_size=4).flatmap(
        lambda ss: st.lists(st.integers(1, 2000), min_size=len(ss) - 1, max_size=len(ss) - 1, unique=True)
        .map(lambda bs: Join(ss, sorted(bs)))),
)
any_schedule = st.one_of(simple, composed)


def bounds(s):
    """[min, max] a schedule's values must lie in, read off its parameters."""
    if isinstance(s, Constant):
        return s.lr, s.lr
    if isinstance(s, (StepDecay, ExponentialDecay)):
        return 0.0, s.lr0
    if isinstance(s, Triangular):
        return s.base_lr, s.max_lr
    if isinstance(s, OneCycle):
        ends = (s.max_lr, s.max_lr / s.div_factor, s.max_lr / s.div_factor / s.final_div_factor)
        return min(ends), max(ends)
    if isinstance(s, Warmup):
        lo, hi = bounds(s.schedule)
        start = 0.0 if s.start_lr is None else s.start_lr  # the default ramp starts at s(0) / W > 0
        return min(lo, start), max(hi, start)
    if isinstance(s, Join):
        los, his = zip(*map(bounds, s.schedules))
        return min(los), max(his)
    return s.end_lr, s.lr0  # the decays with an end, restarts and sawtooth


@given(any_schedule, st.lists(steps, min_size=1, max_size=20))
def test_values_are_finite_nonnegative_floats_within_the_parameters(schedule, ts):
    lo, hi = bounds(schedule)
    for t in ts:
        lr = schedule(t)
        assert type(lr) is float and math.isfinite(lr) and lr >= 0
        # a + (b - a) * x rounds to within a few ulps of the larger end, max(a, b)
        assert lo - 4 * math.ulp(hi) <= lr <= hi + 4 * math.ulp(hi), (t, lr, lo, hi)


@given(decays, steps, st.integers(0, 3000))
def test_decays_never_increase(schedule, t, dt):
    assert schedule(t + dt) <= schedule(t) + 4 * math.ulp(schedule.lr0)


@given(onecycles(min_div_factor=1.0), st.integers(0, 5000))
def test_onecycle_rises_then_falls(schedule, t):  # div_factor >= 1: the start is below the peak
    warmup_end = schedule.pct_start * schedule.total_steps - 1
    tol = 4 * math.ulp(schedule.max_lr)
    if t + 1 <= warmup_end:
        assert schedule(t + 1) >= schedule(t) - tol
    elif t > warmup_end:
        assert schedule(t + 1) <= schedule(t) + tol


@given(st.one_of(with_end_lr(CosineWarmRestarts, counts), with_end_lr(Sawtooth, counts), triangulars()),
       steps, st.integers(1, 1000))
def test_restarts_sawtooth_and_triangular_are_periodic(schedule, t, k):
    period = 2 * schedule.half_period if isinstance(schedule, Triangular) else schedule.period
    assert schedule(t + k * period) == schedule(t)
    assert schedule(t) == schedule(t % period)


@given(with_end_lr(CosineWarmRestarts, counts, st.integers(2, 4)), st.integers(0, 6), st.data())
def test_each_warm_restart_cycle_is_the_first_one_stretched(schedule, i, data):
    p, m = schedule.period, schedule.period_mult
    start = p * (m**i - 1) // (m - 1)  # first step of cycle i, whose length is p * m**i
    j = data.draw(st.integers(0, p - 1))
    assert schedule(start + j * m**i) == schedule(j)
    assert math.isclose(schedule(start), schedule.lr0, rel_tol=1e-15, abs_tol=1e-300)


@given(simple, st.integers(0, 300), steps)
def test_warmup_shifts_the_schedule_and_zero_warmup_is_the_identity(schedule, w, t):
    assert Warmup(schedule, w)(t + w) == schedule(t)
    assert Warmup(schedule, 0)(t) == schedule(t)


@given(st.lists(simple, min_size=2, max_size=4), st.data())
def test_join_gives_each_schedule_its_local_step(ss, data):
    bs = sorted(data.draw(st.lists(st.integers(1, 2000), min_size=len(ss) - 1, max_size=len(ss) - 1,
                                   unique=True)))
    joined = Join(ss, bs)
    starts = [0, *bs]
    for i, s in enumerate(ss):
        end = bs[i] if i < len(bs) else starts[i] + 5000
        t = data.draw(st.integers(starts[i], end - 1))
        assert joined(t) == s(t - starts[i])


# ---------------------------------------------------------------------------------------------------
# 5) pickling, repr, purity
# ---------------------------------------------------------------------------------------------------

@given(any_schedule, steps)
def test_pickle_and_repr_round_trip(schedule, t):
    for copy in (pickle.loads(pickle.dumps(schedule)), eval(repr(schedule), vars(schedules_module))):
        assert copy == schedule and hash(copy) == hash(schedule)
        assert copy(t) == schedule(t)


@given(any_schedule, st.lists(steps, min_size=2, max_size=20))
def test_no_hidden_state_calls_in_any_order_agree(schedule, ts):
    forward = [schedule(t) for t in ts]
    backward = [schedule(t) for t in reversed(ts)][::-1]
    assert forward == backward == [type(schedule)(**vars(schedule))(t) for t in ts]


def test_repr_is_readable_and_instances_are_frozen():
    s = CosineDecay(0.1, total_steps=20, end_lr=0.001)
    assert repr(s) == "CosineDecay(lr0=0.1, total_steps=20, end_lr=0.001)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.lr0 = 1.0
    assert repr(Join([Constant(1)], [])) == "Join(schedules=(Constant(lr=1.0),), boundaries=())"


BIG = 1.7e308  # close to the largest float: intermediate products must not overflow to inf


@pytest.mark.parametrize("schedule", [
    PolynomialDecay(BIG, 10, power=2.0), LinearDecay(BIG, 10), CosineDecay(BIG, 10),
    CosineWarmRestarts(BIG, 10, 2), Sawtooth(BIG, 10), Triangular(0.0, BIG, 5), OneCycle(BIG, 10, 0.5),
    Warmup(Constant(0.0), 10, start_lr=BIG), Warmup(Constant(BIG), 10),
], ids=lambda s: type(s).__name__ + ("-start" if getattr(s, "start_lr", 0) else ""))
def test_learning_rates_near_the_largest_float_stay_finite(schedule):
    lrs = [schedule(t) for t in range(25)]
    assert all(math.isfinite(lr) and 0 <= lr <= BIG for lr in lrs), lrs
    assert max(lrs) == pytest.approx(BIG, rel=1e-12)


def test_numpy_integer_steps_are_accepted():
    s = CosineWarmRestarts(0.1, 10, 2)
    assert s(np.int64(25)) == s(25) and isinstance(s(np.int64(25)), float)


# ---------------------------------------------------------------------------------------------------
# 6) every ValueError: message starts with the argument's name and states the allowed range
# ---------------------------------------------------------------------------------------------------

nan, inf = float("nan"), float("inf")
INVALID = [
    (Constant, dict(lr=-0.1), "lr"), (Constant, dict(lr=nan), "lr"), (Constant, dict(lr=inf), "lr"),
    (Constant, dict(lr="0.1"), "lr"), (Constant, dict(lr=True), "lr"),
    (StepDecay, dict(lr0=-1.0, rate=0.5, every=1), "lr0"),
    (StepDecay, dict(lr0=0.1, rate=0.0, every=1), "rate"),
    (StepDecay, dict(lr0=0.1, rate=1.5, every=1), "rate"),
    (StepDecay, dict(lr0=0.1, rate=-0.5, every=1), "rate"),
    (StepDecay, dict(lr0=0.1, rate=0.5, every=0), "every"),
    (StepDecay, dict(lr0=0.1, rate=0.5, every=2.5), "every"),
    (StepDecay, dict(lr0=0.1, rate=0.5, every=10, staircase=1), "staircase"),
    (ExponentialDecay, dict(lr0=inf, rate=0.5), "lr0"),
    (ExponentialDecay, dict(lr0=0.1, rate=1.01), "rate"),
    (ExponentialDecay, dict(lr0=0.1, rate=nan), "rate"),
    (ExponentialDecay, dict(lr0=0.1, rate=0.5, every=-1), "every"),
    (PolynomialDecay, dict(lr0=nan, total_steps=10), "lr0"),
    (PolynomialDecay, dict(lr0=0.1, total_steps=0), "total_steps"),
    (PolynomialDecay, dict(lr0=0.1, total_steps=10.0), "total_steps"),
    (PolynomialDecay, dict(lr0=0.1, total_steps=10, power=0.0), "power"),
    (PolynomialDecay, dict(lr0=0.1, total_steps=10, power=-1.0), "power"),
    (PolynomialDecay, dict(lr0=0.1, total_steps=10, end_lr=0.2), "end_lr"),
    (PolynomialDecay, dict(lr0=0.1, total_steps=10, end_lr=-0.01), "end_lr"),
    (LinearDecay, dict(lr0=-0.1, total_steps=10), "lr0"),
    (LinearDecay, dict(lr0=0.1, total_steps=-5), "total_steps"),
    (LinearDecay, dict(lr0=0.1, total_steps=10, end_lr=0.11), "end_lr"),
    (CosineDecay, dict(lr0=0.1, total_steps=0), "total_steps"),
    (CosineDecay, dict(lr0=0.1, total_steps=10, end_lr=inf), "end_lr"),
    (CosineDecay, dict(lr0=0.1, total_steps=10, end_lr=0.2), "end_lr"),
    (CosineWarmRestarts, dict(lr0=-0.1, period=10), "lr0"),
    (CosineWarmRestarts, dict(lr0=0.1, period=0), "period"),
    (CosineWarmRestarts, dict(lr0=0.1, period=10, period_mult=0), "period_mult"),
    (CosineWarmRestarts, dict(lr0=0.1, period=10, period_mult=1.5), "period_mult"),
    (CosineWarmRestarts, dict(lr0=0.1, period=10, end_lr=0.2), "end_lr"),
    (Sawtooth, dict(lr0=0.1, period=0), "period"),
    (Sawtooth, dict(lr0=0.1, period=4, end_lr=0.5), "end_lr"),
    (Sawtooth, dict(lr0=inf, period=4), "lr0"),
    (Triangular, dict(base_lr=-0.1, max_lr=0.1, half_period=4), "base_lr"),
    (Triangular, dict(base_lr=0.1, max_lr=nan, half_period=4), "max_lr"),
    (Triangular, dict(base_lr=0.1, max_lr=0.01, half_period=4), "max_lr"),
    (Triangular, dict(base_lr=0.01, max_lr=0.1, half_period=0), "half_period"),
    (OneCycle, dict(max_lr=-0.1, total_steps=100), "max_lr"),
    (OneCycle, dict(max_lr=0.1, total_steps=0), "total_steps"),
    (OneCycle, dict(max_lr=0.1, total_steps=100, pct_start=0.0), "pct_start"),
    (OneCycle, dict(max_lr=0.1, total_steps=100, pct_start=1.0), "pct_start"),
    (OneCycle, dict(max_lr=0.1, total_steps=100, pct_start=1.5), "pct_start"),
    (OneCycle, dict(max_lr=0.1, total_steps=100, div_factor=0.0), "div_factor"),
    (OneCycle, dict(max_lr=0.1, total_steps=100, final_div_factor=-1.0), "final_div_factor"),
    (OneCycle, dict(max_lr=0.1, total_steps=1), "pct_start * total_steps"),
    (OneCycle, dict(max_lr=0.1, total_steps=6), "pct_start * total_steps"),  # 0.3 * 6 - 1 = 0.8 steps
    (Warmup, dict(schedule=0.1, warmup_steps=10), "schedule"),
    (Warmup, dict(schedule=Constant(0.1), warmup_steps=-1), "warmup_steps"),
    (Warmup, dict(schedule=Constant(0.1), warmup_steps=2.5), "warmup_steps"),
    (Warmup, dict(schedule=Constant(0.1), warmup_steps=10, start_lr=-0.1), "start_lr"),
    (Join, dict(schedules=[], boundaries=[]), "schedules"),
    (Join, dict(schedules=Constant(0.1), boundaries=[]), "schedules"),
    (Join, dict(schedules=[Constant(0.1), 0.5], boundaries=[5]), "schedules[1]"),
    (Join, dict(schedules=[Constant(0.1), Constant(0.2)], boundaries=[]), "boundaries"),
    (Join, dict(schedules=[Constant(0.1), Constant(0.2)], boundaries=[5, 10]), "boundaries"),
    (Join, dict(schedules=[Constant(0.1), Constant(0.2)], boundaries=5), "boundaries"),
    (Join, dict(schedules=[Constant(0.1), Constant(0.2)], boundaries=[0]), "boundaries[0]"),
    (Join, dict(schedules=[Constant(0.1), Constant(0.2)], boundaries=[-3]), "boundaries[0]"),
    (Join, dict(schedules=[Constant(0.1)] * 3, boundaries=[10, 10]), "boundaries"),
    (Join, dict(schedules=[Constant(0.1)] * 3, boundaries=[10, 5]), "boundaries"),
]


@pytest.mark.parametrize(("cls", "kwargs", "argument"), INVALID,
                         ids=[f"{c.__name__}-{a}-{i}" for i, (c, _, a) in enumerate(INVALID)])
def test_invalid_arguments_raise_value_error_naming_the_argument(cls, kwargs, argument):
    with pytest.raises(ValueError, match=rf"^{re.escape(argument)} must .*got ") as info:
        cls(**kwargs)
    message = str(info.value)
    assert any(word in message for word in ("in [", "in (", ">=", "> 0", "finite", "callable",
                                            "increasing", "entries", "at least one", "list or tuple",
                                            "True or False")), message


@pytest.mark.parametrize("schedule", [s for s, _ in EDGES], ids=[repr(s)[:60] for s, _ in EDGES])
@pytest.mark.parametrize("step", [-1, -1000, 1.5, 2.0, "3", None, True])
def test_invalid_steps_raise_value_error(schedule, step):
    with pytest.raises(ValueError, match=r"^step must be an integer >= 0, got "):
        schedule(step)


# ---------------------------------------------------------------------------------------------------
# 7) the source errors each schedule corrects (ERRATA)
# ---------------------------------------------------------------------------------------------------

def test_002_E3_source_poly_decay_is_complex_or_nan_past_T_while_PolynomialDecay_clamps():
    eta, big_t = 0.01, 1000
    source = lambda t: eta * (1 - t / big_t) ** 0.9  # noqa: E731 -- the source's line 160, verbatim
    assert isinstance(source(1001), complex)  # Python: a complex "learning rate"
    with pytest.warns(RuntimeWarning, match="invalid value"):
        assert np.isnan(eta * np.float64(1 - 1001 / big_t) ** 0.9)  # numpy: nan
    fixed = PolynomialDecay(eta, big_t, power=0.9)
    # it *is* polynomial decay (not exponential) wherever the source is defined ...
    np.testing.assert_allclose([fixed(t) for t in range(big_t + 1)], [source(t) for t in range(big_t + 1)],
                               rtol=1e-12, atol=0)
    # ... and holds its end value afterwards
    assert all(fixed(t) == 0.0 for t in range(big_t, 3 * big_t))


def test_003_E2_source_linear_rate_turns_negative_while_LinearDecay_stops_at_zero():
    alpha0, max_iter = 0.01, 1000
    source = lambda it: alpha0 * (1 - it / max_iter)  # noqa: E731 -- the source's formula (L46)
    assert source(1500) < 0  # gradient ascent
    fixed = LinearDecay(alpha0, max_iter)
    np.testing.assert_allclose([fixed(i) for i in range(max_iter + 1)],
                               [source(i) for i in range(max_iter + 1)], rtol=1e-12, atol=1e-18)
    assert min(fixed(i) for i in range(3 * max_iter)) == 0.0


def test_000_E6_code_is_StepDecay_and_formula_is_the_smooth_variant():
    lr0, rate, every = 0.01, 0.1, 10
    code = [lr0 * rate ** (e // every) for e in range(100)]  # the source's L141
    formula = [lr0 * rate ** (e / every) for e in range(100)]  # the source's L176
    assert [StepDecay(lr0, rate, every)(e) for e in range(100)] == pytest.approx(code, rel=1e-12)
    assert [StepDecay(lr0, rate, every, staircase=False)(e) for e in range(100)] == pytest.approx(formula,
                                                                                                 rel=1e-12)
    assert [ExponentialDecay(lr0, rate, every)(e) for e in range(100)] == pytest.approx(formula, rel=1e-12)
    assert code[5] == pytest.approx(1e-2) and formula[5] == pytest.approx(3.2e-3, rel=0.02)


def test_000_E7_source_step_decay_wastes_half_of_training():
    s = StepDecay(0.01, 0.1, 10)
    assert s(90) == pytest.approx(1e-11)
    assert max(s(e) for e in range(50, 100)) == pytest.approx(1e-7)


def test_002_E4_random_decay_is_linear_decay_or_a_sawtooth():
    eta, big_t = 0.1, 100
    # P >= 1: Python reads 1 - t/T % P as 1 - ((t/T) % P), which is plain linear decay up to T
    assert [eta * (1 - t / big_t % 2) for t in range(big_t + 1)] == pytest.approx(
        [LinearDecay(eta, big_t)(t) for t in range(big_t + 1)], rel=1e-12, abs=1e-15)
    # P < 1: a sawtooth with a period of P*T steps that never goes below eta*(1 - P) -- nothing random
    p = 0.25
    saw = Sawtooth(eta, period=25, end_lr=eta * (1 - p))
    assert [eta * (1 - t / big_t % p) for t in range(1000)] == pytest.approx(
        [saw(t) for t in range(1000)], rel=1e-12)


# ---------------------------------------------------------------------------------------------------
# Warmup conventions (issue 12): the first update is not wasted; total steps; Optax's semantics
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("w", [1, 2, 7, 50])
def test_default_warmup_equals_torch_linear_lr_with_start_factor_one_over_w(w):
    """LinearLR(start_factor=1/w, total_iters=w-1) ramps lr0 (t+1)/w -- the default warm-up -- then holds."""
    make = (lambda o: sched.LinearLR(o, start_factor=1.0 / w, end_factor=1.0, total_iters=w - 1)) if w > 1 \
        else (lambda o: sched.ConstantLR(o, factor=1.0, total_iters=0))
    theirs = torch_lrs(make, 1000)
    ours = values(Warmup(Constant(0.1), w), 1001)
    assert np.max(np.abs(ours - theirs)) <= 1e-12
    assert ours[0] == pytest.approx(0.1 / w) and ours[0] > 0.0


def test_warmup_runs_w_plus_n_steps_before_the_inner_schedule_ends():
    n, w = 100, 10
    s = Warmup(CosineDecay(0.1, total_steps=n, end_lr=0.001), warmup_steps=w)
    assert s(w + n - 1) > 0.001 and s(w + n) == 0.001


def _optax_warmup_cosine(init, peak, warmup, decay_steps, end, t):
    """optax.warmup_cosine_decay_schedule, written from its definition: join_schedules of
    linear_schedule(init, peak, warmup) and cosine_decay_schedule(peak, decay_steps - warmup, alpha=end/peak)."""
    if t < warmup:
        return init + (peak - init) * t / warmup
    d, k = decay_steps - warmup, min(t - warmup, decay_steps - warmup)
    alpha = end / peak
    return peak * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * k / d)) + alpha)


@pytest.mark.parametrize(("init", "peak", "warmup", "decay_steps", "end"),
                         [(0.0, 0.1, 10, 100, 0.001), (0.01, 1.0, 25, 400, 0.0), (0.0, 0.5, 1, 50, 0.05)])
def test_the_documented_one_liner_gives_optax_semantics(init, peak, warmup, decay_steps, end):
    ours = Warmup(CosineDecay(peak, total_steps=decay_steps - warmup, end_lr=end), warmup_steps=warmup,
                  start_lr=init)
    for t in range(decay_steps + 20):
        assert ours(t) == pytest.approx(_optax_warmup_cosine(init, peak, warmup, decay_steps, end, t),
                                        rel=1e-12, abs=1e-15)
