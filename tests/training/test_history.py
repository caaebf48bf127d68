"""Tests for what fit records (History) and how it is shown (plot_history, the progress bar).

Per-epoch statistics are recomputed from the per-step records and from the data, independently of the
code that summarises them.
"""

import json
import math

import matplotlib
import pytest
import torch

from dsat_tutorial.data import make_loaders, threshold_sequences
from dsat_tutorial.history import EPOCH_KEYS, STEP_KEYS, History
from dsat_tutorial.models import SequenceClassifier
from dsat_tutorial.monitor import HealthMonitor
from dsat_tutorial.plotting import plot_history
from dsat_tutorial.training import Callback, fit

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CE = torch.nn.CrossEntropyLoss()


def accuracy(logits, y):
    return (logits.argmax(dim=1) == y).float().mean()


@pytest.fixture(scope="module")
def run():
    task = threshold_sequences(160, 8, 2, seed=4)
    train, val = make_loaders(task.X, task.y, batch_size=16, val_fraction=0.25, seed=0)  # 120 / 40
    torch.manual_seed(0)
    model = SequenceClassifier(2, 8)

    class NaNAt(Callback):
        def on_loss(self, state, loss):
            return loss * float("nan") if state.step == 10 else loss

    history = fit(model, train, val, loss_fn=CE, optimizer=torch.optim.Adam(model.parameters(), lr=0.02),
                  epochs=4, clip=0.05, monitor=HealthMonitor(patience=2), metrics={"accuracy": accuracy},
                  callbacks=[NaNAt()], progress=False)
    return history, model, train, val


def test_records_have_the_documented_keys(run):
    history, *_ = run
    assert [list(r) for r in history.epochs] == [list(EPOCH_KEYS)] * 4
    assert list(history.steps) == list(STEP_KEYS)
    assert history["epoch"] == [1, 2, 3, 4] and history["health"][0] == "HEALTHY"
    assert history.steps["step"] == [t for t in range(32) if t != 10]  # 8 batches/epoch, step 10 skipped


def test_epoch_statistics_match_the_step_records(run):
    history, _, train, _ = run
    sizes = [len(y) for _, y in train]  # 7 batches of 16 and one of 8
    for e, record in enumerate(history.epochs, start=1):
        idx = [i for i, ep in enumerate(history.steps["epoch"]) if ep == e]
        losses = [history.steps["loss"][i] for i in idx]
        norms = [history.steps["grad_norm"][i] for i in idx]
        w = sizes if len(losses) == len(sizes) else [sizes[(history.steps["step"][i]) % 8] for i in idx]
        weighted = sum(a * b for a, b in zip(losses, w)) / sum(w)
        assert record["train_loss"] == pytest.approx(weighted, rel=1e-12)
        assert record["grad_norm_mean"] == pytest.approx(sum(norms) / len(norms), rel=1e-12)
        assert record["grad_norm_max"] == max(norms)
        assert record["clipped_fraction"] == pytest.approx(sum(n > 0.05 for n in norms) / len(norms))
        assert record["clipped_grad_norm_max"] <= 0.05 * (1 + 1e-6)
        assert record["steps"] == len(idx) and record["skipped_steps"] == (1 if e == 2 else 0)


def test_validation_metrics_are_the_metric_on_the_validation_set(run):
    history, model, _, val = run
    model.eval()
    with torch.no_grad():
        x, y = val.dataset[:]  # (40, 8, 2), (40,)
        logits = model(x)
    recorded = history.epochs[-1]["val_metrics"]["accuracy"]
    assert recorded == pytest.approx(float(accuracy(logits, y)), abs=1e-6)
    assert history.epochs[-1]["val_loss"] == pytest.approx(float(CE(logits, y)), rel=1e-5)


def test_json_round_trip(run, tmp_path):
    history, *_ = run
    text = history.to_json(tmp_path / "h.json")
    assert json.loads((tmp_path / "h.json").read_text()) == json.loads(text) == history.to_dict()
    again = History.from_json(text)
    assert again.to_dict() == history.to_dict() and len(again) == 4
    assert again.find("rollback")[0]["step"] == 10


def test_plot_draws_three_panels_with_events(run):
    history, *_ = run
    axes = history.plot()
    assert [ax.get_ylabel() for ax in axes] == ["loss", "learning rate", "gradient norm"]
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert labels == ["train loss", "validation loss", "rollback"]
    step_line = axes[0].get_lines()[0]  # the per-step loss, at fractional epochs
    xs = list(step_line.get_xdata())
    assert len(xs) == 31 and xs[-1] == pytest.approx(4.0) and all(0 < x <= 4 for x in xs)
    rollback = axes[0].get_lines()[-1]
    assert rollback.get_xdata()[0] == pytest.approx(1 + 2 / 7)  # step 10: third batch of epoch 2
    plt.close("all")


def test_plot_rejects_an_empty_history():
    with pytest.raises(ValueError, match="history"):
        plot_history(History())


def test_progress_bar_runs(capsys):
    task = threshold_sequences(32, 4, 2, seed=0)
    train, val = make_loaders(task.X, task.y, batch_size=16, seed=0)
    torch.manual_seed(0)
    model = SequenceClassifier(2, 4)
    history = fit(model, train, val, loss_fn=CE, optimizer=torch.optim.Adam(model.parameters()), epochs=2,
                  progress=True)
    assert len(history) == 2 and math.isfinite(history["train_loss"][-1])


class _RecordingBar:
    """Stands in for ``tqdm.auto.tqdm`` (the conftest sets TQDM_DISABLE, so the real bar prints nothing)."""

    made = []

    def __init__(self, total=None, initial=0, **kwargs):
        self.total, self.initial, self.kwargs = total, initial, kwargs
        self.updates, self.postfixes, self.closed = 0, [], False
        _RecordingBar.made.append(self)

    def set_postfix(self, refresh=True, **fields):
        self.postfixes.append(fields)

    def update(self, n=1):
        self.updates += n

    def close(self):
        self.closed = True


@pytest.mark.parametrize("progress", [True, False])
def test_progress_bar_shows_epoch_losses_lr_and_health(monkeypatch, progress):
    """Issue 5: one tqdm.auto bar per fit with epoch, train/validation loss, lr and health; off when
    progress=False. The shown values are checked against the history fit returns."""
    import sys
    import types

    fake = types.ModuleType("tqdm.auto")
    fake.tqdm = _RecordingBar
    monkeypatch.setitem(sys.modules, "tqdm.auto", fake)
    _RecordingBar.made = []
    task = threshold_sequences(32, 4, 2, seed=0)
    train, val = make_loaders(task.X, task.y, batch_size=16, seed=0)
    torch.manual_seed(0)
    model = SequenceClassifier(2, 4)
    history = fit(model, train, val, loss_fn=CE, optimizer=torch.optim.Adam(model.parameters()), epochs=3,
                  monitor=HealthMonitor(patience=2), progress=progress)
    if not progress:
        assert _RecordingBar.made == []
        return
    (bar,) = _RecordingBar.made
    assert bar.total == 3 and bar.initial == 0 and bar.updates == 3 and bar.closed  # epochs done / total
    assert bar.kwargs.get("unit") == "epoch"
    assert [sorted(p) for p in bar.postfixes] == [["health", "lr", "train", "val"]] * 3
    for shown, record in zip(bar.postfixes, history.epochs):
        assert float(shown["train"]) == pytest.approx(record["train_loss"], rel=1e-3)
        assert float(shown["val"]) == pytest.approx(record["val_loss"], rel=1e-3)
        assert float(shown["lr"]) == pytest.approx(record["lr"][0], rel=1e-2)
        assert shown["health"] == record["health"]


def test_global_grad_norm_fast_path_is_the_per_tensor_loop_bit_for_bit():
    """clipping's foreach fast path (used every step of fit) equals PyTorch's per-tensor order exactly."""
    from dsat_tutorial.clipping import global_grad_norm

    def loop(params):  # the reference: one vector_norm per tensor, then the norm of the norms
        norms = [torch.linalg.vector_norm(p.grad) for p in params if p.grad is not None]
        return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0

    task = threshold_sequences(64, 8, 2, seed=5)
    torch.manual_seed(1)
    model = SequenceClassifier(2, 8, num_layers=2)
    params = list(model.parameters())
    assert global_grad_norm(params) == loop(params) == 0.0  # no gradients yet
    for i in range(0, 64, 16):
        model.zero_grad()
        CE(model(task.X[i:i + 16]), task.y[i:i + 16]).backward()
        assert global_grad_norm(params) == loop(params)
    params[0].grad[0, 0] = float("inf")
    assert global_grad_norm(params) == loop(params) == float("inf")
