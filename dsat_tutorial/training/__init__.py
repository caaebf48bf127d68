"""The training loop: ``fit`` with schedulers, clipping, health monitor, DS&T policy and checkpoints.

Source 000 describes dynamic scheduling and tuning as a *loop* -- monitor, assess, adjust, update -- but
its code is an open-loop step decay on random labels (ERRATA 000-E2, 000-E4, 000-E9) and it loops
``model.fit(epochs=1)`` by hand, validating twice and resetting callbacks every epoch (000-E8). This
module is that loop, written once, in PyTorch::

    batch -> model -> loss -> backward -> grad norm -> clip -> [pre-update controllers] -> optimizer.step
          -> [per-step schedules] -> step record
    epoch end -> validation -> HealthMonitor.update -> policy actions -> [per-epoch schedulers]
          -> epoch record -> callbacks -> checkpoint -> progress bar

Public names: :func:`fit`, :class:`Scheduled`, :class:`Callback`, :class:`TrainState`,
:class:`TrainingDiverged`, :class:`CheckpointError`, :func:`lr_range_test`, :class:`RangeTestResult`,
:func:`steepest_descent_lr`, :class:`AverageParameters`
(and :class:`~dsat_tutorial.history.History`, which ``fit`` returns).

**Decision 1 -- when each scheduler is stepped, with which signal.** ``schedulers=`` takes bare
schedulers or :class:`Scheduled` declarations ``Scheduled(scheduler, interval, signal)``; an explicit
declaration always wins. Bare schedulers get these defaults (``metric`` = ``"val_loss"`` with a
``val_loader``, else ``"train_loss"``):

==============================================  ==================  ==============================
scheduler                                       interval            signal
==============================================  ==================  ==============================
``GradNormScaledLR``, ``AdaGradNormLR``         step, pre-update    ``grad_norm`` (before clipping)
``DoGLR``                                       step, pre-update    ``grad_norm`` (before clipping)
``PolyakLR``                                    step, pre-update    ``batch_loss+grad_norm``
any other scheduler with ``pre_update = True``  step, pre-update    ``grad_norm`` (before clipping)
``ScheduleLR``                                  step                none
``PlateauLR`` with a schedule                   step + epoch        none / ``metric``
``PlateauLR`` without one                       epoch               ``metric``
``LossAdaptiveLR``, ``BoldDriver``              epoch               ``train_loss``
``torch ReduceLROnPlateau``                     epoch               ``metric``
``torch OneCycleLR``, ``CyclicLR``              step                none
every other torch scheduler                     epoch               none (PyTorch's convention)
==============================================  ==================  ==============================

Schedulers that declare ``pre_update = True`` receive their step-level signal (``grad_norm``,
``batch_loss`` or both, as ``step(batch_loss, grad_norm)``) *before* ``optimizer.step()``, so the lr
they set drives that very update (no one-step lag, 003-E6); every other per-step scheduler is stepped
*after* it, as PyTorch requires (a ``batch_loss`` signal then sets the lr of the next update). A scheduler exposing ``improved is False``
after its epoch step (the bold driver) makes ``fit`` revert the weights and optimizer state to the start
of the epoch -- the state after the last accepted epoch -- keeping the new, lower lr (ERRATA 000-E10's
bold-driver spec). Non-finite steps deliver no signal at all.

**Decision 2 -- how the policy changes the lr while schedulers run.** Writing ``group["lr"]`` is
undone by the next step of a closed-form scheduler. Every lr change (the policy's, or a divergence
rollback's) therefore goes through :func:`dsat_tutorial.policy.scale_learning_rate`: a scheduler with
``scale_lr(factor)`` (the package's controllers) multiplies a persistent scale it applies to every lr it
produces; a torch built-in has its lr-valued settings scaled (``base_lrs``, ``eta_min``, ``max_lrs``,
OneCycle's group keys); chainable ones continue from the scaled group lr.

**Decision 3 -- divergence.** A non-finite batch loss (checked before ``backward``) or gradient norm
(checked before clipping is applied) skips the step; ``fit`` restores the last good state -- model,
optimizer, every scheduler/controller and the clipper as they were at the start of the epoch (one
snapshot per epoch, not per step: the hot path stays cheap) -- multiplies the lr by ``policy.factor``
(0.5 without a policy), makes that the new last good state and logs a ``rollback`` event, then continues
with the next batch. A run of more than ``max_retries`` consecutive failures raises
:class:`TrainingDiverged` naming the epoch, the step and the lr. The same rollback happens when the
parameters, buffers or optimizer state are non-finite at the end of an epoch (an update that
overflowed): such a state is never validated, kept as "best" or checkpointed.

*Rollback and the schedule's step count* (a decision): the schedulers are restored *with* the weights,
so a schedule's clock counts the updates the weights keep and a rollback replays the epoch on the same
schedule -- as restarting from an earlier checkpoint after a loss spike does (PaLM, Chowdhery et al.
2022, sec. 5.1); the alternative, a clock that runs on through undone updates, would hand the restored
weights a learning rate meant for progress they no longer have. The price: after ``k`` undone updates a
schedule planned for ``epochs * len(train_loader)`` steps ends ``k`` steps short of its end (a cosine does
not quite reach ``end_lr``). ``history.steps`` still records every update taken, undone or not.

**Decision 3b -- finite loss spikes** (``spike_guard=``, :class:`~dsat_tutorial.monitor.LossSpikeGuard`).
A finite batch loss above ``factor`` times the moving average of the accepted losses is skipped before
``backward`` and logged (a ``spike`` event and a row of ``History.spikes``); more than ``max_skips``
consecutive spikes take Decision 3's rollback (one failure towards ``max_retries``). Without a guard
nothing changes (PaLM section 5.1's skip-then-restart, as a ladder: skip, roll back with a lower lr, stop).

**Decision 4 -- the policy in the loop.** Once per epoch the monitor gets ``update(train_loss,
val_loss)``; with a policy, ``policy(verdict, PolicyContext(...))`` returns actions that ``fit`` executes
in order and logs one event each, with the policy's reason: ``rollback`` (to the start of the epoch),
``scale_lr`` (Decision 2), ``tighten_clip`` (the float threshold, or AutoClip's ``scale``), ``stop``
(after this epoch's bookkeeping), ``restore_best`` (the weights of the epoch with the lowest validation
loss, or training loss without a ``val_loader``; tracked only when a policy is given). Then the
per-epoch schedulers step, as DESIGN.md's data flow has it.

**Decision 5 -- checkpoints.** With ``checkpoint_dir``, each epoch ends by writing
``checkpoint_dir/checkpoint.pt`` atomically: model, optimizer, schedulers, clipper, monitor, policy, the
best weights, the history, the Python/NumPy/PyTorch RNG states, the data loaders' own generators and the
position (epochs and steps done). ``resume=True`` loads it with ``torch.load(weights_only=True)`` and
continues to ``epochs`` in total; k epochs + resume gives the n-epoch run bit for bit (same process
settings, ``num_workers=0``). Epochs count from 1 in records and messages; steps are the global batch
index from 0.

**Decision 6 -- which weights are trained, validated and returned.** An optimizer with ``train()`` and
``eval()`` (Schedule-Free) is put in train mode at the start of every epoch, before the snapshot that
rollbacks restore, and in eval mode at the end of every epoch (before validation and the "best"
snapshot, and again before the callbacks and the checkpoint) and when ``fit`` returns or raises: the
recorded validation loss, the checkpoints and the returned model all hold its evaluation weights.
``restore_best`` then restores the optimizer state of the best epoch with its weights (the current lr
kept). ``eval_model=`` validates another module -- typically a ``torch.optim.swa_utils.AveragedModel``
kept up to date by :class:`AverageParameters` -- tracks *its* best state, rewinds it with every rollback
and checkpoints it. Each step also records the *effective* lr next to the nominal one (Prodigy's
:math:`d\\cdot\\mathrm{lr}`, Schedule-Free's warmup-scaled lr); the policy's and rollbacks' lr changes
scale the nominal one, which for Prodigy is its ``lr`` multiplier.

**Decision 7 -- data-parallel runs** (:mod:`dsat_tutorial.training.distributed`). Inside a
``torch.distributed`` process group (a ``DistributedDataParallel`` model, ``DistributedSampler``
loaders, the same call on every rank) every number a decision reads is agreed across ranks first: each
step, *one* all-reduce before ``backward`` gives every rank the sample-weighted mean loss of the global
batch, non-finite if any rank's is (records, ``batch_loss`` signals, the spike guard and Decision 3
read it; DDP's averaged gradients make norms and clipping agree); each epoch, one all-reduce makes the
training metrics and validation loss and metrics sample-weighted means over all ranks; a
``stop_training`` set on any rank stops all. So decisions, events and weights are identical on every
rank. Before epoch ``e``, ``sampler.set_epoch(e - 1)`` is called when the training sampler has it.
Rank 0 alone shows the bar and writes the checkpoint (with every rank's RNG states; the others wait
for it); ``resume=True`` loads it on every rank, each restoring its own RNG state. Not agreed: a
callback's changes to one rank's loss or weights. Without a process group nothing changes.

What it is not: a framework. No launcher (``torchrun``), mixed precision or gradient accumulation; one
``(inputs, targets)`` batch format; ``loss_fn(outputs, targets)`` in PyTorch's argument order (003-E7).

References: L. N. Smith, "Cyclical learning rates for training neural networks", WACV 2017 (range
test); R. Battiti (1989) (bold driver); PyTorch's ``torch.optim.lr_scheduler`` conventions.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Mapping, Optional

import torch

from .checkpoint import CHECKPOINT_NAME, CheckpointError
from .faults import InjectLoss
from .averaging import AverageParameters
from .checks import check_lr_writers, check_optimizer
from .loop import FitLoop, TrainingDiverged, TrainState
from .range_test import RangeTestResult, lr_range_test, steepest_descent_lr
from .runs import TASKS, RunResult, RunSpec, train_run
from .scheduled import Scheduled, resolve
from .spike import check_spike_guard
from .stepping import LoopPosition, loop_position
from .branching import StepBatches, branch_cooldowns, train_steps
from .._validation import check_int
from .history import History
from ..utils import seed_everything

__all__ = ["fit", "Scheduled", "Callback", "TrainState", "TrainingDiverged", "CheckpointError",
           "CHECKPOINT_NAME", "lr_range_test", "RangeTestResult", "steepest_descent_lr", "History",
           "AverageParameters", "InjectLoss", "RunSpec", "RunResult", "train_run", "TASKS", "LoopPosition",
           "loop_position", "StepBatches", "train_steps", "branch_cooldowns"]


class Callback:
    """Base class (optional) for ``fit`` callbacks; any object with some of these methods works.

    * ``on_loss(state, loss) -> loss`` -- each batch loss before ``backward()``; return the loss to use
      (the same tensor normally; a scaled one, or a NaN to test the divergence handling);
    * ``on_step_end(state)`` -- after each successful optimizer step;
    * ``on_epoch_end(state)`` -- after the epoch record is written, before the checkpoint.

    ``state`` is the run's :class:`TrainState`; set ``state.stop_training = True`` to stop after the
    epoch. Reference: Keras ``Callback`` (``on_epoch_end``, ``model.stop_training``).
    Taught in: Part IV, The full DS&T loop.

    >>> class NaNAt(Callback):
    ...     def __init__(self, step): self.at = step
    ...     def on_loss(self, state, loss):
    ...         return loss * float("nan") if state.step == self.at else loss
    >>> NaNAt(3).on_epoch_end(None)  # unused hooks do nothing
    """

    def on_loss(self, state: TrainState, loss: torch.Tensor) -> torch.Tensor:
        return loss

    def on_step_end(self, state: TrainState) -> None:
        return None

    def on_epoch_end(self, state: TrainState) -> None:
        return None


def fit(model: torch.nn.Module, train_loader: Iterable, val_loader: Optional[Iterable] = None, *,
        loss_fn: Callable, optimizer: torch.optim.Optimizer, epochs: int, schedulers: Any = (),
        clip: Any = None, monitor: Any = None, policy: Any = None,
        metrics: Optional[Mapping[str, Callable]] = None, callbacks: Iterable = (),
        checkpoint_dir: Optional[str | os.PathLike] = None, resume: bool = False, progress: bool = True,
        device: Optional[str | torch.device] = None, seed: Optional[int] = None,
        max_retries: int = 3, spike_guard: Any = None,
        eval_model: Optional[torch.nn.Module] = None) -> History:
    """Train ``model`` for ``epochs`` epochs with feedback: schedulers, clipping, monitor and policy.

    .. math::
        \\begin{gathered}
        \\theta_{t+1} = \\theta_t - \\eta_t\\,\\mathrm{clip}_c(g_t), \\\\
        \\mathrm{clip}_c(g) = g\\,\\min\\!\\big(1, c / (\\lVert g \\rVert + \\epsilon)\\big)
        \\end{gathered}

    where :math:`g_t` is the gradient of ``loss_fn`` on batch :math:`t` (any optimizer replaces the plain
    update), :math:`\\eta_t` the learning rate set by the ``schedulers`` and the policy, and :math:`c` the
    clip threshold (``clip``). See the module docstring for the order of operations and the rules.

    Args:
        model: the ``torch.nn.Module`` to train (in place).
        train_loader: iterable of ``(inputs, targets)`` batches, e.g. a ``DataLoader``.
        val_loader: the same for validation (evaluated once per epoch under ``torch.no_grad()``).
        loss_fn: ``loss_fn(outputs, targets) -> scalar tensor`` (mean over the batch).
        optimizer: a ``torch.optim`` optimizer over the model's parameters.
        epochs: total number of epochs (>= 1), also when resuming.
        schedulers: a scheduler, a :class:`Scheduled`, or a sequence of them (see Decision 1).
        clip: ``None``, a max norm (float > 0) or an :class:`~dsat_tutorial.clipping.AutoClip`.
        monitor: a :class:`~dsat_tutorial.monitor.HealthMonitor` (anything with ``update`` and
            ``reason``), updated once per epoch.
        policy: ``policy(health, context) -> list[Action]``, e.g.
            :class:`~dsat_tutorial.policy.DSTPolicy`; needs a ``monitor``.
        metrics: ``{name: fn(outputs, targets) -> number}``, averaged over training batches (recorded in
            ``train_metrics``) and over the validation set (``val_metrics``).
        callbacks: objects with ``on_loss``/``on_step_end``/``on_epoch_end`` (see :class:`Callback`).
        checkpoint_dir: directory for ``checkpoint.pt``, written atomically after every epoch.
        resume: continue from ``checkpoint_dir/checkpoint.pt`` (it must exist).
        progress: show a ``tqdm.auto`` bar (epoch, train/val loss, lr, health).
        device: move the model and every batch there; ``None`` leaves both where they are.
        seed: if given, :func:`~dsat_tutorial.utils.seed_everything` first (a resume then restores the
            checkpointed RNG states).
        max_retries: consecutive non-finite steps rolled back (>= 0) before :class:`TrainingDiverged`.
        spike_guard: a :class:`~dsat_tutorial.monitor.LossSpikeGuard`: a finite batch loss above its
            ``factor`` x moving average is skipped before ``backward`` (a ``spike`` event, a row of
            ``history.spikes``); more than ``max_skips`` in a row roll back as a non-finite step does
            (one retry of ``max_retries``). Its state is checkpointed.
        eval_model: a module to validate (and keep as "best", restore with ``restore_best``, rewind
            with rollbacks and checkpoint) instead of ``model``, e.g. an ``AveragedModel`` updated by
            ``callbacks=[AverageParameters(averaged)]``; ``None`` validates ``model``. Not allowed with
            a Schedule-Free optimizer, whose eval mode already evaluates its average.

    Schedule-Free (``schedulefree``) and Prodigy (``prodigyopt``) work as any optimizer (Decision 6):
    ``fit`` calls Schedule-Free's ``optimizer.train()``/``optimizer.eval()`` itself, and the history's
    ``effective_lr`` shows Prodigy's :math:`d \\cdot \\mathrm{lr}`.

    Under ``torch.distributed`` (Decision 7) these are agreed across ranks before any decision: each
    step's batch loss and non-finite flag (one all-reduce, before ``backward``), each epoch's train and
    validation losses and metrics (sample-weighted means), ``stop_training``; DDP averages gradients.

    Returns:
        The :class:`~dsat_tutorial.history.History` (also the resumed part of a resumed run).

    Raises:
        TrainingDiverged: more than ``max_retries`` consecutive non-finite steps.
        CheckpointError: ``resume=True`` and the checkpoint is missing, corrupt or from another setup.
        ValueError: invalid arguments (named in the message); an optimizer whose ``step`` needs a
            closure (``LBFGS``); two schedulers that both set the same optimizer's lr in closed form
            (the message names both and how to compose them; torch's chainable schedulers may be
            chained).

    Reference: the DS&T loop of source 000, made closed-loop. Corrects ERRATA 000-E2, 000-E4, 000-E8,
    000-E9, 000-E10, 000-E11, 000-E16. Taught in: Part IV, The full DS&T loop.

    >>> from dsat_tutorial.data import make_loaders, sine_forecast
    >>> from dsat_tutorial.models import SequenceRegressor
    >>> task = sine_forecast(256, 16, seed=0); _ = torch.manual_seed(0)
    >>> train, val = make_loaders(task.X, task.y, batch_size=32, seed=0)
    >>> model = SequenceRegressor(1, 16)
    >>> history = fit(model, train, val, loss_fn=torch.nn.MSELoss(), epochs=5, progress=False,
    ...               optimizer=torch.optim.Adam(model.parameters(), lr=1e-2), clip=1.0)
    >>> len(history), history["val_loss"][-1] < history["val_loss"][0]
    (5, True)
    """
    epochs = check_int("epochs", epochs, minimum=1)
    max_retries = check_int("max_retries", max_retries, minimum=0)
    spike_guard = check_spike_guard(spike_guard)
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable, got {loss_fn!r}")
    if policy is not None and monitor is None:
        raise ValueError("policy needs a monitor: it acts on the monitor's verdict "
                         "(pass monitor=HealthMonitor())")
    if policy is not None and not callable(policy):
        raise ValueError(f"policy must be callable as policy(health, context), got {policy!r}")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir")
    if metrics is not None:
        if not isinstance(metrics, Mapping):
            raise ValueError(f"metrics must be a dict name -> fn(outputs, targets), got {metrics!r}")
        for name, fn in metrics.items():
            if not callable(fn):
                raise ValueError(f"metrics[{name!r}] must be callable as fn(outputs, targets), got {fn!r}")
    if seed is not None:
        seed_everything(seed)
    if device is not None:
        device = torch.device(device)
        model.to(device)
        if eval_model is not None:
            eval_model.to(device)
    check_optimizer(optimizer)
    schedules = resolve(schedulers, val_loader is not None)
    check_lr_writers([s.scheduler for s in schedules])
    path = None if checkpoint_dir is None else os.path.join(checkpoint_dir, CHECKPOINT_NAME)
    loop = FitLoop(model=model, train_loader=train_loader, val_loader=val_loader, loss_fn=loss_fn,
                   optimizer=optimizer, epochs=epochs, schedules=schedules,
                   clip=clip, monitor=monitor, policy=policy, metrics=metrics, callbacks=list(callbacks),
                   checkpoint_path=path,
                   progress=progress, device=device, max_retries=max_retries, spike_guard=spike_guard,
                   eval_model=eval_model)
    return loop.run(resume=resume)
