"""When ``fit`` steps each scheduler, and with which signal: the :class:`Scheduled` declaration.

Internal module; :class:`Scheduled` is re-exported by :mod:`dsat_tutorial.training`, whose docstring
explains the rules. :func:`resolve` turns whatever the user passed in ``schedulers=`` into explicit
declarations, inferring the defaults for bare schedulers. What it is not: a scheduler -- it only
says when and with what ``fit`` calls one.

References: PyTorch "How to adjust learning rate" (``torch.optim`` documentation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from torch.optim.lr_scheduler import CyclicLR, OneCycleLR, ReduceLROnPlateau

from .._validation import check_choice

__all__ = ["Scheduled", "resolve", "INTERVALS", "SIGNALS"]

INTERVALS = ("step", "epoch", "step+epoch")
SIGNALS = (None, "grad_norm", "batch_loss", "batch_loss+grad_norm", "train_loss", "val_loss")
_STEP_SIGNALS = (None, "grad_norm", "batch_loss", "batch_loss+grad_norm")
_EPOCH_SIGNALS = (None, "train_loss", "val_loss")


@dataclass(frozen=True)
class Scheduled:
    """Declare when ``fit`` steps a learning-rate scheduler and which signal it receives.

    .. math::
        \\begin{gathered}
        \\begin{aligned}
        \\eta_{t} &= \\text{scheduler.step}(s_t) \\ \\\\
        &\\quad \\text{before update } t \\ \\text{(step signals)},
        \\end{aligned} \\\\
        \\begin{aligned}
        &\\text{scheduler.step}() \\ \\\\
        &\\quad \\text{after update } t \\ \\text{(no signal)}
        \\end{aligned}
        \\end{gathered}

    where :math:`s_t` is the gradient norm or batch loss of step :math:`t`. In detail:

    * ``interval="step"``, ``signal=None``: ``step()`` after every ``optimizer.step()`` (PyTorch's rule
      for schedules such as ``OneCycleLR``);
    * ``interval="step"``, ``signal="grad_norm"`` or ``"batch_loss"``: ``step(value)`` once per
      optimizer step with the step's global gradient norm (measured before clipping) or batch loss.
      A scheduler that declares ``pre_update = True`` (``GradNormScaledLR``, ``AdaGradNormLR``) is
      stepped after ``backward()`` and clipping but *before* ``optimizer.step()``, so the lr it sets is
      used for that very update (no one-step lag, ERRATA 003-E6); any other one after
      ``optimizer.step()`` (PyTorch's order; its lr then drives the next update);
    * ``interval="epoch"``: ``step()`` or ``step(value)`` once per epoch after validation, with
      ``signal`` ``None``, ``"train_loss"`` (the epoch's mean training loss) or ``"val_loss"``;
    * ``interval="step+epoch"``: ``step()`` after every optimizer step *and* ``step(value)`` once per
      epoch -- the pattern of ``PlateauLR`` with a schedule.

    Args:
        scheduler: any object with ``step`` (and ``state_dict``/``load_state_dict`` to checkpoint).
        interval: ``"step"``, ``"epoch"`` or ``"step+epoch"``.
        signal: ``None``, ``"grad_norm"``, ``"batch_loss"``, ``"batch_loss+grad_norm"`` (step
            intervals), ``"train_loss"`` or ``"val_loss"`` (epoch intervals).

    Reference: PyTorch's "How to adjust learning rate" (``scheduler.step()`` after
    ``optimizer.step()``; ``ReduceLROnPlateau.step(metric)`` once per epoch).
    Taught in: Part IV, The full DS&T loop.

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> s = Scheduled(torch.optim.lr_scheduler.StepLR(opt, step_size=10), interval="step")
    >>> s.interval, s.signal
    ('step', None)
    """

    scheduler: Any
    interval: str = "epoch"
    signal: Optional[str] = None

    def __post_init__(self) -> None:
        check_choice("interval", self.interval, INTERVALS)
        allowed = _STEP_SIGNALS if self.interval == "step" else _EPOCH_SIGNALS
        check_choice(f"signal (with interval={self.interval!r})", self.signal, allowed)
        if not callable(getattr(self.scheduler, "step", None)):
            raise ValueError(f"scheduler must have a step() method, got {self.scheduler!r}")

    @property
    def pre_update(self) -> bool:
        """Stepped between ``backward()`` and ``optimizer.step()``: a step-level signal given to a
        scheduler that declares ``pre_update = True``."""
        return self.interval == "step" and self.signal is not None and bool(getattr(self.scheduler,
                                                                                     "pre_update", False))


def _controller_default(sched: Any, metric: str) -> Optional[Scheduled]:
    """Defaults for the package's controllers (imported lazily: training must not need them)."""
    try:
        from .. import controllers as c
    except ImportError:  # pragma: no cover -- the package ships controllers
        return None
    table = [("GradNormScaledLR", "step", "grad_norm"), ("AdaGradNormLR", "step", "grad_norm"),
             ("ScheduleLR", "step", None), ("LossAdaptiveLR", "epoch", "train_loss"),
             ("BoldDriver", "epoch", "train_loss"), ("PolyakLR", "step", "batch_loss+grad_norm"),
             ("DoGLR", "step", "grad_norm")]
    for name, interval, signal in table:
        cls = getattr(c, name, None)
        if cls is not None and isinstance(sched, cls):
            return Scheduled(sched, interval, signal)
    plateau = getattr(c, "PlateauLR", None)
    if plateau is not None and isinstance(sched, plateau):
        with_schedule = getattr(sched, "schedule", None) is not None
        return Scheduled(sched, "step+epoch" if with_schedule else "epoch", metric)
    return None


def infer(sched: Any, has_val: bool) -> Scheduled:
    """The default declaration of a bare scheduler (see ``dsat_tutorial.training``)."""
    metric = "val_loss" if has_val else "train_loss"
    found = _controller_default(sched, metric)
    if found is not None:
        return found
    if getattr(sched, "pre_update", False):  # any gradient-driven controller built on FeedbackLR
        return Scheduled(sched, "step", "grad_norm")
    if isinstance(sched, ReduceLROnPlateau):
        return Scheduled(sched, "epoch", metric)
    if isinstance(sched, (OneCycleLR, CyclicLR)):
        return Scheduled(sched, "step")
    return Scheduled(sched, "epoch")


def resolve(schedulers: Any, has_val: bool) -> list[Scheduled]:
    """Explicit declarations for ``fit(schedulers=...)`` (one scheduler or a sequence)."""
    if isinstance(schedulers, Scheduled) or callable(getattr(schedulers, "step", None)):
        schedulers = [schedulers]
    resolved = [s if isinstance(s, Scheduled) else infer(s, has_val) for s in schedulers]
    for s in resolved:
        if s.signal == "val_loss" and not has_val:
            raise ValueError(f"{type(s.scheduler).__name__} is declared with signal='val_loss' but fit() has "
                             f"no val_loader; pass one or declare signal='train_loss'")
    return resolved
