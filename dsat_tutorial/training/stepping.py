"""Where in the training loop ``fit`` steps a scheduler, and which signal it hands it.

What it is: :func:`loop_position`, a readable summary of the declaration ``fit`` infers for a bare
scheduler (the same inference ``fit`` uses, so a table built from it cannot drift from the loop).
What it is not: a scheduler, nor a way to change the defaults (pass a
:class:`~dsat_tutorial.training.Scheduled` to ``fit`` for that).

Reference: PyTorch "How to adjust learning rate" (``scheduler.step()`` after ``optimizer.step()``).
Taught in: Part III, Schedules and feedback.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .scheduled import Scheduled, infer

__all__ = ["WHEN", "LoopPosition", "loop_position"]

#: the places in one training step / epoch where a scheduler can be stepped
WHEN = ("before the update", "after the update", "end of epoch", "after the update + end of epoch")


class LoopPosition(NamedTuple):
    """``interval`` and ``signal`` as in :class:`Scheduled`; ``when`` one of ``WHEN``."""

    interval: str
    signal: str | None
    when: str


def loop_position(scheduler: Any, has_val: bool = True) -> LoopPosition:
    """When and with what ``fit`` steps ``scheduler`` (a bare scheduler or a :class:`Scheduled`).

    .. math::
        \\begin{gathered}
        \\text{before the update: } \\eta_t = c(s_t), \\\\
        \\text{after the update: } \\eta_{t+1} = c(s_t)
        \\end{gathered}

    where :math:`c` is the controller and :math:`s_t` the signal of step :math:`t` (none for a schedule):
    a scheduler stepped *after* ``optimizer.step()`` sets the lr of the next update (the one-step lag of
    ERRATA 003-E6); a pre-update one sets the lr of the update that follows it at once.

    Args:
        scheduler: a scheduler with ``step`` or a :class:`Scheduled` declaration (used as given).
        has_val: whether ``fit`` gets a ``val_loader`` (decides ``"val_loss"`` vs ``"train_loss"``).

    Returns:
        :class:`LoopPosition` ``(interval, signal, when)``.

    Reference: ``dsat_tutorial.training`` (decision 1). Taught in: Part III, Schedules and feedback.

    >>> import torch
    >>> from dsat_tutorial.controllers import PlateauLR
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> loop_position(PlateauLR(opt))
    LoopPosition(interval='epoch', signal='val_loss', when='end of epoch')
    """
    decl = scheduler if isinstance(scheduler, Scheduled) else infer(scheduler, bool(has_val))
    if decl.pre_update:
        when = WHEN[0]
    elif decl.interval == "step":
        when = WHEN[1]
    elif decl.interval == "epoch":
        when = WHEN[2]
    else:
        when = WHEN[3]
    return LoopPosition(decl.interval, decl.signal, when)
