"""Tests for dsat_tutorial.monitor.recurrent_gain and the RecordRecurrentGain fit callback.

References: torch.linalg.matrix_norm(ord=2) and numpy's SVD on the same matrices (sliced into gate
blocks by hand, in the order PyTorch documents), closed forms for matrices built from scaled orthogonal
blocks, and PyTorch's own orthogonal / spectral_norm parametrizations.
"""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations

from dsat_tutorial import recurrent_gain as top_level
from dsat_tutorial.data import make_loaders, sine_forecast
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.monitor import RecordRecurrentGain, recurrent_gain
from dsat_tutorial.training import History, fit


def numpy_sigma(w):
    return float(np.linalg.svd(w.detach().double().numpy(), compute_uv=False)[0])


def torch_sigma(w):
    return float(torch.linalg.matrix_norm(w.detach().double(), ord=2))


class Net(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.encoder = nn.Sequential(layer)
        self.head = nn.Linear(4, 1)


@pytest.mark.parametrize("kind, gates", [("RNN", ()), ("LSTM", ("i", "f", "g", "o")), ("GRU", ("r", "z", "n"))])
def test_every_layer_direction_and_gate_against_matrix_norm_and_numpy_svd(kind, gates):
    torch.manual_seed(0)
    layer = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True)
    gain = recurrent_gain(Net(layer))
    expected_keys, H = [], 4
    for k in range(2):
        for suffix in ("", "_reverse"):
            key = f"encoder.0.weight_hh_l{k}{suffix}"
            expected_keys += [key] + [f"{key}[{g}]" for g in gates]
            w = getattr(layer, f"weight_hh_l{k}{suffix}")
            assert gain[key] == pytest.approx(torch_sigma(w), rel=1e-12)
            assert gain[key] == pytest.approx(numpy_sigma(w), rel=1e-10)
            for j, g in enumerate(gates):  # rows j*H:(j+1)*H are gate g in PyTorch's documented order
                assert gain[f"{key}[{g}]"] == pytest.approx(numpy_sigma(w[j * H:(j + 1) * H]), rel=1e-10)
                assert gain[f"{key}[{g}]"] <= gain[key] + 1e-12
    assert list(gain) == expected_keys
    assert all(isinstance(v, float) for v in gain.values())
    assert list(recurrent_gain(layer, gates=False)) == [k.removeprefix("encoder.0.") for k in expected_keys
                                                        if "[" not in k]


def test_closed_form_for_scaled_orthogonal_gate_blocks():
    torch.manual_seed(1)
    gru, H, scales = nn.GRU(2, 5), 5, (0.5, 2.0, 1.5)
    with torch.no_grad():
        for j, c in enumerate(scales):
            q, _ = torch.linalg.qr(torch.randn(H, H, dtype=torch.float64))
            gru.weight_hh_l0[j * H:(j + 1) * H] = (c * q).float()
    gain = recurrent_gain(gru)
    assert [gain[f"weight_hh_l0[{g}]"] for g in "rzn"] == pytest.approx(scales, abs=1e-6)
    # W^T W = sum_j c_j^2 Q_j^T Q_j = (sum_j c_j^2) I, so sigma_max = sqrt(sum c_j^2)
    assert gain["weight_hh_l0"] == pytest.approx(np.sqrt(sum(c * c for c in scales)), abs=1e-6)


def test_lstm_with_projection_and_cells():
    torch.manual_seed(2)
    lstm = nn.LSTM(3, 6, proj_size=2)  # weight_hh_l0 is (4*6, 2)
    gain = recurrent_gain(lstm)
    w = lstm.weight_hh_l0
    assert gain["weight_hh_l0"] == pytest.approx(numpy_sigma(w), rel=1e-10)
    assert gain["weight_hh_l0[o]"] == pytest.approx(numpy_sigma(w[18:24]), rel=1e-10)
    cells = nn.ModuleDict({"a": nn.LSTMCell(2, 3), "b": nn.GRUCell(2, 3), "c": nn.RNNCell(2, 3)})
    gain = recurrent_gain(cells)
    assert list(gain) == ["a.weight_hh"] + [f"a.weight_hh[{g}]" for g in "ifgo"] + \
        ["b.weight_hh"] + [f"b.weight_hh[{g}]" for g in "rzn"] + ["c.weight_hh"]
    assert gain["b.weight_hh[z]"] == pytest.approx(numpy_sigma(cells["b"].weight_hh[3:6]), rel=1e-10)


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_an_orthogonal_parametrization_has_gain_one(dtype, tol):
    torch.manual_seed(3)
    rnn = nn.RNN(2, 8, num_layers=2).to(dtype)
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(5.0)
    parametrizations.orthogonal(rnn, "weight_hh_l0")
    parametrizations.orthogonal(rnn, "weight_hh_l1")
    assert recurrent_gain(rnn) == pytest.approx({"weight_hh_l0": 1.0, "weight_hh_l1": 1.0}, abs=tol)
    opt = torch.optim.SGD(rnn.parameters(), lr=0.5)
    for _ in range(3):  # the parametrized weight stays orthogonal while its unconstrained original moves
        opt.zero_grad()
        rnn(torch.randn(5, 4, 2, dtype=dtype))[0].pow(2).sum().backward()
        opt.step()
    # after training, float32's matrix_exp is orthogonal to ~3e-6 only (measured: 2.3e-6)
    assert recurrent_gain(rnn) == pytest.approx({"weight_hh_l0": 1.0, "weight_hh_l1": 1.0},
                                                abs=1e-5 if dtype == torch.float32 else tol)
    assert abs(numpy_sigma(rnn.parametrizations.weight_hh_l0.original) - 1.0) > 0.1  # not what counts


def test_spectral_norm_is_read_without_advancing_its_power_iteration():
    torch.manual_seed(4)
    gru = nn.GRU(2, 6)
    with torch.no_grad():
        gru.weight_hh_l0.mul_(3.0)
    parametrizations.spectral_norm(gru, "weight_hh_l0")
    sn = gru.parametrizations.weight_hh_l0[0]
    u, v = sn._u.clone(), sn._v.clone()
    gain = recurrent_gain(gru)
    assert torch.equal(sn._u, u) and torch.equal(sn._v, v) and sn.training and gru.training
    gru.eval()
    assert gain["weight_hh_l0"] == pytest.approx(torch_sigma(gru.weight_hh_l0), rel=1e-12)
    assert gain["weight_hh_l0"] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("model", [nn.Linear(2, 2), "lstm"])
def test_a_model_without_recurrent_layers_is_refused(model):
    with pytest.raises(ValueError, match="model must"):
        recurrent_gain(model)


def _fit(callbacks, cell="lstm", parametrization=None, epochs=3):
    task = sine_forecast(96, 8, seed=0)
    train, val = make_loaders(task.X, task.y, batch_size=16, seed=0)
    torch.manual_seed(0)
    model = SequenceRegressor(1, 6, cell=cell)
    if parametrization is not None:
        getattr(parametrizations, parametrization)(model.rnn, "weight_hh_l0")
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    h = fit(model, train, val, loss_fn=nn.MSELoss(), optimizer=opt, epochs=epochs, callbacks=callbacks,
            progress=False)
    return model, h


def test_the_callback_records_the_gain_of_every_epoch():
    seen = []

    class Spy:  # the weights at each epoch's end, measured independently
        def on_epoch_end(self, state):
            seen.append(torch_sigma(state.model.rnn.weight_hh_l0))

    model, h = _fit([RecordRecurrentGain(), Spy()])
    gains = h["recurrent_gain"]
    assert len(gains) == 3 and list(gains[0]) == ["rnn.weight_hh_l0"] + [f"rnn.weight_hh_l0[{g}]" for g in "ifgo"]
    assert [g["rnn.weight_hh_l0"] for g in gains] == pytest.approx(seen, rel=1e-12)
    assert gains[-1] == recurrent_gain(model)
    assert len({g["rnn.weight_hh_l0"] for g in gains}) == 3  # lr 0.05 moves the weights every epoch
    assert History.from_json(h.to_json())["recurrent_gain"] == gains
    _, plain = _fit([])
    assert plain["recurrent_gain"] == [None] * 3


@pytest.mark.parametrize("parametrization, tol", [("orthogonal", 1e-6), ("spectral_norm", 2e-2)])
def test_recording_does_not_change_the_run_and_the_parametrized_gain_stays_at_one(parametrization, tol):
    model_a, h_a = _fit([RecordRecurrentGain(gates=False)], cell="rnn", parametrization=parametrization)
    model_b, h_b = _fit([], cell="rnn", parametrization=parametrization)
    assert all(torch.equal(a, b) for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values()))
    assert h_a.steps == h_b.steps
    # spectral_norm divides by a one-step power-iteration estimate of sigma: 1 approximately (measured
    # 1.008, 1.0007, 1.001 at lr 0.05), not exactly
    assert [g["rnn.weight_hh_l0"] for g in h_a["recurrent_gain"]] == pytest.approx([1.0] * 3, abs=tol)


@pytest.mark.parametrize("kwargs, match", [({"gates": 1}, "gates must be True or False"),
                                           ({"key": ""}, "key must be a non-empty string")])
def test_callback_arguments_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RecordRecurrentGain(**kwargs)


def test_exported_at_the_top_level():
    assert top_level is recurrent_gain
