"""Benchmark: what ``fit``'s cross-rank agreement costs per step under DDP (2 gloo processes, CPU).

Not a test. Two processes (``torch.multiprocessing.spawn``, gloo, one thread each) train a
``DistributedDataParallel`` model with ``fit`` on ``DistributedSampler`` shards, once with the agreement
on (the default: one small all-reduce of ``[loss * n, n, non-finite]`` per step before ``backward``,
one all-reduce of the epoch's sums and one of ``stop_training`` per epoch) and once with it off
(``dsat_tutorial.training.distributed.AGREE = False``: every rank decides from its own numbers -- what
``fit`` did before issue 17; DDP's own gradient all-reduce runs in both). Two models:

* ``small`` -- the ``fit_overhead`` setting: ``SequenceRegressor(1, 32)`` LSTM (4.5k parameters), Adam,
  ``sine_forecast(1000, 20)``, batch 32 per rank (800 training windows, 400 per rank, 13 steps);
* ``large`` -- ``SequenceRegressor(1, 256)`` (265k parameters), same data and batches.

Each repeat builds fresh models on both ranks (outside the timer), waits at a barrier and times one
epoch of ``fit`` with a validation loader in wall-clock time on rank 0 (wall, not CPU time: a rank
waiting in a collective is the cost), agreement on and off back to back in alternating order. Reported:
milliseconds per step (medians), the overhead ``on / off - 1`` as the median of the paired ratios with
its quartiles, the noise floor (``off`` against a second ``off``), and the median wall time of one bare
3-element gloo all-reduce on the same pair of processes, which is what the per-step agreement adds
(``bare_all_reduce_share``: that time over a step without agreement -- the overhead to expect if a
step paid only for the all-reduce; ``added_in_bare_all_reduces``: the time added per step in units of
that all-reduce -- above 1 when the extra synchronisation point makes one process wait for the other,
e.g. while it is descheduled on a shared machine).
Results go to ``benchmarks/results/ddp_overhead.json``.

Run: ``python benchmarks/ddp_overhead.py``
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the package of this checkout

from dsat_tutorial.data import sine_forecast  # noqa: E402
from dsat_tutorial.models import SequenceRegressor  # noqa: E402
from dsat_tutorial.training import distributed as agreement, fit  # noqa: E402

REPEATS = {"small": 61, "large": 15}  # the small model's epochs are short and noisy: more repeats
HIDDEN = {"small": 32, "large": 256}
OUT = Path(__file__).resolve().parent / "results" / "ddp_overhead.json"


def _loaders(task):
    n = len(task.X) * 4 // 5
    train_set, val_set = TensorDataset(task.X[:n], task.y[:n]), TensorDataset(task.X[n:], task.y[n:])
    return (DataLoader(train_set, 32, sampler=DistributedSampler(train_set, shuffle=True, seed=0)),
            DataLoader(val_set, 64, sampler=DistributedSampler(val_set, shuffle=False)))


def _epoch(hidden: int, agree: bool, train, val, loss_fn) -> float:
    from torch.nn.parallel import DistributedDataParallel as DDP
    torch.manual_seed(0)
    model = DDP(SequenceRegressor(1, hidden))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    agreement.AGREE = agree
    dist.barrier()
    start = time.perf_counter()
    fit(model, train, val, loss_fn=loss_fn, optimizer=opt, epochs=1, progress=False)
    dist.barrier()  # the epoch ends when the slower rank is done
    agreement.AGREE = True
    return time.perf_counter() - start


def _bare_all_reduce(repeats: int = 2000) -> float:
    buf = torch.zeros(3, dtype=torch.float64)
    dist.barrier()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        dist.all_reduce(buf)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _worker(rank: int, init: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    task = sine_forecast(1000, 20, seed=0)
    train, val = _loaders(task)
    loss_fn = task.loss_fn()
    result = {"all_reduce_ms": round(_bare_all_reduce() * 1e3, 4), "steps_per_epoch": len(train)}
    for name, hidden in HIDDEN.items():
        for _ in range(2):  # warm-up: allocator, lazy imports, gloo connections
            _epoch(hidden, True, train, val, loss_fn)
        runs = {"on": [], "off": [], "off again": []}
        order = list(runs)
        for r in range(REPEATS[name]):  # rotate the order so that drifts in machine load hit all alike
            for key in order[r % 3:] + order[: r % 3]:
                runs[key].append(_epoch(hidden, key == "on", train, val, loss_fn))
        paired = [a / b for a, b in zip(runs["on"], runs["off"])]
        per_step = {k: round(statistics.median(v) / len(train) * 1e3, 3) for k, v in runs.items()}
        result[name] = {
            "hidden": hidden,
            "parameters": sum(p.numel() for p in SequenceRegressor(1, hidden).parameters()),
            "ms_per_step_agree_on": per_step["on"], "ms_per_step_agree_off": per_step["off"],
            "overhead": round(statistics.median(paired) - 1.0, 4),
            "overhead_quartiles": [round(q - 1.0, 4) for q in statistics.quantiles(paired, n=4)],
            "noise_floor_off_vs_off": round(statistics.median(
                a / b for a, b in zip(runs["off again"], runs["off"])) - 1.0, 4),
            "added_ms_per_step": round(per_step["on"] - per_step["off"], 3),
            # what one bare all-reduce per step would add, as a fraction of a step without agreement
            "bare_all_reduce_share": round(result["all_reduce_ms"] / per_step["off"], 4),
            # the time added per step, in units of one bare all-reduce (1 = the all-reduce alone)
            "added_in_bare_all_reduces": round((per_step["on"] - per_step["off"]) / result["all_reduce_ms"], 2),
        }
    if rank == 0:
        Path(out).write_text(json.dumps(result))
    dist.destroy_process_group()


def main() -> dict:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        torch.multiprocessing.spawn(_worker, args=(f"file://{tmp}/rendezvous", out), nprocs=2, join=True)
        measured = json.loads(Path(out).read_text())
    result = {
        "benchmark": "fit under DDP: one epoch with the cross-rank agreement on vs off (issue 17)",
        "setting": "2 processes, gloo on CPU, 1 thread each, DistributedSampler shards, Adam, validation loader",
        "data": "sine_forecast(1000, 20): 800 training windows (400 per rank), batch 32 per rank",
        **measured,
        "repeats": REPEATS,
        "statistic": "wall time on rank 0 between barriers; overhead = median of paired on/off - 1",
        "note": "machine shared with other jobs: compare the overhead with noise_floor_off_vs_off",
        "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"bare 3-float gloo all-reduce: {result['all_reduce_ms']:.3f} ms")
    for name in HIDDEN:
        r = result[name]
        q1, _, q3 = r["overhead_quartiles"]
        print(f"{name:5s} ({r['parameters']} params): {r['ms_per_step_agree_on']:.2f} ms/step on, "
              f"{r['ms_per_step_agree_off']:.2f} off: overhead {100 * r['overhead']:+.1f}% "
              f"[{100 * q1:+.1f}%, {100 * q3:+.1f}%], noise floor {100 * r['noise_floor_off_vs_off']:+.1f}%, "
              f"one bare all-reduce = {100 * r['bare_all_reduce_share']:.1f}% of a step")
    return result


if __name__ == "__main__":
    main()
