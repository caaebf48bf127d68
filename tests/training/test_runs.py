"""Tests for dsat_tutorial.training.runs: a RunSpec trains deterministically, its verdicts are what a
fresh HealthMonitor says when replayed on the returned curves, its label is label_run's, and a blow-up
is seen as one."""

import pytest

from dsat_tutorial.data import baseline_loss, threshold_sequences
from dsat_tutorial.monitor import HealthMonitor, label_run
from dsat_tutorial.training import RunSpec, train_run

SMALL = dict(n_train=64, n_val=32, epochs=5)


def test_deterministic_and_consistent_with_replay():
    spec = RunSpec("threshold", hidden=4, lr=1e-2, **SMALL)
    a, b = train_run(spec), train_run(spec)
    assert a.train_losses == b.train_losses and a.val_losses == b.val_losses and a.verdicts == b.verdicts
    monitor = HealthMonitor(patience=spec.patience, baseline=a.baseline)
    replay = [monitor.update(t, v).name for t, v in zip(a.train_losses, a.val_losses)]
    assert replay == a.verdicts
    assert a.label == label_run(a.train_losses, a.val_losses, a.baseline).name
    assert len(a.train_losses) == spec.epochs


def test_baseline_is_the_training_targets_constant_predictor():
    spec = RunSpec("threshold", hidden=4, lr=1e-2, **SMALL)
    r = train_run(spec)
    task = threshold_sequences(96, seq_len=8, features=4, seed=0)
    # the baseline of a balanced-ish binary split lies near ln 2 and within the range over any subset
    assert 0.6 < r.baseline <= baseline_loss(task.y, "cross_entropy") + 0.05


@pytest.mark.parametrize("task", ["adding", "sine", "digits"])
def test_every_task_runs(task):
    r = train_run(RunSpec(task, hidden=4, lr=1e-2, n_train=64, n_val=32, epochs=4))
    assert len(r.val_losses) == 4 and r.baseline > 0 and set(r.to_dict()) >= {"spec", "label", "verdicts"}


def test_huge_sgd_step_diverges_by_both_monitor_and_label():
    r = train_run(RunSpec("sine", hidden=8, lr=0.5, optimizer="sgd", cell="rnn", n_train=128, n_val=64,
                          epochs=5))
    assert r.label == "DIVERGING" and r.verdicts[-1] == "DIVERGING"


@pytest.mark.parametrize("kwargs", [dict(task="mnist"), dict(optimizer="rmsprop"), dict(lr=0.0),
                                    dict(hidden=0), dict(cell="transformer"), dict(seed=-1)])
def test_bad_spec_raises(kwargs):
    base = dict(task="adding", hidden=4, lr=1e-2, epochs=3)
    with pytest.raises(ValueError):
        RunSpec(**{**base, **kwargs})


def test_digits_size_is_checked():
    with pytest.raises(ValueError, match="n_train"):
        train_run(RunSpec("digits", hidden=4, lr=1e-2, epochs=2, n_train=2000, n_val=100))
