r"""Loss-driven control: the lr from the losses reported so far.

What it is: :class:`LossAdaptiveLR` (source 003's :math:`\alpha_0/(1+L/L_{\min})`, made unit-free,
floored and smoothed) and :class:`BoldDriver` (raise after a better epoch, cut and undo after a worse
one). What it is not: plateau reduction, which reads a metric's *lack* of progress
(:mod:`.plateau`).

References: source 003 (动态学习率与适应性调整); Vogl et al. (1988), Biological Cybernetics 59;
Battiti (1989), Complex Systems 3.
"""

from __future__ import annotations

import math
import sys

from .._validation import check_positive, check_range, check_real
from .base import FeedbackLR, check_lr_bounds
from .groups import bound_for_new_groups

__all__ = ["LossAdaptiveLR", "BoldDriver"]

_FLOAT_MAX = sys.float_info.max

class LossAdaptiveLR(FeedbackLR):
    r"""Source 003's loss-adaptive rate :math:`\alpha_0/(1+L/L_{\min})`, made well-defined.

    .. math::

        \begin{gathered}
        \bar L_k = \sigma \bar L_{k-1} + (1-\sigma) \max(L_k, 0), \\
        m_k = \max\Big(\min_{j \le k} \bar L_j,\; \varphi \bar L_{\text{ref}}\Big), \\
        \eta = \frac{b_t}{1 + \bar L_k / m_k}
        \end{gathered}

    where :math:`L_k` is the :math:`k`-th reported loss (a negative loss counts as 0),
    :math:`\bar L` its exponential average with ``smoothing`` :math:`\sigma \in [0, 1)` starting at
    :math:`\bar L_0 = \max(L_0, 0)`, :math:`m_k` the reference -- ``min_loss`` if given, else the running
    minimum of :math:`\bar L` floored at ``floor`` :math:`\varphi \in (0, 1]` times
    :math:`\bar L_{\text{ref}}`, the first positive :math:`\bar L` -- and :math:`b_t` the base (initial
    lr, or ``schedule(t)`` times the group ratio). :math:`\eta = b_t` before any loss and while
    :math:`\bar L = 0`. Dividing losses by their own minimum makes the rule unit-free, and the floor
    keeps one zero loss from freezing training. :math:`\eta \in (0, b_t]` (it underflows to 0 only if
    :math:`\bar L/m` overflows a double); with a tracked minimum :math:`\eta \le b_t/2` until the loss
    falls below :math:`\varphi \bar L_{\text{ref}}`.

    Args:
        optimizer: the wrapped optimizer.
        min_loss: a fixed reference :math:`m > 0` (e.g. a known optimum), or ``None`` to track it.
        smoothing: EMA coefficient in [0, 1) (0: use each loss as is).
        floor: the tracked reference never drops below ``floor`` times the first positive average,
            in (0, 1].
        schedule: optional callable ``step -> lr``; its clock ``t`` advances on ``step()``.

    Call ``step(loss)`` to report a loss (per step or per epoch); it does not advance the schedule.
    With a schedule, also call ``step()`` once per optimizer step. The lr computed from a loss applies
    from the *next* update (the one-step lag of 003-E6, made explicit). Corrects: 003-E3 (undefined
    ``min_loss``; zero division), 003-E4 (``min_loss`` silently 1: unit-dependent), 003-E5 (composes
    with a schedule instead of alternating). Reference: source 003 (动态学习率与适应性调整),
    its rule :math:`\alpha = \alpha_0/(1 + \text{loss}/\text{min\_loss})`, with ``min_loss``
    defined as in ERRATA 003-E3/003-E4. Taught in: Part III, The loss-adaptive learning rate

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> sched = LossAdaptiveLR(opt)
    >>> for loss in (4.0, 2.0, 3.0):
    ...     opt.step(); sched.step(loss)
    >>> round(sched.get_last_lr()[0], 6)   # 0.1 / (1 + 3/2)
    0.04
    """

    def __init__(self, optimizer, min_loss=None, smoothing: float = 0.0, floor: float = 1e-3,
                 schedule=None) -> None:
        self.min_loss = None if min_loss is None else check_positive("min_loss", min_loss)
        self.smoothing = check_range("smoothing", smoothing, 0.0, 1.0, high_closed=False)
        self.floor = check_range("floor", floor, 0.0, 1.0, low_closed=False)
        self.avg_loss = None       # EMA of the losses, None before the first
        self.running_min = None    # minimum of avg_loss so far
        self.ref_loss = 0.0        # first positive avg_loss: the floor's reference
        super().__init__(optimizer, schedule)

    def _observe(self, loss: float) -> None:
        loss = max(loss, 0.0)
        if self.avg_loss is None:
            avg = loss
        else:  # a sum of two finite terms may round past the largest double: keep it finite
            avg = min(self.smoothing * self.avg_loss + (1.0 - self.smoothing) * loss, _FLOAT_MAX)
        self.avg_loss = avg
        self.running_min = avg if self.running_min is None else min(self.running_min, avg)
        if self.ref_loss == 0.0 and avg > 0.0:
            self.ref_loss = avg

    @property
    def reference(self) -> float | None:
        """The current :math:`m`: ``min_loss``, or the floored running minimum (None before any loss)."""
        if self.min_loss is not None:
            return self.min_loss
        if self.running_min is None:
            return None
        return max(self.running_min, self.floor * self.ref_loss)

    def _lr(self) -> list[float]:
        """``base(t) / (1 + avg_loss / reference)``, or ``base(t)`` before any loss or while it is 0."""
        base = self.base(self.t)
        if self.avg_loss is None or self.avg_loss == 0.0:
            return base
        m = self.reference
        ratio = self.avg_loss / m if m > 0.0 else math.inf  # m == 0 only if floor * ref underflowed
        return [b / (1.0 + ratio) for b in base]


class BoldDriver(FeedbackLR):
    r"""Bold driver: raise the lr a little after an epoch that lowered the loss, halve it otherwise.

    .. math::

        \begin{gathered}
        \eta \leftarrow \begin{cases}
        \min(\rho^{+} \eta,\ \eta_{\max}) & L_e < L^{*} \\
        \max(\rho^{-} \eta,\ \eta_{\min}) & \text{otherwise}
        \end{cases} \\
        \text{and then } L^{*} \leftarrow L_e \text{ if } L_e < L^{*}
        \end{gathered}

    where :math:`L_e` is the epoch loss passed to ``step``, :math:`L^{*}` the loss of the last
    *accepted* epoch (the first loss is accepted and leaves :math:`\eta` alone), :math:`\rho^{+} \ge 1`
    is ``increase``, :math:`\rho^{-} \in (0, 1)` is ``decrease`` and :math:`[\eta_{\min}, \eta_{\max}]`
    the bounds (scalars or one per group). After each ``step``, ``improved`` says whether the epoch was
    accepted; when it is False the training loop should restore the weights *and* optimizer state saved
    after the last accepted epoch (Battiti's undo), which is why the comparison is with :math:`L^{*}`
    and not with the rejected epoch. The lr always lies in :math:`[\eta_{\min}, \eta_{\max}]` and stays
    finite (with ``max_lr=inf`` it stops growing at the largest double).

    Args:
        optimizer: the wrapped optimizer; every group's lr must be > 0 and within the bounds.
        increase: factor after an accepted epoch, >= 1 (Battiti: 1.05--1.1).
        decrease: factor after a rejected epoch, in (0, 1) (Battiti: 0.5).
        min_lr: lower bound(s), >= 0. max_lr: upper bound(s), in (0, inf].

    Call ``step(epoch_loss)`` once per epoch, after the epoch's updates; ``step()`` raises ``TypeError``.
    Reference: Vogl et al. (1988); Battiti (1989), "Accelerated backpropagation learning: two
    optimization methods", Complex Systems 3. Corrects: 000-E10 ("performs well -> raise, badly ->
    lower" made a rule on the change of the epoch loss). Taught in: Part IV, Adjusting the learning
    rate (bold driver)

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> sched = BoldDriver(opt, increase=1.1, decrease=0.5)
    >>> for loss in (1.0, 0.8, 0.9):
    ...     opt.step(); sched.step(loss)
    >>> sched.improved, round(sched.get_last_lr()[0], 6)   # 0.1 * 1.1 * 0.5
    (False, 0.055)
    """

    def __init__(self, optimizer, increase: float = 1.05, decrease: float = 0.5, min_lr=0.0,
                 max_lr=math.inf) -> None:
        self.increase = check_range("increase", check_real("increase", increase), 1.0, math.inf)
        self.decrease = check_range("decrease", decrease, 0.0, 1.0, low_closed=False, high_closed=False)
        self.min_lrs, self.max_lrs, self.lrs = check_lr_bounds(optimizer, min_lr, max_lr)
        self._new_bounds = (bound_for_new_groups(min_lr, 0.0), bound_for_new_groups(max_lr, math.inf))
        self.accepted_loss = None   # L*: loss of the last accepted epoch
        self.improved = None        # None before the first loss
        super().__init__(optimizer)

    def _tick(self) -> None:
        raise TypeError("BoldDriver.step() needs the epoch loss: call step(epoch_loss) once per epoch")

    def _add_group(self, index: int, lr: float) -> None:
        """A group added later starts from its lr, with the scalar bounds (defaults if per group)."""
        lo, hi = self._new_bounds
        self.min_lrs.append(lo), self.max_lrs.append(hi), self.lrs.append(lr)

    def _observe(self, loss: float) -> None:
        if self.accepted_loss is None:  # first epoch: the reference, no change
            self.accepted_loss, self.improved = loss, True
            return
        self.improved = loss < self.accepted_loss
        if self.improved:
            self.accepted_loss = loss
            self.lrs = [min(lr * self.increase, hi, _FLOAT_MAX) for lr, hi in zip(self.lrs, self.max_lrs)]
        else:
            self.lrs = [max(lr * self.decrease, lo) for lr, lo in zip(self.lrs, self.min_lrs)]

    def _lr(self) -> list[float]:
        """The current per-group lrs (the controller's state)."""
        return list(self.lrs)
