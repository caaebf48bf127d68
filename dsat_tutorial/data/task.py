"""The :class:`Task` container every data generator returns, and the trivial-predictor baseline.

Internal module: import the public names from :mod:`dsat_tutorial.data`.

A task bundles inputs, targets, the loss a chapter should train with and the loss of the best
*constant* predictor -- the number a trained model must beat before anyone calls it learning
(source 000 and 003 trained on labels with no signal and never noticed: 000-E4, 003-E8).
What it is not: a dataset class (``Task`` holds tensors; ``make_loaders`` builds the loaders).

References: Goodfellow, Bengio & Courville (2016), *Deep Learning*, section 11.2 (default baseline
models).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._validation import check_choice

__all__ = ["Task", "baseline_loss", "LOSSES"]

LOSSES = ("mse", "cross_entropy", "bce")


def baseline_loss(y: torch.Tensor, loss: str = "mse", fit_on: torch.Tensor | None = None) -> float:
    """Loss of the best constant predictor, fitted on ``fit_on`` (default: ``y``) and scored on ``y``.

    .. math::

        \\begin{gathered}
        \\text{MSE: } \\frac{1}{N D}\\sum_{i,d} (y_{id} - \\bar y_d)^2, \\\\
        \\text{CE: } -\\frac{1}{N}\\sum_i \\log \\hat p_{y_i}, \\\\
        \\begin{aligned}
        &\\text{BCE: } -\\frac{1}{N}\\sum_i \\big[y_i \\log \\hat p \\\\
        &\\qquad + (1-y_i)\\log(1-\\hat p)\\big]
        \\end{aligned}
        \\end{gathered}

    where :math:`\\bar y_d` is the mean over samples of target position :math:`d` (for per-step
    targets of shape ``(N, T, 1)`` one mean per time step), :math:`\\hat p_k` the frequency of class
    :math:`k` and :math:`\\hat p` the base rate of label 1, all computed on ``fit_on``. With
    ``fit_on=None`` the MSE baseline is the average per-position variance and the CE baseline is the
    entropy of the class frequencies (``ln 2`` for balanced binary labels, ``ln 10`` for ten
    balanced classes). A class absent from ``fit_on`` but present in ``y`` gives ``inf``.

    Args:
        y: targets to score -- float ``(N, ...)`` for ``"mse"``; int64 class indices ``(N,)`` for
            ``"cross_entropy"``; 0/1 labels ``(N,)`` or ``(N, 1)`` for ``"bce"``.
        loss: ``"mse"``, ``"cross_entropy"`` or ``"bce"``.
        fit_on: targets the constant is fitted on (e.g. the training split); default ``y``.

    Returns:
        The baseline loss as a Python float.

    Corrects: 000-E4 and 003-E8 (a model is only judged against this number).
    Reference: Goodfellow, Bengio & Courville (2016), *Deep Learning*, section 11.2 (default baseline
    models). Taught in: Part IV, Monitoring and health assessment.

    >>> round(baseline_loss(torch.tensor([[0.0], [2.0]])), 6)
    1.0
    >>> round(baseline_loss(torch.tensor([0, 1, 0, 1]), "cross_entropy"), 6)  # ln 2
    0.693147
    """
    check_choice("loss", loss, LOSSES)
    fit_on = y if fit_on is None else fit_on
    if loss == "mse":
        y64, ref = y.double(), fit_on.double()
        return float(((y64 - ref.mean(dim=0)) ** 2).mean())
    if loss == "bce":
        p = float(fit_on.double().mean())
        yv = y.double().reshape(-1)
        logp, log1mp = _safe_log(p), _safe_log(1.0 - p)
        nll = torch.where(yv > 0.5, torch.tensor(-logp), torch.tensor(-log1mp))  # (N,)
        return float(nll.mean())
    labels, ref = y.reshape(-1).long(), fit_on.reshape(-1).long()
    num_classes = int(max(labels.max(), ref.max())) + 1
    freq = torch.bincount(ref, minlength=num_classes).double() / ref.numel()
    return float(-freq.log()[labels].mean())


def _safe_log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


@dataclass(frozen=True, eq=False)
class Task:
    """A supervised sequence task: inputs, targets, the loss to train with and its trivial baseline.

    .. math::

        \\begin{gathered}
        X \\in \\mathbb{R}^{N \\times T \\times F}, \\\\
        \\text{baseline\\_loss} = \\min_{c\\ \\text{constant}} \\mathcal{L}(c, y)
        \\end{gathered}

    where :math:`N` is the number of sequences, :math:`T` their length, :math:`F` the features per
    step and :math:`\\mathcal{L}` the task's ``loss`` (see :func:`baseline_loss`).

    Attributes:
        X: float32 inputs ``(N, T, F)``.
        y: targets; float32 ``(N, 1)`` (last-step regression), float32 ``(N, T, 1)`` (per-step
            regression) or int64 ``(N,)`` (class indices) -- each generator documents which.
        baseline_loss: loss of the best constant predictor on this data (:func:`baseline_loss`).
        loss: ``"mse"`` (use ``nn.MSELoss``), ``"cross_entropy"`` (``nn.CrossEntropyLoss`` on
            logits ``(N, C)``) or ``"bce"``; :meth:`loss_fn` builds the module.
        description: one line saying what is predicted from what.

    A task is a frozen dataclass, not a tuple: write ``task.X, task.y``. Pass it to
    :func:`~dsat_tutorial.data.make_loaders` as ``make_loaders(task.X, task.y, ...)``.

    Reference: Goodfellow et al. (2016), section 11.2 (judge a model against a trivial baseline).
    Taught in: Part IV, The DS&T loop on real data.

    >>> t = Task(torch.zeros(2, 3, 1), torch.zeros(2, 1), 0.0, "mse", "zeros")
    >>> t
    Task(X=(2, 3, 1) float32, y=(2, 1) float32, baseline_loss=0.0, loss='mse', description='zeros')
    >>> t.loss_fn()
    MSELoss()
    """

    X: torch.Tensor
    y: torch.Tensor
    baseline_loss: float
    loss: str
    description: str

    def __post_init__(self) -> None:
        check_choice("loss", self.loss, LOSSES)
        if self.X.dim() != 3:
            raise ValueError(f"X must have shape (N, T, F), got {tuple(self.X.shape)}")
        if self.y.shape[0] != self.X.shape[0]:
            raise ValueError(f"X and y must hold the same number of samples, got "
                             f"{self.X.shape[0]} and {self.y.shape[0]}")

    def loss_fn(self) -> torch.nn.Module:
        """A fresh loss module matching :attr:`loss` (mean reduction)."""
        if self.loss == "mse":
            return torch.nn.MSELoss()
        if self.loss == "bce":
            return torch.nn.BCEWithLogitsLoss()
        return torch.nn.CrossEntropyLoss()

    def __repr__(self) -> str:
        def shape(t: torch.Tensor) -> str:
            return f"{tuple(t.shape)} {str(t.dtype).removeprefix('torch.')}"

        return (f"Task(X={shape(self.X)}, y={shape(self.y)}, baseline_loss={round(self.baseline_loss, 6)}, "
                f"loss={self.loss!r}, description={self.description!r})")
