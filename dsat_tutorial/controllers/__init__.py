r"""Learning-rate controllers: one PyTorch interface for time-, gradient- and loss-driven rules.

What it is: ``torch.optim.lr_scheduler.LRScheduler`` subclasses that set every parameter group's
``lr`` in closed form from explicit state -- :class:`ScheduleLR` (any schedule of
:mod:`dsat_tutorial.schedules`), :class:`GradNormScaledLR` and :class:`AdaGradNormLR` (gradient norm),
:class:`LossAdaptiveLR`, :class:`BoldDriver` and :class:`PlateauLR` (loss or metric). What it is not:
the schedules themselves (pure functions of the step), gradient clipping (:mod:`dsat_tutorial.clipping`)
or the training-health verdicts (:mod:`dsat_tutorial.monitor`).

**Call order** (none of these raises a warning; a metric step ``step(val_loss)`` never does, even
before the first update, since it moves no clock)::

    # ScheduleLR, and the clock of PlateauLR / LossAdaptiveLR: after the update, as in PyTorch
    loss.backward(); optimizer.step(); scheduler.step()
    # GradNormScaledLR, AdaGradNormLR: before the update -- the lr is for this very update
    loss.backward(); scheduler.step(global_grad_norm(params)); optimizer.step()
    # PolyakLR (loss and norm) and DoGLR (norm, or none: it reads the gradients): also before the update
    loss.backward(); polyak.step(loss); optimizer.step()        # or polyak.step(loss, grad_norm)
    loss.backward(); dog.step(); optimizer.step()               # or dog.step(grad_norm)
    # PlateauLR, LossAdaptiveLR, BoldDriver: a metric once per epoch, after the epoch's updates
    scheduler.step(val_loss)

PyTorch warns when the first ``scheduler.step()`` precedes every ``optimizer.step()``: for a schedule
that skips ``schedule(0)``. A pre-update controller's ``step(grad_norm)`` is not such an epoch step: it
sets the lr of the update that follows, so it writes the groups itself and never reaches that check;
nothing patches or fakes the optimizer's own bookkeeping, and post-update controllers keep the check
(details in ``dsat_tutorial/controllers/base.py``).

**What ``t`` counts** when a schedule gives the base rate: for :class:`ScheduleLR`, ``step()`` calls
since construction (``last_epoch``); for :class:`GradNormScaledLR`, optimizer updates -- the ``k``-th
finite gradient norm (from 0) sets the lr of update ``k`` from ``schedule(k)``; for :class:`PlateauLR`
and :class:`LossAdaptiveLR`, ``step()`` calls *without* a signal, so ``step(metric)`` never moves the
clock. Several parameter groups keep their ratio to the first group whose initial lr is > 0 (groups at
lr 0 stay at 0); ``ScheduleLR(optimizer, [s0, s1, ...])`` gives each group its own schedule instead.
Groups added with ``optimizer.add_param_group`` are adopted at the next step (``initial_lr`` = their lr
then; see ``controllers/groups.py``).

**Signals.** ``step(signal)`` takes a real number (float, int, NumPy scalar) or a one-element tensor;
a bool or a string raises ``ValueError``. A NaN or infinite signal changes
nothing: it is counted in ``nonfinite_signals`` and reported with a :class:`NonFiniteSignalWarning`.
``state_dict()`` holds plain data only (the schedule is configuration: pass it again when rebuilding),
so a checkpoint loads with ``torch.load(..., weights_only=True)`` and ``load_state_dict`` continues
exactly, re-applying the saved learning rates to the optimizer.

**Policy hook.** ``scale_lr(factor)`` multiplies every lr a controller produces from then on (a
persistent ``lr_scale``, saved in the state): how :mod:`dsat_tutorial.policy` lowers or raises the lr
without the next closed-form step undoing it. The formulas below are for ``lr_scale = 1``.

References: Ward, Wu & Bottou (2019), "AdaGrad stepsizes: sharp convergence over nonconvex
landscapes", ICML; Vogl et al. (1988), Biological Cybernetics 59; Battiti (1989), Complex Systems 3;
Smith (2017), "Cyclical learning rates", WACV; PyTorch ``ReduceLROnPlateau``; Optax
``contrib/_reduce_on_plateau.py``.

Modules, one per signal: ``base.py`` (the shared machinery), ``groups.py`` (parameter groups added later), ``time.py`` (:class:`ScheduleLR`),
``gradient.py``, ``loss.py``, ``plateau.py``; ``polyak.py`` (:class:`PolyakLR`, the Polyak step and
SPS_max: loss and gradient norm) and ``dog.py`` (:class:`DoGLR`, distance over gradients, and
:func:`polynomial_decay_avg_fn` for the iterate average DoG needs) -- both pre-update.
"""

from __future__ import annotations

from .base import NonFiniteSignalWarning
from .dog import DoGLR, polynomial_decay_avg_fn
from .gradient import AdaGradNormLR, GradNormScaledLR
from .loss import BoldDriver, LossAdaptiveLR
from .plateau import PlateauLR
from .polyak import PolyakLR
from .time import ScheduleLR

__all__ = ["ScheduleLR", "GradNormScaledLR", "AdaGradNormLR", "LossAdaptiveLR", "BoldDriver", "PlateauLR",
           "NonFiniteSignalWarning", "PolyakLR", "DoGLR", "polynomial_decay_avg_fn"]
