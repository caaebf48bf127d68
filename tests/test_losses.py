"""Tests for dsat_tutorial.losses: each formula against PyTorch's own loss (an independent
implementation), in float64, plus the edge cases the chapter shows (log 0, saturation)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dsat_tutorial.losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                                  mean_squared_error)

floats = st.floats(-30, 30, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(floats, st.integers(0, 1)), min_size=1, max_size=20))
def test_bce_with_logits_matches_torch(pairs):
    z = torch.tensor([p[0] for p in pairs], dtype=torch.float64)
    y = torch.tensor([float(p[1]) for p in pairs], dtype=torch.float64)
    expected = F.binary_cross_entropy_with_logits(z, y)
    assert torch.allclose(binary_cross_entropy_with_logits(z, y), expected, rtol=1e-12, atol=1e-12)


def test_bce_with_logits_is_finite_where_the_naive_form_is_not():
    z, y = torch.tensor([-800.0, 800.0], dtype=torch.float64), torch.tensor([1.0, 0.0], dtype=torch.float64)
    naive = -(y * torch.log(torch.sigmoid(z)) + (1 - y) * torch.log(1 - torch.sigmoid(z))).mean()
    assert math.isinf(float(naive))
    assert float(binary_cross_entropy_with_logits(z, y)) == pytest.approx(800.0)
    assert float(F.binary_cross_entropy_with_logits(z, y)) == pytest.approx(800.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0.001, 0.999), st.floats(0, 1)), min_size=1, max_size=20))
def test_bce_of_probabilities_matches_torch_inside_the_clip(pairs):
    p = torch.tensor([a for a, _ in pairs], dtype=torch.float64)
    y = torch.tensor([b for _, b in pairs], dtype=torch.float64)
    assert torch.allclose(binary_cross_entropy(p, y), F.binary_cross_entropy(p, y), rtol=1e-12, atol=1e-12)


def test_bce_clipping_edges():
    y1, y0 = torch.tensor([1.0]), torch.tensor([0.0])
    assert math.isinf(float(binary_cross_entropy(torch.tensor([0.0]), y1, eps=0.0)))
    assert math.isnan(float(binary_cross_entropy(torch.tensor([0.0]), y0, eps=0.0)))  # 0 * log 0
    eps = 1e-7
    assert float(binary_cross_entropy(torch.tensor([0.0], dtype=torch.float64), torch.tensor([1.0]), eps=eps)) \
        == pytest.approx(-math.log(eps))
    assert float(binary_cross_entropy(torch.tensor([0.0]), y0, eps=eps)) == pytest.approx(-math.log1p(-eps), abs=1e-6)
    # PyTorch clamps each log at -100 instead of clipping the probability
    assert float(F.binary_cross_entropy(torch.tensor([0.0]), y1)) == pytest.approx(100.0)


def test_bce_with_logits_equals_bce_of_sigmoid():
    z = torch.linspace(-8, 8, 33, dtype=torch.float64)
    y = (torch.arange(33) % 2).double()
    assert torch.allclose(binary_cross_entropy_with_logits(z, y),
                          binary_cross_entropy(torch.sigmoid(z), y, eps=0.0), rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 8), st.integers(2, 6), st.integers(0, 10_000), st.floats(0.1, 100))
def test_cross_entropy_matches_torch(n, c, seed, scale):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=g, dtype=torch.float64) * scale
    y = torch.randint(0, c, (n,), generator=g)
    assert torch.allclose(cross_entropy(z, y), F.cross_entropy(z, y), rtol=1e-12, atol=1e-12)


def test_cross_entropy_with_two_classes_is_bce_of_the_logit_difference():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(16, 2, generator=g, dtype=torch.float64) * 5
    y = torch.randint(0, 2, (16,), generator=g)
    assert torch.allclose(cross_entropy(z, y), binary_cross_entropy_with_logits(z[:, 1] - z[:, 0], y.double()))


def test_cross_entropy_large_logits_do_not_overflow():
    z = torch.tensor([[1000.0, 0.0]])
    assert float(cross_entropy(z, torch.tensor([1]))) == pytest.approx(1000.0)


def test_mse_matches_torch():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(7, 3, generator=g), torch.randn(7, 3, generator=g)
    assert torch.allclose(mean_squared_error(a, b), F.mse_loss(a, b))


@pytest.mark.parametrize("call", [
    lambda: binary_cross_entropy(torch.tensor([0.5]), torch.tensor([1.0]), eps=0.5),
    lambda: binary_cross_entropy(torch.tensor([0.5, 0.5]), torch.tensor([1.0])),
    lambda: binary_cross_entropy_with_logits([0.0], torch.tensor([1.0])),
    lambda: cross_entropy(torch.zeros(2), torch.tensor([0, 1])),
    lambda: cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3])),
    lambda: cross_entropy(torch.zeros(2, 3), torch.tensor([0])),
    lambda: mean_squared_error(torch.zeros(0), torch.zeros(0)),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
