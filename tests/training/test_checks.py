"""fit refuses what it cannot drive (issue 12): closure-based optimizers, two schedulers fighting over one lr.

Legitimate combinations keep working: PyTorch's chainable schedulers chained, and schedulers on
different optimizers.
"""

import pytest
import torch
from torch.optim import lr_scheduler as L

from dsat_tutorial.controllers import GradNormScaledLR, PlateauLR, ScheduleLR
from dsat_tutorial.data import make_loaders, sine_forecast
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.schedules import CosineDecay
from dsat_tutorial.training import Scheduled, fit

MSE = torch.nn.MSELoss()


def setup(lr=1e-2):
    task = sine_forecast(64, 8, seed=1)
    train, val = make_loaders(task.X, task.y, batch_size=16, seed=0)
    torch.manual_seed(0)
    model = SequenceRegressor(1, 4)
    return model, train, val, torch.optim.SGD(model.parameters(), lr=lr)


def test_lbfgs_is_refused_with_a_clear_value_error():
    model, train, val, _ = setup()
    opt = torch.optim.LBFGS(model.parameters(), lr=0.1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"LBFGS needs optimizer.step\(closure\)"):
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, progress=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize(("first", "second"), [
    (lambda o: ScheduleLR(o, CosineDecay(1e-2, 20)), lambda o: PlateauLR(o)),
    (lambda o: ScheduleLR(o, CosineDecay(1e-2, 20)), lambda o: L.ReduceLROnPlateau(o)),
    (lambda o: GradNormScaledLR(o, alpha=1.0), lambda o: ScheduleLR(o, CosineDecay(1e-2, 20))),
    (lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=20), lambda o: L.StepLR(o, 2)),
], ids=["ScheduleLR+PlateauLR", "ScheduleLR+ReduceLROnPlateau", "GradNormScaledLR+ScheduleLR",
        "OneCycleLR+StepLR"])
def test_two_schedulers_writing_one_lr_raise_naming_both_and_the_composition(first, second):
    model, train, val, opt = setup()
    a, b = first(opt), second(opt)
    names = f"{type(a).__name__} and {type(b).__name__}"
    with pytest.raises(ValueError, match=rf"schedulers: {names} both set the lr.*PlateauLR\(optimizer, "
                                         r"schedule=\.\.\.\).*GradNormScaledLR\(optimizer, alpha, schedule"):
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, progress=False,
            schedulers=[a, Scheduled(b, "epoch", "val_loss") if isinstance(b, PlateauLR) else b])


def test_torch_chainable_schedulers_may_still_be_chained():
    """StepLR and ExponentialLR both multiply the current lr: PyTorch's documented chaining works in fit."""
    model, train, val, opt = setup(lr=0.1)
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=4, progress=False,
        schedulers=[L.StepLR(opt, step_size=2, gamma=0.1), L.ExponentialLR(opt, gamma=0.5)])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.1 ** 2 * 0.5 ** 4)


def test_schedulers_on_different_optimizers_do_not_conflict():
    model, train, val, opt = setup()
    other = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, progress=False,
        schedulers=[ScheduleLR(opt, CosineDecay(1e-2, 20)), PlateauLR(other)])
