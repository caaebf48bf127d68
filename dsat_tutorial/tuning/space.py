r"""Search spaces for random search: log-uniform, uniform, integer and categorical distributions.

What it is: frozen dataclasses that validate their bounds once and draw with a NumPy generator
(``sample(rng)``); :func:`~dsat_tutorial.tuning.random_search` draws from them. What it is not: a
sampler with memory (TPE, CMA-ES: see Optuna).

References: J. Bergstra and Y. Bengio, "Random search for hyper-parameter optimization", JMLR 13, 2012.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from .._validation import check_int, check_positive, check_real

__all__ = ["LogUniform", "Uniform", "IntUniform", "Choice", "DISTRIBUTIONS"]


def as_values(name: str, vals: object) -> list:
    """A non-empty list from a list, tuple, range or 1-D array (numbers as Python scalars)."""
    if isinstance(vals, np.ndarray) and vals.ndim == 1:
        vals = vals.tolist()
    if isinstance(vals, (str, bytes, Mapping, np.ndarray)) or not isinstance(vals, Iterable) \
            or len(vals := list(vals)) == 0:
        raise ValueError(f"{name} must be a non-empty list of values, got {vals!r}")
    return vals


@dataclass(frozen=True)
class LogUniform:
    r"""Log-uniform distribution on ``[low, high]``: equal mass per decade (learning rates, weight decay).

    .. math::

        \begin{gathered}
        p(x) = \frac{1}{x \ln(b / a)}, \quad a \le x \le b, \\
        x = e^{u},\ u \sim \mathcal{U}(\ln a, \ln b)
        \end{gathered}

    where :math:`a` = ``low`` > 0 and :math:`b` = ``high`` >= ``low``. Samples are clamped to
    ``[low, high]`` against rounding in ``exp(log(high))``. Reference: Bergstra & Bengio (2012), §2.

    Taught in: Part I, Hyperparameter search.

    >>> x = LogUniform(1e-4, 1e-1).sample(np.random.default_rng(0))
    >>> 1e-4 <= x <= 1e-1
    True
    """

    low: float
    high: float

    def __post_init__(self):
        check_positive("low", self.low)
        if check_real("high", self.high) < self.low:
            raise ValueError(f"high must be >= low = {self.low!r}, got {self.high!r}")

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, as a Python float, from the NumPy generator ``rng``."""
        x = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return min(max(x, float(self.low)), float(self.high))


@dataclass(frozen=True)
class Uniform:
    r"""Uniform distribution on ``[low, high]``: :math:`p(x) = 1/(b - a)` for :math:`a \le x \le b`,
    where :math:`a` = ``low`` and :math:`b` = ``high`` (finite, ``high >= low``). As in NumPy, ``high``
    itself is reached only through floating-point rounding. Reference: Bergstra & Bengio (2012).

    Taught in: Part I, Hyperparameter search.

    >>> 0.0 <= Uniform(0.0, 0.5).sample(np.random.default_rng(0)) <= 0.5
    True
    """

    low: float
    high: float

    def __post_init__(self):
        check_real("low", self.low)
        if check_real("high", self.high) < self.low:
            raise ValueError(f"high must be >= low = {self.low!r}, got {self.high!r}")

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, as a Python float, from the NumPy generator ``rng``."""
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class IntUniform:
    """Uniform distribution on the integers ``low, ..., high`` (both inclusive):
    :math:`P(k) = 1/(b - a + 1)`, where :math:`a` = ``low`` and :math:`b` = ``high`` >= ``low``
    (e.g. the number of layers). Reference: Bergstra & Bengio (2012).

    Taught in: Part I, Hyperparameter search.

    >>> sorted({IntUniform(1, 3).sample(np.random.default_rng(s)) for s in range(50)})
    [1, 2, 3]
    """

    low: int
    high: int

    def __post_init__(self):
        if isinstance(self.low, bool) or not isinstance(self.low, numbers.Integral):
            raise ValueError(f"low must be an integer, got {self.low!r}")
        check_int("high", self.high, minimum=self.low)

    def sample(self, rng: np.random.Generator) -> int:
        """One draw, as a Python int, from the NumPy generator ``rng``."""
        return int(rng.integers(self.low, self.high, endpoint=True))


@dataclass(frozen=True)
class Choice:
    """Categorical distribution, uniform over ``options``: :math:`P(o_i) = 1/m` for :math:`m` options.

    ``options`` is stored as a tuple (the dataclass is frozen); a sample is the option object itself.
    Reference: Bergstra & Bengio (2012).

    Taught in: Part I, Hyperparameter search.

    >>> Choice(["tanh", "relu"]).sample(np.random.default_rng(0)) in ("tanh", "relu")
    True
    """

    options: tuple

    def __post_init__(self):
        object.__setattr__(self, "options", tuple(as_values("options", self.options)))

    def sample(self, rng: np.random.Generator) -> Any:
        """One option (the object itself), drawn with the NumPy generator ``rng``."""
        return self.options[int(rng.integers(len(self.options)))]


DISTRIBUTIONS = (LogUniform, Uniform, IntUniform, Choice)
