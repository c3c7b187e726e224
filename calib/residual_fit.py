"""Least-squares starts and standard errors of a problem with residuals.

`run_least_squares` is `calib.run.run_start` for the methods ``trf``, ``dogbox`` and ``lm``: it
hands the residuals (in the solver's internal units: log space for ``log=True`` parameters) to
`solvers.least_squares` with the internal box (``lm``: none, each point clipped into the box)
and records a `StartOutcome` exactly as `run_start` does for `minimize` (failures, time-outs
and warnings as data).  The stored ``fun`` is ``2 * cost``: the sum of squares ``sum(r**2)``
for the default ``loss = 'linear'`` (for a robust loss, twice scipy's robust cost), and so is
the trace's ``f``.  Status: ``converged`` when `least_squares` reports success (status 1-4),
``not_converged`` at ``max_nfev`` (status 0), ``failed`` for a non-finite sum of squares.
``nit`` counts the iterations (trf and dogbox: the callback's calls; lm, which has no
callback: the Jacobian evaluations after the first, 0 with a differenced Jacobian, for which
it reports none); ``nfev`` counts every residual evaluation, those made to difference the
Jacobian included (as `minimize`'s ``nfev`` does; scipy's `least_squares` leaves them out).

`residual_standard_errors` forms curve_fit's covariance ``s**2 (J^T J)^-1`` with
``s**2 = SSE / (m - p)``, ``m`` the number of residuals, ``J`` the residual Jacobian at the
point (the user's ``residuals_jacobian``, or central differences by the solvers' one
finite-difference routine, `solvers.approx_jacobian`, inside the bounds).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from calib.errors import ProblemError
from calib.run import (StartOutcome, _GuardedObjective, _IterationCounter, _ObjectiveFailed,
                       _TimeLimitReached, warnings_note)
from calib.status import StartStatus
from solvers import OptimizeResult, TraceArrays, approx_jacobian, least_squares

if TYPE_CHECKING:
    from calib.problem import Problem
    from calib.uncertainty import ParameterErrors

__all__ = ["run_least_squares", "residual_jacobian", "residual_standard_errors"]

FloatArray = npt.NDArray[np.float64]


class _GuardedResiduals(_GuardedObjective):
    """The internal-space residuals with the objective's deadline, clipping (lm) and
    bookkeeping (``best_f`` is the sum of squares)."""

    def __call__(self, z: FloatArray) -> FloatArray:  # type: ignore[override]
        self._check_time()
        point = self.feasible(z)
        self.nfev += 1
        assert self._problem.residuals is not None  # run_least_squares checked it
        try:
            r = np.asarray(self._problem.residuals(self._problem.to_natural(point),
                                                   self._problem.dataset.values), dtype=float)
        except BaseException as exc:  # noqa: BLE001 - SystemExit etc.: this start only
            raise _ObjectiveFailed(exc) from exc
        sse = float(np.sum(r * r)) if r.size else math.inf
        if not math.isfinite(sse):
            self.non_finite_seen = True
        elif sse < self.best_f:
            self.best_f, self.best_z = sse, point.copy()
        return r

    def jacobian(self, z: FloatArray) -> FloatArray:
        """The user's Jacobian in internal units: column j times ``x_j`` for a log parameter."""
        self._check_time()
        try:
            return _internal_jacobian(self._problem, self.feasible(z))
        except BaseException as exc:  # noqa: BLE001 - as for the residuals: this start only
            raise _ObjectiveFailed(exc) from exc


def _internal_jacobian(problem: Problem, z: FloatArray) -> FloatArray:
    assert problem.residuals_jacobian is not None
    x = problem.to_natural(z)
    jac = np.array(problem.residuals_jacobian(x, problem.dataset.values), dtype=np.float64)
    if jac.ndim == 2 and jac.shape[1] == x.size and problem.log_mask.any():
        jac[:, problem.log_mask] *= x[problem.log_mask]
    return jac


def run_least_squares(problem: Problem, x0: FloatArray, start: int, *,
                      time_limit: float | None) -> StartOutcome:
    """Solve ``problem`` (with residuals, method trf/dogbox/lm) from ``x0`` (natural units,
    checked by the caller); see the module docstring for what is recorded."""
    if problem.residuals is None:
        raise ProblemError(f"method {problem.method!r} needs a problem with residuals")
    began = time.perf_counter()
    guard = _GuardedResiduals(problem, began, time_limit,
                              clip=not problem.method_spec.supports_bounds)
    counter = _IterationCounter()
    result, failure, note = _solve(problem, problem.to_internal(x0), guard, counter)
    seconds = time.perf_counter() - began
    dataset = str(problem.dataset.name)
    if result is None:
        best_z = guard.best_z
        return StartOutcome(
            dataset=dataset, start=start, x0=x0,
            x=x0.copy() if best_z is None else _natural(problem, best_z),
            fun=math.nan if best_z is None else guard.best_f, success=False,
            status=failure[0], message=failure[1] + note, nit=counter.nit, nfev=guard.nfev,
            seconds=seconds)
    fun = 2.0 * float(result.cost)
    success = bool(result.success) and math.isfinite(fun)
    if not math.isfinite(fun) or (not success and guard.non_finite_seen):
        status = StartStatus.FAILED
    else:
        status = StartStatus.CONVERGED if success else StartStatus.NOT_CONVERGED
    nit = counter.nit if problem.method != "lm" else max(int(result.njev or 1) - 1, 0)
    return StartOutcome(
        dataset=dataset, start=start, x0=x0, x=_natural(problem, guard.feasible(result.x)),
        fun=fun, success=success, status=status, message=str(result.message) + note, nit=nit,
        nfev=guard.nfev, seconds=seconds, trace=_natural_trace(problem, guard, result))


def _natural(problem: Problem, z: FloatArray) -> FloatArray:
    """Natural units, inside the box to the last ulp (exp(log(upper)) may exceed upper)."""
    return np.clip(problem.to_natural(z), problem.lower, problem.upper)


def _natural_trace(problem: Problem, guard: _GuardedResiduals,
                   result: OptimizeResult) -> TraceArrays | None:
    trace = result.get("trace")
    if trace is None:
        return None
    arrays: TraceArrays = trace.to_arrays()
    x = _natural(problem, guard.feasible(arrays.x)) if arrays.x.size else arrays.x
    return TraceArrays(x=x, f=2.0 * arrays.f, grad_norm=arrays.grad_norm, nfev=arrays.nfev)


def _solve(problem: Problem, z0: FloatArray, guard: _GuardedResiduals,
           counter: _IterationCounter
           ) -> tuple[OptimizeResult | None, tuple[StartStatus, str], str]:
    """Run `least_squares`; (result or None, (status, message) if it raised, warnings note)."""
    bounds: Any = ((problem.internal_lower, problem.internal_upper)
                   if problem.method_spec.supports_bounds else (-np.inf, np.inf))
    jac: Any = guard.jacobian if problem.residuals_jacobian is not None else "2-point"
    callback = counter if problem.method != "lm" else None
    failure = (StartStatus.FAILED, "")
    result: OptimizeResult | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = least_squares(guard, z0, jac=jac, bounds=bounds, method=problem.method,
                                   callback=callback, trace=problem.trace,
                                   **dict(problem.options))
        except _TimeLimitReached:
            failure = (StartStatus.TIMEOUT,
                       f"time limit of {guard.time_limit:g} s per start reached")
        except _ObjectiveFailed as stop:
            failure = (StartStatus.FAILED, f"{type(stop.error).__name__}: {stop.error}")
        except Exception as exc:  # noqa: BLE001 - a solver error is recorded, not fatal
            failure = (StartStatus.FAILED, f"solver error: {type(exc).__name__}: {exc}")
        except BaseException as exc:  # noqa: BLE001 - SystemExit etc. from user code
            failure = (StartStatus.FAILED, f"{type(exc).__name__}: {exc}")
    return result, failure, warnings_note(caught)


# -- standard errors -----------------------------------------------------------------------------
def residual_jacobian(problem: Problem, x: FloatArray) -> FloatArray:
    """The residual Jacobian (m, p) at natural-unit ``x`` (p,): the user's, or central
    differences (one-sided at a bound) with steps ``eps**(1/3) max(1, |x|)`` inside the box."""
    assert problem.residuals is not None
    data = problem.dataset.values
    if problem.residuals_jacobian is not None:
        return np.array(problem.residuals_jacobian(x.copy(), data), dtype=np.float64)
    residuals = problem.residuals
    return approx_jacobian(lambda point: np.asarray(residuals(point, data), dtype=float), x,
                           method="3-point", lb=np.asarray(problem.lower),
                           ub=np.asarray(problem.upper))


def residual_standard_errors(problem: Problem, x: FloatArray) -> ParameterErrors:
    """curve_fit's standard errors at ``x`` (p,), natural units: ``cov = s**2 (J^T J)^-1``.

    ``s**2 = SSE / (m - p)`` with ``m`` residuals; ``hessian`` in the record is the
    Gauss-Newton Hessian ``2 J^T J`` of the sum of squares, ``n_observations`` is ``m``.
    """
    from calib.uncertainty import (ParameterErrors, _correlation, _information_criteria,
                                   _invert)

    assert problem.residuals is not None
    r = np.asarray(problem.residuals(x.copy(), problem.dataset.values), dtype=float).ravel()
    sse, m, p = float(r @ r), r.size, problem.n_parameters
    jac = residual_jacobian(problem, x).reshape(m, p)
    gauss_newton = 2.0 * (jac.T @ jac)
    covariance, positive_definite, message = _invert(gauss_newton, None, problem.names)
    message = message.replace("Hessian", "Gauss-Newton Hessian 2 J^T J", 1)
    if covariance is not None:
        if m <= p:
            covariance, message = None, (f"{message}; least-squares scaling needs more "
                                         f"residuals (m={m}) than parameters (p={p})")
        elif not math.isfinite(sse):
            covariance, message = None, f"{message}; the sum of squares is not finite"
        else:
            covariance = covariance * (2.0 * sse / (m - p))
    ses = (np.full(p, np.nan) if covariance is None
           else np.sqrt(np.diag(covariance)))
    aic, bic = _information_criteria("sse", sse, p, m)
    return ParameterErrors(names=problem.names, x=x, hessian=gauss_newton,
                           covariance=covariance, standard_errors=ses,
                           positive_definite=positive_definite, message=message, kind="sse",
                           correlation=_correlation(covariance), n_observations=m, fun=sse,
                           aic=aic, bic=bic)
