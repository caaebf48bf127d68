"""The knob sweep: a slice of benchmarks/results/lr_free_grid.json re-run (the JSON cannot drift from the
code), the grids, and the argument checks."""

import itertools
import json
import math
from pathlib import Path

import pytest

from dsat_tutorial.tuning.knob_sweep import GRIDS, METHODS, flatness, run_knob

JSON = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "lr_free_grid.json"


@pytest.mark.parametrize("method, index, seed", [("adam", 4, 0), ("prodigy", 2, 1), ("dog", 6, 2),
                                                 ("schedulefree", 6, 0), ("adam_cosine", 5, 1)])
def test_slice_of_the_committed_sweep_reproduces(method, index, seed):
    data = json.loads(JSON.read_text())["methods"][method]
    knob = data["grid"][index]
    (stored,) = [r for r in data["runs"] if r["knob"] == knob and r["seed"] == seed]
    fresh = run_knob(method, knob, seed)
    for key, value in fresh.items():
        assert value == pytest.approx(stored[key], rel=1e-4), (method, knob, seed, key)


def test_grids_are_seven_point_log_grids():
    for method, grid in GRIDS.items():
        ratios = [b / a for a, b in itertools.pairwise(grid)]
        assert len(grid) == 7 and method in METHODS
        assert all(math.isclose(r, ratios[0], rel_tol=1e-9) for r in ratios) and ratios[0] > 3


def test_flatness_is_worst_over_best():
    assert flatness([0.5]) == 1.0
    assert flatness([2.0, 1.0, 8.0]) == 8.0
    with pytest.raises(ValueError, match="losses"):
        flatness([1.0, 0.0])


@pytest.mark.parametrize("kwargs, name", [({"method": "sgd"}, "method"), ({"knob": 0.0}, "knob"),
                                          ({"seed": -1}, "seed"), ({"epochs": 0}, "epochs")])
def test_bad_arguments_raise(kwargs, name):
    args = {"method": "adam", "knob": 1e-2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=name):
        run_knob(args.pop("method"), args.pop("knob"), args.pop("seed"), **args)
