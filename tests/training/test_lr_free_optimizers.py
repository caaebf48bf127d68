"""Schedule-Free (``schedulefree``) and Prodigy (``prodigyopt``) inside ``fit``.

References are independent of ``fit``: a hand-written loop that follows the ``schedulefree`` README
(``optimizer.train()`` before training, ``optimizer.eval()`` before evaluating); the step size implied by
the parameter update itself (Prodigy: Delta p = -d lr m / (sqrt(v) + d eps); Schedule-Free AdamW:
Delta z = -lr g_hat, with ``p.grad`` holding g_hat after the step); an uninterrupted run for resume;
Schedule-Free's own refusal to step in eval mode for "a rollback never lands in eval mode".
"""

import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from dsat_tutorial.monitor import HealthMonitor
from dsat_tutorial.policy import Action
from dsat_tutorial.training import Callback, fit, lr_range_test

schedulefree = pytest.importorskip("schedulefree")
prodigyopt = pytest.importorskip("prodigyopt")

MSE = torch.nn.MSELoss()


def loaders(seed=0, n=96, adverse_val=False):
    g = torch.Generator().manual_seed(123)
    X = torch.randn(n, 4, generator=g, dtype=torch.float64)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]], dtype=torch.float64) + 0.1 * torch.randn(
        n, 1, generator=g, dtype=torch.float64)
    train = DataLoader(TensorDataset(X[:64], y[:64]), batch_size=8, shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    # adverse_val: validation targets of the opposite sign, so the better the fit the worse the val loss
    val = DataLoader(TensorDataset(X[64:], -y[64:] if adverse_val else y[64:]), batch_size=16)
    return train, val


def make(kind, seed=0, **kw):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    if kind == "sf":
        opt = schedulefree.AdamWScheduleFree(model.parameters(), **{"lr": 0.05, "warmup_steps": 5, **kw})
    else:
        opt = prodigyopt.Prodigy(model.parameters(), **{"lr": 1.0, **kw})
    return model, opt


def val_loss(model, val):
    with torch.no_grad():
        total = sum(float(MSE(model(x), y)) * len(y) for x, y in val)
    return total / sum(len(y) for _, y in val)


class NaNAt(Callback):
    def __init__(self, step):
        self.at = step

    def on_loss(self, state, loss):
        return loss * float("nan") if state.step == self.at else loss


# -- Schedule-Free: modes -------------------------------------------------------------------------------
def test_schedulefree_val_loss_is_the_eval_mode_loss_of_a_hand_loop():
    train, val = loaders()
    model, opt = make("sf")
    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=4, progress=False)
    # the README's loop: train() before the epoch, eval() before evaluating
    ref_train, _ = loaders()
    ref, ref_opt = make("sf")
    expected, train_mode_losses = [], []
    for _ in range(4):
        ref.train(), ref_opt.train()
        for x, y in ref_train:
            ref_opt.zero_grad(set_to_none=True)
            MSE(ref(x), y).backward()
            ref_opt.step()
        train_mode_losses.append(val_loss(ref, val))  # at y: what fit would record without eval()
        ref_opt.eval()
        expected.append(val_loss(ref, val))
    assert history["val_loss"] == pytest.approx(expected, rel=1e-12, abs=0)
    assert all(abs(a - b) > 1e-6 for a, b in zip(expected, train_mode_losses)), "x and y must differ"
    # fit returns in eval mode: the model holds x, the weights validated last
    assert opt.param_groups[0]["train_mode"] is False
    assert val_loss(model, val) == pytest.approx(history["val_loss"][-1], rel=1e-12, abs=0)
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-14)


def test_schedulefree_effective_lr_is_the_lr_the_z_update_implies():
    train, _ = loaders()
    model, opt = make("sf", warmup_steps=5)
    implied = []

    class Implied(Callback):
        def on_loss(self, state, loss):
            self.z = [opt.state[p]["z"].clone() if "z" in opt.state[p] else p.detach().clone()
                      for p in model.parameters()]
            return loss

        def on_step_end(self, state):
            p, z0 = next(iter(model.parameters())), self.z[0]
            g = p.grad  # Schedule-Free normalises the gradient in place: z -= lr * g_hat
            mask = g.abs() > 1e-8
            implied.append(float(((z0 - opt.state[p]["z"])[mask] / g[mask]).median()))

    history = fit(model, train, None, loss_fn=MSE, optimizer=opt, epochs=2, callbacks=[Implied()],
                  progress=False)
    assert history.steps["effective_lr"] == pytest.approx(implied, rel=1e-9)
    # the warmup, by hand: lr (k + 1) / 5 for the first 5 steps, then lr; the nominal lr stays 0.05
    assert implied[:6] == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05, 0.05], rel=1e-9)
    assert set(history.steps["lr"]) == {0.05}
    assert history["effective_lr"][-1] == pytest.approx([implied[-1]], rel=1e-9)


def test_schedulefree_rollback_lands_in_train_mode_and_halves_the_lr():
    # step 10 is in epoch 2 (8 steps an epoch): the snapshot of epoch 2 follows epoch 1's eval(); taken
    # in eval mode, the restored optimizer would refuse to step ("not in train mode")
    train, val = loaders()
    model, opt = make("sf", warmup_steps=0)
    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=3, callbacks=[NaNAt(10)],
                  progress=False)
    (event,) = history.find("rollback")
    assert event["epoch"] == 2 and event["lrs"] == [0.025]
    after = [i for i, s in enumerate(history.steps["step"]) if s > 10]
    assert {history.steps["effective_lr"][i] for i in after} == {0.025}
    assert len(history) == 3 and math.isfinite(history["val_loss"][-1])


def test_schedulefree_restore_best_restores_weights_and_optimizer_consistently():
    # the validation targets have the opposite sign: the val loss is lowest after epoch 1 and grows,
    # so restoring the best is not a no-op
    train, val = loaders(adverse_val=True)
    model, opt = make("sf", warmup_steps=0, lr=0.02)
    seen = {}

    class Record(Callback):
        def on_epoch_end(self, state):
            seen[state.epoch] = ([p.detach().clone() for p in model.parameters()],
                                 [opt.state[p]["z"].clone() for p in model.parameters()],
                                 opt.param_groups[0]["train_mode"])

    def policy(health, ctx):
        if ctx.epoch == 3:
            return [Action("scale_lr", "test", 0.5), Action("restore_best", "test"), Action("stop", "test")]
        return []

    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=5, monitor=HealthMonitor(),
                  policy=policy, callbacks=[Record()], progress=False)
    (event,) = history.find("restore_best")
    best = event["best_epoch"]
    assert best == 1 and history["val_loss"][0] < min(history["val_loss"][1:])
    assert all(mode is False for *_, mode in seen.values())  # callbacks see eval mode
    x_best, z_best, _ = seen[best]
    assert all(torch.equal(p, x) for p, x in zip(model.parameters(), x_best))
    assert all(torch.equal(opt.state[p]["z"], z) for p, z in zip(model.parameters(), z_best))
    assert opt.param_groups[0]["lr"] == 0.01  # the policy's lr change survives the restore
    assert val_loss(model, val) == pytest.approx(history["val_loss"][best - 1], rel=1e-12)


# -- Prodigy -----------------------------------------------------------------------------------------
class ProdigyImplied(Callback):
    """d lr from the update: p_new = p - d lr m / (sqrt(v) + d_new eps) (Prodigy with beta1 > 0)."""

    def __init__(self, opt):
        self.opt, self.implied, self.d_before = opt, [], {}  # d_before: step -> d when the step began

    def on_loss(self, state, loss):
        self.p = [p.detach().clone() for p in state.model.parameters()]
        self.d_before[state.step] = self.opt.param_groups[0]["d"]
        return loss

    def on_step_end(self, state):
        p, p0 = next(iter(state.model.parameters())), self.p[0]
        st, d = self.opt.state[p], self.opt.param_groups[0]["d"]
        direction = st["exp_avg"] / (st["exp_avg_sq"].sqrt() + d * self.opt.param_groups[0]["eps"])
        mask = direction.abs() > 1e-6
        self.implied.append(float(((p0 - p.detach())[mask] / direction[mask]).median()))


def test_prodigy_effective_lr_is_d_times_lr_as_the_update_implies_and_rollback_scales_lr():
    train, _ = loaders()
    model, opt = make("prodigy")
    probe = ProdigyImplied(opt)
    history = fit(model, train, None, loss_fn=MSE, optimizer=opt, epochs=3, callbacks=[probe, NaNAt(12)],
                  progress=False)
    eff = history.steps["effective_lr"]
    assert eff == pytest.approx(probe.implied, rel=1e-8)
    assert max(eff) > 100 * min(eff), "d must grow for the test to mean something"
    # the rollback at step 12 halves Prodigy's lr multiplier (the group lr), so d lr halves with it
    (event,) = history.find("rollback")
    assert event["lrs"] == [0.5] and opt.param_groups[0]["lr"] == 0.5
    for i, s in enumerate(history.steps["step"]):  # step 12 is skipped; steps 8-11 were rolled back
        assert eff[i] == pytest.approx(probe.d_before[s] * (1.0 if s < 12 else 0.5), rel=1e-12)
        assert history.steps["lr"][i] == (1.0 if s < 12 else 0.5)


def test_prodigy_with_bias_correction_records_the_corrected_step():
    train, _ = loaders()
    model, opt = make("prodigy", use_bias_correction=True)
    probe = ProdigyImplied(opt)
    history = fit(model, train, None, loss_fn=MSE, optimizer=opt, epochs=1, callbacks=[probe], progress=False)
    assert history.steps["effective_lr"] == pytest.approx(probe.implied, rel=1e-8)


def test_policy_scale_lr_acts_on_prodigys_multiplier():
    train, val = loaders()
    model, opt = make("prodigy")
    probe = ProdigyImplied(opt)

    def policy(health, ctx):
        return [Action("scale_lr", "test", 0.25)] if ctx.epoch == 1 else []

    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, monitor=HealthMonitor(),
                  policy=policy, callbacks=[probe], progress=False)
    assert history["lr"] == [[1.0], [0.25]]
    steps = history.steps
    for i in [i for i, e in enumerate(steps["epoch"]) if e == 2]:
        d = probe.d_before[steps["step"][i]]
        assert steps["effective_lr"][i] == pytest.approx(d * 0.25, rel=1e-12)
        assert probe.implied[i] == pytest.approx(d * 0.25, rel=1e-8)


# -- resume ------------------------------------------------------------------------------------------
def _run(kind, tmp, epochs, resume):
    train, val = loaders(adverse_val=True)
    model, opt = make(kind)

    def policy(health, ctx):  # exercises the best snapshot (with Schedule-Free's optimizer state)
        return [Action("restore_best", "test")] if ctx.epoch == 3 else []

    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=epochs, monitor=HealthMonitor(),
                  policy=policy, checkpoint_dir=tmp, resume=resume, progress=False,
                  seed=None if resume else 3)
    return model, opt, history


@pytest.mark.parametrize("kind", ["sf", "prodigy"])
def test_resume_is_bit_exact(tmp_path, kind):
    full_model, full_opt, full = _run(kind, tmp_path / "a", 5, False)
    _run(kind, tmp_path / "b", 2, False)
    torch.manual_seed(999)
    part_model, part_opt, part = _run(kind, tmp_path / "b", 5, True)
    assert full.find("restore_best")  # the best snapshot took part
    for a, b in zip(full_model.state_dict().values(), part_model.state_dict().values()):
        assert torch.equal(a, b)
    sa, sb = full_opt.state_dict(), part_opt.state_dict()
    for k in sa["state"]:
        for name, value in sa["state"][k].items():
            other = sb["state"][k][name]
            assert torch.equal(value, other) if torch.is_tensor(value) else value == other
    assert sa["param_groups"] == sb["param_groups"]  # d, k, weight_sum, train_mode, ...
    assert part.steps == full.steps
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in full.epochs]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in part.epochs] == strip
    assert [e for e in part.events if e["event"] != "resume"] == full.events


# -- lr_range_test ----------------------------------------------------------------------------------
def test_range_test_refuses_prodigy_saying_why():
    train, _ = loaders()
    model, opt = make("prodigy")
    with pytest.raises(ValueError, match=r"Prodigy.*d \* lr.*d0"):
        lr_range_test(model, train, MSE, opt, 1e-4, 1.0, num_steps=10)


def test_range_test_refuses_schedulefree_warmup_saying_why():
    train, _ = loaders()
    model, opt = make("sf", warmup_steps=5)
    with pytest.raises(ValueError, match="warmup_steps"):
        lr_range_test(model, train, MSE, opt, 1e-4, 1.0, num_steps=10)


@pytest.mark.parametrize("trained", [False, True], ids=["fresh", "after-fit"])
def test_range_test_sweeps_schedulefree_in_train_mode_and_restores_everything(trained):
    # a sweep outside train mode would raise inside schedulefree's step()
    train, _ = loaders()
    model, opt = make("sf", warmup_steps=0)
    if trained:
        fit(model, train, None, loss_fn=MSE, optimizer=opt, epochs=1, progress=False)  # leaves eval mode
    before = [p.detach().clone() for p in model.parameters()]
    state = {k: {n: t.clone() for n, t in v.items()} for k, v in opt.state_dict()["state"].items()}
    result = lr_range_test(model, train, MSE, opt, 1e-4, 1.0, num_steps=12)
    assert len(result.lrs) >= 3 and not math.isnan(result.losses[0])
    assert opt.param_groups[0]["train_mode"] is False and opt.param_groups[0]["lr"] == 0.05
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    after = opt.state_dict()["state"]
    assert state.keys() == after.keys()
    assert all(torch.equal(t, after[k][n]) for k, v in state.items() for n, t in v.items())


def test_schedulefree_checkpoint_and_callbacks_hold_eval_weights_after_a_policy_rollback(tmp_path):
    # the policy's rollback restores the start-of-epoch snapshot, taken in train mode (y); the
    # checkpoint written after it must still hold x, as the schedulefree README asks
    train, val = loaders()
    model, opt = make("sf", warmup_steps=0)
    modes = []

    class Mode(Callback):
        def on_epoch_end(self, state):
            modes.append(opt.param_groups[0]["train_mode"])

    def policy(health, ctx):
        return [Action("rollback", "test")] if ctx.epoch == 2 else []

    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, monitor=HealthMonitor(),
                  policy=policy, callbacks=[Mode()], checkpoint_dir=tmp_path, progress=False)
    assert history.find("rollback") and modes == [False, False]
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["optimizer"]["param_groups"][0]["train_mode"] is False
    # and the weights saved are the ones fit returns (eval mode at the end, x)
    assert all(torch.equal(saved["model"][k], v) for k, v in model.state_dict().items())
