"""Run one start of a calibration problem and record what happened as a `StartOutcome`.

A start that goes wrong is data, not an exception: an objective that raises, returns NaN/inf,
or runs past the time limit gives an outcome with status ``'failed'`` or ``'timeout'`` and a
message.  Only programming errors in calib itself (and invalid arguments to `run_start`)
propagate.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from calib.constraints import (FEASIBILITY_TOLERANCE, ConstraintEvaluationError,
                               constraint_violation, solver_constraints)
from calib.derivatives import derivatives_for
from calib.errors import ProblemError
from calib.gradients import analytic_derivatives
from calib.problem import Problem
from calib.residuals import LEAST_SQUARES_METHODS
from calib.status import StartStatus
from solvers import MESSAGES, OptimizeResult, TraceArrays, minimize

__all__ = ["STATUSES", "StartOutcome", "StartStatus", "run_start", "check_x0", "warnings_note"]

FloatArray = npt.NDArray[np.float64]

#: every value `StartOutcome.status` can take (all but ``PENDING``, which only a store holds)
STATUSES: tuple[StartStatus, ...] = tuple(s for s in StartStatus if s is not StartStatus.PENDING)

_NON_FINITE_PREFIX = MESSAGES["non_finite"].split("{", 1)[0]
_MAX_WARNINGS_REPORTED = 3


@dataclass(frozen=True, eq=False)
class StartOutcome:
    """What one start of one dataset produced (a read-only record).

    Attributes
    ----------
    dataset : str
        Name of the dataset.
    start : int
        Index of the start within its dataset.
    x0 : ndarray, shape (p,)
        Start point in natural units.
    x : ndarray, shape (p,)
        Final point in natural units (for a failed start: the best finite point evaluated, or
        ``x0`` when there was none).
    fun : float
        Objective at ``x`` (NaN when no finite value was obtained).
    success : bool
        The solver's success flag (False for failed and timed-out starts, and for a start
        whose final point violates the problem's constraints).
    status : StartStatus
        One of `STATUSES` (equal to its name as a string): ``'converged'``,
        ``'not_converged'`` (the solver stopped without success, e.g. at ``maxiter``),
        ``'failed'`` (exception or non-finite value), ``'timeout'`` (time limit reached).
    message : str
        The solver's message, the exception as ``"Type: text"``, or the time-out note; warnings
        raised during the run are appended in parentheses.
    nit, nfev : int
        Iterations completed and objective evaluations made.
    seconds : float
        Wall-clock duration of the start.
    trace : solvers.TraceArrays or None
        Per-iteration trace with ``x`` in natural units, when the problem asks for traces and
        the solver returned (None for failed and timed-out starts).
    """

    dataset: str
    start: int
    x0: FloatArray
    x: FloatArray
    fun: float
    success: bool
    status: StartStatus
    message: str
    nit: int
    nfev: int
    seconds: float
    trace: TraceArrays | None = field(default=None, repr=False)


class _TimeLimitReached(BaseException):
    """Raised by the guarded objective once the deadline has passed (never escapes run_start).

    A BaseException so that no ``except Exception`` inside a solver can swallow it.
    """


class _ObjectiveFailed(BaseException):
    """Carries an exception raised by the user's objective out of the solver."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


class _GuardedObjective:
    """The internal-space objective with a deadline, optional clipping and bookkeeping."""

    def __init__(self, problem: Problem, began: float, time_limit: float | None,
                 clip: bool) -> None:
        self._problem = problem
        self.time_limit = time_limit
        self._deadline = None if time_limit is None else began + time_limit
        self._clip = clip
        self._lower, self._upper = problem.internal_lower, problem.internal_upper
        self.nfev = 0
        self.best_z: FloatArray | None = None
        self.best_f = np.inf
        self.non_finite_seen = False

    def feasible(self, z: npt.ArrayLike) -> FloatArray:
        """``z`` clipped into the internal box when this run clips, else unchanged."""
        arr = np.asarray(z, dtype=np.float64)
        return np.clip(arr, self._lower, self._upper) if self._clip else arr

    def _check_time(self) -> None:
        """Raise `_TimeLimitReached` once this start's deadline has passed."""
        if self._deadline is not None and time.perf_counter() > self._deadline:
            raise _TimeLimitReached()

    def __call__(self, z: FloatArray) -> object:
        self._check_time()
        point = self.feasible(z)
        self.nfev += 1
        try:
            value = self._problem.internal_objective(point)
        except BaseException as exc:  # SystemExit, KeyboardInterrupt: this start only
            raise _ObjectiveFailed(exc) from exc
        self._note(point, value)
        return value

    def gradient(self, z: FloatArray) -> FloatArray:
        """The problem's analytic internal-space gradient at ``z`` (clipped as the objective)."""
        self._check_time()
        try:
            return self._problem.internal_gradient(self.feasible(z))
        except BaseException as exc:  # as for the objective: this start only
            raise _ObjectiveFailed(exc) from exc

    def _note(self, point: FloatArray, value: object) -> None:
        try:
            f = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return  # the solver reports the bad return type itself
        if not math.isfinite(f):
            self.non_finite_seen = True
        elif f < self.best_f:
            self.best_f, self.best_z = f, point.copy()


class _IterationCounter:
    """``callback(xk)`` that counts completed iterations."""

    def __init__(self) -> None:
        self.nit = 0

    def __call__(self, xk: FloatArray) -> None:
        self.nit += 1


def warnings_note(caught: list[warnings.WarningMessage]) -> str:
    """`` (warnings: ...)`` naming the distinct warnings caught (at most three), or ``""``."""
    texts = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    if not texts:
        return ""
    shown = "; ".join(texts[:_MAX_WARNINGS_REPORTED])
    more = len(texts) - _MAX_WARNINGS_REPORTED
    return f" (warnings: {shown}" + (f"; and {more} more" if more > 0 else "") + ")"


def check_x0(problem: Problem, x0: npt.ArrayLike, start: int) -> FloatArray:
    """``x0`` as a float64 copy of shape (p,); ProblemError naming ``start`` when it has the
    wrong shape or lies outside the bounds."""
    arr = np.array(x0, dtype=np.float64)
    if arr.shape != (problem.n_parameters,):
        raise ProblemError(f"start {start}: x0 must have shape ({problem.n_parameters},), "
                           f"got {arr.shape}")
    outside = ~np.isfinite(arr) | (arr < problem.lower) | (arr > problem.upper)
    if outside.any():
        j = int(np.flatnonzero(outside)[0])
        par = problem.parameters[j]
        raise ProblemError(f"start {start}: x0[{par.name!r}] = {float(arr[j])!r} is outside "
                           f"its bounds [{par.lower!r}, {par.upper!r}]")
    return arr


def _natural_trace(problem: Problem, guard: _GuardedObjective,
                   result: OptimizeResult) -> TraceArrays | None:
    trace = result.get("trace")
    if trace is None:
        return None
    arrays: TraceArrays = trace.to_arrays()
    x = problem.to_natural(guard.feasible(arrays.x)) if arrays.x.size else arrays.x
    return TraceArrays(x=x, f=arrays.f, grad_norm=arrays.grad_norm, nfev=arrays.nfev)


def _classify(result: OptimizeResult, guard: _GuardedObjective) -> StartStatus:
    fun = float(result.get("fun", np.nan))
    non_finite_stop = str(result.get("message", "")).startswith(_NON_FINITE_PREFIX)
    if not np.isfinite(fun) or (not result.success and (non_finite_stop or guard.non_finite_seen)):
        return StartStatus.FAILED
    return StartStatus.CONVERGED if result.success else StartStatus.NOT_CONVERGED


def run_start(problem: Problem, x0: npt.ArrayLike, start: int, *,
              time_limit: float | None = None) -> StartOutcome:
    """Minimise ``problem`` from one start point and record the outcome.

    A problem with residuals and a least-squares method (``trf``, ``dogbox``, ``lm``) runs
    `solvers.least_squares` instead (`calib.residual_fit.run_least_squares`), recorded alike.

    The solver works in internal space (log space for ``log=True`` parameters).  Methods that
    take bounds get the internal box as `solvers.Bounds`; for methods that do not, every point
    is clipped into the box before the objective is evaluated, and the reported ``x`` (and the
    trace) is the clipped point, so the objective is never called outside the bounds.

    A problem with constraints hands them to the solver in internal coordinates
    (`calib.constraints.solver_constraints`).  A start the solver calls successful but whose
    final point violates a constraint by more than `calib.constraints.FEASIBILITY_TOLERANCE`
    is ``'not_converged'`` (success False), and a start the solver ends unsuccessfully (an
    infeasible problem included) is ``'not_converged'`` with the solver's message; a
    constraint function that raises or returns a non-finite value fails the start with a
    message naming it.

    Parameters
    ----------
    problem : Problem
        The calibration problem (objective, parameters, dataset, method, options, trace).
    x0 : array_like, shape (p,)
        Start point in natural units, inside the bounds.
    start : int
        Index of this start within its dataset (recorded in the outcome).
    time_limit : float, optional
        Seconds (> 0).  The limit is checked before each objective evaluation; once passed, the
        run stops with status ``'timeout'``.  A single evaluation that never returns is not
        interrupted here: `calib.isolation` runs starts in a child process that it kills at a
        hard limit.

    Returns
    -------
    StartOutcome
        Never raised for objective failures: an exception from the objective gives status
        ``'failed'`` and message ``"Type: text"`` (any `BaseException`: ``SystemExit`` and
        ``KeyboardInterrupt`` raised by the objective or a constraint fail this start only); a
        NaN/inf value gives ``'failed'`` with the
        solver's message; the time limit gives ``'timeout'``; an exception raised by the solver
        itself gives ``'failed'`` with message ``"solver error: Type: text"``.  Warnings raised
        during the run are captured (not re-raised) and appended to the message.  Warning
        capture uses `warnings.catch_warnings`, which is not thread-safe: run starts in
        processes, or in one thread per process.

    Raises
    ------
    ProblemError
        For ``x0`` of the wrong shape or outside the bounds, or a non-positive ``time_limit``.
    """
    x0_arr = check_x0(problem, x0, start)
    if time_limit is not None and not time_limit > 0:
        raise ProblemError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    if problem.residuals is not None and problem.method in LEAST_SQUARES_METHODS:
        from calib.residual_fit import run_least_squares  # imports this module

        return run_least_squares(problem, x0_arr, int(start), time_limit=time_limit)
    began = time.perf_counter()
    guard = _GuardedObjective(problem, began, None if time_limit is None else float(time_limit),
                              clip=not problem.method_spec.supports_bounds)
    counter = _IterationCounter()
    result, failure, note = _solve(problem, problem.to_internal(x0_arr), guard, counter)
    seconds = time.perf_counter() - began
    dataset, start = str(problem.dataset.name), int(start)
    if result is None:
        best_z = guard.best_z
        return StartOutcome(
            dataset=dataset, start=start, x0=x0_arr,
            x=x0_arr.copy() if best_z is None else problem.to_natural(best_z),
            fun=float("nan") if best_z is None else float(guard.best_f), success=False,
            status=failure[0], message=failure[1] + note, nit=counter.nit, nfev=guard.nfev,
            seconds=seconds)
    x = problem.to_natural(guard.feasible(result.x))
    status, message = _classify(result, guard), str(result.get("message", ""))
    success = bool(result.success)
    if status is StartStatus.CONVERGED and problem.constraints:
        status, message = _check_feasible(problem, x, message)
        success = status is StartStatus.CONVERGED
    return StartOutcome(
        dataset=dataset, start=start, x0=x0_arr, x=x,
        fun=float(result.get("fun", np.nan)), success=success,
        status=status, message=message + note,
        nit=int(result.get("nit", counter.nit)), nfev=int(result.get("nfev", guard.nfev)),
        seconds=seconds, trace=_natural_trace(problem, guard, result))


def _check_feasible(problem: Problem, x: FloatArray,
                    message: str) -> tuple[StartStatus, str]:
    """(CONVERGED, message), or (NOT_CONVERGED, ...) when ``x`` violates a constraint."""
    try:
        violation = constraint_violation(problem, x)
    except ConstraintEvaluationError as exc:
        return StartStatus.FAILED, str(exc)
    if violation > FEASIBILITY_TOLERANCE:
        return StartStatus.NOT_CONVERGED, (f"{message} (but the constraints are violated by "
                                           f"{violation:.3g} at the final point)")
    return StartStatus.CONVERGED, message


def _solve(problem: Problem, z0: FloatArray, guard: _GuardedObjective,
           counter: _IterationCounter
           ) -> tuple[OptimizeResult | None, tuple[StartStatus, str], str]:
    """Run the solver; return (result or None, (status, message) if it raised, warnings note)."""
    bounds = problem.internal_bounds if problem.method_spec.supports_bounds else None
    extra = (analytic_derivatives(problem.method_spec, guard.gradient)
             if problem.gradient is not None and problem.method_spec.uses_jac
             else derivatives_for(problem.method_spec, guard))
    if problem.constraints:
        extra["constraints"] = solver_constraints(problem)
    failure = (StartStatus.FAILED, "")
    result: OptimizeResult | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = minimize(guard, z0, method=problem.method, bounds=bounds, callback=counter,
                              options=dict(problem.options, trace=problem.trace), **extra)
        except _TimeLimitReached:
            failure = (StartStatus.TIMEOUT,
                       f"time limit of {guard.time_limit:g} s per start reached")
        except _ObjectiveFailed as stop:
            failure = (StartStatus.FAILED, f"{type(stop.error).__name__}: {stop.error}")
        except ConstraintEvaluationError as stop:
            failure = (StartStatus.FAILED, str(stop))
        except Exception as exc:  # noqa: BLE001 - a solver crash is recorded, not fatal
            failure = (StartStatus.FAILED, f"solver error: {type(exc).__name__}: {exc}")
        except BaseException as exc:  # noqa: BLE001 - SystemExit etc. from user code
            failure = (StartStatus.FAILED, f"{type(exc).__name__}: {exc}")
    return result, failure, warnings_note(caught)
