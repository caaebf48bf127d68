"""A vanilla (Elman) RNN in NumPy with exact backpropagation through time.

What it is: the model of source 004 ("RNN 训练策略", §3-§4) rebuilt so that every line is right --
forward pass, mean-squared-error loss, full and block-truncated BPTT, and the per-step hidden-state
gradient norms used to show vanishing and exploding gradients. Arrays are batch-first ``(B, T, D)``
like the package's PyTorch models; the computation is vectorised over the batch and loops only over
time. Everything is float64 so that it can be checked against torch autograd to ~1e-12.

The backward half (BPTT) lives in ``bptt.py`` as a mixin :class:`RNN` inherits; this module holds the
model: initialisation, forward pass, loss and the export to PyTorch.

What it is not: a training framework (see :mod:`dsat_tutorial.scratch.optim` for the update rules and
``dsat_tutorial.models`` for the PyTorch models the rest of the book uses), nor an LSTM/GRU. PyTorch
is used in one place only, :meth:`RNN.to_torch`, which copies the weights into ``torch.nn.RNN`` +
``torch.nn.Linear`` -- the bridge the book and the tests use to check this code against PyTorch.

Conventions (004-E4): row vectors, as in the code of the source, so ``W`` is ``(D, H)`` and the
pre-activation is ``x_t W + h_{t-1} U + b_h``. Time is 1-based in formulas (``h_0`` is the initial
state, ``h_1 .. h_T`` the outputs of the steps) and 0-based in arrays (``Y_hat[:, t - 1]`` is
``ŷ_t``).

References: Werbos, "Backpropagation through time: what it does and how to do it", Proc. IEEE 1990;
Williams & Peng, Neural Computation 1990 (truncated BPTT); Goodfellow, Bengio & Courville, *Deep
Learning* §10.2.2; Glorot & Bengio, AISTATS 2010; Saxe, McClelland & Ganguli, ICLR 2014 (orthogonal
initialisation); Mezzadri, Notices AMS 2007 (the QR sign fix); Pascanu, Mikolov & Bengio, ICML 2013.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_int
from .arrays import as_float_array as _as_float_array
from .bptt import BPTT, PARAM_NAMES  # noqa: F401  (PARAM_NAMES: its old home)

__all__ = ["RNN"]

class RNN(BPTT):
    r"""Vanilla RNN with a linear read-out, trained by backpropagation through time.

    .. math::

        \begin{gathered}
        h_t = \tanh(x_t W + h_{t-1} U + b_h), \\
        \hat y_t = h_t V + b_y, \qquad t = 1..T
        \end{gathered}

    where :math:`x_t \in \mathbb{R}^{B\times D}` is the input at step t for a batch of B sequences,
    :math:`h_t \in \mathbb{R}^{B\times H}` the hidden state (:math:`h_0` given, zero by default),
    :math:`W \in \mathbb{R}^{D\times H}`, :math:`U \in \mathbb{R}^{H\times H}`,
    :math:`V \in \mathbb{R}^{H\times O}`, :math:`b_h \in \mathbb{R}^H`, :math:`b_y \in \mathbb{R}^O`.

    Args:
        input_size: D. hidden_size: H. output_size: O (all integers >= 1).
        seed: seeds ``np.random.default_rng`` for the initial weights (integer >= 0).
        init: ``"orthogonal"`` (U orthogonal, W and V Glorot-uniform; the default), ``"glorot"``
            (all three Glorot-uniform) or ``"normal"`` (all N(0, 1): the source's choice, kept to show
            why it fails). Biases start at 0. W, U, V are drawn in that order from
            ``np.random.default_rng(seed)``: Glorot-uniform is
            :math:`\mathcal U(-a, a)`, :math:`a = \sqrt{6/(\text{fan}_\text{in} + \text{fan}_\text{out})}`;
            the orthogonal U is :math:`Q\,\mathrm{diag}(\mathrm{sign}\,R_{jj})` for the QR
            factorisation of an H x H standard-normal matrix (Haar-distributed, Mezzadri 2007).

    Attributes:
        params: dict ``{"W", "U", "V", "b_h", "b_y"}`` of float64 arrays, updated in place by the
            optimizers of :mod:`dsat_tutorial.scratch.optim`.

    Corrects: 004-E7 (N(0, 1) initialisation), 004-E4 (unstated matrix convention).
    Reference: Elman, "Finding structure in time", Cognitive Science 1990.
    Taught in: Part I, Forward pass and shapes.

    >>> rnn = RNN(input_size=2, hidden_size=4, output_size=1, seed=0)
    >>> {k: v.shape for k, v in rnn.params.items()}
    {'W': (2, 4), 'U': (4, 4), 'V': (4, 1), 'b_h': (4,), 'b_y': (1,)}
    >>> bool(np.allclose(rnn.params["U"].T @ rnn.params["U"], np.eye(4)))
    True
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, seed: int = 0,
                 init: str = "orthogonal") -> None:
        self.input_size = check_int("input_size", input_size)
        self.hidden_size = check_int("hidden_size", hidden_size)
        self.output_size = check_int("output_size", output_size)
        self.seed = check_int("seed", seed, minimum=0)
        self.init = check_choice("init", init, ("orthogonal", "glorot", "normal"))
        self.params = _init_params(self.input_size, self.hidden_size, self.output_size,
                                  np.random.default_rng(self.seed), self.init)

    def __repr__(self) -> str:
        return (f"RNN(input_size={self.input_size}, hidden_size={self.hidden_size}, "
                f"output_size={self.output_size}, seed={self.seed}, init={self.init!r})")

    # ----------------------------------------------------------------------------------- forward
    def forward(self, X, h0=None):
        r"""Run the recurrence over a batch of sequences and keep what BPTT needs.

        .. math::

            \begin{gathered}
            \begin{aligned}
            A &= X W + b_h \ \\
            &\quad \text{(all steps at once)},
            \end{aligned} \\
            h_t = \tanh(A_t + h_{t-1} U), \\
            \hat Y = H V + b_y
            \end{gathered}

        where :math:`A_t` is the input part of the pre-activation at step t and :math:`H` stacks
        :math:`h_1..h_T`. Only the :math:`h_{t-1} U` product is sequential.

        Args:
            X: inputs, shape ``(B, T, D)``. h0: initial state ``(B, H)``, or None for zeros.

        Returns:
            ``(Y_hat, cache)``: predictions ``(B, T, O)`` and a dict for :meth:`backward` holding the
            time-major inputs ``"X"`` ``(T, B, D)`` and hidden states ``"H"`` ``(T + 1, B, H)`` with
            ``H[0] = h0``.

        Corrects: 004-E8 (the data generator's ``(D, H) @ U`` crash), 004-E11 (``h[t-1]`` at t = 0
        wraps round to the last row instead of reading h0).
        Reference: Goodfellow et al., *Deep Learning* eq. 10.8-10.11. Taught in: Part I, Forward pass
        and shapes.

        >>> rnn = RNN(3, 5, 2, seed=1)
        >>> Y_hat, cache = rnn.forward(np.zeros((4, 6, 3)))
        >>> Y_hat.shape, cache["H"].shape, float(np.abs(Y_hat).max())  # zero input, zero biases
        ((4, 6, 2), (7, 4, 5), 0.0)
        """
        X = _as_float_array("X", X, ndim=3, last=self.input_size, last_name="input_size")
        self._check_params()
        B, T, _ = X.shape
        H = self.hidden_size
        p = self.params
        X_tm = np.ascontiguousarray(X.transpose(1, 0, 2))                     # (T, B, D)
        Hs = np.empty((T + 1, B, H))                                          # (T + 1, B, H)
        Hs[0] = 0.0 if h0 is None else _as_float_array("h0", h0, shape=(B, H))
        # 1) input projection for every step at once, written straight into the state buffer
        np.matmul(X_tm.reshape(T * B, -1), p["W"], out=Hs[1:].reshape(T * B, H))
        Hs[1:] += p["b_h"]
        # 2) the sequential part: h_t = tanh(A_t + h_{t-1} U)
        rec = np.empty((B, H))                                                # (B, H)
        U = p["U"]
        for t in range(1, T + 1):
            np.matmul(Hs[t - 1], U, out=rec)
            Hs[t] += rec
            np.tanh(Hs[t], out=Hs[t])
        # 3) read-out for every step at once
        Y_tm = Hs[1:].reshape(T * B, H) @ p["V"]                              # (T * B, O)
        Y_tm += p["b_y"]
        Y_hat = np.ascontiguousarray(Y_tm.reshape(T, B, -1).transpose(1, 0, 2))  # (B, T, O)
        return Y_hat, {"X": X_tm, "H": Hs}

    # -------------------------------------------------------------------------------------- loss
    def loss(self, Y_hat, Y) -> float:
        r"""Mean squared error averaged over every element.

        .. math::

            \begin{gathered}
            L = \frac{1}{BTO} \sum_{b,t,o} (\hat y_{b,t,o} - y_{b,t,o})^2, \\
            \frac{\partial L}{\partial \hat Y} = \frac{2}{BTO} (\hat Y - Y)
            \end{gathered}

        where B, T, O are the batch size, sequence length and output size. The gradient is
        ``dY_hat`` for :meth:`backward`; :meth:`loss_and_grads` computes both.

        Corrects: 004-E3 (vector outputs need a squared norm), 004-E17 (the loss is a mean but the
        source's gradients are sums). Taught in: Part I, Backpropagation through time.

        >>> rnn = RNN(1, 2, 1)
        >>> rnn.loss(np.zeros((2, 3, 1)), np.ones((2, 3, 1)))
        1.0
        """
        Y_hat = _as_float_array("Y_hat", Y_hat, ndim=3, last=self.output_size, last_name="output_size")
        Y = _as_float_array("Y", Y, shape=Y_hat.shape)
        return float(np.mean((Y_hat - Y) ** 2))

    def _check_params(self) -> None:
        """``params`` may be edited by hand (or by a buggy update): check every shape before use."""
        D, H, O = self.input_size, self.hidden_size, self.output_size
        shapes = {"W": (D, H), "U": (H, H), "V": (H, O), "b_h": (H,), "b_y": (O,)}
        if set(self.params) != set(shapes):
            raise ValueError(f"params must have the keys {list(shapes)}, got {list(self.params)}")
        for name, shape in shapes.items():
            if np.shape(self.params[name]) != shape:
                raise ValueError(f"params[{name!r}] must have shape {shape}, got "
                                 f"{np.shape(self.params[name])}")

    # ---------------------------------------------------------------------------------- PyTorch
    def to_torch(self, dtype: torch.dtype = torch.float64) -> tuple[nn.RNN, nn.Linear]:
        r"""The same network as ``torch.nn.RNN`` + ``torch.nn.Linear``, holding copies of :attr:`params`.

        .. math::

            \begin{gathered}
            W_{ih} = W^\top, \quad W_{hh} = U^\top, \\
            b_{ih} = b_h, \quad b_{hh} = 0, \\
            A = V^\top, \quad b = b_y
            \end{gathered}

        where ``nn.RNN`` computes :math:`h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top +
        b_{hh})` and ``nn.Linear`` :math:`\hat y_t = h_t A^\top + b`. PyTorch stores each matrix as
        ``(out_features, in_features)``, the column convention, hence the transposes; and it has two
        hidden biases where the recurrence has one -- only their sum matters, so :math:`b_h` goes into
        ``bias_ih_l0`` and ``bias_hh_l0`` is zero (autograd then gives both the gradient of
        :math:`b_h`).

        Args:
            dtype: a floating-point ``torch.dtype`` for the copies; float64 (the default) matches
                the NumPy computation to rounding error.

        Returns:
            ``(cell, head)``: ``nn.RNN(D, H, batch_first=True, nonlinearity="tanh")`` and
            ``nn.Linear(H, O)`` on the CPU, such that ``head(cell(x, h0[None])[0])`` is the
            ``Y_hat`` of :meth:`forward`. Their tensors are copies (changing either side leaves the
            other alone), and building them draws nothing from torch's random number generator.

        Corrects: 004-E4 (unstated matrix convention). Reference: the ``torch.nn.RNN`` and
        ``torch.nn.Linear`` documentation; Paszke et al., NeurIPS 2019.
        Taught in: Part I, The forward pass (used again in Backpropagation through time).

        >>> rnn = RNN(2, 3, 1, seed=0)
        >>> cell, head = rnn.to_torch()
        >>> cell, head
        (RNN(2, 3, batch_first=True), Linear(in_features=3, out_features=1, bias=True))
        >>> X = np.ones((4, 5, 2))
        >>> with torch.no_grad():
        ...     Y_torch = head(cell(torch.from_numpy(X))[0]).numpy()
        >>> float(np.abs(Y_torch - rnn.forward(X)[0]).max()) < 1e-12
        True
        """
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValueError(f"dtype must be a floating-point torch.dtype such as torch.float64, "
                             f"got {dtype!r}")
        self._check_params()
        D, H, O = self.input_size, self.hidden_size, self.output_size
        # allocated on the meta device first: skips PyTorch's random initialisation (and its RNG draws)
        cell = nn.RNN(D, H, batch_first=True, nonlinearity="tanh", device="meta",
                      dtype=dtype).to_empty(device="cpu")
        head = nn.Linear(H, O, device="meta", dtype=dtype).to_empty(device="cpu")
        p = {name: torch.from_numpy(np.asarray(a, dtype=np.float64)) for name, a in self.params.items()}
        with torch.no_grad():  # copy_ converts to dtype and writes into the modules' own storage
            cell.weight_ih_l0.copy_(p["W"].T)                                  # (H, D)
            cell.weight_hh_l0.copy_(p["U"].T)                                  # (H, H)
            cell.bias_ih_l0.copy_(p["b_h"])                                    # (H,)
            cell.bias_hh_l0.zero_()                                            # (H,)
            head.weight.copy_(p["V"].T)                                        # (O, H)
            head.bias.copy_(p["b_y"])                                          # (O,)
        return cell, head


# ------------------------------------------------------------------------------------ helpers
def _glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), so Var = 2 / (fan_in + fan_out) (Glorot 2010)."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def _orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """Haar-random orthogonal matrix: Q of a Gaussian's QR with the signs of diag(R) (Mezzadri 2007)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)  # flip column j when R_jj < 0


def _init_params(D: int, H: int, O: int, rng: np.random.Generator, init: str) -> dict:
    """Draw W, U, V (in that order) from ``rng``; biases are zero."""
    if init == "normal":  # the source's choice (004-E7): saturates tanh, spectral radius ~ sqrt(H)
        W, U, V = rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal((H, O))
    else:
        W = _glorot_uniform(rng, D, H)
        U = _orthogonal(rng, H) if init == "orthogonal" else _glorot_uniform(rng, H, H)
        V = _glorot_uniform(rng, H, O)
    return {"W": W, "U": U, "V": V, "b_h": np.zeros(H), "b_y": np.zeros(O)}
