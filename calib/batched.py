"""Run many starts of one problem at once through the batched solver core.

`batch_applies` says when a problem can take this path: it has a vectorised objective
(``Problem.objective_batch``: every built-in model, a user objective with ``vectorized``), no
constraints, and a method the batched core implements (L-BFGS-B, BFGS, Nelder-Mead).
`run_batch` then gives the same `StartOutcome` records as a loop over `calib.run.run_start`:
same statuses, natural-unit points, traces; a start's result does not depend on which other
starts share its batch (the batched core decides per start).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from calib.problem import Problem
from calib.run import StartOutcome, check_x0, run_start, warnings_note
from calib.status import StartStatus
from solvers import MESSAGES, TraceArrays, minimize_batch

__all__ = ["BATCH_METHODS", "batch_applies", "run_batch"]

FloatArray = npt.NDArray[np.float64]

#: the methods the batched core implements (scipy spelling, as `Problem.method` holds them)
BATCH_METHODS: tuple[str, ...] = ("L-BFGS-B", "BFGS", "Nelder-Mead")

_FAILURE_PREFIXES = (MESSAGES["non_finite"].split("{", 1)[0], "The objective function raised")


class _BatchTimeLimit(BaseException):
    """Raised by the batched objective once the batch's deadline has passed."""


def batch_applies(problem: Problem) -> bool:
    """True when ``problem``'s starts can run through the batched core (see the module doc)."""
    return (problem.objective_batch is not None and not problem.constraints
            and problem.method in BATCH_METHODS)


class _BatchObjective:
    """``F(Z (m, p)) -> (m,)`` in internal units: the vectorised objective at natural units,
    clipped into the box for methods that do not take bounds, with a deadline."""

    def __init__(self, problem: Problem, deadline: float | None, clip: bool) -> None:
        self._problem = problem
        self._deadline = deadline
        self._clip = clip
        self._batch = problem.objective_batch
        self._values = problem.dataset.values

    def feasible(self, z: FloatArray) -> FloatArray:
        """``z`` clipped into the internal box when this run clips, else unchanged."""
        if not self._clip:
            return z
        return np.clip(z, self._problem.internal_lower, self._problem.internal_upper)

    def __call__(self, z: FloatArray) -> Any:
        if self._deadline is not None and time.perf_counter() > self._deadline:
            raise _BatchTimeLimit()
        assert self._batch is not None  # batch_applies checked it
        return self._batch(self._problem.to_natural(self.feasible(z)), self._values)

    def gradient(self, z: FloatArray) -> FloatArray:
        """``G(Z (m, p)) -> (m, p)``: the problem's analytic internal-space gradients."""
        if self._deadline is not None and time.perf_counter() > self._deadline:
            raise _BatchTimeLimit()
        return self._problem.internal_gradient_batch(self.feasible(z))


def run_batch(problem: Problem, starts: npt.ArrayLike, first: int, *,
              time_limit: float | None = None) -> list[StartOutcome]:
    """Minimise ``problem`` from every row of ``starts`` at once; one outcome per start.

    Parameters
    ----------
    problem : Problem
        A problem for which `batch_applies` is True.
    starts : array_like, shape (k, p)
        Start points in natural units, inside the bounds; row ``i`` is start ``first + i``.
    first : int
        Index of the first start within its dataset.
    time_limit : float, optional
        Seconds per start (> 0).  The batch may run ``k * time_limit`` seconds in all; past
        that it is abandoned and every start reruns alone under `run_start` with its own
        limit, so time-outs are recorded per start as on the per-start path.  A vectorised
        objective that raises a `BaseException` that is not an `Exception` (``SystemExit``,
        ``KeyboardInterrupt``) abandons the batch the same way: the per-start reruns fail only
        the starts that raise it.

    Returns
    -------
    list of StartOutcome
        In start order.  ``seconds`` is the batch's wall time divided by its starts.  A start
        whose objective raised or returned NaN/inf is ``'failed'`` with the batched core's
        message; warnings raised during the batch are appended to every start's message.

    Raises
    ------
    ProblemError
        For a start of the wrong shape or outside the bounds, or a non-positive time limit.
    ValueError
        When ``batch_applies(problem)`` is False, or the vectorised objective returns the wrong
        shape (a programming error in it).
    """
    if not batch_applies(problem):
        raise ValueError(f"problem (method {problem.method!r}) cannot run batched; see "
                         "calib.batched.batch_applies")
    x0 = np.array([check_x0(problem, x, first + i) for i, x in enumerate(np.asarray(starts))],
                  dtype=np.float64).reshape(-1, problem.n_parameters)
    if time_limit is not None and not time_limit > 0:
        from calib.errors import ProblemError

        raise ProblemError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    began = time.perf_counter()
    deadline = None if time_limit is None else began + time_limit * len(x0)
    objective = _BatchObjective(problem, deadline, clip=not problem.method_spec.supports_bounds)
    bounds = problem.internal_bounds if problem.method_spec.supports_bounds else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = minimize_batch(objective, problem.to_internal(x0), method=problem.method,
                                    bounds=bounds, options=problem.options, trace=problem.trace,
                                    jac=None if problem.gradient is None else objective.gradient)
        except _BatchTimeLimit:
            result = None
        except Exception:  # the batched core's own errors (a wrong shape): not a start's
            raise
        except BaseException:  # noqa: BLE001 - SystemExit etc. from the vectorised objective:
            result = None      # each start reruns alone, and only the culprit fails
    if result is None:
        return [run_start(problem, x, first + i, time_limit=time_limit)
                for i, x in enumerate(x0)]
    seconds = (time.perf_counter() - began) / max(len(x0), 1)
    note = warnings_note(caught)
    outcomes = []
    for i, start_x0 in enumerate(x0):
        z = objective.feasible(result.x[i])
        status = _classify(bool(result.success[i]), float(result.fun[i]), result.message[i])
        outcomes.append(StartOutcome(
            dataset=str(problem.dataset.name), start=first + i, x0=start_x0,
            x=problem.to_natural(z), fun=float(result.fun[i]),
            success=status is StartStatus.CONVERGED, status=status,
            message=result.message[i] + note, nit=int(result.nit[i]), nfev=int(result.nfev[i]),
            seconds=seconds,
            trace=None if result.traces is None or status is StartStatus.FAILED else
            _natural_trace(problem, objective, result.traces[i].to_arrays())))
    return outcomes


def _classify(success: bool, fun: float, message: str) -> StartStatus:
    if not np.isfinite(fun) or (not success and message.startswith(_FAILURE_PREFIXES)):
        return StartStatus.FAILED
    return StartStatus.CONVERGED if success else StartStatus.NOT_CONVERGED


def _natural_trace(problem: Problem, objective: _BatchObjective,
                   arrays: TraceArrays) -> TraceArrays:
    x = problem.to_natural(objective.feasible(arrays.x)) if arrays.x.size else arrays.x
    return TraceArrays(x=x, f=arrays.f, grad_norm=arrays.grad_norm, nfev=arrays.nfev)
