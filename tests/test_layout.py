"""The package's layout: every public import path of version 0.1 still works, objects saved by 0.1
still load, and the house rules hold (small modules, no private modules at the top level).

The fixtures in ``tests/fixtures/`` were written by version 0.1 (the flat layout, commit cf61898):
``legacy_schedules.pkl`` pickles one schedule of every kind with its values at a few steps;
``legacy_fit_checkpoint.pt`` is the 2-epoch checkpoint of the run in ``legacy_fit.py``, and
``legacy_fit_expected.pt`` the epochs and weights 0.1 produced when resuming it to 4 epochs.
"""

import importlib
import math
import pathlib
import pickle
import re
import shutil
import sys

import pytest
import torch

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "dsat_tutorial"
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"

# Every public path a reader's code could have imported from 0.1 (module, names).
OLD_PUBLIC_PATHS = [
    ("dsat_tutorial", ["fit", "ScheduleLR", "PlateauLR", "BoldDriver", "CosineDecay", "Warmup", "History",
                       "HealthMonitor", "DSTPolicy", "AutoClip", "lr_range_test", "Callback"]),
    ("dsat_tutorial.schedules", ["Schedule", "Constant", "StepDecay", "ExponentialDecay", "PolynomialDecay",
                                 "LinearDecay", "CosineDecay", "CosineWarmRestarts", "Sawtooth", "Triangular",
                                 "OneCycle", "Warmup", "Join"]),
    ("dsat_tutorial.controllers", ["ScheduleLR", "GradNormScaledLR", "AdaGradNormLR", "LossAdaptiveLR",
                                   "BoldDriver", "PlateauLR", "NonFiniteSignalWarning"]),
    ("dsat_tutorial.training", ["fit", "Scheduled", "Callback", "TrainState", "TrainingDiverged",
                                "CheckpointError", "CHECKPOINT_NAME", "lr_range_test", "RangeTestResult",
                                "steepest_descent_lr", "History"]),
    ("dsat_tutorial.data", ["Task", "baseline_loss", "adding_problem", "sine_forecast", "delayed_sum",
                            "threshold_sequences", "load_digit_sequences", "load_sp500", "SeriesSplit",
                            "split_indices", "make_loaders"]),
    ("dsat_tutorial.history", ["History", "EPOCH_KEYS", "STEP_KEYS"]),
    ("dsat_tutorial.tuning", ["SearchResult", "LogUniform", "Uniform", "IntUniform", "Choice", "grid_search",
                              "random_search", "kfold_splits", "time_series_splits"]),
    ("dsat_tutorial.scratch", ["RNN", "numerical_grad", "rel_error", "check_gradients", "SGD", "AdaGrad",
                               "RMSprop", "Adam", "clip_grad_norm_", "TrainLog", "train_rnn"]),
    ("dsat_tutorial.scratch.rnn", ["RNN", "PARAM_NAMES"]),
    ("dsat_tutorial.scratch.optim", ["SGD", "AdaGrad", "RMSprop", "Adam", "clip_grad_norm_"]),
    ("dsat_tutorial.clipping", ["AutoClip", "ClipResult", "clip_grad_norm", "global_grad_norm"]),
    ("dsat_tutorial.monitor", ["Health", "HealthMonitor"]),
    ("dsat_tutorial.policy", ["Action", "DSTPolicy", "PolicyContext", "scale_learning_rate"]),
]


@pytest.mark.parametrize("module, names", OLD_PUBLIC_PATHS, ids=[m for m, _ in OLD_PUBLIC_PATHS])
def test_every_public_import_path_of_0_1_still_works(module, names):
    mod = importlib.import_module(module)
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, f"{module} lost {missing}"


def test_public_names_are_the_same_objects_on_every_path():
    import dsat_tutorial as d
    from dsat_tutorial import controllers, history, schedules, training

    assert d.History is history.History is training.History
    assert d.PlateauLR is controllers.PlateauLR and d.CosineDecay is schedules.CosineDecay
    assert d.fit is training.fit


def test_schedules_pickled_by_0_1_load_and_give_the_same_values():
    with open(FIXTURES / "legacy_schedules.pkl", "rb") as f:
        saved = pickle.load(f)
    assert len(saved["schedules"]) == 12
    for schedule, values, text in zip(saved["schedules"], saved["values"], saved["reprs"]):
        assert repr(schedule) == text
        assert [schedule(t) for t in (0, 1, 5, 17, 60, 200)] == values, text


def test_schedules_pickled_by_0_1_load_in_a_fresh_interpreter():
    """Unpickling must work before anything imported dsat_tutorial (the old module names resolve)."""
    import subprocess

    code = ("import pickle, sys; d = pickle.load(open(sys.argv[1], 'rb')); "
            "assert 'dsat_tutorial' in sys.modules; print(type(d['schedules'][5]).__name__)")
    out = subprocess.run([sys.executable, "-c", code, str(FIXTURES / "legacy_schedules.pkl")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "CosineDecay"


def test_a_checkpoint_saved_by_0_1_resumes_exactly_as_0_1_continued_it(tmp_path):
    sys.path.insert(0, str(FIXTURES))
    try:
        from legacy_fit import run
    finally:
        sys.path.remove(str(FIXTURES))
    shutil.copy(FIXTURES / "legacy_fit_checkpoint.pt", tmp_path / "checkpoint.pt")
    model, hist = run(4, tmp_path, resume=True)
    expected = torch.load(FIXTURES / "legacy_fit_expected.pt", weights_only=True)
    assert [e["epoch"] for e in hist.epochs] == [1, 2, 3, 4]
    for got, want in zip(hist.epochs, expected["epochs"]):
        got = {k: v for k, v in got.items() if k != "seconds"}
        # 0.2 added one key (issue 13): every 0.1 key keeps its value, the new one is the only extra
        added = {k: got.pop(k) for k in set(got) - set(want)}
        assert set(added) <= {"effective_lr"}
        assert added.get("effective_lr", got["lr"]) == got["lr"]  # Adam applies its nominal lr
        assert got == want
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, expected["model"][name]), name


def test_no_module_exceeds_320_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 320}
    assert not long, f"modules over 320 lines (split them by concept): {long}"


def test_only_validation_is_private_at_the_top_level():
    private = sorted(p.name for p in PACKAGE.glob("_*.py") if p.name != "__init__.py")
    assert private == ["_validation.py"]


def test_every_module_opens_with_a_docstring_saying_what_it_is_not():
    for path in PACKAGE.rglob("*.py"):
        mod = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        doc = importlib.import_module(mod).__doc__
        assert doc and doc.strip(), f"{mod} has no module docstring"
        assert re.search(r"\bnot\b", doc), f"{mod}'s docstring does not say what it is not"


def test_the_layers_only_import_downwards():
    """DESIGN.md: data, models -> schedules -> controllers, clipping, monitor -> policy -> training.
    A module imports from its own layer or below (checked on the package's relative imports)."""
    import re

    layer = {"_validation": 0, "utils": 0, "data": 0, "models": 0, "scratch": 0, "metrics": 0, "losses": 0, "cost": 0, "schedules": 1,
             "controllers": 2, "clipping": 2, "monitor": 2, "convergence": 2, "curvature": 2, "policy": 3,
             "training": 4, "history": 4, "tuning": 4, "plotting": 5}
    bad = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        top = parts[0]
        if top == "__init__":
            continue
        depth = len(parts) - (1 if parts[-1] == "__init__" else 0)
        for level, target in re.findall(r"^\s*from (\.+)([\w.]*) import", path.read_text(), re.M):
            up = len(level) - 1                      # how many packages above the importing module's own
            if depth - 1 - up > 0 and up < depth - 1:
                continue                             # a sibling inside the same subpackage
            name = target.split(".")[0] if target else None
            if name in layer and layer[name] > layer[top]:
                if not (top == "training" and name == "plotting"):  # History.plot: a lazy, optional import
                    bad.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not bad, bad


def test_package_data_ships_the_real_data_set():
    from dsat_tutorial.data import load_sp500

    split = load_sp500()
    assert split.train.X.shape[0] > 100 and math.isfinite(float(split.mean))
