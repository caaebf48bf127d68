"""Cyclic schedules: cosine warm restarts (SGDR), sawtooth, Smith's triangular policy and one-cycle.

Internal module: import these names from :mod:`dsat_tutorial.schedules`. Every class is a frozen
dataclass whose ``__call__(step)`` returns the absolute learning rate at ``step`` (counted from 0),
computed in closed form from the step alone -- no counters, so calling it out of order is safe.
What it is not: a PyTorch scheduler (wrap a schedule in ``dsat_tutorial.controllers.ScheduleLR``).

References: Loshchilov & Hutter (2017), "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR;
Smith (2017), "Cyclical Learning Rates for Training Neural Networks", WACV; Smith & Topin (2019),
"Super-Convergence", SPIE 11006; PyTorch ``CosineAnnealingWarmRestarts``, ``CyclicLR``, ``OneCycleLR``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .base import Schedule, check_end_lr, cosine_between, set_fields
from .._validation import check_int, check_nonneg, check_positive, check_range


@dataclass(frozen=True)
class CosineWarmRestarts(Schedule):
    r"""Cosine annealing with warm restarts (SGDR): a cosine from ``lr0`` to ``end_lr`` in each cycle.

    .. math::

        \begin{gathered}
        \begin{aligned}
        &\eta_t = \eta_{\text{end}} + (\eta_0 - \eta_{\text{end}}) \\
        &\quad \times \tfrac12\big(1 + \cos(\pi\, t_{\text{cur}} / T_i)\big),
        \end{aligned} \\
        T_i = P\, m^{i}
        \end{gathered}

    where :math:`\eta_0` is ``lr0``, :math:`\eta_{\text{end}} \le \eta_0` is ``end_lr``, :math:`P`
    is ``period`` (length of the first cycle), :math:`m` is ``period_mult``, :math:`i` is the index of
    the cycle containing step :math:`t` (cycle :math:`i` starts at :math:`P(m^i - 1)/(m - 1)`, or
    :math:`iP` when :math:`m = 1`) and :math:`t_{\text{cur}}` the number of steps since it started.

    Args:
        lr0: learning rate at the start of every cycle, finite and >= 0.
        period: length of the first cycle, an integer >= 1.
        period_mult: factor by which each cycle is longer than the previous, an integer >= 1.
        end_lr: learning rate the cosine heads for, in [0, lr0] (default 0).

    Returns:
        A schedule equal to PyTorch's ``CosineAnnealingWarmRestarts(T_0=period, T_mult=period_mult,
        eta_min=end_lr)`` stepped once per step.

    Corrects: 002-E4 -- the well-defined, smooth form of the source's "random decay"
    (see :class:`Sawtooth` for the linear form).
    Reference: Loshchilov & Hutter (2017), "SGDR", ICLR.
    Taught in: Part II, Fixed and decaying schedules

    >>> s = CosineWarmRestarts(0.1, period=10, period_mult=2)
    >>> [round(s(t), 6) for t in (0, 5, 10, 20, 30)]
    [0.1, 0.05, 0.1, 0.05, 0.1]
    """

    lr0: float
    period: int
    period_mult: int = 1
    end_lr: float = 0.0

    def __post_init__(self) -> None:
        lr0 = check_nonneg("lr0", self.lr0)
        set_fields(self, lr0=lr0, period=check_int("period", self.period),
                   period_mult=check_int("period_mult", self.period_mult, minimum=1),
                   end_lr=check_end_lr(self.end_lr, lr0))

    def _lr(self, t: int) -> float:
        if self.period_mult == 1:
            start, length = t - t % self.period, self.period
        else:  # walk the geometric cycle lengths in exact integer arithmetic: O(log t) cycles
            start, length = 0, self.period
            while t >= start + length:
                start, length = start + length, length * self.period_mult
        return cosine_between(self.lr0, self.end_lr, (t - start) / length)


@dataclass(frozen=True)
class Sawtooth(Schedule):
    r"""Sawtooth: linear from ``lr0`` toward ``end_lr`` within each period, then restart at ``lr0``.

    .. math::

        \eta_t = \eta_0 + (\eta_{\text{end}} - \eta_0)\,\frac{t \bmod P}{P}

    where :math:`\eta_0` is ``lr0``, :math:`\eta_{\text{end}} \le \eta_0` is ``end_lr``, :math:`P` is
    ``period`` and :math:`t` the step. The last step of a period is
    :math:`\eta_{\text{end}} + (\eta_0 - \eta_{\text{end}})/P`; ``end_lr`` itself is never reached.

    Args:
        lr0: learning rate at the start of every period, finite and >= 0.
        period: length of one tooth in steps, an integer >= 1.
        end_lr: learning rate each tooth heads for, in [0, lr0] (default 0).

    Returns:
        A schedule with period ``period``.

    Corrects: 002-E4 -- the source's "随机衰减" (random decay) :math:`\eta(1 - t/T \bmod P)` contains
    nothing random and its precedence is ambiguous; read one way it is plain linear decay, read the
    other way it caps the rate at :math:`\eta P`. This is the well-defined periodic schedule it gestures at;
    the reading :math:`\eta(1 - ((t/T) \bmod P))` with :math:`P < 1` is
    ``Sawtooth(eta, period=P * T, end_lr=eta * (1 - P))`` when :math:`PT` is an integer.
    Reference: Loshchilov & Hutter (2017), "SGDR", ICLR (restarts); ERRATA 002-E4.
    Taught in: Part II, Fixed and decaying schedules

    >>> s = Sawtooth(0.1, period=4)
    >>> [round(s(t), 6) for t in range(6)]
    [0.1, 0.075, 0.05, 0.025, 0.1, 0.075]
    """

    lr0: float
    period: int
    end_lr: float = 0.0

    def __post_init__(self) -> None:
        lr0 = check_nonneg("lr0", self.lr0)
        set_fields(self, lr0=lr0, period=check_int("period", self.period),
                   end_lr=check_end_lr(self.end_lr, lr0))

    def _lr(self, t: int) -> float:
        return self.lr0 + (self.end_lr - self.lr0) * ((t % self.period) / self.period)


@dataclass(frozen=True)
class Triangular(Schedule):
    r"""Smith's cyclical learning rate, triangular policy: up from ``base_lr`` to ``max_lr`` and back.

    .. math::

        \begin{gathered}
        \begin{aligned}
        &\eta_t = \eta_{\min} + (\eta_{\max} - \eta_{\min}) \\
        &\quad \times \max(0,\, 1 - |t/h - 2c + 1|),
        \end{aligned} \\
        c = \lfloor 1 + t / (2h) \rfloor
        \end{gathered}

    where :math:`\eta_{\min}` is ``base_lr``, :math:`\eta_{\max} \ge \eta_{\min}` is ``max_lr``,
    :math:`h` is ``half_period`` (steps from bottom to top), :math:`c` the cycle number and :math:`t`
    the step. The period is :math:`2h`.

    Args:
        base_lr: lowest learning rate (at steps 0, 2h, 4h, ...), finite and >= 0.
        max_lr: highest learning rate (at steps h, 3h, ...), finite and >= base_lr.
        half_period: number of steps from ``base_lr`` to ``max_lr``, an integer >= 1.

    Returns:
        A schedule equal to PyTorch's ``CyclicLR(base_lr, max_lr, step_size_up=half_period,
        mode="triangular")``.

    Reference: Smith (2017), "Cyclical Learning Rates for Training Neural Networks", WACV.
    Taught in: Part II, Fixed and decaying schedules

    >>> s = Triangular(0.001, 0.006, half_period=4)
    >>> [round(s(t), 6) for t in (0, 2, 4, 6, 8)]
    [0.001, 0.0035, 0.006, 0.0035, 0.001]
    """

    base_lr: float
    max_lr: float
    half_period: int

    def __post_init__(self) -> None:
        base_lr = check_nonneg("base_lr", self.base_lr)
        max_lr = check_nonneg("max_lr", self.max_lr)
        if max_lr < base_lr:
            raise ValueError(f"max_lr must be >= base_lr = {base_lr!r}, got {self.max_lr!r}")
        set_fields(self, base_lr=base_lr, max_lr=max_lr,
                   half_period=check_int("half_period", self.half_period))

    def _lr(self, t: int) -> float:
        h = self.half_period
        pos = t % (2 * h)  # steps into the current cycle, in [0, 2h)
        height = pos / h if pos <= h else (2 * h - pos) / h  # 0 -> 1 -> 0
        return self.base_lr + (self.max_lr - self.base_lr) * height


@dataclass(frozen=True)
class OneCycle(Schedule):
    r"""The 1cycle policy: cosine up from ``max_lr / div_factor`` to ``max_lr``, then cosine down.

    .. math::

        \begin{gathered}
        \eta_t = \begin{cases}
        c(\eta_{\text{init}}, \eta_{\max}, t / e) & t \le e \\
        c(\eta_{\max}, \eta_{\min}, u_t) & e < t < T \\
        \eta_{\min} & t \ge T - 1
        \end{cases} \\
        c = \operatorname{cos\_anneal}, \\
        u_t = \frac{t - e}{T - 1 - e}
        \end{gathered}

    where :math:`\operatorname{cos\_anneal}(a, b, x) = b + (a - b)(1 + \cos \pi x)/2`,
    :math:`\eta_{\max}` is ``max_lr``, :math:`\eta_{\text{init}} = \eta_{\max} / d` with :math:`d`
    = ``div_factor``, :math:`\eta_{\min} = \eta_{\text{init}} / f` with :math:`f` = ``final_div_factor``,
    :math:`T` is ``total_steps`` and :math:`e = pT - 1` (:math:`p` = ``pct_start``) is the step at
    which the warm-up ends, computed exactly as PyTorch does.

    Args:
        max_lr: peak learning rate, finite and >= 0.
        total_steps: length of the cycle, an integer >= 1; the value is held after step total_steps - 1.
        pct_start: fraction of the cycle spent warming up, in (0, 1) (default 0.3).
        div_factor: ``max_lr / div_factor`` is the learning rate at step 0, > 0 (default 25).
        final_div_factor: the final learning rate is the initial one divided by this, > 0 (default 1e4).

    Returns:
        A schedule equal to PyTorch's ``OneCycleLR(max_lr, total_steps, pct_start, div_factor=...,
        final_div_factor=...)`` (cosine annealing, two phases) for steps 0 ... total_steps - 1.

    Raises:
        ValueError: also when the warm-up would be shorter than one step (:math:`e < 1`), where
            PyTorch would divide by zero or skip the peak.

    Reference: Smith & Topin (2019), "Super-Convergence", SPIE 11006; PyTorch ``OneCycleLR``.
    Taught in: Part II, Fixed and decaying schedules

    >>> s = OneCycle(0.1, total_steps=100, pct_start=0.3)
    >>> round(s(0), 6), round(s(29), 6), f"{s(99):.0e}", f"{s(500):.0e}"
    (0.004, 0.1, '4e-07', '4e-07')
    """

    max_lr: float
    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4

    def __post_init__(self) -> None:
        set_fields(self, max_lr=check_nonneg("max_lr", self.max_lr),
                   total_steps=check_int("total_steps", self.total_steps),
                   pct_start=check_range("pct_start", self.pct_start, 0.0, 1.0,
                                         low_closed=False, high_closed=False),
                   div_factor=check_positive("div_factor", self.div_factor),
                   final_div_factor=check_positive("final_div_factor", self.final_div_factor))
        if self._warmup_end() < 1:
            raise ValueError(
                "pct_start * total_steps must be >= 2 so that the warm-up lasts at least one step "
                f"(it ends at step pct_start * total_steps - 1, as in PyTorch), got pct_start="
                f"{self.pct_start!r}, total_steps={self.total_steps!r}")

    @property
    def initial_lr(self) -> float:
        """The learning rate at step 0, ``max_lr / div_factor``."""
        return self.max_lr / self.div_factor

    @property
    def min_lr(self) -> float:
        """Learning rate from step ``total_steps - 1`` on: ``initial_lr / final_div_factor``."""
        return self.initial_lr / self.final_div_factor

    def _warmup_end(self) -> float:
        return float(self.pct_start * self.total_steps) - 1  # PyTorch's phase-1 "end_step"

    def _lr(self, t: int) -> float:
        last = self.total_steps - 1
        t = min(t, last)
        end = self._warmup_end()
        if t <= end:  # 1) warm-up: initial_lr -> max_lr
            return _cos_anneal(self.initial_lr, self.max_lr, t / end)
        return _cos_anneal(self.max_lr, self.min_lr, (t - end) / (last - end))  # 2) annealing


def _cos_anneal(start: float, end: float, pct: float) -> float:
    """Cosine from ``start`` (pct 0) to ``end`` (pct 1), written as PyTorch's ``OneCycleLR`` does."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
