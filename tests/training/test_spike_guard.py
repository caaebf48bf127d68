"""Tests for fit(spike_guard=...): skip, warmup, rollback, checkpoint and bit-exact resume.

References are independent of the guard's internals: a run with the spiked batch removed from the data
(the skip must reproduce it bit for bit), weights captured by callbacks, and an uninterrupted run for
resume.
"""

import pytest
import torch

from dsat_tutorial.data import make_loaders, sine_forecast
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.monitor import HealthMonitor, LossSpikeGuard
from dsat_tutorial.policy import DSTPolicy
from dsat_tutorial.training import CHECKPOINT_NAME, Callback, TrainingDiverged, fit

MSE = torch.nn.MSELoss()


def batches(n_batches=8, size=16):
    task = sine_forecast(n_batches * size, 8, seed=1)
    return [(task.X[i * size:(i + 1) * size], task.y[i * size:(i + 1) * size]) for i in range(n_batches)]


def loaders():
    task = sine_forecast(160, 8, seed=1)
    return make_loaders(task.X, task.y, batch_size=16, seed=0)  # 8 training batches an epoch


def model_and_opt(seed=0, dropout=0.0, lr=1e-2):
    torch.manual_seed(seed)
    model = SequenceRegressor(1, 8, num_layers=2 if dropout else 1, dropout=dropout)
    return model, torch.optim.Adam(model.parameters(), lr=lr)


class SpikeAt(Callback):
    """Fault injection: the batch loss is multiplied by ``scale`` at chosen global steps (finite)."""

    def __init__(self, steps, scale=50.0):
        self.steps, self.scale = set(steps), scale

    def on_loss(self, state, loss):
        return loss * self.scale if state.step in self.steps else loss


class ParamsAtLoss(Callback):
    """The weights as they are when the loss of each chosen step is computed (before any update)."""

    def __init__(self, steps):
        self.steps, self.seen = set(steps), {}

    def on_loss(self, state, loss):
        if state.step in self.steps:
            self.seen[state.step] = [p.detach().clone() for p in state.model.parameters()]
        return loss


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_a_spiked_batch_is_skipped_exactly_as_if_it_were_not_in_the_data():
    clean = batches()
    x3, y3 = clean[3]
    corrupted = clean[:3] + [(x3, y3 + 30.0)] + clean[3:]  # a batch with wrong targets (loss ~ 900)
    spy = ParamsAtLoss({2, 3, 4})
    runs = {}
    for name, data, callbacks in (("spiked", corrupted, [spy]), ("removed", clean, [])):
        model, opt = model_and_opt()
        guard = LossSpikeGuard(factor=3.0, beta=0.9, warmup_steps=3, max_skips=3)
        h = fit(model, data, loss_fn=MSE, optimizer=opt, epochs=2, spike_guard=guard, callbacks=callbacks,
                progress=False)
        runs[name] = model, opt, h, guard
    (m_a, o_a, h_a, g_a), (m_b, o_b, h_b, g_b) = runs["spiked"], runs["removed"]
    assert same(m_a.state_dict().values(), m_b.state_dict().values())
    sa, sb = o_a.state_dict()["state"], o_b.state_dict()["state"]
    assert all(torch.equal(sa[k][n], sb[k][n]) for k in sa for n in sa[k])
    assert h_a.steps["loss"] == h_b.steps["loss"]  # every accepted batch saw the same weights
    assert h_a.spikes["step"] == [3, 12] and h_a["skipped_steps"] == [1, 1] and h_b.find("spike") == []
    assert [e["step"] for e in h_a.find("spike")] == [3, 12] and h_a.find("rollback") == []
    assert min(h_a.spikes["loss"]) > 100 * max(h_a.spikes["ema"])
    assert 3 not in h_a.steps["step"] and 12 not in h_a.steps["step"]
    assert same(spy.seen[3], spy.seen[4]) and not same(spy.seen[2], spy.seen[3])
    state_a, state_b = g_a.state_dict(), g_b.state_dict()
    assert state_a.pop("total_skips") == 2 and state_b.pop("total_skips") == 0
    assert state_a == state_b  # the spikes never entered the average


@pytest.mark.parametrize("warmup, skipped", [(3, False), (2, True)])
def test_no_skip_during_warmup(warmup, skipped):
    clean = batches()
    x2, y2 = clean[2]
    data = clean[:2] + [(x2, y2 + 30.0)] + clean[3:]  # the bad batch is the third loss
    model, opt = model_and_opt()
    h = fit(model, data, loss_fn=MSE, optimizer=opt, epochs=1, progress=False,
            spike_guard=LossSpikeGuard(warmup_steps=warmup))
    assert (2 not in h.steps["step"]) is skipped
    assert h.spikes["step"] == ([2] if skipped else [])
    if not skipped:
        assert h.steps["loss"][2] > 100 * h.steps["loss"][1]  # the spike went through, as configured


def _keep_epoch_end():
    kept = {}

    class Keep(Callback):
        def on_epoch_end(self, state):
            kept[state.epoch] = [p.detach().clone() for p in state.model.parameters()]

    return kept, Keep()


@pytest.mark.parametrize("spikes, rollback", [({10, 11}, False), ({10, 11, 12}, True)])
def test_more_than_max_skips_consecutive_spikes_roll_back_with_a_lower_lr(spikes, rollback):
    train, _ = loaders()
    model, opt = model_and_opt()
    kept, keep = _keep_epoch_end()
    spy = ParamsAtLoss({13})
    h = fit(model, train, loss_fn=MSE, optimizer=opt, epochs=3, progress=False,
            callbacks=[SpikeAt(spikes), keep, spy],
            spike_guard=LossSpikeGuard(factor=3.0, beta=0.9, warmup_steps=3, max_skips=2))
    assert [e["step"] for e in h.find("spike")] == sorted(spikes)  # only the injected ones
    assert h["skipped_steps"] == [0, len(spikes), 0]
    lr_before, lr_after = (h.steps["lr"][h.steps["step"].index(s)] for s in (9, 13))
    events = h.find("rollback")
    if not rollback:
        assert events == [] and lr_after == lr_before
        assert not same(spy.seen[13], kept[1])  # steps 8 and 9 updated the weights
        return
    assert len(events) == 1 and (events[0]["step"], events[0]["epoch"]) == (12, 2)
    assert events[0]["source"] == "spike_guard" and "3 consecutive loss spikes" in events[0]["reason"]
    assert events[0]["lrs"] == pytest.approx([0.5 * lr_before]) and lr_after == pytest.approx(0.5 * lr_before)
    assert same(spy.seen[13], kept[1])  # back to the state at the start of epoch 2


def test_the_spike_rollback_uses_the_policy_factor():
    train, val = loaders()
    model, opt = model_and_opt()
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, progress=False, callbacks=[SpikeAt({5, 6})],
            monitor=HealthMonitor(), policy=DSTPolicy(factor=0.2),
            spike_guard=LossSpikeGuard(warmup_steps=3, max_skips=1))
    assert h.find("rollback")[0]["lrs"] == pytest.approx([2e-3])


def test_persistent_spikes_stop_the_run_after_max_retries():
    train, _ = loaders()
    model, opt = model_and_opt()
    with pytest.raises(TrainingDiverged) as info:
        fit(model, train, loss_fn=MSE, optimizer=opt, epochs=3, progress=False, max_retries=2,
            callbacks=[SpikeAt(range(10, 10_000))], spike_guard=LossSpikeGuard(warmup_steps=3, max_skips=1))
    err = info.value
    # spikes 10, 11 -> rollback 1; 12, 13 -> rollback 2; 14, 15 -> a third failure > max_retries
    assert err.step == 15 and [e["step"] for e in err.history.find("rollback")] == [11, 13]
    assert err.lr == pytest.approx(1e-2 * 0.5 ** 2) and "consecutive loss spikes" in str(err)


# -- checkpoint and resume ---------------------------------------------------------------------------------
def _run(tmp, epochs, resume, guard=True):
    train, val = loaders()
    model, opt = model_and_opt(dropout=0.2)
    g = LossSpikeGuard(factor=3.0, beta=0.9, warmup_steps=3, max_skips=1) if guard else None
    h = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=epochs, clip=1.0, checkpoint_dir=tmp,
            resume=resume, progress=False, seed=None if resume else 7, spike_guard=g,
            callbacks=[SpikeAt({5, 20, 21, 22, 33})])
    return model, opt, h, g


def test_resume_mid_run_is_bit_exact_with_the_guard(tmp_path):
    full_model, full_opt, full, full_guard = _run(tmp_path / "a", 5, False)
    _run(tmp_path / "b", 2, False)
    saved = torch.load(tmp_path / "b" / CHECKPOINT_NAME, weights_only=True)
    assert saved["spike_guard"]["total_skips"] == 1 and saved["history"]["spikes"]["step"] == [5]
    torch.manual_seed(12345)  # disturb every RNG
    part_model, part_opt, part, part_guard = _run(tmp_path / "b", 5, True)
    assert full.spikes["step"] == [5, 20, 21, 22, 33] and [e["step"] for e in full.find("rollback")] == [21]
    assert same(full_model.state_dict().values(), part_model.state_dict().values())
    sa, sb = full_opt.state_dict()["state"], part_opt.state_dict()["state"]
    assert all(torch.equal(sa[k][n], sb[k][n]) for k in sa for n in sa[k])
    assert part.steps == full.steps and part.spikes == full.spikes
    assert [e for e in part.events if e["event"] != "resume"] == full.events
    assert part_guard.state_dict() == full_guard.state_dict()


def test_a_checkpoint_without_guard_state_resumes_with_a_fresh_guard(tmp_path):
    _run(tmp_path, 2, False, guard=False)
    path = tmp_path / CHECKPOINT_NAME
    payload = torch.load(path, weights_only=True)
    assert payload["spike_guard"] is None
    del payload["spike_guard"]  # as written before the guard existed
    payload["history"].pop("spikes")
    payload.pop("sha256", None)  # written before the guard existed, so before checkpoints had a digest
    torch.save(payload, path)
    _, _, h, guard = _run(tmp_path, 3, True)
    assert len(h) == 3 and guard.total_skips == 3 and guard.count == 5  # only epoch 3 (8 batches) counts
    assert h.spikes["step"] == [20, 21, 22]


def test_invalid_spike_guard_is_refused():
    model, opt = model_and_opt()
    with pytest.raises(ValueError, match="spike_guard must be None or a dsat_tutorial.monitor.LossSpikeGuard"):
        fit(model, batches(), loss_fn=MSE, optimizer=opt, epochs=1, progress=False, spike_guard=3.0)
