"""DoGLR against the reference implementation (the ``dog-optimizer`` package's ``DoG``): the same
iterates to 1e-10 relative in float64 over 60 steps, with one and with two parameter groups, stepped
with and without the global norm; polynomial_decay_avg_fn against the package's
``PolynomialDecayAverager``; the clipping-invariant group shares; validation, non-finite norms,
scale_lr and a state_dict (x0 included) round trip through ``torch.load(weights_only=True)``.
"""

import copy
import io
import math

import pytest
import torch
from dog import DoG, PolynomialDecayAverager  # the reference implementation (requirements.txt)
from torch.optim.swa_utils import AveragedModel

from dsat_tutorial.controllers import DoGLR, NonFiniteSignalWarning, polynomial_decay_avg_fn

STEPS = 60


def problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(64, 5, generator=g, dtype=torch.float64)
    y = torch.sin(X.sum(1, keepdim=True)) + 0.1 * torch.randn(64, 1, generator=g, dtype=torch.float64)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    return model, X, y


def batches(X, y, steps=STEPS, size=8):
    for t in range(steps):
        i = (t * size) % len(X)
        yield X[i:i + size], y[i:i + size]


def flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def groups_of(model, two_groups):
    if not two_groups:
        return [{"params": list(model.parameters())}]
    return [{"params": list(model[0].parameters())}, {"params": list(model[2].parameters()), "lr": 0.5}]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("two_groups", "pass_norm"), [(False, False), (False, True), (True, False),
                                                       (True, True)])
def test_same_iterates_as_the_reference_dog(seed, two_groups, pass_norm):
    ref_model, X, y = problem(seed)
    our_model = copy.deepcopy(ref_model)
    x0 = flat(ref_model)
    reps_rel = 1e-3
    ref_opt = DoG(groups_of(ref_model, two_groups), reps_rel=reps_rel, lr=1.0)
    groups = groups_of(our_model, two_groups)
    for g in groups:
        g.setdefault("lr", 1.0)
    opt = torch.optim.SGD(groups, momentum=0.0)
    sched = DoGLR(opt, reps_rel=reps_rel)
    lrs = []
    for xb, yb in batches(X, y):
        for model, o in ((ref_model, ref_opt), (our_model, opt)):
            o.zero_grad()
            torch.nn.functional.mse_loss(model(xb), yb).backward()
        ref_opt.step()
        if pass_norm:
            norm = torch.cat([p.grad.reshape(-1) for p in our_model.parameters()]).norm()
            sched.step(float(norm))
        else:
            sched.step()
        lrs.append(sched.get_last_lr())
        opt.step()
        a, b = flat(ref_model), flat(our_model)
        assert float((a - b).norm() / a.norm()) <= 1e-10
    # the reference's step sizes, group by group, are the lrs we set (times each group's multiplier)
    assert [float(g["eta"][0]) for g in ref_opt.param_groups] == pytest.approx(lrs[-1], rel=1e-10)
    assert float((flat(our_model) - x0).norm()) > 0.1       # it trained: not a trivially equal comparison
    assert lrs[-1][0] > 5 * lrs[0][0]                       # and DoG's step size grew from its tiny start


def test_x0_is_the_only_copy_and_lr_is_zero_before_the_first_step():
    model, X, y = problem()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = DoGLR(opt)
    assert sched.get_last_lr() == [0.0] and sched.x0 is None
    for xb, yb in batches(X, y, steps=5):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(xb), yb).backward()
        sched.step()
        opt.step()
    assert len(sched.x0) == 1 and len(sched.x0[0]) == len(list(model.parameters()))
    tensors = [v for v in vars(sched).values() if isinstance(v, torch.Tensor)]
    assert tensors == []  # nothing else held per step


def test_group_shares_are_rescaled_to_the_given_norm():
    """With several groups, step(grad_norm) reads each group's share and rescales it to grad_norm: gradients
    scaled by one factor (what clipping does) give the same lr as the unscaled ones with their norm."""
    model, X, y = problem()
    twin = copy.deepcopy(model)
    a = DoGLR(torch.optim.SGD(groups_of(model, True), lr=1.0))
    b = DoGLR(torch.optim.SGD(groups_of(twin, True), lr=1.0))
    for m in (model, twin):
        torch.nn.functional.mse_loss(m(X), y).backward()
    norm = float(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm())
    with torch.no_grad():
        for p in twin.parameters():
            p.grad.mul_(0.3)  # "clipped"
    a.step()
    b.step(norm)
    assert b.get_last_lr() == pytest.approx(a.get_last_lr(), rel=1e-12)
    assert b.G == pytest.approx(a.G, rel=1e-12)


@pytest.mark.parametrize("gamma", [8.0, 2.0])
def test_polynomial_decay_average_matches_the_reference_averager(gamma):
    model, X, y = problem()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = DoGLR(opt, reps_rel=1e-3)
    ref = PolynomialDecayAverager(model, gamma=gamma)
    ours = AveragedModel(model, multi_avg_fn=polynomial_decay_avg_fn(gamma))
    for xb, yb in batches(X, y):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(xb), yb).backward()
        sched.step()
        opt.step()
        ref.step()
        ours.update_parameters(model)
        a, b = flat(ref.averaged_model), flat(ours.module)
        assert float((a - b).norm()) <= 1e-12 * float(a.norm())
    assert float((flat(ours.module) - flat(model)).norm()) > 1e-3  # the average is not the iterate


def test_uniform_average_when_gamma_is_zero():
    w = torch.nn.Linear(3, 1, bias=False).double()
    avg = AveragedModel(w, multi_avg_fn=polynomial_decay_avg_fn(0.0))
    values = [torch.randn(1, 3, dtype=torch.float64) for _ in range(7)]
    with torch.no_grad():
        for v in values:
            w.weight.copy_(v)
            avg.update_parameters(w)
    assert torch.allclose(avg.module.weight, torch.stack(values).mean(0), rtol=1e-13, atol=0)


def test_nonfinite_norm_changes_nothing_and_validation():
    model, X, y = problem()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = DoGLR(opt)
    torch.nn.functional.mse_loss(model(X), y).backward()
    sched.step()
    before = (sched.get_last_lr(), list(sched.G), list(sched.rbar))
    for bad in (math.nan, math.inf):
        with pytest.warns(NonFiniteSignalWarning, match="DoGLR"):
            sched.step(bad)
    assert (sched.get_last_lr(), sched.G, sched.rbar) == before and sched.nonfinite_signals == 2
    with pytest.raises(ValueError, match="grad_norm must be >= 0"):
        sched.step(-1.0)
    for kwargs, message in [({"reps_rel": 0.0}, "reps_rel must be finite and > 0"),
                            ({"reps_rel": -1e-6}, "reps_rel must be finite and > 0"),
                            ({"reps_rel": math.inf}, "reps_rel must be a finite real number"),
                            ({"eps": 0.0}, "eps must be finite and > 0")]:
        with pytest.raises(ValueError, match=message):
            DoGLR(opt, **kwargs)
    with pytest.raises(ValueError, match="gamma must be finite and >= 0"):
        polynomial_decay_avg_fn(-1.0)


def test_scale_lr_and_state_dict_round_trip_with_x0():
    def make():
        model, X, y = problem(3)
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        return model, X, y, opt, DoGLR(opt, reps_rel=1e-3)

    def run(model, X, y, opt, sched, start, steps):
        for xb, yb in list(batches(X, y, steps=start + steps))[start:]:
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(xb), yb).backward()
            sched.step()
            opt.step()

    model, X, y, opt, sched = make()
    run(model, X, y, opt, sched, 0, 10)
    lr = sched.get_last_lr()[0]
    assert sched.scale_lr(0.5) == [pytest.approx(lr / 2, rel=1e-15)]
    buf = io.BytesIO()
    torch.save({"sched": sched.state_dict(), "model": model.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    assert len(saved["sched"]["x0"][0]) == 4  # x0 travels with the state
    run(model, X, y, opt, sched, 10, 15)
    model2, X, y, opt2, sched2 = make()
    model2.load_state_dict(saved["model"])
    sched2.load_state_dict(saved["sched"])
    assert opt2.param_groups[0]["lr"] == pytest.approx(lr / 2, rel=1e-15)
    run(model2, X, y, opt2, sched2, 10, 15)
    assert torch.equal(flat(model), flat(model2))
    assert sched2.lr_scale == 0.5 and sched2.get_last_lr() == sched.get_last_lr()


def test_the_package_imports_without_the_reference_packages():
    """``import dsat_tutorial`` must work where dog-optimizer, schedulefree and prodigyopt are missing."""
    import subprocess
    import sys

    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('dog', 'schedulefree', 'prodigyopt'):\n"
            "            raise ImportError(name + ' is blocked')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import dsat_tutorial\n"
            "from dsat_tutorial import DoGLR, PolyakLR, WarmupStableDecay, polynomial_decay_avg_fn\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
