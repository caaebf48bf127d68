"""Seeded train/validation splits of in-memory tensors into PyTorch data loaders.

What it is: :func:`split_indices` (a seeded random split, or a time-ordered one with validation strictly
after training) and :func:`make_loaders`, which turns ``(X, y)`` into a shuffling training loader with
its own generator and an ordered validation loader. What it is not: a data-loading framework
(everything fits in memory as tensors; ``num_workers=0``).

References: PyTorch ``torch.utils.data`` reproducibility notes; Hyndman & Athanasopoulos (2021),
*Forecasting: Principles and Practice*, §5.10.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Subset, TensorDataset

from .._validation import check_int, check_range
from .synthetic import adding_problem  # noqa: F401  (make_loaders' doctest)

__all__ = ["split_indices", "make_loaders"]


def split_indices(n: int, val_fraction: float, seed: int = 0, *,
                  time_ordered: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of a seeded random split, or of a time-ordered split (validation strictly after).

    .. math::

        \\begin{gathered}
        n_{val} = \\max(1, \\operatorname{round}(\\rho N)), \\\\
        n_{train} = N - n_{val},
        \\end{gathered}

    where :math:`\\rho` is ``val_fraction``. Random split: a permutation drawn from
    ``torch.Generator().manual_seed(seed)``, the first :math:`n_{train}` entries (sorted) train.
    Time-ordered split: indices :math:`0..n_{train}-1` train and :math:`n_{train}..N-1` validate,
    so the model is never validated on the past of what it trained on.

    Args:
        n: number of samples N (>= 2).
        val_fraction: :math:`\\rho \\in (0, 1)`.
        seed: seed of the permutation (ignored when ``time_ordered``).
        time_ordered: keep the order; validation is the last block.

    Returns:
        ``(train_idx, val_idx)``, sorted int64 tensors that partition ``range(n)``.

    Reference: Hyndman & Athanasopoulos (2021), *Forecasting: Principles and Practice*, section 5.10
    (evaluate on data after the training period). Taught in: Part I, Hyperparameter search
    (time-series cross-validation).

    >>> split_indices(5, 0.4, time_ordered=True)
    (tensor([0, 1, 2]), tensor([3, 4]))
    """
    n = check_int("n", n, minimum=2)
    val_fraction = check_range("val_fraction", val_fraction, 0.0, 1.0, low_closed=False, high_closed=False)
    n_val = min(max(1, round(val_fraction * n)), n - 1)
    n_train = n - n_val
    if time_ordered:
        order = torch.arange(n)
    else:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(check_int("seed", seed, minimum=0)))
    return order[:n_train].sort().values, order[n_train:].sort().values


def make_loaders(X: torch.Tensor, y: torch.Tensor, batch_size: int = 64, val_fraction: float = 0.2,
                 seed: int = 0, shuffle: bool = True,
                 time_ordered: bool = False) -> tuple[DataLoader, DataLoader]:
    """Split ``(X, y)`` into a seeded training loader and an unshuffled validation loader.

    .. math::

        \\begin{gathered}
        \\mathcal{D} = \\mathcal{D}_{train} \\,\\dot\\cup\\, \\mathcal{D}_{val}, \\\\
        |\\mathcal{D}_{val}| = \\max(1, \\operatorname{round}(\\rho N)),
        \\end{gathered}

    where :math:`\\rho` is ``val_fraction`` (see :func:`split_indices`). With
    ``time_ordered=True`` every validation index is larger than every training index.

    The training loader reshuffles every epoch from its own ``torch.Generator`` seeded with
    ``seed`` (``train_loader.generator``): the same seed gives the same batches in the same order,
    independent of the global RNG; a training loop that checkpoints must save
    ``train_loader.generator.get_state()`` to resume bit-exactly. Both loaders use
    ``num_workers=0`` and keep the last partial batch. Their datasets are
    ``torch.utils.data.Subset`` objects, so ``loader.dataset.indices`` are the split's indices.

    Args:
        X: inputs ``(N, T, F)``.
        y: targets with ``len(y) == N``, any trailing shape and dtype.
        batch_size: samples per batch (>= 1).
        val_fraction: fraction :math:`\\rho \\in (0, 1)` held out for validation.
        seed: seed of the split and of the shuffling (>= 0).
        shuffle: reshuffle the training set every epoch (a time-ordered split may still shuffle its
            training windows; the split itself stays ordered).
        time_ordered: validation block strictly after the training block.

    Returns:
        ``(train_loader, val_loader)`` yielding ``(X_batch, y_batch)`` pairs.

    Corrects: 004-E10 (the source's "random split" was deterministic slicing).
    Reference: PyTorch ``torch.utils.data.DataLoader`` and its reproducibility notes (a seeded
    ``generator`` for the shuffling). Taught in: Part IV, The DS&T loop on real data.

    >>> task = adding_problem(100, 10)
    >>> train, val = make_loaders(task.X, task.y, batch_size=32, val_fraction=0.2, seed=0)
    >>> len(train.dataset), len(val.dataset), tuple(next(iter(train))[0].shape)
    (80, 20, (32, 10, 2))
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 3:
        raise ValueError(f"X must be a tensor of shape (N, T, F), got {getattr(X, 'shape', type(X))}")
    if not isinstance(y, torch.Tensor) or y.dim() < 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must be a tensor with len(y) == len(X) == {X.shape[0]}, "
                         f"got {getattr(y, 'shape', type(y))}")
    batch_size = check_int("batch_size", batch_size)
    seed = check_int("seed", seed, minimum=0)
    train_idx, val_idx = split_indices(X.shape[0], val_fraction, seed, time_ordered=time_ordered)
    full = TensorDataset(X, y)
    train_loader = DataLoader(Subset(full, train_idx.tolist()), batch_size=batch_size,
                              shuffle=bool(shuffle), num_workers=0,
                              generator=torch.Generator().manual_seed(seed))
    val_loader = DataLoader(Subset(full, val_idx.tolist()), batch_size=batch_size, shuffle=False,
                            num_workers=0)
    return train_loader, val_loader
