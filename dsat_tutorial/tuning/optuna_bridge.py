r"""The Optuna bridge: a ``fit`` callback that feeds Optuna's pruners, and the book's search spaces as
``trial.suggest_*`` calls.

What it is: two thin adapters so that a search written with this package's pieces runs on Optuna
(studies in a shared database, many workers, its samplers and pruners). :class:`OptunaPruning` reports
one number per epoch to the trial and raises ``optuna.TrialPruned`` when the study's pruner says so --
or at once, without asking the pruner, when the number is not finite or the health monitor's verdict
is ``DIVERGING``. :func:`suggest` turns ``{name: LogUniform | Uniform | IntUniform | Choice}`` into the
matching ``trial.suggest_float`` / ``suggest_int`` / ``suggest_categorical`` calls.

What it is not: a sampler, a pruner or a storage -- those are Optuna's, unchanged. Optuna is imported
lazily, so ``dsat_tutorial`` imports (and everything else in it works) without Optuna installed.

References:
    T. Akiba, S. Sano, T. Yanase, T. Ohta and M. Koyama, "Optuna: a next-generation hyperparameter
    optimization framework", KDD 2019.
    Optuna's integration callbacks (e.g. ``optuna_integration.PyTorchLightningPruningCallback``), whose
    report-then-``should_prune`` pattern this follows.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from .space import Choice, IntUniform, LogUniform, Uniform

__all__ = ["OptunaPruning", "suggest"]

_CATEGORICAL_TYPES = (type(None), bool, int, float, str)


def _optuna():
    """Import Optuna on first use, with a message that says what to install."""
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - optuna is in requirements.txt
        raise ImportError("the Optuna bridge needs optuna: pip install optuna") from exc
    return optuna


def suggest(trial: Any, space: Mapping[str, Any]) -> dict:
    r"""Draw one configuration from ``space`` through ``trial.suggest_*`` (the book's spaces on Optuna).

    =========================  ===================================================
    distribution               Optuna call
    =========================  ===================================================
    ``LogUniform(a, b)``       ``trial.suggest_float(name, a, b, log=True)``
    ``Uniform(a, b)``          ``trial.suggest_float(name, a, b)``
    ``IntUniform(a, b)``       ``trial.suggest_int(name, a, b)`` (both inclusive)
    ``Choice(options)``        ``trial.suggest_categorical(name, options)``
    =========================  ===================================================

    so the distributions are the same as :func:`~dsat_tutorial.tuning.random_search` draws from
    (:math:`\log x \sim \mathcal U(\log a, \log b)` for ``LogUniform``), while *which* points are drawn is
    up to the study's sampler (random, TPE, CMA-ES, ...). Optuna stores categorical options in its
    database, so a ``Choice`` may hold only ``None``, ``bool``, ``int``, ``float`` or ``str``.

    Args:
        trial: an ``optuna.Trial`` (anything with the three ``suggest_*`` methods).
        space: ``name -> LogUniform | Uniform | IntUniform | Choice``, as for ``random_search``.

    Returns:
        ``{name: value}`` in ``space`` order.

    Raises:
        ValueError: ``space`` is empty, holds another distribution, or a ``Choice`` holds other objects.

    Reference: Optuna's define-by-run API (Akiba et al. 2019). Taught in: Part I, Hyperparameter search
    (Scaling out).

    >>> import optuna
    >>> space = {"lr": LogUniform(1e-4, 1.0), "cell": Choice(["rnn", "gru"]), "hidden": IntUniform(2, 32)}
    >>> trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    >>> p = suggest(trial, space)
    >>> 1e-4 <= p["lr"] <= 1.0, p["cell"] in ("rnn", "gru"), 2 <= p["hidden"] <= 32, trial.params == p
    (True, True, True, True)
    """
    if not isinstance(space, Mapping) or len(space) == 0:
        raise ValueError(f"space must be a non-empty dict of name -> distribution, got {space!r}")
    params = {}
    for name, dist in space.items():
        if isinstance(dist, LogUniform):
            params[name] = trial.suggest_float(name, float(dist.low), float(dist.high), log=True)
        elif isinstance(dist, Uniform):
            params[name] = trial.suggest_float(name, float(dist.low), float(dist.high))
        elif isinstance(dist, IntUniform):
            params[name] = trial.suggest_int(name, int(dist.low), int(dist.high))
        elif isinstance(dist, Choice):
            bad = [o for o in dist.options if not isinstance(o, _CATEGORICAL_TYPES)]
            if bad:
                raise ValueError(f"space[{name!r}]: Optuna stores only None, bool, int, float or str "
                                 f"options, got {bad[0]!r}; choose by a name or an index instead")
            params[name] = trial.suggest_categorical(name, list(dist.options))
        else:
            raise ValueError(f"space[{name!r}] must be one of LogUniform, Uniform, IntUniform, Choice, "
                             f"got {dist!r}")
    return params


class OptunaPruning:
    r"""A ``fit`` callback: report the epoch's metric to an Optuna trial, prune when the study says so.

    After epoch :math:`e` (counted from 1, the ``step`` Optuna receives) with metric value :math:`m_e`:

    1. if :math:`m_e` is NaN or :math:`\pm\infty`, or the health verdict of the epoch is ``DIVERGING``
       (``fit`` was given a :class:`~dsat_tutorial.monitor.HealthMonitor`), raise ``optuna.TrialPruned``
       at once -- a diverged run is not worth a pruner's opinion (a finite value is still reported
       first, so the trial's curve shows where it went);
    2. otherwise ``trial.report(m_e, e)``, and raise ``optuna.TrialPruned`` if ``trial.should_prune()``
       (e.g. ``MedianPruner``: :math:`m_e` is worse than the median of the other trials at step
       :math:`e`).

    The exception leaves ``fit`` through its normal clean-up (the progress bar is closed, the model's
    train/eval mode restored); ``study.optimize`` records the trial as pruned. ``last_reported``,
    ``pruned_at`` (the epoch, or ``None``) and ``reason`` say what happened.

    Args:
        trial: the ``optuna.Trial`` of the objective.
        metric: what to report, lower is better unless the study says otherwise: ``"val_loss"``,
            ``"train_loss"``, or ``"val_<name>"`` / ``"train_<name>"`` for an entry of ``fit``'s
            ``metrics``.

    Raises:
        ValueError: (at the first epoch) the metric is not in the epoch record, e.g. ``"val_loss"``
            without a ``val_loader``.

    A run that diverges so fast that ``fit`` raises :class:`~dsat_tutorial.training.TrainingDiverged`
    never reaches an epoch end: catch it in the objective and ``raise optuna.TrialPruned()`` (see the
    example in Part I).

    Reference: Optuna's pruning integrations (report, then ``should_prune``); Akiba et al. (2019).
    Taught in: Part I, Hyperparameter search (Scaling out).

    >>> import optuna, torch
    >>> from dsat_tutorial.data import delayed_sum, make_loaders
    >>> from dsat_tutorial.models import SequenceRegressor
    >>> from dsat_tutorial.training import fit
    >>> task = delayed_sum(64, 8, seed=0)
    >>> def objective(trial):
    ...     _ = torch.manual_seed(0)
    ...     model = SequenceRegressor(1, 8, cell="rnn", return_sequences=True)
    ...     train, val = make_loaders(task.X, task.y, batch_size=16, seed=0)
    ...     opt = torch.optim.Adam(model.parameters(), lr=trial.suggest_float("lr", 1e-3, 1e-1, log=True))
    ...     h = fit(model, train, val, loss_fn=torch.nn.MSELoss(), optimizer=opt, epochs=3, progress=False,
    ...             callbacks=[OptunaPruning(trial, "val_loss")])
    ...     return min(h["val_loss"])
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    >>> study.optimize(objective, n_trials=2)
    >>> [sorted(t.intermediate_values) for t in study.trials]
    [[1, 2, 3], [1, 2, 3]]
    """

    def __init__(self, trial: Any, metric: str = "val_loss"):
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"metric must be 'val_loss', 'train_loss', 'val_<name>' or 'train_<name>', "
                             f"got {metric!r}")
        self.trial, self.metric = trial, metric
        self.last_reported: float | None = None
        self.pruned_at: int | None = None
        self.reason: str | None = None

    def _value(self, record: dict) -> float:
        """The metric's value in an epoch record of :class:`~dsat_tutorial.training.History`."""
        value = record.get(self.metric)
        if value is None:
            for prefix in ("val_", "train_"):
                if self.metric.startswith(prefix):
                    value = (record.get(prefix + "metrics") or {}).get(self.metric[len(prefix):])
        if value is None:
            names = [k for k in ("val_loss", "train_loss") if record.get(k) is not None]
            names += [f"{p}_{k}" for p in ("val", "train") for k in (record.get(f"{p}_metrics") or {})]
            raise ValueError(f"metric {self.metric!r} is not recorded by this fit (no val_loader, or not in "
                             f"metrics=); this fit records: {', '.join(names)}")
        return float(value)

    def on_epoch_end(self, state: Any) -> None:
        """Report ``metric`` of the epoch just recorded; raise ``optuna.TrialPruned`` to prune."""
        optuna = _optuna()
        record = state.history.epochs[-1]
        epoch, value = int(record["epoch"]), self._value(record)
        diverging = record.get("health") == "DIVERGING"  # History stores the verdict's name
        if math.isfinite(value):
            self.trial.report(value, epoch)
            self.last_reported = value
        if not math.isfinite(value) or diverging:
            why = (f"{self.metric} = {value}" if not math.isfinite(value)
                   else "the monitor's verdict is DIVERGING")
            self._prune(optuna, epoch, f"{why} at epoch {epoch}: pruned at once")
        if self.trial.should_prune():
            self._prune(optuna, epoch, f"the study's pruner stopped the trial at epoch {epoch} "
                                       f"({self.metric} = {value:.6g})")

    def _prune(self, optuna, epoch: int, reason: str) -> None:
        self.pruned_at, self.reason = epoch, reason
        raise optuna.TrialPruned(reason)
