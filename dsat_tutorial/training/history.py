"""What ``fit`` records: per-epoch records, per-step records and an event log, as plain data.

:class:`History` is the return value of :func:`dsat_tutorial.training.fit`. It holds

* ``epochs`` -- one dict per completed epoch (keys in :data:`EPOCH_KEYS`): train and validation loss,
  metrics, the learning rate of every parameter group (nominal ``lr`` and the ``effective_lr`` the
  optimizer applied, which differ for Prodigy and Schedule-Free; ``None`` after an epoch without a
  successful step), gradient-norm statistics before and after
  clipping, the clip threshold, the health verdict and its reason;
* ``steps`` -- columns of per-step values (keys in :data:`STEP_KEYS`): the batch loss, the learning
  rate of the first parameter group used for that update (nominal and effective), and the global
  gradient norm before clipping;
* ``events`` -- the event log: rollbacks, policy actions, early stops, resumes, each with its reason;
* ``spikes`` -- columns (keys in :data:`SPIKE_KEYS`) of the batches a loss-spike guard skipped: step,
  loss and the moving average it was compared with (absent from ``steps``, like non-finite steps).

Epoch records may carry optional keys that callbacks add with :meth:`History.add_to_epoch`, e.g.
``recurrent_gain`` (:class:`~dsat_tutorial.monitor.RecordRecurrentGain`); ``history[key]`` is ``None``
for records without it, and histories saved before a key existed load unchanged.

Everything is numbers, strings, lists, dicts and ``None``, so :meth:`History.to_dict` is JSON-ready and
the history travels inside a checkpoint that loads with ``torch.load(..., weights_only=True)``.

What it is not: a logger with backends (TensorBoard, W&B). Write ``history.to_json()`` where you like.

References: Keras ``History`` (``history.history[key]`` columns); Python's ``json`` module (which writes
non-finite floats as ``NaN``/``Infinity`` and reads them back).
"""

from __future__ import annotations

import json
from typing import Any, Optional

__all__ = ["History", "EPOCH_KEYS", "STEP_KEYS", "SPIKE_KEYS"]

#: Keys of every per-epoch record. ``epoch`` counts from 1; losses are means weighted by batch size.
EPOCH_KEYS = ("epoch", "train_loss", "val_loss", "train_metrics", "val_metrics", "lr", "effective_lr",
              "grad_norm_mean", "grad_norm_max", "clipped_grad_norm_mean", "clipped_grad_norm_max",
              "clip_threshold", "clipped_fraction", "health", "health_reason", "steps", "skipped_steps",
              "seconds")
#: Per-step columns. ``step`` is the global batch index from 0; skipped (non-finite) steps are absent.
#: ``effective_lr`` (added in 0.2; ``None`` in histories written before) is the step size the optimizer
#: applied: Prodigy's d * lr, Schedule-Free's warmup-scaled lr, the nominal ``lr`` for other optimizers.
STEP_KEYS = ("epoch", "step", "loss", "lr", "effective_lr", "grad_norm")
#: Columns of ``History.spikes``: the batches skipped as loss spikes (``ema``: the average compared with).
SPIKE_KEYS = ("epoch", "step", "loss", "ema")


class History:
    """Per-epoch records, per-step records and the event log of one training run.

    .. math::
        \\bar L_e = \\frac{\\sum_{b \\in e} n_b L_b}{\\sum_{b \\in e} n_b}

    where :math:`L_b` is the loss of batch :math:`b` of epoch :math:`e` and :math:`n_b` its size: the
    ``train_loss`` of a record (skipped, non-finite batches excluded).

    ``history["train_loss"]`` is the per-epoch column (a list, like Keras' ``History.history``);
    ``history.steps["loss"]`` the per-step one; ``history.find("rollback")`` the matching events.

    Reference: Keras ``History`` (``history.history[key]``). Taught in: Part IV, Monitoring and health
    assessment.

    >>> h = History()
    >>> h.log_epoch({"epoch": 1, "train_loss": 0.5, "val_loss": None})
    >>> h.log_event("early_stop", epoch=1, step=9, reason="validation loss stopped improving")
    >>> h["train_loss"], len(h), h.find("early_stop")[0]["reason"]
    ([0.5], 1, 'validation loss stopped improving')
    >>> History.from_dict(h.to_dict()).to_dict() == h.to_dict()
    True
    """

    def __init__(self) -> None:
        self.epochs: list[dict] = []
        self.steps: dict[str, list] = {k: [] for k in STEP_KEYS}
        self.events: list[dict] = []
        self.spikes: dict[str, list] = {k: [] for k in SPIKE_KEYS}

    # -- writing ------------------------------------------------------------------------------------
    def log_epoch(self, record: dict) -> None:
        """Append one per-epoch record (a dict of plain values)."""
        self.epochs.append(dict(record))

    def log_event(self, event: str, *, epoch: int, step: int, reason: str, **details: Any) -> None:
        """Append an event (``rollback``, ``scale_lr``, ``early_stop``, ``resume``, ...) with its reason."""
        self.events.append({"event": event, "epoch": epoch, "step": step, "reason": reason, **details})

    def add_to_epoch(self, **fields: Any) -> None:
        """Add optional fields (plain values) to the last epoch record, e.g. a callback's measurement.

        Raises ``ValueError`` before the first record, or when a field would overwrite a key the record
        already has.
        """
        if not self.epochs:
            raise ValueError("add_to_epoch needs an epoch record to add to (log_epoch first)")
        taken = sorted(set(fields) & set(self.epochs[-1]))
        if taken:
            raise ValueError(f"fields {taken} are already in the record of epoch "
                             f"{self.epochs[-1].get('epoch')}")
        self.epochs[-1].update(fields)

    def log_spike(self, *, epoch: int, step: int, loss: float, ema: float) -> None:
        """Append one skipped loss spike (epoch, step, loss, ema) to the ``spikes`` columns."""
        for key, value in zip(SPIKE_KEYS, (epoch, step, loss, ema)):
            self.spikes[key].append(value)

    # -- reading ------------------------------------------------------------------------------------
    def __getitem__(self, key: str) -> list:
        """The per-epoch column ``key`` (``None`` where a record lacks it)."""
        return [r.get(key) for r in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    def find(self, event: str) -> list[dict]:
        """All events of one kind, in order."""
        return [e for e in self.events if e["event"] == event]

    @property
    def lrs(self) -> list[list[float]]:
        """The learning rate of every group, per epoch."""
        return self["lr"]

    # -- conversion ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A deep copy as plain dicts and lists: ``{"epochs": [...], "steps": {...}, "events": [...],
        "spikes": {...}}``."""
        return json.loads(json.dumps({"epochs": self.epochs, "steps": self.steps, "events": self.events,
                                      "spikes": self.spikes}))

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        """Rebuild a history from :meth:`to_dict`'s output (e.g. from a checkpoint or a JSON file).

        Step columns added since the data was written (``effective_lr``) are filled with ``None``."""
        history = cls()
        history.epochs = [dict(r) for r in data["epochs"]]
        steps, n = data["steps"], len(data["steps"]["loss"])
        history.steps = {k: list(steps[k]) if k in steps else [None] * n for k in STEP_KEYS}  # older data
        history.events = [dict(e) for e in data["events"]]
        spikes = data.get("spikes") or {}  # histories written before the spike guard have none
        history.spikes = {k: list(spikes.get(k, [])) for k in SPIKE_KEYS}
        return history

    def to_json(self, path: Optional[str] = None, **kwargs: Any) -> str:
        """The history as JSON text (non-finite floats appear as ``NaN``/``Infinity``, which Python's
        ``json`` reads back); also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), **kwargs)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    @classmethod
    def from_json(cls, text: str) -> "History":
        """Inverse of :meth:`to_json` (pass the text, not a path)."""
        return cls.from_dict(json.loads(text))

    # -- display ------------------------------------------------------------------------------------
    def plot(self, **kwargs: Any):
        """Loss curves, learning rate and gradient norm on shared epochs; returns the three Axes.

        See :func:`dsat_tutorial.plotting.plot_history` for the panels and the keyword arguments.
        """
        from ..plotting import plot_history

        return plot_history(self, **kwargs)

    def __repr__(self) -> str:
        last = self.epochs[-1] if self.epochs else {}
        tail = ""
        if last:
            tail = f", last train_loss={last.get('train_loss')!r}, val_loss={last.get('val_loss')!r}"
        return (f"History(epochs={len(self.epochs)}, steps={len(self.steps['loss'])}, "
                f"events={len(self.events)}{tail})")
