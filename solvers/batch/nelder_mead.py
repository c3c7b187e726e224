"""Batched Nelder-Mead: scipy's downhill simplex (adaptive off) for a batch of starts.

Every start keeps its own sorted ``(d + 1, d)`` simplex and makes scipy's moves in scipy's
order (reflect; expand, accept, contract outside or inside; shrink), with scipy's initial
simplex (5 % of each nonzero coordinate, 0.00025 for a zero one), its coefficients (1, 2, 1/2,
1/2), its convergence test on ``xatol``/``fatol`` and the per-start core's clipping into the
bounds, so a start follows the per-start core's iterates. Per iteration the batch is evaluated
in at most three calls: the reflections, then the one expansion or contraction each start
needs, then the ``d`` vertices of each shrinking start. ``maxfev`` is a hard cap per start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._result import MESSAGES
from .active import take
from .objective import BatchObjective, Evaluation
from .result import Outcomes

__all__ = ["nelder_mead_batch", "NELDER_MEAD_OPTIONS"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

RHO, CHI, PSI, SIGMA = 1, 2, 0.5, 0.5
NONZERO_DELTA, ZERO_DELTA = 0.05, 0.00025
NAN_STATUS = 3

#: options and scipy's defaults (``maxiter``/``maxfev`` None: 200 * d)
NELDER_MEAD_OPTIONS: dict[str, float | int | None] = {
    "maxiter": None, "maxfev": None, "xatol": 1e-4, "fatol": 1e-4, "adaptive": False,
    "disp": None, "return_all": None}


@dataclass(frozen=True)
class _State:
    """Active starts: ids (m,), sorted simplices (m, d + 1, d) and values (m, d + 1), nit."""

    ids: IntArray
    sim: FloatArray
    fsim: FloatArray
    nit: npt.NDArray[np.int64]


def default_simplices(x0: FloatArray, lb: FloatArray, ub: FloatArray) -> FloatArray:
    """scipy's initial simplex for every row of ``x0`` (k, d), mirrored/clipped into the bounds."""
    k, d = x0.shape
    sim = np.repeat(x0[:, np.newaxis, :], d + 1, axis=1)
    diagonal = np.where(x0 != 0, (1 + NONZERO_DELTA) * x0, ZERO_DELTA)
    sim[:, np.arange(1, d + 1), np.arange(d)] = diagonal
    return np.clip(np.where(sim > ub, 2 * ub - sim, sim), lb, ub)


def _sort(sim: FloatArray, fsim: FloatArray) -> tuple[FloatArray, FloatArray]:
    order = fsim.argsort(axis=1)
    return np.take_along_axis(sim, order[:, :, np.newaxis], axis=1), \
        np.take_along_axis(fsim, order, axis=1)


def _fail_rows(st: _State, rows: IntArray, ev: Evaluation, out: Outcomes,
               finished: BoolArray) -> None:
    """Finish the rows of ``rows`` whose evaluation failed (status 3, best vertex kept)."""
    for pos, (r, bad) in enumerate(zip(rows.tolist(), ev.failed().tolist())):
        if bad and not finished[r]:
            why = str(ev.failure(pos))
            out.finish(st.ids[[r]], st.sim[r, 0][np.newaxis], st.fsim[r, :1], None,
                       st.nit[r], NAN_STATUS, why)
            finished[r] = True


def nelder_mead_batch(obj: BatchObjective, x0: FloatArray, lb: FloatArray, ub: FloatArray,
                      out: Outcomes, *, maxiter: float, maxfev: float, xatol: float,
                      fatol: float) -> None:
    """Run batched Nelder-Mead from every row of ``x0`` (k, d); finished starts go to ``out``."""
    k, d = x0.shape
    ids = np.arange(k)
    sim = default_simplices(x0, lb, ub)
    ev = obj.values(sim.reshape(k * (d + 1), d), np.repeat(ids, d + 1))
    fsim = ev.f.reshape(k, d + 1)
    out.record(ids, sim[:, 0], fsim[:, 0], np.full(k, np.nan), obj.nfev)
    bad: BoolArray = np.asarray(ev.failed().reshape(k, d + 1).any(axis=1))
    for r in np.flatnonzero(bad):
        rows = range(r * (d + 1), (r + 1) * (d + 1))
        why = next(w for w in (ev.failure(i) for i in rows) if w is not None)
        out.finish([r], x0[[r]], fsim[r, :1], None, 1, NAN_STATUS, why)
    sim, fsim = _sort(sim, fsim)
    st = take(_State(ids, sim, fsim, np.ones(k, dtype=np.int64)), ~bad)
    while st.ids.size:
        st = _iteration(obj, st, lb, ub, out, maxiter=maxiter, maxfev=maxfev, xatol=xatol,
                        fatol=fatol)


def _stop_converged(obj: BatchObjective, st: _State, out: Outcomes, *, maxiter: float,
                    maxfev: float, xatol: float, fatol: float) -> BoolArray:
    """Finish the starts that meet a stopping test before moving (scipy's loop condition)."""
    spread_x = np.abs(st.sim[:, 1:] - st.sim[:, :1]).max(axis=(1, 2))
    spread_f = np.abs(st.fsim[:, :1] - st.fsim[:, 1:]).max(axis=1)
    nfev = obj.nfev[st.ids]
    fev, it = nfev >= maxfev, ~(nfev >= maxfev) & (st.nit >= maxiter)
    conv = ~fev & ~it & (spread_x <= xatol) & (spread_f <= fatol)
    for mask, status, reason in ((fev, 1, "maxfev"), (it, 2, "maxiter"), (conv, 0, "success")):
        out.finish(st.ids[mask], st.sim[mask, 0], st.fsim[mask, 0], None, st.nit[mask],
                   status, MESSAGES[reason])
    return fev | it | conv


def _iteration(obj: BatchObjective, st: _State, lb: FloatArray, ub: FloatArray, out: Outcomes,
               *, maxiter: float, maxfev: float, xatol: float, fatol: float) -> _State:
    """One simplex move for every active start; returns the starts still running."""
    finished = _stop_converged(obj, st, out, maxiter=maxiter, maxfev=maxfev, xatol=xatol,
                               fatol=fatol)
    st = take(st, ~finished)
    m, d = st.ids.size, st.sim.shape[2]
    if m == 0:
        return st
    finished = np.zeros(m, dtype=bool)
    worst = st.sim[:, -1]
    xbar = st.sim[:, :-1].sum(axis=1) / d
    xr = np.clip((1 + RHO) * xbar - RHO * worst, lb, ub)
    all_rows = np.arange(m)
    ev_r = obj.values(xr, st.ids)
    _fail_rows(st, all_rows, ev_r, out, finished)
    fxr = ev_r.f
    expand = fxr < st.fsim[:, 0]
    accept = ~expand & (fxr < st.fsim[:, -2])
    outside = ~expand & ~accept & (fxr < st.fsim[:, -1])
    inside = ~expand & ~accept & ~outside
    second = np.where(expand[:, np.newaxis], (1 + RHO * CHI) * xbar - RHO * CHI * worst,
                      np.where(outside[:, np.newaxis], (1 + PSI * RHO) * xbar - PSI * RHO * worst,
                               (1 - PSI) * xbar + PSI * worst))
    second = np.clip(second, lb, ub)
    spent = obj.nfev[st.ids] >= maxfev
    need = np.flatnonzero(~accept & ~finished & ~spent)
    abandoned = ~accept & ~finished & spent
    f2 = np.full(m, np.nan)
    if need.size:
        ev2 = obj.values(second[need], st.ids[need])
        _fail_rows(st, need, ev2, out, finished)
        f2[need] = ev2.f
    new_x, new_f = xr.copy(), fxr.copy()
    take_second = (expand & (f2 < fxr)) | (outside & (f2 <= fxr)) | (inside & (f2 < st.fsim[:, -1]))
    new_x[take_second], new_f[take_second] = second[take_second], f2[take_second]
    shrink = (outside | inside) & ~take_second & ~finished & ~abandoned
    replace = ~finished & ~abandoned & ~shrink
    st.sim[replace, -1], st.fsim[replace, -1] = new_x[replace], new_f[replace]
    partial = _shrink(obj, st, np.flatnonzero(shrink), lb, ub, maxfev, out, finished)
    abandoned[partial] = True
    moved = ~finished & ~abandoned
    st.nit[moved] += 1
    sim, fsim = _sort(st.sim, st.fsim)
    st.sim[:], st.fsim[:] = sim, fsim
    out.record(st.ids[moved], st.sim[moved, 0], st.fsim[moved, 0], np.full(m, np.nan), obj.nfev)
    stop = abandoned & ~finished
    out.finish(st.ids[stop], st.sim[stop, 0], st.fsim[stop, 0], None, st.nit[stop], 1,
               MESSAGES["maxfev"])
    return take(st, ~(finished | stop))


def _shrink(obj: BatchObjective, st: _State, rows: IntArray, lb: FloatArray, ub: FloatArray,
            maxfev: float, out: Outcomes, finished: BoolArray) -> IntArray:
    """Shrink the simplices of ``rows`` towards their best vertex, vertex by vertex within the
    budget; returns the rows whose budget ran out part-way (their iteration is abandoned)."""
    if rows.size == 0:
        return rows
    d = st.sim.shape[2]
    best = st.sim[rows, :1]
    shrunk = np.clip(best + SIGMA * (st.sim[rows, 1:] - best), lb, ub)  # (r, d, d)
    left = maxfev - obj.nfev[st.ids[rows]]
    allowed = np.minimum(d, np.where(np.isinf(left), d, left)).astype(np.int64)
    use = np.arange(d)[np.newaxis, :] < allowed[:, np.newaxis]  # (r, d) vertices to evaluate
    which_row, which_vertex = np.nonzero(use)
    ev = obj.values(shrunk[which_row, which_vertex], st.ids[rows[which_row]])
    st.sim[rows[which_row], which_vertex + 1] = shrunk[which_row, which_vertex]
    st.fsim[rows[which_row], which_vertex + 1] = ev.f
    bad = ev.failed()
    for i in np.flatnonzero(bad):
        r = rows[which_row[i]]
        if not finished[r]:
            out.finish(st.ids[[r]], st.sim[r, 0][np.newaxis], st.fsim[r, :1], None, st.nit[r],
                       NAN_STATUS, str(ev.failure(int(i))))
            finished[r] = True
    return rows[allowed < d]
