r"""Classification metrics for ``fit(metrics=...)``: accuracy and F1, from logits, as PyTorch functions.

Source 000 calls F1 "the accuracy" and gives accuracy only for a test set (ERRATA 000-E15, 000-E17). The
definitions, for predictions :math:`\hat y_i` and labels :math:`y_i`, :math:`i = 1..N`:

.. math::

    \begin{gathered}
    \mathrm{acc} = \frac{1}{N} \sum_{i=1}^{N} \mathbb{1}[\hat y_i = y_i], \\
    F_1 = \frac{2\,\mathrm{TP}}{2\,\mathrm{TP} + \mathrm{FP} + \mathrm{FN}}
    \end{gathered}

where TP, FP, FN count true positives, false positives and false negatives of the positive class. F1
ignores true negatives, so on imbalanced data it and accuracy can disagree wildly; neither is the
other.

What it is: functions ``(outputs, targets) -> float`` with the signature ``fit`` expects for its
``metrics`` argument, reading *logits* (the model's raw outputs: ``argmax`` for several classes, the sign
of the single logit for a binary model). What it is not: a loss (train with
``torch.nn.CrossEntropyLoss`` or ``torch.nn.BCEWithLogitsLoss``), nor a streaming metric library
(``fit`` averages per-batch values weighted by batch size; F1 is not a mean of per-batch F1s, so compute
it on the whole validation set at once, as the chapter does).

References: C. J. van Rijsbergen, *Information Retrieval*, 1979 (the F measure); scikit-learn's
``accuracy_score``, ``f1_score`` and ``confusion_matrix`` (the tests' reference). :func:`confusion_matrix`
counts any labels (e.g. health verdicts against run labels). Taught in: Part IV, What to monitor.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np
import torch

__all__ = ["predictions", "accuracy", "f1_score", "confusion_matrix"]


def predictions(outputs: torch.Tensor) -> torch.Tensor:
    """Class predictions from logits: ``argmax`` over the last axis, or ``logit > 0`` for one logit.

    Args:
        outputs: logits ``(N, C)`` with C >= 2, or ``(N,)`` / ``(N, 1)`` for a binary model.

    Returns:
        int64 tensor ``(N,)``.

    >>> predictions(torch.tensor([[0.2, 1.0], [3.0, -1.0]])).tolist()
    [1, 0]
    >>> predictions(torch.tensor([[0.5], [-2.0]])).tolist()
    [1, 0]
    """
    if not isinstance(outputs, torch.Tensor) or outputs.dim() not in (1, 2) or outputs.numel() == 0:
        raise ValueError(f"outputs must be logits of shape (N,), (N, 1) or (N, C), got "
                         f"{getattr(outputs, 'shape', type(outputs))}")
    if outputs.dim() == 2 and outputs.shape[1] >= 2:
        return outputs.argmax(dim=1)
    return (outputs.reshape(-1) > 0).long()


def _labels(targets: torch.Tensor, n: int) -> torch.Tensor:
    targets = targets.reshape(-1)
    if targets.numel() != n:
        raise ValueError(f"targets must hold one label per sample ({n}), got shape {tuple(targets.shape)}")
    return targets.long()


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    r"""Share of correct predictions, :math:`\frac{1}{N}\sum_i \mathbb{1}[\hat y_i = y_i]`, from logits.

    Args:
        outputs: logits (see :func:`predictions`). targets: labels ``(N,)`` or ``(N, 1)`` (float 0/1
            labels of a ``BCEWithLogitsLoss`` model are accepted).

    Returns:
        a float in [0, 1].

    Corrects: 000-E15 (F1 is not the accuracy), 000-E17 (accuracy is a property of any labelled set,
    not only a test set). Reference: scikit-learn ``accuracy_score``. Taught in: Part IV, What to
    monitor.

    >>> accuracy(torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), torch.tensor([0, 1, 1]))
    0.6666666666666666
    """
    pred = predictions(outputs)
    return float((pred == _labels(targets, pred.numel())).double().mean())


def f1_score(outputs: torch.Tensor, targets: torch.Tensor, positive: int = 1) -> float:
    r"""F1 of the ``positive`` class, :math:`2\mathrm{TP}/(2\mathrm{TP} + \mathrm{FP} + \mathrm{FN})`.

    Returns 0.0 when there is no positive prediction and no positive label (scikit-learn's
    ``zero_division=0``).

    Args:
        outputs: logits (see :func:`predictions`). targets: labels. positive: the class counted as
            positive (an integer >= 0).

    Returns:
        a float in [0, 1].

    Corrects: 000-E15. Reference: van Rijsbergen (1979); scikit-learn ``f1_score``. Taught in: Part IV,
    What to monitor.

    >>> out = torch.tensor([[0.9], [0.8], [-1.0], [-0.5]])   # predicts 1, 1, 0, 0
    >>> f1_score(out, torch.tensor([1, 0, 1, 0]))             # TP 1, FP 1, FN 1
    0.5
    """
    if isinstance(positive, bool) or not isinstance(positive, int) or positive < 0:
        raise ValueError(f"positive must be a class index (an integer >= 0), got {positive!r}")
    pred = predictions(outputs)
    y = _labels(targets, pred.numel())
    tp = int(((pred == positive) & (y == positive)).sum())
    fp = int(((pred == positive) & (y != positive)).sum())
    fn = int(((pred != positive) & (y == positive)).sum())
    return 0.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def confusion_matrix(truth: Sequence[Hashable], predicted: Sequence[Hashable],
                     classes: Sequence[Hashable]) -> np.ndarray:
    r"""Counts :math:`M_{jk} = \#\{i : t_i = c_j,\ p_i = c_k\}`: rows are the true class, columns the prediction.

    The accuracy is :math:`\operatorname{tr} M / \sum_{jk} M_{jk}`; the off-diagonal entries say which
    class is mistaken for which. Works on any hashable labels (ints, strings, enum members).

    Args:
        truth: true labels :math:`t_i`. predicted: predictions :math:`p_i`, the same length.
        classes: the row/column order; every label must be one of them.

    Returns:
        int64 array ``(len(classes), len(classes))``.

    Reference: scikit-learn ``confusion_matrix`` (the same orientation; the tests' reference).
    Taught in: Part IV, Assessing health.

    >>> confusion_matrix(["a", "b", "b"], ["a", "a", "b"], classes=["a", "b"]).tolist()
    [[1, 0], [1, 1]]
    """
    truth, predicted, classes = list(truth), list(predicted), list(classes)
    if len(truth) != len(predicted):
        raise ValueError(f"truth and predicted must have the same length, got {len(truth)} and "
                         f"{len(predicted)}")
    if len(set(classes)) != len(classes) or not classes:
        raise ValueError(f"classes must be a non-empty sequence of distinct labels, got {classes!r}")
    index = {c: j for j, c in enumerate(classes)}
    unknown = sorted({repr(x) for x in truth + predicted if x not in index})
    if unknown:
        raise ValueError(f"labels {unknown} are not in classes {classes!r}")
    counts = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(truth, predicted):
        counts[index[t], index[p]] += 1
    return counts
