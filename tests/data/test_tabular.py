"""uniform_regression: source 003's data without a signal (nothing beats the constant 1/2) and with one
(least squares on simple features beats the constant), checked against closed forms and numpy."""

import numpy as np
import pytest
import torch

from dsat_tutorial.data import Task, uniform_regression


def test_shapes_dtypes_and_determinism():
    a, b = uniform_regression(50, seed=3), uniform_regression(50, seed=3)
    assert isinstance(a, Task) and a.loss == "mse"
    assert tuple(a.X.shape) == (50, 1, 10) and tuple(a.y.shape) == (50, 1)
    assert a.X.dtype == a.y.dtype == torch.float32
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
    assert not torch.equal(a.X, uniform_regression(50, seed=4).X)
    assert float(a.X.min()) >= 0.0 and float(a.X.max()) < 1.0


def test_without_signal_targets_are_uniform_and_independent():
    task = uniform_regression(40000, signal=False, seed=0)
    y, X = task.y[:, 0].double().numpy(), task.X[:, 0].double().numpy()
    assert abs(task.baseline_loss - 1 / 12) < 2e-3                 # Var U(0, 1) = 1/12
    assert float(y.min()) >= 0.0 and float(y.max()) < 1.0
    corr = [abs(np.corrcoef(X[:, j], y)[0, 1]) for j in range(10)]
    assert max(corr) < 0.02                                        # ~4 standard errors of 1/sqrt(N)
    # Least squares on x (with intercept) fitted on half, scored on the other half: no gain over the mean.
    A = np.c_[X, np.ones(len(X))]
    w, *_ = np.linalg.lstsq(A[:20000], y[:20000], rcond=None)
    fitted = np.mean((A[20000:] @ w - y[20000:]) ** 2)
    constant = np.mean((y[:20000].mean() - y[20000:]) ** 2)
    assert fitted > constant - 1e-3


def test_with_signal_target_formula_and_baseline():
    task = uniform_regression(40000, noise=0.0, seed=1)
    x, y = task.X[:, 0].double().numpy(), task.y[:, 0].double().numpy()
    expected = np.sin(2 * np.pi * x[:, 0]) + 2 * x[:, 1] * x[:, 2] + x[:, 3] - x[:, 4]
    np.testing.assert_allclose(y, expected, atol=1e-6)
    assert abs(task.baseline_loss - (1 / 2 + 4 / 9 - 1 / 4 + 1 / 6)) < 0.02  # Var y, closed form
    noisy = uniform_regression(40000, noise=0.3, seed=1)
    assert abs(noisy.baseline_loss - task.baseline_loss - 0.09) < 0.02      # + sigma^2


def test_with_signal_a_simple_fit_beats_the_constant():
    task = uniform_regression(4000, seed=2)
    x, y = task.X[:, 0].double().numpy(), task.y[:, 0].double().numpy()
    feats = np.c_[np.sin(2 * np.pi * x[:, 0]), x[:, 1] * x[:, 2], x[:, 3], x[:, 4], np.ones(len(x))]
    w, *_ = np.linalg.lstsq(feats[:2000], y[:2000], rcond=None)
    mse = np.mean((feats[2000:] @ w - y[2000:]) ** 2)
    assert mse < 0.012 < 0.1 * task.baseline_loss                 # the noise floor sigma^2 = 0.01


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n"), ({"features": 4}, "features"), ({"noise": -0.1}, "noise"),
    ({"seed": -1}, "seed"), ({"signal": 1}, "signal"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        uniform_regression(**kwargs)


def test_one_feature_is_enough_without_signal():
    assert tuple(uniform_regression(5, features=1, signal=False).X.shape) == (5, 1, 1)
