"""Batched L-BFGS-B: projected limited-memory BFGS for a batch of starts with box bounds.

Each iteration, for every active start on its own: the variables held at a bound by the
gradient (``x_i = lb_i`` with ``g_i > 0``, or ``x_i = ub_i`` with ``g_i < 0``) are frozen; the
direction is the two-loop L-BFGS product ``-H g`` on the free variables (``H0 = gamma I`` with
``gamma = s.y / y.y`` of the newest pair), replaced by projected steepest descent (and the memory
cleared) when it is not a descent direction; a backtracking search along the projected path
(`line_search`) takes the step; the pair ``(s, y)`` is stored when ``s.y > eps * (-g.s)``.
A failed search clears the memory and retries; a failure with an empty memory ends the start
("ABNORMAL: ", status 2). Stopping tests, their order, status codes and messages are scipy's
(``pgtol`` on the projected gradient, ``ftol`` on the relative reduction of f, ``maxiter``,
``maxfun``). The iterates are not scipy's (no generalized Cauchy point), the minima are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .active import take
from .line_search import backtracking_search, row_dot
from .objective import BatchObjective
from .result import Outcomes

__all__ = ["lbfgsb_batch", "LBFGSB_OPTIONS"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
_EPS = float(np.finfo(float).eps)

CONVERGED_PG = "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
CONVERGED_F = "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
STOP_ITER = "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
STOP_FEV = "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"
ABNORMAL = "ABNORMAL: "
#: status of a start whose objective failed (as the per-start L-BFGS-B)
NAN_STATUS = 2

#: options and scipy's defaults
LBFGSB_OPTIONS: dict[str, float | int | None] = {
    "maxcor": 10, "ftol": 2.2204460492503131e-09, "gtol": 1e-5, "maxfun": 15000,
    "maxiter": 15000, "maxls": 20, "eps": None, "finite_diff_rel_step": None,
    "disp": None, "iprint": None}


@dataclass(frozen=True)
class _State:
    """Active starts: ids (m,), x/g (m, d), f (m,), memory S/Y (m, M, d), rho (m, M) ..."""

    ids: IntArray
    x: FloatArray
    f: FloatArray
    g: FloatArray
    s_mem: FloatArray
    y_mem: FloatArray
    rho: FloatArray
    gamma: FloatArray
    n_pairs: npt.NDArray[np.int64]
    nit: npt.NDArray[np.int64]


def projected_gradient(x: FloatArray, g: FloatArray, lb: FloatArray, ub: FloatArray
                       ) -> FloatArray:
    """Infinity norm of ``clip(x - g, lb, ub) - x`` per row: shape (m,)."""
    return np.abs(np.clip(x - g, lb, ub) - x).max(axis=1)


def _free(x: FloatArray, g: FloatArray, lb: FloatArray, ub: FloatArray) -> FloatArray:
    held = ((x <= lb) & (g > 0)) | ((x >= ub) & (g < 0)) | (lb >= ub)
    return (~held).astype(float)


def two_loop(q: FloatArray, s_mem: FloatArray, y_mem: FloatArray, rho: FloatArray,
             gamma: FloatArray) -> FloatArray:
    """``H q`` per row by the L-BFGS two-loop recursion; empty slots have ``rho = 0``.

    Shapes: ``q`` (m, d), ``s_mem``/``y_mem`` (m, M, d) with the newest pair last, ``rho`` (m, M),
    ``gamma`` (m,).
    """
    q = q.copy()
    n_slots = s_mem.shape[1]
    alpha = np.zeros((q.shape[0], n_slots))
    for j in range(n_slots - 1, -1, -1):
        alpha[:, j] = rho[:, j] * row_dot(s_mem[:, j], q)
        q -= alpha[:, j, np.newaxis] * y_mem[:, j]
    r = gamma[:, np.newaxis] * q
    for j in range(n_slots):
        beta = rho[:, j] * row_dot(y_mem[:, j], r)
        r += (alpha[:, j] - beta)[:, np.newaxis] * s_mem[:, j]
    return r


def _clear_memory(st: _State, rows: npt.NDArray[np.intp]) -> None:
    st.s_mem[rows], st.y_mem[rows], st.rho[rows] = 0.0, 0.0, 0.0
    st.gamma[rows], st.n_pairs[rows] = 1.0, 0


def _store_pairs(st: _State, rows: npt.NDArray[np.intp], s: FloatArray, y: FloatArray) -> None:
    """Append the pairs (rows of ``s``/``y``) whose curvature is large enough, dropping the oldest."""
    sy = row_dot(s, y)
    gs = row_dot(st.g[rows], s)
    keep = sy > _EPS * (-gs)
    rows, s, y, sy = rows[keep], s[keep], y[keep], sy[keep]
    if rows.size == 0:
        return
    st.s_mem[rows, :-1], st.y_mem[rows, :-1] = st.s_mem[rows, 1:], st.y_mem[rows, 1:]
    st.rho[rows, :-1] = st.rho[rows, 1:]
    st.s_mem[rows, -1], st.y_mem[rows, -1], st.rho[rows, -1] = s, y, 1.0 / sy
    st.gamma[rows] = sy / row_dot(y, y)
    st.n_pairs[rows] = np.minimum(st.n_pairs[rows] + 1, st.rho.shape[1])


def _direction(st: _State, lb: FloatArray, ub: FloatArray) -> FloatArray:
    """Search direction per row; rows whose L-BFGS direction is not descent get -g (memory cleared)."""
    free = _free(st.x, st.g, lb, ub)
    q = st.g * free
    d = -two_loop(q, st.s_mem, st.y_mem, st.rho, st.gamma) * free
    slope = row_dot(st.g, d)
    not_descent = ~(slope < 0) & (st.n_pairs > 0)
    if not_descent.any():
        rows = np.flatnonzero(not_descent)
        _clear_memory(st, rows)
        d[rows] = -q[rows]
    return d


def lbfgsb_batch(obj: BatchObjective, x0: FloatArray, lb: FloatArray, ub: FloatArray,
                 out: Outcomes, *, maxcor: int, ftol: float, gtol: float, maxfun: int,
                 maxiter: int, maxls: int) -> None:
    """Run batched L-BFGS-B from every row of ``x0`` (k, d); finished starts go to ``out``."""
    k, d = x0.shape
    ids = np.arange(k)
    x = np.clip(x0, lb, ub)
    ev = obj.values_and_gradients(x, ids)
    assert ev.g is not None
    st = _State(ids, x, ev.f, ev.g, np.zeros((k, maxcor, d)), np.zeros((k, maxcor, d)),
                np.zeros((k, maxcor)), np.ones(k), np.zeros(k, dtype=np.int64),
                np.zeros(k, dtype=np.int64))
    pg = projected_gradient(st.x, st.g, lb, ub)
    out.record(ids, st.x, st.f, pg, obj.nfev)
    bad = ev.failed()
    for r in np.flatnonzero(bad):
        out.finish([r], x[[r]], ev.f[[r]], None, 0, NAN_STATUS, str(ev.failure(int(r))))
    done = pg <= gtol
    out.finish(ids[done & ~bad], st.x[done & ~bad], st.f[done & ~bad], st.g[done & ~bad], 0, 0,
               CONVERGED_PG)
    st = take(st, ~(done | bad))
    tol = (ftol / _EPS) * _EPS
    while st.ids.size:
        st = _iteration(obj, st, lb, ub, out, tol=tol, gtol=gtol, maxfun=maxfun,
                        maxiter=maxiter, maxls=maxls)


def _iteration(obj: BatchObjective, st: _State, lb: FloatArray, ub: FloatArray, out: Outcomes,
               *, tol: float, gtol: float, maxfun: int, maxiter: int, maxls: int) -> _State:
    """One iteration for every active start; returns the starts still running."""
    d = _direction(st, lb, ub)
    first = st.n_pairs == 0
    dnorm = np.sqrt(row_dot(d, d))
    with np.errstate(divide="ignore"):
        t0 = np.where(first, np.minimum(1.0, 1.0 / dnorm), 1.0)
    step = backtracking_search(obj, st.ids, st.x, st.f, st.g, d, t0, lb, ub, maxls=maxls)
    finished = np.zeros(st.ids.size, dtype=bool)
    for r, why in enumerate(step.failure):
        if why is not None:
            out.finish(st.ids[[r]], st.x[[r]], st.f[[r]], st.g[[r]], st.nit[r], NAN_STATUS, why)
            finished[r] = True
    lost = ~step.accepted & ~finished
    abnormal = lost & first
    out.finish(st.ids[abnormal], st.x[abnormal], st.f[abnormal], st.g[abnormal],
               st.nit[abnormal], 2, ABNORMAL)
    finished |= abnormal
    _clear_memory(st, np.flatnonzero(lost & ~first))  # retry from the same point

    acc = np.flatnonzero(step.accepted)
    st.nit[acc] += 1
    x_new, f_new, g_new = step.x[acc], step.f[acc], step.g[acc]
    pg = projected_gradient(x_new, g_new, lb, ub)
    out.record(st.ids[acc], x_new, f_new, pg, obj.nfev)
    f_old = st.f[acc]
    reasons = (
        (st.nit[acc] >= maxiter, 1, STOP_ITER),
        (obj.nfev[st.ids[acc]] > maxfun, 1, STOP_FEV),
        (pg <= gtol, 0, CONVERGED_PG),
        (f_old - f_new <= tol * np.maximum(np.maximum(np.abs(f_old), np.abs(f_new)), 1.0),
         0, CONVERGED_F),
    )
    stopped = np.zeros(acc.size, dtype=bool)
    for mask, status, message in reasons:
        now = mask & ~stopped
        out.finish(st.ids[acc[now]], x_new[now], f_new[now], g_new[now], st.nit[acc[now]],
                   status, message)
        stopped |= now
    finished[acc[stopped]] = True
    go = acc[~stopped]
    _store_pairs(st, go, step.x[go] - st.x[go], step.g[go] - st.g[go])
    st.x[go], st.f[go], st.g[go] = step.x[go], step.f[go], step.g[go]
    return take(st, ~finished)
