"""fit's reliability under injected faults (issue 12, defects 3-5) and the rollback-vs-step-count decision.

Faults are injected from outside (a callback that breaks a weight, bytes flipped in the file, a
checkpoint whose RNG state or param groups do not fit); the references are the states before the call,
read with torch's own ``state_dict`` and RNG getters.
"""

import math
import random

import numpy as np
import pytest
import torch

from dsat_tutorial.controllers import ScheduleLR
from dsat_tutorial.data import make_loaders, sine_forecast
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.schedules import CosineDecay
from dsat_tutorial.training import CHECKPOINT_NAME, Callback, CheckpointError, fit
from dsat_tutorial.training import checkpoint as ckpt

MSE = torch.nn.MSELoss()


def data():
    task = sine_forecast(96, 8, seed=1)
    return make_loaders(task.X, task.y, batch_size=16, seed=0)


def model_and_opt(seed=0, groups=1):
    torch.manual_seed(seed)
    model = SequenceRegressor(1, 8)
    params = list(model.parameters())
    if groups == 1:
        return model, torch.optim.Adam(params, lr=1e-2)
    return model, torch.optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 5e-3}], lr=1e-2)


def all_finite(tree) -> bool:
    if isinstance(tree, torch.Tensor):
        return not tree.is_floating_point() or bool(torch.isfinite(tree).all())
    if isinstance(tree, dict):
        return all(all_finite(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return all(all_finite(v) for v in tree)
    return True


class BreakWeightAfterLastBatch(Callback):
    """Writes inf into one weight after the last batch of ``epoch`` (an update that overflowed)."""

    def __init__(self, epoch, batches):
        self.epoch, self.batches = epoch, batches

    def on_step_end(self, state):
        if state.epoch == self.epoch and state.batch == self.batches - 1:
            with torch.no_grad():
                next(state.model.parameters()).view(-1)[0] = math.inf


# ------------------------------------------------------------------ defect 3: non-finite weights
def test_non_finite_weights_at_epoch_end_are_never_checkpointed_or_kept(tmp_path):
    train, val = data()
    model, opt = model_and_opt()
    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, progress=False,
                  callbacks=[BreakWeightAfterLastBatch(2, len(train))], checkpoint_dir=tmp_path)
    saved = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert all_finite(saved["model"]) and all_finite(saved["optimizer"]["state"])
    assert all_finite(model.state_dict())
    (event,) = [e for e in history.events if e["event"] == "rollback"]
    assert event["source"] == "nonfinite_state" and event["epoch"] == 2
    assert "model." in event["reason"] and "non-finite" in event["reason"]
    assert event["lrs"] == [pytest.approx(1e-2 * 0.5)]  # lowered, as a divergence rollback does
    assert math.isfinite(history["val_loss"][-1])
    # the run goes on from the restored state: a third epoch trains normally
    more = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=3, progress=False, checkpoint_dir=tmp_path,
               resume=True)
    assert math.isfinite(more["train_loss"][-1]) and all_finite(model.state_dict())


# ------------------------------------------------------------------ defect 4: corrupted checkpoint
def test_flipped_bytes_inside_a_tensor_record_raise_checkpoint_error_naming_the_file(tmp_path):
    train, val = data()
    model, opt = model_and_opt()
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, progress=False, checkpoint_dir=tmp_path)
    path = tmp_path / CHECKPOINT_NAME
    raw = bytearray(path.read_bytes())
    # the weights are stored as raw little-endian float32 records: find the first weight's bytes and flip one
    first = next(iter(model.state_dict().values())).detach().contiguous().view(-1)[:4].numpy().tobytes()
    at = bytes(raw).find(first)
    assert at > 0
    raw[at + 1] ^= 0xFF
    path.write_bytes(bytes(raw))
    fresh, fresh_opt = model_and_opt(seed=1)
    with pytest.raises(CheckpointError, match="do not match the SHA-256 digest") as info:
        fit(fresh, train, val, loss_fn=MSE, optimizer=fresh_opt, epochs=2, progress=False,
            checkpoint_dir=tmp_path, resume=True)
    assert info.value.path == str(path)


def test_payload_digest_sees_every_kind_of_change():
    base = {"format": ckpt.FORMAT, "w": torch.arange(4.0), "n": 3, "xs": [1.0, None, "a"], "flag": True}
    digest = ckpt.payload_digest(base)
    changed = [{**base, "w": torch.arange(4.0).flip(0)}, {**base, "w": torch.arange(4.0).reshape(2, 2)},
               {**base, "w": torch.arange(4.0).double()}, {**base, "n": 4}, {**base, "xs": [1.0, None, "b"]},
               {**base, "flag": 1}, {k: v for k, v in base.items() if k != "n"}]
    assert all(ckpt.payload_digest(c) != digest for c in changed)
    assert ckpt.payload_digest({**base, "sha256": "anything"}) == digest


# ------------------------------------------------------------------ defect 5: a failed resume changes nothing
def _everything(model, opt):
    return {"model": {k: v.clone() for k, v in model.state_dict().items()},
            "opt": opt.state_dict(), "torch_rng": torch.get_rng_state(), "py_rng": random.getstate(),
            "np_rng": np.random.get_state()[1].copy()}


def _assert_unchanged(before, model, opt):
    after = _everything(model, opt)
    assert all(torch.equal(before["model"][k], v) for k, v in after["model"].items())
    assert after["opt"] == before["opt"]
    assert torch.equal(after["torch_rng"], before["torch_rng"]) and after["py_rng"] == before["py_rng"]
    assert np.array_equal(after["np_rng"], before["np_rng"])


def test_a_resume_that_fails_on_param_groups_leaves_the_model_untouched(tmp_path):
    train, val = data()
    model, opt = model_and_opt(groups=2)
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, progress=False, checkpoint_dir=tmp_path)
    fresh, fresh_opt = model_and_opt(seed=1, groups=1)
    before = _everything(fresh, fresh_opt)
    with pytest.raises(CheckpointError, match="does not match this run"):
        fit(fresh, train, val, loss_fn=MSE, optimizer=fresh_opt, epochs=2, progress=False,
            checkpoint_dir=tmp_path, resume=True)
    _assert_unchanged(before, fresh, fresh_opt)


def test_a_corrupt_rng_state_is_a_checkpoint_error_and_nothing_changes(tmp_path):
    train, val = data()
    model, opt = model_and_opt()
    sched = ScheduleLR(opt, CosineDecay(1e-2, 50))
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, progress=False, checkpoint_dir=tmp_path,
        schedulers=sched)
    path = tmp_path / CHECKPOINT_NAME
    payload = ckpt.load_checkpoint(path)
    payload["rng"]["torch"] = torch.zeros(7, dtype=torch.uint8)  # not a generator state
    ckpt.save_checkpoint(path, {k: v for k, v in payload.items() if k != "sha256"})
    fresh, fresh_opt = model_and_opt(seed=1)
    fresh_sched = ScheduleLR(fresh_opt, CosineDecay(1e-2, 50))
    fresh_opt.step(), fresh_sched.step()
    sched_before = fresh_sched.state_dict()
    before = _everything(fresh, fresh_opt)
    with pytest.raises(CheckpointError, match=CHECKPOINT_NAME):
        fit(fresh, train, val, loss_fn=MSE, optimizer=fresh_opt, epochs=2, progress=False,
            checkpoint_dir=tmp_path, resume=True, schedulers=fresh_sched)
    _assert_unchanged(before, fresh, fresh_opt)
    assert fresh_sched.state_dict() == sched_before


# ------------------------------------------------------------------ rollback vs the schedule's step count
class NaNLossAt(Callback):
    def __init__(self, step):
        self.at = step

    def on_loss(self, state, loss):
        return loss * math.nan if state.step == self.at else loss


def test_a_divergence_rollback_rewinds_the_schedule_with_the_weights():
    """Decision: the schedule clock counts the updates the weights keep, so a rollback replays the epoch.

    3 epochs x B batches, a NaN loss at batch 3 of epoch 2: batches 0-2 of epoch 2 are undone with the
    weights (the schedule rewinds to the start of epoch 2), so the clock ends at 3B - 1 - 3 updates.
    """
    train, val = data()
    batches = len(train)
    model, opt = model_and_opt()
    sched = ScheduleLR(opt, CosineDecay(1e-2, 3 * batches))
    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=3, progress=False, schedulers=sched,
                  callbacks=[NaNLossAt(batches + 3)])
    assert len(history.steps["loss"]) == 3 * batches - 1  # successful updates, including the undone ones
    assert sched.last_epoch == 3 * batches - 1 - 3
    # the rolled-back schedule replays epoch 2 from its start, at half the lr (the rollback factor)
    lrs = history.steps["lr"]
    assert lrs[batches + 3] == pytest.approx(0.5 * CosineDecay(1e-2, 3 * batches)(batches), rel=1e-12)
