"""Tests for how fit steps schedulers: the default table, Scheduled declarations, signals, bold driver.

Each lr sequence fit records is compared with the same PyTorch scheduler driven by hand, or with the
controller's formula evaluated on the signals fit recorded.
"""

import math

import pytest
import torch
from torch.optim import lr_scheduler as L

from dsat_tutorial import controllers as C
from dsat_tutorial.training.scheduled import resolve
from dsat_tutorial.data import make_loaders, sine_forecast
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.schedules import CosineDecay
from dsat_tutorial.training import Callback, Scheduled, fit

MSE = torch.nn.MSELoss()


def setup(lr=1e-2, n=128, opt="adam"):
    task = sine_forecast(n, 8, seed=2)
    train, val = make_loaders(task.X, task.y, batch_size=16, seed=0)
    torch.manual_seed(0)
    model = SequenceRegressor(1, 8)
    make = torch.optim.Adam if opt == "adam" else torch.optim.SGD
    return model, make(model.parameters(), lr=lr), train, val


def _opt():
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


@pytest.mark.parametrize("make, has_val, expected", [
    (lambda o: C.GradNormScaledLR(o, alpha=1.0), True, ("step", "grad_norm")),
    (lambda o: C.AdaGradNormLR(o), True, ("step", "grad_norm")),
    (lambda o: C.ScheduleLR(o, CosineDecay(0.1, 10)), True, ("step", None)),
    (lambda o: C.PlateauLR(o, CosineDecay(0.1, 10)), True, ("step+epoch", "val_loss")),
    (lambda o: C.PlateauLR(o), True, ("epoch", "val_loss")),
    (lambda o: C.PlateauLR(o), False, ("epoch", "train_loss")),
    (lambda o: C.LossAdaptiveLR(o), True, ("epoch", "train_loss")),
    (lambda o: C.BoldDriver(o), True, ("epoch", "train_loss")),
    (lambda o: L.ReduceLROnPlateau(o), True, ("epoch", "val_loss")),
    (lambda o: L.ReduceLROnPlateau(o), False, ("epoch", "train_loss")),
    (lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=10), True, ("step", None)),
    (lambda o: L.CyclicLR(o, 0.01, 0.1), True, ("step", None)),
    (lambda o: L.StepLR(o, 3), True, ("epoch", None)),
    (lambda o: L.CosineAnnealingLR(o, 10), True, ("epoch", None)),
])
def test_default_declarations(make, has_val, expected):
    (s,) = resolve([make(_opt())], has_val)
    assert (s.interval, s.signal) == expected


def test_explicit_declaration_wins_and_is_validated():
    sched = L.StepLR(_opt(), 3)
    (s,) = resolve([Scheduled(sched, "step")], True)
    assert s.interval == "step"
    with pytest.raises(ValueError, match="interval"):
        Scheduled(sched, "batch")
    with pytest.raises(ValueError, match="signal"):
        Scheduled(sched, "epoch", "grad_norm")
    with pytest.raises(ValueError, match="val_loader"):
        resolve([Scheduled(sched, "epoch", "val_loss")], has_val=False)
    with pytest.raises(ValueError, match="step"):
        Scheduled(object())


def test_onecycle_is_stepped_once_per_batch():
    model, opt, train, val = setup()
    epochs, steps = 3, 3 * len(train)
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=epochs, progress=False,
            schedulers=L.OneCycleLR(opt, max_lr=0.05, total_steps=steps))
    ref_opt = _opt()
    ref = L.OneCycleLR(ref_opt, max_lr=0.05, total_steps=steps)
    expected = []
    for _ in range(steps):
        expected.append(ref_opt.param_groups[0]["lr"])
        ref_opt.step()
        ref.step()
    assert h.steps["lr"] == pytest.approx(expected, rel=1e-12)


def test_steplr_is_stepped_once_per_epoch():
    model, opt, train, val = setup()
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=5, progress=False,
            schedulers=[L.StepLR(opt, step_size=2, gamma=0.1)])
    assert [lr for (lr,) in h["lr"]] == pytest.approx([1e-2, 1e-2, 1e-3, 1e-3, 1e-4], rel=1e-12)


def test_reduce_on_plateau_receives_the_validation_loss():
    model, opt, train, val = setup(lr=0.05)
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=6, progress=False,
            schedulers=[L.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=0.3)])
    ref_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.05)
    ref = L.ReduceLROnPlateau(ref_opt, factor=0.5, patience=0, threshold=0.3)
    expected = []
    for v in h["val_loss"]:
        expected.append([ref_opt.param_groups[0]["lr"]])
        ref.step(v)
    assert h["lr"] == expected and len({lr[0] for lr in expected}) > 1


def test_grad_norm_controller_sets_the_lr_of_that_very_update():
    model, opt, train, val = setup(lr=0.1, opt="sgd")
    alpha = 4.0
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, progress=False, clip=0.5,
            schedulers=[C.GradNormScaledLR(opt, alpha=alpha)])
    # the formula on the *recorded* pre-clip norm of the same step (no one-step lag)
    expected = [0.1 / math.sqrt(1 + alpha * g * g) for g in h.steps["grad_norm"]]
    assert h.steps["lr"] == pytest.approx(expected, rel=1e-12)
    assert max(h.steps["grad_norm"]) > 0.5  # some steps were clipped after the norm was measured


def test_batch_loss_signal_after_the_update_for_post_update_controllers():
    model, opt, train, val = setup(lr=0.1, opt="sgd")
    sched = C.LossAdaptiveLR(opt, min_loss=0.5)
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, progress=False,
            schedulers=[Scheduled(sched, "step", "batch_loss")])
    # smoothing 0: L-bar is the loss of the previous step, which sets the lr of this one (one-step lag)
    expected = [0.1] + [0.1 / (1 + loss / 0.5) for loss in h.steps["loss"][:-1]]
    assert h.steps["lr"] == pytest.approx(expected, rel=1e-12)


def test_bold_driver_rejects_a_bad_epoch_and_reverts_the_weights():
    model, opt, train, val = setup(lr=1e-2)
    kept = {}

    class Spoil(Callback):  # epoch 3: a 50x loss (and gradient) spoils the epoch
        def on_loss(self, state, loss):
            return loss * 50.0 if state.epoch == 3 else loss

        def on_epoch_end(self, state):
            kept[state.epoch] = ([p.detach().clone() for p in state.model.parameters()],
                                 {k: v["exp_avg"].clone() for k, v in state.optimizer.state.items()})

    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=4, progress=False, callbacks=[Spoil()],
            schedulers=[C.BoldDriver(opt, increase=1.1, decrease=0.5)])
    (event,) = h.find("rollback")
    assert event["epoch"] == 3 and event["source"] == "BoldDriver"
    params2, moments2 = kept[2]
    params3, moments3 = kept[3]
    assert all(torch.equal(a, b) for a, b in zip(params2, params3))          # weights reverted
    assert all(torch.equal(moments2[k], moments3[k]) for k in moments2)      # optimizer state too
    # lrs: epoch 1 is the reference, epoch 2 improved (x1.1), epoch 3 rejected (x0.5) -> epoch 4
    assert [lr for (lr,) in h["lr"]] == pytest.approx([1e-2, 1e-2, 1.1e-2, 0.55e-2], rel=1e-12)
    assert h["train_loss"][3] < h["train_loss"][2]


def test_plateau_with_schedule_is_stepped_per_step_and_per_epoch():
    model, opt, train, val = setup(lr=1e-2)
    schedule = CosineDecay(1e-2, 100)
    sched = C.PlateauLR(opt, schedule, patience=0, factor=0.5, threshold=0.5)
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=3, progress=False, schedulers=[sched])
    per_epoch = len(train)
    # each step's lr is schedule(t) times a scale that only changes at epoch ends (powers of 0.5)
    for t, lr in enumerate(h.steps["lr"]):
        scale = lr / schedule(t)
        assert math.log2(scale) == pytest.approx(round(math.log2(scale)), abs=1e-9)
        if t % per_epoch:
            assert scale == pytest.approx(h.steps["lr"][t - 1] / schedule(t - 1), rel=1e-9)
    assert h.steps["lr"][-1] < 0.6 * schedule(len(h.steps["lr"]) - 1)  # at least one reduction
