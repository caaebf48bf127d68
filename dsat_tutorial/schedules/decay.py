"""Fixed and decaying schedules: constant, step, exponential, polynomial, linear and cosine decay.

Internal module: import these names from :mod:`dsat_tutorial.schedules`. Every class is a frozen
dataclass whose ``__call__(step)`` returns the absolute learning rate at ``step`` (counted from 0).
Schedules with an end (``total_steps``) clamp the step to ``[0, total_steps]`` and hold their final
value afterwards: they never go negative or complex. What it is not: a PyTorch scheduler (wrap a
schedule in ``dsat_tutorial.controllers.ScheduleLR``) or a feedback rule.

References: PyTorch ``torch.optim.lr_scheduler`` (StepLR, ExponentialLR, PolynomialLR,
CosineAnnealingLR); Keras ``ExponentialDecay`` / ``PolynomialDecay``; Loshchilov & Hutter (2017),
"SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Schedule, check_bool, check_end_lr, cosine_between, set_fields
from .._validation import check_int, check_nonneg, check_positive, check_range


@dataclass(frozen=True)
class Constant(Schedule):
    r"""A fixed learning rate: the same value at every step.

    .. math::

        \eta_t = \eta

    where :math:`\eta` is ``lr`` and :math:`t` the step.

    Args:
        lr: the learning rate, finite and >= 0.

    Returns:
        A schedule; ``Constant(lr)(t)`` is ``lr`` for every step ``t >= 0``.

    Reference: the "固定学习率" (fixed learning rate) of source 002.
    Taught in: Part II, Fixed and decaying schedules

    >>> Constant(0.01)(0), Constant(0.01)(10_000)
    (0.01, 0.01)
    """

    lr: float

    def __post_init__(self) -> None:
        set_fields(self, lr=check_nonneg("lr", self.lr))

    def _lr(self, t: int) -> float:
        return self.lr


@dataclass(frozen=True)
class StepDecay(Schedule):
    r"""Step decay: multiply the learning rate by ``rate`` once every ``every`` steps.

    .. math::

        \begin{gathered}
        \eta_t = \eta_0 \, \gamma^{\lfloor t / s \rfloor} \quad\text{(staircase)}, \\
        \eta_t = \eta_0 \, \gamma^{t / s} \quad\text{(staircase=False)}
        \end{gathered}

    where :math:`\eta_0` is ``lr0``, :math:`\gamma \in (0, 1]` is ``rate``, :math:`s` is ``every``
    and :math:`t` the step.

    Args:
        lr0: learning rate at step 0, finite and >= 0.
        rate: factor applied every ``every`` steps, in (0, 1].
        every: number of steps between two decays, an integer >= 1.
        staircase: ``True`` (default) for the floored exponent, ``False`` for the smooth one.

    Returns:
        A schedule equal to PyTorch's ``StepLR(step_size=every, gamma=rate)`` (staircase) or to Keras
        ``ExponentialDecay(lr0, every, rate, staircase)``.

    Corrects: 000-E6 -- the source's code computes ``epoch // decay_steps`` (staircase) while its formula
    writes ``epoch / decay_steps`` (smooth): at epoch 5 they give 1e-2 and 3.2e-3. Both are available
    here, under their own names. 000-E7 -- the source's ``rate=0.1, every=10`` over 100 epochs falls to
    1e-11; aim for a total decay of about 1e-2 to 1e-3 instead.
    Reference: PyTorch ``torch.optim.lr_scheduler.StepLR``; Keras ``ExponentialDecay``.
    Taught in: Part II, Fixed and decaying schedules

    >>> code, formula = StepDecay(0.01, 0.1, 10), StepDecay(0.01, 0.1, 10, staircase=False)
    >>> f"{code(5):.1e}", f"{formula(5):.1e}", f"{code(90):.0e}"
    ('1.0e-02', '3.2e-03', '1e-11')
    """

    lr0: float
    rate: float
    every: int
    staircase: bool = True

    def __post_init__(self) -> None:
        set_fields(self, lr0=check_nonneg("lr0", self.lr0),
                   rate=check_range("rate", self.rate, 0.0, 1.0, low_closed=False),
                   every=check_int("every", self.every),
                   staircase=check_bool("staircase", self.staircase))

    def _lr(self, t: int) -> float:
        exponent = t // self.every if self.staircase else t / self.every
        return self.lr0 * self.rate ** exponent


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    r"""Exponential decay: the learning rate shrinks by ``rate`` every ``every`` steps, smoothly.

    .. math::

        \eta_t = \eta_0 \, \gamma^{t / s}

    where :math:`\eta_0` is ``lr0``, :math:`\gamma \in (0, 1]` is ``rate``, :math:`s` is ``every``
    and :math:`t` the step.

    Args:
        lr0: learning rate at step 0, finite and >= 0.
        rate: factor applied per ``every`` steps, in (0, 1].
        every: number of steps over which the rate is applied once, an integer >= 1 (default 1).

    Returns:
        A schedule; with ``every=1`` it equals PyTorch's ``ExponentialLR(gamma=rate)``.

    Corrects: 000-E6 -- this is the source's *formula* :math:`\eta_0\gamma^{e/s}`; its *code* is
    :class:`StepDecay`. 000-E7 -- pick ``rate`` so the total decay is about 1e-2 to 1e-3.
    Reference: PyTorch ``torch.optim.lr_scheduler.ExponentialLR``; Keras ``ExponentialDecay``.
    Taught in: Part II, Fixed and decaying schedules

    >>> s = ExponentialDecay(0.1, rate=0.5, every=2)
    >>> round(s(1), 6), round(s(2), 6), round(s(4), 6)
    (0.070711, 0.05, 0.025)
    """

    lr0: float
    rate: float
    every: int = 1

    def __post_init__(self) -> None:
        set_fields(self, lr0=check_nonneg("lr0", self.lr0),
                   rate=check_range("rate", self.rate, 0.0, 1.0, low_closed=False),
                   every=check_int("every", self.every))

    def _lr(self, t: int) -> float:
        return self.lr0 * self.rate ** (t / self.every)


@dataclass(frozen=True)
class PolynomialDecay(Schedule):
    r"""Polynomial decay from ``lr0`` to ``end_lr`` over ``total_steps`` steps, then constant.

    .. math::

        \begin{aligned}
        \eta_t &= (\eta_0 - \eta_{\text{end}})\left(1 - \frac{\min(t, T)}{T}\right)^{p} \\
        &\quad + \eta_{\text{end}}
        \end{aligned}

    where :math:`\eta_0` is ``lr0``, :math:`\eta_{\text{end}} \le \eta_0` is ``end_lr``, :math:`T` is
    ``total_steps``, :math:`p > 0` is ``power`` and :math:`t` the step.

    Args:
        lr0: learning rate at step 0, finite and >= 0.
        total_steps: length of the decay, an integer >= 1.
        power: exponent :math:`p > 0` (1 is linear decay; 0.9 is DeepLab's "poly" policy).
        end_lr: final learning rate, in [0, lr0] (default 0).

    Returns:
        A schedule; with ``end_lr=0`` it equals PyTorch's ``PolynomialLR(total_iters, power)``.

    Corrects: 002-E3 -- the source calls :math:`\eta(1 - t/T)^{\beta}` "exponential decay"; it is
    polynomial decay, and past :math:`T` the unclamped formula is complex in Python (nan in numpy).
    Reference: Chen et al. (2018), "DeepLab", TPAMI ("poly" policy); PyTorch ``PolynomialLR``.
    Taught in: Part II, Fixed and decaying schedules

    >>> s = PolynomialDecay(0.1, total_steps=1000, power=0.9)
    >>> round(s(500), 6), s(1000), s(1001)
    (0.053589, 0.0, 0.0)
    """

    lr0: float
    total_steps: int
    power: float = 1.0
    end_lr: float = 0.0

    def __post_init__(self) -> None:
        lr0 = check_nonneg("lr0", self.lr0)
        set_fields(self, lr0=lr0, total_steps=check_int("total_steps", self.total_steps),
                   power=check_positive("power", self.power), end_lr=check_end_lr(self.end_lr, lr0))

    def _lr(self, t: int) -> float:
        remaining = 1.0 - min(t, self.total_steps) / self.total_steps  # in [0, 1]
        return (self.lr0 - self.end_lr) * remaining ** self.power + self.end_lr


@dataclass(frozen=True)
class LinearDecay(Schedule):
    r"""Linear decay from ``lr0`` to ``end_lr`` over ``total_steps`` steps, then constant.

    .. math::

        \begin{aligned}
        \eta_t &= (\eta_0 - \eta_{\text{end}}) \max\!\left(0, 1 - \frac{t}{T}\right) \\
        &\quad + \eta_{\text{end}}
        \end{aligned}

    where :math:`\eta_0` is ``lr0``, :math:`\eta_{\text{end}} \le \eta_0` is ``end_lr``, :math:`T` is
    ``total_steps`` and :math:`t` the step. It is :class:`PolynomialDecay` with power 1.

    Args:
        lr0: learning rate at step 0, finite and >= 0.
        total_steps: length of the decay, an integer >= 1.
        end_lr: final learning rate, in [0, lr0] (default 0).

    Returns:
        A schedule equal to PyTorch's ``LinearLR(start_factor=1, end_factor=end_lr / lr0,
        total_iters=total_steps)`` and ``PolynomialLR(total_iters, power=1)``.

    Corrects: 003-E2 -- the source's "dynamic" rate :math:`\alpha_0(1 - \text{iter}/\text{max\_iter})`
    is linear decay in the iteration count (not in performance) and turns negative, i.e. gradient
    *ascent*, once iter > max_iter; here it is clamped.
    Reference: PyTorch ``torch.optim.lr_scheduler.LinearLR`` / ``PolynomialLR``.
    Taught in: Part II, Fixed and decaying schedules

    >>> s = LinearDecay(0.01, total_steps=1000)
    >>> round(s(250), 6), s(1000), s(1500)
    (0.0075, 0.0, 0.0)
    """

    lr0: float
    total_steps: int
    end_lr: float = 0.0

    def __post_init__(self) -> None:
        lr0 = check_nonneg("lr0", self.lr0)
        set_fields(self, lr0=lr0, total_steps=check_int("total_steps", self.total_steps),
                   end_lr=check_end_lr(self.end_lr, lr0))

    def _lr(self, t: int) -> float:
        remaining = 1.0 - min(t, self.total_steps) / self.total_steps  # in [0, 1]
        return (self.lr0 - self.end_lr) * remaining + self.end_lr


@dataclass(frozen=True)
class CosineDecay(Schedule):
    r"""Cosine decay from ``lr0`` to ``end_lr`` over ``total_steps`` steps, then constant.

    .. math::

        \begin{aligned}
        &\eta_t = \eta_{\text{end}} + (\eta_0 - \eta_{\text{end}}) \\
        &\quad \times \tfrac12\big(1 + \cos(\pi \min(t, T) / T)\big)
        \end{aligned}

    where :math:`\eta_0` is ``lr0``, :math:`\eta_{\text{end}} \le \eta_0` is ``end_lr``, :math:`T` is
    ``total_steps`` and :math:`t` the step.

    Args:
        lr0: learning rate at step 0, finite and >= 0.
        total_steps: length of the decay, an integer >= 1.
        end_lr: final learning rate, in [0, lr0] (default 0).

    Returns:
        A schedule equal to PyTorch's ``CosineAnnealingLR(T_max=total_steps, eta_min=end_lr)`` for
        steps ``0 ... total_steps`` (PyTorch then rises again; this schedule holds ``end_lr``).

    Reference: Loshchilov & Hutter (2017), "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR.
    Taught in: Part II, Fixed and decaying schedules

    >>> s = CosineDecay(0.1, total_steps=20, end_lr=0.001)
    >>> round(s(0), 6), round(s(10), 6), round(s(20), 6), round(s(99), 6)
    (0.1, 0.0505, 0.001, 0.001)
    """

    lr0: float
    total_steps: int
    end_lr: float = 0.0

    def __post_init__(self) -> None:
        lr0 = check_nonneg("lr0", self.lr0)
        set_fields(self, lr0=lr0, total_steps=check_int("total_steps", self.total_steps),
                   end_lr=check_end_lr(self.end_lr, lr0))

    def _lr(self, t: int) -> float:
        return cosine_between(self.lr0, self.end_lr, min(t, self.total_steps) / self.total_steps)

