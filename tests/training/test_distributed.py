"""``fit`` under ``torch.distributed``: 2 processes, gloo on CPU, DistributedDataParallel.

One ``torch.multiprocessing.spawn`` (module fixture) runs every distributed scenario in one process group
and saves what each rank saw; the tests compare:

* the ranks with each other (parameters bit for bit, the whole ``History`` but wall-clock seconds) after
  a run with a bold-driver rejection, a policy's plateau cut, a NaN injected on rank 1 only and a finite
  x50 loss spike on rank 0 only (skipped by the spike guard on both);
* the distributed run with an independent reference: one process, no process group, a sampler that
  replays DDP's global batches (rank 0's shard batch then rank 1's), batch size 2 x 8, the NaN and a
  x25 spike on the same global steps -- the same events and learning rates, parameters within 1e-5
  relative;
* negative controls with the agreement switched off: the same run without the NaN and the policy --
  the ranks record different histories and end with different weights; and with the NaN on rank 1 --
  DDP's collectives fall out of step and rank 0 is left waiting (caught by a short timeout);
* kill and resume: 3 epochs, then ``resume=True`` to 6 on both ranks, with dropout and a different
  seed per rank (so each rank must get its *own* RNG state back), equals the uninterrupted run.

Reference: PyTorch's DDP tutorial (``init_process_group``, ``DistributedSampler``, ``spawn``).
"""

from __future__ import annotations

import math
import os
from datetime import timedelta

import pytest
import torch

dist = pytest.importorskip("torch.distributed")
if not dist.is_available():  # pragma: no cover -- CPU builds of torch ship gloo
    pytest.skip("torch.distributed is not available", allow_module_level=True)

from torch.utils.data import DataLoader, DistributedSampler, Sampler, TensorDataset  # noqa: E402

from dsat_tutorial.controllers import BoldDriver  # noqa: E402
from dsat_tutorial.monitor import HealthMonitor, LossSpikeGuard  # noqa: E402
from dsat_tutorial.policy import DSTPolicy  # noqa: E402
from dsat_tutorial.training import CHECKPOINT_NAME, CheckpointError, InjectLoss, fit  # noqa: E402
from dsat_tutorial.training import distributed as ddp_agree  # noqa: E402

WORLD, BATCH, EPOCHS, NAN_STEP, SPIKE_STEP = 2, 8, 8, 20, 40
KILL_AFTER, RESUME_EPOCHS, CONTROL_EPOCHS = 3, 6, 4  # shorter runs where 8 epochs show nothing more
MSE = torch.nn.MSELoss()


def dataset(seed=0, n=256):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g)
    y = torch.sin(X @ torch.tensor([[1.5], [-1.0], [0.5], [2.0]])) + 0.3 * torch.randn(n, 1, generator=g)
    return TensorDataset(X[: n * 3 // 4], y[: n * 3 // 4]), TensorDataset(X[n * 3 // 4:], y[n * 3 // 4:])


def net(dropout=0.0):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(4, 32), torch.nn.Tanh()]
    if dropout:
        layers.append(torch.nn.Dropout(dropout))
    return torch.nn.Sequential(*layers, torch.nn.Linear(32, 1))


def controls(model, policy=True):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    kw = dict(optimizer=opt, schedulers=[BoldDriver(opt, increase=1.5, decrease=0.5)])
    if policy:
        kw.update(monitor=HealthMonitor(patience=2, min_delta=0.02), spike_guard=LossSpikeGuard(factor=5.0),
                  policy=DSTPolicy(cooldown=1, restore_best=False))  # the last epoch's weights are compared
    return kw


class GlobalBatches(Sampler):
    """The single-process replay of DDP's global batches: per step, rank 0's batch then rank 1's."""

    def __init__(self, data, batch, world=WORLD):
        self.shards = [DistributedSampler(data, num_replicas=world, rank=r, shuffle=True, seed=0)
                       for r in range(world)]
        self.batch = batch

    def set_epoch(self, epoch):
        for s in self.shards:
            s.set_epoch(epoch)

    def __iter__(self):
        orders = [list(s) for s in self.shards]
        for k in range(0, len(orders[0]), self.batch):
            for order in orders:
                yield from order[k:k + self.batch]

    def __len__(self):
        return sum(len(s) for s in self.shards)


def comparable(history):
    """A History as plain data without wall-clock times (and without the resume event)."""
    data = history.to_dict()
    for record in data["epochs"]:
        record.pop("seconds")
    data["events"] = [e for e in data["events"] if e["event"] != "resume"]
    return data


# -- the distributed side ------------------------------------------------------------------------------
def _ddp_run(rank, train, val, *, epochs, nan=True, dropout=0.0, seed=None, policy=True, group=None, **kw):
    from torch.nn.parallel import DistributedDataParallel as DDP
    model = DDP(net(dropout), process_group=group)
    if seed is not None:
        torch.manual_seed(seed)
    callbacks = []
    if nan:  # a NaN on rank 1 only; with the policy's spike guard also a finite spike on rank 0 only
        callbacks = [InjectLoss([NAN_STEP], float("nan"))] if rank == 1 else []
        callbacks += [InjectLoss([SPIKE_STEP], 50.0)] if rank == 0 and policy else []
    history = fit(model, train, val, loss_fn=MSE, epochs=epochs, callbacks=callbacks, progress=False,
                  **controls(model, policy), **kw)
    return {"history": comparable(history), "params": [p.detach().clone() for p in model.module.parameters()]}


def _worker(rank, init, out):
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=WORLD,
                            timeout=timedelta(seconds=30))
    torch.set_num_threads(1)
    train_set, val_set = dataset()

    def loaders():
        return (DataLoader(train_set, BATCH, sampler=DistributedSampler(train_set, shuffle=True, seed=0)),
                DataLoader(val_set, 16, sampler=DistributedSampler(val_set, shuffle=False)))

    results = {"primitives": {  # rank r has loss r + 1 on r + 2 samples: (1*2 + 2*3) / 5 = 1.6
        "step": ddp_agree.agree_step(float(rank + 1), rank + 2),
        "step_nan": ddp_agree.agree_step(math.nan if rank == 1 else 0.5, 8),
        "sums": ddp_agree.agree_sums({"a": rank + 0.5, "n": 3}),
        "flag": (ddp_agree.agree_flag(rank == 1), ddp_agree.agree_flag(False))}}
    results["agreed"] = _ddp_run(rank, *loaders(), epochs=EPOCHS)
    ckpt = os.path.join(out, "ckpt")  # dropout, and each rank draws its own masks
    results["whole"] = _ddp_run(rank, *loaders(), epochs=RESUME_EPOCHS, dropout=0.2, seed=100 + rank)
    _ddp_run(rank, *loaders(), epochs=KILL_AFTER, dropout=0.2, seed=100 + rank, checkpoint_dir=ckpt)
    results["resumed"] = _ddp_run(rank, *loaders(), epochs=RESUME_EPOCHS, dropout=0.2, checkpoint_dir=ckpt,
                                  seed=12345, resume=True)  # the resume must restore each rank's own RNG
    results["checkpoint_ranks"] = len(torch.load(os.path.join(ckpt, CHECKPOINT_NAME),
                                                 weights_only=True)["ranks"])
    # last: without agreement the ranks may take different decisions. Without the policy (whose "stop"
    # could end one rank's run early) and the NaN (a skipped backward on one rank only), every rank
    # still runs the same collectives, so the run ends instead of hanging.
    ddp_agree.AGREE = False
    results["no_agreement"] = _ddp_run(rank, *loaders(), epochs=CONTROL_EPOCHS, nan=False, policy=False)
    torch.save(results, os.path.join(out, f"rank{rank}.pt"))
    # the very last: the NaN on rank 1 without agreement. Rank 1 skips a backward that rank 0 takes, so
    # their DDP all-reduces pair up with the wrong partner from then on, and one is left without one.
    # DDP runs on a group with a short timeout, so a hang ends as an error.
    quick = dist.new_group(timeout=timedelta(seconds=5))
    try:
        run = _ddp_run(rank, *loaders(), epochs=CONTROL_EPOCHS, policy=False, group=quick)
        outcome = {"finished": True, "events": events(run["history"])}
    except RuntimeError as exc:  # gloo: timeout, or the peer closed the connection
        outcome = {"finished": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    ddp_agree.AGREE = True
    torch.save(outcome, os.path.join(out, f"nan_rank{rank}.pt"))


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("ddp"))
    torch.multiprocessing.spawn(_worker, args=(f"file://{out}/rendezvous", out), nprocs=WORLD, join=True)
    return [{**torch.load(os.path.join(out, f"rank{r}.pt"), weights_only=False),
             "nan_no_agreement": torch.load(os.path.join(out, f"nan_rank{r}.pt"), weights_only=False),
             "checkpoint_dir": os.path.join(out, "ckpt")} for r in range(WORLD)]


def reference_run():
    """One process, no process group: the union of the shards in DDP's global batches."""
    assert not ddp_agree.is_distributed()
    train_set, val_set = dataset()
    train = DataLoader(train_set, WORLD * BATCH, sampler=GlobalBatches(train_set, BATCH))
    val = DataLoader(val_set, 32)
    model = net()
    history = fit(model, train, val, loss_fn=MSE, epochs=EPOCHS, progress=False,
                  callbacks=[InjectLoss([NAN_STEP], float("nan")), InjectLoss([SPIKE_STEP], 25.0)],
                  **controls(model))
    return comparable(history), [p.detach() for p in model.parameters()]


@pytest.fixture(scope="module")
def reference():
    return reference_run()


def events(history):
    return [(e["event"], e["epoch"], e["step"], e.get("source")) for e in history["events"]]


def relative_gap(a, b):
    return float((a - b).abs().max() / b.abs().max())


# -- the tests -----------------------------------------------------------------------------------------
def test_the_agreement_primitives_sum_over_ranks(ranks):
    for r in ranks:
        p = r["primitives"]
        assert p["step"] == (1.6, False, 5)  # (1*2 + 2*3) / (2 + 3), by hand
        mean, bad, n = p["step_nan"]
        assert bad and math.isnan(mean) and n == 16  # rank 0's loss was finite: it learns of rank 1's NaN
        assert p["sums"] == {"a": 2.0, "n": 6.0}
        assert p["flag"] == (True, False)


def test_ranks_agree_bit_for_bit_after_a_nan_on_rank_1_only(ranks):
    a, b = ranks[0]["agreed"], ranks[1]["agreed"]
    assert a["history"] == b["history"]  # every record, event and reason, except wall-clock seconds
    assert all(torch.equal(p, q) for p, q in zip(a["params"], b["params"]))
    happened = events(a["history"])
    # the NaN was injected on rank 1 only, and rank 0 skipped and rolled back the same step
    assert ("rollback", 2, NAN_STEP, "divergence") in happened
    assert any(e[0] == "rollback" and e[3] == "BoldDriver" for e in happened)  # a bold-driver rejection
    assert any(e[0] == "scale_lr" and e[3] == "policy" for e in happened)  # a plateau cut
    # the x50 spike was injected on rank 0 only, and rank 1 skipped the same batch
    assert [e for e in happened if e[0] == "spike"] == [("spike", 4, SPIKE_STEP, "spike_guard")]
    assert a["history"]["steps"]["step"].count(NAN_STEP) == 0  # no update recorded for the NaN step


def test_the_distributed_run_equals_one_process_on_the_union_of_the_data(ranks, reference):
    ref_history, ref_params = reference
    ddp = ranks[0]["agreed"]["history"]
    assert events(ddp) == events(ref_history)
    assert [e["lr"] for e in ddp["epochs"]] == [e["lr"] for e in ref_history["epochs"]]
    assert ddp["steps"]["lr"] == ref_history["steps"]["lr"]
    for key in ("train_loss", "val_loss"):
        assert [e[key] for e in ddp["epochs"]] == pytest.approx([e[key] for e in ref_history["epochs"]],
                                                                  rel=1e-5)
    assert max(relative_gap(p, q) for p, q in zip(ranks[0]["agreed"]["params"], ref_params)) < 1e-5


def test_the_reference_decisions_were_not_close_calls(reference):
    """Margins: every bold-driver and monitor comparison is decided by far more than float32 rounding
    (~1e-6 relative between the two runs), so "same events" is a real test, not luck."""
    history, _ = reference
    train = [e["train_loss"] for e in history["epochs"]]
    val = [e["val_loss"] for e in history["epochs"]]
    accepted, margins = train[0], []
    for loss in train[1:]:  # the bold driver: accept iff the loss is below the last accepted one
        margins.append(abs(loss - accepted) / accepted)
        accepted = min(accepted, loss)
    for series in (train, val):  # HealthMonitor: improves iff below (1 - min_delta) * best
        best = series[0]
        for loss in series[1:]:
            margins.append(abs(loss - (1 - 0.02) * best) / best)
            best = loss if loss < (1 - 0.02) * best else best
    assert min(margins) > 1e-4
    # the spike guard (factor 5) compares each loss with an average of earlier accepted losses, which
    # lies between their minimum and maximum: no recorded loss came near 5x, and the spike far above it
    losses, spike = history["steps"]["loss"], [e for e in history["events"] if e["event"] == "spike"]
    assert max(loss / min(losses[:i]) for i, loss in enumerate(losses) if i >= 1) < 4.0
    assert len(spike) == 1 and spike[0]["loss"] > 2 * 5.0 * max(losses)  # twice what flagging needs


def test_without_agreement_the_ranks_decide_differently_and_drift_apart(ranks):
    """The negative control: same run without the policy and the NaN, agreement switched off."""
    a, b = ranks[0]["no_agreement"], ranks[1]["no_agreement"]
    assert [e["train_loss"] for e in a["history"]["epochs"]] != [e["train_loss"] for e in b["history"]["epochs"]]
    assert events(a["history"]) != events(b["history"])  # the bold driver rejected different epochs
    assert not all(torch.equal(p, q) for p, q in zip(a["params"], b["params"]))  # replicas diverged


def test_without_agreement_a_nan_on_one_rank_desynchronises_ddp(ranks):
    """The NaN run without agreement: rank 1 skips the step and finishes its run, with gradients
    averaged against rank 0's batches of a *different* step from then on; rank 0, one backward ahead,
    is left in an all-reduce nobody joins and fails (timeout, or the peer's closed connection)."""
    zero, one = ranks[0]["nan_no_agreement"], ranks[1]["nan_no_agreement"]
    assert one["finished"] and ("rollback", 2, NAN_STEP, "divergence") in one["events"]
    assert not zero["finished"], "rank 0 should have been left waiting in DDP's all-reduce"
    assert "RuntimeError" in zero["error"]


def test_kill_and_resume_on_every_rank_continues_bit_for_bit(ranks):
    for r in ranks:
        assert r["checkpoint_ranks"] == WORLD  # one file, every rank's RNG states
        whole, resumed = r["whole"], r["resumed"]
        assert resumed["history"] == whole["history"]
        assert all(torch.equal(p, q) for p, q in zip(resumed["params"], whole["params"]))
    assert all(torch.equal(p, q) for p, q in zip(ranks[0]["resumed"]["params"], ranks[1]["resumed"]["params"]))


def test_a_distributed_checkpoint_refuses_a_run_with_another_number_of_processes(ranks):
    class Wrapped(torch.nn.Module):  # the DDP checkpoint's parameter names, "module.*", without DDP
        def __init__(self):
            super().__init__()
            self.module = net(0.2)

    train_set, val_set = dataset()
    model = Wrapped()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(CheckpointError, match=r"written by 2 process\(es\), this run has 1"):
        fit(model, DataLoader(train_set, 16), DataLoader(val_set, 32), loss_fn=MSE, epochs=EPOCHS,
            progress=False, checkpoint_dir=ranks[0]["checkpoint_dir"], resume=True, **controls(model))
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))  # nothing was loaded


def test_fit_calls_set_epoch_from_zero_before_every_epoch():
    train_set, _ = dataset()

    class Recording(torch.utils.data.SequentialSampler):
        calls: list = []

        def set_epoch(self, epoch):
            self.calls.append(epoch)

    sampler = Recording(train_set)
    model = net()
    fit(model, DataLoader(train_set, 64, sampler=sampler), loss_fn=MSE, epochs=3, progress=False,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01))
    assert sampler.calls == [0, 1, 2]


def test_a_single_process_checkpoint_has_no_rank_states(tmp_path):
    train_set, _ = dataset()
    model = net()
    fit(model, DataLoader(train_set, 64), loss_fn=MSE, epochs=1, progress=False, checkpoint_dir=tmp_path,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01))
    assert "ranks" not in torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
