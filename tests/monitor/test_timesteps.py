"""Tests for dsat_tutorial.monitor.timesteps: per-step input-gradient norms and the early/late ratio.

References: the closed form of a linear recurrence (a ReLU RNN kept in its linear region) and central
finite differences on a GRU in float64.
"""

import math

import pytest
import torch
from torch import nn

from dsat_tutorial.monitor.timesteps import early_late_ratio, input_gradient_norms


def test_linear_recurrence_matches_the_closed_form():
    # h_t = U h_{t-1} + W x_t with every pre-activation positive (ReLU = identity), L = v . h_{T-1}
    torch.manual_seed(0)
    H, F, T = 3, 2, 6
    rnn = nn.RNN(F, H, bias=False, nonlinearity="relu", batch_first=True).double()
    W, U, v = torch.rand(H, F).double(), 0.4 * torch.rand(H, H).double(), torch.rand(H).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(W)
        rnn.weight_hh_l0.copy_(U)
    x = torch.rand(1, T, F).double() + 0.1
    got = input_gradient_norms(lambda z: rnn(z)[0][:, -1] @ v, x, None, lambda out, y: out.sum())
    expected = [torch.linalg.vector_norm(W.T @ torch.linalg.matrix_power(U.T, T - 1 - t) @ v) for t in range(T)]
    assert torch.allclose(got, torch.stack(expected), rtol=1e-12)


def test_gru_against_central_finite_differences():
    torch.manual_seed(1)
    model = nn.GRU(2, 4, batch_first=True).double()
    head = nn.Linear(4, 1).double()
    net = lambda z: head(model(z)[0][:, -1])  # noqa: E731
    x, y = torch.randn(3, 5, 2).double(), torch.randn(3, 1).double()
    loss = nn.MSELoss()
    got = input_gradient_norms(net, x, y, loss)
    fd = torch.zeros_like(x)
    h = 1e-6
    with torch.no_grad():
        for idx in torch.cartesian_prod(*[torch.arange(s) for s in x.shape]):
            i = tuple(idx.tolist())
            xp, xm = x.clone(), x.clone()
            xp[i] += h
            xm[i] -= h
            fd[i] = (loss(net(xp), y) - loss(net(xm), y)) / (2 * h)
    assert torch.allclose(got, torch.linalg.vector_norm(fd, dim=(0, 2)), rtol=1e-6, atol=1e-10)


def test_parameter_gradients_and_inputs_are_left_alone():
    torch.manual_seed(2)
    lstm, head = nn.LSTM(2, 3, batch_first=True), nn.Linear(3, 1)
    model = nn.Sequential()
    model.lstm, model.head = lstm, head
    net = lambda z: head(lstm(z)[0][:, -1])  # noqa: E731
    head.weight.grad = torch.full_like(head.weight, 7.0)
    x = torch.randn(4, 6, 2)

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, z):
            return net(z)

    norms = input_gradient_norms(Wrapped(), x, torch.zeros(4, 1), nn.MSELoss())
    assert norms.shape == (6,) and not norms.requires_grad and bool((norms > 0).all())
    assert torch.equal(head.weight.grad, torch.full_like(head.weight, 7.0))
    assert head.bias.grad is None and lstm.weight_hh_l0.grad is None
    assert not x.requires_grad and x.grad is None


@pytest.mark.parametrize("x", [torch.zeros(4, 3), torch.zeros(2, 3, 1, dtype=torch.long), "x"])
def test_bad_inputs_are_refused(x):
    with pytest.raises(ValueError, match="x must be"):
        input_gradient_norms(nn.Identity(), x, None, lambda out, y: out.sum())


def test_non_scalar_loss_is_refused():
    with pytest.raises(ValueError, match="loss_fn must return a scalar"):
        input_gradient_norms(nn.Identity(), torch.zeros(2, 3, 1), None, lambda out, y: out)


def test_ratio_definition_and_scale_invariance():
    n = torch.tensor([1e-9, 2.0, 3.0, 4.0, 8.0])
    assert early_late_ratio(n) == pytest.approx(1e-9 / 8.0, rel=1e-12)
    assert early_late_ratio(n, k=2) == pytest.approx((1e-9 + 2.0) / 12.0, rel=1e-12)
    for eta in (1e-6, 1e-3, 0.1, 10.0, 1e4):  # a positive scalar cancels (000-E12)
        assert early_late_ratio(eta * n) == pytest.approx(early_late_ratio(n), rel=1e-9)
    assert early_late_ratio(torch.tensor([1.0, 0.0])) == math.inf
    assert math.isnan(early_late_ratio(torch.tensor([0.0, 0.0])))


@pytest.mark.parametrize("norms, k, match", [
    (torch.tensor([1.0]), 1, "at least 2"), (torch.ones(2, 2), 1, "1-D"), ([1.0, 2.0], 1, "1-D"),
    (torch.tensor([1.0, -1.0]), 1, "non-negative"), (torch.tensor([1.0, math.nan]), 1, "finite"),
    (torch.ones(4), 0, "k must be"), (torch.ones(4), 3, "k must be"), (torch.ones(4), True, "k must be"),
])
def test_ratio_validates(norms, k, match):
    with pytest.raises(ValueError, match=match):
        early_late_ratio(norms, k)
