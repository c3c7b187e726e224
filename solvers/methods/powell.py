"""Powell's conjugate-direction method (``minimize(method='Powell')``), as scipy's.

Each iteration minimizes along every direction of the set in turn (`line_minimize`), then tries
the extrapolated point ``2 x_new - x_old``; when Powell's test says so, it minimizes along the
overall displacement and puts that displacement in place of the direction that gave the largest
decrease.  Derivative-free: every evaluation goes through `ScalarObjective.evaluate`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from .._core.context import RunContext
from .._result import MESSAGES, OptimizeResult, OptimizeWarning
from .._search.line_minimize import feasible_step_range, line_minimize

__all__ = ["minimize_powell"]

FloatArray = npt.NDArray[np.float64]


def iteration_limits(n: int, maxiter: float | None,
                     maxfev: float | None) -> tuple[float, float]:
    """Return ``(maxiter, maxfev)``: both ``1000 n`` when neither is given; a missing one is
    unlimited, unless the other is unlimited too (then it is ``1000 n``)."""
    default = n * 1000
    if maxiter is None and maxfev is None:
        return default, default
    if maxiter is None:
        return (default if maxfev == math.inf else math.inf), maxfev  # type: ignore[return-value]
    if maxfev is None:
        return maxiter, (default if maxiter == math.inf else math.inf)
    return maxiter, maxfev


def initial_directions(direc: Any, n: int) -> FloatArray:
    """Return a float copy of ``direc`` (identity when None), rows being the directions.

    Warns (`OptimizeWarning`) when the directions are not of full rank.

    Raises
    ------
    ValueError
        When ``direc`` is not an (n, n) array of finite numbers.
    """
    if direc is None:
        return np.eye(n, dtype=float)
    directions = np.array(direc, dtype=float)
    if directions.shape != (n, n):
        raise ValueError(f"'direc' must have shape ({n}, {n}), one direction per row; "
                         f"got shape {directions.shape}.")
    if not np.all(np.isfinite(directions)):
        raise ValueError("'direc' must hold finite numbers.")
    if np.linalg.matrix_rank(directions) != n:
        warnings.warn("direc input is not full rank, some parameters may not be optimized",
                      OptimizeWarning, stacklevel=4)
    return directions


def _replaces_direction(fx: float, fx2: float, fval: float, delta: float) -> bool:
    """Powell's test: is the overall displacement worth a line search and a direction slot?"""
    if not fx > fx2:
        return False
    t = 2.0 * (fx + fx2 - 2.0 * fval)
    gain = fx - fval - delta
    t *= gain * gain
    drop = fx - fx2
    t -= delta * drop * drop
    return t < 0.0


def _status(x: FloatArray, fval: float, nit: int, nfev: int, maxiter: float, maxfev: float,
            lower: FloatArray | None, upper: FloatArray | None) -> str:
    if lower is not None and upper is not None and (np.any(lower > x) or np.any(x > upper)):
        return "out_of_bounds"
    if nfev >= maxfev:
        return "maxfev"
    if nit >= maxiter:
        return "maxiter"
    if math.isnan(fval) or np.isnan(x).any():
        return "nan"
    return "success"


_STATUS_CODES = {"success": 0, "maxfev": 1, "maxiter": 2, "nan": 3, "out_of_bounds": 4}


def minimize_powell(ctx: RunContext, x0: FloatArray, *, xtol: float = 1e-4, ftol: float = 1e-4,
                    maxiter: int | None = None, maxfev: int | None = None,
                    direc: Any = None) -> OptimizeResult:
    """Minimize with the modified Powell algorithm (no derivatives).

    Options
    -------
    xtol : float
        Relative error in solution `xopt` acceptable for convergence.
    ftol : float
        Relative error in ``fun(xopt)`` acceptable for convergence.
    maxiter, maxfev : int
        Maximum allowed number of iterations and function evaluations.
        Will default to ``N*1000``, where ``N`` is the number of
        variables, if neither `maxiter` or `maxfev` is set. If both
        `maxiter` and `maxfev` are set, minimization will stop at the
        first reached.
    direc : ndarray
        Initial set of direction vectors for the Powell method (shape (N, N), one per row).
        Returned, updated, as ``result.direc``.
    """
    x = np.asarray(x0, dtype=float).flatten()
    n = x.size
    maxiter_, maxfev_ = iteration_limits(n, maxiter, maxfev)
    directions = initial_directions(direc, n)
    lower = upper = None
    if ctx.bounds is not None:
        lower, upper = ctx.bounds.lb, ctx.bounds.ub
    budget = None if maxfev_ == math.inf else math.ceil(maxfev_)
    if budget is not None and budget < 1:
        raise ValueError(f"'maxfev' must be at least 1 (the start needs one evaluation), "
                         f"got {maxfev!r}.")
    obj = ctx.make_objective(use_jac=False, max_nfev=budget)
    its = ctx.iterations
    evaluate, tol = obj.evaluate, xtol * 100
    fval = evaluate(x)
    its.start(x, fval)
    x_old, nit = x.copy(), 0
    while nit < maxiter_:
        fx, biggest, delta = fval, 0, 0.0
        for i in range(n):
            before = fval
            fval, x, _ = line_minimize(evaluate, x, directions[i], fval, tol=tol,
                                       lower=lower, upper=upper)
            if before - fval > delta:
                delta, biggest = before - fval, i
        nit += 1
        its.step(x, fval)
        if 2.0 * (fx - fval) <= ftol * (abs(fx) + abs(fval)) + 1e-20:
            break
        if obj.nfev >= maxfev_ or nit >= maxiter_ or (math.isnan(fx) and math.isnan(fval)):
            break
        displacement = x - x_old
        x_old = x.copy()
        reach = 1.0 if lower is None or upper is None else feasible_step_range(
            x, displacement, lower, upper)[1]
        fx2 = evaluate(x + min(reach, 1) * displacement)
        if _replaces_direction(fx, fx2, fval, delta):
            fval, x, step = line_minimize(evaluate, x, displacement, fval, tol=tol,
                                          lower=lower, upper=upper)
            if step.any():
                directions[biggest] = directions[-1]
                directions[-1] = step
    reason = _status(x, fval, nit, obj.nfev, maxiter_, maxfev_, lower, upper)
    return OptimizeResult(fun=fval, direc=directions, nit=nit, nfev=obj.nfev,
                          status=_STATUS_CODES[reason], success=reason == "success",
                          message=MESSAGES[reason], x=x)
