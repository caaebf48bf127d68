"""The NumPy RNN against independent references: torch.nn.RNN + nn.Linear and torch autograd in
float64 (forward, loss, full and truncated BPTT, h0), centred finite differences, the defining
properties of its initialisations, and a short training run on delayed_sum; and RNN.to_torch, the
export to those torch modules (the documented mapping, copies, dtype)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dsat_tutorial.scratch import RNN, Adam, check_gradients, clip_grad_norm_, rel_error

NAMES = ("W", "U", "V", "b_h", "b_y")


def _data(B, T, D, O, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, T, D)), rng.normal(size=(B, T, O))


def _torch_reference(rnn, X, Y, h0=None, truncate=None):
    """Loss, gradients and predictions from torch.nn.RNN + nn.Linear holding the same weights.

    The modules come from ``rnn.to_torch()``. The comparison stays independent: a wrong mapping
    there makes torch compute a different network, which the forward and gradient comparisons catch
    (and ``test_to_torch_holds_the_documented_mapping`` pins the mapping itself). The hidden state
    is detached every `truncate` steps by running the sequence in chunks.
    """
    B, T, _ = X.shape
    H = rnn.hidden_size
    cell, head = rnn.to_torch(torch.float64)
    h0_t = torch.zeros(1, B, H, dtype=torch.float64) if h0 is None else torch.tensor(h0[None])
    h0_t.requires_grad_(True)
    Xt = torch.from_numpy(X)
    k = T if truncate is None else truncate
    h, outs = h0_t, []
    for s in range(0, T, k):
        out, h = cell(Xt[:, s:s + k], h)
        outs.append(out)
        h = h.detach()  # the block boundary: the state is a constant for the next block
    Y_hat = head(torch.cat(outs, dim=1))
    loss = ((Y_hat - torch.from_numpy(Y)) ** 2).mean()
    loss.backward()
    torch.testing.assert_close(cell.bias_hh_l0.grad, cell.bias_ih_l0.grad, rtol=1e-12, atol=1e-15)
    grads = {"W": cell.weight_ih_l0.grad.T, "U": cell.weight_hh_l0.grad.T, "V": head.weight.grad.T,
             "b_h": cell.bias_ih_l0.grad, "b_y": head.bias.grad, "h0": h0_t.grad[0]}
    return loss.item(), {k: v.numpy() for k, v in grads.items()}, Y_hat.detach().numpy()


SHAPES = [  # (B, T, D, H, O): B = 1, T = 1, D > 1, O > 1, and both together
    (1, 1, 1, 1, 1), (1, 6, 3, 4, 2), (4, 1, 2, 5, 3), (3, 7, 3, 6, 2), (2, 12, 1, 8, 1), (5, 9, 4, 7, 3),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("init", ["orthogonal", "glorot", "normal"])
def test_forward_loss_and_gradients_match_torch(shape, init):
    B, T, D, H, O = shape
    rnn = RNN(D, H, O, seed=3, init=init)
    rng = np.random.default_rng(1)
    rnn.params["b_h"][:] = rng.normal(size=H) * 0.1  # non-zero biases exercise every term
    rnn.params["b_y"][:] = rng.normal(size=O)
    X, Y, h0 = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, O)), rng.normal(size=(B, H))
    ref_loss, ref, ref_Y = _torch_reference(rnn, X, Y, h0)
    Y_hat, _ = rnn.forward(X, h0)
    np.testing.assert_allclose(Y_hat, ref_Y, rtol=1e-12, atol=1e-13)
    assert rnn.loss(Y_hat, Y) == pytest.approx(ref_loss, rel=1e-12)
    loss, grads = rnn.loss_and_grads(X, Y, h0)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert set(grads) == {*NAMES, "h0"}
    for name in (*NAMES, "h0"):
        assert grads[name].shape == (ref[name].shape if name == "h0" else rnn.params[name].shape)
        assert rel_error(grads[name], ref[name]) < 1e-9, name


@settings(max_examples=40)
@given(B=st.integers(1, 4), T=st.integers(1, 9), D=st.integers(1, 3), H=st.integers(1, 6),
       O=st.integers(1, 3), init=st.sampled_from(["orthogonal", "glorot", "normal"]),
       seed=st.integers(0, 2**16), with_h0=st.booleans(), truncate=st.none() | st.integers(1, 10))
def test_property_bptt_matches_torch_with_detach(B, T, D, H, O, init, seed, with_h0, truncate):
    rnn = RNN(D, H, O, seed=seed, init=init)
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, O))
    h0 = rng.normal(size=(B, H)) if with_h0 else None
    ref_loss, ref, _ = _torch_reference(rnn, X, Y, h0, truncate)
    loss, grads = rnn.loss_and_grads(X, Y, h0, truncate=truncate)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for name in (*NAMES, "h0"):
        assert rel_error(grads[name], ref[name]) < 1e-9, name


@pytest.mark.parametrize("truncate", [1, 2, 3, 5, 11, 12, 40])
def test_truncated_bptt_equals_torch_detach_every_k_steps(truncate):
    rnn = RNN(2, 6, 2, seed=5)
    X, Y = np.random.default_rng(2).normal(size=(3, 12, 2)), np.random.default_rng(3).normal(size=(3, 12, 2))
    _, ref, _ = _torch_reference(rnn, X, Y, truncate=truncate)
    _, grads = rnn.loss_and_grads(X, Y, truncate=truncate)
    for name in (*NAMES, "h0"):
        assert rel_error(grads[name], ref[name]) < 1e-9, name
    _, full = rnn.loss_and_grads(X, Y)
    same = truncate >= 12
    assert (rel_error(grads["U"], full["U"]) < 1e-15) == same  # truncation changes U's gradient
    np.testing.assert_array_equal(grads["V"], full["V"])  # ... but never the read-out's


def test_backward_with_given_upstream_gradient_matches_autograd():
    """backward(cache, dY_hat) for an arbitrary upstream gradient, not only the MSE one."""
    rnn = RNN(3, 4, 2, seed=0)
    rng = np.random.default_rng(0)
    X, G, h0 = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 2)), rng.normal(size=(2, 4))
    Y_hat, cache = rnn.forward(X, h0)
    grads = rnn.backward(cache, G)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in rnn.params.items()}
    h = h0_t = torch.tensor(h0, requires_grad=True)
    outs = []
    for t in range(5):
        h = torch.tanh(torch.from_numpy(X[:, t]) @ P["W"] + h @ P["U"] + P["b_h"])
        outs.append(h @ P["V"] + P["b_y"])
    (torch.stack(outs, 1) * torch.from_numpy(G)).sum().backward()  # d(<Y_hat, G>) = G
    for name in NAMES:
        assert rel_error(grads[name], P[name].grad.numpy()) < 1e-9, name
    assert rel_error(grads["h0"], h0_t.grad.numpy()) < 1e-9


@pytest.mark.parametrize("shape", [(1, 1, 1, 3, 1), (2, 6, 3, 4, 2), (3, 8, 2, 5, 1), (1, 10, 1, 6, 3)])
@pytest.mark.parametrize("init", ["orthogonal", "glorot"])
def test_gradients_match_finite_differences(shape, init):
    B, T, D, H, O = shape
    rnn = RNN(D, H, O, seed=11, init=init)
    rng = np.random.default_rng(4)
    errors = check_gradients(rnn, rng.normal(size=(B, T, D)), rng.normal(size=(B, T, O)),
                             h0=rng.normal(size=(B, H)))
    assert set(errors) == {*NAMES, "h0"}
    assert max(errors.values()) < 1e-6, errors


def test_hidden_grad_norms_match_autograd_retain_grad():
    for init in ("orthogonal", "normal"):
        rnn = RNN(2, 5, 2, seed=7, init=init)
        rng = np.random.default_rng(8)
        X, Y = rng.normal(size=(3, 9, 2)), rng.normal(size=(3, 9, 2))
        P = {k: torch.tensor(v) for k, v in rnn.params.items()}
        h, hs, outs = torch.zeros(3, 5, dtype=torch.float64), [], []
        for t in range(9):
            h = torch.tanh(torch.from_numpy(X[:, t]) @ P["W"] + h @ P["U"] + P["b_h"])
            if not h.requires_grad:
                h.requires_grad_(True)  # first state is a leaf: its grad is the total derivative
            h.retain_grad()
            hs.append(h)
            outs.append(h @ P["V"] + P["b_y"])
        ((torch.stack(outs, 1) - torch.from_numpy(Y)) ** 2).mean().backward()
        ref = np.array([torch.linalg.norm(h_t.grad).item() for h_t in hs])
        norms = rnn.hidden_grad_norms(X, Y)
        assert norms.shape == (9,)
        assert rel_error(norms, ref) < 1e-9, init


def test_h0_none_means_zeros_and_inputs_are_not_modified():
    rnn = RNN(2, 3, 1, seed=0)
    X, Y = _data(2, 4, 2, 1)
    X0, Y0 = X.copy(), Y.copy()
    loss_a, ga = rnn.loss_and_grads(X, Y)
    loss_b, gb = rnn.loss_and_grads(X, Y, h0=np.zeros((2, 3)))
    assert loss_a == loss_b
    for name in ga:
        np.testing.assert_array_equal(ga[name], gb[name])
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


def test_float32_and_torch_inputs_are_computed_in_float64():
    rnn = RNN(1, 4, 1, seed=0)
    X = torch.randn(2, 5, 1, generator=torch.Generator().manual_seed(0))
    Y_hat, cache = rnn.forward(X)
    assert Y_hat.dtype == np.float64 and cache["H"].dtype == np.float64
    np.testing.assert_array_equal(Y_hat, rnn.forward(X.numpy().astype(np.float64))[0])


# ------------------------------------------------------------------------------------- to_torch
def _with_random_biases(rnn, seed=0):
    rng = np.random.default_rng(seed)
    rnn.params["b_h"][:] = rng.normal(size=rnn.hidden_size) * 0.1
    rnn.params["b_y"][:] = rng.normal(size=rnn.output_size)
    return rnn


def test_to_torch_holds_the_documented_mapping():
    """nn.RNN stores (out, in) matrices: weight_ih = W^T, weight_hh = U^T, weight = V^T (row
    convention x W on our side); b_h in bias_ih, bias_hh zero."""
    rnn = _with_random_biases(RNN(3, 5, 2, seed=4))
    p = rnn.params
    cell, head = rnn.to_torch()
    assert isinstance(cell, torch.nn.RNN) and isinstance(head, torch.nn.Linear)
    assert (cell.input_size, cell.hidden_size, cell.num_layers) == (3, 5, 1)
    assert cell.batch_first and cell.nonlinearity == "tanh" and cell.bias and not cell.bidirectional
    assert (head.in_features, head.out_features) == (5, 2) and head.bias is not None
    expected = {"weight_ih_l0": p["W"].T, "weight_hh_l0": p["U"].T, "bias_ih_l0": p["b_h"],
                "bias_hh_l0": np.zeros(5)}
    assert dict(cell.named_parameters()).keys() == expected.keys()
    for name, value in cell.named_parameters():
        np.testing.assert_array_equal(value.detach().numpy(), expected[name], err_msg=name)
        assert value.requires_grad and value.device.type == "cpu"
    np.testing.assert_array_equal(head.weight.detach().numpy(), p["V"].T)
    np.testing.assert_array_equal(head.bias.detach().numpy(), p["b_y"])
    assert head.weight.requires_grad and head.bias.requires_grad


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("with_h0", [False, True])
def test_to_torch_forward_equals_forward(shape, with_h0):
    B, T, D, H, O = shape
    rnn = _with_random_biases(RNN(D, H, O, seed=2, init="glorot"), seed=1)
    rng = np.random.default_rng(5)
    X, h0 = rng.normal(size=(B, T, D)), (rng.normal(size=(B, H)) if with_h0 else None)
    cell, head = rnn.to_torch()
    with torch.no_grad():
        h0_t = None if h0 is None else torch.from_numpy(h0[None])          # (1, B, H)
        states, h_last = cell(torch.from_numpy(X), h0_t)                  # (B, T, H), (1, B, H)
        Y_torch = head(states)                                            # (B, T, O)
    Y_hat, cache = rnn.forward(X, h0)
    assert Y_torch.dtype == torch.float64
    np.testing.assert_allclose(Y_torch.numpy(), Y_hat, rtol=0, atol=1e-12)
    np.testing.assert_allclose(states.numpy(), cache["H"][1:].transpose(1, 0, 2), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_last[0].numpy(), cache["H"][-1], rtol=0, atol=1e-12)


def test_to_torch_gradients_equal_loss_and_grads():
    """Autograd through the exported modules gives the scratch BPTT gradients (full BPTT); the
    SHAPES x inits sweep and the truncated cases go through _torch_reference above."""
    for B, T, D, H, O in [(1, 1, 1, 1, 1), (2, 8, 3, 4, 2), (4, 15, 2, 9, 3)]:
        rnn = _with_random_biases(RNN(D, H, O, seed=B + T), seed=T)
        rng = np.random.default_rng(T)
        X, Y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, O))
        cell, head = rnn.to_torch()
        loss_t = torch.nn.functional.mse_loss(head(cell(torch.from_numpy(X))[0]), torch.from_numpy(Y))
        loss_t.backward()
        loss, grads = rnn.loss_and_grads(X, Y)
        assert loss == pytest.approx(loss_t.item(), rel=1e-12)
        ref = {"W": cell.weight_ih_l0.grad.T, "U": cell.weight_hh_l0.grad.T, "V": head.weight.grad.T,
               "b_h": cell.bias_ih_l0.grad, "b_y": head.bias.grad}
        for name in NAMES:
            assert rel_error(grads[name], ref[name].numpy()) < 1e-9, (B, T, name)
        assert rel_error(grads["b_h"], cell.bias_hh_l0.grad.numpy()) < 1e-9  # only the sum matters


def test_to_torch_returns_independent_copies():
    rnn = _with_random_biases(RNN(2, 4, 3, seed=0))
    before = {k: v.copy() for k, v in rnn.params.items()}
    cell, head = rnn.to_torch()
    with torch.no_grad():  # torch side -> numpy side: untouched
        for param in (*cell.parameters(), *head.parameters()):
            param.add_(1.0)
    for name in NAMES:
        np.testing.assert_array_equal(rnn.params[name], before[name], err_msg=name)
    cell2, head2 = rnn.to_torch()
    for name in NAMES:  # numpy side -> torch side: untouched
        rnn.params[name] += 1.0
    np.testing.assert_array_equal(cell2.weight_hh_l0.detach().numpy(), before["U"].T)
    np.testing.assert_array_equal(head2.bias.detach().numpy(), before["b_y"])
    np.testing.assert_array_equal(cell.weight_hh_l0.detach().numpy(), before["U"].T + 1.0)  # and
    # the first export still holds its own edit: the two exports share no storage either


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_to_torch_honours_dtype(dtype):
    rnn = _with_random_biases(RNN(2, 6, 2, seed=1))
    cell, head = rnn.to_torch(dtype=dtype)
    assert {t.dtype for t in (*cell.parameters(), *head.parameters())} == {dtype}
    X = np.random.default_rng(0).normal(size=(3, 10, 2))
    with torch.no_grad():
        Y = head(cell(torch.from_numpy(X).to(dtype))[0])
    assert Y.dtype == dtype
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(Y.double().numpy(), rnn.forward(X)[0], rtol=0, atol=tol)
    if dtype == torch.float32:  # the float32 weights are the float64 ones rounded once
        np.testing.assert_array_equal(cell.weight_ih_l0.detach().numpy(),
                                      rnn.params["W"].T.astype(np.float32))


def test_to_torch_draws_nothing_from_torch_rng_and_is_default_float64():
    rnn = RNN(3, 4, 1, seed=0)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    cell, head = rnn.to_torch()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert cell.weight_ih_l0.dtype == head.weight.dtype == torch.float64


@pytest.mark.parametrize("dtype", [torch.int64, torch.complex128, "float64", np.float64, None])
def test_to_torch_rejects_non_float_dtypes(dtype):
    with pytest.raises(ValueError, match="dtype must be a floating-point torch.dtype"):
        RNN(2, 3, 1).to_torch(dtype=dtype)


def test_to_torch_checks_param_shapes():
    rnn = RNN(2, 3, 1)
    rnn.params["V"] = np.zeros((1, 3))  # V.T's shape: the mistake to_torch exists to avoid
    with pytest.raises(ValueError, match=r"params\['V'\] must have shape \(3, 1\)"):
        rnn.to_torch()


# ------------------------------------------------------------------------------- initialisation
def test_orthogonal_init_is_the_sign_fixed_q_of_a_gaussian():
    D, H, O, seed = 3, 16, 2, 42
    U = RNN(D, H, O, seed=seed).params["U"]
    np.testing.assert_allclose(U.T @ U, np.eye(H), atol=1e-12)
    rng = np.random.default_rng(seed)  # documented draw order: W (uniform), then U's Gaussian
    rng.uniform(size=(D, H))
    A = rng.standard_normal((H, H))
    R = U.T @ A  # = R of A = QR with a positive diagonal, the unique such factorisation
    np.testing.assert_allclose(np.tril(R, -1), 0.0, atol=1e-12)
    assert np.all(np.diag(R) > 0)
    assert np.allclose(np.abs(np.linalg.eigvals(U)), 1.0)  # spectral radius 1 (004-E7's fix)


def test_glorot_and_normal_init_statistics():
    D, H, O = 200, 300, 100
    for init in ("glorot", "orthogonal"):
        p = RNN(D, H, O, seed=0, init=init).params
        mats = {"W": (D, H), "V": (H, O), **({"U": (H, H)} if init == "glorot" else {})}
        for name, (fan_in, fan_out) in mats.items():
            a = np.sqrt(6 / (fan_in + fan_out))
            assert np.abs(p[name]).max() <= a
            assert np.abs(p[name]).max() > 0.99 * a
            assert p[name].var() == pytest.approx(2 / (fan_in + fan_out), rel=0.03)
    p = RNN(D, H, O, seed=0, init="normal").params
    for name in ("W", "U", "V"):
        assert p[name].var() == pytest.approx(1.0, rel=0.03) and abs(p[name].mean()) < 0.02
    # the source's N(0, 1) U at its size (H = 20) has spectral radius ~ sqrt(H) (004-E7)
    assert np.abs(np.linalg.eigvals(RNN(10, 20, 1, seed=0, init="normal").params["U"])).max() > 2.5


def test_init_is_seeded_and_biases_start_at_zero():
    a, b, c = RNN(2, 5, 3, seed=1), RNN(2, 5, 3, seed=1), RNN(2, 5, 3, seed=2)
    for name in NAMES:
        np.testing.assert_array_equal(a.params[name], b.params[name])
        assert a.params[name].dtype == np.float64
    assert not np.array_equal(a.params["W"], c.params["W"])
    assert not a.params["b_h"].any() and not a.params["b_y"].any()
    assert repr(a) == "RNN(input_size=2, hidden_size=5, output_size=3, seed=1, init='orthogonal')"


# ------------------------------------------------------------------------------------- training
def test_scratch_rnn_with_scratch_adam_and_clipping_learns_delayed_sum():
    from dsat_tutorial.data import delayed_sum

    train, val = delayed_sum(512, 20, seed=0), delayed_sum(256, 20, seed=1)
    X, Y = train.X.numpy().astype(np.float64), train.y.numpy().astype(np.float64)
    Xv, Yv = val.X.numpy().astype(np.float64), val.y.numpy().astype(np.float64)
    rnn, opt, rng = RNN(1, 16, 1, seed=0), Adam(lr=0.01), np.random.default_rng(0)
    start = rnn.loss(rnn.forward(Xv)[0], Yv)
    norms = []
    for _ in range(3):  # epochs of 16 mini-batches of 32
        for idx in np.split(rng.permutation(len(X)), len(X) // 32):
            _, grads = rnn.loss_and_grads(X[idx], Y[idx])
            grads.pop("h0")
            norms.append(clip_grad_norm_(grads, max_norm=1.0))
            opt.step(rnn.params, grads)
    final = rnn.loss(rnn.forward(Xv)[0], Yv)
    assert start > 0.5 * val.baseline_loss  # it had to learn ...
    assert final < 0.1 * val.baseline_loss, (final, val.baseline_loss)  # ... and it did
    assert max(norms) > 1.0  # clipping was active at least once


# ---------------------------------------------------------------------------------- ValueErrors
@pytest.mark.parametrize("kwargs, match", [
    (dict(input_size=0, hidden_size=2, output_size=1), "input_size"),
    (dict(input_size=1.5, hidden_size=2, output_size=1), "input_size"),
    (dict(input_size=1, hidden_size=True, output_size=1), "hidden_size"),
    (dict(input_size=1, hidden_size=2, output_size=-1), "output_size"),
    (dict(input_size=1, hidden_size=2, output_size=1, seed=-1), "seed"),
    (dict(input_size=1, hidden_size=2, output_size=1, init="he"), "init"),
])
def test_constructor_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RNN(**kwargs)


def test_shape_value_errors_name_the_array():
    rnn = RNN(2, 3, 1)
    X, Y = np.zeros((4, 5, 2)), np.zeros((4, 5, 1))
    Y_hat, cache = rnn.forward(X)
    cases = [
        (lambda: rnn.forward(np.zeros((5, 2))), "X must be 3-D"),
        (lambda: rnn.forward(np.zeros((4, 5, 3))), "X must have input_size=2"),
        (lambda: rnn.forward(np.zeros((0, 5, 2))), "X must not be empty"),
        (lambda: rnn.forward(np.zeros((4, 0, 2))), "X must not be empty"),
        (lambda: rnn.forward([["a"]]), "X must be an array of real numbers"),
        (lambda: rnn.forward(X, h0=np.zeros(3)), r"h0 must have shape \(4, 3\)"),
        (lambda: rnn.forward(X, h0=np.zeros((3, 4))), r"h0 must have shape \(4, 3\)"),
        (lambda: rnn.loss(Y_hat, np.zeros((4, 5))), r"Y must have shape \(4, 5, 1\)"),
        (lambda: rnn.loss(np.zeros((4, 5, 2)), Y), "Y_hat must have output_size=1"),
        (lambda: rnn.loss_and_grads(X, np.zeros((4, 6, 1))), r"Y must have shape \(4, 5, 1\)"),
        (lambda: rnn.backward(cache, np.zeros((4, 5))), r"dY_hat must have shape \(4, 5, 1\)"),
        (lambda: rnn.backward({"X": 1}, Y), "cache must be the dict returned by RNN.forward"),
        (lambda: RNN(2, 4, 1).backward(cache, Y), "cache does not match this RNN"),
        (lambda: rnn.loss_and_grads(X, Y, truncate=0), "truncate must be an integer >= 1"),
        (lambda: rnn.loss_and_grads(X, Y, truncate=2.0), "truncate must be an integer >= 1"),
        (lambda: rnn.hidden_grad_norms(X, np.zeros((4, 5, 2))), r"Y must have shape \(4, 5, 1\)"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


def test_hidden_grad_norms_explode_with_normal_init_and_vanish_with_orthogonal():
    """The chapter's claim, measured: the source's N(0, 1) weights explode the backward signal;
    an orthogonal U lets an error at the last step fade as it travels back through tanh."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 40, 10))
    normal = RNN(10, 20, 1, seed=0, init="normal")
    n = normal.hidden_grad_norms(X, rng.normal(size=(8, 40, 1)))
    assert n[0] > 100 * n[-1]
    ortho = RNN(10, 20, 1, seed=0)
    Y = ortho.forward(X)[0]
    Y[:, -1] += 1.0  # error on the last step only
    n = ortho.hidden_grad_norms(X, Y)
    assert n[0] < 1e-4 * n[-1]
    assert np.all(np.diff(np.log(n)) > 0)  # monotone decay backwards in time


def test_params_with_a_wrong_shape_are_caught_before_use():
    rnn = RNN(2, 3, 1)
    rnn.params["U"] = np.eye(4)
    with pytest.raises(ValueError, match=r"params\['U'\] must have shape \(3, 3\)"):
        rnn.forward(np.zeros((1, 2, 2)))
    del rnn.params["U"]
    with pytest.raises(ValueError, match="params must have the keys"):
        rnn.forward(np.zeros((1, 2, 2)))
