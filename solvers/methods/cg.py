"""Nonlinear conjugate gradients (Polak–Ribière+), as scipy's ``_minimize_cg`` (scipy 1.17).

The direction is ``p+ = -g+ + beta p`` with ``beta = max(0, (g+ - g)^T g+ / g^T g)``.  Strong
Wolfe steps do not guarantee that ``p+`` is a descent direction for PR+, so the line search
accepts a step only if it either converges (``|g+| <= gtol``) or gives sufficient descent,
``p+^T g+ <= -0.01 |g+|^2`` (Gilbert & Nocedal, SIAM J. Optim. 2 (1992) 21-42).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._core.context import RunContext
from .._core.gradient_status import final_status, vecnorm
from .._core.objective import ScalarObjective
from .._result import OptimizeResult
from .._search.wolfe import LineSearchFailed, wolfe_line_search

__all__ = ["minimize_cg"]

FloatArray = npt.NDArray[np.float64]
_EPSILON = float(np.sqrt(np.finfo(float).eps))
_SUFFICIENT_DESCENT = 0.01   # sigma_3 of the descent check
#: ``(alpha, x_new, p_new, g_new, norm of g_new)``
Step = tuple[float, FloatArray, FloatArray, FloatArray, float]


class _PolakRibiereStep:
    """The PR+ step from ``xk`` along ``pk``; remembers the last one the descent check built."""

    def __init__(self, obj: ScalarObjective, xk: FloatArray, pk: FloatArray, gfk: FloatArray,
                 gtol: float, norm: float) -> None:
        self.obj, self.xk, self.pk, self.gfk = obj, xk, pk, gfk
        self.deltak = float(np.dot(gfk, gfk))
        self.gtol, self.norm = gtol, norm
        self.cached: Step | None = None

    def step(self, alpha: float, gfkp1: FloatArray | None = None) -> Step:
        """The new point, direction, gradient and gradient norm for step ``alpha``."""
        if self.cached is not None and self.cached[0] == alpha:
            return self.cached
        xkp1 = self.xk + alpha * self.pk
        if gfkp1 is None:
            gfkp1 = self.obj.grad(xkp1)
        beta_k = 0.0  # a zero gradient only gets here when gtol < 0
        if self.deltak != 0.0:
            beta_k = max(0.0, float(np.dot(gfkp1 - self.gfk, gfkp1)) / self.deltak)
        pkp1 = -gfkp1 + beta_k * self.pk
        return alpha, xkp1, pkp1, gfkp1, vecnorm(gfkp1, ord=self.norm)

    def descent_condition(self, alpha: float, xkp1: FloatArray, fkp1: float,
                          gfkp1: FloatArray) -> bool:
        """Accept a Wolfe step only if it converges or gives sufficient descent."""
        self.cached = self.step(alpha, gfkp1)
        _, _, pkp1, gfkp1, gnorm = self.cached
        if gnorm <= self.gtol:
            return True
        return bool(np.dot(pkp1, gfkp1) <= -_SUFFICIENT_DESCENT * np.dot(gfkp1, gfkp1))


def minimize_cg(ctx: RunContext, x0: FloatArray, *, gtol: float = 1e-5, norm: float = np.inf,
                eps: float | FloatArray = _EPSILON, maxiter: int | None = None,
                finite_diff_rel_step: Any = None, c1: float = 1e-4,
                c2: float = 0.4, workers: Any = None) -> OptimizeResult:
    """Minimize a scalar function with the nonlinear conjugate gradient method (PR+).

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
    c1 : float
        Armijo (sufficient decrease) constant of the line search.
    c2 : float
        Curvature constant of the line search (``0 < c1 < c2 < 1``).
    workers : int or map-like callable, optional
        Accepted for compatibility with scipy; finite differences are evaluated serially here.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``nfev``, ``njev``, ``nit``, ``status`` (0 success,
        1 maxiter, 2 precision loss, 3 NaN), ``success``, ``message``.
    """
    if maxiter is None:
        maxiter = 200 * x0.size
    obj = ctx.make_objective(eps=eps, rel_step=finite_diff_rel_step)
    its = ctx.iterations
    old_fval, gfk = obj.fun_and_grad(x0)
    its.start(x0, old_fval, gfk)
    old_old_fval = old_fval + float(np.linalg.norm(gfk)) / 2  # first trial step ~ 1 in x
    xk, pk = x0, -gfk
    k = 0
    failed = False
    gnorm = vecnorm(gfk, ord=norm)
    while gnorm > gtol and k < maxiter:
        pr = _PolakRibiereStep(obj, xk, pk, gfk, gtol, norm)
        try:
            alpha_k, old_fval, old_old_fval, gfkp1 = wolfe_line_search(
                obj, xk, pk, gfk, old_fval, old_old_fval, c1=c1, c2=c2,
                extra_condition=pr.descent_condition)
        except LineSearchFailed:
            failed = True
            break
        alpha_k, xk, pk, gfk, gnorm = pr.step(alpha_k, gfkp1)
        k += 1
        its.step(xk, old_fval, gfk)
    status, message = final_status(failed, k, maxiter, gnorm, old_fval, xk)
    return OptimizeResult(fun=old_fval, jac=gfk, nfev=obj.nfev, njev=obj.njev, status=status,
                          success=status == 0, message=message, x=xk, nit=k)
