"""Training-health monitor: turns the per-epoch losses into one verdict with a reason.

Source 000's second phase, "评估健康状况" (assess the model's health), names overfitting and
underfitting but defines them with invented metrics ("ODM", an "Underfitting Metric") that have no
formulas, and proposes cross-validation, which selects models rather than watching one train
(ERRATA 000-E16). This
module replaces them with rules on the learning curves: the train loss :math:`L^{tr}_e`, the validation
loss :math:`L^{va}_e`, their generalisation gap :math:`G_e = L^{va}_e - L^{tr}_e`, the epochs since
each last *improved*, and an optional baseline (the loss of a trivial predictor).

What it is not: the monitor only *diagnoses*. It changes no learning rate and stops nothing; the DS&T
policy (``dsat_tutorial.policy``) maps its verdict to an action. It is not a statistical test either:
``patience`` and ``min_delta`` are the knobs that keep noise from flipping the verdict.

References:
    L. Prechelt, "Early stopping -- but when?", in *Neural Networks: Tricks of the Trade*, 1998.
    I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning*, 2016, sections 5.2 and 7.8.
    PyTorch ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (the relative ``threshold`` test).
"""

from __future__ import annotations

import enum
import math

from .._validation import check_int, check_nonneg, check_positive, check_range

__all__ = ["Health", "HealthMonitor"]


class Health(enum.Enum):
    """The five verdicts of :class:`HealthMonitor` (its docstring gives the rules and their order).

    The values are strings so that a verdict can be stored as plain data.

    Reference: Prechelt (1998), "Early stopping -- but when?"; Goodfellow et al. (2016), sections 5.2
    (under- and overfitting) and 7.8 (early stopping). Taught in: Part IV, Monitoring and health
    assessment.

    >>> Health("plateau") is Health.PLATEAU
    True
    """

    HEALTHY = "healthy"
    UNDERFITTING = "underfitting"
    OVERFITTING = "overfitting"
    PLATEAU = "plateau"
    DIVERGING = "diverging"


def _improves(loss: float, best: float, min_delta: float) -> bool:
    # relative test on |best| so that it also works when the losses are negative
    if not math.isfinite(loss):
        return False
    return best == math.inf or loss < best - min_delta * abs(best)


def _ago(epochs: int) -> str:
    return "this epoch" if epochs == 0 else f"{epochs} epoch{'s' if epochs > 1 else ''} ago"


class HealthMonitor:
    """Classify each epoch as healthy, underfitting, overfitting, on a plateau or diverging.

    A loss *improves* when it falls below the best so far by a relative margin,

    .. math::
        \\begin{gathered}
        L_e < L^{*} - \\delta\\,\\lvert L^{*} \\rvert, \\\\
        G_e = L^{va}_e - L^{tr}_e,
        \\end{gathered}

    where :math:`L^{*}` is the best (lowest) loss before epoch :math:`e`, :math:`\\delta` is
    ``min_delta`` and :math:`G_e` the generalisation gap (:attr:`gap`). The first finite loss always
    improves. ``b_tr`` and ``b_va`` count the epochs since the train / validation loss last improved
    (0 in an epoch that improves), so "has not improved for ``patience`` epochs" means
    ``b >= patience``. Epochs without a validation loss do not advance ``b_va``. Rules, first match wins:

    1. ``DIVERGING``: :math:`L^{tr}_e` or :math:`L^{va}_e` is NaN or inf (the reason names which), or :math:`L^{tr}_e - L^{tr*} > (\\kappa - 1)
       \\lvert L^{tr*} \\rvert` with :math:`\\kappa` = ``divergence_factor`` -- that is
       :math:`L^{tr}_e > \\kappa L^{tr*}` for a positive best, written so it also holds for negative ones.
    2. ``OVERFITTING``: a validation loss is tracked, ``b_va >= patience`` and ``b_tr < patience``.
    3. ``UNDERFITTING``: ``baseline`` is given, ``e >= patience`` and even the best train loss is above
       ``underfit_ratio * baseline`` (the best, not the latest, so one noisy epoch cannot flip it).
    4. ``PLATEAU``: ``b_tr >= patience`` and, if a validation loss is tracked, ``b_va >= patience``.
    5. ``HEALTHY`` otherwise.

    Counting with ``patience=3`` and no validation loss (this is the doctest below):

    =====  ==========  ==============  ======  ==========
    epoch  train loss  improves?       b_tr    verdict
    =====  ==========  ==============  ======  ==========
    1      1.00        yes (first)     0       HEALTHY
    2      0.80        yes             0       HEALTHY
    3      0.81        no              1       HEALTHY
    4      0.80        no              2       HEALTHY
    5      0.80        no              3       PLATEAU
    6      0.70        yes             0       HEALTHY
    =====  ==========  ==============  ======  ==========

    (Epoch 4 does not improve: 0.80 is not below 0.8 - 0.001 * 0.8 = 0.7992.) So a single bad epoch
    changes no verdict; ``PLATEAU`` (or ``OVERFITTING``) needs ``patience`` epochs in a row without
    improvement, and one lucky epoch that beats the best by more than
    ``min_delta`` resets the count -- raise ``min_delta`` above the noise level to prevent that.

    Args:
        patience: epochs without improvement before a verdict, an int >= 1.
        min_delta: relative improvement margin :math:`\\delta \\ge 0`.
        divergence_factor: :math:`\\kappa > 1`; ``inf`` disables the ratio test (NaN/inf still diverge).
        baseline: loss of a trivial predictor (e.g. the variance of the targets for MSE), > 0, or None.
        underfit_ratio: in (0, 1]; underfitting while the best train loss > ratio * baseline.

    Reference: Prechelt (1998); Goodfellow et al. (2016), section 7.8. Corrects ERRATA 000-E16 (the
    undefined "ODM" and "Underfitting Metric"). Taught in: Part IV, Monitoring and health assessment.

    >>> monitor = HealthMonitor(patience=3)
    >>> [monitor.update(x).name for x in [1.0, 0.8, 0.81, 0.8, 0.8, 0.7]]
    ['HEALTHY', 'HEALTHY', 'HEALTHY', 'HEALTHY', 'PLATEAU', 'HEALTHY']
    >>> m = HealthMonitor(patience=2)
    >>> [m.update(t, v).name for t, v in [(1.0, 1.1), (0.8, 1.0), (0.6, 1.05), (0.4, 1.2)]]
    ['HEALTHY', 'HEALTHY', 'HEALTHY', 'OVERFITTING']
    >>> print(m.reason)
    epoch 4: the validation loss has not improved for 2 epochs (best 1) while the train loss
    improved this epoch (best 0.4); gap 0.8
    """

    def __init__(self, patience: int = 5, min_delta: float = 1e-3, divergence_factor: float = 10.0,
                 baseline: float | None = None, underfit_ratio: float = 0.9):
        self.patience = check_int("patience", patience, minimum=1)
        self.min_delta = check_nonneg("min_delta", min_delta)
        self.divergence_factor = check_range("divergence_factor", divergence_factor, 1.0, math.inf,
                                             low_closed=False)
        self.baseline = None if baseline is None else check_positive("baseline", baseline)
        self.underfit_ratio = check_range("underfit_ratio", underfit_ratio, 0.0, 1.0, low_closed=False)
        self.epoch = 0
        self.best_train = math.inf
        self.best_val = math.inf
        self.train_bad_epochs = 0
        self.val_bad_epochs = 0
        self.tracks_val = False
        self.last_train = math.nan
        self.last_val = math.nan
        self.state = Health.HEALTHY
        self.reason = "no epoch seen yet"

    @property
    def gap(self) -> float:
        """Generalisation gap :math:`G_e = L^{va}_e - L^{tr}_e` of the last epoch (NaN without validation)."""
        return self.last_val - self.last_train

    def update(self, train_loss: float, val_loss: float | None = None) -> Health:
        """Record one epoch's mean train loss (and validation loss, if any); return the verdict."""
        train = float(train_loss)
        val = None if val_loss is None else float(val_loss)
        self.epoch += 1
        diverging = self._diverges(train) or (val is not None and not math.isfinite(val))  # vs best before
        self._track(train, val)
        if diverging:
            self.state, why = Health.DIVERGING, self._divergence_reason(train, val)
        else:
            self.state, why = self._assess()
        self.reason = f"epoch {self.epoch}: {why}"
        return self.state

    # ------------------------------------------------------------------ phases of update()

    def _diverges(self, train: float) -> bool:
        if not math.isfinite(train):
            return True
        if self.best_train == math.inf:
            return False
        return train - self.best_train > (self.divergence_factor - 1.0) * abs(self.best_train)

    def _track(self, train: float, val: float | None) -> None:
        if _improves(train, self.best_train, self.min_delta):
            self.best_train, self.train_bad_epochs = train, 0
        else:
            self.train_bad_epochs += 1
        self.last_train, self.last_val = train, math.nan if val is None else val
        if val is None:
            return
        self.tracks_val = True
        if _improves(val, self.best_val, self.min_delta):
            self.best_val, self.val_bad_epochs = val, 0
        else:
            self.val_bad_epochs += 1

    def _divergence_reason(self, train: float, val: float | None) -> str:
        if not math.isfinite(train):
            return f"the train loss is {train}"
        if val is not None and not math.isfinite(val):
            return f"the validation loss is {val} (train loss {train:.4g})"
        return (f"the train loss {train:.4g} exceeds the best train loss {self.best_train:.4g} by more "
                f"than (divergence_factor - 1) = {self.divergence_factor - 1:.4g} times its magnitude")

    def _assess(self) -> tuple[Health, str]:
        p, b_tr, b_va = self.patience, self.train_bad_epochs, self.val_bad_epochs
        if self.tracks_val and b_va >= p and b_tr < p:
            return Health.OVERFITTING, (
                f"the validation loss has not improved for {b_va} epochs (best {self.best_val:.4g}) while "
                f"the train loss improved {_ago(b_tr)} (best {self.best_train:.4g}); gap {self.gap:.4g}")
        if self.baseline is not None and self.epoch >= p and \
                self.best_train > self.underfit_ratio * self.baseline:
            return Health.UNDERFITTING, (
                f"after {self.epoch} epochs the best train loss {self.best_train:.4g} is still above "
                f"{self.underfit_ratio:g} x baseline {self.baseline:.4g}")
        if b_tr >= p and (not self.tracks_val or b_va >= p):
            val = f" and the validation loss for {b_va} (best {self.best_val:.4g})" if self.tracks_val else ""
            return Health.PLATEAU, (
                f"the train loss has not improved for {b_tr} epochs (best {self.best_train:.4g}){val}; "
                f"patience {p}")
        val = f", validation loss {_ago(b_va)} (best {self.best_val:.4g})" if self.tracks_val else ""
        return Health.HEALTHY, (f"train loss improved {_ago(b_tr)} (best {self.best_train:.4g}){val}; "
                                f"patience {p}")

    # ------------------------------------------------------------------ persistence

    _SETTINGS = ("patience", "min_delta", "divergence_factor", "baseline", "underfit_ratio")
    _COUNTERS = ("epoch", "best_train", "best_val", "train_bad_epochs", "val_bad_epochs", "tracks_val",
                 "last_train", "last_val", "reason")

    def state_dict(self) -> dict:
        """Plain data (loads with ``torch.load(..., weights_only=True)``): settings, bests, counters."""
        state = {k: getattr(self, k) for k in self._SETTINGS + self._COUNTERS}
        state["state"] = self.state.value
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`; later updates give the same verdicts as the original."""
        restored = HealthMonitor(**{k: state[k] for k in self._SETTINGS})  # validates the settings
        for k in self._COUNTERS:
            setattr(restored, k, state[k])
        restored.state = Health(state["state"])
        self.__dict__.update(restored.__dict__)

    def __repr__(self) -> str:
        return (f"HealthMonitor(patience={self.patience}, min_delta={self.min_delta:g}, "
                f"divergence_factor={self.divergence_factor:g}, baseline={self.baseline}, "
                f"underfit_ratio={self.underfit_ratio:g}; epoch={self.epoch}, state={self.state.name})")
