"""Shared machinery of the learning-rate controllers in :mod:`dsat_tutorial.controllers`.

Internal module (no public API except :class:`NonFiniteSignalWarning`, re-exported by ``controllers``).
It holds what every controller needs and none of their rules:

* :func:`group_ratios` (from :mod:`.groups`) -- several parameter groups keep their ratio to the first
  group whose initial lr is > 0; groups added later are adopted by :meth:`FeedbackLR._sync_groups`;
* :func:`per_group` -- a scalar or one-value-per-group argument (PyTorch's ``min_lr`` convention);
* :class:`PlainStateMixin` -- ``state_dict()`` of plain data only (the schedule is configuration and is
  left out, so ``torch.load(..., weights_only=True)`` loads it), a ``load_state_dict`` that also
  re-applies the saved learning rates, and ``scale_lr`` (a persistent factor on every lr);
* :class:`FeedbackLR` -- the ``step(signal=None)`` dispatch: ``None`` is a clock tick, a finite number
  is an observation, NaN/inf is counted and reported and changes nothing; the learning rates are then
  recomputed in closed form by ``get_lr()`` from the controller's explicit state.

Which steps go through :meth:`torch.optim.lr_scheduler.LRScheduler.step`: that method warns when the
first ``scheduler.step()`` after construction comes before any ``optimizer.step()`` (it wraps
``optimizer.step`` to raise a flag and inspects the flag on the first call). For a clock tick this check
is right: ticking first skips ``schedule(0)``. Two kinds of step are not ticks and write the parameter
groups themselves (:meth:`FeedbackLR._write`), never reaching the check:

* every step of a *pre-update* controller (``pre_update = True``), stepped after ``backward()`` and
  *before* ``optimizer.step()`` on purpose -- it sets the lr of the update that follows;
* a *metric* step ``step(x)`` of a post-update controller (``PlateauLR(opt).step(val_loss)``): a
  decision on an observation, which moves no clock, so taking it before any update skips nothing.

Nothing patches, fakes or resets the optimizer's flag, so the check stays intact for every other
scheduler on the same optimizer; a clock tick ``step()`` of a post-update controller keeps it.

References: PyTorch ``torch/optim/lr_scheduler.py`` (``LRScheduler``, ``ReduceLROnPlateau``, the
call-order warning of pytorch issue #20124); Optax ``contrib/_reduce_on_plateau.py`` (explicit state).
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

from torch import Tensor
from torch.optim.lr_scheduler import LRScheduler

from .._validation import check_choice, check_int, check_nonneg, check_positive, check_signal
from .groups import check_lr_bounds, group_ratios, new_group_ratio, per_group, sync_groups

__all__ = ["NonFiniteSignalWarning", "group_ratios", "per_group", "check_lr_bounds", "write_lrs",
           "PlainStateMixin", "FeedbackLR", "PlateauRule"]

# Keys that are configuration (given again at construction) or transient flags, never state.
_NOT_STATE = ("optimizer", "schedule", "_constructing")


class NonFiniteSignalWarning(RuntimeWarning):
    """A controller received a NaN or infinite signal; it counted it and left the learning rate alone.

    A non-finite loss or gradient norm says the step went wrong, not how to change the learning rate, so
    every controller ignores it, counts it in ``nonfinite_signals`` and warns with this category (filter
    it with ``warnings.filterwarnings("ignore", category=NonFiniteSignalWarning)`` if a loop expects it).

    Reference: contrast PyTorch ``ReduceLROnPlateau``, which counts a NaN metric as a bad epoch and may
    cut the learning rate because of it; here a non-finite signal changes nothing.
    Taught in: Part IV, The full DS&T loop

    >>> import warnings, torch
    >>> from dsat_tutorial.controllers import PlateauLR
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> sched = PlateauLR(opt)
    >>> opt.step()
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     sched.step(float("nan"))
    >>> caught[0].category.__name__, sched.nonfinite_signals, sched.get_last_lr()
    ('NonFiniteSignalWarning', 1, [0.1])
    """


def write_lrs(optimizer, values) -> list:
    """Set each group's lr (in place for tensor lrs, as torch does) and return copies for ``_last_lr``."""
    last = []
    for group, value in zip(optimizer.param_groups, values, strict=True):
        lr = group["lr"]
        if type(lr) is float or not isinstance(lr, Tensor):  # float first: the common, cheap case
            group["lr"] = value
            last.append(value)
        else:
            lr.fill_(value)
            last.append(lr.clone())
    return last


class PlainStateMixin:
    """``state_dict``/``load_state_dict`` holding plain data only (numbers, strings, lists, dicts, tensors).

    The optimizer and the schedule are configuration, given again when the scheduler is rebuilt, so they
    are left out: a dataclass schedule in the state would make ``torch.load(..., weights_only=True)``
    refuse the checkpoint.
    """

    def state_dict(self) -> dict[str, Any]:
        """A copy of everything in ``__dict__`` except the optimizer, the schedule and transient flags.

        A deep copy, so a snapshot kept in memory (e.g. for a rollback) does not change as training goes on.
        """
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in _NOT_STATE})

    def scale_lr(self, factor: float) -> list:
        """Multiply every lr this scheduler produces, now and later, by ``factor`` (``lr_scale *= factor``).

        The hook a DS&T policy uses to lower or raise the lr without being undone at the next closed-form
        step (``dsat_tutorial.policy.scale_learning_rate``). The groups are rewritten at once; the
        scheduler's clock and state are untouched. Returns the new learning rates.
        """
        self.lr_scale *= check_positive("factor", factor)
        self._last_lr = write_lrs(self.optimizer, self.get_lr())
        return self._last_lr

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state and re-apply the saved learning rates to the optimizer's groups.

        Re-applying makes resuming independent of whether the optimizer's state is loaded before or after
        the scheduler's (torch's own schedulers leave the groups alone).
        """
        self.__dict__.update(copy.deepcopy({k: v for k, v in state_dict.items() if k not in _NOT_STATE}))
        self._last_lr = write_lrs(self.optimizer, self._last_lr)


class FeedbackLR(PlainStateMixin, LRScheduler):
    """Base of the signal-driven controllers: ``step(signal=None)`` and closed-form ``get_lr()``.

    Subclasses set their attributes, then call ``super().__init__(optimizer, schedule)``, and implement

    * ``_tick()`` -- ``step()`` without a signal (default: advance the schedule clock ``t`` by one);
    * ``_observe(x)`` -- ``step(x)`` with a finite float ``x``;
    * ``_lr()`` -- the learning rates from the state, in closed form; ``get_lr()`` multiplies them by
      ``lr_scale`` (1 unless :meth:`scale_lr` is called).

    ``pre_update = True`` marks controllers stepped between ``backward()`` and ``optimizer.step()``.
    """

    pre_update = False

    def __init__(self, optimizer, schedule=None) -> None:
        if schedule is not None and not callable(schedule):
            raise ValueError(f"schedule must be None or a callable step -> lr, got {schedule!r}")
        self.schedule = schedule
        self._ratios = group_ratios(optimizer) if schedule is not None else None
        self.t = 0                    # schedule clock (see each controller for what advances it)
        self.nonfinite_signals = 0    # NaN/inf signals received and ignored
        self.lr_scale = 1.0           # persistent factor on every lr (scale_lr)
        self._constructing = True     # LRScheduler.__init__ calls step() once: not a tick, no signal
        super().__init__(optimizer)
        self._constructing = False

    def base(self, t: int) -> list[float]:
        """Per-group base lr: the groups' initial lrs, or ``schedule(t)`` times each group's ratio."""
        if self.schedule is None:
            return [float(b) for b in self.base_lrs]
        s = float(self.schedule(t))
        return [s * r for r in self._ratios]

    def step(self, signal=None) -> None:
        """Take a signal and set every group's lr from the controller's state, in closed form.

        ``step()`` is a clock tick (advances a schedule, or raises ``TypeError`` for controllers that need
        a signal); ``step(x)`` with a finite real number (float, int, NumPy scalar) or a one-element
        tensor ``x`` is an observation; NaN or inf changes nothing but ``nonfinite_signals`` and emits a
        :class:`NonFiniteSignalWarning`. A bool, a string or any other object raises ``ValueError``
        naming ``signal``. Only a tick of a post-update controller goes through PyTorch's call-order
        check (see the module docstring). Groups added with ``optimizer.add_param_group`` since the
        last step are adopted first (:meth:`_sync_groups`).
        """
        self._sync_groups()
        if not self._constructing:
            if signal is None:
                self._tick()
            else:
                x = check_signal(f"{type(self).__name__}.step(signal)", signal)
                if math.isfinite(x):
                    self._observe(x)
                else:
                    self.nonfinite_signals += 1
                    warnings.warn(f"{type(self).__name__}.step() got a non-finite signal ({x}); the learning "
                                  f"rate is unchanged ({self.nonfinite_signals} so far)",
                                  NonFiniteSignalWarning, stacklevel=2)
        if self.pre_update or (signal is not None and not self._constructing):
            self._write(self.get_lr())
        else:
            LRScheduler.step(self)  # a clock tick: torch's call-order check, then get_lr()

    def _sync_groups(self) -> None:
        """Adopt groups added to the optimizer since the last step (no-op when there are none).

        A new group's ``initial_lr`` is its lr when first seen; with a schedule it keeps the ratio of
        that lr to the reference group's lr at that moment; :meth:`_add_group` extends the subclass's
        per-group state.
        """
        if len(self.optimizer.param_groups) != len(self.base_lrs):
            sync_groups(self, self._adopt)

    def _adopt(self, index: int, lr: float) -> None:
        if self._ratios is not None:
            self._ratios.append(new_group_ratio(self.optimizer, self._ratios, lr))
        self._add_group(index, lr)

    def _add_group(self, index: int, lr: float) -> None:
        """Extend per-group state for a group added later (default: nothing to extend)."""

    def _write(self, values) -> None:
        """Pre-update path: count the call as torch does and set the groups, without the order check."""
        self._step_count += 1
        self.last_epoch += 1
        self._last_lr = write_lrs(self.optimizer, values)

    def get_lr(self) -> list[float]:
        """The controller's closed form ``_lr()`` times ``lr_scale``."""
        if hasattr(self, "base_lrs"):  # not yet during LRScheduler.__init__
            self._sync_groups()
        return [v * self.lr_scale for v in self._lr()]

    def _lr(self) -> list[float]:  # pragma: no cover -- every subclass overrides it
        raise NotImplementedError

    def _tick(self) -> None:
        self.t += 1

    def _observe(self, x: float) -> None:  # pragma: no cover -- every subclass overrides it
        raise NotImplementedError


class PlateauRule:
    """ReduceLROnPlateau's decision rule as explicit state (best, num_bad_epochs, cooldown_counter).

    A metric is *better* if it beats ``best`` by ``threshold`` (``rel``: ``best * (1 -/+ threshold)``,
    ``abs``: ``best -/+ threshold``, for ``mode`` min/max); more than ``patience`` worse metrics in a row
    make a *plateau decision*, after which ``cooldown`` metrics are ignored. The float operations are
    PyTorch's, so edge cases (ties, the first metric against +-inf) decide alike.
    """

    def _init_rule(self, mode, patience, threshold, threshold_mode, cooldown) -> None:
        self.mode = check_choice("mode", mode, ("min", "max"))
        self.patience = check_int("patience", patience, minimum=0)
        self.threshold = check_nonneg("threshold", threshold)
        self.threshold_mode = check_choice("threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = check_int("cooldown", cooldown, minimum=0)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    @property
    def in_cooldown(self) -> bool:
        """True while metrics are being ignored after a decision."""
        return self.cooldown_counter > 0

    def _is_better(self, a: float) -> bool:
        if self.mode == "min":
            return a < (self.best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else self.best - self.threshold)
        return a > (self.best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                    else self.best + self.threshold)

    def _plateau(self, metric: float) -> bool:
        """Record a finite metric; True when it completes a plateau (the caller then reduces)."""
        # 1) better or worse than the best so far
        if self._is_better(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        # 2) cooldown swallows bad epochs
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        # 3) plateau decision
        if self.num_bad_epochs > self.patience:
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
            return True
        return False
