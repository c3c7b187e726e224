"""Per-start masked backtracking line search along a projected path, for a batch of starts.

Used by batched BFGS (L-BFGS-B runs its own per-start strong-Wolfe search, `wolfe`); `row_dot`
is shared by all methods.

Every start ``i`` of the batch searches along ``x_i(t) = clip(x_i + t d_i, lb, ub)`` from its own
first step ``t0_i`` and accepts the first ``t`` with the Armijo decrease
``f(x_i(t)) <= f_i + c1 * g_i . (x_i(t) - x_i)``; rejected steps shrink by safeguarded quadratic
interpolation (to between 0.1 and 0.5 of the last step); a first step accepted with a nearly
linear decrease is lengthened 4x at a time while f keeps falling (`_extend`). Only starts still searching are
evaluated; every decision reads the start's own row, so a start's search does not depend on
which other starts share the batch. The gradient is computed once, at the accepted point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .objective import BatchObjective, Evaluation

__all__ = ["StepResult", "backtracking_search", "row_dot"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: sufficient-decrease constant of the Armijo test
ARMIJO_C1 = 1e-4
#: a first step whose decrease is above this fraction of the linear prediction is lengthened
LINEAR_RATIO = 0.9
#: factor by which such a step grows per extra trial
EXPAND = 4.0


def row_dot(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise dot product of two (m, d) arrays: shape (m,). Each row is summed on its own
    (einsum's per-row loop: the result of a row does not depend on the other rows)."""
    return np.einsum("ij,ij->i", a, b)


@dataclass(frozen=True)
class StepResult:
    """Outcome of one search for ``m`` starts.

    Attributes
    ----------
    accepted : ndarray of bool, shape (m,)
        The start found an acceptable step (its ``x``, ``f``, ``g`` rows are the new point).
    x, g : ndarray, shape (m, d);  f : ndarray, shape (m,)
        New point, its gradient and value (meaningful where ``accepted``).
    failure : list of (str or None), length m
        Why a start must stop (exception or non-finite value), else None. A start with neither
        ``accepted`` nor ``failure`` exhausted ``maxls`` trials.
    """

    accepted: BoolArray
    x: FloatArray
    f: FloatArray
    g: FloatArray
    failure: list[str | None]


def _next_step(t: FloatArray, f0: FloatArray, ft: FloatArray, decrease: FloatArray) -> FloatArray:
    """Minimiser of the quadratic through (0, f0) with slope decrease/t and (t, ft), safeguarded."""
    slope = decrease / t
    curvature = ft - f0 - slope * t
    with np.errstate(divide="ignore", invalid="ignore"):
        t_q = np.where((curvature > 0) & (slope < 0), -slope * t * t / (2.0 * curvature), 0.5 * t)
    return np.clip(t_q, 0.1 * t, 0.5 * t)


def backtracking_search(obj: BatchObjective, ids: IntArray, x: FloatArray, f: FloatArray,
                        g: FloatArray, d: FloatArray, t0: FloatArray, lb: FloatArray,
                        ub: FloatArray, *, maxls: int, c1: float = ARMIJO_C1) -> StepResult:
    """Search every start of the batch along its direction; evaluate only starts still searching.

    Parameters
    ----------
    obj : BatchObjective
    ids : ndarray of int, shape (m,)
        Start index of each row (for evaluation counts).
    x, g, d : ndarray, shape (m, d)
        Points, gradients and search directions.
    f, t0 : ndarray, shape (m,)
        Values at ``x`` and first trial steps.
    lb, ub : ndarray, shape (d,)
        Box the path is projected onto (infinite for no bound).
    maxls : int
        Most trial points per start.
    """
    m = x.shape[0]
    t = t0.copy()
    first_try = np.zeros(m, dtype=bool)
    ratio = np.zeros(m)
    searching = np.ones(m, dtype=bool)
    accepted = np.zeros(m, dtype=bool)
    x_new, f_new, g_new = x.copy(), f.copy(), g.copy()
    failure: list[str | None] = [None] * m
    for trial in range(maxls):
        rows = np.flatnonzero(searching)
        if rows.size == 0:
            break
        xt = np.clip(x[rows] + t[rows, np.newaxis] * d[rows], lb, ub)
        ev = obj.values(xt, ids[rows])
        bad = ev.failed()
        for r in np.flatnonzero(bad):
            failure[rows[r]] = ev.failure(int(r))
        decrease = row_dot(g[rows], xt - x[rows])
        ok = ~bad & (decrease < 0) & (ev.f <= f[rows] + c1 * decrease)
        good = rows[ok]
        accepted[good] = True
        if trial == 0:
            first_try[good] = True
            ratio[good] = (ev.f[ok] - f[good]) / decrease[ok]
        x_new[good], f_new[good] = xt[ok], ev.f[ok]
        if ev.g is not None:
            g_new[good] = ev.g[ok]
        searching[rows[bad | ok]] = False
        again = ~bad & ~ok
        t[rows[again]] = _next_step(t[rows[again]], f[rows[again]], ev.f[again],
                                    decrease[again])
    _extend(obj, ids, x, d, t, first_try & (ratio > LINEAR_RATIO), x_new, f_new, g_new, lb, ub,
            maxls - 1)
    if not obj.returns_gradient:
        _gradients_at(obj, ids, accepted, x_new, f_new, g_new, failure)
    return StepResult(accepted, x_new, f_new, g_new, failure)


def _extend(obj: BatchObjective, ids: IntArray, x: FloatArray, d: FloatArray, t: FloatArray,
            extending: BoolArray, x_new: FloatArray, f_new: FloatArray, g_new: FloatArray,
            lb: FloatArray, ub: FloatArray, trials: int) -> None:
    """Lengthen steps that were accepted at once with a nearly linear decrease (in place).

    While the value keeps falling, try ``EXPAND`` times the step; a trial that does not lower f
    (or raises, or is not finite) ends the extension at the last good point. This replaces the
    curvature condition of a Wolfe search without gradient evaluations at trial points.
    """
    extending = extending.copy()
    for _ in range(trials):
        rows = np.flatnonzero(extending)
        if rows.size == 0:
            return
        t[rows] *= EXPAND
        xt = np.clip(x[rows] + t[rows, np.newaxis] * d[rows], lb, ub)
        ev = obj.values(xt, ids[rows])
        better = ~ev.failed() & (ev.f < f_new[rows])
        moved = np.abs(xt - x_new[rows]).max(axis=1) > 0  # a projected path can stop moving
        take = better & moved
        good = rows[take]
        x_new[good], f_new[good] = xt[take], ev.f[take]
        if ev.g is not None:
            g_new[good] = ev.g[take]
        extending[rows[~take]] = False


def _gradients_at(obj: BatchObjective, ids: IntArray, accepted: BoolArray, x: FloatArray,
                  f: FloatArray, g: FloatArray, failure: list[str | None]) -> None:
    """Fill ``g`` at the accepted rows (in place); a failing gradient un-accepts its row."""
    rows = np.flatnonzero(accepted)
    if rows.size == 0:
        return
    known = Evaluation(f[rows], None, {})
    ev = obj.values_and_gradients(x[rows], ids[rows], known=known)
    assert ev.g is not None
    g[rows] = ev.g
    for r in np.flatnonzero(ev.failed()):
        failure[rows[r]] = ev.failure(int(r))
        accepted[rows[r]] = False
