"""Source 003's data, as written (independent random targets) and with a signal, as a :class:`Task`.

Internal module: import the public name from :mod:`dsat_tutorial.data`. What it is: one generator,
:func:`uniform_regression`, with source 003's inputs -- ``N`` rows of ``F = 10`` uniform features --
and either its targets (uniform and independent of the inputs: nothing to learn, 003-E8) or a smooth
nonlinear function of the inputs plus Gaussian noise. What it is not: a benchmark; the rows are stored
as length-1 sequences ``(N, 1, F)`` only so that every task of the package has one shape (flatten them
for a feed-forward model).

References: source 003 (``X_train = tf.random.uniform((1000, 10))``, ``y_train =
tf.random.uniform((1000, 1))``); ERRATA 003-E8; Goodfellow, Bengio & Courville (2016), section 11.2
(judge a model against a trivial baseline).
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_int, check_nonneg
from .task import Task, baseline_loss

__all__ = ["uniform_regression"]


def uniform_regression(n: int = 1000, features: int = 10, *, signal: bool = True, noise: float = 0.1,
                       seed: int = 0) -> Task:
    r"""Uniform inputs, and targets that are either independent noise (source 003) or a learnable function.

    .. math::

        \begin{gathered}
        x_{ij} \sim U(0, 1), \quad u_i \sim U(0, 1), \\
        \varepsilon_i \sim N(0, 1), \\
        \texttt{signal=False}: \\
        y_i = u_i \text{ (independent of } x_i), \\
        \texttt{signal=True}: \\
        \begin{aligned}
        y_i = \sin(2\pi x_{i0}) &+ 2 x_{i1} x_{i2} \\
        &+ x_{i3} - x_{i4} + \sigma \varepsilon_i
        \end{aligned}
        \end{gathered}

    Without a signal the best predictor of :math:`y` from :math:`x` is the constant
    :math:`E[y] = 1/2`, whose expected MSE is :math:`\operatorname{Var} U(0,1) = 1/12 \approx 0.0833`:
    no model can do better on fresh data. With a signal the noise floor is :math:`\sigma^2` and the
    constant predictor's MSE is :math:`\operatorname{Var} y = 1/2 + 7/36 + 1/6 + \sigma^2 \approx
    0.861 + \sigma^2` (the three terms are independent; :math:`\operatorname{Var}(2x_1x_2) = 4/9 - 1/4`).

    Args:
        n: number of rows N (>= 1).
        features: F (>= 5 with a signal, which reads :math:`x_0 \dots x_4`; >= 1 without); source 003
            used 10.
        signal: compute ``y`` from ``x`` (True) or draw it independently as the source does (False).
        noise: :math:`\sigma \ge 0`, the standard deviation of the target noise (ignored without signal).
        seed: seed of the generator's own ``numpy.random.default_rng`` (>= 0).

    Returns:
        :class:`~dsat_tutorial.data.Task` with ``X`` float32 ``(N, 1, F)``, ``y`` float32 ``(N, 1)``,
        ``loss="mse"`` and ``baseline_loss`` the empirical variance of ``y``.

    Corrects: 003-E8 (random targets). Reference: source 003's data, section 4.
    Taught in: Part III, The source's program, redone.

    >>> task = uniform_regression(20000, signal=False, seed=0)
    >>> tuple(task.X.shape), tuple(task.y.shape), round(task.baseline_loss, 2)   # 1/12 = 0.083
    ((20000, 1, 10), (20000, 1), 0.08)
    >>> round(uniform_regression(20000, noise=0.0).baseline_loss, 2)           # 0.861
    0.86
    """
    n = check_int("n", n)
    features = check_int("features", features, minimum=5 if signal else 1)
    noise = check_nonneg("noise", noise)
    if signal is not True and signal is not False:  # not 0/1 or another truthy object
        raise ValueError(f"signal must be True or False, got {signal!r}")
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    x = rng.random((n, features))
    if signal:
        y = np.sin(2 * np.pi * x[:, 0]) + 2 * x[:, 1] * x[:, 2] + x[:, 3] - x[:, 4] + noise * rng.standard_normal(n)
        description = "y = sin(2 pi x0) + 2 x1 x2 + x3 - x4 + noise, from x ~ U(0,1)^F"
    else:
        y = rng.random(n)
        description = "y ~ U(0,1) independent of x ~ U(0,1)^F (source 003: nothing to learn)"
    X = torch.from_numpy(x.astype(np.float32)).unsqueeze(1)
    yt = torch.from_numpy(y.astype(np.float32)).unsqueeze(1)
    return Task(X, yt, baseline_loss(yt, "mse"), "mse", description)
