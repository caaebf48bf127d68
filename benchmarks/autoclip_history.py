"""Benchmark: the per-call cost of ``AutoClip`` with its default window (1,000 norms) against the full
history (``history=None``, the paper's), after 1k and 20k steps, measured in the same run.

Not a test. Each clipper is first fed ``WARM`` gradient norms, then ``NUMBER`` further calls are timed
with ``timeit``; the script reports the median over ``REPEATS`` repeats and the ratio full / window at
each length, and writes ``benchmarks/results/autoclip_history.json``. Expected: the window's cost stays
flat while the full history's grows with the number of steps.

Run: ``python benchmarks/autoclip_history.py``
"""

from __future__ import annotations

import json
import platform
import statistics
import timeit
from pathlib import Path

import torch

from dsat_tutorial.clipping import AutoClip

NUMBER, REPEATS = 200, 5
OUT = Path(__file__).resolve().parent / "results" / "autoclip_history.json"


def per_call_us(history, warm: int) -> float:
    p = torch.zeros(100, requires_grad=True)
    gen = torch.Generator().manual_seed(0)
    times = []
    for _ in range(REPEATS):
        clip = AutoClip(history=history)
        clip._norms.extend(torch.rand(warm, generator=gen).tolist())  # a history of `warm` steps
        p.grad = torch.rand(100, generator=gen)
        times.append(timeit.timeit(lambda: clip(p), number=NUMBER) / NUMBER * 1e6)
    return statistics.median(times)


def main() -> None:
    result = {"python": platform.python_version(), "torch": torch.__version__, "per_call_us": {}}
    for warm in (1_000, 20_000):
        window, full = per_call_us(1000, warm), per_call_us(None, warm)
        result["per_call_us"][str(warm)] = {"window_1000": window, "full": full, "ratio_full_over_window": full / window}
        print(f"after {warm:>6} steps: window {window:7.1f} us, full {full:7.1f} us, ratio {full / window:.2f}")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
