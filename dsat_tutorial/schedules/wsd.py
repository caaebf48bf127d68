"""Horizon-free schedules: warmup-stable-decay (WSD) and the inverse square-root decay.

Internal module: import these names from :mod:`dsat_tutorial.schedules`. Both are frozen dataclasses
whose ``__call__(step)`` returns the absolute learning rate at ``step`` (counted from 0). *Horizon-free*:
the lr does not depend on the length of the run until the very end (WSD: only the last ``decay_steps``
steps know ``total_steps``, so a run can be extended, or branched into a cooldown from a stable-phase
checkpoint) or not at all (inverse square root). What it is not: a cosine schedule (whose every value
depends on ``total_steps``), nor a PyTorch scheduler (wrap a schedule in
``dsat_tutorial.controllers.ScheduleLR``).

**Warm-up convention** (both classes, the one ``Warmup`` adopts as well): the lr of step ``t``
(0-based) during a warm-up of ``w`` steps is ``start_lr + (peak_lr - start_lr) * (t + 1) / w`` -- the
first update already moves (its lr is ``peak_lr / w`` from ``start_lr = 0``) and step ``w - 1``, the
last warm-up step, runs at ``peak_lr``.

References: Hu et al. (2024), "MiniCPM: Unveiling the Potential of Small Language Models with Scalable
Training Strategies", arXiv:2404.06395 (WSD); Hägele et al. (2024), "Scaling Laws and Compute-Optimal
Training Beyond Fixed Training Durations", NeurIPS (the 1 - sqrt cooldown, 10-20 % of the run);
Vaswani et al. (2017), "Attention Is All You Need", NeurIPS, section 5.3; fairseq
``fairseq/optim/lr_scheduler/inverse_square_root_schedule.py``; Hugging Face ``transformers``
``get_wsd_schedule``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from .base import Schedule, set_fields
from .._validation import check_choice, check_int, check_nonneg

__all__ = ["WarmupStableDecay", "InverseSqrtDecay", "DECAY_SHAPES"]

DECAY_SHAPES = ("linear", "sqrt", "cosine")


def _check_below_peak(name: str, value: object, peak: float) -> float:
    """``value`` must be a learning rate in ``[0, peak_lr]``."""
    v = check_nonneg(name, value)
    if v > peak:
        raise ValueError(f"{name} must be in [0, peak_lr] = [0, {peak!r}], got {value!r}")
    return v


def _cooldown(shape: str, u: float) -> float:
    """The fraction of the way from ``end_lr`` to ``peak_lr`` left at cooldown progress ``u`` in [0, 1]."""
    if shape == "linear":
        return 1.0 - u
    if shape == "sqrt":
        return 1.0 - math.sqrt(u)
    return (1.0 + math.cos(math.pi * u)) / 2.0


@dataclass(frozen=True)
class WarmupStableDecay(Schedule):
    r"""Warmup-stable-decay (WSD): linear warm-up, a long constant phase, then a short cooldown.

    .. math::

        \begin{gathered}
        \eta_t = \begin{cases}
        \ell_t & 0 \le t < W \\
        \eta_{\text{peak}} & W \le t < T - D \\
        d_t & T - D \le t < T \\
        \eta_{\text{end}} & t \ge T
        \end{cases}, \\
        \ell_t = \eta_{\text{start}} + (\eta_{\text{peak}} - \eta_{\text{start}})\,\frac{t+1}{W}, \\
        d_t = \eta_{\text{end}} + (\eta_{\text{peak}} - \eta_{\text{end}})\, \phi(u_t), \\
        u_t = \frac{t - (T - D)}{D}
        \end{gathered}

    with the cooldown shape :math:`\phi(u) = 1 - u` (``"linear"``), :math:`1 - \sqrt u` (``"sqrt"``,
    Hägele et al.) or :math:`(1 + \cos \pi u)/2` (``"cosine"``), where :math:`W` is ``warmup_steps``,
    :math:`D` is ``decay_steps``, :math:`T` is ``total_steps`` and :math:`t` the step (0-based). The
    warm-up's first update is not zero (:math:`t + 1`): the lr reaches :math:`\eta_{\text{peak}}` at
    :math:`t = W - 1`. The cooldown starts at :math:`\eta_{\text{peak}}` (:math:`u = 0` at
    :math:`t = T - D`) and reaches :math:`\eta_{\text{end}}` at :math:`t = T`, held afterwards. The
    stable and cooldown phases are those of Hugging Face's ``get_wsd_schedule`` (with
    ``min_lr_ratio`` :math:`= \eta_{\text{end}}/\eta_{\text{peak}}`); its warm-up starts at
    :math:`t / W` instead.

    Args:
        peak_lr: the lr of the stable phase, finite and >= 0.
        total_steps: the run's length :math:`T`, an integer >= 1.
        warmup_steps: :math:`W`, an integer >= 0 (0: no warm-up).
        decay_steps: :math:`D`, an integer >= 0 with :math:`W + D \le T`; ``None`` (default) means
            ``total_steps // 5`` (20 %; Hägele et al. find 10-20 % enough).
        decay: the cooldown shape, ``"linear"`` (default), ``"sqrt"`` or ``"cosine"``.
        start_lr: the warm-up's starting point, in [0, peak_lr] (default 0).
        end_lr: the lr at and after :math:`T`, in [0, peak_lr] (default 0).

    Returns:
        A schedule.

    Reference: Hu et al. (2024), MiniCPM, arXiv:2404.06395; Hägele et al. (2024), NeurIPS.
    Taught in: Part III, Linear decay, done right, and horizon-free schedules

    >>> s = WarmupStableDecay(0.1, total_steps=100, warmup_steps=10, decay="sqrt")
    >>> s.decay_steps
    20
    >>> [round(s(t), 4) for t in (0, 9, 50, 80, 85, 99, 100, 500)]
    [0.01, 0.1, 0.1, 0.1, 0.05, 0.0025, 0.0, 0.0]
    """

    peak_lr: float
    total_steps: int
    warmup_steps: int = 0
    decay_steps: Optional[int] = None
    decay: str = "linear"
    start_lr: float = 0.0
    end_lr: float = 0.0

    def __post_init__(self) -> None:
        peak = check_nonneg("peak_lr", self.peak_lr)
        total = check_int("total_steps", self.total_steps)
        warmup = check_int("warmup_steps", self.warmup_steps, minimum=0)
        decay_steps = total // 5 if self.decay_steps is None else check_int("decay_steps", self.decay_steps,
                                                                            minimum=0)
        if warmup + decay_steps > total:
            raise ValueError(f"warmup_steps + decay_steps must be <= total_steps = {total}, got "
                             f"{warmup} + {decay_steps} = {warmup + decay_steps}")
        set_fields(self, peak_lr=peak, total_steps=total, warmup_steps=warmup, decay_steps=decay_steps,
                   decay=check_choice("decay", self.decay, DECAY_SHAPES),
                   start_lr=_check_below_peak("start_lr", self.start_lr, peak),
                   end_lr=_check_below_peak("end_lr", self.end_lr, peak))

    def _lr(self, t: int) -> float:
        if t < self.warmup_steps:  # 1) warm-up: the first update already moves
            return self.start_lr + (self.peak_lr - self.start_lr) * ((t + 1) / self.warmup_steps)
        cooldown_start = self.total_steps - self.decay_steps
        if t < cooldown_start:     # 2) stable
            return self.peak_lr
        if t >= self.total_steps:  # 4) after the run
            return self.end_lr
        u = (t - cooldown_start) / self.decay_steps  # 3) cooldown, u in [0, 1)
        return self.end_lr + (self.peak_lr - self.end_lr) * _cooldown(self.decay, u)


@dataclass(frozen=True)
class InverseSqrtDecay(Schedule):
    r"""Linear warm-up to ``peak_lr``, then decay as the inverse square root of the step (no horizon).

    .. math::

        \eta_t = \eta_{\text{peak}} \min\!\left(\frac{t+1}{W},\; \sqrt{\frac{W}{t+1}}\right)

    where :math:`\eta_{\text{peak}}` is ``peak_lr``, :math:`W` is ``warmup_steps`` and :math:`t` the step
    (0-based): the warm-up's first update is :math:`\eta_{\text{peak}}/W`, the peak is reached at
    :math:`t = W - 1`, and from there the lr falls as :math:`\eta_{\text{peak}}\sqrt{W/(t+1)}`, never
    reaching 0. With :math:`\eta_{\text{peak}} = (d_{\text{model}} W)^{-1/2}` this is Vaswani et al.'s
    ``d_model**-0.5 * min(n**-0.5, n * W**-1.5)`` at update number :math:`n = t + 1`, and fairseq's
    ``inverse_sqrt`` (``warmup_init_lr=0``) after :math:`n` updates.

    Args:
        peak_lr: the highest lr, finite and >= 0.
        warmup_steps: :math:`W`, an integer >= 1.

    Returns:
        A schedule.

    Reference: Vaswani et al. (2017), "Attention Is All You Need", NeurIPS, section 5.3; fairseq
    ``inverse_square_root_schedule.py``.
    Taught in: Part III, Linear decay, done right, and horizon-free schedules

    >>> s = InverseSqrtDecay(0.1, warmup_steps=4)
    >>> [round(s(t), 4) for t in (0, 3, 15, 399)]
    [0.025, 0.1, 0.05, 0.01]
    """

    peak_lr: float
    warmup_steps: int

    def __post_init__(self) -> None:
        set_fields(self, peak_lr=check_nonneg("peak_lr", self.peak_lr),
                   warmup_steps=check_int("warmup_steps", self.warmup_steps))

    def _lr(self, t: int) -> float:
        n = t + 1
        if n <= self.warmup_steps:
            return self.peak_lr * (n / self.warmup_steps)
        return self.peak_lr * math.sqrt(self.warmup_steps / n)
