"""Part V's harness (``benchmarks/efficacy``) kept honest: the ``--quick`` sweep runs in parallel processes,
resumes from its cache, reproduces the committed full-sweep records for the same keys, and the committed
aggregates are what the records give."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from benchmarks.efficacy.methods import METHODS  # noqa: E402
from benchmarks.efficacy.report import summarise  # noqa: E402
from benchmarks.efficacy.sweep import SEEDS, configurations, load_records  # noqa: E402
from benchmarks.efficacy.tasks import TASKS  # noqa: E402


def _quick(out: Path, workers: int = 2) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    return subprocess.run([sys.executable, "-m", "benchmarks.efficacy", "--quick", "--workers", str(workers),
                           "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick")
    proc = _quick(out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_protocol_size():
    assert len(METHODS) >= 16 and len(TASKS) >= 3 and len(SEEDS) >= 5
    for name, row in METHODS.items():
        grid = row["grid"]
        assert len(grid) == 7, name
        assert all(b / a == pytest.approx(10.0) for a, b in zip(grid, grid[1:])), name   # 6 decades, log-spaced


def test_quick_sweep_writes_records_and_report(quick):
    report = json.loads((quick / "efficacy_quick.json").read_text())
    records = load_records(quick / "efficacy_quick_runs.jsonl")
    assert report["complete"] and report["n_runs"] == len(records) == len(configurations("quick")) == 6
    assert report["environment"]["workers"] == 2 and report["environment"]["threads_per_run"] == 1
    for r in records.values():
        assert len(r["val_loss"]) == r["epochs_run"] and r["steps_taken"] > 0
    assert set(report["summary"]["sp500"]) == {"adam_constant", "dog_avg", "dst_loop"}


def test_quick_sweep_resumes_from_its_cache(quick, tmp_path):
    lines = (quick / "efficacy_quick_runs.jsonl").read_text().splitlines()
    (tmp_path / "efficacy_quick_runs.jsonl").write_text("\n".join(lines[:4]) + "\n")   # "interrupted" after 4
    proc = _quick(tmp_path, workers=1)
    assert proc.returncode == 0, proc.stderr
    resumed = load_records(tmp_path / "efficacy_quick_runs.jsonl")
    first = load_records(quick / "efficacy_quick_runs.jsonl")
    assert len((tmp_path / "efficacy_quick_runs.jsonl").read_text().splitlines()) == 6   # only 2 new runs
    for k, r in first.items():                      # deterministic: same numbers in another process
        assert resumed[k]["val_loss"] == r["val_loss"] and resumed[k]["final_val_loss"] == r["final_val_loss"]


def test_quick_records_reproduce_the_committed_full_sweep(quick):
    full = load_records(RESULTS / "efficacy_runs.jsonl")
    for k, r in load_records(quick / "efficacy_quick_runs.jsonl").items():
        assert k in full, k
        assert full[k]["val_loss"] == pytest.approx(r["val_loss"], rel=1e-6)
        assert full[k]["final_val_loss"] == pytest.approx(r["final_val_loss"], rel=1e-6)


def test_committed_report_is_what_the_records_give():
    report = json.loads((RESULTS / "efficacy.json").read_text())
    records = load_records(RESULTS / "efficacy_runs.jsonl")
    assert report["complete"] and report["n_runs"] == len(configurations("full")) == len(records)
    again = json.loads(json.dumps(summarise(list(records.values()), report["seeds"]), allow_nan=True))
    for task, methods in report["summary"].items():
        for m, s in methods.items():
            a = again[task][m]
            assert s["robustness"] == a["robustness"] and s["best_knob_index"] == a["best_knob_index"], (task, m)
            assert s["knobs_reaching_on_every_seed"] == a["knobs_reaching_on_every_seed"]
            for key in ("best_median_steps_to_target", "steps_vs_best_constant"):
                assert (s[key] == a[key]) or (math.isnan(s[key]) and math.isnan(a[key])), (task, m, key)
