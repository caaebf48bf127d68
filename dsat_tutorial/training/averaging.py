"""Iterate averaging inside ``fit``: a callback that updates a ``torch.optim.swa_utils.AveragedModel``.

Public name: :class:`AverageParameters` (re-exported by :mod:`dsat_tutorial.training`). Pass the
averaged model to ``fit`` as ``eval_model`` and ``fit`` validates it, keeps its best state, rewinds it
with rollbacks and checkpoints it.

What it is not: an averager. The average itself (uniform as in SWA, exponential, or the polynomial-decay
average the DoG authors use) is PyTorch's ``AveragedModel`` with its ``avg_fn``/``multi_avg_fn``;
BatchNorm statistics of the average are not recomputed (``torch.optim.swa_utils.update_bn`` does that;
use ``use_buffers=True`` to average buffers instead).

References: P. Izmailov et al., "Averaging weights leads to wider optima and better generalization",
UAI 2018 (SWA); B. T. Polyak and A. B. Juditsky, "Acceleration of stochastic approximation by
averaging", SIAM J. Control Optim. 1992; M. Ivgi, O. Hinder and Y. Carmon, "DoG is SGD's best friend",
ICML 2023 (section 5: averaged iterates).
"""

from __future__ import annotations

__all__ = ["AverageParameters"]


class AverageParameters:
    """``fit`` callback: ``averaged.update_parameters(model)`` after every successful optimizer step.

    .. math::
        \\bar\\theta_t = \\bar\\theta_{t-1} + \\frac{\\theta_t - \\bar\\theta_{t-1}}{t}
        \\quad (\\bar\\theta_1 = \\theta_1)

    is ``AveragedModel``'s default (the uniform average of the iterates :math:`\\theta_t` seen after each
    step); any ``avg_fn``/``multi_avg_fn`` given to the ``AveragedModel`` replaces it. Steps skipped as
    non-finite never reach the average; a rollback rewinds it when it is also ``fit``'s ``eval_model``.

    Args:
        averaged: a ``torch.optim.swa_utils.AveragedModel`` of the trained model.
        start_step: first global step (from 0) whose iterate enters the average (>= 0), as SWA starts
            averaging late in training.

    Reference: PyTorch ``torch.optim.swa_utils``; Izmailov et al. (2018). Taught in: Part III,
    Learning-rate-free training.

    >>> import torch
    >>> from torch.optim.swa_utils import AveragedModel
    >>> model = torch.nn.Linear(1, 1, bias=False); averaged = AveragedModel(model)
    >>> callback = AverageParameters(averaged)
    >>> class State: step = 0; model = None
    >>> state = State(); state.model = model
    >>> for w in (1.0, 2.0, 6.0):
    ...     _ = model.weight.data.fill_(w); callback.on_step_end(state)
    >>> averaged.module.weight.item(), int(averaged.n_averaged)
    (3.0, 3)
    """

    def __init__(self, averaged, start_step: int = 0):
        from torch.optim.swa_utils import AveragedModel

        from .._validation import check_int

        if not isinstance(averaged, AveragedModel):
            raise ValueError(f"averaged must be a torch.optim.swa_utils.AveragedModel, "
                             f"got {type(averaged).__name__}")
        self.averaged = averaged
        self.start_step = check_int("start_step", start_step, minimum=0)

    def on_step_end(self, state) -> None:
        if state.step >= self.start_step:
            self.averaged.update_parameters(state.model)

    def __repr__(self) -> str:
        return f"AverageParameters(start_step={self.start_step})"
