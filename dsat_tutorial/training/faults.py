"""Fault injection for ``fit``: corrupt chosen batch losses on purpose, to test what a run does next.

A remediation ladder (skip the batch, clip, lower the lr, roll back, stop) can only be trusted once it
has been seen to work on the faults it is meant for. :class:`InjectLoss` is a ``fit`` callback whose
``on_loss`` multiplies the loss of chosen global steps by a factor: a large finite factor is a *loss
spike* (a corrupted batch, whose gradient is scaled by the same factor -- for plain SGD the same update
as one step at a factor-times larger learning rate), ``float("nan")`` or ``float("inf")`` a non-finite
loss (an overflow, a bad record).

What it is not: a model of where real spikes come from (data, optimizer state, numerics), and not a
defence -- it only breaks things. It changes nothing on the other steps.

References: Chowdhery et al., PaLM, 2022, section 5.1 (loss spikes); Keras ``TerminateOnNaN`` and
Lightning ``EarlyStopping(check_finite=True)`` (the stop-only answer to a NaN).
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable

__all__ = ["InjectLoss"]


class InjectLoss:
    """``fit`` callback: multiply the batch loss at the given global steps by ``factor``.

    .. math::
        \\begin{gathered}
        \\tilde L_s = \\begin{cases} c\\,L_s & s \\in S \\\\ L_s & \\text{otherwise} \\end{cases} \\qquad \\Rightarrow \\\\
        \\nabla \\tilde L_s = c\\,\\nabla L_s \\ (c \\text{ finite}),
        \\end{gathered}

    where :math:`s` is ``fit``'s global step index (from 0, counting skipped steps too), :math:`S` the
    set ``steps`` and :math:`c` = ``factor``. With plain SGD the update of a spiked step is
    :math:`-\\eta\\,c\\,\\nabla L_s`: one step at learning rate :math:`c\\eta`. ``hits`` lists the steps
    at which the loss was changed (a step rolled back and not repeated is hit once).

    Args:
        steps: global step indices (ints >= 0) to corrupt.
        factor: the multiplier :math:`c`: a real number (``nan``/``inf`` allowed).

    Reference: the injected spikes and NaNs of Part IV. Taught in: Part IV, Spikes, NaNs and rollback.

    >>> import torch
    >>> fault = InjectLoss(steps=[2], factor=50.0)
    >>> class S: step = 2
    >>> fault.on_loss(S, torch.tensor(0.1)).item(), fault.hits
    (5.0, [2])
    >>> S.step = 3; fault.on_loss(S, torch.tensor(0.1)).item()
    0.10000000149011612
    """

    def __init__(self, steps: Iterable[int], factor: float) -> None:
        steps = list(steps)
        if not steps or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 for s in steps):
            raise ValueError(f"steps must be a non-empty list of ints >= 0, got {steps!r}")
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
            raise ValueError(f"factor must be a real number (nan and inf allowed), got {factor!r}")
        if math.isfinite(factor) and factor == 1.0:
            raise ValueError("factor must differ from 1 (a factor of 1 injects nothing)")
        self.steps, self.factor = frozenset(int(s) for s in steps), float(factor)
        self.hits: list[int] = []

    def on_loss(self, state, loss):
        if state.step in self.steps:
            self.hits.append(int(state.step))
            return loss * self.factor
        return loss

    def __repr__(self) -> str:
        return f"InjectLoss(steps={sorted(self.steps)}, factor={self.factor:g})"
