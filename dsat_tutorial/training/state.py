"""Two small parts of ``fit``: the clipper adapter and the "last good state" snapshot.

Internal module (no public API). What it is not: a checkpoint (that is ``checkpoint.py``, on disk).

* :class:`Clipper` puts ``clip=None``, a float max norm and an :class:`~dsat_tutorial.clipping.AutoClip`
  behind one call that measures the global gradient norm, clips, and reports what it did; it can be
  *tightened* (the float threshold, or AutoClip's ``scale``) and has a plain-data state.
* :func:`snapshot` / :func:`restore` copy and restore model, optimizer, schedulers and clipper. ``fit``
  takes one snapshot per epoch (not per step: the copy costs about one optimizer step's memory
  traffic). Restoring always loads a *copy* of the snapshot: ``Optimizer.load_state_dict`` keeps the
  tensors it is given when dtype and device already match, and ``LRScheduler.load_state_dict`` keeps
  the lists, so loading the snapshot itself would let training overwrite it in place.

References: PyTorch ``Optimizer.state_dict``/``load_state_dict``; ``torch.nn.utils.clip_grad_norm_``.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Optional

import torch

from ..clipping import EPS, AutoClip, clip_grad_norm, global_grad_norm
from .._validation import check_positive, check_range

__all__ = ["Clipper", "clone_tree", "snapshot", "restore"]


class Clipper:
    """``clip=None | float | AutoClip`` as one object.

    ``clipper(params) -> (norm, clipped_norm, clipped)``.
    """

    def __init__(self, clip: Any):
        self.auto: Optional[AutoClip] = None
        self.max_norm: Optional[float] = None
        if isinstance(clip, AutoClip):
            self.auto = clip
        elif clip is not None:
            self.max_norm = check_positive("clip", clip)

    @property
    def active(self) -> bool:
        return self.auto is not None or self.max_norm is not None

    @property
    def threshold(self) -> Optional[float]:
        """The current clip threshold (``None`` without clipping; ``nan`` for an empty AutoClip)."""
        return self.auto.threshold if self.auto is not None else self.max_norm

    def __call__(self, params: list) -> tuple[float, float, bool]:
        """Measure the global norm, clip in place; non-finite norms leave the gradients untouched."""
        if self.auto is not None:
            norm, threshold, clipped = self.auto(params)
        elif self.max_norm is not None:
            norm, threshold = clip_grad_norm(params, self.max_norm), self.max_norm
            clipped = norm > threshold
        else:
            return (n := global_grad_norm(params)), n, False
        # after clipping, the norm is norm * min(1, c / (norm + eps)), as in torch.nn.utils.clip_grad_norm_
        after = norm * min(1.0, threshold / (norm + EPS)) if clipped and math.isfinite(norm) else norm
        return norm, after, bool(clipped)

    def tighten(self, factor: float) -> bool:
        """Multiply the threshold by ``factor`` in (0, 1]; ``False`` when there is nothing to tighten."""
        factor = check_range("factor", factor, 0.0, 1.0, low_closed=False)
        if self.auto is not None:
            self.auto.scale = self.auto.scale * factor
        elif self.max_norm is not None:
            self.max_norm *= factor
        return self.active

    def state_dict(self) -> Optional[dict]:
        if self.auto is not None:
            return self.auto.state_dict()
        return None if self.max_norm is None else {"max_norm": self.max_norm}

    def load_state_dict(self, state: Optional[dict]) -> None:
        if self.auto is not None:
            self.auto.load_state_dict(state)
        elif self.max_norm is not None:
            self.max_norm = check_positive("max_norm", state["max_norm"])


def clone_tree(obj: Any) -> Any:
    """A deep copy of nested dicts/lists/tuples of tensors and plain values (tensors cloned).

    About ten times faster than ``copy.deepcopy`` on an optimizer state (``Tensor.__deepcopy__`` goes
    through Python-level storage bookkeeping); other objects fall back to ``copy.deepcopy``.
    """
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return type(obj)((k, clone_tree(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        return type(obj)(clone_tree(v) for v in obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return copy.deepcopy(obj)




def _optimizer_copy(state: dict) -> dict:
    """``clone_tree`` of an optimizer state dict, with the param groups (plain settings) copied shallowly."""
    return {"state": {k: clone_tree(v) for k, v in state["state"].items()},
            "param_groups": [{k: list(v) if k == "params" else _clone_if_tensor(v) for k, v in g.items()}
                             for g in state["param_groups"]]}


def _clone_if_tensor(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def snapshot(model, optimizer, schedulers: list, clipper: Clipper) -> dict:
    """A private copy of everything a rollback restores."""
    return {"model": clone_tree(model.state_dict()),
            "optimizer": _optimizer_copy(optimizer.state_dict()),
            "schedulers": [clone_tree(s.state_dict()) if hasattr(s, "state_dict") else None
                           for s in schedulers],
            "clipper": clone_tree(clipper.state_dict())}


def restore(snap: dict, model, optimizer, schedulers: list, clipper: Clipper, *,
            weights_only: bool = False) -> None:
    """Load a copy of ``snap``; ``weights_only=True`` restores just the model and the optimizer."""
    model.load_state_dict(snap["model"])
    optimizer.load_state_dict(_optimizer_copy(snap["optimizer"]))
    if weights_only:
        return
    for sched, state in zip(schedulers, snap["schedulers"]):
        if state is not None:
            sched.load_state_dict(clone_tree(state))
    clipper.load_state_dict(clone_tree(snap["clipper"]))
