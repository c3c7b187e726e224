"""BFGS quasi-Newton method, as scipy's ``_minimize_bfgs`` (scipy 1.17).

Each iteration steps along ``p = -H g`` with a strong-Wolfe line search (`_linesearch`), then
updates the inverse-Hessian estimate ``H`` with the BFGS formula
``H+ = (I - rho s y^T) H (I - rho y s^T) + rho s s^T`` (``rho = 1 / y^T s``, or 1000 when
``y^T s == 0``).  ``H`` starts as the identity (or ``hess_inv0``) and is not rescaled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._core.context import RunContext
from .._core.gradient_status import final_status, vecnorm
from .._result import OptimizeResult
from .._search.wolfe import LineSearchFailed, wolfe_line_search

__all__ = ["minimize_bfgs"]

FloatArray = npt.NDArray[np.float64]
_EPSILON = float(np.sqrt(np.finfo(float).eps))
_RHO_WHEN_SINGULAR = 1000.0


def _initial_inverse_hessian(hess_inv0: Any, n: int) -> FloatArray:
    """The starting inverse Hessian, shape (n, n): the identity or a checked ``hess_inv0``."""
    if hess_inv0 is None:
        return np.eye(n)
    h0 = np.array(hess_inv0, dtype=float)
    if h0.shape != (n, n):
        raise ValueError(f"'hess_inv0' must have shape ({n}, {n}), got {h0.shape}.")
    try:
        np.linalg.cholesky(h0)
        positive_definite = bool(np.array_equal(h0, h0.T))
    except np.linalg.LinAlgError:
        positive_definite = False
    if not positive_definite:
        raise ValueError("'hess_inv0' matrix isn't positive definite.")
    return h0


def _bfgs_update(hk: FloatArray, sk: FloatArray, yk: FloatArray, eye: FloatArray) -> FloatArray:
    """Return the BFGS update of the inverse Hessian ``hk`` for step ``sk`` and change ``yk``."""
    rhok_inv = float(np.dot(yk, sk))
    rhok = _RHO_WHEN_SINGULAR if rhok_inv == 0.0 else 1.0 / rhok_inv
    left = eye - sk[:, np.newaxis] * yk[np.newaxis, :] * rhok
    right = eye - yk[:, np.newaxis] * sk[np.newaxis, :] * rhok
    return np.dot(left, np.dot(hk, right)) + (rhok * sk[:, np.newaxis] * sk[np.newaxis, :])


def minimize_bfgs(ctx: RunContext, x0: FloatArray, *, gtol: float = 1e-5,
                  norm: float = np.inf, eps: float | FloatArray = _EPSILON,
                  maxiter: int | None = None, finite_diff_rel_step: Any = None,
                  xrtol: float = 0.0, c1: float = 1e-4, c2: float = 0.9,
                  hess_inv0: Any = None, workers: Any = None) -> OptimizeResult:
    """Minimize a scalar function with the BFGS quasi-Newton method.

    Options
    -------
    gtol : float
        Terminate successfully when the gradient norm is at most `gtol`.
    norm : float
        Order of that norm (``inf``: largest absolute entry, ``-inf``: smallest).
    eps : float or ndarray
        Absolute step of the forward differences used when ``jac`` is None.
    maxiter : int
        Maximum number of iterations (default ``200 * n``).
    finite_diff_rel_step : None or array_like
        Relative step for ``jac`` in {'2-point', '3-point', 'cs'}; the absolute step is
        ``rel_step * sign(x) * max(1, abs(x))``.  None picks it automatically.
    xrtol : float
        Terminate successfully when the step is shorter than ``xrtol * (xrtol + |xk|)``.
    c1 : float
        Armijo (sufficient decrease) constant of the line search.
    c2 : float
        Curvature constant of the line search (``0 < c1 < c2 < 1``).
    hess_inv0 : None or ndarray, shape (n, n)
        Initial inverse-Hessian estimate (symmetric positive definite); None: the identity.
    workers : int or map-like callable, optional
        Accepted for compatibility with scipy; finite differences are evaluated serially here.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``hess_inv`` (ndarray, shape (n, n)), ``nfev``, ``njev``,
        ``nit``, ``status`` (0 success, 1 maxiter, 2 precision loss, 3 NaN), ``success``,
        ``message``.
    """
    n = x0.size
    hk = _initial_inverse_hessian(hess_inv0, n)
    if maxiter is None:
        maxiter = 200 * n
    obj = ctx.make_objective(eps=eps, rel_step=finite_diff_rel_step)
    its = ctx.iterations
    old_fval, gfk = obj.fun_and_grad(x0)
    its.start(x0, old_fval, gfk)
    old_old_fval = old_fval + float(np.linalg.norm(gfk)) / 2  # first trial step ~ 1 in x
    eye = np.eye(n)
    xk = x0
    k = 0
    failed = False
    gnorm = vecnorm(gfk, ord=norm)
    while gnorm > gtol and k < maxiter:
        pk = -np.dot(hk, gfk)
        try:
            alpha_k, old_fval, old_old_fval, gfkp1 = wolfe_line_search(
                obj, xk, pk, gfk, old_fval, old_old_fval, c1=c1, c2=c2)
        except LineSearchFailed:
            failed = True
            break
        sk = alpha_k * pk
        xk = xk + sk
        if gfkp1 is None:
            gfkp1 = obj.grad(xk)
        yk = gfkp1 - gfk
        gfk = gfkp1
        k += 1
        its.step(xk, old_fval, gfk)
        gnorm = vecnorm(gfk, ord=norm)
        if gnorm <= gtol or alpha_k * vecnorm(pk) <= xrtol * (xrtol + vecnorm(xk)):
            break
        if not np.isfinite(old_fval):
            failed = True
            break
        hk = _bfgs_update(hk, sk, yk, eye)
    status, message = final_status(failed, k, maxiter, gnorm, old_fval, xk)
    return OptimizeResult(fun=old_fval, jac=gfk, hess_inv=hk, nfev=obj.nfev, njev=obj.njev,
                          status=status, success=status == 0, message=message, x=xk, nit=k)
