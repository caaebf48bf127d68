"""Per-time-step gradient norms: how much credit each input step receives from the loss.

Backpropagation through time sends the error at the end of a sequence back to step :math:`t` through
a product of step Jacobians; the norm of the gradient with respect to the input :math:`x_t` shows how
much of it arrives. Its profile over :math:`t` is where vanishing (early steps get almost nothing) and
explosion (early steps get far more than late ones) become visible on a real ``nn.LSTM``/``nn.GRU``,
whose hidden states are not exposed step by step. :func:`input_gradient_norms` measures it with one
backward pass; :func:`early_late_ratio` summarises the profile in one number.

What it is not: a training signal ``fit`` acts on, and nothing here depends on a learning rate -- which
is the point of ERRATA 000-E12: an optimizer multiplies the *summed* gradient of the shared weights by
:math:`\\eta`, so it scales every step's share by the same number and cannot change the profile.

References:
    Y. Bengio, P. Simard, P. Frasconi, "Learning long-term dependencies with gradient descent is
    difficult", IEEE TNN 1994. R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of training
    recurrent neural networks", ICML 2013, section 2.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

__all__ = ["input_gradient_norms", "early_late_ratio"]


def input_gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable) -> torch.Tensor:
    """The norm of the loss gradient with respect to each input time step, over batch and features.

    .. math::
        \\begin{gathered}
        \\begin{aligned}
        n_t &= \\Big\\lVert \\frac{\\partial L}{\\partial x_{:,t,:}} \\Big\\rVert_2 \\\\
        &= \\Big( \\sum_{i=1}^{N} \\sum_{j=1}^{F} \\Big(\\frac{\\partial L}{\\partial x_{itj}}\\Big)^2 \\Big)^{1/2},
        \\end{aligned} \\\\
        t = 0, \\dots, T-1,
        \\end{gathered}

    where :math:`L` = ``loss_fn(model(x), y)`` and :math:`x` is ``(N, T, F)``. For a linear recurrence
    :math:`h_t = U h_{t-1} + W x_t` with the loss on :math:`h_{T-1}`,
    :math:`\\partial L/\\partial x_t = W^\\top (U^\\top)^{T-1-t}\\, \\partial L/\\partial h_{T-1}`: the
    profile decays or grows like the powers of :math:`U`. The model's parameters are not changed and
    their ``.grad`` is left as it was; the model's train/eval mode is used as set (put it in eval mode
    to measure without dropout).

    Args:
        model: maps ``(N, T, F)`` inputs to outputs ``loss_fn`` accepts.
        x: inputs ``(N, T, F)``, floating point.
        y: targets for ``loss_fn``.
        loss_fn: ``loss_fn(outputs, targets) -> scalar tensor``.

    Returns:
        A 1-D tensor of the :math:`T` norms (detached, in ``x``'s dtype).

    Raises:
        ValueError: ``x`` is not a floating-point ``(N, T, F)`` tensor, or the loss is not a scalar.

    Reference: Bengio et al. (1994); Pascanu et al. (2013), section 2. Corrects ERRATA 000-E12 (a global
    learning rate cannot change this profile). Taught in: Part IV, The "explosion/vanishing factor".

    >>> rnn = nn.RNN(1, 1, bias=False, nonlinearity="relu", batch_first=True)
    >>> with torch.no_grad():
    ...     _ = rnn.weight_ih_l0.fill_(1.0); _ = rnn.weight_hh_l0.fill_(0.5)
    >>> model = lambda x: rnn(x)[0][:, -1]          # the last hidden state
    >>> x = torch.ones(1, 4, 1)                     # all pre-activations positive: a linear recurrence
    >>> input_gradient_norms(model, x, torch.zeros(1, 1), lambda out, y: out.sum()).tolist()
    [0.125, 0.25, 0.5, 1.0]
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor of shape (N, T, F), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    params = [p for p in getattr(model, "parameters", lambda: [])()]
    saved = [None if p.grad is None else p.grad.clone() for p in params]
    xg = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = loss_fn(model(xg), y)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError(f"loss_fn must return a scalar tensor, got {loss!r}")
        (grad,) = torch.autograd.grad(loss, xg)  # (N, T, F); parameters' .grad untouched
    for p, g in zip(params, saved):
        p.grad = g
    return torch.linalg.vector_norm(grad, dim=(0, 2)).detach()  # (T,)


def early_late_ratio(norms: torch.Tensor, k: int = 1) -> float:
    """How much credit the first ``k`` steps get relative to the last ``k``: a profile in one number.

    .. math::
        r = \\frac{\\sum_{t < k} n_t}{\\sum_{t \\ge T-k} n_t}

    where :math:`n_t` are the per-step norms of :func:`input_gradient_norms`. :math:`r \\ll 1`:
    vanishing over the sequence; :math:`r \\gg 1`: explosion. A positive scalar :math:`\\eta`
    multiplying every :math:`n_t` cancels: :math:`r(\\eta n) = r(n)` (ERRATA 000-E12).

    Args:
        norms: 1-D tensor of :math:`T \\ge 2` non-negative norms.
        k: steps at each end, :math:`1 \\le k \\le T/2`.

    Returns:
        :math:`r` as a Python float (``inf`` when only the late steps get nothing, ``nan`` when both ends
        get nothing).

    Reference: Bengio et al. (1994). Taught in: Part IV, The "explosion/vanishing factor".

    >>> early_late_ratio(torch.tensor([0.125, 0.25, 0.5, 1.0])), early_late_ratio(torch.tensor([1., 2, 3, 4]), k=2)
    (0.125, 0.42857142857142855)
    """
    if not isinstance(norms, torch.Tensor) or norms.dim() != 1 or norms.numel() < 2:
        raise ValueError(f"norms must be a 1-D tensor of at least 2 values, got {norms!r}")
    if bool((norms < 0).any()) or not bool(torch.isfinite(norms).all()):
        raise ValueError("norms must be finite and non-negative")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= norms.numel() // 2:
        raise ValueError(f"k must be an int in [1, T/2] = [1, {norms.numel() // 2}], got {k!r}")
    late = float(norms[-k:].double().sum())
    early = float(norms[:k].double().sum())
    if late > 0:
        return early / late
    return float("inf") if early > 0 else float("nan")
