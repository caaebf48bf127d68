"""The NumPy optimizers against torch.optim in float64.

Both sides are fed the SAME recorded gradient sequences (recorded once, independently of either
optimizer): plain gradient descent on an ill-conditioned quadratic with a stable step, and SGD
training of the scratch RNN. Feeding each side the gradient of its own iterate would let last-digit
differences (torch's kernels may fuse multiply-adds) grow on unstable runs; fixed sequences isolate the
update rule. Also: defaults read from torch's signatures, state_dict round trips, clipping against
torch.nn.utils.clip_grad_norm_, and every ValueError."""

import inspect
import io
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dsat_tutorial.scratch import RNN, SGD, AdaGrad, Adam, RMSprop, clip_grad_norm_

TORCH = {SGD: torch.optim.SGD, AdaGrad: torch.optim.Adagrad, RMSprop: torch.optim.RMSprop,
         Adam: torch.optim.Adam}
RENAME = {"initial_accumulator": "initial_accumulator_value"}  # ours -> torch's argument name


def _record_quadratic(steps=100):
    """Gradients along gradient descent on f = 1/2 sum(lam * x^2), lam in {0} U [1e-2, 1e2]."""
    rng = np.random.default_rng(0)
    lam = {"a": np.logspace(-2, 2, 20).reshape(4, 5), "b": np.array([0.0, 1.0, 50.0])}  # 0: zero grads
    x = {"a": rng.normal(size=(4, 5)), "b": rng.normal(size=3)}
    x0 = {k: v.copy() for k, v in x.items()}
    seq = []
    for _ in range(steps):
        g = {k: lam[k] * x[k] for k in x}
        seq.append(g)
        for k in x:
            x[k] = x[k] - (1.9 / 100.0) * g[k]  # stable: lr * max(lam) = 1.9 < 2
    return x0, seq


def _record_rnn(steps=100):
    """Gradients of the scratch RNN trained by plain SGD on a target with memory."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(16, 10, 2))
    Y = np.zeros((16, 10, 1))
    Y[:, 1:, 0] = X[:, :-1, 0]
    Y[:, 2:, 0] += 0.5 * X[:, :-2, 1]
    rnn = RNN(2, 6, 1, seed=0)
    p0 = {k: v.copy() for k, v in rnn.params.items()}
    seq = []
    for _ in range(steps):
        _, g = rnn.loss_and_grads(X, Y)
        g.pop("h0")
        seq.append(g)
        for k in rnn.params:
            rnn.params[k] -= 0.1 * g[k]
    return p0, seq


SEQUENCES = {"quadratic": _record_quadratic(), "rnn": _record_rnn()}


def _run_both(cls, kwargs, start, seq, lr_change=None):
    """Run ours and torch's on the same gradient sequence; return the max |param difference|."""
    ours = {k: v.copy() for k, v in start.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    opt = cls(**kwargs)
    torch_kwargs = {RENAME.get(k, k): v for k, v in kwargs.items()}
    topt = TORCH[cls](list(theirs.values()), foreach=False, **torch_kwargs)  # the CPU single-tensor path
    worst = 0.0
    for i, g in enumerate(seq):
        if lr_change is not None and i == len(seq) // 2:  # e.g. a schedule changing lr mid-run
            opt.lr = lr_change
            topt.param_groups[0]["lr"] = lr_change
        opt.step(ours, g)
        for k, p in theirs.items():
            p.grad = torch.from_numpy(g[k].copy())
        topt.step()
        worst = max(worst, *(float(np.abs(ours[k] - theirs[k].detach().numpy()).max()) for k in ours))
    return worst, ours


CONFIGS = [
    (SGD, dict(lr=0.01)),
    (SGD, dict(lr=0.01, momentum=0.9)),
    (SGD, dict(lr=0.01, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.01, weight_decay=0.1)),
    (SGD, dict(lr=0.005, momentum=0.5, weight_decay=0.05)),
    (SGD, dict(lr=0.005, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (AdaGrad, dict()),
    (AdaGrad, dict(lr=0.1, initial_accumulator=0.5)),
    (AdaGrad, dict(lr=0.05, eps=1e-6, weight_decay=0.1)),
    (RMSprop, dict()),
    (RMSprop, dict(centered=True)),
    (RMSprop, dict(momentum=0.9)),
    (RMSprop, dict(lr=1e-3, alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.01)),
    (RMSprop, dict(weight_decay=0.1)),
    (Adam, dict()),
    (Adam, dict(amsgrad=True)),
    (Adam, dict(weight_decay=0.1)),
    (Adam, dict(lr=0.01, betas=(0.5, 0.9))),  # 1 - beta1 >= 0.5 takes torch.lerp's other branch
    (Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True)),
    (Adam, dict(betas=(0.0, 0.0))),
]


@pytest.mark.parametrize("sequence", ["quadratic", "rnn"])
@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=lambda c: getattr(c, "__name__", repr(c)))
def test_matches_torch_optim_for_100_recorded_steps(cls, kwargs, sequence):
    start, seq = SEQUENCES[sequence]
    assert len(seq) == 100
    worst, ours = _run_both(cls, kwargs, start, seq)
    assert worst < 1e-10
    assert max(float(np.abs(ours[k] - start[k]).max()) for k in start) > 1e-4  # it did move


@pytest.mark.parametrize("cls, kwargs", [(SGD, dict(lr=0.01, momentum=0.9)), (Adam, dict(amsgrad=True)),
                                         (RMSprop, dict(centered=True)), (AdaGrad, dict())])
def test_changing_lr_mid_run_matches_torch_param_group_lr(cls, kwargs):
    worst, _ = _run_both(cls, kwargs, *SEQUENCES["rnn"], lr_change=0.02)
    assert worst < 1e-10


@settings(max_examples=30)
@given(data=st.data(), cls=st.sampled_from([SGD, AdaGrad, RMSprop, Adam]), seed=st.integers(0, 2**16))
def test_property_random_hyperparameters_match_torch(data, cls, seed):
    unit = st.floats(0.0, 0.99)
    kw = {"lr": data.draw(st.floats(0.0, 0.1)), "weight_decay": data.draw(st.floats(0.0, 0.1))}
    if cls is SGD:
        kw["momentum"] = data.draw(unit)
        kw["nesterov"] = kw["momentum"] > 0 and data.draw(st.booleans())
    elif cls is AdaGrad:
        kw.update(eps=data.draw(st.floats(1e-10, 1e-3)), initial_accumulator=data.draw(st.floats(0, 1)))
    elif cls is RMSprop:  # centred RMSprop with alpha near 0 subtracts equal numbers: keep alpha >= 0.5
        kw.update(alpha=data.draw(st.floats(0.5, 0.999)), eps=data.draw(st.floats(1e-8, 1e-3)),
                  momentum=data.draw(unit), centered=data.draw(st.booleans()))
    else:
        kw.update(betas=(data.draw(unit), data.draw(st.floats(0.0, 0.999))),
                  eps=data.draw(st.floats(1e-8, 1e-3)), amsgrad=data.draw(st.booleans()))
    rng = np.random.default_rng(seed)
    start = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    seq = [{k: rng.normal(size=v.shape) * 10.0 ** rng.uniform(-3, 1) for k, v in start.items()}
           for _ in range(20)]
    assert _run_both(cls, kw, start, seq)[0] < 1e-10


def test_defaults_are_torchs():
    for cls, tcls in TORCH.items():
        ours, theirs = inspect.signature(cls).parameters, inspect.signature(tcls).parameters
        for name, par in ours.items():
            if cls is SGD and name == "lr":
                assert par.default is inspect.Parameter.empty  # required, as the API says
                continue
            tdefault = theirs[RENAME.get(name, name)].default
            assert par.default == tdefault, (cls.__name__, name)


def test_step_updates_in_place_and_leaves_grads_alone():
    p = {"w": np.ones((2, 2)), "b": np.zeros(2)}
    ids = {k: id(v) for k, v in p.items()}
    g = {"w": np.full((2, 2), 0.5), "b": np.array([1.0, -1.0])}
    g0 = {k: v.copy() for k, v in g.items()}
    for opt in (SGD(0.1, momentum=0.9, weight_decay=0.1), AdaGrad(weight_decay=0.1),
                RMSprop(momentum=0.5, centered=True, weight_decay=0.1), Adam(weight_decay=0.1, amsgrad=True)):
        before = {k: v.copy() for k, v in p.items()}
        opt.step(p, g)
        assert {k: id(v) for k, v in p.items()} == ids
        assert not np.array_equal(p["w"], before["w"])
        for k in g:
            np.testing.assert_array_equal(g[k], g0[k])


@pytest.mark.parametrize("cls, kwargs", CONFIGS[1::2], ids=lambda c: getattr(c, "__name__", repr(c)))
def test_state_dict_round_trip_resumes_exactly(cls, kwargs):
    start, seq = SEQUENCES["rnn"]
    full = {k: v.copy() for k, v in start.items()}
    opt = cls(**kwargs)
    for g in seq:
        opt.step(full, g)
    part = {k: v.copy() for k, v in start.items()}
    first = cls(**kwargs)
    for g in seq[:50]:
        first.step(part, g)
    buf = io.BytesIO()
    torch.save(first.state_dict(), buf)  # plain data: loads with weights_only=True ...
    buf.seek(0)
    saved = json.loads(json.dumps(torch.load(buf, weights_only=True)))  # ... and survives JSON
    other = {k: v for k, v in kwargs.items() if k != "lr"}
    resumed = cls(lr=0.123, **other)
    resumed.load_state_dict(saved)
    assert resumed.lr == first.lr and resumed.steps == 50
    for g in seq[50:]:
        resumed.step(part, g)
    for k in full:
        np.testing.assert_array_equal(part[k], full[k])


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(0)
    for scale, max_norm in [(10.0, 1.0), (0.01, 1.0), (3.0, 0.5)]:
        g = {"a": rng.normal(size=(3, 4)) * scale, "b": rng.normal(size=5) * scale}
        g0 = {k: v.copy() for k, v in g.items()}
        t = [torch.zeros(v.shape, dtype=torch.float64, requires_grad=True) for v in g.values()]
        for p, v in zip(t, g.values()):
            p.grad = torch.from_numpy(v.copy())
        ref = torch.nn.utils.clip_grad_norm_(t, max_norm).item()
        total = clip_grad_norm_(g, max_norm)
        assert total == pytest.approx(ref, rel=1e-13)
        for p, k in zip(t, g):
            np.testing.assert_allclose(g[k], p.grad.numpy(), rtol=1e-13, atol=0)
        if ref <= max_norm:  # below the threshold nothing changes
            for k in g:
                np.testing.assert_array_equal(g[k], g0[k])


# ---------------------------------------------------------------------------------- ValueErrors
@pytest.mark.parametrize("make, match", [
    (lambda: SGD(lr=-0.1), "lr"),
    (lambda: SGD(lr=float("nan")), "lr"),
    (lambda: SGD(lr=0.1, momentum=-0.5), "momentum"),
    (lambda: SGD(lr=0.1, weight_decay=-1e-4), "weight_decay"),
    (lambda: SGD(lr=0.1, nesterov=True), "nesterov"),
    (lambda: SGD(lr=0.1, momentum=0.9, nesterov="yes"), "nesterov"),
    (lambda: AdaGrad(lr=-1.0), "lr"),
    (lambda: AdaGrad(eps=0.0), "eps"),
    (lambda: AdaGrad(eps=-1e-10), "eps"),
    (lambda: AdaGrad(initial_accumulator=-0.1), "initial_accumulator"),
    (lambda: AdaGrad(weight_decay=-0.1), "weight_decay"),
    (lambda: RMSprop(lr=-1e-3), "lr"),
    (lambda: RMSprop(alpha=-0.1), "alpha"),
    (lambda: RMSprop(alpha=1.0), "alpha"),
    (lambda: RMSprop(eps=0.0), "eps"),
    (lambda: RMSprop(momentum=-0.1), "momentum"),
    (lambda: RMSprop(weight_decay=-0.1), "weight_decay"),
    (lambda: RMSprop(centered=1), "centered"),
    (lambda: Adam(lr=-1e-3), "lr"),
    (lambda: Adam(betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\)"),
    (lambda: Adam(betas=(-0.1, 0.999)), r"betas\[0\]"),
    (lambda: Adam(betas=(0.9, 1.0)), r"betas\[1\] must be in \[0, 1\)"),
    (lambda: Adam(betas=(0.9,)), "betas must be a pair"),
    (lambda: Adam(betas=0.9), "betas must be a pair"),
    (lambda: Adam(eps=0.0), "eps"),
    (lambda: Adam(eps=-1e-8), "eps"),
    (lambda: Adam(weight_decay=-0.1), "weight_decay"),
    (lambda: Adam(amsgrad="no"), "amsgrad"),
    (lambda: clip_grad_norm_({"a": np.ones(2)}, 0.0), "max_norm"),
    (lambda: clip_grad_norm_([np.ones(2)], 1.0), "grads must be a dict"),
])
def test_argument_value_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_step_value_errors():
    p = {"w": np.ones((2, 3)), "b": np.zeros(3)}
    g = {"w": np.ones((2, 3)), "b": np.ones(3)}
    opt = Adam()
    with pytest.raises(ValueError, match="grads keys"):
        opt.step(p, {"w": g["w"]})  # missing
    with pytest.raises(ValueError, match="grads keys"):
        opt.step(p, {**g, "h0": np.ones((1, 3))})  # the RNN's h0 gradient is not a parameter's
    with pytest.raises(ValueError, match=r"grads\['b'\] has shape \(2,\)"):
        opt.step(p, {**g, "b": np.ones(2)})
    with pytest.raises(ValueError, match=r"params\['w'\] must be a float numpy array"):
        opt.step({"w": [[1.0] * 3] * 2, "b": p["b"]}, g)
    with pytest.raises(ValueError, match=r"params\['w'\] must be a float numpy array"):
        opt.step({"w": np.ones((2, 3), dtype=int), "b": p["b"]}, g)
    with pytest.raises(ValueError, match="params and grads must be dicts"):
        opt.step(list(p.values()), g)
    opt.step(p, g)
    with pytest.raises(ValueError, match="differ from the keys"):
        opt.step({"w": p["w"]}, {"w": g["w"]})
    with pytest.raises(ValueError, match=r"state\['b'\]\['exp_avg'\] has shape \(3,\)"):
        opt.step({"w": p["w"], "b": np.zeros(4)}, {"w": g["w"], "b": np.ones(4)})


def test_load_state_dict_value_errors():
    p = {"w": np.ones(3)}
    adam = Adam(amsgrad=True)
    adam.step(p, {"w": np.ones(3)})
    sd = adam.state_dict()
    with pytest.raises(ValueError, match="hyperparams"):
        RMSprop().load_state_dict(sd)  # another optimizer's state
    with pytest.raises(ValueError, match="exactly the keys"):
        Adam().load_state_dict({"state": {}, "steps": 0})
    bad = json.loads(json.dumps(sd))
    del bad["state"]["w"]["max_exp_avg_sq"]
    with pytest.raises(ValueError, match="state for 'w' must have the keys"):
        Adam().load_state_dict(bad)
    bad = json.loads(json.dumps(sd))
    bad["state"]["w"]["exp_avg"] = [1.0, 2.0]
    with pytest.raises(ValueError, match="different shapes"):
        Adam().load_state_dict(bad)
    with pytest.raises(ValueError, match="steps"):
        Adam().load_state_dict({**sd, "steps": -1})
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        Adam().load_state_dict({**sd, "hyperparams": {**sd["hyperparams"], "betas": [0.9, 1.5]}})
    ok = Adam()
    ok.load_state_dict(sd)
    with pytest.raises(ValueError, match="has shape"):  # state saved for a (3,) array, used on (4,)
        ok.step({"w": np.ones(4)}, {"w": np.ones(4)})
