r"""Cross-validation splits: k-fold and time-series (expanding-window) index arrays.

What it is: the splits Part I validates with; they reproduce scikit-learn's ``KFold`` and
``TimeSeriesSplit`` (the tests check it). What it is not: a model-selection framework (no estimators,
no refitting).

References: T. Hastie, R. Tibshirani and J. Friedman, *The Elements of Statistical Learning*, 2nd ed.,
§7.10; C. Bergmeir and J. M. Benítez, Information Sciences 191, 2012; R. J. Hyndman and
G. Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., §5.10.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int

__all__ = ["kfold_splits", "time_series_splits"]


def kfold_splits(n: int, k: int, shuffle: bool = False, seed: int = 0) -> list:
    r"""Split ``range(n)`` into ``k`` validation folds; each fold trains on the other ``k - 1``.

    .. math::

        \begin{gathered}
        |F_j| = \lfloor n/k \rfloor + [\, j < n \bmod k \,], \\
        \mathrm{CV} = \frac{1}{k} \sum_{j=0}^{k-1} L\big(\hat\theta_{-j};\ F_j\big), \\
        \hat\theta_{-j} = \text{fit on } \{0, \dots, n-1\} \setminus F_j
        \end{gathered}

    where :math:`F_j` is the :math:`j`-th validation fold and :math:`L` the validation loss. Without
    shuffling the folds are consecutive blocks, exactly scikit-learn's ``KFold(k)``; with shuffling the
    blocks are cut from ``np.random.default_rng(seed).permutation(n)`` (same fold sizes as ``KFold``,
    a different permutation). Index arrays are sorted. Do not use on time series: a model would
    train on the future (use :func:`time_series_splits`). Reference: Hastie et al., ESL §7.10.

    Args:
        n: number of samples, an integer >= 2.
        k: number of folds, an integer in ``[2, n]``.
        shuffle: permute the indices before cutting the blocks.
        seed: seed of the permutation, an integer >= 0 (used only when ``shuffle``).

    Returns:
        ``k`` pairs ``(train_idx, val_idx)`` of int64 arrays; the ``val_idx`` partition ``range(n)``.

    Corrects: 004-E10 (the source's "random split" is one fixed slice).
    Taught in: Part I, Hyperparameter search.

    >>> [v.tolist() for _, v in kfold_splits(5, 2)], kfold_splits(5, 2)[0][0].tolist()
    ([[0, 1, 2], [3, 4]], [3, 4])
    """
    n = check_int("n", n, minimum=2)
    k = check_int("k", k, minimum=2)
    if k > n:
        raise ValueError(f"k must be an integer in [2, n={n}], got {k}")
    check_int("seed", seed, minimum=0)
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    sizes = np.full(k, n // k) + (np.arange(k) < n % k)  # (k,) first n % k folds get one more
    splits, start = [], 0
    for size in sizes:
        in_val = np.zeros(n, dtype=bool)
        in_val[order[start:start + size]] = True
        splits.append((np.flatnonzero(~in_val).astype(np.int64), np.flatnonzero(in_val).astype(np.int64)))
        start += size
    return splits


def time_series_splits(n: int, n_splits: int, *, test_size: int | None = None, gap: int = 0,
                       max_train_size: int | None = None) -> list:
    r"""Expanding-window splits: validate on consecutive blocks, train only on what came before.

    .. math::

        \begin{gathered}
        V_j = [\, s_j,\ s_j + m \,), \\
        s_j = n - (S - j)\, m, \\
        T_j = [\max(0, s_j - g - M),\ s_j - g), \\
        j = 0, \dots, S - 1
        \end{gathered}

    where :math:`S` = ``n_splits``, :math:`m` = ``test_size`` (default :math:`\lfloor n/(S+1)
    \rfloor`), :math:`g` = ``gap`` (samples dropped between training and validation, e.g. the
    forecast horizon) and :math:`M` = ``max_train_size`` (``None``: unbounded, a sliding window
    otherwise). Every training index is strictly before its validation block. Same folds as
    scikit-learn's ``TimeSeriesSplit`` (which also allows ``n_splits = 1`` here).
    References: Bergmeir & Benítez (2012); Hyndman & Athanasopoulos, FPP3 §5.10.

    Args:
        n: number of time steps, an integer >= 2.
        n_splits: number of validation blocks, an integer >= 1.
        test_size: length of each validation block (integer >= 1) or ``None``.
        gap: samples left out before each validation block, an integer >= 0.
        max_train_size: longest training window (integer >= 1) or ``None``.

    Returns:
        ``n_splits`` pairs ``(train_idx, val_idx)`` of int64 arrays, blocks in time order.

    Corrects: 004-E10 (a random or fixed split of a sequence; here no fold trains on the future).
    Taught in: Part I, Hyperparameter search.

    >>> [(t.tolist(), v.tolist()) for t, v in time_series_splits(8, 3, gap=1)]
    [([0], [2, 3]), ([0, 1, 2], [4, 5]), ([0, 1, 2, 3, 4], [6, 7])]
    """
    n = check_int("n", n, minimum=2)
    n_splits = check_int("n_splits", n_splits, minimum=1)
    gap = check_int("gap", gap, minimum=0)
    if max_train_size is not None:
        max_train_size = check_int("max_train_size", max_train_size, minimum=1)
    if test_size is None:
        if n < n_splits + 1:
            raise ValueError(f"n must be >= n_splits + 1 = {n_splits + 1} when test_size is None, got {n}")
        test_size = n // (n_splits + 1)
    test_size = check_int("test_size", test_size, minimum=1)
    if n - gap - n_splits * test_size < 1:
        raise ValueError(f"n must be >= gap + n_splits * test_size + 1 = {gap + n_splits * test_size + 1} "
                         f"(the first training window must be non-empty), got {n}")
    splits = []
    for j in range(n_splits):
        start = n - (n_splits - j) * test_size  # s_j: first validation index
        end = start - gap  # training window is [lo, end)
        lo = 0 if max_train_size is None else max(0, end - max_train_size)
        splits.append((np.arange(lo, end, dtype=np.int64),
                       np.arange(start, start + test_size, dtype=np.int64)))
    return splits
