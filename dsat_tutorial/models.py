"""Small batch-first recurrent models for every chapter: a regressor and a classifier over
``(N, T, F)`` sequences, built on ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``.

What it is: a recurrent stack (optionally with dropout between layers and Keras-style orthogonal
initialisation of the recurrent weights) followed by one linear head, reading the last time step
(or every step, for per-step targets).

What it is not: a model zoo. No attention, no bidirectional layers, no embeddings; the from-scratch
numpy RNN lives in :mod:`dsat_tutorial.scratch.rnn`.

References:
    Hochreiter, S. & Schmidhuber, J. (1997). Long short-term memory. Neural Computation 9(8).
    Cho, K. et al. (2014). Learning phrase representations using RNN encoder-decoder. EMNLP.
    Saxe, A. M., McClelland, J. L. & Ganguli, S. (2014). Exact solutions to the nonlinear dynamics of
    learning in deep linear neural networks. ICLR (orthogonal initialisation).
    Jozefowicz, R., Zaremba, W. & Sutskever, I. (2015). An empirical exploration of recurrent network
    architectures. ICML (forget-gate bias 1).
"""

from __future__ import annotations

import torch
from torch import nn

from ._validation import check_choice, check_int, check_range

__all__ = ["SequenceRegressor", "SequenceClassifier", "CELLS"]

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


class _Recurrent(nn.Module):
    """Recurrent stack + linear head; shared by the regressor and the classifier."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, cell: str, dropout: float,
                 out_features: int, orthogonal_init: bool) -> None:
        super().__init__()
        self.input_size = check_int("input_size", input_size)
        self.hidden_size = check_int("hidden_size", hidden_size)
        self.num_layers = check_int("num_layers", num_layers)
        self.cell = check_choice("cell", cell, tuple(CELLS))
        self.dropout = check_range("dropout", dropout, 0.0, 1.0, high_closed=False)
        if self.dropout > 0 and self.num_layers == 1:
            # nn.LSTM would only warn and then ignore it: dropout acts *between* recurrent layers
            raise ValueError(f"dropout acts between recurrent layers and needs num_layers >= 2, "
                             f"got dropout={dropout!r} with num_layers=1")
        self.orthogonal_init = bool(orthogonal_init)
        self.rnn = CELLS[self.cell](self.input_size, self.hidden_size, self.num_layers,
                                    batch_first=True, dropout=self.dropout)
        self.head = nn.Linear(self.hidden_size, out_features)
        if self.orthogonal_init:
            self.reset_parameters_orthogonal()

    @torch.no_grad()
    def reset_parameters_orthogonal(self) -> None:
        """Keras-style initialisation: orthogonal recurrent blocks, Glorot input weights, zero biases.

        Each gate's recurrent block :math:`W_{hh}^{(g)} \\in \\mathbb{R}^{H \\times H}` is a random
        orthogonal matrix; input weights and the head are Glorot-uniform; biases are 0 except the
        LSTM forget gate's, which is 1 (Keras ``unit_forget_bias=True``).
        """
        H = self.hidden_size
        for layer in range(self.num_layers):
            w_hh = getattr(self.rnn, f"weight_hh_l{layer}")  # (G*H, H)
            for g in range(_GATES[self.cell]):
                nn.init.orthogonal_(w_hh[g * H:(g + 1) * H])
            nn.init.xavier_uniform_(getattr(self.rnn, f"weight_ih_l{layer}"))  # (G*H, F or H)
            getattr(self.rnn, f"bias_ih_l{layer}").zero_()
            getattr(self.rnn, f"bias_hh_l{layer}").zero_()
            if self.cell == "lstm":  # gate order i, f, g, o
                getattr(self.rnn, f"bias_ih_l{layer}")[H:2 * H] = 1.0
        nn.init.xavier_uniform_(self.head.weight)
        self.head.bias.zero_()

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"input x must have shape (N, T, F) with F = input_size = {self.input_size}, "
                             f"got {tuple(x.shape)}")
        out, _ = self.rnn(x)  # (N, T, H), top layer's hidden state at every step
        return out

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}, orthogonal_init={self.orthogonal_init}"


class SequenceRegressor(_Recurrent):
    """Recurrent regressor: the last step's hidden state (or every step's) through a linear head.

    .. math::

        \\begin{gathered}
        h_t = \\operatorname{cell}(x_t, h_{t-1}), \\\\
        \\hat y = W h_{T-1} + b \\\\
        (\\text{or } \\hat y_t = W h_t + b \\text{ for every } t),
        \\end{gathered}

    where :math:`x_t \\in \\mathbb{R}^F` is step :math:`t` of the input, :math:`h_t \\in \\mathbb{R}^H`
    the top layer's hidden state, ``cell`` an Elman RNN (tanh), LSTM or GRU stack of ``num_layers``
    layers and :math:`W \\in \\mathbb{R}^{O \\times H}`, :math:`b` the linear head.

    Args:
        input_size: features per step F (>= 1).
        hidden_size: hidden units H (>= 1).
        num_layers: stacked recurrent layers (>= 1).
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"``.
        dropout: dropout probability in [0, 1) on the outputs of every recurrent layer but the last
            (PyTorch's semantics); > 0 requires ``num_layers >= 2``.
        output_size: outputs per prediction O (>= 1).
        return_sequences: predict at every step, ``(N, T, O)``, instead of the last, ``(N, O)``.
        orthogonal_init: Keras-style initialisation (:meth:`reset_parameters_orthogonal`) instead
            of PyTorch's uniform :math:`U(-1/\\sqrt H, 1/\\sqrt H)`.

    Shapes: input ``(N, T, F)`` float32 (batch first); output ``(N, O)`` or ``(N, T, O)``.

    Reference: Hochreiter & Schmidhuber (1997); Cho et al. (2014).
    Taught in: Part I, Forward pass and shapes.

    >>> _ = torch.manual_seed(0)
    >>> model = SequenceRegressor(2, 8, cell="gru")
    >>> tuple(model(torch.zeros(5, 7, 2)).shape)
    (5, 1)
    >>> tuple(SequenceRegressor(2, 8, return_sequences=True)(torch.zeros(5, 7, 2)).shape)
    (5, 7, 1)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, cell: str = "lstm",
                 dropout: float = 0.0, output_size: int = 1, return_sequences: bool = False,
                 orthogonal_init: bool = False) -> None:
        self.output_size = check_int("output_size", output_size)
        self.return_sequences = bool(return_sequences)
        super().__init__(input_size, hidden_size, num_layers, cell, dropout, self.output_size,
                         orthogonal_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._features(x)  # (N, T, H)
        if self.return_sequences:
            return self.head(out)  # (N, T, O)
        return self.head(out[:, -1])  # (N, O)


class SequenceClassifier(_Recurrent):
    """Recurrent classifier: logits from the last step's hidden state.

    .. math::

        \\begin{gathered}
        h_t = \\operatorname{cell}(x_t, h_{t-1}), \\\\
        z = W h_{T-1} + b \\in \\mathbb{R}^C,
        \\end{gathered}

    where :math:`z` are the logits for ``nn.CrossEntropyLoss`` (no softmax inside the model) and
    :math:`C` is ``num_classes``. With ``num_classes=1`` the model returns a single logit ``(N, 1)``
    for ``nn.BCEWithLogitsLoss`` -- the PyTorch form of Keras's ``Dense(1, activation="sigmoid")``
    plus ``binary_crossentropy``, which is also equivalent to 2 logits with cross-entropy.

    Source 000's Keras model (L114-L123) maps onto one call, :meth:`source_000`::

        LSTM(50, return_sequences=True)  -> Dropout(0.2)      nn.LSTM(F, 50, num_layers=3,
        LSTM(50, return_sequences=True)  -> Dropout(0.2)  =            dropout=0.2, batch_first=True)
        LSTM(50)                         -> Dense(1, "sigmoid")   nn.Linear(50, 1) + BCEWithLogitsLoss

    since PyTorch's ``dropout`` acts on the outputs of every layer but the last -- exactly where
    the two ``Dropout`` layers sit -- and ``orthogonal_init=True`` reproduces Keras's initialisers.
    The input size must be the data's feature count (10), not 1 as in the source (000-E3).

    Args:
        input_size, hidden_size, num_layers, cell, dropout, orthogonal_init: as for
            :class:`SequenceRegressor`.
        num_classes: number of classes C (>= 2), or 1 for a single binary logit.

    Shapes: input ``(N, T, F)`` float32 (batch first); output logits ``(N, C)``.

    Corrects: 000-E3 (input size taken from the data).
    Reference: Hochreiter & Schmidhuber (1997).
    Taught in: Part IV, The Keras LSTM example redone in PyTorch.

    >>> _ = torch.manual_seed(0)
    >>> tuple(SequenceClassifier(10, 16, num_classes=3)(torch.rand(4, 32, 10)).shape)
    (4, 3)
    >>> SequenceClassifier.source_000().rnn
    LSTM(10, 50, num_layers=3, batch_first=True, dropout=0.2)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, cell: str = "lstm",
                 dropout: float = 0.0, num_classes: int = 2, orthogonal_init: bool = False) -> None:
        self.num_classes = check_int("num_classes", num_classes)
        super().__init__(input_size, hidden_size, num_layers, cell, dropout, self.num_classes,
                         orthogonal_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._features(x)  # (N, T, H)
        return self.head(out[:, -1])  # (N, C) logits

    @classmethod
    def source_000(cls, input_size: int = 10, num_classes: int = 1) -> SequenceClassifier:
        """Source 000's stacked LSTM: 3 layers of 50 units, dropout 0.2 between them, Keras init.

        Train it with ``nn.BCEWithLogitsLoss`` on float labels ``(N, 1)`` (``num_classes=1``, the
        source's sigmoid output) or with ``nn.CrossEntropyLoss`` on int64 labels
        (``num_classes=2``).
        """
        return cls(input_size, 50, num_layers=3, cell="lstm", dropout=0.2, num_classes=num_classes,
                   orthogonal_init=True)
