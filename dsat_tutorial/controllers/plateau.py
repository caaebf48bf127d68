r"""Metric-driven control: :class:`PlateauLR` cuts the lr when a metric stops improving.

What it is: ``ReduceLROnPlateau``'s decision rule (identical golden sequences without a schedule) that
also composes with a schedule -- so warm-up and cosine keep running under the plateau scale.
What it is not: a schedule (its decisions depend on the metric) or early stopping (:mod:`dsat_tutorial.policy`).

References: PyTorch ``ReduceLROnPlateau`` (and its issues #68978, #110761: no warm-up); Optax
``contrib/_reduce_on_plateau.py``.
"""

from __future__ import annotations

from .._validation import check_nonneg, check_range
from .base import FeedbackLR, PlateauRule, per_group
from .groups import bound_for_new_groups

__all__ = ["PlateauLR"]

class PlateauLR(PlateauRule, FeedbackLR):
    r"""Reduce the lr when a metric stops improving -- alone or on top of a schedule (with warm-up).

    .. math::

        \begin{gathered}
        \begin{aligned}
        \eta_{t,i} = \max\big(&s_i(t)\, c, \\
        &\min(s_i(t), \eta_{\min,i})\big),
        \end{aligned} \\
        c \leftarrow \max(c\,\gamma,\ c_{\min}) \\
        \text{on each plateau decision}
        \end{gathered}

    where :math:`s_i(t)` is ``schedule(t)`` times group :math:`i`'s ratio, :math:`t` the number of
    ``step()`` calls without a metric, :math:`c` the plateau ``scale`` (starts at 1), :math:`\gamma`
    ``factor`` and :math:`c_{\min}` ``min_scale``; ``min_lr`` bounds only what the reductions take away
    (a warm-up may start lower). A *plateau decision* is ReduceLROnPlateau's: a metric is better if it
    beats ``best`` by ``threshold`` (``rel``: ``best * (1 -/+ threshold)``, ``abs``: ``best -/+
    threshold``), more than ``patience`` worse metrics in a row trigger a decision, after which
    ``cooldown`` metrics are ignored; a decision smaller than ``eps`` is skipped. **Without a schedule**
    each group follows ReduceLROnPlateau exactly: :math:`\eta_i \leftarrow \max(\gamma \eta_i,
    \eta_{\min,i}, c_{\min} \eta_{0,i})` when that lowers it by more than ``eps``.

    Args:
        optimizer: the wrapped optimizer.
        schedule: optional callable ``step -> lr`` (e.g. ``Warmup(CosineDecay(...))``).
        mode: ``"min"`` or ``"max"``. factor: in (0, 1). patience, cooldown: integers >= 0.
        threshold: >= 0. threshold_mode: ``"rel"`` or ``"abs"``. min_lr: >= 0, scalar or one per group.
        eps: >= 0. min_scale: floor of the scale, in [0, 1].

    A group added with ``optimizer.add_param_group`` is reduced like the others from its lr when first
    seen (as ``ReduceLROnPlateau`` does), with the scalar ``min_lr`` (0 if ``min_lr`` was per group).

    Call pattern: ``step()`` after every ``optimizer.step()`` (advances the schedule; harmless
    without one) and ``step(metric)`` once per epoch (a decision, never a tick). Reference: PyTorch
    ``ReduceLROnPlateau`` (which cannot be combined with warm-up: pytorch issues #68978, #110761);
    Optax ``contrib.reduce_on_plateau``. Corrects: 000-E10 (lower the lr on a plateau, a
    well-defined trigger). Taught in: Part IV, Adjusting the learning rate (plateau reduction)

    >>> import torch
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> sched = PlateauLR(opt, factor=0.5, patience=1)
    >>> for metric in (1.0, 1.0, 1.0):
    ...     opt.step(); sched.step(metric)
    >>> round(sched.get_last_lr()[0], 6), sched.num_reductions
    (0.05, 1)
    """

    def __init__(self, optimizer, schedule=None, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0.0,
                 eps: float = 1e-8, min_scale: float = 0.0) -> None:
        self._init_rule(mode, patience, threshold, threshold_mode, cooldown)
        self.factor = check_range("factor", factor, 0.0, 1.0, low_closed=False, high_closed=False)
        self.min_lrs = per_group("min_lr", min_lr, len(optimizer.param_groups), check_nonneg)
        self._new_min_lr = bound_for_new_groups(min_lr, 0.0)  # min_lr of a group added later
        self.eps = check_nonneg("eps", eps)
        self.min_scale = check_range("min_scale", min_scale, 0.0, 1.0)
        self.num_reductions = 0     # plateau decisions so far
        self.scale = 1.0
        self.plateau_lrs = (None if schedule is not None else
                            [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups])
        super().__init__(optimizer, schedule)

    def _add_group(self, index: int, lr: float) -> None:
        """A group added later: reduced like the others (ReduceLROnPlateau), from its lr when first seen."""
        self.min_lrs.append(self._new_min_lr)
        if self.plateau_lrs is not None:
            self.plateau_lrs.append(lr)

    def _observe(self, metric: float) -> None:
        if self._plateau(metric):
            self._reduce()

    def _reduce(self) -> None:
        self.num_reductions += 1
        new_scale = max(self.scale * self.factor, self.min_scale)
        if self.scale - new_scale > self.eps:
            self.scale = new_scale
        if self.plateau_lrs is not None:  # ReduceLROnPlateau's per-group rule
            new = [max(old * self.factor, lo, self.min_scale * float(b))
                   for old, lo, b in zip(self.plateau_lrs, self.min_lrs, self.base_lrs)]
            self.plateau_lrs = [n if old - n > self.eps else old for old, n in zip(self.plateau_lrs, new)]

    def _lr(self) -> list[float]:
        """Without a schedule the per-group plateau lrs; with one, ``schedule(t) * scale`` (see above)."""
        if self.plateau_lrs is not None:
            return list(self.plateau_lrs)
        return [max(s * self.scale, min(s, lo)) for s, lo in zip(self.base(self.t), self.min_lrs)]
