"""The learning-rate range test (Smith 2017), leaving model, optimizer and RNGs exactly as they were.

Internal module; :func:`lr_range_test` and :class:`RangeTestResult` are re-exported by
:mod:`dsat_tutorial.training`. It answers source 002's question "which initial learning rate?" with a
measurement instead of the unfounded rule :math:`\\eta = 1/\\sqrt{n}` (ERRATA 002-E5).

What it is not: a tuner that trains your model. The sweep is thrown away: afterwards the model's
parameters, buffers and gradients, the optimizer's state and param groups, the training mode and the
random-number generators are restored, so later training is identical to training without the test
(fastai issues #2892 and #3013: its finder kept the optimizer state and changed the training that
followed).

References: L. N. Smith, "Cyclical learning rates for training neural networks", WACV 2017, section
3.3; fastai's ``lr_find`` (exponential sweep, bias-corrected smoothing).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import numpy as np
import torch

from . import checkpoint as ckpt
from .modes import check_range_test_optimizer, has_modes
from .._validation import check_int, check_positive, check_range

__all__ = ["lr_range_test", "RangeTestResult"]


@dataclass
class RangeTestResult:
    """The sweep: learning rates, smoothed losses, raw losses, and the suggested learning rate.

    ``suggestion`` is the lr at the steepest descent of the smoothed loss against :math:`\\log \\eta`,
    away from both ends of the sweep (``None`` with fewer than 3 points); ``min_loss_lr`` is the lr of
    the lowest smoothed loss (the common rule of thumb starts at a tenth of it); ``diverged`` says
    whether the sweep stopped early. Reference: Smith (2017), "Cyclical learning rates for training
    neural networks", WACV, section 3.3. Taught in: Part II, Choosing the initial learning rate.

    >>> RangeTestResult(lrs=[1e-3, 1e-2], losses=[1.0, 0.5], suggestion=1e-2).suggestion
    0.01
    """

    lrs: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    raw_losses: list = field(default_factory=list)
    suggestion: Optional[float] = None
    min_loss_lr: Optional[float] = None
    diverged: bool = False

    def plot(self, ax=None):
        """Smoothed loss against the learning rate (log scale), the suggestion marked; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        ax.plot(self.lrs, self.losses, label="smoothed loss")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss (smoothed)")
        if self.suggestion is not None:
            ax.axvline(self.suggestion, color="C3", linestyle="--", label=f"suggestion {self.suggestion:.2g}")
        ax.set_title("Learning-rate range test")
        ax.legend()
        return ax


def lr_range_test(model: torch.nn.Module, train_loader: Iterable, loss_fn: Callable,
                  optimizer: torch.optim.Optimizer, start_lr: float = 1e-7, end_lr: float = 10.0,
                  num_steps: int = 100, smoothing: float = 0.98,
                  diverge_factor: float = 4.0, skip_start: Optional[int] = None,
                  skip_end: int = 5) -> RangeTestResult:
    """Sweep the learning rate exponentially over training steps and record the smoothed loss.

    .. math::
        \\begin{gathered}
        \\eta_i = \\eta_{start}\\,(\\eta_{end}/\\eta_{start})^{i/(N-1)}, \\\\
        m_i = \\beta m_{i-1} + (1-\\beta) L_i, \\\\
        \\hat L_i = \\frac{m_i}{1 - \\beta^{i+1}}
        \\end{gathered}

    where :math:`L_i` is the loss of step :math:`i` (trained at :math:`\\eta_i`), :math:`m_{-1} = 0`,
    :math:`\\beta` is ``smoothing`` and :math:`N` is ``num_steps`` (the loader is cycled if it is
    shorter). The sweep stops after the first :math:`\\hat L_i > \\kappa \\min_{j \\le i} \\hat L_j`
    (:math:`\\kappa` = ``diverge_factor``) or a non-finite loss. The suggestion is
    :math:`\\eta_{i^*}`, :math:`i^* = \\arg\\min_{s \\le i < n - e} \\, d\\hat L / d\\log\\eta` (central
    differences, ``numpy.gradient``) over the n recorded points without the first s = ``skip_start``
    and the last e = ``skip_end``: the first points' average still moves with minibatch noise, and the
    last ones climb into divergence (fastai's finder drops the same ends). All parameter groups get the
    same :math:`\\eta_i`. Afterwards the model, its gradients and training mode, the optimizer and the
    RNGs are exactly as before.

    Optimizers with ``train()``/``eval()`` (Schedule-Free) are swept in train mode (the loss is that of
    the points :math:`y_t` where gradients are taken) and left in the mode they were in; with
    ``warmup_steps > 0`` they are refused (the warmup rescales the swept lr). Prodigy (and any optimizer
    with a D-adaptation estimate ``d0``) is refused: its step is :math:`d\\,\\mathrm{lr}` with
    :math:`d` learned online from a tiny :math:`d_0`, so the sweep would trace the growth of :math:`d`.

    Args:
        model, train_loader, loss_fn, optimizer: as for :func:`~dsat_tutorial.training.fit`.
        start_lr: first lr, > 0. end_lr: last lr, > ``start_lr``.
        num_steps: :math:`N \\ge 3`. smoothing: :math:`\\beta \\in [0, 1)`.
        diverge_factor: :math:`\\kappa > 1`.
        skip_start: points ignored at the start of the sweep for the suggestion (integer >= 0; default
            ``max(1, num_steps // 10)``). skip_end: points ignored at the end (integer >= 0).

    Returns:
        :class:`RangeTestResult` with ``lrs``, ``losses`` (smoothed), ``raw_losses``, ``suggestion``.

    Raises:
        ValueError: invalid arguments, or an optimizer the sweep cannot measure (see above).

    Reference: L. N. Smith, "Cyclical learning rates for training neural networks", WACV 2017, sec. 3.3;
    the exponential sweep and bias-corrected smoothing as in S. Gugger's fastai finder. Corrects ERRATA
    002-E5. Taught in: Part II, Choosing the initial learning rate.

    >>> from dsat_tutorial.data import make_loaders, sine_forecast
    >>> from dsat_tutorial.models import SequenceRegressor
    >>> task = sine_forecast(256, 16, seed=0); _ = torch.manual_seed(0)
    >>> train, _ = make_loaders(task.X, task.y, batch_size=32, seed=0)
    >>> model = SequenceRegressor(1, 16); opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    >>> before = [p.clone() for p in model.parameters()]
    >>> result = lr_range_test(model, train, torch.nn.MSELoss(), opt, 1e-5, 10.0, num_steps=40)
    >>> result.lrs[0] <= result.suggestion <= result.lrs[-1], all(torch.equal(a, b) for a, b in
    ...     zip(before, model.parameters())), opt.param_groups[0]["lr"]
    (True, True, 0.001)
    """
    start_lr = check_positive("start_lr", start_lr)
    end_lr = check_range("end_lr", end_lr, start_lr, math.inf, low_closed=False)
    num_steps = check_int("num_steps", num_steps, minimum=3)
    smoothing = check_range("smoothing", smoothing, 0.0, 1.0, high_closed=False)
    diverge_factor = check_range("diverge_factor", diverge_factor, 1.0, math.inf, low_closed=False)
    skip_start = max(1, num_steps // 10) if skip_start is None else check_int("skip_start", skip_start,
                                                                                  minimum=0)
    skip_end = check_int("skip_end", skip_end, minimum=0)
    check_range_test_optimizer(optimizer)
    saved = _save(model, optimizer, train_loader)
    try:
        result = _sweep(model, train_loader, loss_fn, optimizer, start_lr, end_lr, num_steps, smoothing,
                        diverge_factor)
    finally:
        _restore(saved, model, optimizer, train_loader)
    if len(result.lrs) >= 3:
        result.suggestion = steepest_descent_lr(result.lrs, result.losses, skip_start, skip_end)
        result.min_loss_lr = float(result.lrs[int(np.argmin(result.losses))])
    return result


def steepest_descent_lr(lrs, losses, skip_start: int = 0, skip_end: int = 0) -> float:
    r"""The lr where the loss falls fastest against log lr, ignoring ``skip_start`` / ``skip_end`` points.

    .. math::
        \begin{gathered}
        i^* = \operatorname*{arg\,min}_{s \le i < n - e} \frac{d L}{d \log \eta}\Big|_i, \\
        \text{returns } \eta_{i^*}
        \end{gathered}

    where :math:`L_i` and :math:`\eta_i` are ``losses`` and ``lrs`` (n points), the derivative is
    ``numpy.gradient``'s (central differences inside, one-sided at the ends), :math:`s` is ``skip_start``
    and :math:`e` is ``skip_end``. The window shrinks to keep at least one point when the sweep is short
    (it stopped early).

    Reference: Smith (2017), WACV, section 3.3; fastai's ``lr_find`` (steepest point, trimmed ends).
    Taught in: Part II, Choosing the initial learning rate.

    >>> steepest_descent_lr([1e-3, 1e-2, 1e-1, 1.0], [1.0, 0.9, 0.3, 0.2])
    0.1
    >>> steepest_descent_lr([1e-3, 1e-2, 1e-1, 1.0], [9.0, 0.9, 0.3, 0.2], skip_start=2)  # noisy start ignored
    0.1
    """
    slope = np.gradient(np.asarray(losses, dtype=float), np.log(np.asarray(lrs, dtype=float)))
    lo = min(skip_start, len(slope) - 1)
    hi = max(lo + 1, len(slope) - skip_end)
    return float(lrs[lo + int(np.argmin(slope[lo:hi]))])


def _sweep(model, loader, loss_fn, optimizer, start_lr, end_lr, num_steps, smoothing, diverge_factor):
    device = next(model.parameters()).device
    result, avg, best = RangeTestResult(), 0.0, math.inf
    batches = iter(loader)
    model.train()
    if has_modes(optimizer):  # Schedule-Free steps only in train mode; _restore puts its mode back
        optimizer.train()
    for i in range(num_steps):
        lr = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))
        try:
            x, y = next(batches)
        except StopIteration:  # cycle the loader
            batches = iter(loader)
            x, y = next(batches)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x.to(device)), y.to(device))
        raw = loss.item()
        if not math.isfinite(raw):
            result.diverged = True
            break
        loss.backward()
        optimizer.step()
        avg = smoothing * avg + (1.0 - smoothing) * raw
        smoothed = avg / (1.0 - smoothing ** (i + 1))  # bias correction
        result.lrs.append(lr)
        result.losses.append(smoothed)
        result.raw_losses.append(raw)
        best = min(best, smoothed)
        if smoothed > diverge_factor * best:
            result.diverged = True
            break
    return result


def _save(model, optimizer, loader) -> dict:
    return {"model": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "grads": [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()],
            "training": model.training, "optimizer": copy.deepcopy(optimizer.state_dict()),
            "train_mode": getattr(optimizer, "train_mode", None),  # ScheduleFreeWrapper keeps it here
            "rng": ckpt.capture_rng(), "loader": [g.get_state() for g in ckpt.loader_generators(loader)]}


def _restore(saved: dict, model, optimizer, loader) -> None:
    model.load_state_dict(saved["model"])
    for p, g in zip(model.parameters(), saved["grads"]):
        p.grad = g
    model.train(saved["training"])
    optimizer.load_state_dict(saved["optimizer"])
    if saved["train_mode"] is not None:
        optimizer.train_mode = saved["train_mode"]
    ckpt.restore_rng(saved["rng"])
    for gen, state in zip(ckpt.loader_generators(loader), saved["loader"]):
        gen.set_state(state)
