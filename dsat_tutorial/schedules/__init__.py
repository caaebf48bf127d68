"""Open-loop learning-rate schedules: pure, picklable callables ``step -> learning rate``.

A *schedule* is a frozen dataclass with ``__call__(step: int) -> float`` that returns the absolute
learning rate at ``step``, counted from 0 (a step is whatever the caller steps: an optimizer step or an
epoch). It validates its arguments once, in the constructor, holds no hidden state, pickles, compares
by value and has a readable ``repr`` such as ``CosineDecay(lr0=0.1, total_steps=20, end_lr=0.001)``.
Schedules with an end clamp the step to ``[0, total_steps]`` and hold their last value afterwards.

What this module is not: a PyTorch scheduler. To drive an optimizer, wrap a schedule in
``dsat_tutorial.controllers.ScheduleLR``; closed-loop rules that read the loss or the gradient live in
:mod:`dsat_tutorial.controllers` too.

============================  ==============================================================
``Constant``                  a fixed rate
``StepDecay``                 ``lr0 * rate ** (t // every)`` (``staircase=False``: ``t / every``)
``ExponentialDecay``          ``lr0 * rate ** (t / every)``
``PolynomialDecay``           ``(lr0 - end_lr) * (1 - min(t, T) / T) ** power + end_lr``
``LinearDecay``               ``PolynomialDecay`` with ``power=1``, never negative
``CosineDecay``               half a cosine from ``lr0`` to ``end_lr``, then constant
``CosineWarmRestarts``        SGDR: a cosine per cycle, cycles ``period * period_mult ** i``
``Sawtooth``                  linear from ``lr0`` toward ``end_lr`` in each period, then restart
``Triangular``                Smith's triangular cyclical rate
``OneCycle``                  PyTorch's ``OneCycleLR`` values, held after the last step
``Warmup``                    linear warm-up into any schedule
``Join``                      schedules one after the other, each on its own clock
``WarmupStableDecay``         WSD: warm-up, constant, then a linear/sqrt/cosine cooldown
``InverseSqrtDecay``          warm-up, then ``peak_lr * sqrt(warmup_steps / (t + 1))``
============================  ==============================================================

The sources' schedules, corrected (ERRATA ids): the code ``lr0 * 0.1 ** (epoch // 10)`` is
``StepDecay`` while its formula is ``ExponentialDecay`` (000-E6), and it decays to 1e-11 (000-E7);
the "exponential decay" ``eta * (1 - t/T) ** 0.9`` is ``PolynomialDecay`` and is complex past ``T``
(002-E3); the "random decay" is a ``Sawtooth`` (002-E4); the "dynamic" rate of source 003 is
``LinearDecay`` and turns negative past its end (003-E2).

References: Optax ``optax/schedules`` (schedules as pure functions); PyTorch
``torch.optim.lr_scheduler``; Loshchilov & Hutter (2017), SGDR, ICLR; Smith (2017), Cyclical Learning
Rates, WACV; Smith & Topin (2019), Super-Convergence; Goyal et al. (2017), arXiv:1706.02677.

Taught in: Part II, Fixed and decaying schedules

>>> s = Warmup(CosineDecay(0.1, total_steps=90, end_lr=0.001), warmup_steps=10)
>>> [round(s(t), 4) for t in (0, 4, 9, 10, 55, 100, 1000)]
[0.01, 0.05, 0.1, 0.1, 0.0505, 0.001, 0.001]
>>> s
Warmup(schedule=CosineDecay(lr0=0.1, total_steps=90, end_lr=0.001), warmup_steps=10, start_lr=None)
"""

from __future__ import annotations

from .base import Schedule
from .compose import Join, Warmup
from .cyclic import CosineWarmRestarts, OneCycle, Sawtooth, Triangular
from .decay import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    LinearDecay,
    PolynomialDecay,
    StepDecay,
)
from .wsd import InverseSqrtDecay, WarmupStableDecay

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "PolynomialDecay",
    "LinearDecay",
    "CosineDecay",
    "CosineWarmRestarts",
    "Sawtooth",
    "Triangular",
    "OneCycle",
    "Warmup",
    "Join",
    "WarmupStableDecay",
    "InverseSqrtDecay",
]
