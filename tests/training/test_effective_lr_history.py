"""The ``effective_lr`` column of ``History``: old histories still load, plain optimizers record their lr.

References: a hand-built 0.1-format history dict (no ``effective_lr``); PyTorch's ``StepLR`` lr sequence
computed by hand for what a plain optimizer applies.
"""

import json

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from dsat_tutorial.history import STEP_KEYS, History
from dsat_tutorial.training import fit


def test_a_history_written_before_effective_lr_existed_loads():
    old = {"epochs": [{"epoch": 1, "train_loss": 0.5, "val_loss": None, "lr": [0.1]}],
           "steps": {"epoch": [1, 1], "step": [0, 1], "loss": [0.6, 0.4], "lr": [0.1, 0.1],
                     "grad_norm": [1.0, 0.8]},
           "events": []}
    history = History.from_json(json.dumps(old))
    assert history.steps["effective_lr"] == [None, None]
    assert history.steps["loss"] == [0.6, 0.4] and history["lr"] == [[0.1]]
    assert history["effective_lr"] == [None]
    assert list(history.steps) == list(STEP_KEYS)
    assert History.from_dict(history.to_dict()).to_dict() == history.to_dict()


def test_a_plain_optimizer_records_its_nominal_lr_as_effective():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(32, 2, generator=g), torch.randn(32, 1, generator=g)
    train = DataLoader(TensorDataset(X, y), batch_size=8)
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # per epoch by default
    history = fit(model, train, None, loss_fn=torch.nn.MSELoss(), optimizer=opt, epochs=3,
                  schedulers=[sched], progress=False)
    by_hand = [0.1 * 0.5 ** (e - 1) for e in (1, 2, 3) for _ in range(4)]
    assert history.steps["effective_lr"] == history.steps["lr"]
    assert history.steps["lr"] == pytest.approx(by_hand, rel=1e-15)
    assert history["effective_lr"] == history["lr"]
