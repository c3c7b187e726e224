"""Line-search Newton-CG (truncated Newton), as scipy's ``_minimize_newtoncg`` (scipy 1.17).

Each iteration solves ``H(xk) p = -g(xk)`` approximately with conjugate gradients started from
``p = 0`` (at most ``20 n`` inner steps), stopping when the residual's 1-norm falls below
``min(0.5, sqrt(|g|_1)) |g|_1`` or when a direction of non-positive curvature appears (the
steepest-descent step scaled by that curvature if it appears first, else the iterate so far).
A strong-Wolfe line search (`_linesearch.wolfe_line_search`) along ``p`` gives the step; the run
ends when the 1-norm of a step is at most ``n * xtol``.

Second-order information comes from `_hessian.make_hessian`: a ``hess`` callable (evaluated once
per iteration; if it returns an operator, each product counts as a Hessian evaluation),
``hessp``, ``hess`` in {'2-point', '3-point', 'cs'}, an update strategy (``BFGS()``, ``SR1()``)
or nothing (forward differences of the gradient with step ``eps``, not counted in ``nhev``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .._core.context import RunContext
from .._core.hessian import HessianSource, make_hessian
from .._result import MESSAGES, OptimizeResult
from .._search.wolfe import LineSearchFailed, wolfe_line_search

__all__ = ["minimize_newton_cg", "truncated_cg_direction"]

FloatArray = npt.NDArray[np.float64]
_EPSILON = float(np.sqrt(np.finfo(float).eps))
# scipy's Newton-CG leaves the line-search step limits at their defaults: [1e-8, 50] for the
# Moré–Thuente search and no upper limit for the zoom search
_WOLFE1_AMIN, _WOLFE1_AMAX = 1e-8, 50.0
_FLAT_CURVATURE = 3 * float(np.finfo(np.float64).eps)
_CG_NOT_CONVERGED = ("Warning: CG iterations didn't converge. The Hessian is not positive "
                     "definite.")


def truncated_cg_direction(product: Callable[[FloatArray], Any], grad: FloatArray,
                           maxiter: int) -> FloatArray | None:
    """Approximately solve ``H p = -grad`` by conjugate gradients from ``p = 0``.

    Parameters
    ----------
    product : callable
        ``product(v) -> H v``, shape (n,).
    grad : ndarray, shape (n,)
        Gradient at the current point.
    maxiter : int
        Most CG steps.

    Returns
    -------
    ndarray, shape (n,), or None
        The search direction; None when ``maxiter`` steps ran without meeting a stopping test.
    """
    b = -grad
    grad_l1 = float(np.linalg.norm(b, ord=1))
    tolerance = min(0.5, math.sqrt(grad_l1)) * grad_l1
    direction = np.zeros(grad.size, dtype=float)
    residual = grad.astype(float, copy=True)
    conj = -residual
    rr_old = float(np.dot(residual, residual))
    for i in range(maxiter):
        if np.add.reduce(np.abs(residual)) <= tolerance:
            return direction
        hp = np.asarray(product(conj), dtype=float).reshape(-1)
        curvature = float(np.dot(conj, hp))
        if 0 <= curvature <= _FLAT_CURVATURE:
            return direction
        if curvature < 0:
            # negative curvature: keep what CG has, or fall back to scaled steepest descent
            return direction if i > 0 else rr_old / (-curvature) * b
        alpha = rr_old / curvature
        direction += alpha * conj
        residual += alpha * hp
        rr_new = float(np.dot(residual, residual))
        conj = -residual + (rr_new / rr_old) * conj
        rr_old = rr_new
    return None


class _ProductCounter:
    """Hessian-vector products at one iterate, counted as scipy's Newton-CG counts them."""

    def __init__(self, source: HessianSource, xk: FloatArray, uses_matrix: bool) -> None:
        self.calls = 0
        self._source, self._xk = source, xk
        self._matrix: Any = None
        if uses_matrix:  # one Hessian per iteration, products with it are free
            self._matrix = source.hess(xk)
            self.calls = 1
        self._counted = source.kind != "gradient-difference"

    def __call__(self, p: FloatArray) -> Any:
        if self._matrix is not None:
            return self._matrix.dot(p)
        self.calls += self._counted
        return self._source.hessp(self._xk, p)


def minimize_newton_cg(ctx: RunContext, x0: FloatArray, *, xtol: float = 1e-5,
                       eps: float | FloatArray = _EPSILON, maxiter: int | None = None,
                       c1: float = 1e-4, c2: float = 0.9,
                       workers: Any = None) -> OptimizeResult:
    """Minimize a scalar function with the line-search Newton-CG method (``jac`` required).

    Options
    -------
    xtol : float
        Average relative error in the solution acceptable for convergence: the run stops when
        the 1-norm of a step is at most ``n * xtol``.
    eps : float or ndarray
        Step of the forward differences of the gradient used for Hessian-vector products when
        neither ``hess`` nor ``hessp`` is given.
    maxiter : int
        Maximum number of iterations (default ``200 * n``).
    c1 : float
        Armijo (sufficient decrease) constant of the line search.
    c2 : float
        Curvature constant of the line search (``0 < c1 < c2 < 1``).
    workers : int or map-like callable, optional
        Accepted for compatibility with scipy; finite differences are evaluated serially here.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac`` (the gradient at the last iterate where a Newton direction was
        computed, as scipy reports it), ``nfev``, ``njev``, ``nhev``, ``nit``, ``status`` (0
        success, 1 maxiter, 2 line search failure, 3 NaN or CG not converging), ``success``,
        ``message``.
    """
    if not (callable(ctx.jac) or ctx.jac is True):  # scipy drops '2-point' etc. here too
        raise ValueError("Jacobian is required for Newton-CG method")
    n = x0.size
    maxiter = 200 * n if maxiter is None else maxiter
    obj = ctx.make_objective(eps=eps)
    source = make_hessian(ctx, obj, method="Newton-CG", needs="optional",
                          eps=eps, n=n)  # type: ignore[arg-type]
    tracked = source.watch(obj)  # feeds a BFGS()/SR1() strategy at every new point
    its = ctx.iterations
    old_fval, gfk = tracked.fun_and_grad(x0)
    its.start(x0, old_fval, gfk)
    uses_matrix = source.uses_matrix(x0)
    xk = np.array(x0, dtype=float)
    old_old_fval: float | None = None
    hcalls = k = 0
    update_l1 = float(np.finfo(float).max)
    status, message = 0, MESSAGES["success"]
    while update_l1 > n * xtol:
        if k >= maxiter:
            status, message = 1, "Warning: " + MESSAGES["maxiter"]
            break
        gfk = tracked.grad(xk)
        product = _ProductCounter(source, xk, uses_matrix)
        pk = truncated_cg_direction(product, gfk, 20 * n)
        hcalls += product.calls
        if pk is None:
            status, message = 3, _CG_NOT_CONVERGED
            break
        try:
            alpha, old_fval, old_old_fval, gfkp1 = wolfe_line_search(
                tracked, xk, pk, gfk, old_fval, old_old_fval, c1=c1, c2=c2,
                amin=_WOLFE1_AMIN, amax=_WOLFE1_AMAX, zoom_amax=np.inf)
        except LineSearchFailed:
            status, message = 2, "Warning: " + MESSAGES["pr_loss"]
            break
        update = alpha * pk
        xk = xk + update
        k += 1
        its.step(xk, old_fval, gfkp1)
        update_l1 = float(np.linalg.norm(update, ord=1))
    else:
        if np.isnan(old_fval) or np.isnan(update_l1):
            status, message = 3, MESSAGES["nan"]
    return OptimizeResult(fun=old_fval, jac=gfk, nfev=obj.nfev, njev=obj.njev, nhev=hcalls,
                          status=status, success=status == 0, message=message, x=xk, nit=k)
