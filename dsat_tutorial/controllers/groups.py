"""Parameter groups as the controllers see them: ratios to a reference group, lr-0 groups, groups added later.

Internal module (no public API). What every controller needs to know about ``optimizer.param_groups``
and none of their rules:

* :func:`group_ratios` -- with one schedule for all groups, each group keeps its ratio to the
  *reference group*, the first group whose initial lr is > 0; a group at lr 0 (a frozen backbone) has
  ratio 0 and stays at 0;
* :func:`sync_groups` -- ``optimizer.add_param_group(...)`` after the scheduler was built: the new group's
  ``initial_lr`` is set from its lr when the controller first sees it and ``base_lrs`` grows, as
  PyTorch's ``ReduceLROnPlateau`` handles it (pytorch issue #104361); each controller then extends its
  own per-group state through a callback;
* :func:`new_group_ratio` -- a group added while one schedule drives the others keeps the ratio of its lr
  to the reference group's lr *at that moment*.

What it is not: a scheduler. References: PyTorch ``LRScheduler.__init__`` (``initial_lr``, ``base_lrs``)
and ``ReduceLROnPlateau._reduce_lr`` (groups added after construction).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from torch import Tensor

from .._validation import check_nonneg, check_range

__all__ = ["per_group", "check_lr_bounds", "initial_lrs", "group_ratios", "reference_group", "new_group_ratio", "sync_groups"]


def initial_lrs(optimizer) -> list[float]:
    """Each group's ``initial_lr`` (recorded by an earlier scheduler), else its current ``lr``."""
    return [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]


def group_ratios(optimizer) -> list[float]:
    """Ratio of each group's initial lr to the reference group's (the first one with initial lr > 0).

    Groups at lr 0 get ratio 0 (they stay at 0 under any schedule). Raises ``ValueError`` when every
    group is at lr 0: a single schedule then has nothing to scale.

    >>> import torch
    >>> w = [torch.zeros(1, requires_grad=True) for _ in range(3)]
    >>> opt = torch.optim.SGD([{"params": [w[0]], "lr": 0.0}, {"params": [w[1]], "lr": 0.1},
    ...                        {"params": [w[2]], "lr": 0.05}])
    >>> group_ratios(opt)
    [0.0, 1.0, 0.5]
    """
    initial = initial_lrs(optimizer)
    ref = next((lr for lr in initial if lr > 0.0), None)
    if ref is None:
        raise ValueError("a schedule needs at least one param group with lr > 0 (the other groups keep "
                         f"their ratio to the first such group), got lrs {initial}")
    return [lr / ref for lr in initial]


def reference_group(ratios: list[float]) -> int:
    """Index of the reference group: the first group with a non-zero ratio (its ratio is 1)."""
    return next(i for i, r in enumerate(ratios) if r > 0.0)


def new_group_ratio(optimizer, ratios: list[float], lr: float) -> float:
    """The ratio a group added with lr ``lr`` keeps: ``lr`` over the reference group's lr *now*.

    When the reference group's lr is 0 at that moment (e.g. a schedule that reached 0), its initial lr
    is used instead, since no ratio to 0 exists.
    """
    ref = reference_group(ratios)
    group = optimizer.param_groups[ref]
    now = float(group["lr"])
    return lr / now if now > 0.0 else lr / float(group.get("initial_lr", now) or 1.0)


def sync_groups(sched, add: Callable[[int, float], None]) -> None:
    """Adopt the groups added to ``sched.optimizer`` since ``sched`` last looked (no-op otherwise).

    For each new group: ``initial_lr`` is set from its lr (unless present), ``sched.base_lrs`` grows by
    it, and ``add(index, lr)`` extends the controller's own per-group state.
    """
    groups = sched.optimizer.param_groups
    for i in range(len(sched.base_lrs), len(groups)):
        group = groups[i]
        lr = group["lr"]
        if "initial_lr" not in group:
            group["initial_lr"] = lr.clone() if isinstance(lr, Tensor) else lr
        sched.base_lrs.append(float(group["initial_lr"]))
        add(i, float(lr))


def per_group(name: str, value: Any, n_groups: int, check: Callable[[str, Any], float]) -> list[float]:
    """A scalar applied to every group, or a list/tuple with one checked value per group."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_groups:
            raise ValueError(f"{name} must be a number or a list with one entry per param group "
                             f"({n_groups}), got {len(value)} entries")
        return [check(f"{name}[{i}]", v) for i, v in enumerate(value)]
    return [check(name, value)] * n_groups


def check_lr_bounds(optimizer, min_lr, max_lr) -> tuple[list[float], list[float], list[float]]:
    """Per-group ``min_lr`` (>= 0), ``max_lr`` (in (0, inf]) and initial lrs (> 0, within the bounds)."""
    n = len(optimizer.param_groups)
    lows = per_group("min_lr", min_lr, n, check_nonneg)
    highs = per_group("max_lr", max_lr, n, lambda name, v: check_range(name, v, 0.0, math.inf,
                                                                        low_closed=False))
    lrs = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
    for i, (lo, lr, hi) in enumerate(zip(lows, lrs, highs)):
        if lo > hi:
            raise ValueError(f"min_lr must be <= max_lr, got {lo!r} > {hi!r} for param group {i}")
        if not (lr > 0.0 and lo <= lr <= hi):
            raise ValueError(f"the lr of param group {i} must be > 0 and in [min_lr, max_lr] = "
                             f"[{lo!r}, {hi!r}], got {lr!r}")
    return lows, highs, lrs


def bound_for_new_groups(value: Any, default: float) -> float:
    """The bound a group added later gets: the scalar given, or ``default`` if bounds were per group."""
    return default if isinstance(value, (list, tuple)) else float(value)
