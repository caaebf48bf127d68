"""Parameter groups (issue 12): add_param_group, per-group schedules, lr-0 groups; signal and step types.

References are PyTorch's own schedulers run side by side (``ReduceLROnPlateau``, ``CyclicLR`` with one
``base_lr`` per group) or closed forms written out here.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import CyclicLR, ReduceLROnPlateau

from dsat_tutorial.controllers import (AdaGradNormLR, BoldDriver, GradNormScaledLR, LossAdaptiveLR, PlateauLR,
                                       ScheduleLR)
from dsat_tutorial.schedules import Constant, CosineDecay, LinearDecay, Triangular


def _param():
    return torch.nn.Parameter(torch.zeros(2))


def _opt(*lrs):
    return torch.optim.SGD([{"params": [_param()], "lr": lr} for lr in lrs])


def _update(opt):
    for g in opt.param_groups:
        for p in g["params"]:
            p.grad = torch.ones_like(p)
    opt.step()


# ------------------------------------------------------------------ defect 1: optimizer.add_param_group

ALL = {
    "ScheduleLR": lambda o: ScheduleLR(o, CosineDecay(0.1, 20)),
    "ScheduleLR per group": lambda o: ScheduleLR(o, [CosineDecay(0.1, 20)]),
    "PlateauLR": lambda o: PlateauLR(o, factor=0.5, patience=0),
    "PlateauLR+schedule": lambda o: PlateauLR(o, CosineDecay(0.1, 20), factor=0.5, patience=0),
    "LossAdaptiveLR": lambda o: LossAdaptiveLR(o),
    "BoldDriver": lambda o: BoldDriver(o),
    "GradNormScaledLR": lambda o: GradNormScaledLR(o, alpha=1.0, schedule=CosineDecay(0.1, 20)),
    "AdaGradNormLR": lambda o: AdaGradNormLR(o, b0=1.0),
}


def _drive(sched, opt, k):
    """One step in each controller's documented call order, with a signal where it needs one."""
    if getattr(sched, "pre_update", False):
        sched.step(1.0 + 0.1 * k)
        _update(opt)
        return
    _update(opt)
    if isinstance(sched, ScheduleLR):
        sched.step()
    elif isinstance(sched, BoldDriver):
        sched.step(1.0 / (k + 1))
    else:
        sched.step()
        sched.step(1.0)


@pytest.mark.parametrize("name", list(ALL))
def test_every_controller_keeps_working_after_add_param_group(name):
    opt = _opt(0.1)
    sched = ALL[name](opt)
    for k in range(3):
        _drive(sched, opt, k)
    opt.add_param_group({"params": [_param()], "lr": 0.05})
    for k in range(3, 8):
        _drive(sched, opt, k)  # raised "zip() argument 2 is shorter than argument 1" before the fix
    assert len(sched.get_last_lr()) == 2
    assert opt.param_groups[1]["initial_lr"] == 0.05
    assert all(math.isfinite(float(g["lr"])) for g in opt.param_groups)
    # state_dict round trips: a rebuilt controller on the same optimizer continues identically
    state = torch.load(io.BytesIO(_save(sched.state_dict())), weights_only=True)
    twin_opt = _opt(0.1, 0.05)
    twin_opt.load_state_dict(opt.state_dict())
    if name == "ScheduleLR per group":  # the held group needs a placeholder schedule; its state holds the lr
        twin = ScheduleLR(twin_opt, [CosineDecay(0.1, 20), Constant(1.0)])
    else:
        twin = ALL[name](twin_opt)
    twin.load_state_dict(state)
    for k in range(8, 11):
        _drive(sched, opt, k), _drive(twin, twin_opt, k)
        assert twin.get_last_lr() == sched.get_last_lr()


def _save(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_added_group_keeps_its_ratio_to_the_reference_group_at_that_moment():
    opt = _opt(0.2)
    schedule = LinearDecay(0.2, 10)
    sched = ScheduleLR(opt, schedule)
    for _ in range(4):
        _update(opt), sched.step()
    now = opt.param_groups[0]["lr"]  # schedule(4) = 0.12
    opt.add_param_group({"params": [_param()], "lr": 0.03})  # a quarter of the reference lr now
    for t in range(5, 9):
        _update(opt), sched.step()
        assert sched.get_last_lr()[1] == pytest.approx(schedule(t) * 0.03 / now, rel=1e-12)


def test_plateau_reduces_an_added_group_as_reduce_lr_on_plateau_does():
    ours_opt, torch_opt = _opt(0.1), _opt(0.1)
    ours, theirs = PlateauLR(ours_opt, factor=0.5, patience=1), ReduceLROnPlateau(torch_opt, factor=0.5,
                                                                                   patience=1)
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.99, 0.8, 0.9, 0.9, 0.9]
    for k, m in enumerate(metrics):
        if k == 3:
            for opt in (ours_opt, torch_opt):
                opt.add_param_group({"params": [_param()], "lr": 0.3})
        _update(ours_opt), _update(torch_opt)
        ours.step(m), theirs.step(m)
        assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in torch_opt.param_groups]
    assert ours_opt.param_groups[1]["lr"] < 0.3  # the added group was reduced


# ------------------------------------------------------------------ per-group schedules, lr-0 groups

def test_per_group_schedules_port_cyclic_lr_with_one_base_lr_per_group():
    """PyTorch's CyclicLR(base_lr=[1, 2], max_lr=[5, 10]) and ScheduleLR with one Triangular per group."""
    torch_opt, ours_opt = _opt(0.1, 0.1), _opt(0.1, 0.1)
    theirs = CyclicLR(torch_opt, base_lr=[1.0, 2.0], max_lr=[5.0, 10.0], step_size_up=7, cycle_momentum=False)
    ours = ScheduleLR(ours_opt, [Triangular(1.0, 5.0, 7), Triangular(2.0, 10.0, 7)])
    for _ in range(50):
        assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx(
            [g["lr"] for g in torch_opt.param_groups], rel=1e-12)
        _update(torch_opt), _update(ours_opt)
        theirs.step(), ours.step()


def test_lr_zero_groups_are_allowed_in_both_forms_and_stay_at_zero():
    frozen_first = _opt(0.0, 0.1, 0.05)
    single = ScheduleLR(frozen_first, CosineDecay(0.2, 10))
    for t in range(1, 6):
        _update(frozen_first), single.step()
        s = CosineDecay(0.2, 10)(t)
        assert single.get_last_lr() == pytest.approx([0.0, s, s / 2], rel=1e-12)
    per = ScheduleLR(_opt(0.0, 0.1), [Constant(0.0), CosineDecay(0.1, 10)])
    assert per.get_last_lr() == [0.0, 0.1]


def test_per_group_added_group_holds_its_lr_until_given_a_schedule():
    opt = _opt(0.1)
    sched = ScheduleLR(opt, [LinearDecay(0.1, 10)])
    _update(opt), sched.step()
    opt.add_param_group({"params": [_param()], "lr": 0.07})
    for _ in range(3):
        _update(opt), sched.step()
        assert sched.get_last_lr()[1] == 0.07
    sched.set_schedule(1, Constant(0.01))
    _update(opt), sched.step()
    assert sched.get_last_lr() == pytest.approx([LinearDecay(0.1, 10)(5), 0.01])


# ------------------------------------------------------------------ defect 6: signal and step types

@pytest.mark.parametrize("bad", [True, False, "1.0", None.__class__, [1.0]], ids=repr)
def test_bool_str_and_other_signals_are_rejected_naming_the_argument(bad):
    opt = _opt(0.1)
    sched = PlateauLR(opt)
    _update(opt)
    with pytest.raises(ValueError, match=r"PlateauLR.step\(signal\) must be a real number"):
        sched.step(bad)
    assert sched.best == math.inf  # nothing was recorded


@pytest.mark.parametrize("good", [1.5, 2, np.float32(1.5), np.int64(2), torch.tensor(1.5),
                                  torch.tensor(1.5, requires_grad=True)], ids=repr)
def test_real_numbers_and_one_element_tensors_are_accepted_as_signals(good):
    opt = _opt(0.1)
    sched = PlateauLR(opt)
    _update(opt)
    sched.step(good)
    assert sched.best == float(good.detach() if isinstance(good, torch.Tensor) else good)


@pytest.mark.parametrize("step", [3, np.int64(3), np.int32(3), torch.tensor(3), torch.tensor(3, dtype=torch.int32)],
                         ids=repr)
def test_integer_steps_of_every_kind_are_accepted(step):
    assert CosineDecay(0.1, 10)(step) == CosineDecay(0.1, 10)(3)


@pytest.mark.parametrize("step", [3.0, True, torch.tensor(3.0), torch.tensor([3]), torch.tensor(True)], ids=repr)
def test_non_integer_steps_are_rejected(step):
    with pytest.raises(ValueError, match="step must be an integer >= 0"):
        CosineDecay(0.1, 10)(step)
