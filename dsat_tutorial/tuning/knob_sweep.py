r"""How sensitive is a training method to its one remaining knob? A seeded grid × seeds sweep.

What it is: :func:`run_knob`, one short training run of a small GRU on :func:`~dsat_tutorial.data.delayed_sum`
with one of six methods -- Adam at a constant lr, Adam with cosine decay, DoG (with and without its
polynomial-decay iterate average), Prodigy and Schedule-Free AdamW -- and a value of that method's single
knob; :data:`GRIDS`, the 7-point log grid of each knob; :func:`flatness`, how much the final loss varies
across a grid. Used by ``benchmarks/lr_free_grid.py`` (the full sweep, too slow for a notebook) and
Part III's learning-rate-free chapter, which reads its JSON. What it is not: a general benchmark harness
(one task, one model size, few steps) nor a tuner (:mod:`.search` and Optuna do that).

References: Ivgi, Hinder & Carmon (2023), "DoG is SGD's best friend", ICML; Mishchenko & Defazio (2024),
"Prodigy", ICML; Defazio et al. (2024), "The road less scheduled", NeurIPS; Kingma & Ba (2015), "Adam".
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import check_int, check_positive

__all__ = ["GRIDS", "METHODS", "flatness", "run_knob"]

#: The methods and, for each, the knob the grid varies.
METHODS = {"adam": "lr", "adam_cosine": "lr", "dog": "reps_rel", "prodigy": "d0", "schedulefree": "lr"}

_LR_GRID = tuple(float(10.0 ** e) for e in np.arange(-4.0, -0.9, 0.5))      # 1e-4 ... 1e-1
_EPS_GRID = tuple(float(10.0 ** e) for e in range(-8, -1))                   # 1e-8 ... 1e-2
#: 7-point log grids: half-decades of lr for Adam and Schedule-Free, decades of r_eps / d0.
GRIDS = {"adam": _LR_GRID, "adam_cosine": _LR_GRID, "schedulefree": _LR_GRID,
         "dog": _EPS_GRID, "prodigy": _EPS_GRID}


def _val_loss(model, loader) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            total += float(torch.nn.functional.mse_loss(model(x), y)) * len(x)
            count += len(x)
    return total / count


def run_knob(method: str, knob: float, seed: int, *, epochs: int = 20, n: int = 256, seq_len: int = 10,
             hidden: int = 8, batch_size: int = 32) -> dict:
    r"""Train ``SequenceRegressor(1, hidden, cell="gru", return_sequences=True)`` on
    ``delayed_sum(n, seq_len)`` (75/25 split, seed 0 for the data; ``seed`` for the weights) and return the
    final validation MSE.

    .. math::

        \begin{gathered}
        \text{adam: } \eta_t = \kappa, \\
        \text{adam\_cosine: } \\
        \eta_t = \tfrac{\kappa}{2}\big(1 + \cos(\pi t / T)\big), \\
        \text{dog: } \eta_t = \frac{\bar r_t}{\sqrt{\sum_{i\le t}\|g_i\|^2}}, \\
        \bar r_t = \max(r_\epsilon, \max_{i\le t}\|x_i - x_0\|), \\
        r_\epsilon = \kappa\,(1 + \|x_0\|)
        \end{gathered}

    where :math:`\kappa` is ``knob`` and :math:`T` the number of steps. ``prodigy``: ``Prodigy(lr=1,
    d0=knob)``; ``schedulefree``: ``AdamWScheduleFree(lr=knob)`` (validated in eval mode by ``fit``).

    Args:
        method: a key of ``METHODS``.
        knob: the knob's value, > 0.
        seed: weight initialisation seed (>= 0).
        epochs, n, seq_len, hidden, batch_size: the size of the run (each >= 1).

    Returns:
        ``{"val_loss": float}``; for ``"dog"`` also ``"val_loss_avg"``, the loss of the polynomial-decay
        average (gamma 8) of the iterates. A diverged run (non-finite) reports ``inf``.

    Reference: see the module. Taught in: Part III, Learning-rate-free methods.

    >>> r = run_knob("adam", 1e-2, seed=0, epochs=2, n=64)
    >>> sorted(r), r["val_loss"] < 0.6
    (['val_loss'], True)
    """
    import prodigyopt
    import schedulefree
    from torch.optim.swa_utils import AveragedModel

    from ..controllers import DoGLR, ScheduleLR, polynomial_decay_avg_fn
    from ..data import delayed_sum, make_loaders
    from ..models import SequenceRegressor
    from ..schedules import CosineDecay
    from ..training import AverageParameters, TrainingDiverged, fit

    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    knob = check_positive("knob", knob)
    seed = check_int("seed", seed, minimum=0)
    epochs, n, seq_len = check_int("epochs", epochs), check_int("n", n), check_int("seq_len", seq_len)
    hidden, batch_size = check_int("hidden", hidden), check_int("batch_size", batch_size)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        task = delayed_sum(n, seq_len, seed=0)
        train, val = make_loaders(task.X, task.y, batch_size=batch_size, val_fraction=0.25, seed=0)
        torch.manual_seed(seed)
        model = SequenceRegressor(1, hidden, cell="gru", return_sequences=True)
        schedulers, callbacks, eval_model = [], [], None
        params = model.parameters()
        if method == "adam":
            opt = torch.optim.Adam(params, lr=knob)
        elif method == "adam_cosine":
            opt = torch.optim.Adam(params, lr=knob)
            schedulers = [ScheduleLR(opt, CosineDecay(knob, total_steps=epochs * len(train)))]
        elif method == "dog":
            opt = torch.optim.SGD(params, lr=1.0)
            schedulers = [DoGLR(opt, reps_rel=knob)]
            eval_model = AveragedModel(model, multi_avg_fn=polynomial_decay_avg_fn(gamma=8.0))
            callbacks = [AverageParameters(eval_model)]
        elif method == "prodigy":
            opt = prodigyopt.Prodigy(params, lr=1.0, d0=knob)
        else:
            opt = schedulefree.AdamWScheduleFree(params, lr=knob)
        try:
            hist = fit(model, train, val, loss_fn=torch.nn.functional.mse_loss, optimizer=opt, epochs=epochs,
                       schedulers=schedulers, callbacks=callbacks, eval_model=eval_model, progress=False,
                       max_retries=0)
        except TrainingDiverged:
            return {"val_loss": math.inf, **({"val_loss_avg": math.inf} if method == "dog" else {})}
        out = {"val_loss": _val_loss(model, val) if method == "dog" else float(hist["val_loss"][-1])}
        if method == "dog":
            out["val_loss_avg"] = float(hist["val_loss"][-1])
        return {k: (v if math.isfinite(v) else math.inf) for k, v in out.items()}
    finally:
        torch.set_num_threads(threads)


def flatness(losses) -> float:
    r"""How flat a grid is: the ratio of the worst to the best final loss across it.

    .. math:: F = \frac{\max_k L_k}{\min_k L_k} \ge 1

    (1: perfectly flat; ``inf`` if a point diverged). ``losses`` are the grid's final losses (> 0).

    Taught in: Part III, Learning-rate-free methods.

    >>> flatness([0.02, 0.01, 0.04])
    4.0
    """
    arr = np.asarray(losses, dtype=float)
    if arr.ndim != 1 or arr.size < 1 or np.any(arr <= 0) or np.any(np.isnan(arr)):
        raise ValueError(f"losses must be a non-empty 1-d sequence of values > 0, got {losses!r}")
    return float(arr.max() / arr.min())
