"""Optimizers with a train/eval mode (Schedule-Free), effective learning rates (Prodigy), and ``fit``'s
``eval_model``: the parts of :func:`dsat_tutorial.training.fit` that concern *which* weights are
trained, validated and saved, and *which* step size an optimizer really applies.

Internal module (no public API; :class:`ModesMixin` is mixed into ``FitLoop``). What it is not: an
implementation of Schedule-Free or Prodigy -- those come from the ``schedulefree`` and ``prodigyopt``
packages, read here only through their documented behaviour and their param-group keys.

* **Train/eval modes.** Schedule-Free optimizers (``schedulefree.AdamWScheduleFree``, ``SGDScheduleFree``,
  ``RAdamScheduleFree``, ``ScheduleFreeWrapper``) keep two sequences: the gradient is taken at
  :math:`y_t = (1-\\beta) z_t + \\beta x_t` (the weights in train mode) and the weights to evaluate are the
  average :math:`x_t` (eval mode). ``optimizer.train()`` / ``optimizer.eval()`` move the parameters between
  the two; ``step()`` refuses to run in eval mode. ``fit`` calls ``train()`` at the start of every epoch,
  *before* the snapshot that rollbacks restore (so a rollback lands in train mode), and ``eval()`` at the
  start of every epoch's end (validation, "best" tracking) and again after the policy and the epoch
  schedulers (which may restore train-mode snapshots), so every checkpoint, ``on_epoch_end`` callback and
  the returned model see :math:`x_t`. Both calls happen whether or not there is a validation set or a
  checkpoint, so a run's trajectory does not depend on them, and a resume (which loads eval-mode weights
  and calls ``train()``) repeats the uninterrupted run bit for bit.
* **restore_best with modes.** The best snapshot then also holds the optimizer state: :math:`x` alone
  does not determine :math:`y` (it needs the matching :math:`z`), so ``restore_best`` loads the weights
  *and* the optimizer state of the best epoch, keeping the current learning rates (like the bold
  driver's undo).
* **Effective lr.** ``History`` records next to each group's nominal ``lr`` the step size the optimizer
  applies: Prodigy's :math:`d\\,\\mathrm{lr}` (times Adam's bias correction when
  ``use_bias_correction``), read *before* ``step()`` because ``step()`` updates :math:`d` after using
  it; Schedule-Free's warmup-scaled ``group["scheduled_lr"]``, read *after* ``step()`` that sets it; the
  nominal lr for every other optimizer. The policy's and rollbacks' lr changes scale ``group["lr"]``,
  which for Prodigy is its ``lr`` multiplier (``prodigyopt`` multiplies :math:`d` by it on every step).
* **eval_model.** ``fit(..., eval_model=m)`` validates ``m`` instead of the trained model, tracks its
  state as the "best", loads the best state into it on ``restore_best``, rewinds it with every rollback
  and saves it in every checkpoint. :class:`~dsat_tutorial.training.AverageParameters` keeps a
  ``torch.optim.swa_utils.AveragedModel`` up to date.

References: A. Defazio et al., "The road less scheduled", NeurIPS 2024 (Schedule-Free; the README of
``schedulefree``: "call optimizer.eval() before evaluation and before saving checkpoints");
K. Mishchenko and A. Defazio, "Prodigy: an expeditiously adaptive parameter-free learner", ICML 2024.
"""

from __future__ import annotations

from typing import Optional

import torch

from .state import clone_tree

__all__ = ["ModesMixin", "has_modes", "EffectiveLR", "effective_lr_reader", "check_range_test_optimizer"]


def has_modes(optimizer) -> bool:
    """Whether ``optimizer`` has Schedule-Free's ``train()``/``eval()`` (``torch.optim`` ones do not)."""
    return callable(getattr(optimizer, "train", None)) and callable(getattr(optimizer, "eval", None))


def _is_prodigy(optimizer) -> bool:
    return type(optimizer).__module__.split(".")[0] == "prodigyopt"


class EffectiveLR:
    """Reads the step size an optimizer applies to each group: ``before()`` / ``after(pending)``.

    ``before()`` runs just before ``optimizer.step()`` and returns what must be read then (Prodigy);
    ``after(pending)`` runs just after and returns one float per param group.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.prodigy = _is_prodigy(optimizer)

    def before(self) -> Optional[list]:
        if not self.prodigy:
            return None
        groups = self.optimizer.param_groups
        g0 = groups[0]
        bias = 1.0
        if g0["use_bias_correction"]:  # as prodigyopt.Prodigy.step computes it
            beta1, beta2 = g0["betas"]
            k = g0["k"]
            bias = ((1 - beta2 ** (k + 1)) ** 0.5) / (1 - beta1 ** (k + 1))
        return [float(g0["d"] * g["lr"] * bias) for g in groups]

    def after(self, pending: Optional[list]) -> list:
        if pending is not None:
            return pending
        return [float(g["scheduled_lr"]) for g in self.optimizer.param_groups]


def effective_lr_reader(optimizer) -> Optional[EffectiveLR]:
    """An :class:`EffectiveLR` for Prodigy and Schedule-Free, ``None`` when the nominal lr is applied."""
    if _is_prodigy(optimizer) or all("scheduled_lr" in g for g in optimizer.param_groups):
        return EffectiveLR(optimizer)
    return None


def check_range_test_optimizer(optimizer) -> None:
    """Refuse optimizers for which an lr range test measures something else than the lr (ValueError)."""
    if _is_prodigy(optimizer) or "d0" in optimizer.param_groups[0]:
        raise ValueError(
            f"lr_range_test cannot sweep {type(optimizer).__name__}: its step is d * lr with the distance "
            f"estimate d learned online from d0 (1e-6 by default), so the loss of a sweep over lr traces "
            f"the growth of d, not the effect of lr; its lr is a multiplier meant to stay near 1 (the "
            f"authors' advice); tune d_coef instead, or run the test with Adam")
    if any(g.get("warmup_steps", 0) for g in optimizer.param_groups):
        raise ValueError(
            f"lr_range_test cannot sweep {type(optimizer).__name__} with warmup_steps > 0: during the "
            f"warmup it applies lr * (k + 1) / warmup_steps, not the swept lr; build it with "
            f"warmup_steps=0 for the test")


class ModesMixin:
    """The ``FitLoop`` side of the above (uses ``self.optimizer``, ``self.model``, ``self.eval_model``)."""

    def _init_modes(self, eval_model) -> None:
        if eval_model is not None and not isinstance(eval_model, torch.nn.Module):
            raise ValueError(f"eval_model must be a torch.nn.Module (e.g. an AveragedModel) or None, "
                             f"got {type(eval_model).__name__}")
        self.modes = has_modes(self.optimizer)
        if eval_model is not None and eval_model is not self.model and self.modes:
            raise ValueError(
                f"eval_model cannot be combined with {type(self.optimizer).__name__}, which has "
                f"train()/eval() modes: its eval-mode weights already are its average (Schedule-Free's "
                f"x), while an AveragedModel updated inside fit would average the train-mode points y; "
                f"pass eval_model=None")
        self.eval_model = self.model if eval_model is None else eval_model
        self.separate_eval = self.eval_model is not self.model
        self.effective_lr = effective_lr_reader(self.optimizer)

    def _train_mode(self) -> None:
        if self.modes:
            self.optimizer.train()

    def _eval_mode(self) -> None:
        if self.modes:
            self.optimizer.eval()

    # -- the eval model in snapshots, "best" and checkpoints ------------------------------------------
    def _snapshot_eval(self, snap: dict) -> dict:
        """Add the eval model's state to a rollback snapshot (nothing without a separate eval model)."""
        if self.separate_eval:
            snap["eval_model"] = clone_tree(self.eval_model.state_dict())
        return snap

    def _restore_eval(self, snap: dict) -> None:
        if self.separate_eval and "eval_model" in snap:
            self.eval_model.load_state_dict(snap["eval_model"])

    def _best_extras(self) -> dict:
        """With train/eval modes the best epoch's optimizer state too (x needs its z)."""
        return {"optimizer": clone_tree(self.optimizer.state_dict())} if self.modes else {}

    def _restore_best(self) -> None:
        self.eval_model.load_state_dict(self.best["model"])
        if "optimizer" in self.best:
            lrs = [g["lr"] for g in self.optimizer.param_groups]
            self.optimizer.load_state_dict(clone_tree(self.best["optimizer"]))
            for group, lr in zip(self.optimizer.param_groups, lrs):
                group["lr"] = lr

    def _modes_payload(self) -> dict:
        return {"eval_model": self.eval_model.state_dict() if self.separate_eval else None}

    def _modes_resume(self, data: dict) -> None:
        state = data.get("eval_model")
        if self.separate_eval:
            if state is None:
                raise ValueError("fit() was given an eval_model but the checkpoint holds none")
            self.eval_model.load_state_dict(state)
