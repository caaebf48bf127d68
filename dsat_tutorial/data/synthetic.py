"""Seeded synthetic sequence tasks whose targets are computed from the inputs.

Internal module: import the public names from :mod:`dsat_tutorial.data`. What it is not: a benchmark
suite (the tasks are small enough for a CPU notebook).

Every generator draws from its own ``numpy.random.default_rng(seed)`` (never a global RNG), returns
float32 ``X`` of shape ``(N, T, F)`` inside a :class:`~dsat_tutorial.data.Task`, and reports the
loss of the best constant predictor. The point of each task is that the target *is* a function of
the input, unlike the sources' random labels (000-E4, 003-E8) and degenerate teacher data (004-E9).

References:
    Hochreiter, S. & Schmidhuber, J. (1997). Long short-term memory. Neural Computation 9(8).
    Le, Q. V., Jaitly, N. & Hinton, G. E. (2015). A simple way to initialize recurrent networks of
    rectified linear units. arXiv:1504.00941 (the two-halves variant of the adding problem).
"""

from __future__ import annotations

import numpy as np
import torch

from .task import Task, baseline_loss
from .._validation import check_int, check_nonneg, check_range, check_real

__all__ = ["adding_problem", "sine_forecast", "delayed_sum", "threshold_sequences"]


def _as_task(X: np.ndarray, y: np.ndarray, loss: str, description: str) -> Task:
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    yt = torch.from_numpy(np.ascontiguousarray(y)) if y.dtype == np.int64 else \
        torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    return Task(Xt, yt, baseline_loss(yt, loss), loss, description)


def adding_problem(n: int = 1000, seq_len: int = 10, *, seed: int = 0) -> Task:
    """The adding problem: sum the two values whose marker is 1.

    .. math::

        y_i = \\sum_{t=0}^{T-1} v_{it}\\, m_{it}, \\qquad v_{it} \\sim U(0, 1),

    where :math:`v` is feature 0 (the value), :math:`m \\in \\{0,1\\}` is feature 1 (the marker),
    with exactly one marker in the first half (:math:`t < \\lfloor T/2 \\rfloor`) and one in the
    second half. Predicting the mean (:math:`\\approx 1`) scores the variance of a sum of two
    independent :math:`U(0,1)` values, :math:`2/12 = 1/6`.

    Args:
        n: number of sequences N (>= 1).
        seq_len: sequence length T (>= 2).
        seed: seed of the generator.

    Returns:
        :class:`~dsat_tutorial.data.Task` with ``X`` float32 ``(N, T, 2)``, ``y`` float32 ``(N, 1)``,
        ``loss="mse"``, ``baseline_loss`` = MSE of predicting the mean of ``y`` (about 1/6).

    At the defaults (T = 10, kept short so tests train in seconds; use T >= 50 to show vanishing
    gradients), ``SequenceRegressor(2, 16)`` with Adam (lr 1e-2, batch 32, 30 epochs, 80/20 split)
    reaches a validation MSE of about 0.005 x the baseline in 1-3 s on one core.

    Reference: Hochreiter & Schmidhuber (1997), experiment 4; two-halves variant of Le et al. (2015).
    Corrects: 000-E4 (a classification/regression target with a signal).
    Taught in: Part I, Vanishing and exploding gradients.

    >>> task = adding_problem(256, 10)
    >>> tuple(task.X.shape), tuple(task.y.shape), task.X.dtype
    ((256, 10, 2), (256, 1), torch.float32)
    >>> bool(torch.allclose((task.X[..., 0] * task.X[..., 1]).sum(1, keepdim=True), task.y))
    True
    """
    n, seq_len = check_int("n", n), check_int("seq_len", seq_len, minimum=2)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    values = rng.uniform(0.0, 1.0, size=(n, seq_len))  # (N, T)
    half = seq_len // 2
    first = rng.integers(0, half, size=n)  # one marker in [0, T/2)
    second = rng.integers(half, seq_len, size=n)  # one marker in [T/2, T)
    markers = np.zeros((n, seq_len))
    markers[np.arange(n), first] = 1.0
    markers[np.arange(n), second] = 1.0
    X = np.stack([values, markers], axis=-1).astype(np.float32)  # (N, T, 2)
    y = (X[..., 0] * X[..., 1]).sum(axis=1, keepdims=True)  # (N, 1), summed in float32
    return _as_task(X, y, "mse", f"sum of the 2 marked values in {seq_len}-step sequences")


def sine_forecast(n: int = 1000, seq_len: int = 20, noise: float = 0.05, *,
                  freq_range: tuple[float, float] = (0.02, 0.1), seed: int = 0) -> Task:
    """Predict the next value of a noisy sine wave from a window of its past values.

    .. math::

        \\begin{gathered}
        s_t = \\sin(2\\pi f t + \\varphi) + \\sigma\\,\\varepsilon_t, \\\\
        X_{i} = (s_0, \\dots, s_{T-1}), \\quad y_i = s_T,
        \\end{gathered}

    where :math:`f \\sim U(f_{lo}, f_{hi})` cycles per step and :math:`\\varphi \\sim U(0, 2\\pi)` are
    drawn per sequence, :math:`\\sigma` is ``noise`` and :math:`\\varepsilon_t \\sim N(0,1)`. The
    target is itself noisy, so no model can beat MSE :math:`\\sigma^2`; the constant predictor scores
    about :math:`1/2 + \\sigma^2`. The default :math:`\\sigma = 0.05` leaves an irreducible floor of
    0.0025, about 0.5 % of the baseline.

    Args:
        n: number of windows N (>= 1).
        seq_len: window length T (>= 2).
        noise: standard deviation :math:`\\sigma` of the additive Gaussian noise (>= 0).
        freq_range: ``(f_lo, f_hi)`` in cycles per step, ``0 < f_lo <= f_hi <= 0.5`` (Nyquist).
        seed: seed of the generator.

    Returns:
        :class:`~dsat_tutorial.data.Task` with ``X`` float32 ``(N, T, 1)``, ``y`` float32 ``(N, 1)``,
        ``loss="mse"``.

    At the defaults, ``SequenceRegressor(1, 16)`` with Adam (lr 1e-2, batch 64, 20 epochs, 80/20
    split) reaches a validation MSE of about 0.015-0.03 x the baseline in 1-2 s on one core.

    Corrects: 003-E8 (the source's regression targets were independent of the inputs).
    Reference: Hyndman & Athanasopoulos (2021), *Forecasting: Principles and Practice*, 3rd ed.
    (one-step-ahead forecasts). Taught in: Part III, The TensorFlow example redone in PyTorch.

    >>> task = sine_forecast(500, 16, noise=0.0)
    >>> tuple(task.X.shape), tuple(task.y.shape)
    ((500, 16, 1), (500, 1))
    >>> round(task.baseline_loss, 1)  # variance of a sine: 1/2
    0.5
    """
    n, seq_len = check_int("n", n), check_int("seq_len", seq_len, minimum=2)
    noise = check_nonneg("noise", noise)
    if not isinstance(freq_range, (tuple, list)) or len(freq_range) != 2:
        raise ValueError(f"freq_range must be a pair (f_lo, f_hi) with 0 < f_lo <= f_hi <= 0.5, "
                         f"got {freq_range!r}")
    f_lo, f_hi = (check_real("freq_range[0]", freq_range[0]), check_real("freq_range[1]", freq_range[1]))
    if not 0.0 < f_lo <= f_hi <= 0.5:
        raise ValueError(f"freq_range must satisfy 0 < f_lo <= f_hi <= 0.5, got {freq_range!r}")
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    freq = rng.uniform(f_lo, f_hi, size=(n, 1))  # (N, 1) cycles per step
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))  # (N, 1)
    t = np.arange(seq_len + 1)[None, :]  # (1, T+1)
    s = np.sin(2 * np.pi * freq * t + phase) + noise * rng.standard_normal((n, seq_len + 1))
    X, y = s[:, :seq_len, None], s[:, seq_len:]  # (N, T, 1), (N, 1)
    return _as_task(X, y, "mse", f"next value of a noisy sine (sigma={noise:g}) from {seq_len} values")


def delayed_sum(n: int = 512, seq_len: int = 20, features: int = 1, *, seed: int = 0) -> Task:
    """Per-step target with memory: the previous input plus half the one before.

    .. math::

        \\begin{gathered}
        y_t = x_{t-1,0} + \\tfrac12\\, x_{t-2,\\,k}, \\\\
        x_{t,j} \\sim U(-1, 1),
        \\end{gathered}

    where terms with a negative time index are 0 (so :math:`y_0 = 0`, :math:`y_1 = x_{0,0}`),
    :math:`k = 0` when ``features == 1`` (the rule :math:`y_t = x_{t-1} + 0.5\\,x_{t-2}`) and
    :math:`k = 1` otherwise (the target of 004-E9's fix; further features are distractors). The
    best constant predictor is the per-step mean, scoring about :math:`1.25/3 \\approx 0.417` per
    step once :math:`t \\ge 2`.

    Args:
        n: number of sequences N (>= 1).
        seq_len: sequence length T (>= 1).
        features: input features F (>= 1).
        seed: seed of the generator.

    Returns:
        :class:`~dsat_tutorial.data.Task` with ``X`` float32 ``(N, T, F)`` and per-step targets
        ``y`` float32 ``(N, T, 1)``, ``loss="mse"``; train with
        ``SequenceRegressor(..., return_sequences=True)``. The numpy RNN from scratch can use
        ``task.X.numpy().astype(np.float64)``.

    At the defaults, ``SequenceRegressor(1, 16, return_sequences=True)`` with Adam (lr 1e-2, batch
    64, 20 epochs, 80/20 split) reaches a validation MSE of about 0.003 x the baseline in about 1 s.

    Corrects: 004-E9 (the source's teacher data had no temporal dependence).
    Reference: Goodfellow et al. (2016), *Deep Learning*, section 10.2 (a recurrent state summarises
    the past inputs). Taught in: Part I, Backpropagation through time.

    >>> task = delayed_sum(4, 6)
    >>> x, y = task.X[..., 0], task.y[..., 0]
    >>> bool(torch.allclose(y[:, 2:], x[:, 1:-1] + 0.5 * x[:, :-2])), float(y[:, 0].abs().max())
    (True, 0.0)
    """
    n, seq_len = check_int("n", n), check_int("seq_len", seq_len)
    features = check_int("features", features)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    X = rng.uniform(-1.0, 1.0, size=(n, seq_len, features)).astype(np.float32)  # (N, T, F)
    k = 0 if features == 1 else 1
    y = np.zeros((n, seq_len, 1), dtype=np.float32)  # (N, T, 1)
    y[:, 1:, 0] += X[:, :-1, 0]  # x_{t-1, 0}
    y[:, 2:, 0] += 0.5 * X[:, :-2, k]  # 0.5 x_{t-2, k}
    rule = "x[t-1] + 0.5 x[t-2]" if k == 0 else "x[t-1,0] + 0.5 x[t-2,1]"
    return _as_task(X, y, "mse", f"per-step y[t] = {rule} over {seq_len} steps")


def threshold_sequences(n: int = 1000, seq_len: int = 16, features: int = 4, *,
                        threshold: float = 0.5, margin: float = 0.5, seed: int = 0) -> Task:
    """Binary classification with a signal: is the sequence's mean above a threshold?

    .. math::

        \\begin{gathered}
        c_i = \\mathbb{1}\\big[m_i > \\theta\\big], \\\\
        m_i = \\frac{1}{T F} \\sum_{t,j} x_{itj}, \\\\
        x_{itj} \\sim U(0, 1), \\\\
        |m_i - \\theta| \\ge \\delta\\,\\sigma_m,
        \\end{gathered}

    where :math:`\\theta` is ``threshold``, :math:`\\delta` is ``margin`` and
    :math:`\\sigma_m = 1/\\sqrt{12\\,T F}` is the standard deviation of :math:`m_i`. Sequences whose
    mean falls inside the band :math:`|m_i - \\theta| < \\delta\\sigma_m` are redrawn, so the classes
    are separated by a gap: without it a cross-entropy near 0 requires resolving the mean to a tiny
    fraction of :math:`\\sigma_m`, and a small LSTM stalls near 0.1-0.2 x the baseline. The label is
    still the deterministic rule of the (float32) inputs, computed in float64. With
    :math:`\\theta = 0.5` the classes are balanced by symmetry and the trivial predictor (the base
    rate) scores cross-entropy :math:`\\approx \\ln 2`. This is source 000's uniform input with labels
    computed from it instead of drawn at random.

    Args:
        n: number of sequences N (>= 1).
        seq_len: sequence length T (>= 1).
        features: features per step F (>= 1); source 000 used 10.
        threshold: :math:`\\theta`, in (0, 1).
        margin: :math:`\\delta \\in [0, 2]`, half-width of the excluded band in units of
            :math:`\\sigma_m`; 0 gives the plain rule (default 0.5 redraws about 38 % of sequences).
        seed: seed of the generator.

    Returns:
        :class:`~dsat_tutorial.data.Task` with ``X`` float32 ``(N, T, F)``, labels ``y`` int64
        ``(N,)`` in {0, 1}, ``loss="cross_entropy"`` (train ``SequenceClassifier(num_classes=2)``;
        for one logit and ``BCEWithLogitsLoss`` use ``y.float()[:, None]``).

    At the defaults, ``SequenceClassifier(4, 16)`` with Adam (lr 1e-2, batch 64, 30 epochs, 80/20
    split) reaches a validation cross-entropy of about 0.002-0.025 x the baseline in 2-3 s.

    Corrects: 000-E4 (labels independent of the inputs), 000-E2/000-E3 (one label per sequence,
    feature count taken from the data).
    Reference: source 000's Keras example (uniform inputs, one binary label per sequence), with the
    label made a function of the input. Taught in: Part IV, The Keras LSTM example redone in PyTorch.

    >>> task = threshold_sequences(200)
    >>> m = task.X.double().mean((1, 2))
    >>> tuple(task.X.shape), task.y.dtype, bool((task.y == (m > 0.5)).all())
    ((200, 16, 4), torch.int64, True)
    """
    n, seq_len = check_int("n", n), check_int("seq_len", seq_len)
    features = check_int("features", features)
    threshold = check_range("threshold", threshold, 0.0, 1.0, low_closed=False, high_closed=False)
    margin = check_range("margin", margin, 0.0, 2.0)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    band = margin / np.sqrt(12.0 * seq_len * features)  # delta * sigma_m
    if band >= max(threshold, 1.0 - threshold):
        raise ValueError(f"margin={margin!r} excludes every possible mean for seq_len*features = "
                         f"{seq_len * features} and threshold={threshold!r}; lower margin")
    kept, count, rounds = [], 0, 0
    while count < n:  # rejection sampling (accepts ~4 % of draws or more for T*F >= 10)
        rounds += 1
        if rounds > 1000:
            raise ValueError(f"margin={margin!r} rejects almost every sequence; lower margin")
        X = rng.uniform(0.0, 1.0, size=(n, seq_len, features)).astype(np.float32)  # (n, T, F)
        mean = X.astype(np.float64).mean(axis=(1, 2))  # (n,)
        kept.append(X[np.abs(mean - threshold) >= band])
        count += len(kept[-1])
    X = np.concatenate(kept)[:n]  # (N, T, F)
    y = (X.astype(np.float64).mean(axis=(1, 2)) > threshold).astype(np.int64)  # (N,)
    return _as_task(X, y, "cross_entropy",
                    f"1[mean > {threshold:g}] of {seq_len}x{features} uniform values "
                    f"(margin {margin:g} sd)")
