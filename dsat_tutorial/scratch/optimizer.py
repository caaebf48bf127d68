r"""The machinery the NumPy optimizers of :mod:`dsat_tutorial.scratch.optim` share, and gradient clipping.

What it is: the optimizer base class (argument checks, lazily created per-parameter state,
``state_dict``/``load_state_dict`` as plain data), torch.lerp's in-place form, and
:func:`clip_grad_norm_` -- ``torch.nn.utils.clip_grad_norm_`` for a dict of NumPy gradients.
What it is not: an update rule (those are in ``optim.py``).

References: ``torch/optim/optimizer.py`` (state layout), ``torch/nn/utils/clip_grad.py``; Pascanu,
Mikolov & Bengio, ICML 2013 (clipping).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive

__all__ = ["clip_grad_norm_"]


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start += weight * (end - start)`` in place, in torch.lerp's two numerically stable forms."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1.0 - weight)


class _Optimizer:
    """Shared bookkeeping: argument checks, lazily created per-parameter state, (de)serialisation."""

    _hyper: tuple[str, ...] = ()

    def __init__(self, **hyper) -> None:
        self._set_hyper(**hyper)
        self.state: dict[str, dict[str, np.ndarray]] = {}  # {param name: {slot: array}}
        self.steps = 0  # number of step() calls so far; step t of the formulas is steps after the call

    def __repr__(self) -> str:
        args = ", ".join(f"{h}={getattr(self, h)!r}" for h in self._hyper)
        return f"{type(self).__name__}({args})"

    def _set_hyper(self, **hyper) -> None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def _slots(self) -> set[str]:
        """Names of the per-parameter state arrays (torch's state keys) for these hyperparameters."""
        raise NotImplementedError  # pragma: no cover

    def _update(self, p: np.ndarray, g: np.ndarray, st: dict) -> None:
        raise NotImplementedError  # pragma: no cover

    def step(self, params: dict, grads: dict) -> None:
        """Apply one update to every array of ``params`` in place, using ``grads`` (same keys, shapes)."""
        _check_params(params, grads)
        if self.state and set(self.state) != set(params):
            raise ValueError(f"params keys {sorted(params)} differ from the keys this optimizer has "
                             f"state for {sorted(self.state)}")
        for name, p in params.items():
            for slot, arr in self.state.get(name, {}).items():
                if arr.shape != p.shape:
                    raise ValueError(f"state[{name!r}][{slot!r}] has shape {arr.shape} but params"
                                     f"[{name!r}] has shape {p.shape}")
        if not self.state:
            self.state = {name: {} for name in params}
        self.steps += 1
        for name, p in params.items():
            self._update(p, np.asarray(grads[name], dtype=p.dtype), self.state[name])

    def state_dict(self) -> dict:
        """Hyperparameters, step count and state as plain Python data (lists; JSON- and torch-safe)."""
        hyper = {h: list(v) if isinstance(v, tuple) else v for h, v in
                 ((h, getattr(self, h)) for h in self._hyper)}
        return {"hyperparams": hyper, "steps": self.steps,
                "state": {n: {s: a.tolist() for s, a in st.items()} for n, st in self.state.items()}}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` saved (hyperparameters included, as in torch.optim)."""
        if not isinstance(state_dict, dict) or set(state_dict) != {"hyperparams", "steps", "state"}:
            raise ValueError("state_dict must have exactly the keys 'hyperparams', 'steps', 'state'")
        hyper = state_dict["hyperparams"]
        if not isinstance(hyper, dict) or set(hyper) != set(self._hyper):
            got = sorted(hyper) if isinstance(hyper, dict) else hyper
            raise ValueError(f"state_dict['hyperparams'] must have the keys {sorted(self._hyper)} of "
                             f"{type(self).__name__}, got {got}")
        self._set_hyper(**{h: tuple(v) if isinstance(v, list) else v for h, v in hyper.items()})
        steps = state_dict["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"state_dict['steps'] must be an integer >= 0, got {steps!r}")
        if not isinstance(state_dict["state"], dict):
            raise ValueError("state_dict['state'] must be a dict {param name: {slot: values}}")
        state = {}
        for name, st in state_dict["state"].items():
            if not isinstance(st, dict) or set(st) != self._slots():
                raise ValueError(f"state for {name!r} must have the keys {sorted(self._slots())}, got "
                                 f"{sorted(st) if isinstance(st, dict) else st!r}")
            state[name] = {s: np.array(v, dtype=np.float64) for s, v in st.items()}
            if len({a.shape for a in state[name].values()}) > 1:
                raise ValueError(f"state arrays for {name!r} have different shapes")
        self.state, self.steps = state, steps


def _check_params(params: dict, grads: dict) -> None:
    if not isinstance(params, dict) or not isinstance(grads, dict):
        raise ValueError("params and grads must be dicts of arrays")
    if set(params) != set(grads):
        raise ValueError(f"grads keys {sorted(grads)} must match params keys {sorted(params)} "
                         "(drop the RNN's 'h0' gradient with grads.pop('h0'))")
    for name, p in params.items():
        if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
            raise ValueError(f"params[{name!r}] must be a float numpy array (updated in place)")
        if np.shape(grads[name]) != p.shape:
            raise ValueError(f"grads[{name!r}] has shape {np.shape(grads[name])} but params[{name!r}] "
                             f"has shape {p.shape}")


def clip_grad_norm_(grads: dict, max_norm: float) -> float:
    r"""Rescale a dict of gradients in place so that their global norm is at most ``max_norm``.

    .. math::

        \begin{gathered}
        n = \Big(\sum_k \|g_k\|_F^2\Big)^{1/2}, \\
        g_k \leftarrow g_k \cdot \min\Big(1, \frac{c}{n + 10^{-6}}\Big)
        \end{gathered}

    where k runs over the dict's entries and c is ``max_norm`` -- exactly
    ``torch.nn.utils.clip_grad_norm_`` (the 1e-6 included). The direction of the update is kept.

    Returns:
        float: the global norm n before clipping (log it; its history is what AutoClip and the
        health monitor of Part IV use).

    Corrects: 004-E17 (no clipping). Reference: Pascanu, Mikolov & Bengio, ICML 2013, Algorithm 1.
    Taught in: Part I, Vanishing and exploding gradients.

    >>> g = {"a": np.array([3.0]), "b": np.array([[4.0]])}
    >>> clip_grad_norm_(g, max_norm=1.0), round(float(g["a"][0]), 6), round(float(g["b"][0, 0]), 6)
    (5.0, 0.6, 0.8)
    """
    max_norm = check_positive("max_norm", max_norm)
    if not isinstance(grads, dict) or not all(isinstance(g, np.ndarray) for g in grads.values()):
        raise ValueError("grads must be a dict of numpy arrays (they are rescaled in place)")
    total = float(np.linalg.norm([np.linalg.norm(g) for g in grads.values()])) if grads else 0.0
    coef = np.minimum(max_norm / (total + 1e-6), 1.0)  # a NaN norm propagates, as in torch
    if coef != 1.0:
        for g in grads.values():
            g *= coef
    return total
