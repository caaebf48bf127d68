"""dsat_tutorial -- dynamic scheduling and tuning of neural-network training.

The package behind the dsat-tutorial book. Every formula the book shows is implemented here once and
tested against an independent reference.

The package is folders by layer, bottom up (a module imports only from its own layer or below):

=========================  ====================================================================
layer                      what it holds
=========================  ====================================================================
``data/``, ``models``      seeded tasks with a learnable signal, real data shipped offline
                           (``data/datasets/``); small recurrent models
``schedules/``             open-loop schedules: pure, picklable ``step -> lr`` callables
                           (``base``, ``decay``, ``cyclic``, ``compose``)
``controllers/``           PyTorch ``LRScheduler`` subclasses, one module per signal: ``time``
                           (``ScheduleLR``), ``gradient``, ``loss``, ``plateau``
``clipping``, ``monitor``  global-norm clipping and ``AutoClip``; ``HealthMonitor`` and ``Health``,
                           ``LossSpikeGuard``, ``recurrent_gain``
``convergence``            stopping criteria: gradient norm and relative loss change
``curvature``              the largest Hessian eigenvalue (the curvature that sets a stable lr)
``policy``                 the DS&T policy: verdict -> actions
``training/``              ``fit`` (``loop``, ``epoch``, ``state``, ``checkpoint``, ``scheduled``),
                           ``lr_range_test`` and ``History``
``tuning/``                grid and random search, search spaces, k-fold and time-series splits
``plotting``               schedule and training-history figures
``scratch/``               NumPy from scratch: RNN with BPTT, gradient checking, optimizers
``utils``                  seeding and thread pinning for reproducible runs
=========================  ====================================================================

What it is not: a training framework. It is the smallest set of tested pieces the book needs, each a
PyTorch citizen (optimizers, ``LRScheduler``, ``nn.Module``) that works in a reader's own loop.

Quick start::

    from dsat_tutorial import ScheduleLR, Warmup, CosineDecay
    scheduler = ScheduleLR(optimizer, Warmup(CosineDecay(0.1, total_steps=10_000), warmup_steps=500))
    # ... optimizer.step(); scheduler.step()
"""

from .clipping import AutoClip, ClipResult, clip_grad_norm, global_grad_norm
from .convergence import ConvergenceCheck, FullBatchGradNorm, full_batch_grad_norm, relative_change
from .controllers import (AdaGradNormLR, BoldDriver, GradNormScaledLR, LossAdaptiveLR,
                          NonFiniteSignalWarning, PlateauLR, ScheduleLR)
from .controllers import DoGLR, PolyakLR, polynomial_decay_avg_fn
from .curvature import top_hessian_eigenvalue
from .monitor import Health, HealthMonitor, LossSpikeGuard, RecordRecurrentGain, recurrent_gain
from .policy import Action, DSTPolicy, PolicyContext, scale_learning_rate
from .schedules import (Constant, CosineDecay, CosineWarmRestarts, ExponentialDecay, Join, LinearDecay,
                        OneCycle, PolynomialDecay, Sawtooth, Schedule, StepDecay, Triangular, Warmup)
from .schedules import InverseSqrtDecay, WarmupStableDecay
from .training import (Callback, CheckpointError, History, RangeTestResult, Scheduled, TrainingDiverged,
                       TrainState, fit, lr_range_test, steepest_descent_lr)
from .utils import seed_everything, set_threads

__version__ = "0.1.0"


def _register_legacy_module_names() -> None:
    """Keep objects pickled by version 0.1 (flat layout) loadable: their classes name private modules
    that are now files of the subpackages, so each old name is an alias of its new module."""
    import importlib
    import sys

    for old, new in {"_schedules_base": "schedules.base", "_schedules_decay": "schedules.decay",
                     "_schedules_cyclic": "schedules.cyclic", "_schedules_compose": "schedules.compose",
                     "_lr_base": "controllers.base", "_loop": "training.loop", "_loop_epoch": "training.epoch",
                     "_fit_state": "training.state", "_checkpoint": "training.checkpoint",
                     "_scheduled": "training.scheduled", "_range_test": "training.range_test",
                     "_data_task": "data.task", "_data_synthetic": "data.synthetic",
                     "_data_real": "data.real"}.items():
        sys.modules.setdefault(f"{__name__}.{old}", importlib.import_module(f"{__name__}.{new}"))


_register_legacy_module_names()

__all__ = [
    # schedules
    "Schedule", "Constant", "StepDecay", "ExponentialDecay", "PolynomialDecay", "LinearDecay",
    "CosineDecay", "CosineWarmRestarts", "Sawtooth", "Triangular", "OneCycle", "Warmup", "Join",
    "WarmupStableDecay", "InverseSqrtDecay",
    # controllers
    "ScheduleLR", "GradNormScaledLR", "AdaGradNormLR", "LossAdaptiveLR", "BoldDriver", "PlateauLR",
    "NonFiniteSignalWarning", "PolyakLR", "DoGLR", "polynomial_decay_avg_fn",
    # clipping, monitoring, policy
    "global_grad_norm", "clip_grad_norm", "AutoClip", "ClipResult", "Health", "HealthMonitor",
    "LossSpikeGuard", "recurrent_gain", "RecordRecurrentGain",
    "DSTPolicy", "Action", "PolicyContext", "scale_learning_rate",
    # training loop
    "fit", "Scheduled", "Callback", "TrainState", "TrainingDiverged", "CheckpointError", "History",
    "lr_range_test", "RangeTestResult", "steepest_descent_lr",
    # convergence and curvature
    "ConvergenceCheck", "relative_change", "full_batch_grad_norm", "FullBatchGradNorm",
    "top_hessian_eigenvalue",
    # reproducibility
    "seed_everything", "set_threads",
]
