"""Two guards of ``fit``'s state: no non-finite state is kept, and a failed resume changes nothing.

Internal module (no public API), called by :mod:`.epoch`:

* :func:`nonfinite_entry` / :func:`guard_finite_state` -- at the end of every epoch (before validation,
  the "best" weights and the checkpoint) the parameters, buffers and optimizer state must be finite. A
  non-finite entry (an update that overflowed, a callback that broke a weight) is never snapshotted,
  checkpointed or kept as "best": ``fit`` restores the last good state (the start of the epoch), lowers
  the lr as a divergence rollback does, and logs a ``rollback`` event naming the entry.
* :func:`staged_resume` -- loading a checkpoint touches the model, optimizer, schedulers, clipper,
  monitor, policy, data-loader generators and global RNGs one after the other; if any of them refuses
  its part, everything loaded so far is put back as it was before the call, so a failed resume leaves
  the run exactly as it was, and the error is a :class:`~.checkpoint.CheckpointError` naming the file.

What it is not: the per-step divergence handling (non-finite losses and gradients, in :mod:`.loop`).
References: PyTorch ``Optimizer.state_dict``/``load_state_dict``; Chowdhery et al. (2022), PaLM, sec. 5.1
(restart from an earlier checkpoint after a loss spike).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

import torch

from . import checkpoint as ckpt
from .state import restore, snapshot
from ..policy import scale_learning_rate

__all__ = ["nonfinite_entry", "guard_finite_state", "staged_resume"]


def _first_bad(tensors) -> Optional[str]:
    for name, t in tensors:
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return name
    return None


def nonfinite_entry(model, optimizer) -> Optional[str]:
    """The name of the first non-finite parameter, buffer or optimizer-state tensor, else ``None``.

    >>> m = torch.nn.Linear(2, 1); opt = torch.optim.SGD(m.parameters(), lr=0.1)
    >>> nonfinite_entry(m, opt) is None
    True
    >>> with torch.no_grad(): m.bias.fill_(float("inf"))
    Parameter containing:
    tensor([inf], requires_grad=True)
    >>> nonfinite_entry(m, opt)
    'model.bias'
    """
    found = _first_bad((f"model.{k}", v) for k, v in model.state_dict().items())
    if found is None:
        found = _first_bad((f"optimizer.state[{i}].{k}", v) for i, s in enumerate(optimizer.state.values())
                           for k, v in s.items())
    return found


def guard_finite_state(loop, epoch: int) -> bool:
    """Roll ``loop`` back to its last good state if its state is non-finite; ``True`` if it did.

    The lr is multiplied by ``loop.rollback_factor`` (through the schedulers, as for a divergence
    rollback) and the restored state becomes the new last good state. Raises
    :class:`~.loop.TrainingDiverged` if the last good state is itself non-finite.
    """
    bad = nonfinite_entry(loop.model, loop.optimizer)
    if bad is None:
        return False
    restore(loop.last_good, loop.model, loop.optimizer, loop.scheds, loop.clipper)
    loop._restore_eval(loop.last_good)
    if nonfinite_entry(loop.model, loop.optimizer) is not None:
        from .loop import TrainingDiverged  # the loop imports this module
        raise TrainingDiverged(epoch, loop.step, float(loop.optimizer.param_groups[0]["lr"]),
                               f"{bad} is non-finite and so is the last good state", loop.history)
    lrs = scale_learning_rate(loop.optimizer, loop.scheds, loop.rollback_factor)
    loop.last_good = snapshot(loop.model, loop.optimizer, loop.scheds, loop.clipper)
    loop._snapshot_eval(loop.last_good)
    loop.history.log_event(
        "rollback", epoch=epoch, step=loop.step, source="nonfinite_state", lrs=lrs,
        reason=f"{bad} is non-finite at the end of epoch {epoch}: not kept; rolled back to the state at "
               f"the start of epoch {epoch}, learning rate x{loop.rollback_factor:g}")
    return True


def _generators(loop) -> list:
    gens = ckpt.loader_generators(loop.train_loader)
    if loop.val_loader is not None:
        gens += ckpt.loader_generators(loop.val_loader)
    return gens


def _copy_state(module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@contextmanager
def staged_resume(loop, path) -> Iterator[None]:
    """Run the loading inside; on failure restore everything it may have changed, raise CheckpointError."""
    before = {"snap": snapshot(loop.model, loop.optimizer, loop.scheds, loop.clipper),
              "monitor": getattr(loop.monitor, "state_dict", lambda: None)(),
              "policy": getattr(loop.policy, "state_dict", lambda: None)(),
              "gens": [g.get_state() for g in _generators(loop)], "rng": ckpt.capture_rng(),
              "guard": getattr(loop.spike_guard, "state_dict", lambda: None)(),
              "eval": _copy_state(loop.eval_model) if getattr(loop, "separate_eval", False) else None}
    try:
        yield
    except (KeyError, ValueError, TypeError, RuntimeError, IndexError, AttributeError) as exc:
        restore(before["snap"], loop.model, loop.optimizer, loop.scheds, loop.clipper)
        if before["monitor"] is not None:
            loop.monitor.load_state_dict(before["monitor"])
        if before["policy"] is not None:
            loop.policy.load_state_dict(before["policy"])
        for gen, state in zip(_generators(loop), before["gens"]):
            gen.set_state(state)
        ckpt.restore_rng(before["rng"])
        if before["guard"] is not None:
            loop.spike_guard.load_state_dict(before["guard"])
        if before["eval"] is not None:
            loop.eval_model.load_state_dict(before["eval"])
        raise ckpt.CheckpointError(path, f"does not match this run ({type(exc).__name__}: {exc}); "
                                         "nothing was changed") from exc
