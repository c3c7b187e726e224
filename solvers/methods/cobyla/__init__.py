"""COBYLA: Powell's constrained optimization by linear approximation, as scipy 1.17 runs it.

scipy 1.17 runs the PRIMA reference implementation of COBYLA; this module follows the same
algorithm (Powell 1994; Zhang's PRIMA): a simplex of n + 1 interpolation points, linear models of
the objective and of every constraint, a trust-region linear program for the step
(`lp`), the merit function ``f + cpen * max violation`` with a penalty that only grows at
a fixed resolution, geometry steps, and the resolution ``rho`` shrinking from ``rhobeg`` to
``rhoend = tol``.  The returned point is chosen from all evaluated points by PRIMA's filter
(`filter`), so the result is the best point found, not merely the last pole.

Same contract as scipy 1.17: options ``rhobeg``, ``tol``, ``maxiter`` (an evaluation budget),
``catol``, ``f_target``; result fields ``x``, ``fun``, ``nfev``, ``status`` (PRIMA's exit flag:
0 trust region at its lower bound, 1 target reached, 3 budget spent, 7 damaging rounding,
20 iteration cap), ``success``, ``message``, ``maxcv`` (largest constraint violation at ``x``);
plus ``nit``, the number of iterations reported to the callback.  A run whose best point violates
the constraints by more than ``catol`` ends with ``success=False`` and scipy's message "Did not
converge to a solution satisfying the constraints ...".

Deliberate differences from scipy 1.17, each to honour a promise scipy's COBYLA does not make:

* **bounds are hard**: ``x0`` is clipped into the bounds (scipy clips it only without other
  constraints), the initial simplex steps away from a near bound, every trial point is clipped
  into the box and a geometry step takes its other sign when only that one stays inside, so
  the objective and constraints are never evaluated outside the bounds and ``x`` respects them
  exactly (scipy's may violate them by up to ``catol``);
* **``maxiter`` is honoured exactly**: ``nfev <= maxiter`` always (scipy raises a budget below
  n + 2 to n + 2 with a warning);
* a NaN or infinite objective value ends the run with status -2 and the house message (scipy
  replaces it by 1e30 and continues).

A callback raising `StopIteration` ends the run with scipy's status 30 and message.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

from ..._core.context import RunContext
from ..._result import OptimizeResult, OptimizeWarning
from .iterate import INFO_REASONS, CobylaSettings, run_cobyla
from .problem import CobylaProblem, as_constraint_list

__all__ = ["minimize_cobyla"]

FloatArray = npt.NDArray[np.float64]

_EPS = float(np.finfo(float).eps)
NOT_FEASIBLE = ("Did not converge to a solution satisfying the constraints. See `maxcv` for "
                "the magnitude of the violation.")
ALL_FIXED = "All independent variables were fixed by bounds."


def trust_region_radii(rhobeg: float, tol: float) -> tuple[float, float]:
    """``(rhobeg, rhoend)`` repaired as PRIMA repairs them, with an `OptimizeWarning` if changed.

    A non-positive or non-finite ``rhobeg`` becomes ``max(10 tol, 1)``; a ``tol`` that is not
    in ``(0, rhobeg]`` becomes ``max(eps, min(rhobeg / 10, 1e-6))``.
    """
    rhobeg, rhoend = float(rhobeg), float(tol)
    if abs(rhobeg - rhoend) < 1e2 * _EPS * max(abs(rhobeg), 1.0):
        rhoend = rhobeg
    if not (np.isfinite(rhobeg) and rhobeg > 0):
        new = max(10 * rhoend, 1.0) if np.isfinite(rhoend) and rhoend > 0 else 1.0
        warnings.warn(f"COBYLA: invalid rhobeg={rhobeg!r}; it is set to {new}.",
                      OptimizeWarning, stacklevel=4)
        rhobeg = new
    if not (np.isfinite(rhoend) and 0 < rhoend <= rhobeg):
        new = max(_EPS, min(0.1 * rhobeg, 1e-6))
        warnings.warn(f"COBYLA: invalid tol={rhoend!r} (it must lie in (0, rhobeg]); "
                      f"it is set to {new}.", OptimizeWarning, stacklevel=4)
        rhoend = new
    return rhobeg, rhoend


def _budget(maxiter: int) -> int:
    budget = int(maxiter)
    if budget < 1:
        raise ValueError(f"COBYLA: 'maxiter' (the evaluation budget) must be >= 1, got {maxiter}.")
    return budget


def _all_fixed_result(problem: CobylaProblem, ctol: float) -> OptimizeResult:
    x = problem.x0
    f, constr = problem.evaluate(np.zeros(0))
    maxcv = problem.violation_of(constr)
    ok = maxcv <= ctol
    return OptimizeResult(x=x, fun=float(f), nfev=problem.objective.nfev, nit=0, status=0,
                          success=ok, message=ALL_FIXED if ok else NOT_FEASIBLE, maxcv=maxcv)


def minimize_cobyla(ctx: RunContext, x0: FloatArray, *, rhobeg: float = 1.0, tol: float = 1e-4,
                    maxiter: int = 1000, catol: float | None = None,
                    f_target: float = -np.inf) -> OptimizeResult:
    """Minimize with COBYLA (derivative-free; bounds, equality and inequality constraints).

    Options
    -------
    rhobeg : float
        Reasonable initial changes to the variables (the initial trust-region radius).
    tol : float
        Final accuracy in the optimization (not precisely guaranteed): the lower bound of the
        trust-region radius, ``rhoend``.
    maxiter : int
        Maximum number of function evaluations (honoured exactly).
    catol : float
        Absolute tolerance for constraint violations (default ``sqrt(eps)``): a point whose
        largest violation exceeds it is not a solution.
    f_target : float
        Stop when a feasible point with objective below ``f_target`` is found.
    """
    rhobeg, rhoend = trust_region_radii(rhobeg, tol)
    budget = _budget(maxiter)
    ctol = float(catol) if catol is not None else float(np.sqrt(_EPS))
    if np.isnan(ctol) or ctol < 0:
        ctol = float(np.sqrt(_EPS))
    obj = ctx.make_objective(use_jac=False, max_nfev=budget)
    problem = CobylaProblem(obj, as_constraint_list(ctx.constraints), np.asarray(x0, float),
                            ctx.lower, ctx.upper)
    if problem.n_free == 0:
        return _all_fixed_result(problem, ctol)
    settings = CobylaSettings(rhobeg=rhobeg, rhoend=rhoend, maxfun=budget, ctol=ctol,
                              ftarget=float(f_target))
    its = ctx.iterations
    out = run_cobyla(problem, settings, its)
    x = problem.expand(problem.clip(out.z))
    if its.last_x is None or not np.array_equal(its.last_x, x):
        # report the returned point as the last iteration, so that the callback's and the
        # trace's last entries are the result (PRIMA may return an earlier or a final point)
        its.step(x, out.f, nfev=obj.nfev, maxcv=out.cstrv)
    if out.cstrv > ctol:
        success, message = False, NOT_FEASIBLE
    else:
        success = out.info in (0, 1)
        message = "Return from COBYLA because " + INFO_REASONS[out.info]
    return OptimizeResult(x=x, fun=out.f, nfev=obj.nfev, nit=its.nit, status=out.info,
                          success=success, message=message, maxcv=out.cstrv)
