"""PolyakLR and DoGLR inside fit: bare, fit infers their signals (pre-update; Polyak gets the batch loss
and the gradient norm, DoG the norm), and a run equals a hand-written loop that steps them by hand
(clip=None): the same weights, bit for bit, and the same recorded learning rates.
"""

import copy

import pytest
import torch

from dsat_tutorial.controllers import DoGLR, PolyakLR
from dsat_tutorial.training import Scheduled, fit
from dsat_tutorial.training.scheduled import resolve

MSE = torch.nn.MSELoss()
EPOCHS = 6


def problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(96, 4, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]]) + 0.3  # realizable: f* = 0
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 1)
    loader = [(X[i:i + 16], y[i:i + 16]) for i in range(0, 96, 16)]
    return model, loader


CONTROLLERS = {
    "polyak": lambda opt: PolyakLR(opt),
    "sps_max": lambda opt: PolyakLR(opt, f_star=0.0, c=0.5, max_lr=0.3),
    "dog": lambda opt: DoGLR(opt, reps_rel=1e-2),
}


def test_fit_infers_pre_update_signals():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    polyak, dog = resolve([PolyakLR(opt), DoGLR(opt)], has_val=True)
    assert (polyak.interval, polyak.signal, polyak.pre_update) == ("step", "batch_loss+grad_norm", True)
    assert (dog.interval, dog.signal, dog.pre_update) == ("step", "grad_norm", True)
    with pytest.raises(ValueError, match="signal"):
        Scheduled(PolyakLR(opt), "epoch", "batch_loss+grad_norm")


@pytest.mark.parametrize("name", list(CONTROLLERS))
def test_fit_equals_a_hand_written_loop(name):
    make = CONTROLLERS[name]
    model, loader = problem()
    twin = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    history = fit(model, loader, loss_fn=MSE, optimizer=opt, epochs=EPOCHS, schedulers=[make(opt)],
                  progress=False)

    opt2 = torch.optim.SGD(twin.parameters(), lr=1.0)
    sched = make(opt2)
    lrs = []
    for _ in range(EPOCHS):
        for x, y in loader:
            opt2.zero_grad(set_to_none=True)
            loss = MSE(twin(x), y)
            loss.backward()
            if isinstance(sched, PolyakLR):
                sched.step(loss)       # it measures the global gradient norm itself
            else:
                sched.step()           # DoG reads the group's gradients itself
            lrs.append(opt2.param_groups[0]["lr"])
            opt2.step()
    assert history.steps["lr"] == lrs
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), twin.parameters()))
    assert len(set(lrs)) > 2 and 1.0 not in lrs   # the controller, not the optimizer's lr, set every step
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
