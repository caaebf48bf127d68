"""Turn the sweep's records into ``efficacy.json``: protocol, environment and the aggregates.

Every number here is computed with :mod:`dsat_tutorial.tuning.evidence`; the chapters recompute a share of
them from the raw records (``efficacy_runs.jsonl``) and assert they agree. What it is not: the analysis
prose (that is Part V).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from dsat_tutorial.tuning.evidence import bootstrap_interval, robustness, steps_to_target

from .methods import METHODS, table
from .runner import workload


def annotate(record: dict) -> dict:
    """Add the per-run measures that depend on the task's target and baseline."""
    w = workload(record["task"])
    r = dict(record)
    final = r["final_val_loss"]
    r["steps_to_target"] = steps_to_target(r["val_loss"], w.steps_per_epoch, w.target)
    r["reached"] = math.isfinite(r["steps_to_target"])
    r["diverged"] = r["error"] is not None or not math.isfinite(final) or final > w.baseline
    return r


def _median(xs):
    return float(np.median(xs)) if len(xs) else math.nan


def summarise(records: list[dict], seeds) -> dict:
    rows = [annotate(r) for r in records]
    out = {}
    for task in sorted({r["task"] for r in rows}):
        out[task] = {}
        for method in [m for m in METHODS if any(r["method"] == m and r["task"] == task for r in rows)]:
            mine = [r for r in rows if r["task"] == task and r["method"] == method]
            knobs = sorted({r["knob_index"] for r in mine})
            per_seed = {s: [r for r in mine if r["seed"] == s] for s in seeds}
            shares = [robustness([r["reached"] for r in sorted(rs, key=lambda r: r["knob_index"])])
                      for rs in per_seed.values() if rs]
            by_knob = {}
            for k in knobs:
                ks = [r for r in mine if r["knob_index"] == k]
                by_knob[k] = {
                    "knob": ks[0]["knob"],
                    "median_final_val_loss": _median([r["final_val_loss"] for r in ks]),
                    "reached": sum(r["reached"] for r in ks), "diverged": sum(r["diverged"] for r in ks),
                    "median_steps_to_target": _median([r["steps_to_target"] for r in ks]),
                    "runs": len(ks)}
            best = min(knobs, key=lambda k: (by_knob[k]["median_steps_to_target"],
                                             by_knob[k]["median_final_val_loss"]))
            best_final = min(knobs, key=lambda k: by_knob[k]["median_final_val_loss"])
            out[task][method] = {
                "robustness": float(np.mean(shares)),
                "robustness_interval": (bootstrap_interval(shares) if len(shares) > 1 else [shares[0]] * 2),
                "knobs_reaching_on_every_seed": sum(by_knob[k]["reached"] == by_knob[k]["runs"] for k in knobs),
                "by_knob": by_knob, "best_knob_index": best, "best_final_knob_index": best_final,
                "best_median_steps_to_target": by_knob[best]["median_steps_to_target"],
                "best_median_final_val_loss": by_knob[best_final]["median_final_val_loss"],
                # runs that gave up early are left out: a few steps plus the start-up are no per-step cost
                "median_seconds_per_step": _median([r["seconds_per_step"] for r in mine if r["error"] is None]),
            }
        consts = [m for m in ("adam_constant", "sgdm_constant") if m in out[task]]
        if consts:
            ref = min(out[task][m]["best_median_steps_to_target"] for m in consts)
            for m in out[task]:
                s = out[task][m]["best_median_steps_to_target"]
                out[task][m]["steps_vs_best_constant"] = s / ref if math.isfinite(ref) else math.nan
    return out


def write_report(result: dict, out_dir: Path, env: dict) -> Path:
    mode, records = result["mode"], result["records"]
    seeds = sorted({r["seed"] for r in records})
    tasks = sorted({r["task"] for r in records})
    report = {
        "mode": mode, "complete": result["complete"], "environment": env, "runs_file": result["runs_file"], "n_runs": len(records),
        "cpu_seconds_total": sum(r["cpu_seconds"] for r in records),
        "seeds": seeds, "tasks": {t: workload(t).summary() for t in tasks}, "methods": table(),
        "summary": summarise(records, seeds) if mode != "pilot" else None,
        "pilot": _pilot(records) if mode == "pilot" else None,
    }
    path = out_dir / f"efficacy{'' if mode == 'full' else '_' + mode}.json"
    path.write_text(json.dumps(report, indent=1, allow_nan=True) + "\n")
    return path


def _pilot(records):
    out = {}
    for task in sorted({r["task"] for r in records}):
        rs = [r for r in records if r["task"] == task]
        out[task] = {"best_final_val_loss_per_seed": {str(s): min(r["final_val_loss"] for r in rs if r["seed"] == s)
                                                      for s in sorted({r["seed"] for r in rs})},
                     "final_by_knob": {str(r["knob"]) + "/" + str(r["seed"]): r["final_val_loss"] for r in rs}}
    return out
