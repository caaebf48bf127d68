"""Combinators that build a schedule from other schedules: linear warm-up, and piecewise joins.

Internal module: import these names from :mod:`dsat_tutorial.schedules`. The inner schedules may be
any callables ``step -> learning rate``; with the package's schedules the result stays pure,
picklable and has a readable ``repr``. What it is not: a schedule of its own (every value comes from an
inner schedule).

References: Goyal et al. (2017), "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour",
arXiv:1706.02677 (gradual warm-up); Optax ``join_schedules`` (``optax/schedules/_join.py``).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

from .base import Schedule, check_schedule, set_fields
from .._validation import check_int, check_nonneg


@dataclass(frozen=True)
class Warmup(Schedule):
    r"""Linear warm-up to ``schedule(0)`` over ``warmup_steps`` steps, then ``schedule`` shifted by them.

    .. math::

        \begin{gathered}
        \eta_t = \begin{cases}
        w_t & t < W \\
        s(t - W) & t \ge W
        \end{cases}, \\
        w_t = \eta_{\text{start}} + (s(0) - \eta_{\text{start}})\, \dfrac{t}{W}, \\
        \text{or, with } \texttt{start_lr=None} \\
        \text{(the default): } w_t = s(0)\, \dfrac{t + 1}{W}
        \end{gathered}

    where :math:`s` is ``schedule``, :math:`W` is ``warmup_steps``, :math:`\eta_{\text{start}}` is
    ``start_lr`` and :math:`t` the step. By default the first update already moves the weights
    (:math:`\eta_0 = s(0)/W`, PyTorch ``LinearLR(start_factor=1/W)``'s convention: a warm-up update at
    lr 0 would be wasted) and the warm-up reaches :math:`s(0)` at its last step :math:`t = W - 1`.
    ``start_lr=0.0`` gives the ramp that starts at 0 (Optax ``linear_schedule``, Hugging Face
    ``get_linear_schedule_with_warmup``; this package's default before issue 12). ``warmup_steps=0``
    means no warm-up.

    **How many steps in total.** The inner schedule starts after the warm-up, on its own clock:
    ``Warmup(CosineDecay(lr, total_steps=N), warmup_steps=w)`` runs ``w + N`` steps before it reaches
    ``end_lr``. Optax's ``warmup_cosine_decay_schedule(0, lr, w, decay_steps=N, end_value=e)`` counts
    the warm-up *inside* ``N``; the same schedule here is
    ``Warmup(CosineDecay(lr, total_steps=N - w, end_lr=e), warmup_steps=w, start_lr=0.0)``.

    Args:
        schedule: the schedule to run after the warm-up, a callable ``step -> learning rate``.
        warmup_steps: length of the warm-up, an integer >= 0.
        start_lr: ``None`` (default) for the ramp :math:`s(0)(t+1)/W`, or the learning rate at step 0,
            finite and >= 0.

    Returns:
        A schedule.

    Reference: Goyal et al. (2017), "Accurate, Large Minibatch SGD", arXiv:1706.02677; PyTorch
    ``LinearLR``; Optax ``warmup_cosine_decay_schedule``.
    Taught in: Part II, Fixed and decaying schedules

    >>> from dsat_tutorial.schedules import CosineDecay
    >>> s = Warmup(CosineDecay(0.1, total_steps=100), warmup_steps=10)
    >>> [round(s(t), 6) for t in (0, 4, 9, 10, 60, 110)]
    [0.01, 0.05, 0.1, 0.1, 0.05, 0.0]
    >>> [round(Warmup(CosineDecay(0.1, 100), 10, start_lr=0.0)(t), 6) for t in (0, 5, 10)]
    [0.0, 0.05, 0.1]
    """

    schedule: Callable[[int], float]
    warmup_steps: int
    start_lr: Optional[float] = None

    def __post_init__(self) -> None:
        set_fields(self, schedule=check_schedule("schedule", self.schedule),
                   warmup_steps=check_int("warmup_steps", self.warmup_steps, minimum=0),
                   start_lr=None if self.start_lr is None else check_nonneg("start_lr", self.start_lr))

    def _lr(self, t: int) -> float:
        w = self.warmup_steps
        if t < w:  # 1) linear warm-up towards the schedule's first value
            target = float(self.schedule(0))
            if self.start_lr is None:
                return target * ((t + 1) / w)
            return self.start_lr + (target - self.start_lr) * (t / w)
        return float(self.schedule(t - w))  # 2) the schedule, on its own clock


@dataclass(frozen=True)
class Join(Schedule):
    r"""Run several schedules one after the other, each from its own step 0 (Optax ``join_schedules``).

    .. math::

        \begin{gathered}
        \eta_t = s_i(t - b_{i-1}) \quad\text{for } b_{i-1} \le t < b_i, \\
        b_{-1} = 0,\; b_{n-1} = \infty
        \end{gathered}

    where :math:`s_0, \dots, s_{n-1}` are ``schedules``, :math:`b_0 < \dots < b_{n-2}` are
    ``boundaries`` and :math:`t` the step. At :math:`t = b_i` the next schedule starts, at its step 0.

    Args:
        schedules: ``n >= 1`` callables ``step -> learning rate``.
        boundaries: ``n - 1`` strictly increasing integers >= 1, the steps where the next schedule starts.

    Returns:
        A schedule. Both sequences are stored as tuples, so the schedule is hashable and picklable.

    Reference: Optax ``optax.join_schedules``.
    Taught in: Part II, Fixed and decaying schedules

    >>> from dsat_tutorial.schedules import Constant, LinearDecay
    >>> s = Join([Constant(0.1), LinearDecay(0.1, total_steps=10)], boundaries=[5])
    >>> [round(s(t), 6) for t in (0, 4, 5, 10, 15, 99)]
    [0.1, 0.1, 0.1, 0.05, 0.0, 0.0]
    """

    schedules: Sequence[Callable[[int], float]]
    boundaries: Sequence[int]

    def __post_init__(self) -> None:
        schedules = _as_tuple("schedules", self.schedules)
        if not schedules:
            raise ValueError("schedules must hold at least one schedule, got an empty sequence")
        for i, schedule in enumerate(schedules):
            check_schedule(f"schedules[{i}]", schedule)
        boundaries = tuple(check_int(f"boundaries[{i}]", b, minimum=1)
                           for i, b in enumerate(_as_tuple("boundaries", self.boundaries)))
        if len(boundaries) != len(schedules) - 1:
            raise ValueError(f"boundaries must have len(schedules) - 1 = {len(schedules) - 1} entries, "
                             f"got {len(boundaries)}: {self.boundaries!r}")
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"boundaries must be strictly increasing, got {self.boundaries!r}")
        set_fields(self, schedules=schedules, boundaries=boundaries)

    def _lr(self, t: int) -> float:
        i = bisect.bisect_right(self.boundaries, t)  # index of the active schedule
        start = self.boundaries[i - 1] if i else 0
        return float(self.schedules[i](t - start))


def _as_tuple(name: str, value: object) -> tuple:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list or tuple, got {value!r}")
    return tuple(value)
