"""Sweep: final validation loss of each method across the 7-point log grid of its one knob, 3 seeds.

Runs :func:`dsat_tutorial.tuning.knob_sweep.run_knob` for every method of ``METHODS``, every value of its
grid in ``GRIDS`` and seeds 0, 1, 2 (105 runs of a GRU with 8 units, 20 epochs of 6 batches; about 40 s
of CPU on one thread), and writes ``benchmarks/results/lr_free_grid.json``, which Part III's chapter
"Learning-rate-free methods" reads and asserts. ``tests/tuning/test_knob_sweep.py`` re-runs a slice and
compares it with the JSON, so the file cannot drift from the code. Run: ``python benchmarks/lr_free_grid.py``
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch

from dsat_tutorial.tuning.knob_sweep import GRIDS, METHODS, run_knob

SEEDS = (0, 1, 2)
OUT = Path(__file__).resolve().parent / "results" / "lr_free_grid.json"


def main() -> None:
    start = time.process_time()
    results = {}
    for method in METHODS:
        results[method] = {"knob": METHODS[method], "grid": list(GRIDS[method]), "runs": []}
        for knob in GRIDS[method]:
            for seed in SEEDS:
                results[method]["runs"].append({"knob": knob, "seed": seed, **run_knob(method, knob, seed)})
        print(method, "done", round(time.process_time() - start, 1), "s")
    OUT.write_text(json.dumps({"seeds": list(SEEDS), "torch": torch.__version__, "python": platform.python_version(),
                               "cpu_seconds": round(time.process_time() - start, 1), "methods": results},
                              indent=1) + "\n")
    print("wrote", OUT.name)


if __name__ == "__main__":
    main()
