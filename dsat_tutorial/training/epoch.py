"""The end of every ``fit`` epoch: validate, assess, act, step the epoch schedulers, checkpoint, resume.

Internal module: :class:`EpochEndMixin` is the second half of :class:`dsat_tutorial._loop.FitLoop`, in
the order of DESIGN.md's data flow::

    validation -> HealthMonitor.update -> policy actions -> per-epoch controllers -> history -> checkpoint

What it is not: a public API (use ``fit``). References: Prechelt (1998) (restore the best weights on
early stopping); Battiti (1989) (the bold driver's undo of a rejected epoch).
"""

from __future__ import annotations

import math
import time

import torch

from . import checkpoint as ckpt
from .recovery import guard_finite_state, staged_resume
from .state import restore
from .history import History
from ..policy import Action, PolicyContext, scale_learning_rate

__all__ = ["EpochEndMixin"]

_EVENT_OF = {"rollback": "rollback", "scale_lr": "scale_lr", "tighten_clip": "tighten_clip",
             "stop": "early_stop", "restore_best": "restore_best"}


def _mean(total: float, count: int) -> float:
    return total / count if count else math.nan


class EpochEndMixin:
    """Epoch-level decisions of ``fit`` (mixed into ``FitLoop``; uses its attributes)."""

    def _end_epoch(self, s: dict, started: float) -> dict:
        epoch = self.epoch + 1
        guard_finite_state(self, epoch)  # never validate, keep as best or checkpoint a non-finite state
        n = sum(s["sizes"])
        self._eval_mode()  # Schedule-Free: validate and keep as "best" the evaluation weights x
        train_loss = _mean(sum(loss * b for loss, b in zip(s["losses"], s["sizes"])), n)
        if self.dist is None:
            val_loss, val_metrics = self._validate() if self.val_loader is not None else (None, {})
        else:  # one all-reduce of the epoch's sums: every rank reads the same means
            val_loss, val_metrics = self._agree_epoch(s)
        verdict = None
        if self.monitor is not None:
            verdict = self.monitor.update(train_loss, val_loss)
        if self.policy is not None:
            self._track_best(epoch, train_loss if val_loss is None else val_loss)
            if verdict is not None:
                self._apply_policy(epoch, verdict, train_loss, val_loss)
        self._step_epoch_schedulers(epoch, train_loss, val_loss)
        steps, threshold = len(s["sizes"]), self.clipper.threshold
        record = {
            "epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
            "train_metrics": {k: _mean(v, n) for k, v in s["metric_sums"].items()},
            "val_metrics": val_metrics,
            "lr": [float(x) for x in (s["lrs"] or [g["lr"] for g in self.optimizer.param_groups])],
            "effective_lr": None if s["effective_lrs"] is None else [float(x) for x in s["effective_lrs"]],
            "grad_norm_mean": _mean(sum(s["norms"]), steps),
            "grad_norm_max": max(s["norms"], default=math.nan),
            "clipped_grad_norm_mean": _mean(sum(s["afters"]), steps),
            "clipped_grad_norm_max": max(s["afters"], default=math.nan),
            "clip_threshold": None if threshold is None else float(threshold),
            "clipped_fraction": _mean(sum(s["clipped"]), steps),
            "health": None if verdict is None else verdict.name,
            "health_reason": None if verdict is None else self.monitor.reason,
            "steps": steps, "skipped_steps": s["skipped"], "seconds": time.perf_counter() - started,
        }
        self.history.log_epoch(record)
        self._eval_mode()  # again: the policy or a bold driver may have restored train-mode weights
        self.epoch = epoch
        for hook in self.hooks["on_epoch_end"]:
            hook(self.state)
        if self.dist is not None:  # a callback's stop on any rank stops every rank
            self.state.stop_training = self.dist.flag(self.state.stop_training)
        if self.state.stop_training and not self.stopped:
            self.stopped = True
            self.history.log_event("early_stop", epoch=epoch, step=self.step, source="callback",
                                   reason="a callback set state.stop_training")
        if self.checkpoint_path is not None:
            guard_finite_state(self, epoch)  # a callback may have broken it after the check above
            if self.dist is None:
                ckpt.save_checkpoint(self.checkpoint_path, self._payload())
            else:
                self._save_distributed()
        return record

    def _validate(self) -> tuple[float, dict]:
        total, count, sums = self._validation_sums()
        return _mean(total, count), {k: _mean(v, count) for k, v in sums.items()}

    def _agree_epoch(self, s: dict) -> tuple:
        """Under DDP: all-reduce this rank's training-metric sums and validation sums in one call."""
        local = {f"train/{k}": v for k, v in s["metric_sums"].items()}
        if self.val_loader is not None:
            total, count, sums = self._validation_sums()
            local.update({"val": total, "val_count": count}, **{f"val/{k}": v for k, v in sums.items()})
        agreed = self.dist.sums(local)
        s["metric_sums"] = {k: agreed[f"train/{k}"] for k in s["metric_sums"]}
        if self.val_loader is None:
            return None, {}
        count = agreed["val_count"]
        return _mean(agreed["val"], count), {k: _mean(agreed[f"val/{k}"], count) for k in self.metrics}

    @torch.no_grad()
    def _validation_sums(self) -> tuple[float, int, dict]:
        model = self.eval_model  # the trained model unless fit() was given an eval_model
        was_training = model.training
        model.eval()
        total, count, sums = 0.0, 0, dict.fromkeys(self.metrics, 0.0)
        for batch in self.val_loader:
            x, y = self._unpack(batch)
            out = model(x)
            n = len(y)
            total += float(self.loss_fn(out, y)) * n
            count += n
            for name, fn in self.metrics.items():
                sums[name] += float(fn(out, y)) * n
        model.train(was_training)
        return total, count, sums

    def _track_best(self, epoch: int, loss: float) -> None:
        if math.isfinite(loss) and (self.best is None or loss < self.best["loss"]):
            self.best = {"epoch": epoch, "loss": loss,
                         "model": {k: v.detach().clone() for k, v in self.eval_model.state_dict().items()},
                         **self._best_extras()}

    # -- the policy's actions -------------------------------------------------------------------------
    def _apply_policy(self, epoch: int, verdict, train_loss: float, val_loss) -> None:
        context = PolicyContext(epoch=epoch, reason=self.monitor.reason,
                                lrs=tuple(float(g["lr"]) for g in self.optimizer.param_groups),
                                initial_lrs=tuple(self.initial_lrs), clip_threshold=self.clipper.threshold,
                                train_loss=train_loss, val_loss=val_loss)
        for action in self.policy(verdict, context) or ():
            if not isinstance(action, Action):
                raise TypeError(f"a policy must return Action objects, got {action!r}")
            details = self._execute(action)
            if details is not None:
                self.history.log_event(_EVENT_OF[action.kind], epoch=epoch, step=self.step, source="policy",
                                       health=verdict.name, reason=action.reason, **details)

    def _execute(self, action: Action):
        """Do one action; return the details to log, or ``None`` when it could not apply."""
        if action.kind == "rollback":
            restore(self.last_good, self.model, self.optimizer, self.scheds, self.clipper)
            self._restore_eval(self.last_good)
            return {}
        if action.kind == "scale_lr":
            return {"factor": action.factor,
                    "lrs": scale_learning_rate(self.optimizer, self.scheds, action.factor)}
        if action.kind == "tighten_clip":
            if not self.clipper.tighten(action.factor):
                return None
            return {"factor": action.factor, "clip_threshold": self.clipper.threshold}
        if action.kind == "stop":
            self.stopped = True
            return {}
        if self.best is None:  # restore_best before any finite epoch
            return None
        self._restore_best()
        return {"best_epoch": self.best["epoch"], "best_loss": self.best["loss"]}

    def _step_epoch_schedulers(self, epoch: int, train_loss: float, val_loss) -> None:
        for sched, signal in self.at_epoch:
            if signal is None:
                sched.step()
            else:
                sched.step(train_loss if signal == "train_loss" else val_loss)
            if getattr(sched, "improved", True) is False:  # a bold driver rejects the epoch
                lrs = [g["lr"] for g in self.optimizer.param_groups]
                restore(self.last_good, self.model, self.optimizer, self.scheds, self.clipper,
                        weights_only=True)
                self._restore_eval(self.last_good)
                for group, lr in zip(self.optimizer.param_groups, lrs):
                    group["lr"] = lr
                self.history.log_event(
                    "rollback", epoch=epoch, step=self.step, source=type(sched).__name__,
                    lrs=[float(x) for x in lrs],
                    reason=f"{type(sched).__name__}: the epoch's train loss {train_loss:.6g} did not "
                           f"improve; "
                           f"weights and optimizer state reverted to the start of epoch {epoch}")

    # -- checkpoint and resume --------------------------------------------------------------------------
    def _rng_states(self) -> dict:
        generators = ckpt.loader_generators(self.train_loader)
        if self.val_loader is not None:
            generators += ckpt.loader_generators(self.val_loader)
        return {"rng": ckpt.capture_rng(), "loader_rng": [g.get_state() for g in generators]}

    def _save_distributed(self) -> None:
        """Under DDP: every rank's RNG states go into the file, rank 0 writes it, the others wait."""
        from .distributed import agree_flag, gather

        ranks, error = gather(self._rng_states()), None  # gather: every rank takes part
        if self.dist.rank == 0:
            try:
                ckpt.save_checkpoint(self.checkpoint_path, {**self._payload(), "ranks": ranks})
            except Exception as exc:  # noqa: BLE001 -- re-raised below, after telling the other ranks
                error = exc
        if agree_flag(error is not None):  # the barrier: no rank goes on before the file is written
            if error is not None:
                raise error
            raise ckpt.CheckpointError(self.checkpoint_path, "rank 0 failed to write it")

    def _payload(self) -> dict:
        return {
            "format": ckpt.FORMAT, "epoch": self.epoch, "step": self.step, "failures": self.failures,
            "stopped": self.stopped, "initial_lrs": self.initial_lrs,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "schedulers": [s.state_dict() if hasattr(s, "state_dict") else None for s in self.scheds],
            "clipper": self.clipper.state_dict(),
            "monitor": self.monitor.state_dict() if hasattr(self.monitor, "state_dict") else None,
            "policy": self.policy.state_dict() if hasattr(self.policy, "state_dict") else None,
            "best": self.best, "history": self.history.to_dict(),
            "spike_guard": None if self.spike_guard is None else self.spike_guard.state_dict(),
            **self._rng_states(),
            **self._modes_payload(),
        }

    def _resume(self) -> None:
        path = self.checkpoint_path
        data = ckpt.load_checkpoint(path)
        with staged_resume(self, path):  # a failure restores everything and raises CheckpointError
            self._load_payload(data)
        self.history = self.state.history = History.from_dict(data["history"])
        self.epoch, self.step, self.failures = data["epoch"], data["step"], data["failures"]
        self.stopped, self.best, self.initial_lrs = data["stopped"], data["best"], list(data["initial_lrs"])
        self.history.log_event("resume", epoch=self.epoch, step=self.step, source="fit",
                               reason=f"resumed from {path} after epoch {self.epoch} of {self.epochs}")

    def _load_payload(self, data: dict) -> None:
        if len(data["schedulers"]) != len(self.scheds):
            raise ValueError(f"it holds {len(data['schedulers'])} scheduler states, fit() was given "
                             f"{len(self.scheds)} schedulers")
        self.model.load_state_dict(data["model"])
        self.optimizer.load_state_dict(data["optimizer"])
        for sched, state in zip(self.scheds, data["schedulers"]):
            if state is not None:
                sched.load_state_dict(state)
        self.clipper.load_state_dict(data["clipper"])
        self._modes_resume(data)
        if data["monitor"] is not None and self.monitor is not None:
            self.monitor.load_state_dict(data["monitor"])
        if data["policy"] is not None and hasattr(self.policy, "load_state_dict"):
            self.policy.load_state_dict(data["policy"])
        if data.get("spike_guard") is not None and self.spike_guard is not None:  # absent before 0.2
            self.spike_guard.load_state_dict(data["spike_guard"])
        rng = data if self.dist is None and "ranks" not in data else self._rank_rng(data)
        generators = ckpt.loader_generators(self.train_loader)
        if self.val_loader is not None:
            generators += ckpt.loader_generators(self.val_loader)
        if len(generators) != len(rng["loader_rng"]):
            raise ValueError("the data loaders' generators differ from the checkpointed run")
        for gen, state in zip(generators, rng["loader_rng"]):
            gen.set_state(state)
        ckpt.restore_rng(rng["rng"])

    def _rank_rng(self, data: dict) -> dict:
        """This rank's RNG states from a checkpoint written under DDP (each rank resumes its own)."""
        ranks, size = data.get("ranks"), 1 if self.dist is None else self.dist.world_size
        if ranks is None or len(ranks) != size:
            raise ValueError(f"it was written by {1 if ranks is None else len(ranks)} process(es), this "
                             f"run has {size}")
        return ranks[0 if self.dist is None else self.dist.rank]
