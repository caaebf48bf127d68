"""Tests for dsat_tutorial.monitor.LossSpikeGuard used by hand.

Reference: the guard's rule written out directly -- the bias-corrected average as an explicit weighted
mean of the accepted losses (numpy), not the guard's recursion -- and decisions replayed over random
loss streams. Its use inside ``fit`` is tested in tests/training/test_spike_guard.py.
"""

import io
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dsat_tutorial import LossSpikeGuard as TopLevel
from dsat_tutorial.monitor import LossSpikeGuard


def weighted_mean(losses, beta):
    """(1 - beta) sum beta^(n-i) L_i / (1 - beta^n) == sum beta^(n-i) L_i / sum beta^(n-i)."""
    w = beta ** np.arange(len(losses))[::-1]
    return float(np.dot(w, losses) / w.sum())


def reference(losses, factor, beta, warmup):
    """The rule as stated in the docstring, replayed: which losses are spikes."""
    accepted, flags = [], []
    for x in losses:
        spike = (len(accepted) >= warmup and weighted_mean(accepted, beta) > 0
                 and x > factor * weighted_mean(accepted, beta))
        flags.append(spike)
        if not spike:
            accepted.append(x)
    return flags, accepted


def test_the_average_is_the_weighted_mean_of_the_accepted_losses():
    losses = [2.0, 1.5, 1.7, 1.2, 1.1, 30.0, 1.0, 0.9]  # 30.0 is a spike (> 3 x ~1.3)
    guard = LossSpikeGuard(factor=3.0, beta=0.8, warmup_steps=4, max_skips=3)
    flags = [guard.check(x) for x in losses]
    assert flags == [False] * 5 + [True] + [False] * 2
    accepted = [x for x, f in zip(losses, flags) if not f]
    assert guard.ema == pytest.approx(weighted_mean(accepted, 0.8), rel=1e-12)
    assert guard.count == 7 and guard.total_skips == 1


@given(st.lists(st.floats(0.01, 10.0), min_size=1, max_size=60), st.floats(1.05, 5.0),
       st.floats(0.0, 0.99), st.integers(1, 8))
def test_decisions_match_the_rule_on_random_streams(losses, factor, beta, warmup):
    guard = LossSpikeGuard(factor=factor, beta=beta, warmup_steps=warmup)
    flags = [guard.check(x) for x in losses]
    want, accepted = reference(losses, factor, beta, warmup)
    # a loss within 1e-9 of the threshold may fall either way in floating point: compare the rest
    for x, got, exp, k in zip(losses, flags, want, range(len(losses))):
        acc = [a for a, f in zip(losses[:k], want[:k]) if not f]
        if len(acc) >= warmup and abs(x - factor * weighted_mean(acc, beta)) < 1e-9:
            return
        assert got == exp
    assert guard.ema == pytest.approx(weighted_mean(accepted, beta), rel=1e-9)


def test_nothing_is_flagged_during_warmup():
    guard = LossSpikeGuard(factor=2.0, beta=0.9, warmup_steps=4)
    assert [guard.check(x) for x in (1.0, 100.0, 1.0, 1e6)] == [False] * 4
    assert guard.count == 4
    assert guard.check(1e6) is True  # the same value is a spike once warmup is over


def test_rollback_is_due_after_max_skips_plus_one_consecutive_spikes():
    guard = LossSpikeGuard(factor=2.0, beta=0.5, warmup_steps=1, max_skips=2)
    guard.check(1.0)
    assert [guard.check(10.0) for _ in range(2)] == [True, True] and not guard.rollback_due
    assert guard.check(10.0) and guard.rollback_due and guard.skips == 3
    guard.reset_skips()
    assert not guard.rollback_due and guard.total_skips == 3 and guard.ema == 1.0
    assert guard.check(10.0) and guard.skips == 1
    assert not guard.check(1.5) and guard.skips == 0  # an accepted loss ends the run of spikes


def test_a_spike_does_not_move_the_average():
    guard = LossSpikeGuard(factor=2.0, beta=0.9, warmup_steps=2)
    guard.check(1.0), guard.check(2.0)
    before = guard.state_dict()
    assert guard.check(50.0)
    after = guard.state_dict()
    assert after.pop("skips") == 1 and after.pop("total_skips") == 1
    assert after == {k: v for k, v in before.items() if k not in ("skips", "total_skips")}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_losses_are_not_spikes_and_change_nothing(bad):
    guard = LossSpikeGuard(warmup_steps=1)
    guard.check(1.0)
    before = guard.state_dict()
    assert guard.check(bad) is False
    assert guard.state_dict() == before


def test_a_non_positive_average_flags_nothing():
    guard = LossSpikeGuard(factor=2.0, warmup_steps=1)
    guard.check(-1.0)
    assert guard.check(5.0) is False


def test_tensors_are_read_and_bad_types_rejected():
    guard = LossSpikeGuard(factor=2.0, beta=0.0, warmup_steps=1)
    assert guard.check(torch.tensor(1.0, requires_grad=True) * 1.0) is False
    assert guard.check(torch.tensor([3.0])) is True and guard.check(np.float32(1.5)) is False
    for bad in (True, "1.0", None):
        with pytest.raises(ValueError, match="loss must be a real number"):
            guard.check(bad)


def test_state_dict_round_trips_through_weights_only_load():
    rng = np.random.default_rng(0)
    losses = list(np.abs(rng.normal(1.0, 0.2, 40)))
    losses[15] = losses[16] = 20.0
    guard = LossSpikeGuard(factor=2.5, beta=0.7, warmup_steps=5, max_skips=1)
    for x in losses[:16]:
        guard.check(x)
    buf = io.BytesIO()
    torch.save(guard.state_dict(), buf)
    buf.seek(0)
    copy = LossSpikeGuard()  # other settings: load_state_dict restores them
    copy.load_state_dict(torch.load(buf, weights_only=True))
    assert copy.state_dict() == guard.state_dict() and repr(copy) == repr(guard)
    assert [copy.check(x) for x in losses[16:]] == [guard.check(x) for x in losses[16:]]
    assert copy.state_dict() == guard.state_dict() and guard.total_skips == 2


def test_load_state_dict_validates():
    state = LossSpikeGuard().state_dict()
    with pytest.raises(ValueError, match="factor"):
        LossSpikeGuard().load_state_dict({**state, "factor": 0.5})
    with pytest.raises(ValueError, match="count"):
        LossSpikeGuard().load_state_dict({**state, "count": -1})
    with pytest.raises(KeyError):
        LossSpikeGuard().load_state_dict({k: v for k, v in state.items() if k != "mean"})


@pytest.mark.parametrize("kwargs, match", [
    ({"factor": 1.0}, r"factor must be in \(1, inf\)"), ({"factor": 0.5}, "factor"),
    ({"factor": math.inf}, "factor"), ({"factor": math.nan}, "factor"), ({"factor": True}, "factor"),
    ({"beta": 1.0}, r"beta must be in \[0, 1\)"), ({"beta": -0.1}, "beta"),
    ({"warmup_steps": 0}, "warmup_steps must be an integer >= 1"), ({"warmup_steps": 2.0}, "warmup_steps"),
    ({"max_skips": -1}, "max_skips must be an integer >= 0"), ({"max_skips": None}, "max_skips"),
])
def test_invalid_arguments_name_the_argument_and_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LossSpikeGuard(**kwargs)


def test_exported_at_the_top_level():
    assert TopLevel is LossSpikeGuard
