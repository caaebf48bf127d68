"""Tests for the Optuna bridge (dsat_tutorial.tuning.OptunaPruning and suggest): what reaches the trial,
when trials are pruned, that the exception leaves fit cleanly, that a pruned study finds what a plain
random search of the same budget finds, and that two worker processes share one study through SQLite.

The independent references are Optuna itself (its trials' stored params, intermediate values and
states) and the package's own random_search run on the same objective without Optuna.
"""

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import optuna
import pytest
import torch
from optuna.trial import TrialState

import dsat_tutorial
from dsat_tutorial.data import baseline_loss, delayed_sum, make_loaders
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.monitor import HealthMonitor
from dsat_tutorial.training import Callback, TrainingDiverged, fit
from dsat_tutorial.tuning import (
    Choice,
    IntUniform,
    LogUniform,
    OptunaPruning,
    Uniform,
    random_search,
    suggest,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

TASK = delayed_sum(160, 10, seed=0)  # 128 train / 32 val sequences after make_loaders' 80/20 split
EPOCHS = 5
ABSURD_LR = 1.0  # plain SGD on this RNN: lr >= 1 makes the loss grow ~1e5x per epoch (or overflow)


def _train(lr: float, trial=None) -> float:
    """Final validation MSE of a seeded Elman RNN trained with plain SGD at ``lr`` (the objective).

    With a ``trial``, OptunaPruning reports each epoch; a run that overflows so fast that fit gives up
    (TrainingDiverged) is pruned too. Without one, such a run scores inf, as random_search records it.
    """
    torch.manual_seed(0)
    model = SequenceRegressor(1, 8, cell="rnn", return_sequences=True, orthogonal_init=True)
    train, val = make_loaders(TASK.X, TASK.y, batch_size=32, seed=0)
    callbacks = [] if trial is None else [OptunaPruning(trial, "val_loss")]
    try:
        history = fit(model, train, val, loss_fn=torch.nn.MSELoss(), epochs=EPOCHS, progress=False,
                      optimizer=torch.optim.SGD(model.parameters(), lr=lr), monitor=HealthMonitor(),
                      callbacks=callbacks)
    except TrainingDiverged:
        if trial is None:
            return math.inf
        raise optuna.TrialPruned("fit raised TrainingDiverged")
    return history["val_loss"][-1]


# ---------------------------------------------------------------------------------------------------------
# suggest: the book's spaces as trial.suggest_* calls


def test_suggest_maps_each_distribution_to_optuna_and_respects_its_bounds():
    space = {"lr": LogUniform(1e-4, 1.0), "mom": Uniform(0.0, 0.99), "hidden": IntUniform(2, 32),
             "act": Choice(["tanh", "relu"])}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    draws = []
    for _ in range(200):
        trial = study.ask()
        p = suggest(trial, space)
        assert p == trial.params  # what the objective gets is what Optuna stores
        study.tell(trial, 0.0)
        draws.append(p)
    dists = study.trials[0].distributions  # Optuna's own record of the distributions
    assert dists["lr"] == optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)
    assert dists["mom"] == optuna.distributions.FloatDistribution(0.0, 0.99)
    assert dists["hidden"] == optuna.distributions.IntDistribution(2, 32)
    assert dists["act"] == optuna.distributions.CategoricalDistribution(("tanh", "relu"))
    lr = np.array([d["lr"] for d in draws])
    assert lr.min() >= 1e-4 and lr.max() <= 1.0
    # log-uniform: each of the 4 decades gets about a quarter (binomial sd ~ 0.03 at n = 200)
    shares = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1, 0])[0] / len(lr)
    assert np.all(np.abs(shares - 0.25) < 0.1), shares
    assert {d["hidden"] for d in draws} <= set(range(2, 33)) and {2, 32} <= {d["hidden"] for d in draws}
    assert {d["act"] for d in draws} == {"tanh", "relu"}


@pytest.mark.parametrize("space, match", [
    ({}, "space must be a non-empty dict"),
    ({"lr": (1e-4, 1.0)}, r"space\['lr'\] must be one of"),
    ({"opt": Choice([torch.optim.SGD, torch.optim.Adam])}, r"space\['opt'\]: Optuna stores only"),
])
def test_suggest_rejects_what_optuna_cannot_store(space, match):
    trial = optuna.create_study().ask()
    with pytest.raises(ValueError, match=match):
        suggest(trial, space)


# ---------------------------------------------------------------------------------------------------------
# OptunaPruning: what it reports and when it prunes


class _FakeTrial:
    """Records report() calls; should_prune() answers from a fixed set of steps (a stand-in pruner)."""

    def __init__(self, prune_at=()):
        self.reports, self.prune_at = [], set(prune_at)

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return bool(self.reports) and self.reports[-1][0] in self.prune_at


def _fit_with(callbacks, epochs=4, lr=0.1, metrics=None, monitor=None, val=True):
    torch.manual_seed(0)
    model = SequenceRegressor(1, 8, cell="rnn", return_sequences=True, orthogonal_init=True)
    train, val_loader = make_loaders(TASK.X, TASK.y, batch_size=32, seed=0)
    return model, fit(model, train, val_loader if val else None, loss_fn=torch.nn.MSELoss(), epochs=epochs,
                      optimizer=torch.optim.SGD(model.parameters(), lr=lr), progress=False,
                      metrics=metrics, monitor=monitor, callbacks=callbacks)


def test_reports_the_recorded_metric_at_steps_counted_from_one():
    trial = _FakeTrial()
    mae = {"mae": lambda out, y: (out - y).abs().mean()}
    _, history = _fit_with([OptunaPruning(trial, "val_loss")], metrics=mae)
    assert trial.reports == list(zip([1, 2, 3, 4], history["val_loss"]))
    trial = _FakeTrial()
    _, history = _fit_with([OptunaPruning(trial, "val_mae")], metrics=mae)
    assert trial.reports == [(r["epoch"], r["val_metrics"]["mae"]) for r in history.epochs]
    trial = _FakeTrial()
    _, history = _fit_with([OptunaPruning(trial, "train_loss")], val=False)
    assert trial.reports == list(zip([1, 2, 3, 4], history["train_loss"]))


def test_a_metric_fit_does_not_record_is_an_error_naming_what_it_records():
    with pytest.raises(ValueError, match=r"metric 'val_loss' is not recorded.*records: train_loss"):
        _fit_with([OptunaPruning(_FakeTrial(), "val_loss")], val=False)
    with pytest.raises(ValueError, match="metric must be"):
        OptunaPruning(_FakeTrial(), "")


class _Tracker(Callback):
    def __init__(self):
        self.epochs = []

    def on_epoch_end(self, state):
        self.epochs.append(state.epoch)


def test_the_pruners_verdict_stops_fit_cleanly_at_that_epoch():
    trial, tracker = _FakeTrial(prune_at={2}), _Tracker()
    cb = OptunaPruning(trial, "val_loss")
    with pytest.raises(optuna.TrialPruned, match="pruner stopped the trial at epoch 2"):
        _fit_with([cb, tracker])
    assert [s for s, _ in trial.reports] == [1, 2] and cb.pruned_at == 2
    assert tracker.epochs == [1]  # later callbacks of the pruned epoch do not run; no epoch 3


def test_the_exception_leaves_fit_through_its_cleanup(monkeypatch):
    """fit's try/finally closes the progress bar and restores the model's mode on the way out."""
    from dsat_tutorial.training import loop

    closed = []

    class Bar:
        def set_postfix(self, **kw):
            pass

        def update(self, n):
            pass

        def close(self):
            closed.append(True)

    monkeypatch.setattr(loop, "_progress_bar", lambda total, initial: Bar())
    torch.manual_seed(0)
    model = SequenceRegressor(1, 8, cell="rnn", return_sequences=True).eval()
    train, val = make_loaders(TASK.X, TASK.y, batch_size=32, seed=0)
    with pytest.raises(optuna.TrialPruned):
        fit(model, train, val, loss_fn=torch.nn.MSELoss(), epochs=3, progress=True,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            callbacks=[OptunaPruning(_FakeTrial(prune_at={1}), "val_loss")])
    assert closed == [True] and model.training is False  # bar closed, eval mode given back


def test_a_diverging_verdict_prunes_at_once_without_asking_the_pruner():
    trial = _FakeTrial(prune_at=())  # a pruner that never prunes
    cb = OptunaPruning(trial, "val_loss")
    with pytest.raises(optuna.TrialPruned, match="DIVERGING at epoch 2"):
        _fit_with([cb], lr=ABSURD_LR, monitor=HealthMonitor())
    assert cb.pruned_at == 2 and [s for s, _ in trial.reports] == [1, 2]  # the finite value was reported
    assert trial.reports[1][1] > 1e3 * trial.reports[0][1]  # and it really did blow up


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_metric_prunes_at_once_and_is_not_reported(bad):
    class Poison(Callback):  # runs before the bridge and overwrites the epoch's record
        def on_epoch_end(self, state):
            if state.epoch == 3:
                state.history.epochs[-1]["val_loss"] = bad

    trial = _FakeTrial()
    cb = OptunaPruning(trial, "val_loss")
    with pytest.raises(optuna.TrialPruned, match=f"val_loss = {bad} at epoch 3"):
        _fit_with([Poison(), cb])
    assert [s for s, _ in trial.reports] == [1, 2] and cb.pruned_at == 3
    assert all(math.isfinite(v) for _, v in trial.reports)


# ---------------------------------------------------------------------------------------------------------
# a study with a pruner, against plain random search of the same budget


N_TRIALS = 20
SPACE = {"lr": LogUniform(1e-3, 1e2)}  # SGD on the RNN: good near 0.1-0.5; absurd from 1 up


@pytest.fixture(scope="module")
def pruned_study():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1))
    study.optimize(lambda trial: _train(suggest(trial, SPACE)["lr"], trial), n_trials=N_TRIALS)
    return study


def test_absurd_learning_rates_are_pruned_early(pruned_study):
    trials = pruned_study.trials
    absurd = [t for t in trials if t.params["lr"] >= ABSURD_LR]
    assert len(absurd) >= 4  # the space gives lr >= 1 a 40 % share: the test has something to test
    assert all(t.state == TrialState.PRUNED for t in absurd)
    assert all(len(t.intermediate_values) <= 2 for t in absurd)  # stopped by epoch 2 (or by fit earlier)
    # and the pruner itself (not only the divergence rule) stopped some sane but slow trials
    sane_pruned = [t for t in trials if t.params["lr"] < ABSURD_LR and t.state == TrialState.PRUNED]
    assert sane_pruned and all(len(t.intermediate_values) < EPOCHS for t in sane_pruned)


def test_pruning_saves_epochs_and_the_best_trial_matches_random_search(pruned_study):
    epochs_spent = sum(len(t.intermediate_values) for t in pruned_study.trials)
    assert epochs_spent <= 0.7 * N_TRIALS * EPOCHS  # at least 30 % of the trial-epochs saved
    plain = random_search(lambda p: _train(p["lr"]), SPACE, n_trials=N_TRIALS, seed=0)
    baseline = baseline_loss(TASK.y[128:], fit_on=TASK.y[:128])
    # Stated margin: two independent draws of 20 learning rates; both searches must find a run below
    # 10 % of the constant predictor and their best scores must agree within a factor of 2.
    assert pruned_study.best_value < 0.1 * baseline and plain.best_score < 0.1 * baseline
    assert 0.5 < pruned_study.best_value / plain.best_score < 2.0
    assert 0.02 < pruned_study.best_params["lr"] < ABSURD_LR  # a sane lr won


# ---------------------------------------------------------------------------------------------------------
# two worker processes, one study, one SQLite file


WORKER = textwrap.dedent("""
    import os, pathlib, sys, time
    import optuna, torch
    from dsat_tutorial.data import delayed_sum, make_loaders
    from dsat_tutorial.models import SequenceRegressor
    from dsat_tutorial.training import fit
    from dsat_tutorial.tuning import LogUniform, OptunaPruning, suggest

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, name, n_trials, barrier = sys.argv[1], sys.argv[2], int(sys.argv[3]), pathlib.Path(sys.argv[4])
    task = delayed_sum(64, 8, seed=0)

    def objective(trial):
        trial.set_user_attr("pid", os.getpid())
        lr = suggest(trial, {"lr": LogUniform(1e-2, 0.5)})["lr"]
        torch.manual_seed(0)
        model = SequenceRegressor(1, 4, cell="rnn", return_sequences=True)
        train, val = make_loaders(task.X, task.y, batch_size=16, seed=0)
        h = fit(model, train, val, loss_fn=torch.nn.MSELoss(), epochs=2, progress=False,
                optimizer=torch.optim.SGD(model.parameters(), lr=lr),
                callbacks=[OptunaPruning(trial, "val_loss")])
        return h["val_loss"][-1]

    storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    # the sampler and the pruner live in each worker, not in the database; the pruner compares this
    # worker's trial with the finished trials of both workers
    study = optuna.load_study(study_name=name, storage=storage,
                              pruner=optuna.pruners.MedianPruner(n_startup_trials=4))
    (barrier / str(os.getpid())).touch()  # start together, so that both workers take trials
    deadline = time.monotonic() + 60
    while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    study.optimize(objective, n_trials=n_trials)  # this worker's share of the study's trials
""")


def test_two_worker_processes_share_one_study_through_sqlite(tmp_path):
    """Each worker runs 6 trials (some pruned) of one study in one SQLite file. Had they not shared it, each would
    number its trials 0..5; sharing, the 12 trials are numbered 0..11 with no number taken twice.
    (A budget shared by MaxTrialsCallback can overshoot by a trial or two, because a worker counts the
    other's finished trials from its cache; a fixed share per worker keeps the test exact.)"""
    url, name, share = f"sqlite:///{tmp_path / 'study.db'}", "shared", 6
    storage = optuna.storages.RDBStorage(url)
    optuna.create_study(study_name=name, storage=storage)
    barrier = tmp_path / "started"
    barrier.mkdir()
    root = os.path.dirname(os.path.dirname(dsat_tutorial.__file__))  # the workers import this package
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, url, name, str(share), str(barrier)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for w in workers:
        _, err = w.communicate(timeout=180)
        assert w.returncode == 0, err
    trials = optuna.load_study(study_name=name, storage=storage).trials
    assert len(trials) == 2 * share
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)  # all finished
    assert sorted(t.number for t in trials) == list(range(2 * share))  # no number duplicated or missing
    by_pid = {w.pid: sum(t.user_attrs["pid"] == w.pid for t in trials) for w in workers}
    assert by_pid == {w.pid: share for w in workers}  # both processes wrote into the one study
    starts = sorted((t.datetime_start, t.user_attrs["pid"]) for t in trials)
    assert len({pid for _, pid in starts[:share]}) == 2  # and they ran at the same time, interleaved
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) >= 4  # at least the pruner's 4 startup trials ran to the end
    assert all(sorted(t.intermediate_values) == [1, 2] for t in complete)  # the bridge reported each epoch
