"""Finite-difference gradient checking: the test every hand-written backward pass must pass.

What it is: centred differences of a scalar function with respect to an array that is perturbed in
place (so the function can read it from a model), a scale-free relative error, and a one-call check of
:class:`dsat_tutorial.scratch.rnn.RNN`'s BPTT gradients. What it is not: a substitute for testing
against an independent implementation (the unit tests also compare with torch autograd), and not
meant for large models -- it costs two loss evaluations per scalar parameter.

References: CS231n notes "Gradient checks"; Goodfellow et al., *Deep Learning* §11.5.
The source (004) never checks its gradients, which is how errata 004-E12 to 004-E16 survived.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_positive

__all__ = ["numerical_grad", "rel_error", "check_gradients"]


def numerical_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    r"""Centred-difference estimate of the gradient of a scalar function at ``x``.

    .. math::

        \begin{aligned}
        \hat g_i &= \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon} \\
        &= \frac{\partial f}{\partial x_i} + O(\varepsilon^2)
        \end{aligned}

    where :math:`e_i` is the i-th unit array. Each entry of ``x`` is perturbed **in place** and
    restored to its exact original value, so ``f`` may ignore its argument and read ``x`` through a
    model that holds it (``lambda _: model.loss(...)``).

    Args:
        f: callable ``f(x) -> float``.
        x: float64 NumPy array (the perturbation needs float64 resolution).
        eps: step ε > 0; about 1e-6 balances truncation (ε²) and rounding (1e-16/ε) errors.

    Returns:
        array of ``x``'s shape.

    Reference: CS231n "Gradient checks". Taught in: Part I, Backpropagation through time.

    >>> x = np.array([1.0, -2.0, 3.0])
    >>> g = numerical_grad(lambda v: float(np.sum(v ** 3)), x)
    >>> np.round(g, 6).tolist(), x.tolist()  # 3 x², and x is unchanged
    ([3.0, 12.0, 27.0], [1.0, -2.0, 3.0])
    """
    eps = check_positive("eps", eps)
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError(f"x must be a float64 numpy array (it is perturbed in place), got "
                         f"{getattr(x, 'dtype', type(x).__name__)}")
    grad = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + eps
        f_plus = _scalar(f(x))
        x[idx] = orig - eps
        f_minus = _scalar(f(x))
        x[idx] = orig  # restore exactly
        grad[idx] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def _scalar(v) -> float:
    if isinstance(v, np.ndarray) and v.size == 1:
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError(f"f must return a real scalar, got {type(v).__name__}")
    return float(v)


def rel_error(a, b) -> float:
    r"""Scale-free error between two arrays: the largest difference over the largest magnitude.

    .. math::

        \begin{gathered}
        \mathrm{rel}(a, b) = \frac{\max_i |a_i - b_i|}{m}, \\
        m = \max\big(\max_i (|a_i| + |b_i|),\ \tau\big)
        \end{gathered}

    where i runs over all entries and :math:`\tau` is the smallest positive normal float64
    (``np.finfo(float).tiny``), so two zero arrays give 0. The error is measured against the whole
    array's scale (an ∞-norm error), not entry by entry: entries that are nearly zero because of
    cancellation would otherwise turn harmless rounding into large "relative" errors. It is symmetric,
    invariant to rescaling both arrays, and always in [0, 1] (1 when, e.g., one array is zero).

    Args:
        a, b: arrays of the same shape.

    Returns:
        the error as a float.

    Reference: Higham, *Accuracy and Stability of Numerical Algorithms*, §1.2 (normwise errors).
    Taught in: Part I, Backpropagation through time.

    >>> rel_error([1.0, 2.0], [1.0, 2.0])
    0.0
    >>> round(rel_error([1.0, -100.0], [1.5, -100.0]), 6)  # 0.5 / 200
    0.0025
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a) + np.abs(b))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b)) / scale)


def check_gradients(model, X, Y, h0=None, eps: float = 1e-6) -> dict:
    r"""Compare a model's analytic gradients with centred differences of its loss.

    .. math::

        \begin{gathered}
        e_\theta = \mathrm{rel}\Big(\frac{\partial L}{\partial \theta},\
        \widehat{\frac{\partial L}{\partial \theta}}\Big) \\
        \text{for } \theta \in \{W, U, V, b_h, b_y, h_0\}
        \end{gathered}

    where the first gradient comes from ``model.loss_and_grads`` (full BPTT), the second from
    :func:`numerical_grad` on ``model.loss(model.forward(X, h0)[0], Y)``, and rel is
    :func:`rel_error`. Values below ~1e-6 mean the gradient is right; a wrong term gives ~1e-2 or more.

    Args:
        model: an object with ``params``, ``forward``, ``loss`` and ``loss_and_grads`` like
            :class:`~dsat_tutorial.scratch.rnn.RNN`. X, Y, h0: as for ``loss_and_grads`` (h0 None
            means zeros, and the gradient is checked at zero). eps: finite-difference step.

    Returns:
        dict ``{name: error}`` for every parameter and ``"h0"``.

    Reference: CS231n "Gradient checks". Corrects: the source's unchecked gradients (004-E12..E16).
    Taught in: Part I, Backpropagation through time.

    >>> from dsat_tutorial.scratch.rnn import RNN
    >>> rnn = RNN(2, 3, 1, seed=0)
    >>> rng = np.random.default_rng(0)
    >>> errors = check_gradients(rnn, rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 4, 1)))
    >>> sorted(errors), max(errors.values()) < 1e-6
    (['U', 'V', 'W', 'b_h', 'b_y', 'h0'], True)
    """
    X = np.asarray(X, dtype=np.float64)
    h0 = np.zeros((X.shape[0], model.hidden_size)) if h0 is None else np.array(h0, dtype=np.float64)
    _, grads = model.loss_and_grads(X, Y, h0=h0)

    def loss(_):
        return model.loss(model.forward(X, h0)[0], Y)

    arrays = {**model.params, "h0": h0}
    return {name: rel_error(grads[name], numerical_grad(loss, arr, eps)) for name, arr in arrays.items()}
