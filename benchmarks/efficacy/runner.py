"""One run of Part V's sweep: (method, task, knob, seed) -> a JSON-ready record.

Each run is seeded (weights from ``seed``, batch order from a generator seeded with ``seed``) and runs on
one thread, so it is deterministic: the same key gives the same record in any process, in any order.
What it is not: an aggregate (``dsat_tutorial.tuning.evidence`` turns records into the book's numbers).
"""

from __future__ import annotations

import math
import time

import torch

from .methods import METHODS
from .tasks import TASKS

_WORKLOADS: dict = {}


def workload(name: str):
    if name not in _WORKLOADS:
        _WORKLOADS[name] = TASKS[name]()
    return _WORKLOADS[name]


def _evaluate(model, w) -> float:
    loss_fn = w.loss_fn()
    model.eval()
    with torch.no_grad():
        value = float(loss_fn(model(w.X_val), w.y_val))
    return value if math.isfinite(value) else math.inf


def train(method: str, task: str, knob_index: int, seed: int):
    """Train one configuration; return ``(outcome, model, optimizer, extra, seconds, cpu_seconds)``, where
    ``outcome`` is ``fit``'s History, or the ``TrainingDiverged`` it raised (its ``history`` holds what was
    recorded up to the failure) -- for :func:`run`, and for Part V ch. 2, which reads a run's events."""
    from dsat_tutorial.training import TrainingDiverged, fit
    from dsat_tutorial.utils import seed_everything

    torch.set_num_threads(1)
    row, w = METHODS[method], workload(task)
    seed_everything(seed)
    model = w.make_model()
    optimizer, extra = row["build"](model, row["grid"][knob_index], w)
    extra = dict(extra)
    max_retries = extra.pop("max_retries", 0)
    train_loader, val_loader = w.loaders(seed)
    start, cpu = time.perf_counter(), time.process_time()
    try:
        outcome = fit(model, train_loader, val_loader, loss_fn=w.loss_fn(), optimizer=optimizer,
                      epochs=w.epochs, progress=False, max_retries=max_retries, **extra)
    except TrainingDiverged as exc:
        outcome = exc
    return outcome, model, optimizer, extra, time.perf_counter() - start, time.process_time() - cpu


def run(method: str, task: str, knob_index: int, seed: int) -> dict:
    """Train one configuration and return its record (see the keys below)."""
    w = workload(task)
    outcome, model, optimizer, extra, seconds, cpu_seconds = train(method, task, knob_index, seed)
    failed = isinstance(outcome, Exception)
    history = outcome.history if failed else outcome   # a failure keeps what was recorded until then
    val = [float(v) if math.isfinite(v) else math.inf for v in history["val_loss"]]
    steps = len(history.steps["loss"])
    if failed:
        final = math.inf
    else:
        if hasattr(optimizer, "eval") and callable(optimizer.eval):
            optimizer.eval()                            # Schedule-Free: evaluate the averaged point
        final = _evaluate(extra.get("eval_model", model), w)
    finite_val = [v for v in val if math.isfinite(v)]
    return {
        "method": method, "task": task, "knob_index": knob_index, "knob": METHODS[method]["grid"][knob_index],
        "seed": seed,
        "val_loss": val,                                 # per completed epoch (what the loop saw)
        "final_val_loss": final,                         # the returned model (best weights if restored)
        "best_val_loss": min(finite_val + [final]),
        "epochs_run": len(val), "steps_taken": steps, "steps_per_epoch": w.steps_per_epoch,
        "error": type(outcome).__name__ if failed else None, "error_detail": str(outcome) if failed else None,
        "events": sorted({e["event"] for e in history.events}),
        "lr_per_epoch": [float(e["lr"][0]) for e in history.epochs],
        "seconds": seconds, "cpu_seconds": cpu_seconds,
        "seconds_per_step": seconds / steps if steps else math.nan,
    }


def key(record_or_tuple) -> tuple:
    r = record_or_tuple
    if isinstance(r, dict):
        return (r["method"], r["task"], r["knob_index"], r["seed"])
    return tuple(r)
