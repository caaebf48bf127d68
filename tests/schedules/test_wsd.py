"""WarmupStableDecay and InverseSqrtDecay: closed forms, values computed by hand, the formulas of
Hugging Face ``get_wsd_schedule`` (stable and cooldown phases), Vaswani et al. and fairseq's
``inverse_sqrt`` re-implemented here from their published definitions, the phase edges, validation,
pickling and repr, and ScheduleLR driving an optimizer with them.
"""

import math
import pickle

import pytest
import torch

from dsat_tutorial import schedules as schedules_module
from dsat_tutorial.controllers import ScheduleLR
from dsat_tutorial.schedules import InverseSqrtDecay, WarmupStableDecay

SHAPES = ("linear", "sqrt", "cosine")


def hf_wsd_factor(step, *, num_warmup_steps, num_stable_steps, num_decay_steps, decay_type, min_lr_ratio):
    """Hugging Face transformers' ``_get_wsd_scheduler_lambda`` (v4.5x, linear warm-up), written out here.

    Its warm-up factor is ``step / num_warmup_steps`` (first update at lr 0); ours is deliberately
    ``(step + 1) / W``, so only the stable and cooldown phases are compared with it.
    """
    if step < num_warmup_steps:
        progress = float(step) / float(max(1, num_warmup_steps))
        return max(0.0, progress * (1.0 - min_lr_ratio) + min_lr_ratio)
    if step < num_warmup_steps + num_stable_steps:
        return 1.0
    if step < num_warmup_steps + num_stable_steps + num_decay_steps:
        progress = float(step - num_warmup_steps - num_stable_steps) / float(max(1, num_decay_steps))
        if decay_type == "linear":
            factor = 1.0 - progress
        elif decay_type == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress))
        else:  # "1-sqrt"
            factor = 1.0 - math.sqrt(progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    return min_lr_ratio


# ---------------------------------------------------------------- WarmupStableDecay

@pytest.mark.parametrize("decay", SHAPES)
def test_wsd_matches_transformers_after_the_warmup(decay):
    peak, total, warm, dec, end = 3e-3, 1000, 50, 150, 3e-5
    s = WarmupStableDecay(peak, total, warmup_steps=warm, decay_steps=dec, decay=decay, end_lr=end)
    hf = {"linear": "linear", "sqrt": "1-sqrt", "cosine": "cosine"}[decay]
    for t in range(warm, total + 30):
        expected = peak * hf_wsd_factor(t, num_warmup_steps=warm, num_stable_steps=total - warm - dec,
                                        num_decay_steps=dec, decay_type=hf, min_lr_ratio=end / peak)
        assert s(t) == pytest.approx(expected, rel=1e-12, abs=1e-18), t


@pytest.mark.parametrize(("decay", "at_850", "at_900"), [
    # peak 1e-3, end 1e-5, cooldown over steps 800..999: u = 0.25 at t = 850, u = 0.5 at t = 900
    ("linear", 1e-5 + 0.99e-3 * 0.75, 1e-5 + 0.99e-3 * 0.5),               # 7.525e-4, 5.05e-4
    ("sqrt", 1e-5 + 0.99e-3 * 0.5, 1e-5 + 0.99e-3 * 0.2928932188134524),   # 1 - sqrt(1/4), 1 - sqrt(1/2)
    ("cosine", 1e-5 + 0.99e-3 * 0.8535533905932737, 1e-5 + 0.99e-3 * 0.5),  # (1 + cos(pi/4)) / 2
])
def test_wsd_hand_computed_values(decay, at_850, at_900):
    s = WarmupStableDecay(1e-3, 1000, warmup_steps=100, decay_steps=200, decay=decay, end_lr=1e-5)
    assert s(0) == pytest.approx(1e-5)          # (0 + 1) / 100 of the way from 0
    assert s(49) == pytest.approx(5e-4)         # 50 / 100
    assert s(99) == s(100) == s(799) == 1e-3    # peak at the last warm-up step, through the stable phase
    assert s(800) == 1e-3                       # the cooldown starts at the peak (u = 0)
    assert s(850) == pytest.approx(at_850, rel=1e-12)
    assert s(900) == pytest.approx(at_900, rel=1e-12)
    assert s(1000) == s(5000) == 1e-5


@pytest.mark.parametrize("decay", SHAPES)
def test_wsd_closed_form_every_step(decay):
    peak, start, end, total, warm, dec = 0.5, 0.05, 0.01, 60, 7, 13
    phi = {"linear": lambda u: 1 - u, "sqrt": lambda u: 1 - u ** 0.5,
           "cosine": lambda u: (1 + math.cos(math.pi * u)) / 2}[decay]
    s = WarmupStableDecay(peak, total, warm, dec, decay, start_lr=start, end_lr=end)
    for t in range(total + 10):
        if t < warm:
            expected = start + (peak - start) * (t + 1) / warm
        elif t < total - dec:
            expected = peak
        elif t < total:
            expected = end + (peak - end) * phi((t - (total - dec)) / dec)
        else:
            expected = end
        assert s(t) == pytest.approx(expected, rel=1e-13), t


def test_wsd_edges_and_defaults():
    s = WarmupStableDecay(1.0, total_steps=10)            # no warm-up, decay_steps = 10 // 5 = 2
    assert s.decay_steps == 2 and s.warmup_steps == 0
    assert [s(t) for t in range(12)] == [1.0] * 8 + [1.0, 0.5, 0.0, 0.0]
    s = WarmupStableDecay(1.0, total_steps=4, warmup_steps=4, decay_steps=0)  # all warm-up, no cooldown
    assert [s(t) for t in range(6)] == [0.25, 0.5, 0.75, 1.0, 0.0, 0.0]
    s = WarmupStableDecay(1.0, total_steps=3, warmup_steps=1, decay_steps=2, decay="sqrt")
    assert [s(t) for t in range(4)] == [1.0, 1.0, pytest.approx(1 - 0.5 ** 0.5), 0.0]
    # the first warm-up update is never 0, and every value lies in [min(start, end), peak]
    for decay in SHAPES:
        s = WarmupStableDecay(0.2, 97, warmup_steps=11, decay_steps=31, decay=decay, start_lr=0.0, end_lr=0.0)
        assert s(0) > 0.0
        assert all(0.0 <= s(t) <= 0.2 for t in range(120))
        vals = [s(t) for t in range(11, 100)]
        assert all(a >= b for a, b in zip(vals, vals[1:]))  # non-increasing after the warm-up


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"peak_lr": -0.1, "total_steps": 10}, "peak_lr must be finite and >= 0"),
    ({"peak_lr": math.nan, "total_steps": 10}, "peak_lr must be a finite real number"),
    ({"peak_lr": 0.1, "total_steps": 0}, "total_steps must be an integer >= 1"),
    ({"peak_lr": 0.1, "total_steps": 10.0}, "total_steps must be an integer >= 1"),
    ({"peak_lr": 0.1, "total_steps": 10, "warmup_steps": -1}, "warmup_steps must be an integer >= 0"),
    ({"peak_lr": 0.1, "total_steps": 10, "decay_steps": -2}, "decay_steps must be an integer >= 0"),
    ({"peak_lr": 0.1, "total_steps": 10, "warmup_steps": 6, "decay_steps": 5},
     r"warmup_steps \+ decay_steps must be <= total_steps = 10, got 6 \+ 5 = 11"),
    ({"peak_lr": 0.1, "total_steps": 10, "warmup_steps": 9}, r"must be <= total_steps = 10, got 9 \+ 2"),
    ({"peak_lr": 0.1, "total_steps": 10, "decay": "exp"}, "decay must be one of 'linear', 'sqrt', 'cosine'"),
    ({"peak_lr": 0.1, "total_steps": 10, "decay": "1-sqrt"}, "decay must be one of"),
    ({"peak_lr": 0.1, "total_steps": 10, "end_lr": 0.2}, r"end_lr must be in \[0, peak_lr\] = \[0, 0.1\]"),
    ({"peak_lr": 0.1, "total_steps": 10, "start_lr": 0.2}, r"start_lr must be in \[0, peak_lr\]"),
    ({"peak_lr": 0.1, "total_steps": 10, "start_lr": -1.0}, "start_lr must be finite and >= 0"),
])
def test_wsd_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WarmupStableDecay(**kwargs)


def test_wsd_rejects_bad_steps():
    with pytest.raises(ValueError, match="step must be an integer >= 0"):
        WarmupStableDecay(0.1, 10)(-1)


# ---------------------------------------------------------------- InverseSqrtDecay

def test_inverse_sqrt_is_vaswani_and_fairseq():
    d_model, warm = 512, 4000
    s = InverseSqrtDecay((d_model * warm) ** -0.5, warm)
    for t in [0, 1, 10, 3998, 3999, 4000, 4001, 10_000, 123_456]:
        n = t + 1  # Vaswani's step_num counts updates from 1
        vaswani = d_model ** -0.5 * min(n ** -0.5, n * warm ** -1.5)
        assert s(t) == pytest.approx(vaswani, rel=1e-12), t
    # fairseq inverse_sqrt with warmup_init_lr = 0: lr after num_updates = n updates
    peak = 5e-4
    lr_step, decay_factor = peak / warm, peak * warm ** 0.5
    s = InverseSqrtDecay(peak, warm)
    for n in [1, 2, 2000, 4000, 4001, 90_000]:
        fairseq = n * lr_step if n < warm else decay_factor * n ** -0.5
        assert s(n - 1) == pytest.approx(fairseq, rel=1e-12), n


def test_inverse_sqrt_edges_and_validation():
    s = InverseSqrtDecay(1.0, 4)
    assert [s(t) for t in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert s(15) == 0.5 and s(63) == 0.25  # sqrt(4 / 16), sqrt(4 / 64)
    assert InverseSqrtDecay(2.0, 1)(0) == 2.0 and InverseSqrtDecay(2.0, 1)(3) == 1.0
    with pytest.raises(ValueError, match="warmup_steps must be an integer >= 1"):
        InverseSqrtDecay(0.1, 0)
    with pytest.raises(ValueError, match="peak_lr must be finite and >= 0"):
        InverseSqrtDecay(-0.1, 10)


# ---------------------------------------------------------------- both: pickling, repr, ScheduleLR

CASES = [WarmupStableDecay(0.1, 100, warmup_steps=10, decay="cosine", end_lr=1e-3),
         WarmupStableDecay(0.1, 100, 5, 40, "sqrt", 0.01, 0.0), InverseSqrtDecay(0.3, 25)]


@pytest.mark.parametrize("schedule", CASES, ids=repr)
def test_pickle_and_repr_round_trip(schedule):
    for copy in (pickle.loads(pickle.dumps(schedule)), eval(repr(schedule), vars(schedules_module))):
        assert copy == schedule
        assert [copy(t) for t in range(0, 130, 7)] == [schedule(t) for t in range(0, 130, 7)]


def test_repr_shows_the_resolved_decay_steps_and_instances_are_frozen():
    s = WarmupStableDecay(0.1, 100, warmup_steps=10)
    assert repr(s) == ("WarmupStableDecay(peak_lr=0.1, total_steps=100, warmup_steps=10, decay_steps=20, "
                       "decay='linear', start_lr=0.0, end_lr=0.0)")
    assert repr(InverseSqrtDecay(0.1, 8)) == "InverseSqrtDecay(peak_lr=0.1, warmup_steps=8)"
    with pytest.raises(AttributeError):
        s.peak_lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("schedule", CASES, ids=repr)
def test_schedule_lr_drives_sgd_with_them(schedule):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = ScheduleLR(opt, schedule)
    for t in range(120):
        assert opt.param_groups[0]["lr"] == schedule(t)  # the lr of update t
        opt.step()
        sched.step()
