r"""Whole learning curves, read after the run: the generalisation gap, the trend over the last epochs,
and an after-the-fact label of the run that does not use :class:`~dsat_tutorial.monitor.HealthMonitor`.

The monitor judges a run *while* it trains, epoch by epoch, from the best losses so far and patience
counters. To measure how often it is right, the book needs labels computed another way: from the
*finished* curves, by a rule fixed before any verdict is looked at. :func:`label_run` is that rule. It
reads the final losses against the baseline (the loss of the best constant predictor) and the change
over the last ``window`` epochs -- endpoints, not running bests -- so it is a second opinion, not the
monitor re-implemented.

What it is not: ground truth. "Overfitting" and "plateau" have no single definition; this is one
explicit, stated choice (thresholds in the arguments), and the book reports where the monitor disagrees
with it and why.

References: Goodfellow, Bengio & Courville (2016), *Deep Learning*, sections 5.2 (under- and
overfitting: training error too high; gap between training and test error too large) and 7.8
(validation curves); Prechelt (1998), "Early stopping -- but when?" (the generalisation loss
:math:`GL(t)`, validation loss relative to its minimum). Corrects ERRATA 000-E16.
"""

from __future__ import annotations

import math
from typing import Sequence

from .._validation import check_int, check_positive, check_range
from .health import Health

__all__ = ["generalisation_gap", "relative_change", "label_run"]


def _floats(name: str, values: Sequence[float]) -> list[float]:
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if not out:
        raise ValueError(f"{name} must hold at least one epoch's loss, got an empty sequence")
    return out


def generalisation_gap(train_losses: Sequence[float], val_losses: Sequence[float]) -> list[float]:
    r"""The generalisation gap of every epoch, :math:`G_e = L^{va}_e - L^{tr}_e`.

    Args:
        train_losses, val_losses: per-epoch mean losses of equal length (e.g. ``history["train_loss"]``
            and ``history["val_loss"]``).

    Returns:
        the list :math:`[G_1, \dots, G_E]`.

    Note the train loss of an epoch is the mean over its batches *while the weights change* (and with
    dropout on), the validation loss is measured once at the end: early in training :math:`G_e` is often
    negative for that reason alone.

    Reference: Goodfellow et al. (2016), section 5.2. Corrects: 000-E16 (the source's undefined "ODM").
    Taught in: Part IV, What to monitor.

    >>> generalisation_gap([1.0, 0.5, 0.25], [1.0, 0.75, 0.75])
    [0.0, 0.25, 0.5]
    """
    train, val = _floats("train_losses", train_losses), _floats("val_losses", val_losses)
    if len(train) != len(val):
        raise ValueError(f"train_losses and val_losses must have one value per epoch each, got "
                         f"{len(train)} and {len(val)}")
    return [v - t for t, v in zip(train, val)]


def relative_change(losses: Sequence[float], window: int) -> float:
    r"""Relative improvement of the last loss over the loss ``window`` epochs before it.

    .. math::
        \Delta_k = \frac{L_{E-k} - L_E}{\lvert L_{E-k} \rvert}

    where :math:`E` is the last epoch and :math:`k` is ``window``: positive while the loss falls,
    negative when it rose. Needs :math:`E > k`; NaN if either value is not finite.

    Args:
        losses: per-epoch losses. window: :math:`k \ge 1`.

    Reference: Goodfellow et al. (2016), section 7.8 (reading the trend of a learning curve).
    Taught in: Part IV, Assessing health.

    >>> relative_change([4.0, 2.0, 1.0], window=2)
    0.75
    """
    values = _floats("losses", losses)
    k = check_int("window", window)
    if len(values) <= k:
        raise ValueError(f"window must be smaller than the number of epochs ({len(values)}), got {k}")
    before, last = values[-1 - k], values[-1]
    if not (math.isfinite(before) and math.isfinite(last)) or before == 0:
        return math.nan
    return (before - last) / abs(before)


def label_run(train_losses: Sequence[float], val_losses: Sequence[float], baseline: float, *,
              window: int = 3, underfit: float = 0.5, rise: float = 0.1, flat: float = 0.01,
              blowup: float = 10.0) -> Health:
    r"""Label a finished run from its curves: the rule the book measures the health monitor against.

    With :math:`L^{tr}_e, L^{va}_e` the per-epoch losses, :math:`E` the last epoch, :math:`b` the
    baseline, :math:`\Delta^{tr}, \Delta^{va}` the changes over the last :math:`k` epochs
    (:func:`relative_change`) and :math:`G_E` the final gap, the first rule that holds gives the label:

    1. ``DIVERGING``: :math:`L^{tr}_E` is not finite, or :math:`L^{tr}_E > b` and
       (:math:`L^{tr}_E > 2 \min_e L^{tr}_e` or :math:`L^{tr}_E > \beta b`) -- it ended worse than the
       constant predictor *and* far above its own best or the baseline;
    2. ``OVERFITTING``: :math:`L^{va}_E > (1 + r) \min_e L^{va}_e`, :math:`\Delta^{tr} > 0` and
       :math:`G_E > 0` -- validation ended well above its best while the train loss still fell;
    3. ``UNDERFITTING``: :math:`L^{tr}_E > u\,b` -- it removed less than a fraction :math:`1 - u` of
       the baseline loss;
    4. ``PLATEAU``: :math:`\Delta^{tr} < f` and :math:`\Delta^{va} < f` -- neither loss improved by
       :math:`f` over the last :math:`k` epochs;
    5. ``HEALTHY`` otherwise.

    Args:
        train_losses, val_losses: per-epoch losses, equal length, more than ``window`` epochs.
        baseline: :math:`b > 0`, the loss of the best constant predictor on the training targets.
        window: :math:`k \ge 1`. underfit: :math:`u \in (0, 1]`. rise: :math:`r > 0` (Prechelt's
            generalisation loss :math:`GL = 100\,r` percent). flat: :math:`f > 0`. blowup: :math:`\beta > 1`.

    Returns:
        a :class:`~dsat_tutorial.monitor.Health`.

    Reference: Goodfellow et al. (2016), sections 5.2 and 7.8; Prechelt (1998) (:math:`GL`).
    Corrects: 000-E16. Taught in: Part IV, Assessing health.

    >>> label_run([2.0, 1.0, 0.6, 0.4, 0.3], [2.0, 1.1, 0.8, 0.7, 0.65], baseline=2.0).name
    'HEALTHY'
    >>> label_run([2.0, 1.0, 0.5, 0.3, 0.2], [2.0, 1.0, 0.9, 1.0, 1.1], baseline=2.0).name
    'OVERFITTING'
    >>> label_run([2.0, 1.9, 1.9, 1.9, 1.9], [2.0, 1.9, 1.9, 1.9, 1.9], baseline=2.0).name
    'UNDERFITTING'
    """
    train, val = _floats("train_losses", train_losses), _floats("val_losses", val_losses)
    generalisation_gap(train, val)  # checks equal lengths
    b = check_positive("baseline", baseline)
    k = check_int("window", window)
    if len(train) <= k:
        raise ValueError(f"window must be smaller than the number of epochs ({len(train)}), got {k}")
    u = check_range("underfit", underfit, 0.0, 1.0, low_closed=False)
    r, f = check_positive("rise", rise), check_positive("flat", flat)
    beta = check_range("blowup", blowup, 1.0, math.inf, low_closed=False)
    last_tr, last_va = train[-1], val[-1]
    finite_tr = [x for x in train if math.isfinite(x)]
    finite_va = [x for x in val if math.isfinite(x)]
    # 1) diverging
    if not math.isfinite(last_tr) or (last_tr > b and (last_tr > 2 * min(finite_tr) or last_tr > beta * b)):
        return Health.DIVERGING
    d_tr, d_va = relative_change(train, k), relative_change(val, k)
    # 2) overfitting: Prechelt's GL above r, train still falling, validation above train
    if finite_va and math.isfinite(last_va) and last_va > (1 + r) * min(finite_va) and d_tr > 0 \
            and last_va - last_tr > 0:
        return Health.OVERFITTING
    # 3) underfitting
    if last_tr > u * b:
        return Health.UNDERFITTING
    # 4) plateau (a NaN change counts as "not improving")
    if not d_tr >= f and not d_va >= f:
        return Health.PLATEAU
    return Health.HEALTHY
