"""dsat_tutorial.cost against independent counts: PyTorch's FlopCounterMode and hand counts of what
autograd saves."""
import time

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from dsat_tutorial.cost import best_time, dense_flops, rnn_flops, saved_tensor_bytes


def _torch_flops(fn):
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


@pytest.mark.parametrize("B, T, D, H, O", [(1, 1, 1, 1, 0), (4, 7, 3, 5, 2), (32, 20, 10, 20, 1), (3, 2, 16, 8, 0)])
def test_rnn_flops_match_flop_counter_on_nn_rnn(B, T, D, H, O):
    torch.manual_seed(0)
    rnn = torch.nn.RNN(D, H, batch_first=True)
    head = torch.nn.Linear(H, O) if O else None
    x = torch.randn(B, T, D)

    def forward():
        out = rnn(x)[0]                      # (B, T, H)
        return head(out) if head else out

    assert rnn_flops(B, T, D, H, O) == _torch_flops(forward)


@pytest.mark.parametrize("B, i, o", [(1, 1, 1), (32, 30, 20), (5, 7, 3)])
def test_dense_flops_match_flop_counter_on_nn_linear(B, i, o):
    layer, x = torch.nn.Linear(i, o), torch.randn(B, i)
    assert dense_flops(B, i, o) == _torch_flops(lambda: layer(x))


def test_one_rnn_step_costs_a_dense_layer_with_d_plus_h_inputs():
    for B, D, H in [(1, 1, 1), (32, 10, 20), (8, 64, 64)]:
        assert rnn_flops(B, 1, D, H) == dense_flops(B, D + H, H)
        assert rnn_flops(B, 50, D, H) == 50 * rnn_flops(B, 1, D, H)


def test_saved_bytes_hand_count_matmul_and_tanh():
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    A = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    # mm saves both factors, tanh saves its output: 8 bytes * (12 + 15 + 20)
    assert saved_tensor_bytes(lambda: torch.tanh(x @ A)) == 8 * (12 + 15 + 20)


def test_saved_bytes_counts_a_tensor_saved_twice_once():
    x = torch.randn(10, requires_grad=True)
    assert saved_tensor_bytes(lambda: x * x) == 4 * 10          # mul saves x for both operands
    assert saved_tensor_bytes(lambda: x.detach() * 2) == 0      # nothing requires grad: nothing saved


@pytest.mark.parametrize("dtype, itemsize", [(torch.float32, 4), (torch.float64, 8)])
def test_saved_bytes_of_nn_rnn_grow_by_b_times_h_plus_d_per_step(dtype, itemsize):
    # per step autograd keeps h_t (B x H; it is also h_{t-1} of the next step's product with U) and the
    # step's slice of the input projection's input (B x D): the exact increment is B (H + D) itemsize
    torch.manual_seed(0)
    B, D, H = 8, 4, 16
    rnn = torch.nn.RNN(D, H, batch_first=True).to(dtype)
    sizes = {T: saved_tensor_bytes(lambda T=T: rnn(torch.randn(B, T, D, dtype=dtype))[0].sum())
             for T in (10, 20, 40)}
    assert sizes[20] - sizes[10] == 10 * B * (H + D) * itemsize
    assert sizes[40] - sizes[20] == 20 * B * (H + D) * itemsize


def test_best_time_is_a_minimum_and_not_below_the_true_time():
    assert best_time(lambda: time.sleep(0.002), repeat=2, number=2) >= 0.002
    calls = []
    best_time(lambda: calls.append(1), repeat=3, number=4)
    assert len(calls) == 1 + 3 * 4                               # one warm-up call, then R rounds of N


@pytest.mark.parametrize("kwargs", [dict(batch=0), dict(seq_len=-1), dict(input_size=2.0),
                                    dict(hidden_size=True), dict(output_size=-1)])
def test_rnn_flops_rejects_bad_sizes(kwargs):
    args = dict(batch=2, seq_len=3, input_size=4, hidden_size=5, output_size=0) | kwargs
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        rnn_flops(**args)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="out_features"):
        dense_flops(1, 1, 0)
    with pytest.raises(ValueError, match="repeat"):
        best_time(lambda: None, repeat=0)
    with pytest.raises(ValueError, match="number"):
        best_time(lambda: None, number=0)
    with pytest.raises(ValueError, match="fn"):
        best_time(3)
    with pytest.raises(ValueError, match="fn"):
        saved_tensor_bytes(None)
