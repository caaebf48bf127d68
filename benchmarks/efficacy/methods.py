"""The methods of Part V's sweep: one table, one row per method, each with its one knob and 7-point grid.

Every method gets the same model, data, batches and step budget; it varies only its own knob. All other
hyperparameters are the method's published defaults (or the package's, which follow them), except where
a column says otherwise and why. ``build(model, knob, workload)`` returns the optimizer and the extra
keyword arguments for :func:`dsat_tutorial.training.fit`.

Knob grids: a learning rate (or a base rate the controller multiplies) spans 1e-4 ... 1e2, one point per
decade. DoG's knob is its relative first step r_eps = reps_rel * (1 + ||x0||) and Prodigy's is its initial
distance estimate d0: both are the *size of the first move*, so their grids span 1e-8 ... 1e-2 (the
methods' defaults, 1e-6, sit in the middle), one point per decade -- again 7 points over 6 decades.

What it is not: a tuned configuration of each method (that would defeat the robustness question).
References: see ``dsat_tutorial.tuning.evidence`` and Part V, chapter 1.
"""

from __future__ import annotations

import torch

LR_GRID = tuple(10.0 ** e for e in range(-4, 3))     # 1e-4 ... 1e2
EPS_GRID = tuple(10.0 ** e for e in range(-8, -1))   # 1e-8 ... 1e-2


def _adam(model, lr):
    return torch.optim.Adam(model.parameters(), lr=lr)


def _sgd(model, lr, momentum=0.0):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def _scheduled(schedule_fn):
    def build(model, knob, w):
        from dsat_tutorial.controllers import ScheduleLR
        opt = _adam(model, knob)
        return opt, {"schedulers": [ScheduleLR(opt, schedule_fn(knob, w))]}
    return build


def _const_sgd(model, knob, w):
    return _sgd(model, knob, momentum=0.9), {}


def _const_adam(model, knob, w):
    return _adam(model, knob), {}


def _step(k, w):
    from dsat_tutorial.schedules import StepDecay
    return StepDecay(k, rate=0.1, every=w.budget // 3)


def _cosine(k, w):
    from dsat_tutorial.schedules import CosineDecay
    return CosineDecay(k, total_steps=w.budget)


def _warmup_cosine(k, w):
    from dsat_tutorial.schedules import CosineDecay, Warmup
    return Warmup(CosineDecay(k, total_steps=w.budget - w.steps_per_epoch), warmup_steps=w.steps_per_epoch)


def _wsd(k, w):
    from dsat_tutorial.schedules import WarmupStableDecay
    return WarmupStableDecay(k, total_steps=w.budget, warmup_steps=w.steps_per_epoch,
                             decay_steps=w.budget // 5, decay="sqrt")


def _onecycle(k, w):
    from dsat_tutorial.schedules import OneCycle
    return OneCycle(k, total_steps=w.budget)


def _plateau(model, knob, w):
    from dsat_tutorial.controllers import PlateauLR
    from dsat_tutorial.schedules import Constant, Warmup
    opt = _adam(model, knob)
    return opt, {"schedulers": [PlateauLR(opt, schedule=Warmup(Constant(knob), warmup_steps=w.steps_per_epoch),
                                          factor=0.1, patience=2)]}


def _bold(model, knob, w):
    from dsat_tutorial.controllers import BoldDriver
    opt = _adam(model, knob)
    return opt, {"schedulers": [BoldDriver(opt)]}


def _loss_adaptive(model, knob, w):
    from dsat_tutorial.controllers import LossAdaptiveLR
    opt = _adam(model, knob)
    return opt, {"schedulers": [LossAdaptiveLR(opt)]}


def _gradnorm(model, knob, w):
    from dsat_tutorial.controllers import GradNormScaledLR
    opt = _sgd(model, knob, momentum=0.9)
    return opt, {"schedulers": [GradNormScaledLR(opt, alpha=1.0)]}


def _adagrad_norm(model, knob, w):
    from dsat_tutorial.controllers import AdaGradNormLR
    opt = _sgd(model, knob)
    return opt, {"schedulers": [AdaGradNormLR(opt)]}


def _sps(model, knob, w):
    from dsat_tutorial.controllers import PolyakLR
    opt = _sgd(model, 1.0)
    return opt, {"schedulers": [PolyakLR(opt, f_star=0.0, c=0.5, max_lr=knob)]}


def _dog(model, knob, w):
    from torch.optim.swa_utils import AveragedModel
    from dsat_tutorial.controllers import DoGLR, polynomial_decay_avg_fn
    from dsat_tutorial.training import AverageParameters
    opt = _sgd(model, 1.0)
    avg = AveragedModel(model, multi_avg_fn=polynomial_decay_avg_fn(gamma=8.0))
    return opt, {"schedulers": [DoGLR(opt, reps_rel=knob)], "eval_model": avg,
                 "callbacks": [AverageParameters(avg)]}


def _prodigy(model, knob, w):
    import prodigyopt
    return prodigyopt.Prodigy(model.parameters(), lr=1.0, d0=knob), {}


def _schedulefree(model, knob, w):
    import schedulefree
    return schedulefree.AdamWScheduleFree(model.parameters(), lr=knob), {}


def _dst_loop(model, knob, w):
    from dsat_tutorial.clipping import AutoClip
    from dsat_tutorial.controllers import PlateauLR
    from dsat_tutorial.monitor import HealthMonitor, LossSpikeGuard
    from dsat_tutorial.policy import DSTPolicy
    from dsat_tutorial.schedules import Constant, Warmup
    opt = _adam(model, knob)
    plateau = PlateauLR(opt, schedule=Warmup(Constant(knob), warmup_steps=w.steps_per_epoch), factor=0.3,
                        patience=2)
    return opt, {"schedulers": [plateau], "clip": AutoClip(percentile=10),
                 "monitor": HealthMonitor(patience=3, baseline=w.baseline), "policy": DSTPolicy(cooldown=2),
                 "spike_guard": LossSpikeGuard(factor=3.0, warmup_steps=20), "max_retries": 3}


def _row(family, knob, grid, build, description):
    return {"family": family, "knob": knob, "grid": grid, "build": build, "description": description}


#: name -> family, knob, grid, build, description. ``max_retries`` is 0 (a non-finite loss ends the run
#: as diverged) except for the DS&T loop, whose rollback is part of the method.
METHODS = {
    "sgdm_constant": _row("constant", "lr", LR_GRID, _const_sgd, "SGD, momentum 0.9, constant lr"),
    "adam_constant": _row("constant", "lr", LR_GRID, _const_adam, "Adam, constant lr"),
    "adam_step": _row("schedule", "lr", LR_GRID, _scheduled(_step), "Adam, lr x0.1 after 1/3 and 2/3 of the steps"),
    "adam_cosine": _row("schedule", "lr", LR_GRID, _scheduled(_cosine), "Adam, cosine decay to 0"),
    "adam_warmup_cosine": _row("schedule", "lr", LR_GRID, _scheduled(_warmup_cosine),
                               "Adam, 1 epoch linear warm-up, then cosine to 0"),
    "adam_wsd": _row("schedule", "lr", LR_GRID, _scheduled(_wsd),
                     "Adam, warm-up-stable-decay: 1 epoch warm-up, 1-sqrt cooldown over the last 20 %"),
    "adam_onecycle": _row("schedule", "max lr", LR_GRID, _scheduled(_onecycle),
                          "Adam, one-cycle (30 % up from max/25, cosine down to max/25e4)"),
    "adam_plateau": _row("loss feedback", "lr", LR_GRID, _plateau,
                         "Adam, 1 epoch warm-up, then PlateauLR on val loss (x0.1, patience 2)"),
    "bold_driver": _row("loss feedback", "initial lr", LR_GRID, _bold,
                        "Adam with the bold driver (x1.05 / x0.5 with undo, per epoch)"),
    "loss_adaptive": _row("loss feedback", "base lr", LR_GRID, _loss_adaptive,
                          "Adam with source 003's loss-adaptive rate b/(1 + L/L_min)"),
    "gradnorm_scaled": _row("gradient feedback", "base lr", LR_GRID, _gradnorm,
                            "SGD-momentum with source 002's rate b/sqrt(1 + ||g||^2)"),
    "adagrad_norm": _row("gradient feedback", "eta", LR_GRID, _adagrad_norm, "AdaGrad-Norm (SGD, b0 = 0.01)"),
    "sps_max": _row("learning-rate-free", "max lr", LR_GRID, _sps, "SGD with the Polyak step, SPS_max (c = 0.5, f* = 0)"),
    "dog_avg": _row("learning-rate-free", "reps_rel", EPS_GRID, _dog,
                    "DoG (SGD), evaluated on its polynomial-decay average (gamma 8)"),
    "prodigy": _row("learning-rate-free", "d0", EPS_GRID, _prodigy, "Prodigy (Adam-type, lr 1)"),
    "schedulefree_adamw": _row("learning-rate-free", "lr", LR_GRID, _schedulefree,
                               "Schedule-Free AdamW (no warm-up, evaluated on its average)"),
    "dst_loop": _row("closed loop", "lr", LR_GRID, _dst_loop,
                     "Adam + warm-up + PlateauLR + AutoClip + HealthMonitor + DSTPolicy + spike guard + rollback"),
}


def table() -> dict:
    """The table as plain data (no functions), for the JSON and the chapters."""
    return {name: {k: (list(v) if k == "grid" else v) for k, v in row.items() if k != "build"}
            for name, row in METHODS.items()}
