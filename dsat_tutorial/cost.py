"""What a recurrent layer costs: arithmetic, memory kept for the backward pass, and wall-clock time.

Three small measuring helpers for the claim that an RNN is *not* slow because of its arithmetic
(source 004 says "计算复杂度", *computational complexity*; erratum 004-E5):

- :func:`rnn_flops` and :func:`dense_flops` count the floating-point operations of a vanilla RNN's
  forward pass and of a dense layer, so the two can be compared step for step;
- :func:`saved_tensor_bytes` measures the memory autograd keeps for the backward pass (the reason
  BPTT memory grows like :math:`T \\cdot B \\cdot H`), with ``torch.autograd.graph.saved_tensors_hooks``;
- :func:`best_time` times a call the way ``timeit`` recommends: the minimum over repeats.

What this module is not: a profiler. It counts the matrix products only (the convention of
``torch.utils.flop_counter.FlopCounterMode``, against which the tests check it), ignores element-wise
work such as ``tanh`` and bias additions, and measures saved tensors, not the allocator's peak.

References: Werbos (1990), "Backpropagation through time: what it does and how to do it"; the
PyTorch documentation of ``torch.autograd.graph.saved_tensors_hooks`` and of
``torch.utils.flop_counter``; the Python documentation of ``timeit`` (take the minimum).

Taught in: Part I, Backpropagation through time (What BPTT costs).
"""
from __future__ import annotations

import time
from typing import Any, Callable

import torch

__all__ = ["dense_flops", "rnn_flops", "saved_tensor_bytes", "best_time"]


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def dense_flops(batch: int, in_features: int, out_features: int) -> int:
    r"""Floating-point operations of a dense layer's matrix product, :math:`x A` for a batch.

    .. math::

        \mathrm{FLOPs} = 2\, B\, D_{\text{in}}\, D_{\text{out}}

    where :math:`B` is the batch size and each of the :math:`B D_{\text{in}} D_{\text{out}}`
    multiply-adds counts as 2 operations (bias and activation are not counted).

    Args:
        batch: batch size B (>= 1).
        in_features: D_in (>= 1).
        out_features: D_out (>= 1).

    Returns:
        The FLOP count as an int.

    Reference: the counting convention of ``torch.utils.flop_counter.FlopCounterMode``.
    Taught in: Part I, Backpropagation through time (What BPTT costs).

    >>> dense_flops(32, 30, 20)
    38400
    """
    return 2 * _positive_int("batch", batch) * _positive_int("in_features", in_features) \
        * _positive_int("out_features", out_features)


def rnn_flops(batch: int, seq_len: int, input_size: int, hidden_size: int, output_size: int = 0) -> int:
    r"""Floating-point operations of a vanilla RNN's forward pass over a batch of sequences.

    .. math::

        \begin{aligned}
        \mathrm{FLOPs} &= T \cdot 2B\,(DH + H^2 + HO) \\
        &= T \cdot \mathrm{dense}(B,\ D + H,\ H) \\
        &\quad + T \cdot \mathrm{dense}(B,\ H,\ O)
        \end{aligned}

    for :math:`h_t = \tanh(x_t W + h_{t-1} U + b_h)` and the read-out :math:`\hat y_t = h_t V + b_y`,
    with :math:`W \in \mathbb R^{D\times H}`, :math:`U \in \mathbb R^{H\times H}`,
    :math:`V \in \mathbb R^{H\times O}` (``output_size=0``: no read-out, as ``nn.RNN`` alone). One
    step costs exactly what a dense layer with :math:`D + H` inputs and :math:`H` outputs costs:
    the arithmetic of an RNN is a dense layer's, repeated :math:`T` times.

    Args:
        batch: batch size B (>= 1).
        seq_len: number of steps T (>= 1).
        input_size: D (>= 1).
        hidden_size: H (>= 1).
        output_size: O (>= 0); 0 leaves the read-out out.

    Returns:
        The FLOP count as an int (matrix products only).

    Reference: the counting convention of ``torch.utils.flop_counter.FlopCounterMode``; source 004
    erratum 004-E5. Taught in: Part I, Backpropagation through time (What BPTT costs).

    >>> rnn_flops(32, 1, 10, 20) == dense_flops(32, 10 + 20, 20)
    True
    >>> rnn_flops(32, 100, 10, 20, output_size=1)
    3968000
    """
    B = _positive_int("batch", batch)
    T = _positive_int("seq_len", seq_len)
    D = _positive_int("input_size", input_size)
    H = _positive_int("hidden_size", hidden_size)
    O = _positive_int("output_size", output_size, minimum=0)
    return T * 2 * B * (D * H + H * H + H * O)


def saved_tensor_bytes(fn: Callable[[], Any]) -> int:
    r"""Bytes of the distinct tensors autograd saves for the backward pass while ``fn()`` runs.

    .. math::

        M = \sum_{s \in S} \mathrm{numel}(s)\cdot \mathrm{itemsize}(s)

    where :math:`S` is the set of distinct storages handed to the pack hook of
    ``torch.autograd.graph.saved_tensors_hooks`` (a tensor saved by several operations, such as a
    weight used at every step, is counted once). Parameters count too, since autograd saves them
    for the gradients of the inputs. This is the memory BPTT must hold until ``backward()``; it
    is not the allocator's peak.

    Args:
        fn: a callable with no arguments that runs a forward pass (with grad enabled). Its result
            is returned to nobody; the graph is freed when ``fn`` returns.

    Returns:
        The number of bytes, an int.

    Reference: PyTorch documentation, "Hooks for saved tensors" (``saved_tensors_hooks``).
    Taught in: Part I, Backpropagation through time (What BPTT costs).

    >>> x = torch.ones(4, 3, requires_grad=True)
    >>> A = torch.ones(3, 5, requires_grad=True)
    >>> saved_tensor_bytes(lambda: torch.tanh(x @ A))    # x and A for the product, tanh's output
    188
    >>> 4 * (4 * 3 + 3 * 5 + 4 * 5)
    188
    """
    if not callable(fn):
        raise ValueError(f"fn must be a callable with no arguments, got {fn!r}")
    seen: dict[tuple, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), t.device.type)] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return int(sum(seen.values()))


def best_time(fn: Callable[[], Any], repeat: int = 5, number: int = 1) -> float:
    r"""Seconds per call of ``fn()``: the minimum over ``repeat`` rounds of ``number`` calls each.

    .. math::

        \hat t = \min_{r = 1..R} \frac{1}{N} \sum_{n=1}^{N} t_{r,n}

    The minimum, not the mean, because noise (other processes, caches) only ever adds time; this is
    the advice of Python's ``timeit`` documentation. One call before the rounds warms caches up.

    Args:
        fn: a callable with no arguments.
        repeat: R (>= 1) rounds.
        number: N (>= 1) calls per round.

    Returns:
        The best time per call, in seconds.

    Reference: Python documentation, ``timeit.Timer.repeat``.
    Taught in: Part I, Backpropagation through time (What BPTT costs).

    >>> best_time(lambda: sum(range(100)), repeat=3) > 0
    True
    """
    if not callable(fn):
        raise ValueError(f"fn must be a callable with no arguments, got {fn!r}")
    R = _positive_int("repeat", repeat)
    N = _positive_int("number", number)
    fn()
    best = float("inf")
    for _ in range(R):
        start = time.perf_counter()
        for _ in range(N):
            fn()
        best = min(best, (time.perf_counter() - start) / N)
    return best
