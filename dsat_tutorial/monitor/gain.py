"""The recurrent gain: the spectral norm of every recurrent weight matrix, as a signal to watch per epoch.

Linearised around a state, a recurrent layer maps a perturbation of :math:`h_{t-1}` to one of
:math:`h_t` through :math:`\\mathrm{diag}(\\phi'(\\cdot))\\,W_{hh}`; over :math:`k` steps the product of
:math:`k` such factors is bounded by :math:`\\sigma_{\\max}(W_{hh})^k \\max|\\phi'|^k`. With
:math:`\\sigma_{\\max} < 1` and a tanh (:math:`|\\phi'| \\le 1`), gradients through time are bound to
vanish; :math:`\\sigma_{\\max} > 1` is *necessary* for them to explode (Pascanu et al., 2013). That is
the honest reading of source 000's "explosion/vanishing factor" (ERRATA 000-E11): a number one can
measure, track and control.

* :func:`recurrent_gain` returns :math:`\\sigma_{\\max}` of each ``weight_hh`` of every ``nn.RNN``,
  ``nn.LSTM``, ``nn.GRU`` (every layer, both directions) and ``nn.RNNCell``/``LSTMCell``/``GRUCell``
  in a model, and of each gate's block;
* :class:`RecordRecurrentGain` is a ``fit`` callback that stores it in every epoch record.

What it is not: a controller. To *keep* the gain at 1 or below, parametrize the weight with PyTorch's
``torch.nn.utils.parametrizations.orthogonal`` or ``spectral_norm`` (then this module reads the
parametrized weight, the one the layer uses). It is not a bound on the true Jacobian either: the gates
and :math:`\\phi'` multiply it, so a gain above 1 allows growth but does not force it.

References:
    R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of training recurrent neural networks",
    ICML 2013, section 2.1 (the :math:`\\sigma_{\\max}` conditions).
    PyTorch ``nn.LSTM`` / ``nn.GRU`` documentation (gate order of ``weight_hh_l[k]``).
    PyTorch ``torch.nn.utils.parametrizations`` (``orthogonal``, ``spectral_norm``).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["recurrent_gain", "RecordRecurrentGain", "GATES"]

#: Row blocks of ``weight_hh`` in PyTorch's order, per layer type (a plain RNN has one block).
GATES = {"LSTM": ("i", "f", "g", "o"), "GRU": ("r", "z", "n")}


def _weights(name: str, module: nn.Module):
    """``(key, weight, gates)`` for every recurrent weight of one module (none for other modules)."""
    prefix = f"{name}." if name else ""
    if isinstance(module, nn.RNNBase):
        gates = GATES.get(module.mode, ())
        directions = ("", "_reverse") if module.bidirectional else ("",)
        for layer in range(module.num_layers):
            for suffix in directions:
                attr = f"weight_hh_l{layer}{suffix}"
                yield prefix + attr, getattr(module, attr), gates
    elif isinstance(module, nn.RNNCellBase):
        gates = GATES["LSTM"] if isinstance(module, nn.LSTMCell) else (
            GATES["GRU"] if isinstance(module, nn.GRUCell) else ())
        yield prefix + "weight_hh", module.weight_hh, gates


@contextlib.contextmanager
def _frozen_parametrizations(model: nn.Module):
    """Read parametrized weights without side effects: ``spectral_norm`` advances its power iteration on
    every read in training mode, so a monitor that reads it would change the run it watches."""
    lists = [m for m in model.modules() if isinstance(m, parametrize.ParametrizationList)]
    flags = [[sub.training for sub in lst.modules()] for lst in lists]
    try:
        for lst in lists:
            lst.eval()
        yield
    finally:
        for lst, old in zip(lists, flags):
            for sub, flag in zip(lst.modules(), old):
                sub.training = flag


def _sigma_max(w: torch.Tensor) -> float:
    # largest singular value in float64 (a float32 SVD is accurate to ~1e-6 relative only)
    return float(torch.linalg.svdvals(w.detach().to(torch.float64))[0])


@torch.no_grad()
def recurrent_gain(model: nn.Module, gates: bool = True) -> dict[str, float]:
    """The spectral norm :math:`\\sigma_{\\max}` of every recurrent weight matrix of ``model``.

    .. math::
        \\begin{aligned}
        \\sigma_{\\max}(W) &= \\max_{\\lVert v \\rVert_2 = 1} \\lVert W v \\rVert_2 \\\\
        &= \\sqrt{\\lambda_{\\max}(W^\\top W)}
        \\end{aligned}

    for :math:`W` = ``weight_hh_l{k}`` (and ``weight_hh_l{k}_reverse``) of each ``nn.RNN``/``LSTM``/
    ``GRU`` (or ``weight_hh`` of a cell), and, with ``gates=True``, for each gate's row block
    :math:`W^{(g)} \\in \\mathbb{R}^{H \\times H}` in PyTorch's order -- LSTM ``i, f, g, o``, GRU
    ``r, z, n``. The whole matrix's :math:`\\sigma_{\\max}` is at least that of any block. A weight
    under ``torch.nn.utils.parametrize`` is read as the layer uses it (the parametrized value), with
    the parametrizations briefly in eval mode, so that reading ``spectral_norm``'s weight does not
    advance its power iteration (the run being watched is left exactly as it was).

    Args:
        model: any ``nn.Module`` containing recurrent layers (searched with ``named_modules``).
        gates: also report each gate block (keys ending in ``[f]``, ``[z]``, ...).

    Returns:
        A flat dict ``{"<module>.weight_hh_l<k>[_reverse]": sigma, "<...>[<gate>]": sigma, ...}`` of
        Python floats (computed in float64), in module and layer order.

    Raises:
        ValueError: ``model`` is not an ``nn.Module`` or contains no recurrent layer.

    Reference: Pascanu, Mikolov & Bengio (2013), section 2.1. Taught in: Part IV, The "explosion/vanishing
    factor".

    >>> rnn = nn.RNN(2, 3, bidirectional=True)
    >>> with torch.no_grad():
    ...     _ = rnn.weight_hh_l0.copy_(torch.diag(torch.tensor([0.5, -2.0, 1.0])))
    ...     _ = rnn.weight_hh_l0_reverse.copy_(0.9 * torch.eye(3))
    >>> {k: round(v, 6) for k, v in recurrent_gain(rnn).items()}
    {'weight_hh_l0': 2.0, 'weight_hh_l0_reverse': 0.9}
    >>> sorted(recurrent_gain(nn.Sequential(nn.GRU(2, 3))))
    ['0.weight_hh_l0', '0.weight_hh_l0[n]', '0.weight_hh_l0[r]', '0.weight_hh_l0[z]']
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    gain: dict[str, float] = {}
    with _frozen_parametrizations(model):
        for name, module in model.named_modules():
            for key, w, names in _weights(name, module):
                gain[key] = _sigma_max(w)
                if gates and names:
                    for gate, block in zip(names, w.chunk(len(names), dim=0)):  # (G*H, H) -> G x (H, H)
                        gain[f"{key}[{gate}]"] = _sigma_max(block)
    if not gain:
        raise ValueError("model must contain a recurrent layer (nn.RNN, nn.LSTM, nn.GRU or a cell), "
                         f"found none in {type(model).__name__}")
    return gain


class RecordRecurrentGain:
    """``fit`` callback: store :func:`recurrent_gain` of the model in every epoch record.

    After each epoch's record is written, it adds the key ``key`` (default ``"recurrent_gain"``) to that
    record, so ``history["recurrent_gain"]`` is the per-epoch list of dicts (``None`` for epochs recorded
    without it) and the values travel in checkpoints and ``History.to_json``. The gain is measured on the
    weights at the end of the epoch, after any policy action or rollback of that epoch.

    Args:
        gates: also record each gate block (see :func:`recurrent_gain`).
        key: the record's key.

    Reference: Pascanu, Mikolov & Bengio (2013). Taught in: Part IV, The "explosion/vanishing factor".

    >>> RecordRecurrentGain()
    RecordRecurrentGain(gates=True, key='recurrent_gain')
    """

    def __init__(self, gates: bool = True, key: str = "recurrent_gain") -> None:
        if not isinstance(gates, bool):
            raise ValueError(f"gates must be True or False, got {gates!r}")
        if not isinstance(key, str) or not key:
            raise ValueError(f"key must be a non-empty string, got {key!r}")
        self.gates, self.key = gates, key

    def on_epoch_end(self, state) -> None:
        state.history.add_to_epoch(**{self.key: recurrent_gain(state.model, gates=self.gates)})

    def __repr__(self) -> str:
        return f"RecordRecurrentGain(gates={self.gates}, key={self.key!r})"
