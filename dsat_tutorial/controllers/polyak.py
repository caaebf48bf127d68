r"""The Polyak step size and its stochastic form SPS_max, as a pre-update learning-rate controller.

What it is: :class:`PolyakLR`, which sets the lr of each update from that update's loss :math:`f_t`, the
optimal value :math:`f^*` and the global gradient norm: :math:`\min\{(f_t - f^*)/(c\|g_t\|^2), \gamma_b\}`.
It is source 003's loss-adaptive idea made well-defined: the lr grows with the *gap to the optimum*
(which must be known or bounded below), not with the loss itself (ERRATA 003-E3/E4). What it is not: a
line search (no extra function evaluations) nor a guess of :math:`f^*` -- with a wrong :math:`f^*` it
either stalls (too high) or overshoots (too low); SPS_max's cap ``max_lr`` bounds the damage.

References: Polyak (1987), "Introduction to Optimization", chapter 5.3; Hazan & Kakade (2019),
"Revisiting the Polyak step size", arXiv:1905.00313; Loizou, Vaswani, Laradji & Lacoste-Julien (2021),
"Stochastic Polyak Step-size for SGD: An Adaptive Learning Rate for Fast Convergence", AISTATS.
"""

from __future__ import annotations

import math
import warnings

from torch import Tensor

from .._validation import check_positive, check_range, check_real
from ..clipping import global_grad_norm
from .base import FeedbackLR, NonFiniteSignalWarning

__all__ = ["PolyakLR", "warn_nonfinite"]


def warn_nonfinite(sched, what: str) -> None:
    """Count a non-finite signal on ``sched`` and warn, as ``FeedbackLR.step`` does."""
    sched.nonfinite_signals += 1
    warnings.warn(f"{type(sched).__name__}.step() got a non-finite {what}; the learning rate is unchanged "
                  f"({sched.nonfinite_signals} so far)", NonFiniteSignalWarning, stacklevel=3)


def as_float(x) -> float:
    """A Python float from a float, int or 0-d tensor (which may still require grad)."""
    return float(x.detach() if isinstance(x, Tensor) else x)


class PolyakLR(FeedbackLR):
    r"""The Polyak step (``c=1``, ``max_lr=inf``) and SPS_max (``c=0.5``, finite ``max_lr``).

    .. math::

        \begin{gathered}
        \gamma_t = \min\!\left\{\frac{\max(f_t - f^*, 0)}{c\,\|g_t\|^2 + \epsilon},\; \gamma_b\right\}, \\
        \eta_{t,i} = m_i\, \gamma_t
        \end{gathered}

    where :math:`f_t` is the loss of update :math:`t`, :math:`g_t` its gradient over all parameters
    (global L2 norm), :math:`f^*` is ``f_star`` (the optimal value, or a lower bound on the loss of every
    batch: 0 for interpolating models), :math:`c > 0` is ``c``, :math:`\gamma_b` is ``max_lr``,
    :math:`\epsilon` is ``eps`` and :math:`m_i` is parameter group :math:`i`'s initial lr, which acts as
    a multiplier (``lr=1.0`` in the optimizer gives the rule as published; the policy's ``scale_lr``
    multiplies on top). For gradient descent on a :math:`\mu`-strongly convex, :math:`L`-smooth
    function with the exact :math:`f^*`, every step satisfies
    :math:`\|x_{t+1}-x^*\|^2 \le \|x_t-x^*\|^2 - (f_t-f^*)^2/\|g_t\|^2`, hence
    :math:`\|x_{t+1}-x^*\|^2 \le (1 - \mu/4L)\,\|x_t-x^*\|^2` -- without knowing :math:`\mu` or :math:`L`.
    Before its first ``step`` the controller sets every lr to 0 (no loss seen yet).

    Args:
        optimizer: the wrapped optimizer (plain SGD for the published rule).
        f_star: :math:`f^*`, a finite real number (default 0).
        c: :math:`c > 0` (default 1; SPS_max uses 0.5).
        max_lr: :math:`\gamma_b` in (0, inf] (default inf, the classical Polyak step).
        eps: :math:`\epsilon > 0`, keeps a zero gradient from dividing by zero (default 1e-12).

    **By hand:** after ``loss.backward()`` and before ``optimizer.step()``, call
    ``scheduler.step(loss)`` (it then measures the global gradient norm of the optimizer's parameters
    itself) or ``scheduler.step(loss, grad_norm)``. A NaN/inf loss or norm changes nothing but
    ``nonfinite_signals`` (with a :class:`NonFiniteSignalWarning`); ``step()`` without a loss raises
    ``TypeError``. **In fit:** bare ``PolyakLR`` is declared ``Scheduled(sched, "step",
    "batch_loss+grad_norm")`` and stepped after clipping, before ``optimizer.step()``, with the batch loss
    and the gradient norm measured *before* clipping: that is the gradient of :math:`f_t` the formula
    needs, and clipping then only shortens the step. (With the clipped norm :math:`c_{\text{clip}}` the
    lr would grow by :math:`(\|g_t\|/c_{\text{clip}})^2` exactly when the gradient is large, undoing
    the clip.) ``state_dict()`` holds numbers only and loads with ``torch.load(weights_only=True)``.

    Reference: Polyak (1987); Loizou et al. (2021), "Stochastic Polyak Step-size for SGD", AISTATS
    (SPS_max). Corrects: 003-E3/E4 (the loss-adaptive rule made well-defined).
    Taught in: Part III, The loss-adaptive rule made well-defined

    >>> import torch
    >>> x = torch.tensor([3.0, 4.0], requires_grad=True)
    >>> opt = torch.optim.SGD([x], lr=1.0)
    >>> sched = PolyakLR(opt)                # f* = 0 for f(x) = ||x||^2 / 2
    >>> loss = 0.5 * (x ** 2).sum(); loss.backward()
    >>> sched.step(loss); sched.get_last_lr()   # (12.5 - 0) / ||x||^2 = 12.5 / 25
    [0.5]
    >>> opt.step(); x.tolist()
    [1.5, 2.0]
    """

    pre_update = True

    def __init__(self, optimizer, f_star: float = 0.0, c: float = 1.0, max_lr: float = math.inf,
                 eps: float = 1e-12) -> None:
        self.f_star = check_real("f_star", f_star)
        self.c = check_positive("c", c)
        self.max_lr = check_range("max_lr", max_lr, 0.0, math.inf, low_closed=False)
        self.eps = check_positive("eps", eps)
        self.gamma = 0.0          # the last step size, before the group multipliers
        self.loss = math.nan      # the last finite loss and gradient norm received
        self.grad_norm = math.nan
        self.num_updates = 0
        super().__init__(optimizer)

    def step(self, loss=None, grad_norm=None) -> None:
        """Set the lr of the coming update from its ``loss`` and gradient norm (measured when ``None``)."""
        if self._constructing:
            return FeedbackLR.step(self)
        if loss is None:
            raise TypeError("PolyakLR.step() needs the batch loss: call step(loss) or step(loss, grad_norm) "
                            "after backward() and before optimizer.step()")
        f = as_float(loss)
        if grad_norm is None:
            grad_norm = global_grad_norm([p for g in self.optimizer.param_groups for p in g["params"]])
        g = as_float(grad_norm)
        if not (math.isfinite(f) and math.isfinite(g)):
            warn_nonfinite(self, f"loss ({f}) or gradient norm ({g})")
        elif g < 0:
            raise ValueError(f"grad_norm must be >= 0 (a norm), got {g!r}")
        else:
            self.loss, self.grad_norm = f, g
            self.gamma = min(max(f - self.f_star, 0.0) / (self.c * g * g + self.eps), self.max_lr)
            self.num_updates += 1
        self._write(self.get_lr())

    def _lr(self) -> list[float]:
        """Each group's multiplier (its initial lr) times the Polyak step ``gamma``."""
        return [float(m) * self.gamma for m in self.base_lrs]
