r"""Short training runs described by data: build the task, the model and the optimizer from a
:class:`RunSpec`, train with a :class:`~dsat_tutorial.monitor.HealthMonitor`, and return the curves,
the monitor's verdicts and the after-the-fact label of :func:`~dsat_tutorial.monitor.label_run`.

This is how the book measures the health monitor: many small runs (tasks, model sizes, optimizers,
learning rates, seeds) whose outcome -- learning, stalling, overfitting, blowing up -- is not chosen but
observed, each labelled from its finished curves and compared with the monitor's last verdict.

What it is not: a benchmark harness (Part V's ``benchmarks/`` does sweeps with JSON results) nor a
general experiment runner; it knows the four tasks in :data:`TASKS` and nothing else.

References: Goodfellow, Bengio & Courville (2016), section 5.2; Prechelt (1998).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch

from .._validation import check_choice, check_int, check_positive
from ..data import (Task, adding_problem, baseline_loss, load_digit_sequences, make_loaders, sine_forecast,
                    threshold_sequences)
from ..models import CELLS, SequenceClassifier, SequenceRegressor
from ..monitor import HealthMonitor, label_run
from ..utils import seed_everything

__all__ = ["TASKS", "RunSpec", "RunResult", "train_run"]

#: The tasks a :class:`RunSpec` can name (all small: sequences of 8-16 steps).
TASKS = ("adding", "sine", "threshold", "digits")
OPTIMIZERS = ("adam", "sgd")


def _task(name: str, n: int, seed: int) -> Task:
    if name == "adding":
        return adding_problem(n, seq_len=10, seed=seed)
    if name == "sine":
        return sine_forecast(n, seq_len=16, noise=0.3, seed=seed)  # noise floor 0.09, ~15 % of baseline
    if name == "threshold":
        return threshold_sequences(n, seq_len=8, features=4, seed=seed)
    digits = load_digit_sequences()
    if n > len(digits.X):
        raise ValueError(f"n_train + n_val must be at most {len(digits.X)} for 'digits', got {n}")
    keep = torch.randperm(len(digits.X), generator=torch.Generator().manual_seed(seed))[:n]
    return Task(digits.X[keep], digits.y[keep], baseline_loss(digits.y[keep], "cross_entropy"),
                "cross_entropy", digits.description)


@dataclass(frozen=True)
class RunSpec:
    """One short run: task, data size, model, optimizer, learning rate, epochs, seed.

    ``optimizer="sgd"`` is SGD with momentum 0.9; ``"adam"`` is Adam with PyTorch's defaults. The
    monitor is ``HealthMonitor(patience=patience, baseline=b)`` with the other settings at their
    defaults, :math:`b` the baseline loss of the training targets.

    >>> RunSpec("adding", hidden=8, lr=1e-2, epochs=6)
    RunSpec(task='adding', hidden=8, lr=0.01, epochs=6, optimizer='adam', cell='gru', n_train=256, n_val=128, batch_size=32, seed=0, patience=3)
    """

    task: str
    hidden: int
    lr: float
    epochs: int
    optimizer: str = "adam"
    cell: str = "gru"
    n_train: int = 256
    n_val: int = 128
    batch_size: int = 32
    seed: int = 0
    patience: int = 3

    def __post_init__(self) -> None:
        check_choice("task", self.task, TASKS)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("cell", self.cell, tuple(CELLS))
        check_positive("lr", self.lr)
        for name in ("hidden", "epochs", "n_train", "n_val", "batch_size", "patience"):
            check_int(name, getattr(self, name))
        check_int("seed", self.seed, minimum=0)


@dataclass
class RunResult:
    """What :func:`train_run` returns: the spec, both loss curves, the baseline, the verdicts, the label.

    ``verdicts`` holds the monitor's verdict name per epoch (the *final* verdict is ``verdicts[-1]``);
    ``label`` is ``label_run(train_losses, val_losses, baseline)`` with its default thresholds.
    """

    spec: RunSpec
    train_losses: list
    val_losses: list
    baseline: float
    verdicts: list
    label: str
    reason: str
    seconds: float = field(default=0.0, compare=False)

    def to_dict(self) -> dict:
        """Plain data (JSON-ready)."""
        out = asdict(self)
        out["spec"] = asdict(self.spec)
        return out


def train_run(spec: RunSpec) -> RunResult:
    """Train the run ``spec`` describes (seeded, deterministic on CPU) and label it.

    The data are ``n_train + n_val`` sequences drawn with ``spec.seed``, split at random with the same
    seed; the model is a one-layer :class:`~dsat_tutorial.models.SequenceRegressor` (MSE tasks) or
    :class:`~dsat_tutorial.models.SequenceClassifier` (cross-entropy tasks) of ``hidden`` units.

    Args:
        spec: a :class:`RunSpec`.

    Returns:
        a :class:`RunResult`.

    Reference: Goodfellow et al. (2016), section 5.2. Taught in: Part IV, Assessing health.

    >>> r = train_run(RunSpec("threshold", hidden=4, lr=1e-2, epochs=4, n_train=64, n_val=32))
    >>> len(r.train_losses), r.verdicts[-1] in {"HEALTHY", "UNDERFITTING", "PLATEAU", "OVERFITTING"}
    (4, True)
    """
    if not isinstance(spec, RunSpec):
        raise ValueError(f"spec must be a RunSpec, got {spec!r}")
    from . import fit  # the package's fit (imported here: this module is imported by training/__init__)

    start = time.process_time()
    task = _task(spec.task, spec.n_train + spec.n_val, spec.seed)
    train, val = make_loaders(task.X, task.y, batch_size=spec.batch_size, seed=spec.seed,
                              val_fraction=spec.n_val / (spec.n_train + spec.n_val))
    b = baseline_loss(task.y[train.dataset.indices], task.loss)
    seed_everything(spec.seed)
    features = task.X.shape[2]
    if task.loss == "mse":
        model = SequenceRegressor(features, spec.hidden, cell=spec.cell)
    else:
        model = SequenceClassifier(features, spec.hidden, cell=spec.cell, num_classes=int(task.y.max()) + 1)
    if spec.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=0.9)
    monitor = HealthMonitor(patience=spec.patience, baseline=b)
    history = fit(model, train, val, loss_fn=task.loss_fn(), optimizer=optimizer, epochs=spec.epochs,
                  monitor=monitor, progress=False)
    tr, va = history["train_loss"], history["val_loss"]
    label = label_run(tr, va, b)
    return RunResult(spec, tr, va, b, [h for h in history["health"]], label.name, monitor.reason,
                     time.process_time() - start)
