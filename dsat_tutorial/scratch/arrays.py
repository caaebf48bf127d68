"""Argument checks shared by the NumPy RNN's forward pass and its BPTT: arrays with the right shape.

What it is: two helpers that turn whatever the caller passed into float64 arrays, or raise a
``ValueError`` that names the argument and the expected shape (the sources' shape bugs, 004-E14/E15,
are the reason every boundary is checked). What it is not: a general validation library
(:mod:`dsat_tutorial._validation` checks scalars).
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_float_array", "check_cache"]


def as_float_array(name: str, a, *, ndim: int | None = None, shape: tuple | None = None,
                    last: int | None = None, last_name: str = "") -> np.ndarray:
    """``a`` as a float64 array, with a ``ValueError`` naming it when its shape is wrong."""
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of real numbers, got {type(a).__name__}") from err
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D (batch, time, features), got shape {a.shape}")
    if last is not None and a.shape[-1] != last:
        raise ValueError(f"{name} must have {last_name}={last} features in its last axis, got shape "
                         f"{a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {a.shape}")
    return a


def check_cache(cache, D: int, H: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(X (T, B, D), H (T + 1, B, H))`` arrays of a cache made by :meth:`RNN.forward`."""
    if not isinstance(cache, dict) or set(cache) != {"X", "H"}:
        raise ValueError("cache must be the dict returned by RNN.forward (keys 'X' and 'H')")
    X, Hs = cache["X"], cache["H"]
    if X.ndim != 3 or X.shape[2] != D or Hs.shape != (X.shape[0] + 1, X.shape[1], H):
        raise ValueError(f"cache does not match this RNN: cache['X'] {X.shape} should be (T, B, {D}) "
                         f"and cache['H'] {Hs.shape} should be (T + 1, B, {H})")
    return X, Hs
