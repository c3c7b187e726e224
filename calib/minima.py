"""Verified minima: which converged end points of one dataset are real local minima.

A solver's "converged" is a statement about its own stopping test; on flat or badly scaled
objectives (GARCH near ``omega -> 0``, OU on a ridge) starts stop early at points that are not
minima, and counting their distinct end points as distinct minima overstates how multimodal a
problem is.  `verify_minima` checks the candidates itself:

1. The converged, finite end points are grouped as `calib.selection.cluster_minima` groups them
   (same point to ``x_tol`` of the box, same value to ``f_rtol``); each group is represented by
   its lowest point.
2. **Stationarity.** At each representative, the projected gradient of the objective in natural
   coordinates scaled to the unit box (``u = (x - lower) / (upper - lower)``), by central
   differences (one-sided at a bound) with step `STATIONARITY_STEP` in ``u``; a component at a
   bound pointing out of the box counts as zero.  (With constraints, where a binding
   constraint leaves a gradient, this test is left to the polish, which solves the constrained
   problem.)  Natural, not log, coordinates: a log-scale
   parameter's gradient ``x df/dx`` vanishes as ``x -> 0`` however steep ``f`` is there, which
   is exactly where solvers stop early (GARCH's omega).  Stationary when its largest component is at
   most `STATIONARITY_GTOL` ``* max(1, |f|)``: moving across the whole box along any free
   coordinate would change ``f`` by at most that fraction, to first order.
3. **Polish.** The best `POLISH_CANDIDATES` representatives (by value) are re-solved from their
   end points with tight tolerances (L-BFGS-B, or SLSQP when the problem has constraints), in
   natural coordinates for the same reason.  A representative is a verified minimum when its
   polish ends at a stationary point and neither lowers ``f`` by more than ``f_rtol`` nor moves
   it by more than ``x_tol`` (the polish, far tighter than the test, overrules a
   representative's own failed test); polished end points that coincide (same tolerances) are
   one minimum.  Representatives beyond the polished ones count as minima
   only when stationary.

Premature stops are the converged starts whose group is not a verified minimum; hits are the
starts whose own end point is the best verified minimum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from calib.problem import Problem
from calib.run import run_start
from calib.selection import DEFAULT_F_RTOL, DEFAULT_X_TOL, cluster_minima
from solvers import approx_gradient

__all__ = ["BOUND_FRACTION", "POLISH_CANDIDATES", "STATIONARITY_GTOL", "STATIONARITY_STEP",
           "MinimaReport", "verify_minima"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: largest projected gradient component, in f units per box width, relative to max(1, |f|)
STATIONARITY_GTOL = 1e-3
#: finite-difference step in box units (1e-6 of each parameter's internal range)
STATIONARITY_STEP = 1e-6
#: how many of the best distinct candidates are polished
POLISH_CANDIDATES = 5
#: a best parameter within this fraction of its internal range of a bound is "at the bound"
BOUND_FRACTION = 1e-4
#: two verified minima whose values differ by less than this (relative to max(1, |f|)) are close
CLOSE_MINIMA_RTOL = 1e-3

_POLISH_OPTIONS = {"L-BFGS-B": {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000, "maxfun": 20000},
                   "SLSQP": {"ftol": 1e-14, "maxiter": 1000}}


@dataclass(frozen=True, eq=False)
class MinimaReport:
    """The verified minima of one dataset (a read-only record).

    Attributes
    ----------
    dataset : str
        Dataset name.
    best_start : int or None
        Row of the start whose group gave the best verified minimum (None when none).
    fun : float
        The best verified minimum's value after the polish (NaN when none).
    x : ndarray, shape (p,), or None
        Its point, natural units (None when none).
    n_minima : int
        Number of verified distinct minima.
    hits : int
        Converged starts whose own end point is the best minimum.
    n_premature : int
        Converged starts whose end point is not a verified minimum (not stationary, or the
        polish moved it to a lower or other point).
    minima_fun : ndarray, shape (n_minima,)
        The verified minima's values, ascending.
    minima_x : ndarray, shape (n_minima, p)
        Their points, natural units.
    labels : ndarray of int, shape (S,)
        Per start: the index of the verified minimum its end point is (into ``minima_fun``), or
        -1 (not converged, premature, or not polished and not stationary).
    stationary : ndarray of bool, shape (S,)
        Per start: its group passed the stationarity test (False for unusable starts).
    at_bound : tuple of str
        Parameters of the best point within `BOUND_FRACTION` of their range of a bound.
    warnings : tuple of str
        Warnings worth a user's attention (see `verify_minima`).
    """

    dataset: str
    best_start: int | None
    fun: float
    x: FloatArray | None
    n_minima: int
    hits: int
    n_premature: int
    minima_fun: FloatArray
    minima_x: FloatArray
    labels: IntArray
    stationary: npt.NDArray[np.bool_]
    at_bound: tuple[str, ...]
    warnings: tuple[str, ...]


def verify_minima(problem: Problem, x: npt.ArrayLike, fun: npt.ArrayLike, ok: npt.ArrayLike, *,
                  x_tol: float = DEFAULT_X_TOL, f_rtol: float = DEFAULT_F_RTOL,
                  polish: int = POLISH_CANDIDATES) -> MinimaReport:
    """Verify which converged end points of one dataset are local minima.

    Parameters
    ----------
    problem : Problem
        The dataset's problem (its objective is evaluated: ``2 p`` values per distinct
        candidate, plus the polishes).
    x : array_like, shape (S, p)
        Final points, natural units.
    fun : array_like, shape (S,)
        Final values.
    ok : array_like of bool, shape (S,)
        True for the converged starts; the others are ignored.
    x_tol, f_rtol : float
        Same-point tolerances (see `calib.selection.cluster_minima`).
    polish : int
        How many of the best distinct candidates to polish.

    Returns
    -------
    MinimaReport
        Warnings: the best minimum was reached by one start only; two verified minima within
        `CLOSE_MINIMA_RTOL` of each other in value; the best point at a bound; every converged
        start premature; no converged start.
    """
    p = problem.n_parameters
    x_arr = np.asarray(x, dtype=np.float64).reshape(-1, p)
    fun_arr = np.asarray(fun, dtype=np.float64).reshape(-1)
    ok_arr = np.asarray(ok, dtype=bool).reshape(-1)
    n = fun_arr.size
    labels = np.full(n, -1, dtype=np.int64)
    stationary = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(ok_arr & np.isfinite(fun_arr) & np.all(np.isfinite(x_arr), axis=1))
    if rows.size == 0:
        return _empty(problem, labels, stationary, "no start converged: there is no minimum")
    width = problem.internal_upper - problem.internal_lower
    unit = (problem.to_internal(x_arr[rows]) - problem.internal_lower) / width
    groups = cluster_minima(unit, fun_arr[rows], x_tol=x_tol, f_rtol=f_rtol)
    reps = [int(rows[np.flatnonzero(groups == g)[np.argmin(fun_arr[rows][groups == g])]])
            for g in range(int(groups.max()) + 1)]
    rep_stationary = [_is_stationary(problem, x_arr[r], fun_arr[r]) for r in reps]
    found_x: list[FloatArray] = []
    found_f: list[float] = []
    rep_minimum: list[int] = []
    for k, (rep, is_stationary) in enumerate(zip(reps, rep_stationary)):
        if k < polish:
            end_x, end_f = _polish(problem, x_arr[rep], fun_arr[rep])
            moved = not _same_point(problem, x_arr[rep], fun_arr[rep], end_x, end_f, x_tol, f_rtol)
            if not _is_stationary(problem, end_x, end_f):
                rep_minimum.append(-1)
                continue
            index = _match(problem, found_x, found_f, end_x, end_f, x_tol, f_rtol)
            if index < 0:
                found_x.append(end_x)
                found_f.append(end_f)
                index = len(found_f) - 1
            rep_minimum.append(-1 if moved else index)  # the tight polish confirms it
            if moved:
                continue
        elif is_stationary:
            found_x.append(x_arr[rep].copy())
            found_f.append(float(fun_arr[rep]))
            rep_minimum.append(len(found_f) - 1)
        else:
            rep_minimum.append(-1)
    for g, rep in enumerate(reps):
        members = rows[groups == g]
        stationary[members] = rep_stationary[g]
        labels[members] = rep_minimum[g]
    if not found_f:
        return _empty(problem, labels, stationary,
                      "no converged start is a verified minimum (every one stopped early)",
                      n_premature=int(rows.size))
    order = np.argsort(found_f, kind="stable")
    renumber = np.empty(len(order), dtype=np.int64)
    renumber[order] = np.arange(len(order))
    labels = np.where(labels >= 0, renumber[np.maximum(labels, 0)], -1)
    minima_f = np.array(found_f)[order]
    minima_x = np.array(found_x).reshape(-1, p)[order]
    best_x, best_f = minima_x[0], float(minima_f[0])
    hit_rows = [r for r in rows if _same_point(problem, x_arr[r], fun_arr[r], best_x, best_f,
                                               x_tol, f_rtol)]
    best_rep = int(min(rows[labels[rows] == 0], key=lambda r: fun_arr[r])) if np.any(
        labels[rows] == 0) else int(reps[0])
    at_bound = _at_bound(problem, best_x)
    n_premature = int(np.count_nonzero(labels[rows] < 0))
    return MinimaReport(
        dataset=problem.dataset.name, best_start=best_rep, fun=best_f, x=best_x.copy(),
        n_minima=int(minima_f.size), hits=len(hit_rows), n_premature=n_premature,
        minima_fun=minima_f, minima_x=minima_x, labels=labels, stationary=stationary,
        at_bound=at_bound, warnings=_warnings(len(hit_rows), minima_f, at_bound))


def _empty(problem: Problem, labels: IntArray, stationary: npt.NDArray[np.bool_], warning: str,
           n_premature: int = 0) -> MinimaReport:
    p = problem.n_parameters
    return MinimaReport(dataset=problem.dataset.name, best_start=None, fun=float("nan"), x=None,
                        n_minima=0, hits=0, n_premature=n_premature, minima_fun=np.empty(0),
                        minima_x=np.empty((0, p)), labels=labels, stationary=stationary,
                        at_bound=(), warnings=(warning,))


def _unit_objective(problem: Problem) -> tuple[Callable[[FloatArray], float], FloatArray,
                                               FloatArray]:
    width = problem.upper - problem.lower
    lower = problem.lower

    def objective(u: FloatArray) -> float:
        with np.errstate(all="ignore"):
            try:
                value = float(problem.natural_objective(np.clip(lower + u * width, problem.lower,
                                                                problem.upper)))
            except Exception:  # noqa: BLE001 - a failing objective is not stationary there
                return float("nan")
        return value if np.isfinite(value) else float("nan")
    return objective, lower, width


def projected_unit_gradient(problem: Problem, x: FloatArray) -> FloatArray:
    """Projected gradient (p,) in f units per box width at natural-unit ``x`` (see module)."""
    objective, lower, width = _unit_objective(problem)
    u = np.clip((np.asarray(x, dtype=np.float64) - lower) / width, 0.0, 1.0)
    step = np.full(u.size, STATIONARITY_STEP)
    grad = approx_gradient(objective, u, method="3-point", abs_step=step,
                           lb=np.zeros(u.size), ub=np.ones(u.size))
    at_lower, at_upper = u <= STATIONARITY_STEP, u >= 1.0 - STATIONARITY_STEP
    return np.where((at_lower & (grad > 0)) | (at_upper & (grad < 0)), 0.0, grad)


def _is_stationary(problem: Problem, x: FloatArray, f: float) -> bool:
    if problem.constraints:  # a binding constraint leaves a gradient: the polish decides
        return True
    grad = projected_unit_gradient(problem, x)
    return bool(np.all(np.isfinite(grad))
                and np.max(np.abs(grad), initial=0.0) <= STATIONARITY_GTOL * max(1.0, abs(f)))


def _polish(problem: Problem, x: FloatArray, f: float) -> tuple[FloatArray, float]:
    """End point and value of a tight re-solve from ``x`` (``x, f`` when it does no better)."""
    method = "SLSQP" if problem.constraints else "L-BFGS-B"
    natural = tuple(replace(par, log=False) for par in problem.parameters)
    tight = replace(problem, parameters=natural, method=method, options=_POLISH_OPTIONS[method],
                    trace=False)
    outcome = run_start(tight, x, 0)
    if np.isfinite(outcome.fun) and outcome.fun <= f and np.all(np.isfinite(outcome.x)):
        return np.asarray(outcome.x, dtype=np.float64), float(outcome.fun)
    return x.copy(), float(f)


def _same_point(problem: Problem, xa: FloatArray, fa: float, xb: FloatArray, fb: float,
                x_tol: float, f_rtol: float) -> bool:
    width = problem.internal_upper - problem.internal_lower
    dz = np.abs(problem.to_internal(xa) - problem.to_internal(xb)) / width
    close_f = abs(fa - fb) <= f_rtol * max(abs(fa), abs(fb)) + 1e-12
    return bool(np.max(dz, initial=0.0) <= x_tol and close_f)


def _match(problem: Problem, found_x: Sequence[FloatArray], found_f: Sequence[float],
           x: FloatArray, f: float, x_tol: float, f_rtol: float) -> int:
    for index, (fx, ff) in enumerate(zip(found_x, found_f)):
        if _same_point(problem, fx, ff, x, f, x_tol, f_rtol):
            return index
    return -1


def _at_bound(problem: Problem, x: FloatArray) -> tuple[str, ...]:
    width = problem.internal_upper - problem.internal_lower
    u = (problem.to_internal(x) - problem.internal_lower) / width
    near = (u <= BOUND_FRACTION) | (u >= 1.0 - BOUND_FRACTION)
    return tuple(name for name, flag in zip(problem.names, near) if flag)


def _warnings(hits: int, minima_f: FloatArray, at_bound: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    if hits <= 1:
        out.append("only one start reached the best minimum; the global minimum may be missed: "
                   "use more starts")
    if minima_f.size >= 2 and (minima_f[1] - minima_f[0]) <= CLOSE_MINIMA_RTOL * max(
            1.0, abs(float(minima_f[0]))):
        out.append(f"two distinct minima within {minima_f[1] - minima_f[0]:.3g} of each other "
                   "in value: the best is not well separated")
    if at_bound:
        out.append("the best point lies on a bound for " + ", ".join(map(repr, at_bound))
                   + ": widen the bounds or fix the parameter")
    return tuple(out)
