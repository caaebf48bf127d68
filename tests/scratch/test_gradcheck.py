"""The gradient checker: numerical_grad against closed-form gradients, rel_error's definition and
properties, and check_gradients catching two of the source's bugs (004-E13, 004-E17) in a broken RNN."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dsat_tutorial.scratch import RNN, check_gradients, numerical_grad, rel_error


def test_numerical_grad_matches_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.normal(size=7)
    g = numerical_grad(lambda v: float(np.sum(np.sin(v) * v)), x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-8, atol=1e-9)
    A, M = rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
    g = numerical_grad(lambda m: float(np.sum((A @ m) ** 2)), M)  # d/dM ||A M||² = 2 Aᵀ A M
    np.testing.assert_allclose(g, 2 * A.T @ A @ M, rtol=1e-7, atol=1e-8)
    assert g.shape == M.shape


def test_numerical_grad_perturbs_in_place_and_restores_exactly():
    x = np.array([[0.1, 1e8], [-3.0, 1.0 / 3.0]])
    x0 = x.copy()
    seen = []

    def f(v):
        assert v is x  # the same array, perturbed in place
        seen.append(v.copy())
        return float(np.sum(v))

    g = numerical_grad(f, x, eps=1e-3)
    np.testing.assert_array_equal(x, x0)  # bitwise restored, even where x + eps - eps != x
    assert len(seen) == 2 * x.size
    assert sum(np.count_nonzero(s != x0) for s in seen) == 2 * x.size  # one entry at a time
    np.testing.assert_allclose(g, 1.0, rtol=1e-4)


@pytest.mark.parametrize("call, match", [
    (lambda: numerical_grad(lambda v: 0.0, np.ones(2), eps=0.0), "eps"),
    (lambda: numerical_grad(lambda v: 0.0, np.ones(2), eps=-1e-6), "eps"),
    (lambda: numerical_grad(lambda v: 0.0, np.ones(2, dtype=np.float32)), "x must be a float64 numpy array"),
    (lambda: numerical_grad(lambda v: 0.0, [1.0, 2.0]), "x must be a float64 numpy array"),
    (lambda: numerical_grad(lambda v: v * 2, np.ones(2)), "f must return a real scalar"),
    (lambda: numerical_grad(lambda v: "1", np.ones(2)), "f must return a real scalar"),
    (lambda: rel_error(np.ones(2), np.ones(3)), "same shape"),
])
def test_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_rel_error_definition_by_hand():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0  # the tiny guard
    assert rel_error(np.zeros(0), np.zeros(0)) == 0.0
    assert rel_error([1.0, -100.0], [1.5, -100.0]) == pytest.approx(0.5 / 200.0)  # max |a-b| / max(|a|+|b|)
    assert rel_error([0.0, 4.0], [1e-3, 4.0]) == pytest.approx(1e-3 / 8.0)  # not elementwise (that'd be 1)
    assert rel_error([1.0], [-1.0]) == 1.0
    assert rel_error(np.ones((2, 2)), np.zeros((2, 2))) == 1.0


@given(a=arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e3, 1e3)),
       noise=st.floats(-1.0, 1.0), scale=st.floats(1e-6, 1e6))
def test_rel_error_is_symmetric_scale_free_and_bounded(a, noise, scale):
    b = a + noise
    e = rel_error(a, b)
    assert e == rel_error(b, a)
    assert 0.0 <= e <= 1.0
    assert rel_error(scale * a, scale * b) == pytest.approx(e, rel=1e-9, abs=1e-12)  # up to rounding


def _data(B=2, T=6, D=2, H=4, O=2, seed=0):
    rng = np.random.default_rng(seed)
    return RNN(D, H, O, seed=seed), rng.normal(size=(B, T, D)), rng.normal(size=(B, T, O))


class _NoRecurrentTerm(RNN):
    """004-E13: drops δᵃ_{t+1} Uᵀ from δʰ_t (= truncated BPTT with k = 1 passed off as the gradient)."""

    def loss_and_grads(self, X, Y, h0=None, truncate=None):
        return super().loss_and_grads(X, Y, h0, truncate=1)


class _SumNotMean(RNN):
    """004-E17: the loss is a mean but the gradients are sums over the B·T·O elements."""

    def loss_and_grads(self, X, Y, h0=None, truncate=None):
        loss, grads = super().loss_and_grads(X, Y, h0, truncate)
        return loss, {k: g * np.size(Y) for k, g in grads.items()}


def test_check_gradients_passes_the_correct_rnn():
    rnn, X, Y = _data()
    errors = check_gradients(rnn, X, Y)
    assert sorted(errors) == ["U", "V", "W", "b_h", "b_y", "h0"]
    assert max(errors.values()) < 1e-6


def test_check_gradients_catches_the_missing_recurrent_term():
    errors = check_gradients(_NoRecurrentTerm(2, 4, 2, seed=0), *_data()[1:])
    assert errors["V"] < 1e-6 and errors["b_y"] < 1e-6  # the read-out does not involve the recurrence
    assert min(errors["W"], errors["U"], errors["b_h"]) > 1e-3


def test_check_gradients_catches_sums_instead_of_means():
    errors = check_gradients(_SumNotMean(2, 4, 2, seed=0), *_data()[1:])
    assert min(errors.values()) > 0.9  # a factor of B·T·O = 24 too large: error (24-1)/(24+1)
