"""Real data loaded offline: scikit-learn's handwritten digits as row sequences, and the monthly
S&P 500 index shipped in ``dsat_tutorial/data/datasets/`` (source and licence in its ``README.md``).

Internal module: import the public names from :mod:`dsat_tutorial.data`. Nothing here touches the
network: the digits ship inside scikit-learn, the series inside this package. What it is not: a
downloader -- there is no network at build, test or run time.

References:
    Alpaydin, E. & Kaynak, C. (1998). Optical Recognition of Handwritten Digits. UCI Machine Learning
    Repository, doi:10.24432/C50P49 (the 8x8 version shipped by scikit-learn's ``load_digits``).
    S&P 500 monthly closes 1990-01 to 2022-06, Yahoo Finance, as shipped in matplotlib's sample data.
    Hyndman, R. J. & Athanasopoulos, G. (2021). Forecasting: Principles and Practice, 3rd ed., OTexts,
    sections 5.2 (naive/persistence forecast) and 5.10 (evaluation on a rolling origin).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from .task import Task, baseline_loss
from .._validation import check_choice, check_int, check_range

__all__ = ["load_digit_sequences", "load_sp500", "SeriesSplit"]

SP500_CSV = Path(__file__).resolve().parent / "datasets" / "sp500_monthly.csv"


def load_digit_sequences() -> Task:
    """The 1797 handwritten 8x8 digits of scikit-learn, read row by row as 8-step sequences.

    .. math::

        \\begin{gathered}
        X_{i,t,j} = \\frac{P_{i,t,j}}{16} \\in [0, 1], \\\\
        t, j = 0, \\dots, 7,
        \\end{gathered}

    where :math:`P_{i,t,j} \\in \\{0, \\dots, 16\\}` is the pixel count in row :math:`t`, column
    :math:`j` of image :math:`i`. The scaling uses the format's fixed range (16), not statistics of
    the data, so it leaks nothing across a split. The constant predictor (the class frequencies)
    scores cross-entropy close to :math:`\\ln 10 \\approx 2.30`.

    Returns:
        :class:`~dsat_tutorial.data.Task` with ``X`` float32 ``(1797, 8, 8)`` (N, T=rows, F=columns),
        ``y`` int64 ``(1797,)`` in 0..9, ``loss="cross_entropy"``. Split it with
        :func:`~dsat_tutorial.data.make_loaders` (random split: the samples are exchangeable).

    Reference: Alpaydin & Kaynak (1998), via ``sklearn.datasets.load_digits`` (shipped on disk).
    Taught in: Part IV, The DS&T loop on real data.

    >>> task = load_digit_sequences()
    >>> tuple(task.X.shape), task.y.dtype, float(task.X.max()), round(task.baseline_loss, 2)
    ((1797, 8, 8), torch.int64, 1.0, 2.3)
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = torch.from_numpy((digits.images / 16.0).astype(np.float32))  # (N, 8, 8)
    y = torch.from_numpy(digits.target.astype(np.int64))  # (N,)
    return Task(X, y, baseline_loss(y, "cross_entropy"), "cross_entropy",
                "digit 0-9 from the 8 rows of an 8x8 image, read top to bottom")


@dataclass(frozen=True, eq=False)
class SeriesSplit:
    """A time-ordered train/validation split of forecasting windows, scaled with training statistics.

    .. math::

        \\begin{gathered}
        z_t = \\frac{v_t - \\text{mean}}{\\text{std}}, \\\\
        \\begin{aligned}
        &\\text{persistence\\_loss} \\\\
        &\\quad = \\frac{1}{n_{val}} \\sum_{i \\in val} (z_{i+T-1} - z_{i+T})^2
        \\end{aligned}
        \\end{gathered}

    where :math:`v_t` is the series value (log price or log return) of month :math:`t`, ``mean`` and
    ``std`` are computed on the values the training windows touch, and window :math:`i` has inputs
    :math:`z_i .. z_{i+T-1}` and target :math:`z_{i+T}` (see :func:`load_sp500`).

    Attributes:
        train: :class:`~dsat_tutorial.data.Task` of the first windows (``X`` ``(N_tr, T, 1)``,
            ``y`` ``(N_tr, 1)``), its ``baseline_loss`` the variance of its targets.
        val: the later windows; its ``baseline_loss`` is the MSE of predicting the *training*
            targets' mean, the only constant a forecaster could have known.
        mean, std: the scaler, :math:`z = (v - \\text{mean}) / \\text{std}`, computed from the
            series values the training windows touch (inputs and targets) only.
        persistence_loss: validation MSE of the naive forecast "next = last value of the window",
            the reference a trending series must be compared with.
        train_dates, val_dates: the date of each window's target (ISO strings, time order).

    Reference: Hyndman & Athanasopoulos (2021), sections 5.2 (naive forecast) and 5.10.
    Taught in: Part I, Hyperparameter search (time-series cross-validation).

    >>> split = load_sp500(seq_len=12)
    >>> torch.allclose(split.inverse_transform(split.train.X[0, :, 0]).exp()[:2],
    ...                torch.tensor([329.08, 331.89]), rtol=1e-4)
    True
    >>> split.persistence_loss < split.val.baseline_loss  # a trending series: "no change" beats the mean
    True
    """

    train: Task
    val: Task
    mean: float
    std: float
    persistence_loss: float
    train_dates: tuple[str, ...]
    val_dates: tuple[str, ...]

    def inverse_transform(self, z: torch.Tensor) -> torch.Tensor:
        """Undo the scaling: :math:`v = z \\cdot \\text{std} + \\text{mean}`."""
        return z * self.std + self.mean

    def loaders(self, batch_size: int = 32, seed: int = 0,
                shuffle: bool = True) -> tuple[DataLoader, DataLoader]:
        """``(train_loader, val_loader)``: training windows reshuffled from a generator seeded with
        ``seed``; validation windows in time order, unshuffled (``num_workers=0``)."""
        batch_size, seed = check_int("batch_size", batch_size), check_int("seed", seed, minimum=0)
        train = DataLoader(TensorDataset(self.train.X, self.train.y), batch_size=batch_size,
                           shuffle=bool(shuffle), generator=torch.Generator().manual_seed(seed))
        return train, DataLoader(TensorDataset(self.val.X, self.val.y), batch_size=batch_size)


def _read_sp500() -> tuple[np.ndarray, np.ndarray]:
    dates = np.loadtxt(SP500_CSV, delimiter=",", skiprows=2, usecols=0, dtype=str)
    close = np.loadtxt(SP500_CSV, delimiter=",", skiprows=2, usecols=1, dtype=np.float64)
    return dates, close


def load_sp500(seq_len: int = 12, val_fraction: float = 0.2, target: str = "log_price") -> SeriesSplit:
    """Monthly S&P 500 closes (1990-01 to 2022-06, 390 months) as forecasting windows, split in time.

    .. math::

        \\begin{gathered}
        v_t = \\log p_t \\\\
        (\\text{or } r_t = \\log p_t - \\log p_{t-1}), \\\\
        X_i = (z_i, \\dots, z_{i+T-1}), \\quad y_i = z_{i+T}, \\\\
        z_t = \\frac{v_t - \\mu_{tr}}{\\sigma_{tr}},
        \\end{gathered}

    where :math:`p_t` is the close of month :math:`t`, :math:`T` is ``seq_len`` and
    :math:`\\mu_{tr}, \\sigma_{tr}` are the mean and (population) standard deviation of the values
    :math:`v_0, \\dots, v_{n_{tr}+T-1}` that the :math:`n_{tr}` training windows touch. Windows
    :math:`0..n_{tr}-1` train, the last :math:`n_{val} = \\max(1, \\operatorname{round}(\\rho\\,
    n_{win}))` validate (the split of ``split_indices(n_win, val_fraction, time_ordered=True)``), so
    every validation target is later than every value used for training or scaling. Validation
    inputs do reach back into the training period: a forecaster may use the past.

    What to expect: ``"log_price"`` trends upwards, so the validation block lies above the training
    range and the training-mean baseline is weak; compare with ``persistence_loss`` (the naive
    forecast). ``"log_return"`` is close to unpredictable at a monthly horizon (a linear AR(12) fitted
    on the training block scores about 1.02 x the baseline on validation): a model that "beats" it
    by much is overfitting the validation block.

    Args:
        seq_len: window length T in months (>= 1).
        val_fraction: :math:`\\rho \\in (0, 1)`, share of windows in the validation block.
        target: ``"log_price"`` or ``"log_return"``.

    Returns:
        :class:`SeriesSplit` with float32 ``X`` ``(N, T, 1)`` and ``y`` ``(N, 1)`` for each split.

    Reference: data from Yahoo Finance via matplotlib's sample data (``datasets/README.md``);
    Hyndman & Athanasopoulos (2021), sections 5.2 and 5.10.
    Taught in: Part I, Hyperparameter search (time-series cross-validation).

    >>> split = load_sp500(seq_len=12, val_fraction=0.2)
    >>> tuple(split.train.X.shape), tuple(split.val.y.shape), split.val_dates[0] > split.train_dates[-1]
    ((302, 12, 1), (76, 1), True)
    """
    seq_len = check_int("seq_len", seq_len)
    val_fraction = check_range("val_fraction", val_fraction, 0.0, 1.0, low_closed=False, high_closed=False)
    check_choice("target", target, ("log_price", "log_return"))
    dates, close = _read_sp500()
    v = np.log(close)  # (P,)
    if target == "log_return":
        v, dates = np.diff(v), dates[1:]  # (P-1,)
    n_win = len(v) - seq_len
    if n_win < 2:
        raise ValueError(f"seq_len must leave at least 2 windows of the {len(v)} values, got {seq_len}")
    n_val = min(max(1, round(val_fraction * n_win)), n_win - 1)
    n_tr = n_win - n_val
    mu, sd = float(v[:n_tr + seq_len].mean()), float(v[:n_tr + seq_len].std())  # training values only
    z = ((v - mu) / sd).astype(np.float32)  # (P,)
    idx = np.arange(n_win)[:, None] + np.arange(seq_len)[None, :]  # (n_win, T)
    X = torch.from_numpy(z[idx][..., None])  # (n_win, T, 1)
    y = torch.from_numpy(z[seq_len:, None].copy())  # (n_win, 1)
    y_tr, y_val = y[:n_tr], y[n_tr:]
    name = f"next monthly S&P 500 {target.replace('_', ' ')} from the last {seq_len} months"
    train = Task(X[:n_tr], y_tr, baseline_loss(y_tr), "mse", name + " (training block)")
    val = Task(X[n_tr:], y_val, baseline_loss(y_val, fit_on=y_tr), "mse", name + " (validation block)")
    persistence = float(((X[n_tr:, -1].double() - y_val.double()) ** 2).mean())
    target_dates = tuple(str(d) for d in dates[seq_len:])
    return SeriesSplit(train, val, mu, sd, persistence, target_dates[:n_tr], target_dates[n_tr:])
