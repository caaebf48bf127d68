r"""Gradient-driven control: the lr of each update from the global gradient norm of that update.

What it is: pre-update controllers (``step(grad_norm)`` after ``backward()``, before
``optimizer.step()``) -- :class:`GradNormScaledLR`, source 002's smooth global clip
:math:`\eta/\sqrt{1+\alpha\|g\|^2}`, and :class:`AdaGradNormLR`, its cumulative cousin.
What it is not: gradient clipping (:mod:`dsat_tutorial.clipping`), which rescales the gradient rather than the lr.

References: source 002 (学习率调整策略); Ward, Wu & Bottou (2019), "AdaGrad stepsizes: sharp convergence
over nonconvex landscapes", ICML.
"""

from __future__ import annotations

import math

from .._validation import check_positive
from .base import FeedbackLR

__all__ = ["GradNormScaledLR", "AdaGradNormLR"]

class GradNormScaledLR(FeedbackLR):
    r"""Source 002's gradient-norm-scaled rate :math:`\eta/\sqrt{1+\alpha\|g\|^2}`: a smooth global clip.

    .. math::

        \begin{gathered}
        \eta_t = \frac{b_t}{\sqrt{1 + \alpha \|g_t\|^2}}, \\
        \|\eta_t g_t\| = \frac{b_t \|g_t\|}{\sqrt{1 + \alpha\|g_t\|^2}} < \frac{b_t}{\sqrt{\alpha}}
        \end{gathered}

    where :math:`g_t` is the gradient of update :math:`t` over *all* parameters (global L2 norm),
    :math:`\alpha > 0` is ``alpha`` and :math:`b_t` the base: the group's initial lr, or
    ``schedule(t)`` times the group ratio, with :math:`t` the number of earlier updates. For
    :math:`\|g\| \ll 1/\sqrt\alpha` this is plain gradient descent, for :math:`\|g\| \gg 1/\sqrt\alpha` a
    normalized step of length :math:`b_t/\sqrt\alpha`: clipping by global norm at
    :math:`c = 1/\sqrt\alpha`, smoothly. The lr lies in :math:`[0, b_t]` (0 only if
    :math:`\sqrt\alpha\|g\|` overflows a double).

    Args:
        optimizer: the wrapped optimizer.
        alpha: the gain :math:`\alpha > 0`; the clip threshold is :math:`1/\sqrt\alpha`.
        schedule: optional callable ``step -> lr`` giving the base rate per update.

    Call ``step(grad_norm)`` after ``backward()`` and before ``optimizer.step()``; skip the update when
    the norm is not finite (it is then not counted). ``step()`` without a norm raises ``TypeError``.
    Corrects: 002-E7 (the rule the source describes but never implements), 002-E9 (the norm is global;
    the rule only tames explosion). Reference: source 002; Ward, Wu & Bottou (2019) for the cumulative
    variant (:class:`AdaGradNormLR`). Taught in: Part II, The gradient-norm-scaled learning rate

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> sched = GradNormScaledLR(opt, alpha=1.0)
    >>> sched.step(1000.0)   # huge gradient: step length 0.1 * 1000 / sqrt(1 + 1e6) < 0.1 / sqrt(1)
    >>> round(sched.get_last_lr()[0] * 1000.0, 6)
    0.1
    >>> sched.step(0.01); round(sched.get_last_lr()[0], 6)   # small gradient: plain gradient descent
    0.099995
    """

    pre_update = True

    def __init__(self, optimizer, alpha: float, schedule=None) -> None:
        self.alpha = check_positive("alpha", alpha)
        self.grad_norm = 0.0    # the last finite gradient norm
        self.num_updates = 0    # finite norms received = updates taken
        super().__init__(optimizer, schedule)

    def _tick(self) -> None:
        raise TypeError(f"{type(self).__name__}.step() needs the global gradient norm: call "
                        "step(grad_norm) after backward() and before optimizer.step()")

    def _observe(self, g: float) -> None:
        if g < 0:
            raise ValueError(f"grad_norm must be >= 0 (a norm), got {g!r}")
        self.grad_norm, self.t = g, self.num_updates
        self.num_updates += 1

    def _lr(self) -> list[float]:
        """``base(t) / sqrt(1 + alpha * grad_norm**2)``, computed with ``hypot`` so it cannot overflow."""
        shrink = math.hypot(1.0, math.sqrt(self.alpha) * self.grad_norm)
        return [b / shrink for b in self.base(self.t)]


class AdaGradNormLR(FeedbackLR):
    r"""AdaGrad-Norm: one learning rate divided by the root of the cumulative squared gradient norms.

    .. math::

        \begin{gathered}
        b_t^2 = b_{t-1}^2 + \|g_t\|^2, \\
        \eta_t = \frac{\eta}{b_t}
              = \frac{\eta / b_0}{\sqrt{1 + \sum_{s \le t} \|g_s\|^2 / b_0^2}}
        \end{gathered}

    for updates :math:`t = 1, 2, \dots`, where :math:`\eta` is the group's initial lr,
    :math:`b_0 > 0` is ``b0`` (the accumulator before any update) and :math:`g_s` the global gradient of
    update :math:`s`. It is :class:`GradNormScaledLR` with the *cumulative* sum and
    :math:`\alpha = 1/b_0^2`: robust without knowing the curvature, but it can only decay -- early
    huge gradients shrink it for good. Before the first norm the lr is :math:`\eta`; from the first
    norm on it lies in :math:`[0, \eta/b_0]` and never increases from one norm to the next (:math:`b` is
    accumulated with ``hypot``: no overflow). A small ``b0`` lets a small first gradient *raise* the lr
    up to :math:`\eta/b_0`.

    Args:
        optimizer: the wrapped optimizer.
        b0: initial accumulator :math:`b_0 > 0` (default ``1e-2``).

    Call like :class:`GradNormScaledLR`: ``step(grad_norm)`` after ``backward()``, before
    ``optimizer.step()``. Reference: Ward, Wu & Bottou (2019), "AdaGrad stepsizes", ICML. Corrects:
    002-E9 (relates the source's stateless rule to its cumulative, principled cousin). Taught in:
    Part II, The gradient-norm-scaled learning rate

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> sched = AdaGradNormLR(opt, b0=1.0)
    >>> sched.step(3.0); round(sched.get_last_lr()[0], 6)   # 0.1 / sqrt(1 + 9)
    0.031623
    >>> sched.step(4.0); round(sched.get_last_lr()[0], 6)   # 0.1 / sqrt(1 + 9 + 16)
    0.019612
    """

    pre_update = True

    def __init__(self, optimizer, b0: float = 1e-2) -> None:
        self.b0 = check_positive("b0", b0)
        self.b = self.b0        # sqrt(b0**2 + sum of squared norms)
        self.num_updates = 0
        super().__init__(optimizer)

    _tick = GradNormScaledLR._tick

    def _observe(self, g: float) -> None:
        if g < 0:
            raise ValueError(f"grad_norm must be >= 0 (a norm), got {g!r}")
        self.b = math.hypot(self.b, g)
        self.num_updates += 1

    def _lr(self) -> list[float]:
        """The initial lr before any norm, then ``initial_lr / b``."""
        if self.num_updates == 0:
            return self.base(0)
        return [lr / self.b for lr in self.base(0)]
