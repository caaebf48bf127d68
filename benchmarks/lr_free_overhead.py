"""Benchmark: what the learning-rate-free controllers and the WSD schedule cost, as ratios in one run.

Not a test (speed goals never live in the test suite). Two parts:

* ``fit`` -- one epoch of ``fit`` with a bare ``PolyakLR`` (SPS_max: ``c=0.5, max_lr=1``) or ``DoGLR``
  against the same ``fit`` with a constant lr (no scheduler), on the model and data of
  ``benchmarks/fit_overhead.py`` (``SequenceRegressor(1, 32)`` LSTM, plain SGD, ``sine_forecast(1000,
  20)``, batch 32, one thread). Polyak reuses the batch loss and gradient norm ``fit`` already has;
  DoG reuses the norm and measures its distance from ``x0`` (one subtraction and one norm per step; no
  copy is kept). Goal: epoch time ratio <= 1.10. Each repeat builds fresh models from one seed outside
  the timer and times one epoch of every variant back to back, rotating the order, in CPU time of the
  process; the figure is the median over repeats of the paired ratio, with quartiles, and the
  constant-lr run timed against itself gives the noise floor.
* ``schedule`` -- ``ScheduleLR(opt, WarmupStableDecay(...)).step()`` against PyTorch's
  ``CosineAnnealingLR.step()``, as in ``benchmarks/scheduler_overhead.py`` (fresh schedulers per repeat,
  ``NUMBER`` calls timed with ``timeit``, repeats interleaved). Two WSD settings: calls spread over all
  three phases (warm-up, stable, sqrt cooldown), and every call inside a sqrt cooldown (the dearest
  branch). Goal: ratio <= 1.0.

Results go to ``benchmarks/results/lr_free_overhead.json``. Run: ``python benchmarks/lr_free_overhead.py``
"""

from __future__ import annotations

import functools
import json
import platform
import statistics
import time
import timeit
from pathlib import Path

import torch

from dsat_tutorial.controllers import DoGLR, PolyakLR, ScheduleLR
from dsat_tutorial.data import make_loaders, sine_forecast
from dsat_tutorial.models import SequenceRegressor
from dsat_tutorial.schedules import WarmupStableDecay
from dsat_tutorial.training import fit

FIT_REPEATS = 61
NUMBER = 20_000     # step() calls per schedule repeat
SCHED_REPEATS = 15
OUT = Path(__file__).resolve().parent / "results" / "lr_free_overhead.json"


# ------------------------------------------------------------------------------------------- fit
def _fresh(lr):
    torch.manual_seed(0)
    model = SequenceRegressor(1, 32)
    return model, torch.optim.SGD(model.parameters(), lr=lr)


VARIANTS = {
    "constant": (0.05, lambda opt: []),
    "constant again": (0.05, lambda opt: []),
    "polyak": (1.0, lambda opt: [PolyakLR(opt, c=0.5, max_lr=1.0)]),
    "dog": (1.0, lambda opt: [DoGLR(opt)]),
}


def _fit_epoch(name, train, loss_fn) -> float:
    lr, make = VARIANTS[name]
    model, opt = _fresh(lr)
    scheds = make(opt)
    start = time.process_time()
    history = fit(model, train, None, loss_fn=loss_fn, optimizer=opt, epochs=1, schedulers=scheds,
                  progress=False)
    elapsed = time.process_time() - start
    assert not history.events, f"{name}: {history.events}"  # no rollback distorts the timing
    return elapsed


def controller_step_cost(train, loss_fn, number: int = 2000) -> dict:
    """CPU microseconds per ``step`` call as fit makes it (loss and norm given), gradients in place: a
    resolved estimate of the per-step overhead, where whole-epoch ratios drown in machine noise."""
    x, y = next(iter(train))
    out = {}
    for name, call in (("polyak", lambda s, loss, norm: s.step(loss, norm)),
                       ("dog", lambda s, loss, norm: s.step(norm))):
        lr, make = VARIANTS[name]
        model, opt = _fresh(lr)
        (sched,) = make(opt)
        loss = loss_fn(model(x), y)
        loss.backward()
        loss_v, norm = loss.item(), 1.0
        call(sched, loss_v, norm)  # the first step (DoG copies x0 here)
        samples = []
        for _ in range(7):  # CPU time, like the epochs (wall time would charge other people's work)
            start = time.process_time()
            for _ in range(number):
                call(sched, loss_v, norm)
            samples.append((time.process_time() - start) / number)
        out[name] = round(statistics.median(samples) * 1e6, 3)
    return out


def measure_fit(train, loss_fn) -> dict:
    for name in VARIANTS:  # warm-up
        _fit_epoch(name, train, loss_fn)
    order = list(VARIANTS)
    times: dict = {name: [] for name in order}
    for r in range(FIT_REPEATS):
        for name in order[r % len(order):] + order[: r % len(order)]:
            times[name].append(_fit_epoch(name, train, loss_fn))

    def ratio(a: str, b: str) -> dict:
        paired = [x / y for x, y in zip(times[a], times[b])]
        return {"ratio": round(statistics.median(paired), 4),
                "quartiles": [round(q, 4) for q in statistics.quantiles(paired, n=4)]}

    per_step_ms = statistics.median(times["constant"]) * 1e3 / len(train)
    costs = controller_step_cost(train, loss_fn)
    return {"ms_per_epoch": {k: round(statistics.median(v) * 1e3, 3) for k, v in times.items()},
            "controller_step_us": costs,
            "controller_step_as_fraction_of_a_constant_lr_step": {
                k: round(v / 1e3 / per_step_ms, 4) for k, v in costs.items()},
            "polyak_vs_constant": ratio("polyak", "constant"),
            "dog_vs_constant": ratio("dog", "constant"),
            "noise_floor_constant_vs_constant": ratio("constant again", "constant"),
            "steps_per_epoch": len(train), "goal": "ratio <= 1.10"}


# -------------------------------------------------------------------------------------- schedule
def _scheduler(make):
    opt = torch.optim.SGD([torch.zeros(10, requires_grad=True)], lr=0.1)
    sched = make(opt)
    opt.step()  # documented order: optimizer.step() before scheduler.step()
    return sched


def _time_one(make) -> float:
    sched = _scheduler(make)
    return timeit.timeit(functools.partial(sched.step), number=NUMBER) / NUMBER


def measure_schedule() -> dict:
    makers = {
        # warm-up 2000, stable 13000, sqrt cooldown 5000 (the NUMBER calls cross all three phases)
        "wsd_all_phases": lambda opt: ScheduleLR(opt, WarmupStableDecay(0.1, NUMBER, 2000, 5000, "sqrt")),
        # every call inside the sqrt cooldown
        "wsd_sqrt_cooldown": lambda opt: ScheduleLR(opt, WarmupStableDecay(0.1, NUMBER + 1, 0, NUMBER,
                                                                           "sqrt")),
        "cosine_annealing_lr": lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, 1_000_000),
    }
    times: dict = {k: [] for k in makers}
    for _ in range(SCHED_REPEATS):  # interleaved
        for name, make in makers.items():
            times[name].append(_time_one(make))
    med = {k: statistics.median(v) for k, v in times.items()}
    torch_us = med["cosine_annealing_lr"]
    return {"us_per_step": {k: round(v * 1e6, 4) for k, v in med.items()},
            "ratio_all_phases": round(med["wsd_all_phases"] / torch_us, 4),
            "ratio_sqrt_cooldown": round(med["wsd_sqrt_cooldown"] / torch_us, 4),
            "calls_per_repeat": NUMBER, "repeats": SCHED_REPEATS, "goal": "ratio <= 1.0"}


def main() -> dict:
    torch.set_num_threads(1)
    task = sine_forecast(1000, 20, seed=0)
    train, _ = make_loaders(task.X, task.y, batch_size=32, seed=0)
    result = {
        "benchmark": "PolyakLR / DoGLR inside fit vs a constant lr; WarmupStableDecay via ScheduleLR vs "
                     "CosineAnnealingLR",
        "fit": measure_fit(train, task.loss_fn()),
        "schedule": measure_schedule(),
        "fit_model": "SequenceRegressor(1, 32) LSTM, SGD, sine_forecast(1000, 20), batch 32",
        "statistic": "fit: median of paired CPU-time ratios over repeats (quartiles alongside); "
                     "schedule: ratio of medians over interleaved repeats",
        "fit_repeats": FIT_REPEATS,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "note": "shared, contended machine (up to 8 jobs on 2 cores): see the noise floor",
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    f, s = result["fit"], result["schedule"]
    for key in ("polyak_vs_constant", "dog_vs_constant", "noise_floor_constant_vs_constant"):
        q1, _, q3 = f[key]["quartiles"]
        print(f"fit {key:34s} {f[key]['ratio']:.3f}  [quartiles {q1:.3f}, {q3:.3f}]  (goal <= 1.10)")
    print(f"controller step() alone: {f['controller_step_us']} us = "
          f"{f['controller_step_as_fraction_of_a_constant_lr_step']} of a constant-lr fit step")
    print(f"ScheduleLR(WSD).step() / CosineAnnealingLR.step(): all phases {s['ratio_all_phases']:.3f}, "
          f"sqrt cooldown {s['ratio_sqrt_cooldown']:.3f}  (goal <= 1.0)")
    return result


if __name__ == "__main__":
    main()
