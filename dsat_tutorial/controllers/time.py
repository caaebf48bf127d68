"""Time-driven control: :class:`ScheduleLR` sets every group's lr from a schedule of the step count.

What it is: the one thin adapter from a pure schedule (:mod:`dsat_tutorial.schedules`) to PyTorch's
``LRScheduler`` interface, in closed form. What it is not: a feedback rule (nothing here reads the loss
or the gradient; those are :mod:`.gradient`, :mod:`.loss` and :mod:`.plateau`).

References: PyTorch ``torch.optim.lr_scheduler.PolynomialLR`` (closed form, attributes set before
``super().__init__``); Optax ``optax/schedules``.
"""

from __future__ import annotations

from torch.optim.lr_scheduler import LRScheduler

from .._validation import check_int
from ..schedules.base import Schedule
from .base import PlainStateMixin, group_ratios, write_lrs

__all__ = ["ScheduleLR"]

_SCHEDULE_CALL = Schedule.__call__  # validates the step, then calls Schedule._lr(step)

class ScheduleLR(PlainStateMixin, LRScheduler):
    r"""Drive an optimizer's learning rate with a schedule: ``lr = schedule(t)``, in closed form.

    .. math::

        \eta_{t,i} = s(t)\, \frac{\eta_{0,i}}{\eta_{0,0}}

    where :math:`s` is ``schedule``, :math:`t` the number of ``step()`` calls since construction
    (``last_epoch``), :math:`\eta_{0,i}` the initial lr of parameter group :math:`i` and
    :math:`\eta_{t,i}` its lr for the next update. With one group the lr *is* ``schedule(t)``.

    Args:
        optimizer: the wrapped optimizer; the first group's initial lr must be > 0 (ratios refer to it).
        schedule: a callable ``step -> lr`` such as ``CosineDecay(0.1, 1000)``; not saved in the state.
        last_epoch: as in PyTorch, ``-1`` for a fresh run.

    Call ``scheduler.step()`` after ``optimizer.step()``. Reference: PyTorch ``PolynomialLR`` (closed
    form, attributes set before ``super().__init__``). Corrects: 000-E5 (an lr assignment that silently
    does nothing -- here the optimizer's own groups change, checked by ``get_last_lr()``). Taught in:
    Part II, Fixed and decaying schedules

    >>> import torch
    >>> from dsat_tutorial.schedules import CosineDecay
    >>> w1, w2 = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    >>> opt = torch.optim.SGD([{"params": [w1], "lr": 0.1}, {"params": [w2], "lr": 0.2}])
    >>> sched = ScheduleLR(opt, CosineDecay(1.0, total_steps=4))
    >>> for _ in range(2):
    ...     opt.step(); sched.step()
    >>> [round(lr, 6) for lr in sched.get_last_lr()]
    [0.5, 1.0]
    """

    def __init__(self, optimizer, schedule, last_epoch: int = -1) -> None:
        if not callable(schedule):
            raise ValueError(f"schedule must be a callable step -> lr, got {schedule!r}")
        self.schedule = schedule
        self._ratios = group_ratios(optimizer)
        self.lr_scale = 1.0  # see scale_lr
        super().__init__(optimizer, check_int("last_epoch", last_epoch, minimum=-1))

    def get_lr(self) -> list[float]:
        """The closed form ``schedule(last_epoch) * ratio`` for every group (times ``lr_scale``)."""
        s = float(self.schedule(self.last_epoch)) * self.lr_scale
        return [s * r for r in self._ratios]

    _get_closed_form_lr = get_lr

    def step(self, epoch=None) -> None:
        """Advance ``t`` by one and set every group's lr to ``schedule(t) * ratio``.

        A lean path with the same result as ``LRScheduler.step`` (which it still uses for the
        construction step, the first call -- where torch checks the call order -- and the deprecated
        ``epoch`` argument): it skips the base class's per-call bookkeeping, so a step costs no more
        than ``CosineAnnealingLR.step()`` (``benchmarks/scheduler_overhead.py``).
        """
        if epoch is not None or self._step_count < 2:
            return LRScheduler.step(self, epoch)
        self._step_count += 1
        self.last_epoch += 1
        sched = self.schedule
        if type(sched).__call__ is _SCHEDULE_CALL:  # our schedules: skip re-validating our own t >= 0
            s = sched._lr(self.last_epoch) * self.lr_scale
        else:
            s = float(sched(self.last_epoch)) * self.lr_scale
        self._last_lr = write_lrs(self.optimizer, [s * r for r in self._ratios])
