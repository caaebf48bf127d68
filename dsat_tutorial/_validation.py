"""Argument checks shared by the package: every invalid hyperparameter raises ``ValueError``
naming the argument, the allowed range and the value received.

Internal module (no public API). Each helper returns the validated value so constructors can write
``self.lr = check_nonneg("lr", lr)``. What it is not: type checking (bools are rejected as numbers,
nothing else is coerced).

References: PyTorch's optimizers and schedulers, which reject invalid hyperparameters with
``ValueError`` ("Invalid learning rate: ...").
"""

from __future__ import annotations

import math
import numbers


def _fmt(value: object) -> str:
    return repr(value)


def check_real(name: str, value: object) -> float:
    """``value`` must be a finite real number (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number, got {_fmt(value)}")
    return float(value)


def check_nonneg(name: str, value: object) -> float:
    """``value`` must be finite and >= 0 (e.g. a learning rate)."""
    v = check_real(name, value)
    if v < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {_fmt(value)}")
    return v


def check_positive(name: str, value: object) -> float:
    """``value`` must be finite and > 0."""
    v = check_real(name, value)
    if v <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {_fmt(value)}")
    return v


def check_range(name: str, value: object, low: float, high: float, *,
                low_closed: bool = True, high_closed: bool = True) -> float:
    """``value`` must lie in the interval from ``low`` to ``high`` (closed or open at each end).

    >>> check_range("rate", 0.5, 0.0, 1.0, low_closed=False)
    0.5
    >>> check_range("rate", 0.0, 0.0, 1.0, low_closed=False)
    Traceback (most recent call last):
    ...
    ValueError: rate must be in (0, 1], got 0.0
    """
    v = check_real(name, value) if math.isfinite(high) else _check_real_or_inf(name, value)
    ok_low = v >= low if low_closed else v > low
    ok_high = v <= high if high_closed else v < high
    if not (ok_low and ok_high):
        interval = f"{'[' if low_closed else '('}{_num(low)}, {_num(high)}{']' if high_closed else ')'}"
        raise ValueError(f"{name} must be in {interval}, got {_fmt(value)}")
    return v


def _check_real_or_inf(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(float(value)):
        raise ValueError(f"{name} must be a real number, got {_fmt(value)}")
    return float(value)


def _num(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"


def check_int(name: str, value: object, *, minimum: int = 1) -> int:
    """``value`` must be an integer >= ``minimum`` (bools and floats such as 2.0 are rejected).

    >>> check_int("every", 3)
    3
    >>> check_int("warmup_steps", -1, minimum=0)
    Traceback (most recent call last):
    ...
    ValueError: warmup_steps must be an integer >= 0, got -1
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {_fmt(value)}")
    return int(value)


def check_choice(name: str, value: object, choices: tuple) -> object:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, got {_fmt(value)}")
    return value


def _is_tensor(value: object) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "dtype") and hasattr(value, "numel")


def check_signal(name: str, value: object) -> float:
    """A controller's signal: a real number (int, float, NumPy scalar) or a one-element tensor.

    NaN and inf pass (the controllers count and ignore them); bools, strings and other objects raise
    ``ValueError`` naming the argument. A tensor that requires grad is read without autograd.

    >>> check_signal("signal", 2)
    2.0
    >>> check_signal("signal", True)
    Traceback (most recent call last):
    ...
    ValueError: signal must be a real number or a one-element tensor, got True (bool)
    """
    if _is_tensor(value):
        if value.numel() == 1 and (value.dtype.is_floating_point or not (value.dtype.is_complex or
                                                                           str(value.dtype) == "torch.bool")):
            return float(value.detach())
    elif not isinstance(value, bool) and isinstance(value, numbers.Real) and \
            type(value).__name__ not in ("bool_", "bool"):
        return float(value)
    raise ValueError(f"{name} must be a real number or a one-element tensor, got {_fmt(value)} "
                     f"({type(value).__name__})")


def check_step(name: str, value: object) -> int:
    """A step: an integer >= 0 -- a Python or NumPy integer, or an integer 0-d tensor (bools rejected).

    >>> import torch
    >>> check_step("step", torch.tensor(3)), check_step("step", 3)
    (3, 3)
    """
    if _is_tensor(value) and value.dim() == 0 and not value.dtype.is_floating_point \
            and not value.dtype.is_complex and str(value.dtype) != "torch.bool":
        value = int(value.item())
    return check_int(name, value, minimum=0)
