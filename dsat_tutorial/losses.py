r"""The losses a training run reports, written from their formulas: binary cross-entropy (from
probabilities, clipped; and from logits, stably), multi-class cross-entropy and mean squared error.

Source 000 (section 3.3.1) gives the *binary* cross-entropy as "the" cross-entropy, applies it to a
sigmoid output without clipping, calls its task "对数回归" (it is logistic regression) and puts MSE
beside it for classification (ERRATA 000-E15). These functions are the formulas, so the book can show
(a) where the naive forms break -- :math:`\log 0 = -\infty`, :math:`0 \cdot \log 0 = \text{NaN}`, and
(b) that each formula is what PyTorch computes (the tests compare with ``torch.nn.functional``).

What it is: reference implementations, float64-friendly, mean over samples. What it is not: a
replacement for PyTorch's losses -- train with ``nn.BCEWithLogitsLoss``, ``nn.CrossEntropyLoss`` and
``nn.MSELoss``; these are here to be read and checked.

References: Goodfellow, Bengio & Courville (2016), *Deep Learning*, sections 3.13 and 6.2.2 (softplus
form of the logistic loss; the saturation of sigmoid + squared error); PyTorch
``torch.nn.functional.binary_cross_entropy_with_logits`` (the log-sum-exp trick).
"""

from __future__ import annotations

import torch

from ._validation import check_range

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
           "mean_squared_error"]


def _pair(pred: torch.Tensor, target: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(pred, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise ValueError(f"{name} and targets must be tensors, got {type(pred).__name__} and "
                         f"{type(target).__name__}")
    if pred.numel() == 0 or pred.numel() != target.numel():
        raise ValueError(f"{name} and targets must hold the same (non-zero) number of values, got "
                         f"shapes {tuple(pred.shape)} and {tuple(target.shape)}")
    return pred.reshape(-1), target.reshape(-1).to(pred.dtype)


def binary_cross_entropy(probs: torch.Tensor, targets: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    r"""Binary cross-entropy of probabilities, with :math:`\hat y` clipped to :math:`[\epsilon, 1-\epsilon]`.

    .. math::
        \mathcal{L}_{\mathrm{BCE}} = -\frac{1}{N}\sum_{i=1}^{N}\Big[y_i \log \tilde y_i
        + (1 - y_i)\log(1 - \tilde y_i)\Big], \qquad \tilde y_i = \min(\max(\hat y_i, \epsilon), 1 - \epsilon)

    where :math:`\hat y_i \in [0, 1]` is the predicted probability of class 1 and :math:`y_i \in \{0, 1\}`
    (or a soft label in [0, 1]). ``eps=0`` is the source's unclipped formula: a confident wrong
    prediction (:math:`\hat y = 0`, :math:`y = 1`) gives ``inf``, and :math:`\hat y = 0`, :math:`y = 0`
    gives :math:`0 \cdot \log 0` = NaN. Keras clips at :math:`\epsilon = 10^{-7}`; PyTorch's
    ``F.binary_cross_entropy`` instead clamps each log at -100 (equal to this with
    :math:`\epsilon = e^{-100}` for 0/1 labels).

    Args:
        probs: predicted probabilities, any shape. targets: labels, the same number of values.
        eps: clipping margin :math:`\epsilon \in [0, 0.5)`.

    Returns:
        a 0-dim tensor.

    Corrects: 000-E15. Reference: Goodfellow et al. (2016), section 6.2.2. Taught in: Part IV, What to
    monitor.

    >>> p, y = torch.tensor([0.9, 0.2]), torch.tensor([1.0, 0.0])
    >>> round(float(binary_cross_entropy(p, y)), 6)   # -(ln 0.9 + ln 0.8) / 2
    0.164252
    >>> binary_cross_entropy(torch.tensor([0.0]), torch.tensor([1.0]), eps=0.0)
    tensor(inf)
    """
    eps = check_range("eps", eps, 0.0, 0.5, high_closed=False)
    p, y = _pair(probs, targets, "probs")
    if eps > 0:
        p = p.clamp(eps, 1.0 - eps)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


def binary_cross_entropy_with_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""Binary cross-entropy of a logit :math:`z`, computed without overflow (no clipping needed).

    .. math::
        \mathcal{L} = \frac{1}{N}\sum_{i=1}^{N}\Big[\max(z_i, 0) - z_i y_i + \log\big(1 + e^{-\lvert z_i
        \rvert}\big)\Big]

    which equals :func:`binary_cross_entropy` (with ``eps=0``) at :math:`\hat y = \sigma(z) = 1/(1 + e^{-z})` exactly,
    because :math:`-\log\sigma(z) = \log(1 + e^{-z})` and :math:`-\log(1 - \sigma(z)) = \log(1 + e^{z})`;
    the form above never exponentiates a positive number. Its gradient is
    :math:`(\sigma(z_i) - y_i)/N`: it does not vanish when the sigmoid saturates on a wrong answer,
    unlike sigmoid + squared error (:math:`2(\sigma - y)\,\sigma(1 - \sigma)/N`).

    Args:
        logits: :math:`z`, any shape. targets: labels in [0, 1], the same number of values.

    Returns:
        a 0-dim tensor.

    Corrects: 000-E15. Reference: PyTorch ``F.binary_cross_entropy_with_logits``. Taught in: Part IV,
    What to monitor.

    >>> round(float(binary_cross_entropy_with_logits(torch.tensor([0.0]), torch.tensor([1.0]))), 6)
    0.693147
    >>> binary_cross_entropy_with_logits(torch.tensor([-200.0]), torch.tensor([1.0]))  # finite
    tensor(200.)
    """
    z, y = _pair(logits, targets, "logits")
    return (z.clamp(min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean()


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""Multi-class cross-entropy of logits :math:`z_i \in \mathbb{R}^C` and class indices :math:`c_i`.

    .. math::
        \mathcal{L}_{\mathrm{CE}} = -\frac{1}{N}\sum_{i=1}^{N}\sum_{k=1}^{C} y_{ik}\log \hat y_{ik}
        = -\frac{1}{N}\sum_{i=1}^{N}\Big[z_{i c_i} - \log\sum_{k=1}^{C} e^{z_{ik}}\Big]

    where :math:`y_{ik} = \mathbb{1}[k = c_i]` (one-hot) and :math:`\hat y_{ik} = e^{z_{ik}} / \sum_j
    e^{z_{ij}}` (softmax). The log-sum-exp is taken after subtracting :math:`\max_k z_{ik}`, so large
    logits do not overflow. With :math:`C = 2` it is the binary cross-entropy of the logit difference.

    Args:
        logits: ``(N, C)``, C >= 2. targets: int class indices ``(N,)`` in ``0..C-1``.

    Returns:
        a 0-dim tensor.

    Corrects: 000-E15 (the source gives only the binary formula). Reference: Goodfellow et al. (2016),
    section 6.2.2.3; PyTorch ``F.cross_entropy``. Taught in: Part IV, What to monitor.

    >>> round(float(cross_entropy(torch.zeros(2, 10), torch.tensor([3, 7]))), 6)   # ln 10
    2.302585
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[1] < 2:
        raise ValueError(f"logits must have shape (N, C) with C >= 2, got {getattr(logits, 'shape', logits)}")
    if not isinstance(targets, torch.Tensor) or targets.shape != (logits.shape[0],):
        raise ValueError(f"targets must be class indices of shape ({logits.shape[0]},), got "
                         f"{getattr(targets, 'shape', targets)}")
    c = targets.long()
    if int(c.min()) < 0 or int(c.max()) >= logits.shape[1]:
        raise ValueError(f"targets must lie in 0..{logits.shape[1] - 1}, got {c.min()}..{c.max()}")
    top = logits.max(dim=1, keepdim=True).values  # (N, 1)
    logsumexp = top.squeeze(1) + torch.log(torch.exp(logits - top).sum(dim=1))  # (N,)
    return -(logits.gather(1, c[:, None]).squeeze(1) - logsumexp).mean()


def mean_squared_error(preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""Mean squared error, :math:`\frac{1}{N}\sum_{i=1}^{N}(\hat y_i - y_i)^2` (over every value).

    A regression loss. On a sigmoid output for 0/1 labels it is a poor classification loss: its
    gradient carries the factor :math:`\sigma'(z) = \sigma(1 - \sigma)`, which vanishes for a confident
    wrong answer (see :func:`binary_cross_entropy_with_logits`).

    Args:
        preds, targets: tensors with the same number of values.

    Returns:
        a 0-dim tensor.

    Corrects: 000-E15 (MSE is for regression). Reference: PyTorch ``F.mse_loss``. Taught in: Part IV,
    What to monitor.

    >>> float(mean_squared_error(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0])))
    5.0
    """
    p, y = _pair(preds, targets, "preds")
    return ((p - y) ** 2).mean()
