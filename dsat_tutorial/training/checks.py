"""Checks ``fit`` makes before training: optimizers it can drive, and one lr writer per optimizer.

Internal module (no public API), called by :func:`dsat_tutorial.training.fit`:

* :func:`check_optimizer` -- ``fit`` takes one gradient per batch and calls ``optimizer.step()``; an
  optimizer whose ``step`` *requires* a closure (``torch.optim.LBFGS`` re-evaluates the loss several
  times per step) cannot be driven that way, so it is refused with a ``ValueError`` that says what to do,
  instead of the raw ``TypeError`` from inside the loop.
* :func:`check_lr_writers` -- two schedulers that each *set* the lr of the same optimizer in closed form
  (the package's controllers, or torch's ``LambdaLR``, ``OneCycleLR``, ``CyclicLR``,
  ``CosineAnnealingWarmRestarts``) silently fight: whichever steps last wins. That pair is refused,
  naming both and the composition that does what was meant. Torch's *chainable* schedulers (``StepLR``,
  ``ExponentialLR``, ``LinearLR``, ``ReduceLROnPlateau``, ...) multiply the current lr, so several of
  them together are PyTorch's documented chaining and stay allowed.

What it is not: argument validation of ``fit`` itself (done in ``fit``). References: PyTorch
``torch.optim.LBFGS`` (``step(closure)``); "How to adjust learning rate" (chaining schedulers).
"""

from __future__ import annotations

import inspect

from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts, CyclicLR, LambdaLR, OneCycleLR

__all__ = ["check_optimizer", "check_lr_writers", "writes_lr_in_closed_form"]

_TORCH_CLOSED_FORM = (LambdaLR, OneCycleLR, CyclicLR, CosineAnnealingWarmRestarts)


def check_optimizer(optimizer) -> None:
    """``ValueError`` if ``optimizer.step`` needs a closure (LBFGS), which ``fit`` does not pass."""
    try:
        closure = inspect.signature(type(optimizer).step).parameters.get("closure")
    except (TypeError, ValueError):  # a builtin or otherwise unintrospectable step: let it run
        return
    if closure is not None and closure.default is inspect.Parameter.empty:
        raise ValueError(f"optimizer {type(optimizer).__name__} needs optimizer.step(closure) (it re-evaluates "
                         "the loss within one step); fit() calls optimizer.step() once per batch. Use a "
                         "first-order optimizer (SGD, Adam, ...) with fit, or write the loop with "
                         "optimizer.step(closure) by hand")


def writes_lr_in_closed_form(sched) -> bool:
    """True for schedulers that overwrite the lr from their own state rather than scaling the current one."""
    from ..controllers.base import FeedbackLR  # lazy: training must import without the controllers
    from ..controllers.time import ScheduleLR
    return isinstance(sched, (FeedbackLR, ScheduleLR) + _TORCH_CLOSED_FORM)


def check_lr_writers(schedulers) -> None:
    """``ValueError`` naming two schedulers on one optimizer when either overwrites the lr in closed form."""
    by_optimizer: dict[int, list] = {}
    for sched in schedulers:
        opt = getattr(sched, "optimizer", None)
        if opt is not None:
            by_optimizer.setdefault(id(opt), []).append(sched)
    for group in by_optimizer.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if a is b or writes_lr_in_closed_form(a) or writes_lr_in_closed_form(b):
                    names = f"{type(a).__name__} and {type(b).__name__}"
                    raise ValueError(
                        f"schedulers: {names} both set the lr of the same optimizer, so whichever steps "
                        f"last would silently win. Compose them into one scheduler instead: a schedule "
                        f"under plateau cuts is PlateauLR(optimizer, schedule=...), a schedule under the "
                        f"gradient-norm rule is GradNormScaledLR(optimizer, alpha, schedule=...), a "
                        f"loss-driven rate on a schedule is LossAdaptiveLR(optimizer, schedule=...); two "
                        f"schedules in a row are one ScheduleLR(optimizer, Join([...], boundaries=[...]))")
