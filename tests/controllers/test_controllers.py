"""ScheduleLR, and what every controller shares: call order without warnings, plain state dicts that
resume exactly, and argument validation.

References: the schedules themselves (``ScheduleLR`` must reproduce ``schedule(t)`` bit for bit) and
PyTorch's own ``CosineAnnealingLR`` / ``SequentialLR``. The controller-specific rules are tested in
``test_controllers_gradient.py`` and ``test_controllers_loss.py``.
"""

import io
import math
import warnings

import pytest
import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, SequentialLR

from dsat_tutorial.schedules import Schedule
from dsat_tutorial.controllers import (AdaGradNormLR, BoldDriver, GradNormScaledLR, LossAdaptiveLR,
                                       NonFiniteSignalWarning, PlateauLR, ScheduleLR)
from dsat_tutorial.schedules import (Constant, CosineDecay, CosineWarmRestarts, OneCycle, Sawtooth,
                                     StepDecay, Warmup)


def make_opt(*lrs, momentum=0.0):
    """SGD over one small parameter per group, with the given per-group learning rates."""
    torch.manual_seed(0)
    groups = [{"params": [torch.randn(3, dtype=torch.float64, requires_grad=True)], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, momentum=momentum)


SCHEDULES = [
    CosineDecay(0.1, total_steps=100, end_lr=0.001),
    Warmup(CosineDecay(0.3, total_steps=150), warmup_steps=20),
    OneCycle(0.5, total_steps=120),
    StepDecay(0.2, rate=0.5, every=30),
    Sawtooth(0.1, period=17),
    CosineWarmRestarts(0.1, period=10, period_mult=2),
]


# ---------------------------------------------------------------- ScheduleLR: lr == schedule(t)

@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
def test_schedule_lr_equals_schedule_exactly(schedule):
    opt = make_opt(0.1)
    sched = ScheduleLR(opt, schedule)
    for t in range(200):  # past every schedule's end
        assert opt.param_groups[0]["lr"] == schedule(t)
        assert sched.get_last_lr() == [schedule(t)]
        assert sched.last_epoch == t
        opt.step()
        sched.step()


def test_schedule_lr_plain_callable_and_custom_schedule_call():
    """Any callable works, and a Schedule subclass that overrides __call__ is called, not bypassed."""

    class Shifted(Schedule):
        def __call__(self, step):
            return 0.5 / (1 + step)

    for schedule in (lambda t: 0.25 * 0.9 ** t, Shifted()):
        opt = make_opt(1.0)
        sched = ScheduleLR(opt, schedule)
        for t in range(30):
            assert sched.get_last_lr()[0] == schedule(t)
            opt.step()
            sched.step()


def test_schedule_lr_several_groups_keep_their_ratio():
    lrs = (0.1, 0.05, 0.3)
    opt = make_opt(*lrs)
    schedule = Warmup(CosineDecay(0.2, total_steps=50), warmup_steps=5)
    sched = ScheduleLR(opt, schedule)
    for t in range(60):
        expected = [schedule(t) * lr / lrs[0] for lr in lrs]
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(expected, rel=1e-15, abs=0.0)
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
        opt.step()
        sched.step()


def test_schedule_lr_matches_cosine_annealing_lr():
    """Against PyTorch's own scheduler over a full decay (issue 3: |diff| <= 1e-10 x peak)."""
    lr0, total = 0.1, 1000
    opt_a, opt_b = make_opt(lr0), make_opt(lr0)
    ours, theirs = ScheduleLR(opt_a, CosineDecay(lr0, total)), CosineAnnealingLR(opt_b, T_max=total)
    for _ in range(total):
        assert abs(ours.get_last_lr()[0] - theirs.get_last_lr()[0]) <= 1e-10 * lr0
        opt_a.step(); opt_b.step()
        ours.step(); theirs.step()


def test_schedule_lr_inside_sequential_lr():
    """PyTorch's SequentialLR jumps a scheduler to epoch 0 at its milestone (closed form)."""
    opt = make_opt(0.1)
    first, second = Constant(0.01), CosineDecay(0.1, total_steps=10)
    seq = SequentialLR(opt, [ScheduleLR(opt, first), ScheduleLR(opt, second)], milestones=[5])
    seen = []
    for _ in range(15):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        seq.step()
    assert seen == [first(t) for t in range(5)] + [second(t) for t in range(10)]


def test_schedule_lr_keeps_torchs_call_order_check():
    """The lean step() still lets PyTorch warn when scheduler.step() precedes every optimizer.step()."""
    opt = make_opt(0.1)
    sched = ScheduleLR(opt, CosineDecay(0.1, 10))
    with pytest.warns(UserWarning, match="optimizer.step"):
        sched.step()


@pytest.mark.parametrize("make", [
    lambda opt: PlateauLR(opt),
    lambda opt: LossAdaptiveLR(opt),
    lambda opt: BoldDriver(opt),
], ids=["PlateauLR", "LossAdaptiveLR", "BoldDriver"])
def test_a_metric_step_before_any_update_is_a_decision_and_does_not_warn(make):
    """Issue 12 (6): step(metric) moves no clock, so PyTorch's call-order warning does not apply."""
    opt = make_opt(0.1)
    sched = make(opt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails
        sched.step(1.0)
    assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]


@pytest.mark.parametrize("make", [
    lambda opt: PlateauLR(opt, schedule=CosineDecay(0.1, 10)),
    lambda opt: LossAdaptiveLR(opt, schedule=CosineDecay(0.1, 10)),
], ids=["PlateauLR+schedule", "LossAdaptiveLR+schedule"])
def test_post_update_controllers_keep_torchs_call_order_check_for_clock_ticks(make):
    sched = make(make_opt(0.1))
    with pytest.warns(UserWarning, match="optimizer.step"):
        sched.step()


# ---------------------------------------------------------------- documented call order: no warning

def _train(sched_kind, make, epochs=3, steps=4):
    """A real training loop on a linear model, in the order documented in dsat_tutorial.controllers."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    sched = make(opt)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    for _ in range(epochs):
        for _ in range(steps):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            if sched_kind == "pre":      # gradient-driven: after backward, before the update
                norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
                sched.step(norm)
                opt.step()
            else:                        # schedule clock: after the update
                opt.step()
                if sched_kind in ("clock", "schedule"):
                    sched.step()
        if sched_kind in ("clock", "epoch"):  # a metric once per epoch
            sched.step(loss.item())
    return sched


@pytest.mark.parametrize("kind,make", [
    ("schedule", lambda opt: ScheduleLR(opt, Warmup(CosineDecay(0.05, 20), 3))),
    ("pre", lambda opt: GradNormScaledLR(opt, alpha=1.0)),
    ("pre", lambda opt: GradNormScaledLR(opt, alpha=1.0, schedule=CosineDecay(0.05, 20))),
    ("pre", lambda opt: AdaGradNormLR(opt, b0=0.1)),
    ("clock", lambda opt: LossAdaptiveLR(opt, schedule=Warmup(CosineDecay(0.05, 20), 3))),
    ("epoch", lambda opt: LossAdaptiveLR(opt, smoothing=0.5)),
    ("epoch", lambda opt: BoldDriver(opt)),
    ("epoch", lambda opt: PlateauLR(opt, patience=0)),
    ("clock", lambda opt: PlateauLR(opt, schedule=Warmup(CosineDecay(0.05, 20), 3), patience=0)),
])
def test_documented_call_order_raises_no_warning(kind, make):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning at all fails, not only the configured ones
        sched = _train(kind, make)
    assert all(math.isfinite(lr) and lr >= 0 for lr in sched.get_last_lr())


# ---------------------------------------------------------------- state dicts: plain, resume exactly

def _signals(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, generator=g, dtype=torch.float64) * 3).tolist()


# (name, factory, kind): "pre" = step(signal) before the update; "post" = step(signal) after it;
# "clock" = step() after every update and step(signal) every 3rd update; "tick" = step() only.
CONTROLLERS = [
    ("ScheduleLR", lambda o: ScheduleLR(o, Warmup(CosineDecay(0.1, 30), 5)), "tick"),
    ("GradNormScaledLR", lambda o: GradNormScaledLR(o, alpha=2.0), "pre"),
    ("GradNormScaledLR+schedule", lambda o: GradNormScaledLR(o, 0.5, schedule=CosineDecay(0.1, 30)), "pre"),
    ("AdaGradNormLR", lambda o: AdaGradNormLR(o, b0=0.5), "pre"),
    ("LossAdaptiveLR", lambda o: LossAdaptiveLR(o, smoothing=0.3), "post"),
    ("LossAdaptiveLR+schedule", lambda o: LossAdaptiveLR(o, schedule=CosineDecay(0.1, 30)), "clock"),
    ("BoldDriver", lambda o: BoldDriver(o, increase=1.1, min_lr=[0.01, 0.0], max_lr=1.0), "post"),
    ("PlateauLR", lambda o: PlateauLR(o, factor=0.5, patience=1, cooldown=1, min_lr=[0.001, 0.0]), "post"),
    ("PlateauLR+schedule", lambda o: PlateauLR(o, Warmup(CosineDecay(0.1, 30), 4), patience=0), "clock"),
]


def _drive(opt, sched, kind, signals, start):
    """Feed signals[start:] in the documented order, returning the lrs after every call."""
    lrs = []
    for k in range(start, len(signals)):
        if kind == "pre":
            sched.step(signals[k])
            opt.step()
        else:
            opt.step()
            if kind == "post":
                sched.step(signals[k])
            else:
                sched.step()
                if kind == "clock" and k % 3 == 2:
                    sched.step(signals[k])
        lrs.append(sched.get_last_lr())
    return lrs


def _assert_plain(obj, path="state"):
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, str), f"{path} has a non-string key {k!r}"
            _assert_plain(v, f"{path}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _assert_plain(v, f"{path}[{i}]")
    else:
        assert obj is None or isinstance(obj, (bool, int, float, str, torch.Tensor)), \
            f"{path} is not plain data: {type(obj).__name__}"


@pytest.mark.parametrize("name,make,kind", CONTROLLERS, ids=[c[0] for c in CONTROLLERS])
@pytest.mark.parametrize("scheduler_first", [True, False], ids=["sched-loaded-first", "opt-loaded-first"])
def test_state_dict_round_trip_continues_exactly(name, make, kind, scheduler_first):
    n, k = 40, 17
    signals = _signals(n, seed=3)
    # uninterrupted run
    opt = make_opt(0.1, 0.05)
    full = _drive(opt, make(opt), kind, signals, 0)
    # interrupted run: k calls, checkpoint through bytes, weights_only load into fresh objects
    opt = make_opt(0.1, 0.05)
    sched = make(opt)
    first = _drive(opt, sched, kind, signals[:k], 0)
    _assert_plain(sched.state_dict())
    assert "schedule" not in sched.state_dict() and "optimizer" not in sched.state_dict()
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)
    opt2 = make_opt(0.1, 0.05)
    sched2 = make(opt2)
    if scheduler_first:
        sched2.load_state_dict(ckpt["sched"])
        opt2.load_state_dict(ckpt["opt"])
    else:
        opt2.load_state_dict(ckpt["opt"])
        sched2.load_state_dict(ckpt["sched"])
    assert sched2.get_last_lr() == first[-1]
    assert [g["lr"] for g in opt2.param_groups] == first[-1]
    rest = _drive(opt2, sched2, kind, signals, k)
    assert first + rest == full
    assert sched2.state_dict() == make_state_after(make, kind, signals)


@pytest.mark.parametrize("name,make,kind", CONTROLLERS, ids=[c[0] for c in CONTROLLERS])
def test_state_dict_snapshot_is_a_copy(name, make, kind):
    """A snapshot kept in memory (e.g. for a rollback) must not follow the controller as it moves on."""
    signals = _signals(30, seed=5)
    opt = make_opt(0.1, 0.05)
    sched = make(opt)
    _drive(opt, sched, kind, signals[:10], 0)
    snapshot = sched.state_dict()
    frozen = io.BytesIO()
    torch.save(snapshot, frozen)
    _drive(opt, sched, kind, signals, 10)
    frozen.seek(0)
    assert snapshot == torch.load(frozen, weights_only=True)
    assert sched.state_dict() != snapshot


def make_state_after(make, kind, signals):
    opt = make_opt(0.1, 0.05)
    sched = make(opt)
    _drive(opt, sched, kind, signals, 0)
    return sched.state_dict()


def test_schedule_lr_resume_trains_identically():
    """Issue 3: save after k steps, load (weights_only) into a fresh model, optimizer and scheduler."""
    schedule = Warmup(CosineDecay(0.1, total_steps=40), warmup_steps=5)

    def setup():
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, opt, ScheduleLR(opt, schedule)

    x, y = torch.randn(32, 4, generator=torch.Generator().manual_seed(1)), torch.ones(32, 1)

    def train(model, opt, sched, steps, lrs):
        for _ in range(steps):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])

    model, opt, sched = setup()
    lrs_full = []
    train(model, opt, sched, 45, lrs_full)
    w_full = model.weight.detach().clone()

    model, opt, sched = setup()
    lrs = []
    train(model, opt, sched, 12, lrs)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)
    model, opt, sched = setup()
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["opt"])
    sched.load_state_dict(ckpt["sched"])
    train(model, opt, sched, 33, lrs)
    assert lrs == lrs_full
    assert lrs_full[:6] == [schedule(t) for t in range(1, 7)]
    assert torch.equal(model.weight.detach(), w_full)


@pytest.mark.parametrize("name,make,kind", CONTROLLERS, ids=[c[0] for c in CONTROLLERS])
def test_tensor_learning_rates_keep_their_type_and_values(name, make, kind):
    """Tensor lrs (torch allows them, e.g. for compiled steps) are filled in place, as torch does."""
    signals = _signals(12, seed=9)
    opt_f = make_opt(0.1, 0.05)
    opt_t = make_opt(torch.tensor(0.1, dtype=torch.float64), torch.tensor(0.05, dtype=torch.float64))
    tensors = [g["lr"] for g in opt_t.param_groups]
    lrs_f = _drive(opt_f, make(opt_f), kind, signals, 0)
    lrs_t = _drive(opt_t, make(opt_t), kind, signals, 0)
    assert all(g["lr"] is lr for g, lr in zip(opt_t.param_groups, tensors))   # same objects, filled
    flat_t = [float(x) for row in lrs_t for x in row]
    assert flat_t == pytest.approx([x for row in lrs_f for x in row], rel=1e-15)


# ---------------------------------------------------------------- scale_lr: the policy's persistent factor

@pytest.mark.parametrize("name,make,kind", CONTROLLERS, ids=[c[0] for c in CONTROLLERS])
def test_scale_lr_is_persistent_and_exact(name, make, kind):
    """After scale_lr(f) every lr is f times the lr of an unscaled twin driven identically."""
    signals = _signals(30, seed=7)
    opt_a, opt_b = make_opt(0.1, 0.05), make_opt(0.1, 0.05)
    plain, scaled = make(opt_a), make(opt_b)
    _drive(opt_a, plain, kind, signals[:8], 0)
    _drive(opt_b, scaled, kind, signals[:8], 0)
    new = scaled.scale_lr(0.25)
    assert new == [g["lr"] for g in opt_b.param_groups] == scaled.get_last_lr()
    assert new == pytest.approx([0.25 * lr for lr in plain.get_last_lr()], rel=1e-15)
    lrs_plain = _drive(opt_a, plain, kind, signals, 8)
    lrs_scaled = _drive(opt_b, scaled, kind, signals, 8)
    for p, q in zip(lrs_plain, lrs_scaled):
        assert q == pytest.approx([0.25 * lr for lr in p], rel=1e-15, abs=0)
    assert scaled.state_dict()["lr_scale"] == 0.25
    with pytest.raises(ValueError, match="factor must be finite and > 0"):
        scaled.scale_lr(0.0)


def test_policy_scale_learning_rate_uses_the_hook():
    policy = pytest.importorskip("dsat_tutorial.policy")
    schedule = CosineDecay(0.1, total_steps=20)
    opt = make_opt(0.1)
    sched = ScheduleLR(opt, schedule)
    policy.scale_learning_rate(opt, [sched], 0.5)
    for t in range(1, 5):
        opt.step()
        sched.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(0.5 * schedule(t), rel=1e-15)


# ---------------------------------------------------------------- non-finite signals

@pytest.mark.parametrize("make", [
    lambda o: GradNormScaledLR(o, 1.0), lambda o: AdaGradNormLR(o), lambda o: LossAdaptiveLR(o),
    lambda o: BoldDriver(o), lambda o: PlateauLR(o, patience=0),
], ids=["GradNormScaledLR", "AdaGradNormLR", "LossAdaptiveLR", "BoldDriver", "PlateauLR"])
def test_nonfinite_signal_changes_nothing_and_is_counted(make):
    opt = make_opt(0.1, 0.2)
    sched = make(opt)
    for s in (2.0, 1.0, 3.0):
        opt.step()
        sched.step(s)
    before_lrs, before_state = sched.get_last_lr(), sched.state_dict()
    for i, bad in enumerate((math.nan, math.inf, -math.inf, torch.tensor(math.nan))):
        opt.step()
        with pytest.warns(NonFiniteSignalWarning, match="non-finite"):
            sched.step(bad)
        assert sched.get_last_lr() == before_lrs
        assert [g["lr"] for g in opt.param_groups] == before_lrs
        assert sched.nonfinite_signals == i + 1
    after = sched.state_dict()
    for key in ("nonfinite_signals", "last_epoch", "_step_count"):
        after.pop(key), before_state.pop(key)
    assert after == before_state


# ---------------------------------------------------------------- argument validation

def _opt():
    return make_opt(0.1, 0.2)


CD = CosineDecay(0.1, 10)
INVALID = [
    (lambda: ScheduleLR(make_opt(0.0, 0.0), CD), r"at least one param group with lr > 0"),
    (lambda: ScheduleLR(make_opt(0.1, 0.1), [CD]), r"list of 2 such callables"),
    (lambda: ScheduleLR(_opt(), 0.1), r"schedule must be a callable"),
    (lambda: ScheduleLR(_opt(), CD, last_epoch=-2), r"last_epoch must be an integer >= -1"),
    (lambda: GradNormScaledLR(_opt(), 0.0), r"alpha must be finite and > 0"),
    (lambda: GradNormScaledLR(_opt(), -1.0), r"alpha must be finite and > 0"),
    (lambda: GradNormScaledLR(_opt(), math.inf), r"alpha must be a finite real"),
    (lambda: GradNormScaledLR(_opt(), math.nan), r"alpha must be a finite real"),
    (lambda: GradNormScaledLR(_opt(), 1.0, schedule=0.1), r"schedule must be None or a callable"),
    (lambda: GradNormScaledLR(make_opt(0.0), 1.0, schedule=CD), r"at least one param group with lr > 0"),
    (lambda: AdaGradNormLR(_opt(), b0=0.0), r"b0 must be finite and > 0"),
    (lambda: AdaGradNormLR(_opt(), b0=-1e-2), r"b0 must be finite and > 0"),
    (lambda: LossAdaptiveLR(_opt(), min_loss=0.0), r"min_loss must be finite and > 0"),
    (lambda: LossAdaptiveLR(_opt(), min_loss=-1.0), r"min_loss must be finite and > 0"),
    (lambda: LossAdaptiveLR(_opt(), smoothing=1.0), r"smoothing must be in \[0, 1\)"),
    (lambda: LossAdaptiveLR(_opt(), smoothing=-0.1), r"smoothing must be in \[0, 1\)"),
    (lambda: LossAdaptiveLR(_opt(), floor=0.0), r"floor must be in \(0, 1\]"),
    (lambda: LossAdaptiveLR(_opt(), floor=1.5), r"floor must be in \(0, 1\]"),
    (lambda: BoldDriver(_opt(), increase=0.99), r"increase must be in \[1, inf\]"),
    (lambda: BoldDriver(_opt(), increase=math.inf), r"increase must be a finite real"),
    (lambda: BoldDriver(_opt(), decrease=0.0), r"decrease must be in \(0, 1\)"),
    (lambda: BoldDriver(_opt(), decrease=1.0), r"decrease must be in \(0, 1\)"),
    (lambda: BoldDriver(_opt(), min_lr=-0.1), r"min_lr must be finite and >= 0"),
    (lambda: BoldDriver(_opt(), max_lr=0.0), r"max_lr must be in \(0, inf\]"),
    (lambda: BoldDriver(_opt(), min_lr=[0.0]), r"min_lr must be a number or a list with one entry per"),
    (lambda: BoldDriver(_opt(), min_lr=0.5, max_lr=0.4), r"min_lr must be <= max_lr"),
    (lambda: BoldDriver(_opt(), max_lr=0.15), r"lr of param group 1 must be > 0 and in \[min_lr, max_lr\]"),
    (lambda: BoldDriver(make_opt(0.0)), r"lr of param group 0 must be > 0"),
    (lambda: PlateauLR(_opt(), mode="avg"), r"mode must be one of 'min', 'max'"),
    (lambda: PlateauLR(_opt(), factor=1.0), r"factor must be in \(0, 1\)"),
    (lambda: PlateauLR(_opt(), factor=0.0), r"factor must be in \(0, 1\)"),
    (lambda: PlateauLR(_opt(), patience=-1), r"patience must be an integer >= 0"),
    (lambda: PlateauLR(_opt(), patience=2.0), r"patience must be an integer >= 0"),
    (lambda: PlateauLR(_opt(), cooldown=-1), r"cooldown must be an integer >= 0"),
    (lambda: PlateauLR(_opt(), threshold=-1e-4), r"threshold must be finite and >= 0"),
    (lambda: PlateauLR(_opt(), threshold_mode="pct"), r"threshold_mode must be one of 'rel', 'abs'"),
    (lambda: PlateauLR(_opt(), min_lr=[0.0, -1.0]), r"min_lr\[1\] must be finite and >= 0"),
    (lambda: PlateauLR(_opt(), min_lr=[0.0, 0.0, 0.0]), r"min_lr must be a number or a list"),
    (lambda: PlateauLR(_opt(), eps=-1.0), r"eps must be finite and >= 0"),
    (lambda: PlateauLR(_opt(), min_scale=1.5), r"min_scale must be in \[0, 1\]"),
    (lambda: PlateauLR(_opt(), schedule="cosine"), r"schedule must be None or a callable"),
]


@pytest.mark.parametrize("build,message", INVALID, ids=[m for _, m in INVALID])
def test_invalid_arguments_raise_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("make", [lambda o: GradNormScaledLR(o, 1.0), lambda o: AdaGradNormLR(o)],
                         ids=["GradNormScaledLR", "AdaGradNormLR"])
def test_gradient_controllers_reject_negative_norm_and_missing_norm(make):
    sched = make(_opt())
    with pytest.raises(ValueError, match="grad_norm must be >= 0"):
        sched.step(-1.0)
    with pytest.raises(TypeError, match=r"step\(grad_norm\)"):
        sched.step()


def test_bold_driver_needs_the_epoch_loss():
    with pytest.raises(TypeError, match=r"step\(epoch_loss\)"):
        BoldDriver(_opt()).step()
