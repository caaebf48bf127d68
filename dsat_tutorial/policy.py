"""The DS&T policy: map each training-health verdict to actions, and scale learning rates safely.

Source 000 describes dynamic scheduling and tuning as "monitor -> assess -> adjust -> update", but its
"adjust" step is a sentence ("performs badly -> lower the learning rate, performs well -> raise it",
ERRATA 000-E10) and its code is an open-loop step decay that never reads a metric (000-E9). This module
is the missing *adjust* step, made explicit and testable:

* :class:`DSTPolicy` -- a small, stateful table from :class:`~dsat_tutorial.monitor.Health` to a list of
  :class:`Action` objects (lower/raise the lr, tighten the clip threshold, roll back, stop, restore the
  best weights), each carrying the sentence that explains it;
* :func:`scale_learning_rate` -- multiply the learning rate *through* the schedulers in play, so that a
  closed-form schedule does not overwrite the change on its next step.

A policy only *decides*: ``fit`` (:mod:`dsat_tutorial.training`) executes the actions and writes each one
into the history's event log. Any callable ``policy(health, context) -> list[Action]`` is a policy.

What it is not: a hyperparameter search (the policy changes one run while it trains), and not a cure for
vanishing gradients (a global learning rate cannot restore them, 000-E12).

References:
    R. Battiti, "Accelerated backpropagation learning: two optimization methods", Complex Systems 3,
    1989 (bold driver). L. Prechelt, "Early stopping -- but when?", 1998. PyTorch
    ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (factor, floor ``min_lr``, ``cooldown``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

from torch.optim.lr_scheduler import (ChainedScheduler, CosineAnnealingLR, CosineAnnealingWarmRestarts,
                                      CyclicLR, OneCycleLR, SequentialLR)

from ._validation import check_choice, check_int, check_nonneg, check_positive, check_range
from .monitor import Health

__all__ = ["Action", "PolicyContext", "DSTPolicy", "scale_learning_rate"]

ACTION_KINDS = ("scale_lr", "tighten_clip", "rollback", "stop", "restore_best")


@dataclass(frozen=True)
class Action:
    """One thing the training loop should do now, and why.

    ``kind`` is one of ``"scale_lr"`` (multiply every learning rate by ``factor`` through
    :func:`scale_learning_rate`), ``"tighten_clip"`` (multiply the clip threshold by ``factor`` in
    (0, 1]), ``"rollback"`` (restore the last good state: model, optimizer, schedulers, clipper),
    ``"stop"`` (end training after this epoch) and ``"restore_best"`` (load the weights of the best
    epoch). ``reason`` is the sentence written into the event log. Reference: the actions of source 000's
    "adjust" phase (ERRATA 000-E10, 000-E11) and Prechelt (1998) for ``stop``/``restore_best``.
    Taught in: Part IV, The full DS&T loop.

    >>> Action("scale_lr", "plateau", 0.5)
    Action(kind='scale_lr', reason='plateau', factor=0.5)
    """

    kind: str
    reason: str
    factor: Optional[float] = None

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, ACTION_KINDS)
        if self.kind == "scale_lr":
            check_positive("factor", self.factor)
        elif self.kind == "tighten_clip":
            check_range("factor", self.factor, 0.0, 1.0, low_closed=False)


@dataclass(frozen=True)
class PolicyContext:
    """What a policy may look at when it decides (read-only; built by ``fit`` once per epoch).

    ``epoch`` counts completed epochs (1 after the first), ``reason`` is the monitor's sentence, ``lrs``
    the current learning rate of every parameter group, ``initial_lrs`` their starting values (a group's
    ``initial_lr`` when a scheduler recorded one, else its lr when ``fit`` started), ``clip_threshold``
    the current clip threshold (``None`` without clipping). Reference: the "assess" output of source
    000's loop (ERRATA 000-E16). Taught in: Part IV, The full DS&T loop.

    >>> PolicyContext(epoch=3, reason="no improvement", lrs=(0.05,), initial_lrs=(0.1,)).lrs
    (0.05,)
    """

    epoch: int
    reason: str
    lrs: tuple
    initial_lrs: tuple
    clip_threshold: Optional[float] = None
    train_loss: float = math.nan
    val_loss: Optional[float] = None


# The signature every policy has: policy(health, context) -> list of Action.
Policy = Callable[[Health, PolicyContext], Sequence[Action]]


class DSTPolicy:
    """The default DS&T policy: one row of actions per health verdict.

    ================  ====================================================================================
    verdict           actions (in this order)
    ================  ====================================================================================
    ``HEALTHY``       none
    ``PLATEAU``       ``scale_lr`` by :math:`f` (not below ``min_lr``); then ``cooldown`` epochs of rest
    ``UNDERFITTING``  while some lr is below its start: ``scale_lr`` by :math:`\\min(r, \\eta_0/\\eta)`
                      (never above the start); then ``cooldown`` epochs of rest
    ``OVERFITTING``   ``restore_best`` (if ``restore_best``), ``stop``
    ``DIVERGING``     ``rollback``, ``scale_lr`` by :math:`f` (not below ``min_lr``), ``tighten_clip`` by
                      ``clip_factor`` (when a clip is in play); also ignores the cooldown and restarts it
    ================  ====================================================================================

    .. math::
        \\begin{gathered}
        \\eta \\leftarrow \\max(f\\,\\eta,\\ \\eta_{min}) \\ \\text{(lower)}, \\\\
        \\eta \\leftarrow \\min(r\\,\\eta,\\ \\eta_0) \\ \\text{(raise)}, \\\\
        c \\leftarrow \\kappa\\, c \\ \\text{(tighten)}
        \\end{gathered}

    where :math:`\\eta` is the largest current group lr (lower) or each group's lr (raise; the factor is
    the smallest that keeps every group at or below its start :math:`\\eta_0`), :math:`f` = ``factor``,
    :math:`\\eta_{min}` = ``min_lr``, :math:`r` = ``raise_factor``, :math:`c` the clip threshold and
    :math:`\\kappa` = ``clip_factor``. A factor is applied to all groups at once, so their ratios stay.
    An lr change is skipped (and nothing logged) during the cooldown or when the lr is already at its
    bound. ``fit`` also uses ``factor`` to lower the lr after a non-finite step.

    Args:
        factor: :math:`f \\in (0, 1)`, the lowering factor (default 0.5).
        min_lr: :math:`\\eta_{min} \\ge 0`, the floor of a lowering (default 1e-6).
        cooldown: epochs (>= 0) without a PLATEAU/UNDERFITTING lr change after one (default 5, the
            monitor's default patience, so it can observe the effect first).
        raise_factor: :math:`r > 1` (default 2.0).
        clip_factor: :math:`\\kappa \\in (0, 1]` (default 0.5).
        restore_best: on OVERFITTING, restore the best weights before stopping (default True).

    Reference: Battiti (1989), Prechelt (1998), PyTorch ``ReduceLROnPlateau``. Corrects ERRATA 000-E10
    (when to raise or lower is defined by a verdict, not by "performs well") and 000-E11 (the
    "explosion/vanishing factor" is the clip threshold, tightened on divergence, never raised).
    Taught in: Part IV, The full DS&T loop.

    >>> policy = DSTPolicy(factor=0.5, cooldown=1)
    >>> ctx = PolicyContext(epoch=7, reason="no improvement for 5 epochs", lrs=(0.1,), initial_lrs=(0.1,))
    >>> [(a.kind, a.factor) for a in policy(Health.PLATEAU, ctx)]
    [('scale_lr', 0.5)]
    >>> policy(Health.PLATEAU, ctx)  # cooling down
    []
    >>> [a.kind for a in policy(Health.OVERFITTING, ctx)]
    ['restore_best', 'stop']
    """

    def __init__(self, factor: float = 0.5, min_lr: float = 1e-6, cooldown: int = 5,
                 raise_factor: float = 2.0, clip_factor: float = 0.5, restore_best: bool = True):
        self.factor = check_range("factor", factor, 0.0, 1.0, low_closed=False, high_closed=False)
        self.min_lr = check_nonneg("min_lr", min_lr)
        self.cooldown = check_int("cooldown", cooldown, minimum=0)
        self.raise_factor = check_range("raise_factor", raise_factor, 1.0, math.inf, low_closed=False)
        self.clip_factor = check_range("clip_factor", clip_factor, 0.0, 1.0, low_closed=False)
        if not isinstance(restore_best, bool):
            raise ValueError(f"restore_best must be True or False, got {restore_best!r}")
        self.restore_best = restore_best
        self.cooldown_counter = 0

    def __call__(self, health: Health, context: PolicyContext) -> list[Action]:
        """The actions for this epoch's verdict (see the table above)."""
        resting = self.cooldown_counter > 0
        if resting:
            self.cooldown_counter -= 1
        why = f"{health.name}: {context.reason}"
        if health is Health.DIVERGING:
            actions = [Action("rollback", f"{why}; roll back to the last good state")]
            actions += self._lower(context, why)
            if context.clip_threshold is not None:
                actions.append(Action("tighten_clip", f"{why}; tighten the clip threshold "
                                      f"x{self.clip_factor:g}", self.clip_factor))
            self.cooldown_counter = self.cooldown
            return actions
        if health is Health.OVERFITTING:
            actions = [Action("stop", f"{why}; stop early")]
            if self.restore_best:
                actions.insert(0, Action("restore_best", f"{why}; restore the best weights"))
            return actions
        if resting or health not in (Health.PLATEAU, Health.UNDERFITTING):
            return []
        actions = self._lower(context, why) if health is Health.PLATEAU else self._raise(context, why)
        if actions:
            self.cooldown_counter = self.cooldown
        return actions

    def _lower(self, context: PolicyContext, why: str) -> list[Action]:
        top = max((float(lr) for lr in context.lrs), default=0.0)
        if top <= self.min_lr:
            return []
        f = max(self.factor, self.min_lr / top)
        return [Action("scale_lr", f"{why}; lower the learning rate x{f:.4g} (floor {self.min_lr:g})", f)]

    def _raise(self, context: PolicyContext, why: str) -> list[Action]:
        room = [float(l0) / float(lr) for lr, l0 in zip(context.lrs, context.initial_lrs) if float(lr) > 0]
        f = min([self.raise_factor] + room)
        if not room or f <= 1.0:
            return []
        return [Action("scale_lr", f"{why}; lr below its start: raise it x{f:.4g} (bounded by the start)", f)]

    def state_dict(self) -> dict:
        """Plain data: the settings and the cooldown counter."""
        return {k: getattr(self, k) for k in ("factor", "min_lr", "cooldown", "raise_factor", "clip_factor",
                                                 "restore_best", "cooldown_counter")}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`'s values."""
        restored = DSTPolicy(*(state[k] for k in ("factor", "min_lr", "cooldown", "raise_factor",
                                                  "clip_factor", "restore_best")))
        restored.cooldown_counter = check_int("cooldown_counter", state["cooldown_counter"], minimum=0)
        self.__dict__.update(restored.__dict__)

    def __repr__(self) -> str:
        return (f"DSTPolicy(factor={self.factor:g}, min_lr={self.min_lr:g}, cooldown={self.cooldown}, "
                f"raise_factor={self.raise_factor:g}, clip_factor={self.clip_factor:g}, "
                f"restore_best={self.restore_best})")


def scale_learning_rate(optimizer, schedulers: Iterable = (), factor: float = 1.0) -> list[float]:
    """Multiply the learning rate by ``factor`` so that every scheduler in play keeps the change.

    .. math::
        \\eta_t \\leftarrow \\phi\\,\\eta_t \\quad \\text{for every later step } t

    where :math:`\\phi` is ``factor`` and :math:`\\eta_t` what the schedulers would otherwise produce.
    Setting ``group["lr"]`` alone is not enough: a closed-form scheduler recomputes the lr from its
    ``base_lrs`` on its next step and silently undoes the change. So, for each scheduler (a
    ``Scheduled`` wrapper is unwrapped):

    * one with a ``scale_lr(factor)`` method (the package's controllers) scales its own persistent
      scale and rewrites the groups' lr itself;
    * a torch built-in has every lr-valued setting it computes from multiplied: ``base_lrs`` (closed
      forms such as ``LambdaLR``), ``eta_min`` (cosine), ``max_lrs`` (``CyclicLR``), the groups'
      ``initial_lr``/``max_lr``/``min_lr`` (``OneCycleLR``), and the children of ``SequentialLR`` and
      ``ChainedScheduler``; chainable ones (``StepLR``, ``ExponentialLR``, ``ReduceLROnPlateau``, ...)
      continue from the groups' lr, which is scaled. ``ReduceLROnPlateau``'s ``min_lr`` is a floor and is
      left alone.

    The groups' lr is multiplied directly unless a ``scale_lr`` scheduler already rewrote it.

    Args:
        optimizer: the optimizer whose param groups are scaled.
        schedulers: the schedulers/controllers attached to it (possibly ``Scheduled`` wrappers).
        factor: :math:`\\phi > 0` (< 1 lowers, > 1 raises).

    Returns:
        The new learning rate of every group.

    Reference: PyTorch ``torch.optim.lr_scheduler`` (closed forms recompute the lr from ``base_lrs``;
    chainable ones multiply the group's lr). Taught in: Part IV, Adjusting the learning rate.

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1 + t))
    >>> [round(x, 6) for x in scale_learning_rate(opt, [sched], 0.5)]
    [0.05]
    >>> opt.step(); sched.step(); round(opt.param_groups[0]["lr"], 6)  # 0.1 * 0.5 / 2, not 0.1 / 2
    0.025
    """
    factor = check_positive("factor", factor)
    rewritten = False
    for sched in schedulers:
        sched = getattr(sched, "scheduler", sched)  # unwrap Scheduled
        if hasattr(sched, "scale_lr"):
            sched.scale_lr(factor)
            rewritten = True
        else:
            _scale_builtin(sched, factor)
    if not rewritten:
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * factor
    for sched in schedulers:
        sched = getattr(sched, "scheduler", sched)
        if not hasattr(sched, "scale_lr") and hasattr(sched, "_last_lr"):
            sched._last_lr = [g["lr"] for g in sched.optimizer.param_groups]
    return [float(g["lr"]) for g in optimizer.param_groups]


def _scale_builtin(sched, factor: float) -> None:
    """Scale the lr-valued settings a torch scheduler computes its lrs from (not the groups' lr)."""
    if isinstance(sched, (SequentialLR, ChainedScheduler)):
        for child in sched._schedulers:
            _scale_builtin(child, factor)
    if hasattr(sched, "base_lrs"):
        sched.base_lrs = [b * factor for b in sched.base_lrs]
    if isinstance(sched, (CosineAnnealingLR, CosineAnnealingWarmRestarts)):
        sched.eta_min = sched.eta_min * factor
    if isinstance(sched, CyclicLR):
        sched.max_lrs = [m * factor for m in sched.max_lrs]
    if isinstance(sched, OneCycleLR):
        for group in sched.optimizer.param_groups:
            for key in ("initial_lr", "max_lr", "min_lr"):
                group[key] = group[key] * factor
