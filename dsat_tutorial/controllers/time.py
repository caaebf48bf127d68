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
from .base import PlainStateMixin, write_lrs
from .groups import group_ratios, new_group_ratio, sync_groups

__all__ = ["ScheduleLR"]

_SCHEDULE_CALL = Schedule.__call__  # validates the step, then calls Schedule._lr(step)

class ScheduleLR(PlainStateMixin, LRScheduler):
    r"""Drive an optimizer's learning rates with a schedule, or one schedule per group, in closed form.

    .. math::

        \begin{gathered}
        \eta_{t,i} = s(t)\, \frac{\eta_{0,i}}{\eta_{0,r}} \quad\text{(one schedule)}, \\
        \eta_{t,i} = s_i(t) \\
        \text{(one schedule per group)}
        \end{gathered}

    where :math:`t` is the number of ``step()`` calls since construction (``last_epoch``),
    :math:`\eta_{0,i}` the initial lr of parameter group :math:`i` and :math:`r` the *reference group*,
    the first group whose initial lr is > 0. The schedule's value **is** the lr (not a multiplier, as in
    ``LambdaLR``): with one group, or one schedule per group, :math:`\eta_{t,i}` is the schedule's value.
    Groups at lr 0 (a frozen backbone) are allowed in both forms; with one schedule they stay at 0.

    A group added later with ``optimizer.add_param_group`` gets ``initial_lr`` = its lr when first seen;
    with one schedule it keeps the ratio of that lr to the reference group's lr at that moment; with
    per-group schedules it holds its lr until :meth:`set_schedule` gives it one. ``state_dict`` round
    trips afterwards (pass the same schedule(s) again when rebuilding).

    Args:
        optimizer: the wrapped optimizer.
        schedule: a callable ``step -> lr`` such as ``CosineDecay(0.1, 1000)``, or a list/tuple with one
            such callable per param group; not saved in the state.
        last_epoch: as in PyTorch, ``-1`` for a fresh run.

    Call ``scheduler.step()`` after ``optimizer.step()``. Reference: PyTorch ``PolynomialLR`` (closed
    form, attributes set before ``super().__init__``), ``CyclicLR(base_lr=[...])`` (one value per
    group). Corrects: 000-E5 (an lr assignment that silently does nothing -- here the optimizer's own
    groups change, checked by ``get_last_lr()``). Taught in: Part II, Fixed and decaying schedules

    >>> import torch
    >>> from dsat_tutorial.schedules import Constant, CosineDecay
    >>> w1, w2 = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    >>> opt = torch.optim.SGD([{"params": [w1], "lr": 0.1}, {"params": [w2], "lr": 0.2}])
    >>> sched = ScheduleLR(opt, CosineDecay(1.0, total_steps=4))
    >>> for _ in range(2):
    ...     opt.step(); sched.step()
    >>> [round(lr, 6) for lr in sched.get_last_lr()]
    [0.5, 1.0]
    >>> opt = torch.optim.SGD([{"params": [w1], "lr": 0.0}, {"params": [w2], "lr": 0.2}])
    >>> sched = ScheduleLR(opt, [Constant(0.0), CosineDecay(0.2, total_steps=4)])
    >>> opt.step(); sched.step(); [round(lr, 6) for lr in sched.get_last_lr()]
    [0.0, 0.170711]
    """

    def __init__(self, optimizer, schedule, last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups)
        if isinstance(schedule, (list, tuple)):
            if len(schedule) != n or not all(callable(s) for s in schedule):
                raise ValueError(f"schedule must be a callable step -> lr or a list of {n} such callables "
                                 f"(one per param group), got {schedule!r}")
            self.schedule = list(schedule)
            self._ratios = None
            self._held = [None] * n  # per group: None (has a schedule) or the lr it holds / lr_scale
        elif callable(schedule):
            self.schedule = schedule
            self._ratios = group_ratios(optimizer)
            self._held = None
        else:
            raise ValueError(f"schedule must be a callable step -> lr or a list of them, got {schedule!r}")
        self.lr_scale = 1.0  # see scale_lr
        super().__init__(optimizer, check_int("last_epoch", last_epoch, minimum=-1))

    def get_lr(self) -> list[float]:
        """The closed form (``schedule(last_epoch) * ratio``, or ``schedule_i(last_epoch)``) times ``lr_scale``."""
        if hasattr(self, "base_lrs"):  # not yet during LRScheduler.__init__
            self._sync_groups()
        t, scale = self.last_epoch, self.lr_scale
        if self._held is None:
            s = float(self.schedule(t)) * scale
            return [s * r for r in self._ratios]
        return [(float(sch(t)) if held is None else held) * scale
                for sch, held in zip(self.schedule, self._held)]

    _get_closed_form_lr = get_lr

    def set_schedule(self, group: int, schedule) -> None:
        """Give param group ``group`` its own schedule (per-group form only), from the next ``step()``."""
        if self._held is None:
            raise ValueError("set_schedule needs the per-group form: ScheduleLR(optimizer, [s0, s1, ...])")
        self._sync_groups()
        if not (isinstance(group, int) and 0 <= group < len(self._held)) or not callable(schedule):
            raise ValueError(f"group must be an index in [0, {len(self._held)}) and schedule a callable "
                             f"step -> lr, got {group!r} and {schedule!r}")
        self.schedule[group], self._held[group] = schedule, None

    def _sync_groups(self) -> None:
        """Adopt groups added to the optimizer since the last step (see the class docstring)."""
        if len(self.optimizer.param_groups) != len(self.base_lrs):
            sync_groups(self, self._adopt)

    def _adopt(self, index: int, lr: float) -> None:
        if self._held is None:
            self._ratios.append(new_group_ratio(self.optimizer, self._ratios, lr))
        else:
            self.schedule.append(None)
            self._held.append(lr / self.lr_scale)

    def step(self, epoch=None) -> None:
        """Advance ``t`` by one and set every group's lr from its closed form.

        A lean path with the same result as ``LRScheduler.step`` (which it still uses for the
        construction step, the first call -- where torch checks the call order -- the deprecated
        ``epoch`` argument and the per-group form): it skips the base class's per-call bookkeeping, so
        a step costs no more than ``CosineAnnealingLR.step()`` (``benchmarks/scheduler_overhead.py``).
        """
        if epoch is not None or self._step_count < 2 or self._held is not None:
            return LRScheduler.step(self, epoch)
        if len(self.optimizer.param_groups) != len(self._ratios):
            self._sync_groups()
        self._step_count += 1
        self.last_epoch += 1
        sched = self.schedule
        if type(sched).__call__ is _SCHEDULE_CALL:  # our schedules: skip re-validating our own t >= 0
            s = sched._lr(self.last_epoch) * self.lr_scale
        else:
            s = float(sched(self.last_epoch)) * self.lr_scale
        self._last_lr = write_lrs(self.optimizer, [s * r for r in self._ratios])
