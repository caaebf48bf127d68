"""Stopping criteria for an optimisation run: a small gradient norm, or a small relative change of the
loss held for several consecutive checks.

What it is: the convergence test that source 002's ``is_converged(theta)`` (§4, L166) never defines,
made concrete (ERRATA 002-E8). Convergence is a property of the objective at the iterate -- a gradient
that is (nearly) zero, or a loss that has stopped moving -- so the test reads the loss and the gradient
norm, never the parameters alone: the same θ is a minimiser of one objective and far from one of another.
What it is not: generalisation-aware early stopping; for that, watch the *validation* loss
(``dsat_tutorial.monitor.HealthMonitor`` and the early stop of ``dsat_tutorial.training.fit``).

References: J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer 2006, §2.1 and
§3 (first-order stationarity as the stopping test); L. Prechelt, "Early stopping -- but when?", 1998.

Taught in: Part II, When has training converged?
"""

from __future__ import annotations

import math

import torch

from ._validation import check_int, check_positive
from .clipping import global_grad_norm

__all__ = ["relative_change", "ConvergenceCheck", "full_batch_grad_norm", "FullBatchGradNorm"]


def relative_change(previous: float, current: float, eps: float = 1e-12) -> float:
    r"""Relative change of a scalar between two checks.

    .. math::

        r_t = \frac{|L_{t-1} - L_t|}{\max(|L_{t-1}|, \varepsilon)}

    where :math:`L_{t-1}` and :math:`L_t` are the previous and current values and ε guards the
    division when the previous value is 0 (then r is the absolute change divided by ε).

    >>> relative_change(2.0, 1.5)
    0.25
    >>> relative_change(-4.0, -4.4)  # works for negative losses too
    0.1
    """
    return abs(float(previous) - float(current)) / max(abs(float(previous)), eps)


class ConvergenceCheck:
    r"""Decide when an optimisation run has converged, from its loss and gradient norm.

    Two criteria, each enabled by giving its tolerance; the run has converged as soon as *any* enabled
    criterion has held for ``patience`` consecutive calls of :meth:`update`:

    .. math::

        \begin{gathered}
        \text{gradient:}\quad \|\nabla J(\theta_t)\| \le \tau_g, \\
        \text{loss:}\quad \frac{|J(\theta_{t-1}) - J(\theta_t)|}{\max(|J(\theta_{t-1})|, \varepsilon)} \le \tau_r
        \end{gathered}

    where :math:`\|\nabla J\|` is the global L2 norm over all parameters, :math:`\tau_g` is
    ``grad_tol`` and :math:`\tau_r` is ``rel_tol``. ``patience > 1`` guards the loss test against a
    single flat step of a noisy (stochastic) run. A non-finite loss or gradient norm never counts as
    converged and resets both streaks.

    Args:
        grad_tol: τ_g > 0, or None to disable the gradient test.
        rel_tol: τ_r > 0, or None to disable the loss test.
        patience: consecutive checks a criterion must hold (integer >= 1).

    Attributes:
        converged: whether a criterion has been met (it stays True once met).
        reason: a sentence saying which criterion was met, at which check, with the numbers.
        checks: number of :meth:`update` calls so far.

    Corrects: 002-E8 (``is_converged(theta)`` tests the parameters, which cannot tell convergence) and
    002-E10 ("the loss decreasing means convergence").
    Taught in: Part II, When has training converged?

    >>> check = ConvergenceCheck(grad_tol=1e-3, rel_tol=1e-4, patience=2)
    >>> [check.update(loss, g) for loss, g in [(1.0, 0.5), (0.5, 0.1), (0.49999, 0.05), (0.499985, 0.04)]]
    [False, False, False, True]
    >>> check.reason
    'check 4: relative loss change 1e-05 <= 0.0001 for 2 consecutive checks'
    """

    def __init__(self, grad_tol: float | None = None, rel_tol: float | None = None, patience: int = 1):
        if grad_tol is None and rel_tol is None:
            raise ValueError("give grad_tol or rel_tol (or both): with neither, nothing can converge")
        self.grad_tol = None if grad_tol is None else check_positive("grad_tol", grad_tol)
        self.rel_tol = None if rel_tol is None else check_positive("rel_tol", rel_tol)
        self.patience = check_int("patience", patience)
        self.converged = False
        self.reason = "not converged yet"
        self.checks = 0
        self._previous: float | None = None
        self._grad_streak = 0
        self._rel_streak = 0

    def __repr__(self) -> str:
        return (f"ConvergenceCheck(grad_tol={self.grad_tol}, rel_tol={self.rel_tol}, "
                f"patience={self.patience})")

    def update(self, loss: float, grad_norm: float | None = None) -> bool:
        """Record one check (the current loss and, for the gradient test, the gradient norm).

        Returns:
            ``converged`` after this check.
        """
        self.checks += 1
        if self.converged:
            return True
        loss = float(loss)
        finite = math.isfinite(loss) and (grad_norm is None or math.isfinite(float(grad_norm)))
        if not finite:
            self._grad_streak = self._rel_streak = 0
            self._previous = None
            return False
        if self.grad_tol is not None and grad_norm is not None:
            self._grad_streak = self._grad_streak + 1 if float(grad_norm) <= self.grad_tol else 0
            if self._grad_streak >= self.patience:
                return self._done(f"gradient norm {float(grad_norm):.3g} <= {self.grad_tol:g}")
        if self.rel_tol is not None and self._previous is not None:
            r = relative_change(self._previous, loss)
            self._rel_streak = self._rel_streak + 1 if r <= self.rel_tol else 0
            if self._rel_streak >= self.patience:
                self._previous = loss
                return self._done(f"relative loss change {r:.3g} <= {self.rel_tol:g}")
        self._previous = loss
        return False

    def _done(self, what: str) -> bool:
        self.converged = True
        self.reason = f"check {self.checks}: {what} for {self.patience} consecutive check" + (
            "s" if self.patience > 1 else "")
        return True


def full_batch_grad_norm(model: torch.nn.Module, loss_fn, X: torch.Tensor, y: torch.Tensor) -> float:
    r"""Global L2 norm of the gradient of the loss over a whole data set, :math:`\|\nabla J(\theta)\|`.

    .. math::

        \begin{gathered}
        \|\nabla J(\theta)\| = \Big(\sum_k \|\nabla_{\theta_k} J(\theta)\|_F^2\Big)^{1/2}, \\
        J(\theta) = \text{loss\_fn}(\text{model}(X), y)
        \end{gathered}

    where k runs over the model's parameters. This is the quantity the gradient test of
    :class:`ConvergenceCheck` is about; the *minibatch* norms a training loop sees do not go to zero
    under SGD with a constant learning rate (their noise floor), so measure this one to test
    convergence. The model's ``.grad`` fields are cleared before and after (set to None).

    Taught in: Part II, When has training converged?

    >>> lin = torch.nn.Linear(1, 1, bias=False); _ = lin.weight.data.fill_(2.0)
    >>> X, y = torch.ones(4, 1), torch.zeros(4, 1)       # J = mean((w x)^2) = w^2 -> dJ/dw = 2 w = 4
    >>> full_batch_grad_norm(lin, torch.nn.MSELoss(), X, y)
    4.0
    """
    model.zero_grad(set_to_none=True)
    loss_fn(model(X), y).backward()
    norm = global_grad_norm(model.parameters())
    model.zero_grad(set_to_none=True)
    return norm


class FullBatchGradNorm:
    """A ``fit`` callback that records :func:`full_batch_grad_norm` on ``(X, y)`` at the end of every epoch.

    Attributes:
        norms: one value per epoch, in order.

    Taught in: Part II, When has training converged?

    >>> cb = FullBatchGradNorm(torch.nn.MSELoss(), torch.ones(4, 1), torch.zeros(4, 1)); cb.norms
    []
    """

    def __init__(self, loss_fn, X: torch.Tensor, y: torch.Tensor) -> None:
        self.loss_fn, self.X, self.y = loss_fn, X, y
        self.norms: list[float] = []

    def on_epoch_end(self, state) -> None:
        """Measure on ``state.model`` (the :class:`~dsat_tutorial.training.TrainState` of the run)."""
        self.norms.append(full_batch_grad_norm(state.model, self.loss_fn, self.X, self.y))
