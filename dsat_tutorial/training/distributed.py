"""``fit`` under ``torch.distributed``: make every rank decide from the same numbers.

Under data parallelism (``DistributedDataParallel``, one process per replica, a ``DistributedSampler``
giving each rank its own shard) the *gradients* are shared -- DDP averages them during ``backward`` --
but every other number ``fit`` reads is local: the batch loss, the epoch's train and validation losses
and metrics, a callback's ``stop_training``. A controller, monitor, policy or guard deciding from local
numbers can decide differently on each rank (one rank's plateau cut or bold-driver rejection is
another's no-op), and the replicas silently drift apart; a NaN on one rank makes that rank skip
``backward`` while the others wait in DDP's all-reduce for it. This module supplies the agreements that
``fit`` uses when a process group is initialized:

* per step, **one** all-reduce (:func:`agree_step`) of ``[loss * n, n, non-finite]`` in float64,
  *before* ``backward``: every rank gets the sample-weighted mean loss of the global batch,
  :math:`\\bar L = \\sum_r n_r L_r / \\sum_r n_r`, and whether any rank's loss is non-finite (then
  :math:`\\bar L` is non-finite too, and every rank skips and rolls back together);
* per epoch, one all-reduce of sums (:func:`agree_sums`): training-metric sums, validation loss and
  metric sums and counts, so every mean is :math:`\\sum_r s_r / \\sum_r n_r` (gloo has no ``AVG``);
* :func:`agree_flag`: a Boolean all-reduced with ``MAX`` (a callback's ``stop_training`` on any rank;
  also the barrier after rank 0 writes a checkpoint, which tells the other ranks if the write failed);
* :func:`gather` (``all_gather_object``) for the per-rank RNG states a checkpoint keeps.

Without an initialized process group :func:`context` returns ``None`` and ``fit`` takes exactly its
single-process path (no call into this module on the hot path).

What it is not: a launcher or a wrapper (``torch.multiprocessing.spawn``/``torchrun``,
``init_process_group``, ``DistributedDataParallel`` and ``DistributedSampler`` stay the user's, as in
PyTorch's tutorials); no gradient accumulation, no uneven inputs (every rank must run the same number of
batches -- ``DistributedSampler`` pads to ensure it, which repeats a few samples in the validation
means), no model or pipeline parallelism.

References: PyTorch ``torch.distributed`` (``all_reduce``, ``ReduceOp``, ``all_gather_object``),
"Getting started with DistributedDataParallel", and ``DistributedSampler.set_epoch``;
S. Li et al., "PyTorch Distributed: experiences on accelerating data parallel training", VLDB 2020.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch

__all__ = ["is_distributed", "agree_step", "agree_sums", "agree_flag", "gather", "rank",
           "world_size", "Agreement", "context", "AGREE", "set_sampler_epoch"]


def is_distributed() -> bool:
    """Whether a ``torch.distributed`` process group is initialized (and available at all).

    >>> is_distributed()  # a plain process
    False
    """
    dist = torch.distributed
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return torch.distributed.get_rank() if is_distributed() else 0


def world_size() -> int:
    """The number of processes (1 without a process group)."""
    return torch.distributed.get_world_size() if is_distributed() else 1


def _all_reduce(values: list[float], op=None) -> list[float]:
    buf = torch.tensor(values, dtype=torch.float64)
    torch.distributed.all_reduce(buf, op=torch.distributed.ReduceOp.SUM if op is None else op)
    return buf.tolist()


def agree_step(loss: float, n: int) -> tuple[float, bool, int]:
    """One all-reduce per step: the sample-weighted mean loss of the global batch, any non-finite, and N.

    .. math::
        \\begin{gathered}
        \\bar L = \\frac{\\sum_r n_r L_r}{\\sum_r n_r}, \\qquad N = \\sum_r n_r, \\\\
        \\text{nonfinite} = \\bigvee_r \\lnot\\,\\mathrm{isfinite}(L_r)
        \\end{gathered}

    Args:
        loss: this rank's batch loss (a Python float; the mean over its ``n`` samples).
        n: this rank's batch size.

    Returns:
        ``(mean_loss, any_nonfinite, total_n)``, the same on every rank; ``mean_loss`` is non-finite
        whenever ``any_nonfinite`` is (NaN + finite = NaN, inf + finite = inf). Without a process group:
        ``(loss, not isfinite(loss), n)``.

    Reference: PyTorch ``all_reduce`` with ``ReduceOp.SUM`` (gloo has no ``AVG``). Taught in: no
    chapter (the book runs on one process); the README's "Use the package in your own PyTorch code".

    >>> agree_step(0.25, 8), agree_step(float("nan"), 8)[1]
    ((0.25, False, 8), True)
    """
    bad = 0.0 if math.isfinite(loss) else 1.0
    if not is_distributed():
        return loss, bool(bad), n
    total, count, bad = _all_reduce([loss * n, float(n), bad])
    mean = total / count if count else math.nan
    if bad and math.isfinite(mean):  # cannot happen with IEEE sums; kept as the flag's guarantee
        mean = math.nan
    return mean, bad > 0, int(count)


def agree_sums(sums: dict[str, float]) -> dict[str, float]:
    """All-reduce a dict of sums (one float64 all-reduce): each value becomes :math:`\\sum_r s_r`.

    Divide by an agreed count (also summed here) to get the sample-weighted mean over all ranks.
    Without a process group the dict is returned unchanged (as floats).

    >>> agree_sums({"val_total": 1.5, "val_count": 4})
    {'val_total': 1.5, 'val_count': 4.0}
    """
    keys = list(sums)
    values = [float(sums[k]) for k in keys]
    if is_distributed() and keys:
        values = _all_reduce(values)
    return dict(zip(keys, values))


def agree_flag(flag: bool) -> bool:
    """``True`` on every rank if it is ``True`` on any (all-reduce ``MAX``).

    >>> agree_flag(True), agree_flag(False)
    (True, False)
    """
    if not is_distributed():
        return bool(flag)
    return _all_reduce([1.0 if flag else 0.0], torch.distributed.ReduceOp.MAX)[0] > 0


def gather(obj: Any) -> list:
    """Every rank's ``obj``, in rank order (``all_gather_object``; ``[obj]`` without a process group)."""
    if not is_distributed():
        return [obj]
    out: list = [None] * world_size()
    torch.distributed.all_gather_object(out, obj)
    return out


def set_sampler_epoch(loader, epoch: int) -> None:
    """Call ``loader.sampler.set_epoch(epoch - 1)`` before ``epoch`` (from 1) if the sampler has it.

    ``DistributedSampler`` draws its shuffle from ``seed + epoch``: without ``set_epoch`` every epoch
    repeats the first epoch's order (PyTorch's docs: "calling set_epoch() at the beginning of each
    epoch ... is necessary"). PyTorch counts epochs from 0, ``fit`` from 1.

    >>> class Sampler:
    ...     def set_epoch(self, e): self.epoch = e
    >>> class Loader: sampler = Sampler()
    >>> set_sampler_epoch(Loader, 3); Loader.sampler.epoch
    2
    """
    set_epoch = getattr(getattr(loader, "sampler", None), "set_epoch", None)
    if callable(set_epoch):
        set_epoch(epoch - 1)


class Agreement:
    """The agreement functions bound to a run (``fit`` holds one when a process group exists).

    ``enabled=False`` is the *negative control* of the tests: the collectives that keep the ranks in
    step (the checkpoint's gather and barrier) still run, but every rank decides from its own numbers.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = bool(enabled)
        self.rank, self.world_size = rank(), world_size()

    def step(self, loss: float, n: int) -> tuple[float, int]:
        """The agreed ``(loss, n)`` of this step (the local ones when disabled)."""
        if not self.enabled:
            return loss, n
        mean, _, total = agree_step(loss, n)
        return mean, total

    def sums(self, sums: dict[str, float]) -> dict[str, float]:
        return agree_sums(sums) if self.enabled else sums

    def flag(self, flag: bool) -> bool:
        return agree_flag(flag) if self.enabled else bool(flag)


#: ``False`` turns the agreement off in every later ``fit`` of this process: the negative control of
#: ``tests/training/test_distributed.py`` and ``benchmarks/ddp_overhead.py``, never for real runs.
AGREE = True


def context(agree: Optional[bool] = None) -> Optional[Agreement]:
    """An :class:`Agreement` inside an initialized process group, else ``None`` (the single-process path).

    ``agree=None`` takes the module switch :data:`AGREE`.

    >>> context() is None
    True
    """
    if not is_distributed():
        return None
    return Agreement(AGREE if agree is None else agree)
