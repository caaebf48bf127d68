"""Tests for dsat_tutorial.training.fit: resume bit for bit, divergence rollback, checkpoints, early stop.

References are independent of fit's internals: an uninterrupted run for resume, torch.load for the
checkpoint format, parameters copied by a callback for "best weights", and hand-fed PyTorch schedulers
for the lr sequences fit produces.
"""

import os

import pytest
import torch
from torch.utils.data import DataLoader

from dsat_tutorial.data import make_loaders, sine_forecast
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.monitor import Health, HealthMonitor
from dsat_tutorial.policy import DSTPolicy
from dsat_tutorial.training import CHECKPOINT_NAME, Callback, CheckpointError, TrainingDiverged, fit

MSE = torch.nn.MSELoss()


def data(n=160, seq_len=8, batch_size=16, own_generator=True):
    task = sine_forecast(n, seq_len, seed=1)
    train, val = make_loaders(task.X, task.y, batch_size=batch_size, seed=0)
    if not own_generator:  # a plain shuffling DataLoader draws from the global torch RNG
        train = DataLoader(train.dataset, batch_size=batch_size, shuffle=True)
    return train, val


def model_and_opt(seed=0, dropout=0.0, lr=1e-2):
    torch.manual_seed(seed)
    model = SequenceRegressor(1, 8, num_layers=2 if dropout else 1, dropout=dropout)
    return model, torch.optim.Adam(model.parameters(), lr=lr)


def finite(model):
    return all(torch.isfinite(p).all() for p in model.parameters())


# -- resume ------------------------------------------------------------------------------------------
def _plateau(opt):
    try:
        from dsat_tutorial.controllers import PlateauLR
        from dsat_tutorial.schedules import CosineDecay
        return PlateauLR(opt, CosineDecay(1e-2, 200), patience=0, factor=0.5, threshold=0.5)
    except ImportError:  # pragma: no cover -- controllers ship with the package
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.5)


def _run(tmp, epochs, resume, own_generator):
    train, val = data(own_generator=own_generator)
    model, opt = model_and_opt(dropout=0.2)
    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=epochs, schedulers=[_plateau(opt)],
                  clip=1.0, monitor=HealthMonitor(patience=2), policy=DSTPolicy(cooldown=1),
                  checkpoint_dir=tmp, resume=resume, progress=False, seed=None if resume else 7)
    return model, opt, history


@pytest.mark.parametrize("own_generator", [True, False], ids=["loader-generator", "global-rng"])
def test_resume_is_bit_exact(tmp_path, own_generator):
    full_model, full_opt, full = _run(tmp_path / "a", 5, False, own_generator)
    _run(tmp_path / "b", 2, False, own_generator)
    torch.manual_seed(12345)  # disturb every RNG: the checkpoint must restore them
    part_model, part_opt, part = _run(tmp_path / "b", 5, True, own_generator)
    # the cosine schedule alone stays above 0.009 over these 50 steps: lower lrs are plateau decisions
    assert min(full.steps["lr"]) < 2e-3, "the plateau controller never acted; the test would be weak"
    for a, b in zip(full_model.state_dict().values(), part_model.state_dict().values()):
        assert torch.equal(a, b)
    sa, sb = full_opt.state_dict()["state"], part_opt.state_dict()["state"]
    for k in sa:
        for name in sa[k]:
            assert torch.equal(sa[k][name], sb[k][name])
    assert part.steps == full.steps  # losses, lrs, gradient norms of every step
    assert part["lr"] == full["lr"] and part["val_loss"] == full["val_loss"]
    assert [e for e in part.events if e["event"] != "resume"] == full.events
    assert [(e["event"], e["epoch"]) for e in part.find("resume")] == [("resume", 2)]


def test_resume_past_the_end_trains_nothing(tmp_path):
    train, val = data()
    model, opt = model_and_opt()
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, checkpoint_dir=tmp_path, progress=False)
    before = [p.clone() for p in model.parameters()]
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, checkpoint_dir=tmp_path, resume=True,
            progress=False)
    assert len(h) == 2 and h.events[-1]["event"] == "resume"
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


# -- checkpoints ---------------------------------------------------------------------------------------
def test_checkpoint_loads_with_weights_only(tmp_path):
    train, val = data()
    model, opt = model_and_opt()
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, checkpoint_dir=tmp_path, progress=False,
        schedulers=[torch.optim.lr_scheduler.ReduceLROnPlateau(opt)], monitor=HealthMonitor(),
        policy=DSTPolicy())
    payload = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    for key in ("model", "optimizer", "schedulers", "rng", "history", "epoch", "loader_rng"):
        assert key in payload
    assert payload["epoch"] == 1
    assert all(torch.equal(a, b) for a, b in zip(payload["model"].values(), model.state_dict().values()))
    assert [f for f in os.listdir(tmp_path)] == [CHECKPOINT_NAME]  # no temporary file left behind


def test_truncated_checkpoint_raises_naming_the_file(tmp_path):
    train, val = data()
    model, opt = model_and_opt()
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, checkpoint_dir=tmp_path, progress=False)
    path = tmp_path / CHECKPOINT_NAME
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match=CHECKPOINT_NAME) as info:
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, checkpoint_dir=tmp_path, resume=True,
            progress=False)
    assert info.value.path == str(path)


def test_missing_checkpoint_raises_naming_the_file(tmp_path):
    train, val = data()
    model, opt = model_and_opt()
    with pytest.raises(CheckpointError, match="no such file") as info:
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, checkpoint_dir=tmp_path, resume=True,
            progress=False)
    assert info.value.path == str(tmp_path / CHECKPOINT_NAME)


def test_checkpoint_from_another_setup_is_refused(tmp_path):
    train, val = data()
    model, opt = model_and_opt()
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, checkpoint_dir=tmp_path, progress=False)
    torch.manual_seed(0)
    other = SequenceRegressor(1, 4)
    with pytest.raises(CheckpointError, match="does not match"):
        fit(other, train, val, loss_fn=MSE, optimizer=torch.optim.Adam(other.parameters()), epochs=2,
            checkpoint_dir=tmp_path, resume=True, progress=False)


def test_interrupted_write_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    train, val = data()
    model, opt = model_and_opt()
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, checkpoint_dir=tmp_path, progress=False)
    path = tmp_path / CHECKPOINT_NAME
    good = path.read_bytes()
    real_save = torch.save

    def crash(obj, f, *args, **kwargs):  # write half a file, then die (power cut, kill -9, full disk)
        real_save(obj, f, *args, **kwargs)
        f.truncate(f.tell() // 2)
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, checkpoint_dir=tmp_path, resume=True,
            progress=False)
    monkeypatch.setattr(torch, "save", real_save)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == [CHECKPOINT_NAME]
    assert torch.load(path, weights_only=True)["epoch"] == 1


# -- divergence ------------------------------------------------------------------------------------------
class NaNAt(Callback):
    """Fault injection: the batch loss (or only its gradient) becomes NaN at chosen global steps."""

    def __init__(self, steps, gradient_only=False):
        self.steps, self.gradient_only = set(steps), gradient_only

    def on_loss(self, state, loss):
        if state.step not in self.steps:
            return loss
        if self.gradient_only:  # finite loss, NaN gradient
            loss = loss * 1.0
            loss.register_hook(lambda g: g * float("nan"))
            return loss
        return loss * float("nan")


@pytest.mark.parametrize("gradient_only", [False, True], ids=["nan-loss", "nan-gradient"])
def test_nan_step_is_skipped_rolled_back_and_logged(gradient_only):
    train, val = data()  # 8 batches per epoch
    model, opt = model_and_opt()
    seen = {}

    class Spy(Callback):  # the lr of the last good step before the fault
        def on_step_end(self, state):
            if state.step == 11:
                seen["lr"] = state.lr

    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=3, callbacks=[NaNAt({12}, gradient_only),
            Spy()], progress=False)
    assert finite(model)
    events = h.find("rollback")
    assert len(events) == 1 and events[0]["step"] == 12 and events[0]["epoch"] == 2
    assert "non-finite" in events[0]["reason"]
    assert 12 not in h.steps["step"] and h["skipped_steps"] == [0, 1, 0]
    assert h.steps["lr"][h.steps["step"].index(13)] == pytest.approx(0.5 * seen["lr"])
    assert len(h) == 3 and h["train_loss"][-1] < h["train_loss"][0]


def test_rollback_restores_the_state_at_the_start_of_the_epoch():
    train, val = data()
    model, opt = model_and_opt()
    snapshots = {}

    class Keep(Callback):
        def on_epoch_end(self, state):
            snapshots[state.epoch] = [p.detach().clone() for p in state.model.parameters()]

    class Stop(Callback):  # a persistent fault from step 8 (first batch of epoch 2) with max_retries=0
        def on_loss(self, state, loss):
            return loss * float("nan") if state.step >= 8 else loss

    with pytest.raises(TrainingDiverged):
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, callbacks=[Keep(), Stop()],
            progress=False, max_retries=0)
    assert all(torch.equal(a, b) for a, b in zip(snapshots[1], model.parameters()))


def test_persistent_fault_raises_after_max_retries():
    train, val = data()
    model, opt = model_and_opt()
    with pytest.raises(TrainingDiverged) as info:
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=3, callbacks=[NaNAt(range(10, 10_000))],
            progress=False, max_retries=3)
    err = info.value
    assert (err.epoch, err.step) == (2, 13)  # steps 10, 11, 12 rolled back; the 4th failure gives up
    assert "epoch 2" in str(err) and "step 13" in str(err) and f"lr {err.lr:.6g}" in str(err)
    assert err.lr == pytest.approx(1e-2 * 0.5 ** 3)
    assert len(err.history.find("rollback")) == 3
    assert finite(model)


def test_divergence_uses_the_policy_factor():
    train, val = data()
    model, opt = model_and_opt()
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, callbacks=[NaNAt({3})], progress=False,
            monitor=HealthMonitor(), policy=DSTPolicy(factor=0.2))
    assert h.find("rollback")[0]["lrs"] == pytest.approx([2e-3])


# -- policy in the loop -------------------------------------------------------------------------------------
class Scripted:
    """A monitor stand-in that returns a scripted verdict sequence."""

    def __init__(self, verdicts):
        self.verdicts, self.reason = list(verdicts), ""

    def update(self, train_loss, val_loss=None):
        verdict = self.verdicts.pop(0)
        self.reason = f"scripted {verdict.name}"
        return verdict


def test_early_stop_restores_best_weights():
    train, val = data()
    model, opt = model_and_opt(lr=0.05)
    params = {}

    class Keep(Callback):
        def on_epoch_end(self, state):
            params[state.epoch] = [p.detach().clone() for p in state.model.parameters()]

    script = [Health.HEALTHY] * 5 + [Health.OVERFITTING] + [Health.HEALTHY] * 4
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=10, monitor=Scripted(script),
            policy=DSTPolicy(), callbacks=[Keep()], progress=False)
    assert len(h) == 6 and [e["event"] for e in h.events] == ["restore_best", "early_stop"]
    best_epoch = min(range(1, 7), key=lambda e: h["val_loss"][e - 1])
    assert h.find("restore_best")[0]["best_epoch"] == best_epoch
    assert all(torch.equal(a, b) for a, b in zip(params[best_epoch], model.parameters()))


def test_policy_actions_change_the_run_and_are_logged():
    train, val = data()
    model, opt = model_and_opt()
    script = [Health.HEALTHY, Health.PLATEAU, Health.PLATEAU, Health.DIVERGING]
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=4, clip=2.0, monitor=Scripted(script),
            policy=DSTPolicy(factor=0.5, cooldown=1, clip_factor=0.25), progress=False)
    assert [(e["event"], e["epoch"]) for e in h.events] == [
        ("scale_lr", 2), ("rollback", 4), ("scale_lr", 4), ("tighten_clip", 4)]
    assert h["lr"] == [[1e-2], [1e-2], [5e-3], [5e-3]]  # lr used during each epoch
    assert opt.param_groups[0]["lr"] == pytest.approx(2.5e-3)
    assert h["clip_threshold"] == [2.0, 2.0, 2.0, 0.5]
    assert [e["health"] for e in h.events] == ["PLATEAU", "DIVERGING", "DIVERGING", "DIVERGING"]


def test_a_plain_function_is_a_policy():
    from dsat_tutorial.policy import Action

    def stop_at_two(health, context):
        return [Action("stop", "two is enough")] if context.epoch == 2 else []

    train, val = data()
    model, opt = model_and_opt()
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=5, monitor=HealthMonitor(),
            policy=stop_at_two, progress=False)
    assert len(h) == 2 and h.events[-1]["reason"] == "two is enough"


# -- arguments ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs"), ({"max_retries": -1}, "max_retries"), ({"clip": -1.0}, "clip"),
    ({"policy": DSTPolicy()}, "monitor"), ({"resume": True}, "checkpoint_dir"),
    ({"epochs": 2.0}, "epochs must be an integer >= 1"), ({"loss_fn": "mse"}, "loss_fn must be callable"),
    ({"clip": True}, "clip"), ({"policy": "dst", "monitor": HealthMonitor()}, "policy must be callable"),
    ({"metrics": [len]}, "metrics must be a dict"), ({"metrics": {"acc": 0.5}}, r"metrics\['acc'\] must be"),
])
def test_invalid_arguments(kwargs, match):
    train, val = data()
    model, opt = model_and_opt()
    args = {"loss_fn": MSE, "optimizer": opt, "epochs": 1, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        fit(model, train, val, **args)


def test_an_early_stopped_run_stays_stopped_on_resume(tmp_path):
    train, val = data()
    model, opt = model_and_opt()
    script = [Health.HEALTHY, Health.OVERFITTING]
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=5, monitor=Scripted(script), policy=DSTPolicy(),
        checkpoint_dir=tmp_path, progress=False)
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=5, monitor=Scripted([]), policy=DSTPolicy(),
            checkpoint_dir=tmp_path, resume=True, progress=False)
    assert len(h) == 2 and [e["event"] for e in h.events] == ["restore_best", "early_stop", "resume"]


def test_a_callback_can_stop_training_and_device_is_honoured():
    class StopAfterTwo(Callback):
        def on_epoch_end(self, state):
            state.stop_training = state.epoch == 2

    train, val = data()
    model, opt = model_and_opt()
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=5, callbacks=[StopAfterTwo()], device="cpu",
            progress=False)
    assert len(h) == 2 and h.events[-1]["event"] == "early_stop" and h.events[-1]["source"] == "callback"
