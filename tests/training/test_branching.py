"""StepBatches, train_steps and branch_cooldowns, checked against from-scratch runs and by hand."""

import copy
import math

import pytest
import torch

from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.schedules import WarmupStableDecay
from dsat_tutorial.training import StepBatches, branch_cooldowns, train_steps

MSE = torch.nn.MSELoss()


def _data(n=40):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 5, 1, generator=g)
    return X, X.sum(dim=1)


def test_step_batches_is_a_permutation_per_epoch_and_pure():
    X = torch.arange(12.0)[:, None]
    b = StepBatches(X, X[:, 0], batch_size=5, seed=3)           # 2 full batches per epoch, 2 dropped
    epoch0 = torch.cat([b(0)[1], b(1)[1]])
    assert len(set(epoch0.tolist())) == 10
    fresh = StepBatches(X, X[:, 0], batch_size=5, seed=3)
    assert torch.equal(fresh(3)[1], b(3)[1]) and torch.equal(fresh(1)[0], b(1)[0])
    assert not torch.equal(StepBatches(X, X[:, 0], 5, seed=4)(0)[1], b(0)[1])


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"batch_size": 13}, {"batch_size": 2, "seed": -1}])
def test_step_batches_rejects_bad_input(kwargs):
    X = torch.zeros(12, 1)
    with pytest.raises(ValueError):
        StepBatches(X, X, **kwargs)


def test_train_steps_sets_the_lr_before_each_update():
    # SGD on f(w) = (w x)^2 / 1 with x = 1: w <- w (1 - 2 lr_t); lr_t = 0.1 t
    w = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        w.weight.fill_(1.0)
    opt = torch.optim.SGD(w.parameters(), lr=123.0)
    train_steps(w, opt, lambda t: 0.1 * t, lambda t: (torch.ones(1, 1), torch.zeros(1, 1)), MSE, 0, 4)
    expected = math.prod(1 - 2 * 0.1 * t for t in range(4))
    assert w.weight.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("decay", ["linear", "sqrt"])
def test_branches_equal_from_scratch_wsd_runs(decay):
    X, y = _data()
    batches = StepBatches(X, y, batch_size=8, seed=0)
    torch.manual_seed(0)
    model = SequenceRegressor(1, 4, cell="gru")
    init = copy.deepcopy(model.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=0.0)
    evaluate = lambda m: MSE(m(X), y).item()
    got = branch_cooldowns(model, opt, batches, MSE, evaluate, 0.01, [10, 25, 40], warmup_steps=3,
                           decay=decay)
    for T in (10, 25, 40):
        ref = SequenceRegressor(1, 4, cell="gru")
        ref.load_state_dict(init)
        ref_opt = torch.optim.Adam(ref.parameters(), lr=0.0)
        s = WarmupStableDecay(0.01, T, warmup_steps=3, decay_steps=int(0.2 * T), decay=decay)
        train_steps(ref, ref_opt, s, batches, MSE, 0, T)
        assert got[T] == pytest.approx(evaluate(ref), rel=1e-5, abs=1e-7)


def test_branch_cooldowns_rejects_bad_input():
    w = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(w.parameters(), lr=0.1)
    data = lambda t: (torch.ones(1, 1), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="decay_fraction"):
        branch_cooldowns(w, opt, data, MSE, lambda m: 0.0, 0.1, [10], decay_fraction=0.0)
    with pytest.raises(ValueError, match="horizon"):
        branch_cooldowns(w, opt, data, MSE, lambda m: 0.0, 0.1, [0])
    with pytest.raises(ValueError, match="warmup_steps"):
        branch_cooldowns(w, opt, data, MSE, lambda m: 0.0, 0.1, [10], warmup_steps=9)
