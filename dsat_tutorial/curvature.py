"""Curvature of the loss at the current weights: the largest Hessian eigenvalue, by power iteration on
Hessian-vector products.

What it is: the measurement behind the book's statement that the stable learning rate is set by
curvature -- gradient descent on an L-smooth objective is stable for η < 2/L, and L near a point is the
largest Hessian eigenvalue there (ERRATA 002-E5: not the parameter count). Each iteration costs one
double backward pass; the Hessian itself is never formed.
What it is not: an eigensolver for the whole spectrum (see PyHessian or Lanczos methods), nor a
guarantee about other points of the loss surface: L is measured where the weights are now.

References: B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation 6(1),
1994 (Hessian-vector products); J. Nocedal and S. J. Wright, *Numerical Optimization*, 2006 (η < 2/L).

Taught in: Part II, Choosing the initial learning rate.
"""

from __future__ import annotations

import torch

from ._validation import check_int

__all__ = ["top_hessian_eigenvalue"]


def top_hessian_eigenvalue(model: torch.nn.Module, loss_fn, X: torch.Tensor, y: torch.Tensor, *,
                           iters: int = 20, seed: int = 0) -> float:
    r"""Largest-magnitude eigenvalue of the Hessian of ``loss_fn(model(X), y)`` at the current weights.

    Power iteration on Hessian-vector products, returning the Rayleigh quotient of the last iterate:

    .. math::

        \begin{gathered}
        v_{k+1} = \frac{H v_k}{\|H v_k\|}, \qquad \lambda \approx v_k^\top H v_k, \\
        H v = \nabla_\theta\big(\nabla_\theta J(\theta)^\top v\big)
        \end{gathered}

    where :math:`H = \nabla^2_\theta J` over all parameters that require gradients, :math:`v_0` is a
    standard-normal vector drawn from ``torch.Generator().manual_seed(seed)``, and the product
    :math:`Hv` costs one double backward pass. The iteration converges to the eigenvalue of largest
    *magnitude* (negative if the loss is locally concave along that direction); its speed depends on
    the gap to the second one, so check convergence by increasing ``iters``.

    Args:
        model: the network; its weights are not changed and no ``.grad`` is left behind.
        loss_fn: ``loss_fn(outputs, targets) -> scalar``.
        X, y: the data the loss is evaluated on (the full batch, for the deterministic curvature).
        iters: power iterations (integer >= 1). seed: seeds the start vector.

    Returns:
        the eigenvalue estimate λ (a float); ``2 / λ`` is gradient descent's stability limit.

    Taught in: Part II, Choosing the initial learning rate.

    >>> _ = torch.manual_seed(0); lin = torch.nn.Linear(2, 1, bias=False)
    >>> X = torch.tensor([[3.0, 0.0], [0.0, 1.0]]); y = torch.zeros(2, 1)
    >>> round(top_hessian_eigenvalue(lin, torch.nn.MSELoss(), X, y), 6)   # H = X^T X * 2/N = diag(9, 1)
    9.0
    """
    iters = check_int("iters", iters)
    seed = check_int("seed", seed, minimum=0)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no parameters that require gradients")
    grads = torch.autograd.grad(loss_fn(model(X), y), params, create_graph=True)
    gen = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=gen, dtype=p.dtype).to(p.device) for p in params]
    eigenvalue = 0.0
    for _ in range(iters):
        norm = torch.sqrt(sum((u * u).sum() for u in v))
        v = [u / norm for u in v]
        hv = torch.autograd.grad(grads, params, v, retain_graph=True)   # H v
        eigenvalue = float(sum((a * b).sum() for a, b in zip(hv, v)))
        v = [h.detach() for h in hv]
    return eigenvalue
