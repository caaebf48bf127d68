"""GradNormScaledLR and AdaGradNormLR: the formulas, the smooth-clip bound measured on real SGD steps,
the quartic demo of ERRATA 002, AdaGrad-Norm against a hand-written NumPy recurrence, and property
tests over arbitrary gradient-norm sequences (NaN and inf included).
"""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dsat_tutorial.controllers import AdaGradNormLR, GradNormScaledLR, NonFiniteSignalWarning
from dsat_tutorial.schedules import CosineDecay, Warmup


def sgd(*params, lr):
    return torch.optim.SGD(list(params), lr=lr)


def global_norm(params):
    """The L2 norm of all gradients concatenated (computed independently of the package)."""
    return float(torch.cat([p.grad.reshape(-1) for p in params]).norm())


# ---------------------------------------------------------------- GradNormScaledLR

def test_grad_norm_scaled_formula(rng):
    base, alpha = 0.3, 2.5
    opt = sgd(torch.zeros(2, requires_grad=True), lr=base)
    sched = GradNormScaledLR(opt, alpha)
    assert sched.get_last_lr() == [base]  # before the first norm: the base rate
    for g in np.concatenate([rng.exponential(2.0, 50), [0.0, 1e-8, 1e8, 1e150]]):
        sched.step(float(g))
        expected = base / np.sqrt(1.0 + alpha * np.float64(g) ** 2)
        assert sched.get_last_lr()[0] == pytest.approx(expected, rel=1e-13)
        opt.step()


def test_grad_norm_scaled_with_schedule_counts_updates():
    """base = schedule(t), t = the number of earlier updates; a skipped (non-finite) update does not count."""
    schedule = Warmup(CosineDecay(0.2, total_steps=30), warmup_steps=4)
    alpha, norms = 0.7, [3.0, 0.5, math.nan, 2.0, 10.0, 0.0, 1.0]
    opt = sgd(torch.zeros(1, requires_grad=True), lr=1.0)
    sched = GradNormScaledLR(opt, alpha, schedule=schedule)
    assert sched.get_last_lr() == [schedule(0)]
    t = 0
    for g in norms:
        if math.isnan(g):
            with pytest.warns(NonFiniteSignalWarning):
                sched.step(g)
            continue  # the loop skips this update
        sched.step(g)
        assert sched.get_last_lr()[0] == pytest.approx(schedule(t) / math.sqrt(1 + alpha * g * g), rel=1e-13)
        opt.step()
        t += 1
    assert sched.num_updates == t == 6


def test_grad_norm_scaled_several_groups_share_the_global_shrink():
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1},
                           {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.4}])
    schedule = CosineDecay(1.0, total_steps=10)
    sched = GradNormScaledLR(opt, 1.0, schedule=schedule)
    sched.step(3.0)
    shrink = math.sqrt(10.0)
    assert sched.get_last_lr() == pytest.approx([schedule(0) / shrink, 4 * schedule(0) / shrink], rel=1e-14)


@pytest.mark.parametrize("alpha", [1e-4, 1.0, 25.0])
def test_update_length_never_exceeds_base_over_sqrt_alpha(alpha):
    """Measure the parameter displacement of real SGD steps, with the gradient spread over two tensors."""
    base = 0.05
    gen = torch.Generator().manual_seed(0)
    w = torch.zeros(5, 3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = sgd(w, b, lr=base)
    sched = GradNormScaledLR(opt, alpha)
    bound = base / math.sqrt(alpha)
    lengths, norms = [], []
    for scale in np.logspace(-8, 12, 81):
        w.grad = torch.randn(w.shape, generator=gen, dtype=torch.float64) * scale
        b.grad = torch.randn(b.shape, generator=gen, dtype=torch.float64) * scale
        before = torch.cat([w.detach().reshape(-1), b.detach()]).clone()
        g = global_norm([w, b])
        sched.step(g)
        opt.step()
        after = torch.cat([w.detach().reshape(-1), b.detach()])
        length = float((after - before).norm())
        assert length <= bound * (1 + 1e-9), (scale, length, bound)
        assert length == pytest.approx(base * g / math.sqrt(1 + alpha * g * g), rel=1e-6)
        lengths.append(length)
        norms.append(g)
    # large gradients: the step saturates at the bound (normalized gradient descent)
    assert lengths[-1] == pytest.approx(bound, rel=1e-6)
    # small gradients (alpha * g**2 << 1): plain gradient descent, step length base * g
    assert lengths[0] == pytest.approx(base * norms[0], rel=1e-6)


def _quartic(scaled, steps, alpha=1.0):
    """f(x) = 1/4 ||x||^4 from x0 = 5 * ones(10), gradient descent at lr 1/sqrt(10) (ERRATA 002 demo)."""
    x = torch.full((10,), 5.0, dtype=torch.float64, requires_grad=True)
    opt = sgd(x, lr=1 / math.sqrt(10))
    sched = GradNormScaledLR(opt, alpha) if scaled else None
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        f = 0.25 * (x @ x) ** 2
        losses.append(f.item())
        if not math.isfinite(losses[-1]):
            break
        f.backward()
        if scaled:
            sched.step(global_norm([x]))
        opt.step()
    return losses


def test_quartic_plain_gd_overflows_scaled_rule_converges():
    """alpha = 1, i.e. a clip threshold of 1 on the gradient norm (which starts at 3953)."""
    plain = _quartic(scaled=False, steps=10)
    assert not math.isfinite(plain[-1]) and len(plain) <= 6     # inf within 5 updates
    scaled = _quartic(scaled=True, steps=200)
    assert all(math.isfinite(f) for f in scaled)
    assert all(b <= a for a, b in zip(scaled, scaled[1:]))      # monotone descent
    assert scaled[0] == 15625.0 and scaled[-1] < 1e-4          # 15625 -> about 2.5e-5


# ---------------------------------------------------------------- AdaGradNormLR

def test_adagrad_norm_matches_hand_written_recurrence(rng):
    base, b0 = 0.2, 0.05
    opt = sgd(torch.zeros(1, requires_grad=True), lr=base)
    sched = AdaGradNormLR(opt, b0=b0)
    assert sched.get_last_lr() == [base]
    b2 = b0 ** 2
    for g in np.concatenate([[0.0], rng.lognormal(0.0, 2.0, 100)]):
        sched.step(float(g))
        b2 = b2 + g * g
        assert sched.get_last_lr()[0] == pytest.approx(base / math.sqrt(b2), rel=1e-12)
        opt.step()


def test_adagrad_norm_training_matches_numpy_adagrad_norm():
    """theta <- theta - (eta / b_t) g_t with b_t^2 = b_{t-1}^2 + ||g_t||^2 on a quadratic, in NumPy."""
    a = np.diag([1.0, 4.0, 9.0])
    eta, b0 = 0.5, 0.1
    theta_np, b2 = np.array([1.0, -2.0, 0.5]), b0 ** 2
    theta = torch.tensor(theta_np, requires_grad=True)
    opt = sgd(theta, lr=eta)
    sched = AdaGradNormLR(opt, b0=b0)
    at = torch.tensor(a)
    for _ in range(60):
        g_np = a @ theta_np
        b2 += g_np @ g_np
        theta_np = theta_np - eta / math.sqrt(b2) * g_np
        opt.zero_grad()
        (0.5 * theta @ at @ theta).backward()
        sched.step(global_norm([theta]))
        opt.step()
        np.testing.assert_allclose(theta.detach().numpy(), theta_np, rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------- properties over arbitrary norms

NORMS = st.lists(st.one_of(st.floats(min_value=0.0, allow_infinity=False, allow_nan=False),
                           st.sampled_from([math.nan, math.inf, -math.inf])), max_size=30)


def _feed(sched, opt, norms):
    """Pre-update order; yields (norm, lrs) after every step call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteSignalWarning)
        for g in norms:
            sched.step(g)
            yield g, sched.get_last_lr()
            opt.step()


@given(norms=NORMS, alpha=st.floats(1e-6, 1e6))
def test_grad_norm_scaled_lr_stays_finite_and_bounded(norms, alpha):
    base = 0.1
    opt = sgd(torch.zeros(1, requires_grad=True), lr=base)
    schedule = CosineDecay(base, total_steps=20)
    sched = GradNormScaledLR(opt, alpha, schedule=schedule)
    for g, (lr,) in _feed(sched, opt, norms):
        b = schedule(max(sched.num_updates - 1, 0))
        assert math.isfinite(lr) and 0.0 <= lr <= b
        if math.isfinite(g):
            assert lr * g <= b / math.sqrt(alpha) * (1 + 1e-12)
    assert sched.nonfinite_signals == sum(not math.isfinite(g) for g in norms)


@given(norms=NORMS, b0=st.floats(1e-6, 1e3))
def test_adagrad_norm_lr_stays_finite_bounded_and_non_increasing(norms, b0):
    base = 0.1
    opt = sgd(torch.zeros(1, requires_grad=True), lr=base)
    sched = AdaGradNormLR(opt, b0=b0)
    previous = math.inf
    for _, (lr,) in _feed(sched, opt, norms):
        assert math.isfinite(lr)
        if sched.num_updates == 0:
            assert lr == base
        else:
            assert 0.0 <= lr <= base / b0 * (1 + 1e-15) and lr <= previous
            previous = lr
