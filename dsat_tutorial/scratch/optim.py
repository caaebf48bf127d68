"""The optimizers of source 004 §3.4 written out in NumPy: gradient descent with (Nesterov) momentum,
AdaGrad, RMSprop and Adam, plus global-norm gradient clipping (re-exported from ``optimizer.py``, with the base class).

What it is: update rules that reproduce ``torch.optim`` (CPU, single-tensor path) operation for
operation -- same defaults, same order (weight decay added to the gradient first; SGD's momentum buffer
starts as the first gradient; Adam's bias correction folded into the step size and the denominator;
AMSGrad keeps the running maximum of the second moment) -- so the unit tests can require agreement to
1e-10 over 100 steps. Parameters and gradients are dicts of float arrays (``RNN.params`` and the
gradients of ``RNN.loss_and_grads`` after ``grads.pop("h0")``); ``step`` updates the arrays in place.
What it is not: a general framework (no parameter groups, sparse or complex gradients, ``maximize``,
``dampening`` or AdaGrad's ``lr_decay``).

References: Polyak 1964 (momentum); Sutskever et al., ICML 2013 (Nesterov form); Duchi, Hazan & Singer,
JMLR 2011 (AdaGrad); Tieleman & Hinton, Coursera lecture 6.5 2012 (RMSprop); Kingma & Ba, ICLR 2015
(Adam); Reddi, Kale & Kumar, ICLR 2018 (AMSGrad); Pascanu et al., ICML 2013 (clipping);
``torch/optim/{sgd,adagrad,rmsprop,adam}.py``.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_nonneg, check_positive, check_range
from .optimizer import _check_bool, _lerp_, _Optimizer, clip_grad_norm_

__all__ = ["SGD", "AdaGrad", "RMSprop", "Adam", "clip_grad_norm_"]


class SGD(_Optimizer):
    r"""Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay, as torch.optim.SGD.

    .. math::

        \begin{gathered}
        g_t \leftarrow g_t + \lambda \theta_{t-1}, \\
        b_t = \begin{cases} g_1 & t = 1 \\ \mu b_{t-1} + g_t & t > 1 \end{cases}, \\
        \theta_t = \theta_{t-1} - \eta\, d_t, \\
        d_t = \begin{cases} g_t & \mu = 0 \\ b_t & \text{momentum}
        \\ g_t + \mu b_t & \text{Nesterov} \end{cases}
        \end{gathered}

    where :math:`\eta` is ``lr``, :math:`\mu` ``momentum``, :math:`\lambda` ``weight_decay`` and
    :math:`b` the momentum buffer (state key ``"momentum_buffer"``). ``lr`` is required.
    Raises ``ValueError`` for negative lr, momentum or weight_decay, and Nesterov without momentum.

    Reference: Polyak 1964; Sutskever et al. 2013; ``torch/optim/sgd.py``. The source's "梯度下降"
    and "动量". Taught in: Part I, Optimizers from scratch.

    >>> p = {"w": np.array([1.0, -2.0])}
    >>> opt = SGD(lr=0.1, momentum=0.9)
    >>> opt.step(p, {"w": np.array([1.0, 1.0])}); opt.step(p, {"w": np.array([1.0, 1.0])})
    >>> np.round(p["w"], 6).tolist()  # 0.1 * (1) + 0.1 * (0.9 + 1)
    [0.71, -2.29]
    """

    _hyper = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)

    def _set_hyper(self, lr, momentum, nesterov, weight_decay):
        self.lr = check_nonneg("lr", lr)
        self.momentum = check_nonneg("momentum", momentum)
        self.nesterov = _check_bool("nesterov", nesterov)
        self.weight_decay = check_nonneg("weight_decay", weight_decay)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True requires momentum > 0, got momentum=0.0")

    def _slots(self):
        return {"momentum_buffer"} if self.momentum != 0 else set()

    def _update(self, p, g, st):
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        if self.momentum != 0:
            buf = st.get("momentum_buffer")
            if buf is None:
                buf = st["momentum_buffer"] = g.copy()  # torch: the buffer starts as the first gradient
            else:
                buf *= self.momentum
                buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        p += -self.lr * g


class AdaGrad(_Optimizer):
    r"""AdaGrad: per-coordinate steps scaled by the root of the summed squared gradients (torch Adagrad).

    .. math::

        \begin{gathered}
        g_t \leftarrow g_t + \lambda\theta_{t-1}, \\
        s_t = s_{t-1} + g_t^2, \\
        \theta_t = \theta_{t-1} - \eta \frac{g_t}{\sqrt{s_t} + \epsilon}
        \end{gathered}

    where :math:`s_0` is ``initial_accumulator`` (torch's ``initial_accumulator_value``; state key
    ``"sum"``), :math:`\eta` ``lr`` (default 0.01 as torch), :math:`\lambda` ``weight_decay``, and
    operations are elementwise. torch's ``lr_decay`` is fixed at its default 0.

    Reference: Duchi, Hazan & Singer, JMLR 2011; ``torch/optim/adagrad.py``.
    Taught in: Part I, Optimizers from scratch.

    >>> p = {"w": np.array([1.0, 1.0])}
    >>> opt = AdaGrad(lr=0.1)
    >>> opt.step(p, {"w": np.array([4.0, -0.01])})
    >>> np.round(p["w"], 6).tolist()  # the first step is lr * sign(g), whatever |g|
    [0.9, 1.1]
    """

    _hyper = ("lr", "eps", "initial_accumulator", "weight_decay")

    def __init__(self, lr: float = 1e-2, eps: float = 1e-10, initial_accumulator: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(lr=lr, eps=eps, initial_accumulator=initial_accumulator,
                         weight_decay=weight_decay)

    def _set_hyper(self, lr, eps, initial_accumulator, weight_decay):
        self.lr = check_nonneg("lr", lr)
        self.eps = check_positive("eps", eps)
        self.initial_accumulator = check_nonneg("initial_accumulator", initial_accumulator)
        self.weight_decay = check_nonneg("weight_decay", weight_decay)

    def _slots(self):
        return {"sum"}

    def _update(self, p, g, st):
        if "sum" not in st:
            st["sum"] = np.full_like(p, self.initial_accumulator)
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        st["sum"] += g * g
        std = np.sqrt(st["sum"])
        std += self.eps
        p += -self.lr * g / std


class RMSprop(_Optimizer):
    r"""RMSprop: steps scaled by a running root-mean-square of the gradient (torch.optim.RMSprop).

    .. math::

        \begin{gathered}
        g_t \leftarrow g_t + \lambda\theta_{t-1}, \\
        v_t = \alpha v_{t-1} + (1-\alpha) g_t^2, \\
        \bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t, \\
        d_t = \sqrt{v_t - [\text{centered}]\, \bar g_t^2} + \epsilon, \\
        b_t = \mu b_{t-1} + g_t / d_t, \\
        \theta_t = \theta_{t-1} - \eta \cdot \begin{cases} b_t & \mu > 0 \\ g_t / d_t & \mu = 0 \end{cases}
        \end{gathered}

    where :math:`v_0 = \bar g_0 = b_0 = 0` (state keys ``"square_avg"``, ``"grad_avg"`` when
    centered, ``"momentum_buffer"`` when :math:`\mu > 0`), :math:`\alpha \in [0, 1)` is the
    smoothing constant, :math:`\eta` ``lr`` (default 0.01 as torch), :math:`\mu` ``momentum``.

    Reference: Tieleman & Hinton 2012; Graves, arXiv:1308.0850 (centred form);
    ``torch/optim/rmsprop.py``. Taught in: Part I, Optimizers from scratch.

    >>> p = {"w": np.array([0.0])}
    >>> opt = RMSprop(lr=0.01)
    >>> opt.step(p, {"w": np.array([2.0])})
    >>> round(float(p["w"][0]), 6)  # -lr * g / sqrt(0.01 g²) = -0.1
    -0.1
    """

    _hyper = ("lr", "alpha", "eps", "momentum", "centered", "weight_decay")

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 centered: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered,
                         weight_decay=weight_decay)

    def _set_hyper(self, lr, alpha, eps, momentum, centered, weight_decay):
        self.lr = check_nonneg("lr", lr)
        self.alpha = check_range("alpha", alpha, 0.0, 1.0, high_closed=False)
        self.eps = check_positive("eps", eps)
        self.momentum = check_nonneg("momentum", momentum)
        self.centered = _check_bool("centered", centered)
        self.weight_decay = check_nonneg("weight_decay", weight_decay)

    def _slots(self):
        return ({"square_avg"} | ({"grad_avg"} if self.centered else set())
                | ({"momentum_buffer"} if self.momentum > 0 else set()))

    def _update(self, p, g, st):
        if not st:
            st.update({s: np.zeros_like(p) for s in sorted(self._slots())})
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        sq = st["square_avg"]
        sq *= self.alpha
        sq += (1 - self.alpha) * g * g
        if self.centered:
            _lerp_(st["grad_avg"], g, 1 - self.alpha)
            avg = np.sqrt(sq - st["grad_avg"] * st["grad_avg"])
        else:
            avg = np.sqrt(sq)
        avg += self.eps
        if self.momentum > 0:
            buf = st["momentum_buffer"]
            buf *= self.momentum
            buf += g / avg
            p += -self.lr * buf
        else:
            p += -self.lr * g / avg


class Adam(_Optimizer):
    r"""Adam, optionally AMSGrad: bias-corrected moment estimates (torch.optim.Adam, L2 weight decay).

    .. math::

        \begin{gathered}
        g_t \leftarrow g_t + \lambda\theta_{t-1}, \\
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \\
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \\
        \hat v_t = \max(\hat v_{t-1}, v_t) \ \text{(AMSGrad)}, \\
        \theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t} \cdot \frac{m_t}{D_t}, \\
        D_t = \sqrt{v_t \text{ or } \hat v_t} / \sqrt{1-\beta_2^t} + \epsilon
        \end{gathered}

    where :math:`m_0 = v_0 = \hat v_0 = 0` (state keys ``"exp_avg"``, ``"exp_avg_sq"``,
    ``"max_exp_avg_sq"``), t counts steps from 1, :math:`\eta` is ``lr`` (default 1e-3 as torch) and
    :math:`\beta_1, \beta_2 \in [0, 1)`. The bias corrections are applied in torch's order (folded into
    the step size and the denominator), not as :math:`\hat m_t / (\sqrt{\hat v_t} + \epsilon)`; the
    two differ only in where ε sits and in rounding.

    Reference: Kingma & Ba 2015 (Algorithm 1); Reddi et al. 2018 (AMSGrad); ``torch/optim/adam.py``.
    Taught in: Part I, Optimizers from scratch.

    >>> p = {"w": np.array([1.0, 1.0])}
    >>> opt = Adam(lr=0.1)
    >>> opt.step(p, {"w": np.array([1e-3, -50.0])})
    >>> np.round(p["w"], 6).tolist()  # the first step is about lr * sign(g)
    [0.9, 1.1]
    """

    _hyper = ("lr", "betas", "eps", "weight_decay", "amsgrad")

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    def _set_hyper(self, lr, betas, eps, weight_decay, amsgrad):
        self.lr = check_nonneg("lr", lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(check_range(f"betas[{i}]", b, 0.0, 1.0, high_closed=False)
                           for i, b in enumerate(betas))
        self.eps = check_positive("eps", eps)
        self.weight_decay = check_nonneg("weight_decay", weight_decay)
        self.amsgrad = _check_bool("amsgrad", amsgrad)

    def _slots(self):
        return {"exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if self.amsgrad else set())

    def _update(self, p, g, st):
        if not st:
            st.update({s: np.zeros_like(p) for s in sorted(self._slots())})
        beta1, beta2 = self.betas
        if self.weight_decay != 0:
            g = g + self.weight_decay * p
        _lerp_(st["exp_avg"], g, 1 - beta1)
        v = st["exp_avg_sq"]
        v *= beta2
        v += (1 - beta2) * g * g
        step_size = self.lr / (1 - beta1 ** self.steps)
        bias_correction2_sqrt = (1 - beta2 ** self.steps) ** 0.5
        if self.amsgrad:
            np.maximum(st["max_exp_avg_sq"], v, out=st["max_exp_avg_sq"])
            v = st["max_exp_avg_sq"]
        denom = np.sqrt(v) / bias_correction2_sqrt
        denom += self.eps
        p += -step_size * st["exp_avg"] / denom
