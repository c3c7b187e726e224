"""TNC: truncated Newton with bounds, as scipy's ``_minimize_tnc`` (scipy 1.17).

Nash's truncated-Newton method (the TNBC algorithm, in the C translation by Jean-Sebastien Roy
that scipy wraps): preconditioned CG on finite-difference Hessian-vector products for the
direction, a Gill-Murray safeguarded line search, an active set for the bounds and automatic
scaling of the variables and of f.  The building blocks are in `solvers.methods.tnc.core` (main loop),
`_tnc_direction`, `_tnc_linesearch` and `_tnc_active`.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.context import RunContext
from ..._result import OptimizeResult
from .active import Scaling
from .core import CONSTANT, MAXFUN, TncRun, TncSettings

__all__ = ["minimize_tnc", "RCSTRINGS"]

FloatArray = npt.NDArray[np.float64]

INFEASIBLE = -1
#: TNC's status codes and their messages (scipy's ``RCSTRINGS``)
RCSTRINGS: dict[int, str] = {
    -1: "Infeasible (lower bound > upper bound)",
    0: "Local minimum reached (|pg| ~= 0)",
    1: "Converged (|f_n-f_(n-1)| ~= 0)",
    2: "Converged (|x_n-x_(n-1)| ~= 0)",
    3: "Max. number of function evaluations reached",
    4: "Linear search failed",
    5: "All lower bounds are equal to the upper bounds",
    6: "Unable to progress",
    7: "User requested end of minimization",
}
_MESSAGE_LEVELS = {0: 0, 1: 1, 2: 2, 3: 4, 4: 8, 5: 15}
_MSG_EXIT = 8


def _vector_option(value: Any, n: int) -> FloatArray | None:
    """``scale``/``offset`` as an (n,) float array (None or empty: TNC's defaults)."""
    if value is None:
        return None
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == 0:
        return None
    if arr.shape != (n,):
        raise ValueError("tnc: vector sizes must be equal")
    return arr


def _bounds(ctx: RunContext, n: int) -> tuple[FloatArray, FloatArray]:
    if ctx.bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    return np.asarray(ctx.bounds.lb, dtype=float), np.asarray(ctx.bounds.ub, dtype=float)


def minimize_tnc(ctx: RunContext, x0: FloatArray, *, eps: float | FloatArray = 1e-8,
                 scale: Any = None, offset: Any = None, mesg_num: int | None = None,
                 maxCGit: int = -1, eta: float = -1, stepmx: float = 0, accuracy: float = 0,
                 minfev: float = 0, ftol: float = -1, xtol: float = -1, gtol: float = -1,
                 rescale: float = -1, finite_diff_rel_step: Any = None,
                 maxfun: int | None = None, workers: Any = None) -> OptimizeResult:
    """Minimize a scalar function with bounds by a truncated Newton (TNC) algorithm.

    Options
    -------
    eps : float or ndarray
        If ``jac`` is None, the absolute step of the forward differences for the gradient.
    scale : array_like, shape (n,)
        Scaling factors of the variables (absolute values used; 0 holds a variable constant).
        None: ``ub - lb`` for variables bounded on both sides, ``1 + |x0|`` for the others.
    offset : array_like, shape (n,)
        Value subtracted from each variable before scaling.  None: ``(ub + lb) / 2`` for
        variables bounded on both sides, ``x0`` for the others.
    mesg_num : int
        Messages printed to stderr: 0 none, 1 one line per iteration, 4 the exit reason,
        5 all (2 and 3 print nothing here).
    maxCGit : int
        Maximum number of Hessian-vector products per iteration; 0 takes the steepest-descent
        direction; < 0 means ``max(1, min(50, n // 2))``.
    eta : float
        Severity of the line search (accept when ``|phi'(t)| <= eta |phi'(0)|``); outside
        [0, 1) it is 0.25.
    stepmx : float
        Maximum step of the line search in scaled variables (grows when reached); below
        ``10 sqrt(machine eps)`` it is 10.
    accuracy : float
        Relative precision of the finite-difference Hessian-vector products; at most machine
        epsilon means ``sqrt(machine eps)``.
    minfev : float
        Estimate of the minimum function value (sets the first trial step).
    ftol : float
        Stop (status 1) when the change in f is at most ``ftol`` (in rescaled f units);
        < 0 means ``accuracy``.
    xtol : float
        Stop (status 2) when the step in scaled variables is at most ``xtol``; < 0 means
        ``sqrt(machine eps)``.
    gtol : float
        Stop (status 0) when the projected gradient in scaled variables is at most ``gtol``;
        < 0 means ``1e-2 * sqrt(accuracy)``.
    rescale : float
        Rescale f when ``|log10(|pg|)|`` exceeds it (0: every iteration); < 0 means 1.3.
    finite_diff_rel_step : None or array_like
        If ``jac`` is '2-point', '3-point' or 'cs', the relative step of the finite
        differences: ``h = rel_step * sign(x) * max(1, abs(x))``, adjusted to the bounds.
    maxfun : int
        Maximum number of objective-and-gradient evaluations (a finite-difference gradient
        costs n more function evaluations each); None means ``max(100, 10 n)``.
    workers : int or map-like callable, optional
        Accepted for compatibility with scipy; finite differences are evaluated serially here.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac`` (re-evaluated at ``x``), ``nfev``, ``nit``, ``status``
        (-1 to 7, see `RCSTRINGS`), ``message`` and ``success`` (status 0, 1 or 2).
    """
    n = x0.size
    messages = 0 if mesg_num is None else _MESSAGE_LEVELS.get(int(mesg_num), 15)
    scale_arr, offset_arr = _vector_option(scale, n), _vector_option(offset, n)
    settings = TncSettings.resolve(
        n, maxCGit=maxCGit, maxfun=max(100, 10 * n) if maxfun is None else maxfun, eta=eta,
        stepmx=stepmx, accuracy=accuracy, minfev=minfev, ftol=ftol, xtol=xtol, gtol=gtol,
        rescale=rescale, messages=messages)
    obj = ctx.make_objective(eps=eps, rel_step=finite_diff_rel_step)
    lb, ub = _bounds(ctx, n)
    x = np.array(x0, dtype=float)
    status = _run(ctx, obj, x, lb, ub, scale_arr, offset_arr, settings)
    if messages & _MSG_EXIT:
        print(f"tnc: {RCSTRINGS[status]}", file=sys.stderr)
    fun, jac = obj.fun_and_grad(x)  # scipy re-evaluates: x, f and g in sync
    if ctx.iterations.last_x is None:
        ctx.iterations.start(x, fun, jac)
    return OptimizeResult(x=x, fun=fun, jac=jac, nfev=obj.nfev, nit=ctx.iterations.nit,
                          status=status, message=RCSTRINGS[status],
                          success=-1 < status < 3)


def _run(ctx: RunContext, obj: Any, x: FloatArray, lb: FloatArray, ub: FloatArray,
         scale: FloatArray | None, offset: FloatArray | None, settings: TncSettings) -> int:
    """TNC's driver: checks, the first evaluation, then the main loop; ``x`` is updated in
    place to the final point.  Returns the status code."""
    if np.any(lb > ub):
        return INFEASIBLE
    np.clip(x, lb, ub, out=x)
    if settings.maxfun < 1:
        return MAXFUN
    f0, g0 = obj.fun_and_grad(x)
    ctx.iterations.start(x.copy(), f0, g0)
    constant = (lb == ub) | (np.zeros(x.size, bool) if scale is None else scale == 0.0)
    if constant.all():
        return CONSTANT
    scaling = Scaling.build(x, lb, ub, scale, offset)
    run = TncRun(obj, ctx.iterations, x, f0, g0, scaling, settings)
    status = run.solve()
    x[:] = scaling.to_x_in_bounds(run.z)
    return status
