"""PolyakLR: the step size against its closed form on quadratics (computed with NumPy, independently of
autograd), the convergence the theory guarantees for full-batch gradient descent (asserted over seeds),
SPS_max's cap, group multipliers, scale_lr, non-finite signals, validation and a state_dict round trip
through ``torch.load(weights_only=True)``.
"""

import io
import math
import warnings

import numpy as np
import pytest
import torch

from dsat_tutorial.controllers import NonFiniteSignalWarning, PolyakLR


def quadratic(seed, n=6, cond=20.0, f_star=0.7):
    """f(x) = 1/2 (x - x*)^T A (x - x*) + f*, with A's eigenvalues spread over [1, cond]."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = np.geomspace(1.0, cond, n)
    A = q @ np.diag(eig) @ q.T
    x_star = rng.standard_normal(n)
    x0 = x_star + 3.0 * rng.standard_normal(n)
    return A, x_star, x0, f_star, eig.min(), eig.max()


def torch_loss(x, A, x_star, f_star):
    d = x - torch.from_numpy(x_star)
    return 0.5 * d @ torch.from_numpy(A) @ d + f_star


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lr_is_the_closed_form_and_gd_converges_at_the_polyak_rate(seed):
    A, x_star, x0, f_star, mu, L = quadratic(seed)
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=1.0)
    # eps only guards a zero gradient; a negligible one keeps the comparison with the formula tight
    sched = PolyakLR(opt, f_star=f_star, eps=1e-300)
    rate = 1.0 - mu / (4.0 * L)  # Polyak (1987); Hazan & Kakade (2019), for mu-strongly convex, L-smooth f
    dist0 = float(np.sum((x0 - x_star) ** 2))
    steps, gap = 0, math.inf
    # stop while f - f* is still >= 1e-6: below that, f (about f* = 0.7) loses digits to rounding
    while gap >= 1e-6:
        xn = x.detach().numpy().copy()
        d = xn - x_star
        gap, g = 0.5 * d @ A @ d, A @ d                      # NumPy, not autograd
        opt.zero_grad()
        torch_loss(x, A, x_star, f_star).backward()
        sched.step(torch_loss(x, A, x_star, f_star))
        assert opt.param_groups[0]["lr"] == pytest.approx(gap / (g @ g), rel=1e-9), steps
        opt.step()
        steps += 1
        before, after = d @ d, float(np.sum((x.detach().numpy() - x_star) ** 2))
        # the Polyak inequality, and on a quadratic (<g, x - x*> = 2 gap) the exact identity
        assert after <= before - gap ** 2 / (g @ g) * (1 - 1e-9)
        assert after == pytest.approx(before - 3.0 * gap ** 2 / (g @ g), abs=1e-8 * before)
        assert after <= rate * before
    assert steps >= 15
    assert after <= rate ** steps * dist0
    assert after < 1e-7 * dist0  # it did converge, far below the start


def test_step_without_norm_measures_the_global_norm_itself():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    a, b = PolyakLR(opt, c=0.5), PolyakLR(torch.optim.SGD(model.parameters(), lr=1.0), c=0.5)
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    norm = float(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm())
    a.step(loss)
    b.step(loss.item(), norm)
    assert a.grad_norm == pytest.approx(norm, rel=1e-6)
    assert a.get_last_lr()[0] == pytest.approx(loss.item() / (0.5 * norm ** 2 + 1e-12), rel=1e-5)
    assert b.get_last_lr()[0] == pytest.approx(a.get_last_lr()[0], rel=1e-5)


def test_sps_max_cap_group_multipliers_and_scale_lr():
    w1, w2 = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([{"params": [w1], "lr": 1.0}, {"params": [w2], "lr": 0.25}])
    sched = PolyakLR(opt, f_star=1.0, c=0.5, max_lr=3.0)
    assert sched.get_last_lr() == [0.0, 0.0]              # before any loss
    approx = lambda *v: pytest.approx(list(v), rel=1e-11)  # noqa: E731 -- eps = 1e-12 in the denominator
    sched.step(3.0, 2.0)                                  # (3 - 1) / (0.5 * 4) = 1.0 < 3
    assert sched.get_last_lr() == approx(1.0, 0.25)
    sched.step(9.0, 1.0)                                  # 8 / 0.5 = 16, capped at 3
    assert sched.get_last_lr() == [3.0, 0.75]
    sched.step(0.5, 1.0)                                  # below f*: no step
    assert sched.get_last_lr() == [0.0, 0.0]
    sched.step(3.0, 0.0)                                  # zero gradient: eps keeps it finite, cap holds
    assert sched.get_last_lr() == [3.0, 0.75]
    assert sched.scale_lr(0.5) == [1.5, 0.375]            # persistent factor
    sched.step(3.0, 2.0)
    assert sched.get_last_lr() == approx(0.5, 0.125)
    assert opt.param_groups[1]["lr"] == sched.get_last_lr()[1]


def test_nonfinite_signals_change_nothing_and_missing_loss_raises():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = PolyakLR(opt)
    sched.step(2.0, 1.0)
    before = sched.get_last_lr()
    assert before == [pytest.approx(2.0, rel=1e-11)]
    for loss, norm in [(math.nan, 1.0), (2.0, math.inf), (math.inf, 1.0)]:
        with pytest.warns(NonFiniteSignalWarning, match="PolyakLR"):
            sched.step(loss, norm)
        assert sched.get_last_lr() == before
    assert sched.nonfinite_signals == 3 and sched.num_updates == 1
    with pytest.raises(TypeError, match="needs the batch loss"):
        sched.step()
    with pytest.raises(ValueError, match="grad_norm must be >= 0"):
        sched.step(1.0, -1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step(1.0, 1e200)   # the square overflows to inf: a tiny step, no warning, no error
    assert sched.get_last_lr() == [0.0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"f_star": math.nan}, "f_star must be a finite real number"),
    ({"f_star": math.inf}, "f_star must be a finite real number"),
    ({"c": 0.0}, "c must be finite and > 0"),
    ({"c": -1.0}, "c must be finite and > 0"),
    ({"max_lr": 0.0}, r"max_lr must be in \(0, inf\]"),
    ({"max_lr": math.nan}, "max_lr must be a real number"),
    ({"eps": 0.0}, "eps must be finite and > 0"),
])
def test_validation(kwargs, message):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match=message):
        PolyakLR(opt, **kwargs)


def test_state_dict_round_trips_through_weights_only_load():
    def make():
        x = torch.tensor([2.0, -1.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([x], lr=1.0)
        return x, opt, PolyakLR(opt, f_star=0.1, c=0.5, max_lr=0.8)

    def run(x, opt, sched, steps):
        for _ in range(steps):
            opt.zero_grad()
            loss = (x ** 4).sum() + 0.1
            loss.backward()
            sched.step(loss)
            opt.step()

    x, opt, sched = make()
    run(x, opt, sched, 3)
    sched.scale_lr(0.5)
    buf = io.BytesIO()
    torch.save({"sched": sched.state_dict(), "opt": opt.state_dict(), "x": x.detach().clone()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    run(x, opt, sched, 5)
    y, opt2, sched2 = make()
    with torch.no_grad():
        y.copy_(saved["x"])
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    assert sched2.lr_scale == 0.5 and sched2.num_updates == 3
    assert opt2.param_groups[0]["lr"] == saved["sched"]["_last_lr"][0]
    run(y, opt2, sched2, 5)
    assert torch.equal(x, y) and sched2.get_last_lr() == sched.get_last_lr()
