"""Tests for lr_range_test: exact restoration, the sweep and smoothing formulas, the suggestion."""

import numpy as np
import pytest
import torch

from dsat_tutorial.data import make_loaders, sine_forecast
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.training import fit, lr_range_test

MSE = torch.nn.MSELoss()


def setup(dropout=0.0):
    task = sine_forecast(160, 8, seed=3)
    train, val = make_loaders(task.X, task.y, batch_size=16, seed=0)
    torch.manual_seed(0)
    model = SequenceRegressor(1, 8, num_layers=2, dropout=dropout)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    return model, opt, train, val


def warm_up(model, opt, train, steps=3):
    """A few real steps so the optimizer has state (moments, step counts) and params have grads."""
    for (x, y), _ in zip(train, range(steps)):
        opt.zero_grad()
        MSE(model(x), y).backward()
        opt.step()


def test_model_optimizer_and_rngs_are_exactly_restored():
    model, opt, train, _ = setup(dropout=0.2)
    warm_up(model, opt, train)
    model.eval()
    params = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    opt_state = {k: {n: t.clone() for n, t in s.items()} for k, s in opt.state.items()}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    gen_state = train.generator.get_state()
    rng_state = torch.get_rng_state()

    result = lr_range_test(model, train, MSE, opt, start_lr=1e-5, end_lr=1.0, num_steps=30)

    assert len(result.lrs) > 5
    assert all(torch.equal(params[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(a, p.grad) for a, p in zip(grads, model.parameters()))
    assert not model.training
    assert opt.state.keys() == opt_state.keys()
    for p, s in opt.state.items():
        assert all(torch.equal(opt_state[p][n], t) for n, t in s.items())
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == groups
    assert torch.equal(train.generator.get_state(), gen_state)
    assert torch.equal(torch.get_rng_state(), rng_state)


def test_training_after_the_test_is_identical_to_training_without_it():
    # fastai #2892/#3013: a finder that keeps the optimizer state (or RNG draws) changes later training
    def train_once(with_test):
        model, opt, train, val = setup(dropout=0.2)
        torch.manual_seed(5)
        if with_test:
            lr_range_test(model, train, MSE, opt, num_steps=20)
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, progress=False)
        return [p.detach().clone() for p in model.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(train_once(False), train_once(True)))


def test_sweep_is_exponential_and_smoothing_bias_corrected():
    model, opt, train, _ = setup()
    beta = 0.9
    result = lr_range_test(model, train, MSE, opt, start_lr=1e-4, end_lr=1e2, num_steps=25, smoothing=beta,
                           diverge_factor=1e9)
    k = len(result.lrs)
    assert k == 25 and not result.diverged
    assert np.allclose(result.lrs, np.geomspace(1e-4, 1e2, 25), rtol=1e-12)
    # closed form of the bias-corrected EMA: sum_j (1-b) b^(i-j) L_j / (1 - b^(i+1))
    raw = np.asarray(result.raw_losses)
    expected = [sum((1 - beta) * beta ** (i - j) * raw[j] for j in range(i + 1)) / (1 - beta ** (i + 1))
                for i in range(k)]
    assert np.allclose(result.losses, expected, rtol=1e-12)


def test_stops_when_the_loss_explodes_and_suggests_inside_the_sweep():
    model, opt, train, _ = setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    result = lr_range_test(model, train, MSE, opt, start_lr=1e-4, end_lr=1e4, num_steps=60, smoothing=0.5)
    assert result.diverged and len(result.lrs) < 60
    # it stopped at the first smoothed loss above 4 x the best so far, not earlier
    assert result.losses[-1] > 4.0 * min(result.losses)
    assert all(s <= 4.0 * min(result.losses[: i + 1]) for i, s in enumerate(result.losses[:-1]))
    assert result.lrs[0] <= result.suggestion <= result.lrs[-1]
    # the suggestion is where the smoothed loss falls fastest per decade of lr, away from the first
    # num_steps // 10 = 6 points and the last 5 (recomputed here with a plain loop over differences)
    n, lo = len(result.lrs), 6
    hi = max(lo + 1, n - 5)
    logs = np.log(result.lrs)
    slope = [(result.losses[min(j + 1, n - 1)] - result.losses[max(j - 1, 0)])
             / (logs[min(j + 1, n - 1)] - logs[max(j - 1, 0)]) for j in range(n)]
    best = min(range(lo, hi), key=lambda j: slope[j])
    assert result.suggestion == result.lrs[best] and slope[best] < 0
    assert result.min_loss_lr == result.lrs[int(np.argmin(result.losses))]


def test_suggestion_is_not_fooled_by_the_noisy_start_of_the_sweep():
    """Regression: on a small LSTM the raw steepest point was almost always the very first lr, where the
    bias-corrected average still jumps with minibatch noise, though the loss only falls between ~0.03
    and ~1. Ignoring the first tenth of the sweep (as fastai does) puts the suggestion in that range."""
    task = sine_forecast(640, 16, seed=0)
    train, _ = make_loaders(task.X, task.y, batch_size=32, seed=0)
    torch.manual_seed(0)
    model = SequenceRegressor(1, 32)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    result = lr_range_test(model, train, MSE, opt, 1e-4, 10.0, num_steps=100)
    raw = np.gradient(result.losses, np.log(result.lrs))
    assert result.lrs[int(np.argmin(raw))] == result.lrs[0]          # the failure the default avoids
    assert result.suggestion > 10 * result.lrs[0]
    i = result.lrs.index(result.suggestion)
    assert result.losses[i + 3] < result.losses[i - 3]                  # the loss really falls there


@pytest.mark.parametrize("losses, skip_start, skip_end, expected", [
    # lrs 1e-4, 1e-3, ...; slopes by hand (one-sided at the ends, central inside), in units of 1/ln 10
    ([5.0, 1.0, 0.9, 0.5, 0.45, 0.44], 0, 0, 1e-4),   # -4, -2.05, -0.25, ...: the noisy first drop wins
    ([5.0, 1.0, 0.9, 0.5, 0.45, 0.44], 2, 0, 1e-2),   # from index 2: -0.25, -0.225, -0.03, -0.01
    ([1.0, 0.99, 0.98, 0.97, 0.5, 0.1], 0, 2, 1e-1),  # indices 0..3 only: index 3 (-0.24) wins
    ([1.0, 0.5, 0.4], 5, 5, 1e-2),                     # too short: the last point is kept
])
def test_steepest_descent_lr_window(losses, skip_start, skip_end, expected):
    from dsat_tutorial.training.range_test import steepest_descent_lr

    lrs = [10.0 ** k for k in range(-4, -4 + len(losses))]
    assert steepest_descent_lr(lrs, losses, skip_start, skip_end) == pytest.approx(expected)


def test_plot_returns_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, opt, train, _ = setup()
    ax = lr_range_test(model, train, MSE, opt, num_steps=10).plot()
    assert ax.get_xscale() == "log"
    plt.close("all")


@pytest.mark.parametrize("kwargs, name", [
    ({"start_lr": 0.0}, "start_lr"), ({"start_lr": 1.0, "end_lr": 0.5}, "end_lr"),
    ({"num_steps": 2}, "num_steps"), ({"smoothing": 1.0}, "smoothing"), ({"diverge_factor": 1.0}, "diverge"),
    ({"skip_start": -1}, "skip_start"), ({"skip_end": 1.5}, "skip_end"),
])
def test_invalid_arguments(kwargs, name):
    model, opt, train, _ = setup()
    with pytest.raises(ValueError, match=name):
        lr_range_test(model, train, MSE, opt, **kwargs)
