"""A minimal mini-batch training loop for the NumPy RNN of :mod:`dsat_tutorial.scratch.rnn`.

What it is: the loop that source 004's code (§4) meant to write — shuffled mini-batches, BPTT,
optional global-norm clipping, an optimizer step, and the mean validation MSE once per epoch —
small enough to read in one sitting. A step whose loss, gradient or update is not finite is
skipped, so a diverging run leaves finite weights behind and says so in its log.
What it is not: the book's PyTorch training loop (that is ``dsat_tutorial.training.fit``, with
schedulers, health monitoring and checkpoints).

References: Goodfellow, Bengio & Courville, *Deep Learning* §8.1.3 (mini-batch algorithms);
Pascanu, Mikolov & Bengio, ICML 2013 (global-norm clipping).

Taught in: Part I, Optimizers from scratch; Part I, What source 004 gets wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_int, check_positive
from .optim import clip_grad_norm_
from .rnn import RNN

__all__ = ["TrainLog", "train_rnn"]


@dataclass
class TrainLog:
    r"""What :func:`train_rnn` measured: per-epoch losses and per-step gradient norms.

    .. math::

        \begin{gathered}
        \text{train\_loss}_e = \frac{1}{|S_e|} \sum_{b \in S_e} L_b, \\
        \text{grad\_norm}_b = \Big(\sum_k \lVert g_{b,k} \rVert_F^2\Big)^{1/2}
        \end{gathered}

    where :math:`S_e` is the set of steps of epoch :math:`e` that were not skipped, :math:`L_b` the
    mini-batch MSE of step :math:`b` and :math:`g_{b,k}` its gradient for parameter array :math:`k`
    (before clipping).

    Attributes:
        train_loss: mean mini-batch loss of each epoch (steps that were skipped are not counted).
        val_loss: validation MSE after each epoch (empty without validation data).
        grad_norm: global gradient norm of every step, before clipping.
        skipped: number of steps skipped because the loss, a gradient or the updated weights were not
            finite (the weights are then left as they were before the step; the optimizer's own state
            may still have advanced).

    Reference: Keras ``History`` (per-epoch losses). Taught in: Part I, Optimizers from scratch.

    >>> log = TrainLog(train_loss=[0.5, 0.25], grad_norm=[3.0, 1.0, 2.0])
    >>> len(log.train_loss), max(log.grad_norm), log.skipped
    (2, 3.0, 0)
    """

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    skipped: int = 0


def train_rnn(model: RNN, optimizer, X, Y, *, epochs: int, batch_size: int, clip: float | None = None,
              X_val=None, Y_val=None, truncate: int | None = None, seed: int = 0) -> TrainLog:
    r"""Train ``model`` in place with mini-batch BPTT; return the losses and gradient norms.

    Each epoch draws a permutation of the N training sequences from ``np.random.default_rng(seed)``
    (one generator for the whole run), splits it into ``ceil(N / batch_size)`` mini-batches and, for each,
    computes :math:`L_b` and :math:`g_b` by BPTT, clips the global norm and updates:

    .. math::

        \begin{gathered}
        g_b \leftarrow g_b \cdot \min\Big(1, \frac{c}{\|g_b\|}\Big), \\
        \theta \leftarrow \operatorname{opt}(\theta, g_b)
        \end{gathered}

    where :math:`\|g_b\|` is the norm over all five parameter arrays and c is ``clip`` (no clipping
    when it is None).

    Args:
        model: a :class:`~dsat_tutorial.scratch.rnn.RNN`, updated in place.
        optimizer: one of :mod:`dsat_tutorial.scratch.optim`'s optimizers.
        X, Y: training inputs ``(N, T, D)`` and per-step targets ``(N, T, O)`` (float64 arrays, or
            anything ``np.asarray`` turns into them, e.g. torch tensors).
        epochs, batch_size: integers >= 1. clip: max global norm (> 0) or None.
        X_val, Y_val: optional validation data, evaluated after every epoch.
        truncate: BPTT truncation length (None: full BPTT).
        seed: seeds the shuffling.

    Returns:
        a :class:`TrainLog`.

    Corrects: 004-E10 (the source's "random split" is a fixed slice and one step per epoch),
    004-E17 (sums instead of means, no clipping, a per-step validation print instead of the mean MSE).
    Reference: Goodfellow et al., *Deep Learning* §8.1.3 (mini-batch SGD); Pascanu et al. 2013
    (clipping). Taught in: Part I, Optimizers from scratch.

    >>> from dsat_tutorial.scratch import RNN, Adam
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 10, 1)); Y = np.zeros_like(X); Y[:, 1:] = X[:, :-1]  # y_t = x_{t-1}
    >>> log = train_rnn(RNN(1, 8, 1), Adam(lr=0.02), X, Y, epochs=30, batch_size=16, clip=1.0)
    >>> len(log.train_loss), log.train_loss[-1] < 0.1 * log.train_loss[0]
    (30, True)
    """
    epochs = check_int("epochs", epochs)
    batch_size = check_int("batch_size", batch_size)
    if clip is not None:
        clip = check_positive("clip", clip)
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if X.ndim != 3 or Y.ndim != 3 or X.shape[:2] != Y.shape[:2]:
        raise ValueError(f"X must be (N, T, D) and Y (N, T, O) with the same N and T, got X {X.shape} "
                         f"and Y {Y.shape}")
    validate = X_val is not None
    if validate != (Y_val is not None):
        raise ValueError("give both X_val and Y_val, or neither")
    if validate:
        X_val, Y_val = np.asarray(X_val, dtype=np.float64), np.asarray(Y_val, dtype=np.float64)
    rng = np.random.default_rng(seed)
    n_batches = -(-len(X) // batch_size)
    log = TrainLog()
    for _ in range(epochs):
        losses = []
        for idx in np.array_split(rng.permutation(len(X)), n_batches):
            # a diverging run overflows here on purpose: such a step is detected and skipped below
            with np.errstate(over="ignore", invalid="ignore"):
                loss, grads = model.loss_and_grads(X[idx], Y[idx], truncate=truncate)
                grads.pop("h0")  # h0 is an input here, not a parameter
                norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
            log.grad_norm.append(norm)
            if not (np.isfinite(loss) and np.isfinite(norm)):
                log.skipped += 1  # a non-finite loss or gradient never reaches the weights
                continue
            if clip is not None:
                clip_grad_norm_(grads, clip)
            before = {k: v.copy() for k, v in model.params.items()}
            with np.errstate(over="ignore", invalid="ignore"):
                optimizer.step(model.params, grads)
            if not all(np.isfinite(v).all() for v in model.params.values()):
                for k, v in before.items():  # the update itself overflowed: undo it
                    model.params[k][...] = v
                log.skipped += 1
                continue
            losses.append(loss)
        log.train_loss.append(float(np.mean(losses)) if losses else float("nan"))
        if validate:
            with np.errstate(over="ignore", invalid="ignore"):
                log.val_loss.append(model.loss(model.forward(X_val)[0], Y_val))
    return log
