"""Run Part V's sweep in parallel processes, cache every finished run, and write the JSON results.

``python -m benchmarks.efficacy`` runs every (method, task, knob, seed) of the protocol on all cores
(one single-threaded process per core), appending each finished run to ``efficacy_runs.jsonl`` as it
arrives: an interrupted sweep continues where it stopped (finished keys are skipped). When all runs are
in, it writes ``efficacy.json``: the protocol (tasks, methods, grids, seeds, targets), the environment
and the aggregates the chapters assert. ``--quick`` is the smoke configuration that ``pytest`` runs
(1 task, 3 methods, 2 knobs, 1 seed); ``--pilot`` the runs that fixed the targets (see ``tasks``).

What it is not: a general experiment manager (no remote workers; Optuna does that, Part I ch. 5).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

from .methods import METHODS
from .runner import key, run
from .tasks import TASKS

RESULTS = Path(__file__).resolve().parents[1] / "results"
SEEDS = (0, 1, 2, 3, 4)
PILOT_SEEDS = (100, 101)
QUICK = {"tasks": ("sp500",), "methods": ("adam_constant", "dog_avg", "dst_loop"), "knobs": (2, 3), "seeds": (0,)}


def configurations(mode: str) -> list[tuple]:
    if mode == "quick":
        return [(m, t, k, s) for s in QUICK["seeds"] for t in QUICK["tasks"] for m in QUICK["methods"]
                for k in QUICK["knobs"]]
    if mode == "pilot":
        return [("adam_constant", t, k, s) for s in PILOT_SEEDS for t in TASKS for k in range(7)]
    return [(m, t, k, s) for s in SEEDS for t in TASKS for m in METHODS for k in range(len(METHODS[m]["grid"]))]


def _work(config: tuple) -> dict:
    return run(*config)


def _dump(record: dict) -> str:
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
    return json.dumps(clean, allow_nan=True)


def load_records(path: Path) -> dict:
    records = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                records[key(r)] = r
    return records


def environment(workers: int) -> dict:
    import numpy
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "cpu": cpu, "cores": os.cpu_count(), "workers": workers, "threads_per_run": 1,
            "platform": platform.platform()}


def sweep(mode: str, out_dir: Path, workers: int, run_missing: bool = True) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    runs_path = out_dir / f"efficacy{'' if mode == 'full' else '_' + mode}_runs.jsonl"
    records = load_records(runs_path)
    todo = [c for c in configurations(mode) if key(c) not in records] if run_missing else []
    start = time.perf_counter()
    from tqdm.auto import tqdm
    bar = tqdm(total=len(todo), desc=f"{mode} sweep", unit="run", disable=None)
    if todo:
        with runs_path.open("a") as fh:
            if workers == 1:
                results = map(_work, todo)
                pool = None
            else:
                pool = mp.get_context("spawn").Pool(workers, maxtasksperchild=50)
                results = pool.imap_unordered(_work, todo, chunksize=1)
            try:
                for record in results:
                    fh.write(_dump(record) + "\n")
                    fh.flush()
                    records[key(record)] = record
                    bar.update(1)
            finally:
                if pool is not None:
                    pool.terminate()
    bar.close()
    wall = time.perf_counter() - start
    wanted = [records[key(c)] for c in configurations(mode) if key(c) in records]
    return {"mode": mode, "runs_file": runs_path.name, "records": wanted, "wall_seconds_this_call": wall,
            "complete": len(wanted) == len(configurations(mode))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.efficacy", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke configuration (about a minute)")
    parser.add_argument("--pilot", action="store_true", help="the pilot runs that fixed the targets")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: cores)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory of the results")
    parser.add_argument("--report-only", action="store_true",
                        help="write the JSON from the runs cached so far (marked incomplete if some are missing)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        raise SystemExit("--workers must be >= 1")
    mode = "quick" if args.quick else "pilot" if args.pilot else "full"
    result = sweep(mode, args.out, args.workers, run_missing=not args.report_only)
    from .report import write_report
    path = write_report(result, args.out, environment(args.workers))
    print(f"{len(result['records'])} runs; this call {result['wall_seconds_this_call']:.0f} s; wrote {path}",
          file=sys.stderr)
