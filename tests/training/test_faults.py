"""Tests for dsat_tutorial.training.faults.InjectLoss (the fault injector of Part IV).

References: plain SGD's update rule (a loss scaled by c gives the update of a c-times larger learning
rate, computed here with a second optimizer), and fit's documented handling of non-finite losses.
"""

import math

import pytest
import torch

from dsat_tutorial.data import make_loaders, sine_forecast
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.monitor import LossSpikeGuard
from dsat_tutorial.training import TrainingDiverged, fit
from dsat_tutorial.training.faults import InjectLoss


def _setup(seed=0):
    task = sine_forecast(96, 8, seed=seed)
    loaders = make_loaders(task.X, task.y, batch_size=16, seed=seed)
    torch.manual_seed(seed)
    return SequenceRegressor(1, 4), loaders


def test_a_spiked_sgd_step_is_one_step_at_a_factor_times_larger_lr():
    model_a, (train, _) = _setup()
    model_b, (train_b, _) = _setup()  # fresh loaders: the same batches in the same order
    fit(model_a, train, loss_fn=torch.nn.MSELoss(), optimizer=torch.optim.SGD(model_a.parameters(), lr=0.01),
        epochs=1, callbacks=[InjectLoss([0], 5.0)], progress=False)
    # reference: step 0 at lr 0.05, then lr 0.01, by hand with the same batches
    opt = torch.optim.SGD(model_b.parameters(), lr=0.05)
    for i, (x, y) in enumerate(train_b):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model_b(x), y).backward()
        opt.step()
        if i == 0:
            opt.param_groups[0]["lr"] = 0.01
    for a, b in zip(model_a.parameters(), model_b.parameters()):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-7)


def test_nan_is_rolled_back_by_fit_and_stops_it_with_max_retries_zero():
    model, loaders = _setup()
    fault = InjectLoss([3], math.nan)
    h = fit(model, *loaders, loss_fn=torch.nn.MSELoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
            epochs=2, callbacks=[fault], progress=False)
    assert fault.hits == [3] and [(e["event"], e["step"]) for e in h.events] == [("rollback", 3)]
    assert 3 not in h.steps["step"]
    model, loaders = _setup()
    with pytest.raises(TrainingDiverged, match="step 3"):
        fit(model, *loaders, loss_fn=torch.nn.MSELoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
            epochs=2, callbacks=[InjectLoss([3], math.inf)], progress=False, max_retries=0)


def test_a_finite_spike_is_skipped_by_the_guard():
    model, loaders = _setup()
    h = fit(model, *loaders, loss_fn=torch.nn.MSELoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
            epochs=2, callbacks=[InjectLoss([6], 100.0)], progress=False,
            spike_guard=LossSpikeGuard(factor=3.0, warmup_steps=3))
    assert h.spikes["step"] == [6] and 6 not in h.steps["step"]


def test_other_steps_are_untouched():
    fault = InjectLoss([1, 4], 50.0)

    class S:
        step = 0

    loss = torch.tensor(0.25)
    assert fault.on_loss(S, loss) is loss and fault.hits == []


@pytest.mark.parametrize("steps, factor, match", [
    ([], 2.0, "steps"), ([-1], 2.0, "steps"), ([1.5], 2.0, "steps"), ([True], 2.0, "steps"),
    ([1], "2", "factor"), ([1], True, "factor"), ([1], 1.0, "differ from 1"),
])
def test_validates(steps, factor, match):
    with pytest.raises(ValueError, match=match):
        InjectLoss(steps, factor)
