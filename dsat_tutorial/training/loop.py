"""The engine behind :func:`dsat_tutorial.training.fit`: one epoch of steps, then the epoch's decisions.

Internal module; read :mod:`dsat_tutorial.training` for the contract. The hot path
(:meth:`FitLoop._train_epoch`) does per step what a hand-written loop does, plus one global-norm
computation, two Python-float reads (loss and norm -- the only device syncs) and five list appends.
Inside a ``torch.distributed`` process group (:mod:`.distributed`) each step adds one small all-reduce
of the batch loss, its batch size and a non-finite flag, before ``backward``, so every rank records,
skips, rolls back and feeds its controllers with the same global-batch loss; without a group that
branch is never entered. What it is not: a public API (use ``fit``); no mixed-precision path.

References: PyTorch's canonical training step (``zero_grad``, ``backward``, ``step``); Pascanu et al.
(2013) for measuring the gradient norm before clipping.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Optional

from .state import Clipper, restore, snapshot
from .distributed import context, set_sampler_epoch
from .epoch import EpochEndMixin
from .spike import SpikeMixin
from .modes import ModesMixin
from .history import History
from ..policy import scale_learning_rate

__all__ = ["FitLoop", "TrainState", "TrainingDiverged"]


def _fmt(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.4g}"


def _progress_bar(total: int, initial: int):
    """A ``tqdm.auto`` bar, imported only when asked for.

    ``tqdm.auto`` picks the notebook widget inside Jupyter and warns on import when ``ipywidgets`` is
    missing before falling back to the text bar; that fallback is fine here, so the warning is muted.
    tqdm's own ``disable`` default stays in force: ``TQDM_DISABLE=1`` (set when notebook outputs are
    compared) still turns the bar off.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc="fit", unit="epoch")


class TrainingDiverged(RuntimeError):
    """Too many consecutive non-finite steps: raised with the epoch, the step and the learning rate.

    Attributes ``epoch``, ``step``, ``lr`` and ``history`` (everything recorded up to the failure).
    Reference: the divergence handling of DESIGN's "How data flows through fit()" (skip, roll back,
    lower the lr, give up after a bounded number of retries). Taught in: Part IV, The full DS&T loop.

    >>> str(TrainingDiverged(2, 13, 0.00125, "non-finite loss nan in 4 consecutive steps", History()))
    'training diverged at epoch 2, step 13, lr 0.00125: non-finite loss nan in 4 consecutive steps'
    """

    def __init__(self, epoch: int, step: int, lr: float, detail: str, history: History):
        self.epoch, self.step, self.lr, self.history = epoch, step, lr, history
        super().__init__(f"training diverged at epoch {epoch}, step {step}, lr {lr:.6g}: {detail}")


class TrainState:
    """The mutable view callbacks receive: ``model``, ``optimizer``, ``history``, ``epoch`` (from 1),
    ``step`` (global batch index), ``batch`` (index in the epoch), ``loss``, ``lr`` and ``grad_norm`` of
    the last step; set ``stop_training = True`` to stop after the current epoch.

    Reference: the ``state`` object of Keras/Lightning callbacks (here a plain attribute bag).
    Taught in: Part IV, The full DS&T loop.

    >>> TrainState(None, None, History()).stop_training
    False
    """

    def __init__(self, model, optimizer, history):
        self.model, self.optimizer, self.history = model, optimizer, history
        self.epoch, self.step, self.batch = 0, 0, 0
        self.loss = self.lr = self.grad_norm = math.nan
        self.stop_training = False


class FitLoop(SpikeMixin, ModesMixin, EpochEndMixin):
    """All the state of one ``fit`` call; :meth:`run` trains and returns the :class:`History`."""

    def __init__(self, *, model, train_loader, val_loader, loss_fn, optimizer, epochs, schedules, clip,
                 monitor, policy, metrics, callbacks, checkpoint_path, progress, device, max_retries,
                 spike_guard=None, eval_model=None):
        self.spike_guard = spike_guard
        self.dist = context()  # None without a process group: the single-process path, unchanged
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.train_loader, self.val_loader = train_loader, val_loader
        self.epochs, self.max_retries, self.progress, self.device = epochs, max_retries, progress, device
        self.monitor, self.policy, self.metrics = monitor, policy, dict(metrics or {})
        self.checkpoint_path = checkpoint_path
        self.clipper = Clipper(clip)
        self.params = [p for g in optimizer.param_groups for p in g["params"]]
        self.scheds = [s.scheduler for s in schedules]
        self.pre = [(s.scheduler, s.signal) for s in schedules if s.pre_update]
        self.post = [(s.scheduler, s.signal if s.interval == "step" else None)
                     for s in schedules if "step" in s.interval and not s.pre_update]
        self.at_epoch = [(s.scheduler, s.signal) for s in schedules if "epoch" in s.interval]
        self.hooks = {name: [getattr(cb, name) for cb in callbacks if callable(getattr(cb, name, None))]
                      for name in ("on_loss", "on_step_end", "on_epoch_end")}
        self.rollback_factor = float(getattr(policy, "factor", 0.5))
        self.history = History()
        self.state = TrainState(model, optimizer, self.history)
        self.epoch = self.step = self.failures = 0  # completed epochs, global batch index, failures in a row
        self.stopped = False
        self.best: Optional[dict] = None  # {"epoch", "loss", "model"} when a policy may restore it
        self.initial_lrs = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
        self.last_good: dict = {}
        self._init_modes(eval_model)  # Schedule-Free modes, effective lr, eval_model (modes.py)

    # -- driver -------------------------------------------------------------------------------------
    def run(self, resume: bool) -> History:
        if resume:
            self._resume()
        was_training = self.model.training
        show = self.progress and (self.dist is None or self.dist.rank == 0)  # one bar, on rank 0
        bar = _progress_bar(self.epochs, self.epoch) if show else None  # no bar object otherwise
        try:
            while self.epoch < self.epochs and not self.stopped:
                self._train_mode()  # before the snapshot: a rollback never lands in eval mode
                self.last_good = snapshot(self.model, self.optimizer, self.scheds, self.clipper)
                self._snapshot_eval(self.last_good)
                started = time.perf_counter()
                set_sampler_epoch(self.train_loader, self.epoch + 1)  # DistributedSampler's shuffle
                stats = self._train_epoch(self.epoch + 1)
                record = self._end_epoch(stats, started)
                if bar is not None:
                    bar.set_postfix(train=f"{record['train_loss']:.4g}", val=_fmt(record["val_loss"]),
                                    lr=f"{record['lr'][0]:.3g}", health=record["health"] or "-",
                                    refresh=False)
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            self._eval_mode()  # the returned model holds the weights to evaluate
            self.model.train(was_training)
        return self.history

    # -- one epoch of optimizer steps (the hot path) -------------------------------------------------
    def _train_epoch(self, epoch: int) -> dict:
        model, opt, loss_fn, params, state = self.model, self.optimizer, self.loss_fn, self.params, self.state
        on_loss, on_step_end = self.hooks["on_loss"], self.hooks["on_step_end"]
        pre, post = self.pre, self.post
        steps = self.history.steps
        first = len(steps["loss"])  # this epoch's step records start here
        rec_epoch, rec_step, rec_loss = steps["epoch"].append, steps["step"].append, steps["loss"].append
        rec_lr, rec_norm = steps["lr"].append, steps["grad_norm"].append
        rec_eff, effective, eff = steps["effective_lr"].append, self.effective_lr, None
        dist = self.dist
        sizes, afters, clipped_flags = [], [], []  # per successful step, summarised at the epoch's end
        metric_sums, skipped, lrs = dict.fromkeys(self.metrics, 0.0), 0, None
        state.epoch = epoch
        model.train()
        for i, batch in enumerate(self.train_loader):
            x, y = self._unpack(batch)
            state.step, state.batch = self.step, i
            opt.zero_grad(set_to_none=True)
            out = model(x)
            loss = loss_fn(out, y)
            for hook in on_loss:
                loss = hook(state, loss)
            loss_v, n = loss.item(), len(y)
            if dist is not None:  # one all-reduce: the global batch's loss and size, NaN if any rank's is
                loss_v, n = dist.step(loss_v, n)
            if self.spike_guard is not None and math.isfinite(loss_v) and self._skip_spike(epoch, loss_v):
                skipped += 1  # 0) a finite loss spike: skipped before backward (see spike.py)
                self.step += 1
                continue
            norm = math.nan
            if math.isfinite(loss_v):
                loss.backward()
                norm, after, clipped = self.clipper(params)
            if not math.isfinite(norm):  # 1) a non-finite loss or gradient never reaches the weights
                self._fail(epoch, loss_v, norm)
                skipped += 1
                self.step += 1
                continue
            for sched, signal in pre:  # 2) pre-update controllers set the lr of this very update
                if signal == "batch_loss+grad_norm":
                    sched.step(loss_v, norm)
                else:
                    sched.step(norm if signal == "grad_norm" else loss_v)
            lrs = [g["lr"] for g in opt.param_groups]  # the lrs of this update
            pending = effective.before() if effective is not None else None
            opt.step()
            eff = lrs if effective is None else effective.after(pending)  # the step size applied
            for sched, signal in post:  # 3) per-step schedulers, after the update (PyTorch's order)
                if signal is None:
                    sched.step()
                elif signal == "batch_loss+grad_norm":
                    sched.step(loss_v, norm)
                else:
                    sched.step(norm if signal == "grad_norm" else loss_v)
            # 4) records
            rec_epoch(epoch), rec_step(self.step), rec_loss(loss_v), rec_lr(float(lrs[0])), rec_norm(norm)
            sizes.append(n), afters.append(after), clipped_flags.append(clipped)
            rec_eff(float(eff[0]))
            for name, fn in self.metrics.items():
                metric_sums[name] += float(fn(out.detach(), y)) * len(y)  # this rank's samples
            self.failures = 0
            if on_step_end:
                state.loss, state.lr, state.grad_norm = loss_v, float(lrs[0]), norm
                for hook in on_step_end:
                    hook(state)
            self.step += 1
        return {"losses": steps["loss"][first:], "norms": steps["grad_norm"][first:], "sizes": sizes,
                "afters": afters, "clipped": clipped_flags, "skipped": skipped, "metric_sums": metric_sums,
                "lrs": lrs, "effective_lrs": eff}

    def _unpack(self, batch):
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"fit() expects batches of (inputs, targets), got {type(batch).__name__}")
        x, y = batch
        if self.device is not None:
            x, y = x.to(self.device), y.to(self.device)
        return x, y

    def _fail(self, epoch: int, loss_v: float, norm: float) -> None:
        """Skip the step; roll back to the last good state and lower the lr, or give up."""
        self.failures += 1
        what = f"loss {loss_v}" if not math.isfinite(loss_v) else f"gradient norm {norm}"
        lr = float(self.optimizer.param_groups[0]["lr"])
        if self.failures > self.max_retries:
            raise TrainingDiverged(epoch, self.step, lr, f"non-finite {what} in {self.failures} consecutive "
                                   f"steps (max_retries={self.max_retries})", self.history)
        self._roll_back(epoch, "divergence",
                        f"non-finite {what}: step skipped, rolled back to the state at the start of epoch "
                        f"{epoch}")

    def _roll_back(self, epoch: int, source: str, why: str) -> None:
        """Restore the last good state, lower the lr by the rollback factor, make that the new last good
        state and log a ``rollback`` event (non-finite steps and persistent loss spikes)."""
        restore(self.last_good, self.model, self.optimizer, self.scheds, self.clipper)
        self._restore_eval(self.last_good)
        lrs = scale_learning_rate(self.optimizer, self.scheds, self.rollback_factor)
        self.optimizer.zero_grad(set_to_none=True)
        # the rolled-back state with the lower lr is the new last good state: the next failure lowers again
        self.last_good = snapshot(self.model, self.optimizer, self.scheds, self.clipper)
        self._snapshot_eval(self.last_good)
        self.history.log_event(
            "rollback", epoch=epoch, step=self.step, source=source, lrs=lrs,
            reason=f"{why}, learning rate x{self.rollback_factor:g} (retry {self.failures} of "
                   f"{self.max_retries})")
