"""The loss-spike guard inside ``fit``: skip a spiked batch before ``backward``, roll back if spikes persist.

Internal module: :class:`SpikeMixin` is mixed into :class:`~dsat_tutorial.training.loop.FitLoop`; the
hot path calls :meth:`SpikeMixin._skip_spike` once per finite batch loss when ``fit(spike_guard=...)``
is given (one Python comparison a step; nothing at all without a guard). The guard itself -- the test
and its state -- is :class:`dsat_tutorial.monitor.LossSpikeGuard`.

The remediation ladder (PaLM, section 5.1; OPT's logbook): a spike is *skipped* (no ``backward``, no
optimizer step, no scheduler step, logged as a ``spike`` event and a row of ``History.spikes``); more
than ``max_skips`` spikes in a row *roll back* exactly as a non-finite loss does -- the state at the start
of the epoch, the lr times the policy's factor (0.5 without a policy), which becomes the new last good
state -- and count as one failure towards ``max_retries``; failures beyond that *stop* the run with
:class:`~dsat_tutorial.training.TrainingDiverged`. The guard's average is not rolled back: it describes
the losses seen, not the weights.

What it is not: the spike test (that is ``monitor/spike.py``) or a second rollback policy (the rollback
mirrors ``FitLoop._fail``'s for non-finite steps). References: Chowdhery et al. (2022), PaLM, section 5.1;
metaseq ``Trainer.skip_spike``.
"""

from __future__ import annotations

from ..monitor import LossSpikeGuard

__all__ = ["SpikeMixin", "check_spike_guard"]


def check_spike_guard(guard):
    """``None`` or a :class:`~dsat_tutorial.monitor.LossSpikeGuard`; else ``ValueError``."""
    if guard is not None and not isinstance(guard, LossSpikeGuard):
        raise ValueError(f"spike_guard must be None or a dsat_tutorial.monitor.LossSpikeGuard, got {guard!r}")
    return guard


class SpikeMixin:
    """``fit``'s handling of finite loss spikes (uses ``FitLoop``'s attributes)."""

    spike_guard = None

    def _skip_spike(self, epoch: int, loss_v: float) -> bool:
        """Ask the guard about a finite batch loss; on a spike log it (and roll back if due), return True."""
        guard = self.spike_guard
        ema = guard.ema
        if not guard.check(loss_v):
            return False
        self.history.log_spike(epoch=epoch, step=self.step, loss=loss_v, ema=ema)
        self.history.log_event(
            "spike", epoch=epoch, step=self.step, source="spike_guard", loss=loss_v, ema=ema,
            reason=f"batch loss {loss_v:.6g} > {guard.factor:g} x its moving average {ema:.6g}: batch "
                   f"skipped before backward (spike {guard.skips} in a row, max_skips={guard.max_skips})")
        if guard.rollback_due:
            self._spike_rollback(epoch)
        return True

    def _spike_rollback(self, epoch: int) -> None:
        """The non-finite rollback, caused by persistent spikes: restore, lower the lr, or give up."""
        from .loop import TrainingDiverged  # loop imports this module

        guard = self.spike_guard
        self.failures += 1
        lr = float(self.optimizer.param_groups[0]["lr"])
        what = f"{guard.skips} consecutive loss spikes (max_skips={guard.max_skips})"
        if self.failures > self.max_retries:
            raise TrainingDiverged(epoch, self.step, lr, f"{what}; {self.failures} consecutive failures "
                                   f"(max_retries={self.max_retries})", self.history)
        guard.reset_skips()
        self._roll_back(epoch, "spike_guard", f"{what}: rolled back to the state at the start of epoch {epoch}")
