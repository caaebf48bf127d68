"""Step-indexed training for horizon experiments: one stable run, cooldowns branched from checkpoints.

What it is: :class:`StepBatches` (the minibatch of update ``t`` is a pure function of ``t`` and a seed,
so a branch sees exactly the batches a from-scratch run would), :func:`train_steps` (updates
``start .. stop - 1`` with ``lr = schedule(t)`` set *before* update ``t``) and
:func:`branch_cooldowns` (a warmup-stable-decay run trained once through its stable phase, with a
cooldown branched off a copy of the model and optimizer at each requested horizon -- the *anytime*
use of WSD). What it is not: a replacement for ``fit`` (no validation loop, monitor or policy) or for
checkpoint files (the "checkpoints" are in-memory deep copies).

References: Hu et al. (2024), MiniCPM, arXiv:2404.06395; Hägele et al. (2024), "Scaling Laws and
Compute-Optimal Training Beyond Fixed Training Durations", NeurIPS.
Taught in: Part III, Linear decay, done right, and horizon-free schedules.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import torch

from .._validation import check_int, check_range
from ..schedules import WarmupStableDecay

__all__ = ["StepBatches", "branch_cooldowns", "train_steps"]


class StepBatches:
    """Minibatch ``t`` as a pure function of ``t``: epoch ``e`` is a permutation seeded by ``(seed, e)``.

    .. math::
        \\begin{gathered}
        B_t = \\pi_{e}\\big[i b : (i + 1) b\\big], \\\\
        i = t - e K, \\\\
        e = \\lfloor t / K \\rfloor, \\quad K = \\lfloor N / b \\rfloor
        \\end{gathered}

    where :math:`\\pi_e` is a random permutation of the :math:`N` examples, :math:`b` the batch size and
    :math:`K` the number of full batches per epoch (the remainder is dropped).

    Args:
        X, y: tensors with the same first dimension N >= batch_size.
        batch_size: b, an integer >= 1.
        seed: seed of the permutations (an integer >= 0).

    Reference: PyTorch ``DataLoader(shuffle=True, drop_last=True)`` (same batching, made step-indexable).
    Taught in: Part III, Linear decay, done right, and horizon-free schedules.

    >>> batches = StepBatches(torch.arange(10.0)[:, None], torch.arange(10.0), batch_size=4, seed=0)
    >>> len(batches.per_epoch), torch.equal(batches(3)[1], batches(3)[1])
    (2, True)
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int = 0) -> None:
        if len(X) != len(y):
            raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
        self.batch_size = check_int("batch_size", batch_size)
        if self.batch_size > len(X):
            raise ValueError(f"batch_size must be in [1, len(X)] = [1, {len(X)}], got {batch_size}")
        self.seed = check_int("seed", seed, minimum=0)
        self.X, self.y = X, y
        self.per_epoch = range(len(X) // self.batch_size)
        self._perm: dict[int, torch.Tensor] = {}

    def __call__(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, k = divmod(check_int("t", t, minimum=0), len(self.per_epoch))
        if epoch not in self._perm:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm[epoch] = torch.randperm(len(self.X), generator=g)
        idx = self._perm[epoch][k * self.batch_size:(k + 1) * self.batch_size]
        return self.X[idx], self.y[idx]


def train_steps(model: torch.nn.Module, optimizer: torch.optim.Optimizer, schedule: Callable[[int], float],
                batches: Callable[[int], tuple], loss_fn: Callable, start: int, stop: int) -> list[float]:
    """Run updates ``t = start, ..., stop - 1``: set every group's lr to ``schedule(t)``, then update.

    .. math::
        \\theta_{t+1} = \\mathrm{opt}\\big(\\theta_t,\\ \\nabla \\ell(\\theta_t; B_t),\\ \\eta = s(t)\\big)

    The lr is written *before* update ``t`` (no one-step lag, ERRATA 003-E6).

    Args:
        model, optimizer, loss_fn: as for ``fit``. schedule: ``t -> lr``. batches: ``t -> (x, y)``.
        start, stop: integers with ``0 <= start <= stop``.

    Returns:
        The batch losses of the updates, in order.

    Reference: PyTorch ``torch.optim`` (a training step). Taught in: Part III, Linear decay, done right,
    and horizon-free schedules.

    >>> _ = torch.manual_seed(0)
    >>> w = torch.nn.Linear(1, 1, bias=False)
    >>> opt = torch.optim.SGD(w.parameters(), lr=0.0)
    >>> data = lambda t: (torch.ones(1, 1), torch.zeros(1, 1))
    >>> losses = train_steps(w, opt, lambda t: 0.25, data, torch.nn.MSELoss(), 0, 3)
    >>> [round(v / losses[0], 4) for v in losses]     # (1 - 2 * 0.25)**2 = 1/4 per step
    [1.0, 0.25, 0.0625]
    """
    start = check_int("start", start, minimum=0)
    stop = check_int("stop", stop, minimum=start)
    losses = []
    model.train()
    for t in range(start, stop):
        lr = float(schedule(t))
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = batches(t)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def branch_cooldowns(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batches: Callable,
                     loss_fn: Callable, evaluate: Callable[[torch.nn.Module], float], peak_lr: float,
                     horizons: Iterable[int], warmup_steps: int = 0, decay_fraction: float = 0.2,
                     decay: str = "sqrt") -> dict[int, float]:
    """One WSD run, its cooldowns branched at several horizons: ``{T: evaluate(model after T updates)}``.

    .. math::
        \\begin{gathered}
        \\eta_t = \\mathrm{WSD}_T(t), \\qquad D_T = \\lfloor f\\,T \\rfloor, \\\\
        \\text{branch at } T - D_T
        \\end{gathered}

    where :math:`\\mathrm{WSD}_T` is :class:`~dsat_tutorial.schedules.WarmupStableDecay` with
    ``total_steps`` :math:`T`, ``decay_steps`` :math:`D_T` and ``warmup_steps`` :math:`W`. The warm-up and
    stable phase are shared by every horizon (they do not depend on :math:`T`), so they are trained once;
    at :math:`T - D_T` a deep copy of the model and optimizer runs the cooldown to :math:`T`. Each result
    equals a from-scratch run of :math:`\\mathrm{WSD}_T` with the same initial state and ``batches``.
    ``model`` and ``optimizer`` end at the last branch point (stable phase).

    Args:
        model, optimizer, loss_fn: as for ``fit``; batches: ``t -> (x, y)`` (e.g. :class:`StepBatches`).
        evaluate: ``model -> float``, called on each branch after its cooldown.
        peak_lr: the stable lr. horizons: distinct integers T >= 1 with ``W + D_T <= T``.
        warmup_steps: W >= 0. decay_fraction: f in (0, 1]. decay: ``"linear"``, ``"sqrt"`` or ``"cosine"``.

    Returns:
        ``{T: evaluate(branch)}`` in increasing T.

    Reference: Hägele et al. (2024), NeurIPS, section 3 (cooldowns from one constant-lr run).
    Taught in: Part III, Linear decay, done right, and horizon-free schedules.

    >>> _ = torch.manual_seed(0)
    >>> w = torch.nn.Linear(1, 1, bias=False)
    >>> opt = torch.optim.SGD(w.parameters(), lr=0.0)
    >>> data = lambda t: (torch.ones(1, 1), torch.zeros(1, 1))
    >>> res = branch_cooldowns(w, opt, data, torch.nn.MSELoss(), lambda m: m.weight.item() ** 2, 0.1, [10, 20])
    >>> sorted(res), res[20] < res[10]
    ([10, 20], True)
    """
    horizons = sorted({check_int("horizon", h) for h in horizons})
    if not horizons:
        raise ValueError("horizons must contain at least one integer >= 1")
    frac = check_range("decay_fraction", decay_fraction, 0.0, 1.0, low_closed=False)
    plans = []
    for T in horizons:
        s = WarmupStableDecay(peak_lr, total_steps=T, warmup_steps=warmup_steps,
                              decay_steps=int(frac * T), decay=decay)  # validates W + D <= T
        plans.append((T - s.decay_steps, T, s))
    results, t = {}, 0
    for branch_at, T, s in sorted(plans, key=lambda p: p[0]):
        train_steps(model, optimizer, s, batches, loss_fn, t, branch_at)  # shared warm-up / stable phase
        t = branch_at
        b_model = copy.deepcopy(model)
        b_opt = type(optimizer)(b_model.parameters(), **optimizer.defaults)
        b_opt.load_state_dict(copy.deepcopy(optimizer.state_dict()))  # load_state_dict may share tensors
        train_steps(b_model, b_opt, s, batches, loss_fn, branch_at, T)
        results[T] = float(evaluate(b_model))
    return dict(sorted(results.items()))
