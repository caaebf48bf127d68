"""loop_position: checked against the order fit actually calls optimizer.step and scheduler.step."""

import types

import pytest
import torch

from dsat_tutorial import controllers as C
from dsat_tutorial.data import make_loaders, sine_forecast
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.schedules import CosineDecay
from dsat_tutorial.training import Scheduled, fit, loop_position


def _calls(make):
    """Run fit for 2 epochs of 2 batches; log 'opt' and ('sched', has_signal) in call order."""
    task = sine_forecast(32, 6, seed=1)
    train, val = make_loaders(task.X, task.y, batch_size=8, seed=0)
    torch.manual_seed(0)
    model = SequenceRegressor(1, 4)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    log = []
    opt_step = opt.step                       # patched before the scheduler wraps it (torch's order check)

    def logged_step(self, *a, **k):
        log.append("opt")
        return opt_step(*a, **k)

    opt.step = types.MethodType(logged_step, opt)
    sched = make(opt)
    sched_step = sched.step
    sched.step = lambda *a: (log.append(("sched", bool(a))), sched_step(*a))[1]
    fit(model, train, val, loss_fn=torch.nn.MSELoss(), optimizer=opt, epochs=2, schedulers=[sched],
        progress=False)
    return sched, log


@pytest.mark.parametrize("make, when", [
    (lambda o: C.GradNormScaledLR(o, alpha=1.0), "before the update"),
    (lambda o: C.DoGLR(o), "before the update"),
    (lambda o: C.ScheduleLR(o, CosineDecay(0.1, 10)), "after the update"),
    (lambda o: C.PlateauLR(o), "end of epoch"),
    (lambda o: C.LossAdaptiveLR(o), "end of epoch"),
    (lambda o: C.PlateauLR(o, CosineDecay(0.1, 10)), "after the update + end of epoch"),
])
def test_when_matches_the_call_order_in_fit(make, when):
    sched, log = _calls(make)
    assert loop_position(sched, has_val=True).when == when
    opt_idx = [i for i, e in enumerate(log) if e == "opt"]
    sched_calls = [(i, e[1]) for i, e in enumerate(log) if e != "opt"]
    assert len(opt_idx) == 8
    if when == "before the update":        # one signal call right before each update
        assert [i + 1 for i, sig in sched_calls] == opt_idx and all(sig for _, sig in sched_calls)
    elif when == "after the update":        # one tick right after each update
        assert [i - 1 for i, sig in sched_calls] == opt_idx and not any(sig for _, sig in sched_calls)
    elif when == "end of epoch":            # one signal call after the 4th and 8th update only
        assert [(i, sig) for i, sig in sched_calls] == [(4, True), (9, True)]
    else:                                   # a tick after each update and a signal at each epoch's end
        assert sum(not sig for _, sig in sched_calls) == 8 and sum(sig for _, sig in sched_calls) == 2


def test_signal_follows_validation_and_declaration_wins():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    assert loop_position(C.PlateauLR(opt), has_val=False).signal == "train_loss"
    assert loop_position(C.PlateauLR(opt), has_val=True).signal == "val_loss"
    declared = Scheduled(C.LossAdaptiveLR(opt), "step", "batch_loss")
    assert loop_position(declared) == ("step", "batch_loss", "after the update")
