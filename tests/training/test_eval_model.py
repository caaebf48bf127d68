"""``fit(..., eval_model=...)`` with ``AverageParameters``: validating, tracking and saving another model.

References are independent of ``fit``: a hand-written SGD loop that calls
``AveragedModel.update_parameters`` after every step and evaluates the averaged model; the averaged
model's ``n_averaged`` counter for rollbacks; an uninterrupted run for resume.
"""

import pytest
import torch
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, TensorDataset

from dsat_tutorial.monitor import HealthMonitor
from dsat_tutorial.policy import Action
from dsat_tutorial.training import AverageParameters, Callback, CheckpointError, fit

MSE = torch.nn.MSELoss()


def loaders(seed=0, adverse_val=False):
    g = torch.Generator().manual_seed(7)
    X = torch.randn(96, 3, generator=g, dtype=torch.float64)
    y = X @ torch.tensor([[2.0], [-1.0], [0.5]], dtype=torch.float64) + 0.3 * torch.randn(
        96, 1, generator=g, dtype=torch.float64)
    train = DataLoader(TensorDataset(X[:64], y[:64]), batch_size=8, shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    val = DataLoader(TensorDataset(X[64:], -y[64:] if adverse_val else y[64:]), batch_size=16)
    return train, val


def make(seed=0, lr=0.1):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)).double()
    return model, torch.optim.SGD(model.parameters(), lr=lr), AveragedModel(model)


def val_loss(model, val):
    with torch.no_grad():
        return sum(float(MSE(model(x), y)) * len(y) for x, y in val) / sum(len(y) for _, y in val)


def test_recorded_val_loss_is_the_averaged_models_as_a_hand_loop_computes_it():
    train, val = loaders()
    model, opt, averaged = make()
    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=4, eval_model=averaged,
                  callbacks=[AverageParameters(averaged)], progress=False)
    ref_train, _ = loaders()
    ref, ref_opt, ref_avg = make()
    expected, of_trained = [], []
    for _ in range(4):
        for x, y in ref_train:
            ref_opt.zero_grad(set_to_none=True)
            MSE(ref(x), y).backward()
            ref_opt.step()
            ref_avg.update_parameters(ref)
        expected.append(val_loss(ref_avg, val))
        of_trained.append(val_loss(ref, val))
    assert history["val_loss"] == pytest.approx(expected, rel=1e-12, abs=0)
    assert all(abs(a - b) > 1e-4 for a, b in zip(expected, of_trained)), "the average must differ"
    assert int(averaged.n_averaged) == 32 == len(history.steps["step"])
    for a, b in zip(averaged.parameters(), ref_avg.parameters()):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-15)


def test_start_step_delays_the_average():
    train, val = loaders()
    model, opt, averaged = make()
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, eval_model=averaged,
        callbacks=[AverageParameters(averaged, start_step=10)], progress=False)
    assert int(averaged.n_averaged) == 16 - 10


def test_best_is_the_averaged_models_and_restore_best_loads_it_there():
    train, val = loaders(adverse_val=True)  # opposite-sign val targets: the best epoch is the first
    model, opt, averaged = make()
    seen = {}

    class Record(Callback):
        def on_epoch_end(self, state):
            seen[state.epoch] = {k: v.clone() for k, v in averaged.state_dict().items()}

    def policy(health, ctx):
        return [Action("restore_best", "test"), Action("stop", "test")] if ctx.epoch == 3 else []

    trained_before = []

    class Trained(Callback):
        def on_epoch_end(self, state):
            trained_before[:] = [p.detach().clone() for p in model.parameters()]

    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=5, eval_model=averaged,
                  monitor=HealthMonitor(), policy=policy,
                  callbacks=[AverageParameters(averaged), Record(), Trained()], progress=False)
    (event,) = history.find("restore_best")
    assert event["best_epoch"] == 1 and history["val_loss"][0] < min(history["val_loss"][1:])
    assert all(torch.equal(v, seen[1][k]) for k, v in averaged.state_dict().items())
    assert val_loss(averaged, val) == pytest.approx(history["val_loss"][0], rel=1e-12)
    # the trained model keeps its weights (restore_best acts on the validated model)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), trained_before))


def test_a_rollback_rewinds_the_averaged_model():
    # NaN at step 11 (epoch 2, batch 3): steps 8-10 are rolled back, so the average must not count them
    train, val = loaders()
    model, opt, averaged = make()

    class NaNAt(Callback):
        def on_loss(self, state, loss):
            return loss * float("nan") if state.step == 11 else loss

    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=3, eval_model=averaged,
                  callbacks=[AverageParameters(averaged), NaNAt()], progress=False)
    assert len(history.find("rollback")) == 1
    recorded = len(history.steps["step"])  # 8 + 3 rolled-back + 12 after the failure
    assert recorded == 23 and int(averaged.n_averaged) == recorded - 3


def _run(tmp, epochs, resume):
    train, val = loaders(adverse_val=True)
    model, opt, averaged = make()

    def policy(health, ctx):
        return [Action("restore_best", "test")] if ctx.epoch == 3 else []

    history = fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=epochs, eval_model=averaged,
                  callbacks=[AverageParameters(averaged)], monitor=HealthMonitor(), policy=policy,
                  checkpoint_dir=tmp, resume=resume, progress=False, seed=None if resume else 5)
    return model, averaged, history


def test_resume_with_an_averaged_model_is_bit_exact(tmp_path):
    full_model, full_avg, full = _run(tmp_path / "a", 5, False)
    _run(tmp_path / "b", 2, False)
    torch.manual_seed(4321)
    part_model, part_avg, part = _run(tmp_path / "b", 5, True)
    assert full.find("restore_best")
    for a, b in zip(full_model.state_dict().values(), part_model.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(full_avg.state_dict().values(), part_avg.state_dict().values()):
        assert torch.equal(a, b)
    assert part.steps == full.steps and part["val_loss"] == full["val_loss"]
    assert [e for e in part.events if e["event"] != "resume"] == full.events


def test_resume_with_an_eval_model_needs_one_in_the_checkpoint(tmp_path):
    train, val = loaders()
    model, opt, averaged = make()
    fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="eval_model"):
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=2, eval_model=averaged,
            checkpoint_dir=tmp_path, resume=True, progress=False)


def test_bad_arguments_are_refused():
    train, val = loaders()
    model, opt, averaged = make()
    with pytest.raises(ValueError, match="eval_model must be a torch.nn.Module"):
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, eval_model="average", progress=False)
    with pytest.raises(ValueError, match="averaged must be a torch.optim.swa_utils.AveragedModel"):
        AverageParameters(model)
    with pytest.raises(ValueError, match="start_step"):
        AverageParameters(averaged, start_step=-1)


def test_eval_model_with_schedulefree_is_refused():
    schedulefree = pytest.importorskip("schedulefree")
    train, val = loaders()
    model, _, averaged = make()
    opt = schedulefree.SGDScheduleFree(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="eval_model cannot be combined with SGDScheduleFree"):
        fit(model, train, val, loss_fn=MSE, optimizer=opt, epochs=1, eval_model=averaged, progress=False)
