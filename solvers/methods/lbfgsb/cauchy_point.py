"""The generalized Cauchy point of L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995, section 4).

Along the projected steepest-descent path ``x(t) = P(x - t g)`` inside the box ``[lb, ub]`` the
quadratic model ``m(x) = f + g^T (x - x_k) + (x - x_k)^T B (x - x_k) / 2`` with the compact
``B = theta I - W M W^T`` is piecewise quadratic in ``t``.  Its first local minimiser is the
generalized Cauchy point (GCP).  Variables reach their bounds at breakpoints
``t_i = (x_i - lb_i) / g_i`` (``g_i > 0``) or ``(x_i - ub_i) / g_i`` (``g_i < 0``).  On segment
``j`` (between the ``j``-th and ``(j+1)``-th breakpoint, the first ``j`` variables fixed) the
model's slope and curvature at the segment start are, with ``D_j`` the sum of ``g_i^2`` over
the variables still moving, ``p_j = W^T d_j`` and ``c_j = W^T (x(t_j) - x)``::

    f'_j  = (theta t_j - 1) D_j - c_j^T M p_j
    f''_j = theta D_j - p_j^T M p_j           (floored at eps * theta * D_0 after a breakpoint)

so the minimiser of segment ``j`` lies at ``t_j + dt*`` with ``dt* = -f'_j / f''_j``, and the
search stops at the first segment with ``dt* < t_{j+1} - t_j``.  ``p_j`` and ``c_j`` are
cumulative sums over the sorted breakpoints, so whole windows of segments are evaluated with
numpy at once (windows grow geometrically, so the work stays proportional to the segments
actually explored).  The breakpoint ordering, the handling of variables at a bound and of fixed
variables, and the curvature floor follow Algorithm 778 (Zhu et al. 1997).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["CauchyPoint", "generalized_cauchy_point"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_EPS = float(np.finfo(float).eps)
_FIRST_WINDOW = 8
_SMALL = 32            # up to this many variables, loop over Python floats
_WINDOW_GROWTH = 4


class CauchyPoint(NamedTuple):
    """The GCP ``x`` (n,), ``c = W^T (x - x_k)`` (2 col,) and the variables free there (n,)."""

    x: FloatArray
    c: FloatArray
    free: BoolArray


@dataclass
class _PathState:
    """Model data at the start of a segment of the projected path."""

    t: float            # path parameter where the segment starts
    moving: float       # D_j: sum of d_i^2 over the moving variables
    p: FloatArray       # W^T d_j, (2 col,)
    c: FloatArray       # W^T (x(t_j) - x), (2 col,)


def _segments(state: _PathState, times: FloatArray, dsq: FloatArray, wd: FloatArray,
              theta: float, m_mat: FloatArray, floor: float, first: bool
              ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Evaluate the segments ending at ``times``; return start times, lengths, dt*, p, c."""
    k = times.size
    starts = np.empty(k)
    starts[0] = state.t
    starts[1:] = times[:-1]
    lengths = times - starts
    moving = state.moving - (np.cumsum(dsq) - dsq)
    p = state.p - (np.cumsum(wd, axis=0) - wd)
    steps = lengths[:, None] * p
    c = state.c + (np.cumsum(steps, axis=0) - steps)
    mp = p @ m_mat
    slope = (theta * starts - 1.0) * moving - np.einsum("ij,ij->i", mp, c)
    curvature = theta * moving - np.einsum("ij,ij->i", mp, p)
    if first:
        curvature[1:] = np.maximum(curvature[1:], floor)
    else:
        np.maximum(curvature, floor, out=curvature)
    return starts, lengths, -slope / curvature, p, c


def _search_path(state: _PathState, times: FloatArray, dsq: FloatArray, wd: FloatArray,
                 theta: float, m_mat: FloatArray, floor: float
                 ) -> tuple[int, float | None, _PathState]:
    """Find the first segment holding the model's minimiser along the path.

    Returns ``(j, dt*, state at the start of segment j)``; ``j == len(times)`` with ``dt*``
    None when every breakpoint is passed (``state`` is then the state after the last one).
    """
    start, size, total = 0, _FIRST_WINDOW, times.size
    while start < total:
        stop = min(total, start + size)
        starts, lengths, dtm, p, c = _segments(state, times[start:stop], dsq[start:stop],
                                               wd[start:stop], theta, m_mat, floor, start == 0)
        inside = np.flatnonzero(dtm < lengths)
        if inside.size:
            j = int(inside[0])
            return start + j, float(dtm[j]), _PathState(float(starts[j]), 0.0, p[j], c[j])
        state = _PathState(float(times[stop - 1]), state.moving - float(dsq[start:stop].sum()),
                           p[-1] - wd[stop - 1], c[-1] + lengths[-1] * p[-1])
        start, size = stop, size * _WINDOW_GROWTH
    return total, None, state


def _last_segment_step(state: _PathState, theta: float, m_mat: FloatArray, floor: float,
                       passed_any: bool) -> float:
    """dt* on the unbounded last segment (after every breakpoint)."""
    mp = state.p @ m_mat
    slope = (theta * state.t - 1.0) * state.moving - float(mp @ state.c)
    curvature = theta * state.moving - float(mp @ state.p)
    if passed_any:
        curvature = max(curvature, floor)
    return -slope / curvature


def generalized_cauchy_point(x: FloatArray, g: FloatArray, lb: FloatArray, ub: FloatArray,
                             fixed: BoolArray | None, theta: float, wt: FloatArray,
                             m_mat: FloatArray) -> CauchyPoint:
    """Return the generalized Cauchy point from ``x`` along ``-g``.

    Parameters
    ----------
    x, g : ndarray, shape (n,)
        The current (feasible) point and the gradient there.
    lb, ub : ndarray, shape (n,)
        Bounds (``-inf`` / ``inf`` where absent).
    fixed : ndarray of bool, shape (n,), or None
        Variables with ``lb == ub`` (None: there are none).
    theta : float
        Scaling of the limited-memory matrix.
    wt, m_mat : ndarray, shapes (2 col, n) and (2 col, 2 col)
        ``W^T`` and ``M`` of the compact representation (``col`` may be 0).
    """
    if x.size <= _SMALL:
        d, moving, free, first_time = _descent_small(x, g, lb, ub, fixed)
    else:
        d, moving, free, first_time = _descent(x, g, lb, ub, fixed)
    total = float(d @ d)
    if total == 0.0:
        return CauchyPoint(x.copy(), np.zeros(wt.shape[0]), free)
    p0 = wt @ d
    mp0 = m_mat @ p0
    dtm = total / (theta * total - float(mp0 @ p0))
    if dtm < first_time:        # the minimiser lies before the first breakpoint
        dtm = max(dtm, 0.0)
        return CauchyPoint(x + dtm * d, dtm * p0, free)
    times = np.divide(np.where(g > 0.0, x - lb, ub - x), np.abs(g), out=np.full(x.size, np.inf),
                      where=moving)
    return _cauchy_point_past_breakpoints(x, d, lb, ub, times, moving, free, theta, wt, m_mat,
                                          total, p0)


def _descent(x: FloatArray, g: FloatArray, lb: FloatArray, ub: FloatArray,
             fixed: BoolArray | None) -> tuple[FloatArray, BoolArray, BoolArray, float]:
    """The start of the path: ``d``, the moving and the free variables, the first breakpoint.

    A variable moves when ``g_i != 0`` and it is not on the bound that ``-g`` heads for (nor
    fixed); one with ``g_i = 0`` stays free unless it sits on a bound.
    """
    above_lb, below_ub = x - lb, ub - x
    room = np.where(g > 0.0, above_lb, below_ub)    # room left towards the bound -g heads for
    moving = (room > 0.0) & (g != 0.0)
    if fixed is not None:
        moving &= ~fixed
    free = moving
    zero_g = g == 0.0
    if zero_g.any():
        free = moving | (zero_g & (above_lb > 0.0) & (below_ub > 0.0))
        if fixed is not None:
            free &= ~fixed
    times = np.divide(room, np.abs(g), out=np.full(x.size, np.inf), where=moving)
    return np.where(moving, -g, 0.0), moving, free, float(times.min()) if x.size else np.inf


def _descent_small(x: FloatArray, g: FloatArray, lb: FloatArray, ub: FloatArray,
                   fixed: BoolArray | None) -> tuple[FloatArray, BoolArray, BoolArray, float]:
    """`_descent` on Python floats (the same IEEE operations, fewer numpy calls for small n)."""
    d, moving, free = [], [], []
    first_time = math.inf
    is_fixed = [False] * x.size if fixed is None else fixed.tolist()
    for xi, gi, lo, hi, fix in zip(x.tolist(), g.tolist(), lb.tolist(), ub.tolist(), is_fixed):
        above_lb, below_ub = xi - lo, hi - xi
        room = above_lb if gi > 0.0 else below_ub
        move = room > 0.0 and gi != 0.0 and not fix
        moving.append(move)
        if move:
            d.append(-gi)
            first_time = min(first_time, room / abs(gi))
        else:
            d.append(0.0)
        free.append(move or (gi == 0.0 and above_lb > 0.0 and below_ub > 0.0 and not fix))
    return (np.array(d), np.array(moving, dtype=bool), np.array(free, dtype=bool),
            first_time)


def _cauchy_point_past_breakpoints(x: FloatArray, d: FloatArray, lb: FloatArray,
                                   ub: FloatArray, times: FloatArray, moving: BoolArray,
                                   free: BoolArray, theta: float, wt: FloatArray,
                                   m_mat: FloatArray, total: float, p0: FloatArray
                                   ) -> CauchyPoint:
    """The GCP when the model still decreases at the first breakpoint: walk the segments."""
    breaking = np.flatnonzero(times < np.inf)
    order = breaking[np.argsort(times[breaking], kind="stable")]
    bounded = order.size == np.count_nonzero(moving)
    d_order = d[order]
    floor = _EPS * theta * total
    state = _PathState(0.0, total, p0, np.zeros(wt.shape[0]))
    j, dtm, state = _search_path(state, times[order], d_order * d_order,
                                 (wt[:, order] * d_order).T, theta, m_mat, floor)
    if dtm is None:
        if order.size == x.size:      # every variable reached a bound
            xcp = np.where(d > 0.0, ub, lb)
            return CauchyPoint(xcp, state.c, np.zeros(x.size, dtype=bool))
        dtm = 0.0 if bounded else _last_segment_step(state, theta, m_mat, floor, j > 0)
    dtm = max(dtm, 0.0)
    xcp = x + (state.t + dtm) * d
    passed = order[:j]
    xcp[passed] = np.where(d[passed] > 0.0, ub[passed], lb[passed])
    free = free.copy()
    free[passed] = False
    return CauchyPoint(xcp, state.c + dtm * state.p, free)
