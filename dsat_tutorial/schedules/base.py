"""Shared machinery of the schedules: the ``Schedule`` base class and the argument checks every
schedule uses.

Internal module: import the public names from :mod:`dsat_tutorial.schedules`. What it is not: a
stateful scheduler. A schedule never remembers the last step it was called with; the PyTorch adapter
``ScheduleLR`` (in :mod:`dsat_tutorial.controllers`) owns the step counter.

References: Optax ``optax/schedules/_schedule.py`` (schedules as pure functions of the step).
"""

from __future__ import annotations

import math

from .._validation import check_nonneg, check_step


class Schedule:
    r"""Base class of the schedules: a pure, stateless map from a step to an absolute learning rate.

    .. math::

        \begin{gathered}
        s : \{0, 1, 2, \dots\} \to [0, \infty), \\
        \eta_t = s(t)
        \end{gathered}

    where :math:`t` is the step (an optimizer step or an epoch, counted from 0) and :math:`\eta_t` the
    absolute learning rate at that step -- a pure function: the same :math:`t` always gives the same
    :math:`\eta_t`, whatever was asked before.

    Subclasses are frozen dataclasses that validate their arguments in ``__post_init__`` and
    implement ``_lr(t)`` for a validated integer ``t >= 0``. ``__call__`` checks the step once, so
    every schedule accepts integer steps (Python, NumPy, 0-d integer tensors) and rejects negative or
    non-integer ones the same way.

    Reference: Optax ``optax/schedules/_schedule.py`` (schedules as pure functions of the step).
    Taught in: Part II, Fixed and decaying schedules

    >>> from dsat_tutorial.schedules import Constant
    >>> Constant(0.1)(7)
    0.1
    >>> Constant(0.1)(-1)
    Traceback (most recent call last):
    ...
    ValueError: step must be an integer >= 0, got -1
    """

    __slots__ = ()

    def __call__(self, step: int) -> float:
        """Return the learning rate at ``step`` (counted from 0): an integer >= 0 -- a Python or NumPy
        integer, or an integer 0-d tensor (``torch.tensor(3)``); floats and bools are rejected."""
        return self._lr(check_step("step", step))

    def _lr(self, t: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


def set_fields(obj: object, **values: object) -> None:
    """Store normalised field values on a frozen dataclass from its ``__post_init__``."""
    for name, value in values.items():
        object.__setattr__(obj, name, value)


def check_end_lr(end_lr: object, lr0: float, lr0_name: str = "lr0") -> float:
    """``end_lr`` must be a learning rate no larger than the start value ``lr0``."""
    end = check_nonneg("end_lr", end_lr)
    if end > lr0:
        raise ValueError(f"end_lr must be in [0, {lr0_name}] = [0, {lr0!r}], got {end_lr!r}")
    return end


def check_bool(name: str, value: object) -> bool:
    """``value`` must be ``True`` or ``False`` (not 0/1 or another truthy object)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def check_schedule(name: str, value: object) -> object:
    """``value`` must be callable as ``value(step) -> learning rate``."""
    if not callable(value):
        raise ValueError(f"{name} must be a schedule, i.e. a callable step -> learning rate, got {value!r}")
    return value


def cosine_between(high: float, low: float, frac: float) -> float:
    """Half a cosine from ``high`` (``frac = 0``) down to ``low`` (``frac = 1``)."""
    return low + (high - low) * ((1.0 + math.cos(math.pi * frac)) / 2.0)  # no overflow near max float

