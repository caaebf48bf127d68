"""Loss-spike guard: flag a *finite* batch loss far above its recent average, so the batch can be skipped.

A non-finite loss is easy to catch (``math.isfinite``); a finite spike is not, and one bad update can
throw a run off for hundreds of steps. Large language-model runs handle spikes by skipping the offending
batches and, if the spikes persist, restarting from an earlier state with a lower learning rate
(PaLM, section 5.1; the OPT-175B logbook). metaseq skips a batch whose loss exceeds a multiple of the
exponentially weighted average of the previous losses, and Lightning's ``SpikeDetection`` compares each
loss with a running mean. :class:`LossSpikeGuard` is that test, with its state kept explicitly (plain
data) so a checkpointed run resumes bit for bit.

What it is not: a non-finite-loss check (``fit`` rolls those back on its own, and a by-hand loop tests
``math.isfinite`` first), nor an actor -- the guard only says "skip" and "roll back now"; ``fit``
(``spike_guard=``) or your own loop does the skipping and the rollback.

References:
    A. Chowdhery et al., "PaLM: Scaling language modeling with pathways", 2022, section 5.1
    (training instability: restart ~100 steps before the spike, skip 200-500 batches).
    S. Zhang et al., "OPT: Open pre-trained transformer language models", 2022, and its logbook
    (loss spikes handled by restarting from a checkpoint with a lower learning rate).
    metaseq ``Trainer.skip_spike`` (the loss-to-EWA ratio, ``--ewm-ratio-to-skip-batch``).
    Lightning Fabric ``lightning.fabric.utilities.spike.SpikeDetection``.
"""

from __future__ import annotations

import math
import numbers

from .._validation import check_int, check_range

__all__ = ["LossSpikeGuard"]


class LossSpikeGuard:
    """Skip a batch whose loss exceeds ``factor`` times the moving average of the accepted losses.

    .. math::
        \\begin{gathered}
        \\bar L_n = \\frac{(1-\\beta)\\sum_{i=1}^{n} \\beta^{\\,n-i} L_i}{1-\\beta^{n}}, \\\\
        \\begin{aligned}
        \\text{spike}(L) \\iff{} &n \\ge w \\;\\wedge\\; \\bar L_n > 0 \\\\
        &\\wedge\\; L > c\\,\\bar L_n
        \\end{aligned}
        \\end{gathered}

    where :math:`L_1, \\dots, L_n` are the *accepted* losses (finite and not spikes) in order,
    :math:`\\bar L_n` their bias-corrected exponential moving average (Adam's correction: it is the
    weighted mean of the losses so far, with no pull towards 0 early on), :math:`\\beta` = ``beta``,
    :math:`w` = ``warmup_steps`` and :math:`c` = ``factor``. A spike does *not* enter the average (as in
    metaseq), so a run of spikes cannot raise the bar it is measured against. After more than ``max_skips``
    consecutive spikes :attr:`rollback_due` is true: skipping alone has not helped, and the caller rolls
    back to its last good state with a lower learning rate, then calls :meth:`reset_skips`.

    The ratio test assumes a positive loss (cross-entropy, MSE); while :math:`\\bar L_n \\le 0` nothing is
    flagged. A non-finite loss is not a spike: :meth:`check` returns ``False`` and leaves the state alone
    (handle it first). Settings can be changed between runs; :meth:`load_state_dict` restores them too.

    **In fit**: ``fit(..., spike_guard=LossSpikeGuard(...))`` checks each finite batch loss before
    ``backward``; a spike is skipped and logged (a ``spike`` event and a row of ``history.spikes``);
    more than ``max_skips`` in a row take the non-finite rollback path (last good state, lr times the
    policy's factor, at most ``max_retries`` times); the guard's state is checkpointed.

    **By hand**::

        loss = loss_fn(model(x), y)
        if not math.isfinite(loss.item()):
            ...                         # your non-finite handling
        elif guard.check(loss):         # a spike: no backward, no step
            if guard.rollback_due:      # more than max_skips in a row
                ...                     # restore the last good state, lower the lr
                guard.reset_skips()
        else:
            loss.backward(); optimizer.step()

    Args:
        factor: spike threshold :math:`c` on the ratio loss / average, > 1 (metaseq's
            ``ewm_ratio_to_skip_batch``; Lightning's default ``rtol=2`` is :math:`c = 3`).
        beta: decay :math:`\\beta` of the moving average, in [0, 1) (0.9 averages about the last
            10 accepted losses; metaseq's span 9 is :math:`\\beta = 0.8`).
        warmup_steps: accepted losses needed before anything is flagged, >= 1 (the first losses fall
            fast; comparing them with a 3-step average would skip good batches).
        max_skips: consecutive spikes tolerated before :attr:`rollback_due`, >= 0.

    Reference: Chowdhery et al. (2022), PaLM, section 5.1; Zhang et al. (2022), OPT, and its logbook;
    metaseq's loss-to-EWA ratio; Lightning's ``SpikeDetection``. Taught in: Part IV, Spikes, NaNs and
    rollback.

    >>> guard = LossSpikeGuard(factor=3.0, beta=0.5, warmup_steps=3, max_skips=1)
    >>> [guard.check(x) for x in (9.0, 1.0, 1.0)]  # warmup: nothing is flagged, 9.0 is averaged in
    [False, False, False]
    >>> guard.ema  # (0.125*9 + 0.25*1 + 0.5*1) / (1 - 0.5**3)
    2.142857142857143
    >>> guard.check(7.0), guard.check(6.5), guard.rollback_due  # 7 > 3 x 2.14: two spikes in a row
    (True, True, True)
    >>> guard.reset_skips(); guard.check(2.0), guard.rollback_due, guard.total_skips
    (False, False, 2)
    """

    _SETTINGS = ("factor", "beta", "warmup_steps", "max_skips")
    _COUNTERS = ("mean", "count", "skips", "total_skips")

    def __init__(self, factor: float = 3.0, beta: float = 0.9, warmup_steps: int = 10,
                 max_skips: int = 3) -> None:
        self.factor = check_range("factor", factor, 1.0, math.inf, low_closed=False, high_closed=False)
        self.beta = check_range("beta", beta, 0.0, 1.0, high_closed=False)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, minimum=1)
        self.max_skips = check_int("max_skips", max_skips, minimum=0)
        self.mean = 0.0        # the uncorrected average (1 - beta) * sum beta^(n-i) L_i
        self.count = 0         # accepted losses n
        self.skips = 0         # consecutive spikes
        self.total_skips = 0   # all spikes flagged so far

    @property
    def ema(self) -> float:
        """The bias-corrected moving average :math:`\\bar L_n` (``nan`` before the first accepted loss)."""
        if self.count == 0:
            return math.nan
        return self.mean / (1.0 - self.beta ** self.count)

    @property
    def rollback_due(self) -> bool:
        """More than ``max_skips`` consecutive spikes: roll back, then call :meth:`reset_skips`."""
        return self.skips > self.max_skips

    def check(self, loss) -> bool:
        """``True`` if ``loss`` is a spike (skip the batch); otherwise average it in and return ``False``.

        ``loss`` is a number or a one-element tensor (read with ``float``). A non-finite loss returns
        ``False`` and changes nothing.
        """
        value = _as_float(loss)
        if not math.isfinite(value):
            return False
        ema = self.ema
        if self.count >= self.warmup_steps and ema > 0 and value > self.factor * ema:
            self.skips += 1
            self.total_skips += 1
            return True
        self.mean = self.beta * self.mean + (1.0 - self.beta) * value
        self.count += 1
        self.skips = 0
        return False

    def reset_skips(self) -> None:
        """Forget the current run of spikes (after a rollback); the average and the totals stay."""
        self.skips = 0

    def state_dict(self) -> dict:
        """Plain data (loads with ``torch.load(..., weights_only=True)``): settings and counters."""
        return {k: getattr(self, k) for k in self._SETTINGS + self._COUNTERS}

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`; later checks decide exactly as the original's would."""
        restored = LossSpikeGuard(**{k: state[k] for k in self._SETTINGS})  # validates the settings
        restored.mean = float(state["mean"])
        for k in ("count", "skips", "total_skips"):
            setattr(restored, k, check_int(f"state[{k!r}]", state[k], minimum=0))
        self.__dict__.update(restored.__dict__)

    def __repr__(self) -> str:
        return (f"LossSpikeGuard(factor={self.factor:g}, beta={self.beta:g}, "
                f"warmup_steps={self.warmup_steps}, max_skips={self.max_skips}; ema={self.ema:.6g}, "
                f"count={self.count}, skips={self.skips}, total_skips={self.total_skips})")


def _as_float(loss) -> float:
    if isinstance(loss, (bool, str)) or not (isinstance(loss, numbers.Real) or hasattr(loss, "item")):
        raise ValueError(f"loss must be a real number or a one-element tensor, got {loss!r}")
    return float(loss.item() if hasattr(loss, "item") and not isinstance(loss, numbers.Real) else loss)
