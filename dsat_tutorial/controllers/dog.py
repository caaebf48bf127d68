r"""DoG -- distance over gradients -- as a learning-rate controller over plain SGD, and the polynomial-decay
iterate average its authors require.

What it is: :class:`DoGLR`, which sets each parameter group's lr to :math:`\bar r_t/\sqrt{G_t}` (the
largest distance travelled from the starting point over the root of the summed squared gradient norms),
reproducing the ``dog-optimizer`` package's ``DoG`` when it drives ``torch.optim.SGD(momentum=0)``;
and :func:`polynomial_decay_avg_fn`, the averaging rule of that package's ``PolynomialDecayAverager``
for ``torch.optim.swa_utils.AveragedModel``. What it is not: L-DoG (one step size per layer), nor an
optimizer of its own -- the update is SGD's.

References: Ivgi, Hinder & Carmon (2023), "DoG is SGD's Best Friend: A Parameter-Free Dynamic Step
Size Schedule", ICML (arXiv:2302.12022); the ``dog-optimizer`` package (``dog/dog.py``,
``dog/averager.py``); Shamir & Zhang (2013), "Stochastic Gradient Descent for Non-smooth Optimization",
ICML (polynomial-decay averaging).
"""

from __future__ import annotations

import math

import torch

from .._validation import check_nonneg, check_positive
from .base import FeedbackLR
from .polyak import as_float, warn_nonfinite

__all__ = ["DoGLR", "polynomial_decay_avg_fn"]


def _norm(tensors) -> float:
    """The L2 norm of the tensors together (per tensor, then over tensors, as DoG computes it)."""
    if not tensors:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(tensors))))


class DoGLR(FeedbackLR):
    r"""DoG's step size for each parameter group: distance travelled over root summed squared gradients.

    .. math::

        \begin{gathered}
        \bar r_t = \max\!\Big(r_\epsilon,\; \max_{i \le t} \|x_i - x_0\|\Big), \\
        r_\epsilon = \texttt{reps\_rel}\,(1 + \|x_0\|), \\
        G_t = \epsilon + \sum_{i \le t} \|g_i\|^2, \quad \eta_t = m\, \frac{\bar r_t}{\sqrt{G_t}}
        \end{gathered}

    per parameter group, where :math:`x_i` are the group's parameters before update :math:`i`
    (:math:`x_0`: at the first ``step``), :math:`g_i` the group's gradient of update :math:`i`,
    :math:`\epsilon` is ``eps`` and :math:`m` the group's initial lr, DoG's ``lr`` multiplier (1.0
    reproduces the reference; the policy's ``scale_lr`` multiplies on top). Each group has its own
    :math:`\bar r` and :math:`G`, as in the reference. Before its first ``step`` the lr is 0.

    Over ``torch.optim.SGD(params, lr=1.0)`` (no momentum, no weight decay) the iterates are those of
    ``dog.DoG(params, reps_rel=reps_rel, eps=eps, lr=1.0)``: :math:`x_{t+1} = x_t - \eta_t g_t`.
    It keeps **one** copy of the parameters, :math:`x_0` -- it is part of ``state_dict()`` (so
    checkpoints and fit's rollback snapshots carry it, and it loads with ``torch.load(weights_only=True)``)
    -- and no per-step copy: the distance is measured from the current parameters each step.

    **Iterate averaging.** The DoG authors require it ("ITERATE AVERAGING IS CRUCIAL"): evaluate a
    polynomial-decay average of the iterates, e.g.
    ``averaged = AveragedModel(model, multi_avg_fn=polynomial_decay_avg_fn(gamma=8))`` from
    ``torch.optim.swa_utils``, with ``averaged.update_parameters(model)`` after every
    ``optimizer.step()``, then validate ``averaged`` (its ``.module``).

    Args:
        optimizer: the wrapped optimizer (``torch.optim.SGD`` with ``momentum=0`` to reproduce DoG).
        reps_rel: :math:`r_\epsilon` relative to :math:`1 + \|x_0\|`, > 0 (default 1e-6; the authors
            suggest 1e-4 with batch normalisation). It sets the first step's length.
        eps: :math:`\epsilon > 0` added to :math:`G` (default 1e-8).

    **By hand:** after ``loss.backward()`` and before ``optimizer.step()``, call ``scheduler.step()``
    (it reads each group's gradients) or ``scheduler.step(grad_norm)`` with the global gradient norm
    of the optimizer's parameters. **In fit:** a bare ``DoGLR`` is declared ``Scheduled(sched, "step",
    "grad_norm")`` and receives the global norm measured *before* clipping -- with one group that is
    :math:`\|g_t\|` itself, with several each group's share is read from its (possibly clipped)
    gradients and rescaled to the given norm (clipping scales every gradient by one factor, so the shares
    are unchanged). So :math:`G_t` sums the true squared gradient norms, and clipping only shortens the
    applied step; with the clipped norm, :math:`G_t` would grow more slowly exactly when gradients spike,
    raising the lr and undoing the clip. A NaN/inf norm changes nothing but ``nonfinite_signals``.

    Reference: Ivgi, Hinder & Carmon (2023), ICML; ``dog-optimizer`` ``DoG``.
    Taught in: Part III, Learning-rate-free methods

    >>> x = torch.tensor([3.0, 4.0], requires_grad=True)            # ||x_0|| = 5
    >>> opt = torch.optim.SGD([x], lr=1.0)
    >>> sched = DoGLR(opt, reps_rel=0.1)
    >>> (0.5 * (x ** 2).sum()).backward()                            # g_0 = x_0, ||g_0||^2 = 25
    >>> sched.step(); round(sched.get_last_lr()[0], 6)               # 0.1 * (1 + 5) / sqrt(25)
    0.12
    >>> opt.step(); opt.zero_grad(); (0.5 * (x ** 2).sum()).backward()
    >>> sched.step(); round(sched.get_last_lr()[0], 6)     # max(0.6, ||x_1 - x_0||) / sqrt(25 + 19.36)
    0.090086
    """

    pre_update = True

    def __init__(self, optimizer, reps_rel: float = 1e-6, eps: float = 1e-8) -> None:
        self.reps_rel = check_positive("reps_rel", reps_rel)
        self.eps = check_positive("eps", eps)
        self.x0 = None       # per group, a list of detached copies of its parameters at the first step
        self.rbar: list[float] = []
        self.G: list[float] = []
        self.num_updates = 0
        super().__init__(optimizer)

    def step(self, grad_norm=None) -> None:
        """Update :math:`\\bar r`, :math:`G` from the current parameters and gradients; set the lrs."""
        if self._constructing:
            return FeedbackLR.step(self)
        groups = [[p for p in g["params"]] for g in self.optimizer.param_groups]
        if grad_norm is not None:
            total = as_float(grad_norm)
            if math.isfinite(total) and total < 0:
                raise ValueError(f"grad_norm must be >= 0 (a norm), got {total!r}")
        with torch.no_grad():
            if grad_norm is not None and len(groups) == 1:
                squares = [total * total]  # fit's global norm is the group's norm: no extra pass
            else:
                squares = [_norm([p.grad for p in ps if p.grad is not None]) ** 2 for ps in groups]
                if grad_norm is not None and math.isfinite(total):
                    measured = sum(squares)
                    squares = [s * (total * total / measured) if measured > 0 else 0.0 for s in squares]
            bad_norm = grad_norm is not None and not math.isfinite(total)
            if bad_norm or not all(math.isfinite(s) for s in squares):
                warn_nonfinite(self, "gradient norm")
            else:
                self._update(groups, squares)
        self._write(self.get_lr())

    def _update(self, groups, squares) -> None:
        if self.x0 is None:  # 1) the first step: remember x_0, r_eps = reps_rel (1 + ||x_0||)
            self.x0 = [[p.detach().clone() for p in ps] for ps in groups]
            self.rbar = [self.reps_rel * (1.0 + _norm(x0)) for x0 in self.x0]
            self.G = [s + self.eps for s in squares]
        else:                # 2) later steps: the distance from x_0 now, before this update
            for i, (ps, x0) in enumerate(zip(groups, self.x0, strict=True)):
                dist = _norm(torch._foreach_sub([p.detach() for p in ps], x0)) if ps else 0.0
                self.rbar[i] = max(self.rbar[i], dist)
                self.G[i] += squares[i]
        self.num_updates += 1

    def _lr(self) -> list[float]:
        """Each group's multiplier times ``rbar / sqrt(G)``; 0 before the first step."""
        if self.x0 is None:
            return [0.0 for _ in self.base_lrs]
        return [float(m) * r / math.sqrt(G) for m, r, G in zip(self.base_lrs, self.rbar, self.G)]


def polynomial_decay_avg_fn(gamma: float = 8.0):
    r"""The polynomial-decay average of DoG's ``PolynomialDecayAverager`` as a ``multi_avg_fn`` for
    ``torch.optim.swa_utils.AveragedModel``.

    .. math::

        \bar x_t = \Big(1 - \frac{1+\gamma}{t+\gamma}\Big)\bar x_{t-1} + \frac{1+\gamma}{t+\gamma}\, x_t

    where :math:`t = 1, 2, \dots` counts the averaged iterates (:math:`\bar x_1 = x_1`, the weight of
    the newest iterate decays like :math:`(1+\gamma)/t`) and :math:`\gamma \ge 0` is ``gamma``
    (:math:`\gamma = 0`: the uniform average). ``AveragedModel`` copies the first model it is given
    (``n_averaged = 0``) and calls the function with ``num_averaged`` :math:`= t - 1` from then on; here
    the reference's :math:`t` is ``num_averaged + 1``. Buffers (batch-norm statistics) are left to
    ``AveragedModel`` (``use_buffers=False`` by default).

    Args:
        gamma: :math:`\gamma \ge 0` (default 8, the reference's).

    Returns:
        A ``multi_avg_fn(averaged_params, current_params, num_averaged)`` that updates in place.

    Reference: Shamir & Zhang (2013), ICML; ``dog-optimizer`` ``PolynomialDecayAverager``.
    Taught in: Part III, Learning-rate-free methods

    >>> from torch.optim.swa_utils import AveragedModel
    >>> model = torch.nn.Linear(1, 1, bias=False)
    >>> avg = AveragedModel(model, multi_avg_fn=polynomial_decay_avg_fn(gamma=0.0))
    >>> with torch.no_grad():
    ...     for w in (1.0, 2.0, 3.0):
    ...         _ = model.weight.fill_(w); avg.update_parameters(model)
    >>> avg.module.weight.item()    # gamma = 0: the plain mean of 1, 2, 3
    2.0
    """
    gamma = check_nonneg("gamma", gamma)

    @torch.no_grad()
    def multi_avg_fn(averaged, current, num_averaged) -> None:
        t = float(num_averaged) + 1.0
        weight = (1.0 + gamma) / (t + gamma)
        torch._foreach_mul_(averaged, 1.0 - weight)  # the reference's order of operations
        torch._foreach_add_(averaged, current, alpha=weight)

    return multi_avg_fn
