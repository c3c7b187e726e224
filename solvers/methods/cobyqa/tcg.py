"""COBYQA's trust-region subproblems: active-set truncated conjugate gradients.

One solver, `active_set_tcg`, minimises a quadratic ``g.y + 0.5 y.H y`` from ``y = 0`` subject to
bounds ``lo <= y <= up`` (``lo <= 0 <= up``), linear inequalities ``C y <= r`` (``r >= 0``),
equalities ``E y = 0`` and one or two ball constraints ``||centre + y[part]|| <= radius``.  It runs
Steihaug-Toint CG in the null space of the active constraints, adds a constraint to the active set
when the step meets it (restarting CG) and stops on the ball.  From that solver:

* `tangential_step`: the Byrd-Omojokun tangential step (bounds, linearised inequalities kept at
  least as satisfied, linearised equalities kept, trust region), improved by moving around the
  trust-region boundary when CG stops on it (Powell's trick, as in BOBYQA/LINCOA);
* `normal_step`: the normal step, least squares of the linearised constraint violations written
  with slack variables ``w >= 0`` (``A_ub s - w <= b_ub``) so that it is a quadratic again.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["active_set_tcg", "tangential_step", "normal_step", "null_space", "ball_step_length"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
TINY = float(np.finfo(float).tiny)
EPS = float(np.finfo(float).eps)
HessProd = Callable[[FloatArray], FloatArray]


def null_space(rows: FloatArray, n: int) -> FloatArray:
    """Orthonormal basis (n, n - rank) of the vectors orthogonal to every row of ``rows``."""
    if rows.shape[0] == 0:
        return np.eye(n)
    _, sing, vt = np.linalg.svd(rows, full_matrices=True)
    rank = int(np.count_nonzero(sing > 10.0 * EPS * n * max(float(sing[0]), 0.0)))
    return vt[rank:].T


def ball_step_length(pos: FloatArray, sd: FloatArray, radius: float) -> float:
    """Largest ``t >= 0`` with ``||pos + t sd|| <= radius`` (inf when it cannot be computed)."""
    pos_sd, sd_sq = float(pos @ sd), float(sd @ sd)
    room = radius ** 2 - float(pos @ pos)
    root = np.sqrt(max(pos_sd ** 2 + sd_sq * room, 0.0))
    if pos_sd <= 0.0 and sd_sq > TINY * abs(root - pos_sd):
        return max((root - pos_sd) / sd_sq, 0.0)
    if abs(root + pos_sd) > TINY * room:
        return max(room / (root + pos_sd), 0.0)
    return np.inf


class _ActiveSet:
    """Which bounds and inequalities are active, and the null space of the active rows."""

    def __init__(self, eq: FloatArray, ineq: FloatArray, free_lo: BoolArray, free_up: BoolArray,
                 free_in: BoolArray) -> None:
        self.eq, self.ineq = eq, ineq
        self.free_lo, self.free_up, self.free_in = free_lo, free_up, free_in
        self.refresh()

    def refresh(self) -> None:
        n = self.free_lo.size
        eye = np.eye(n)
        rows = np.vstack((self.eq, self.ineq[~self.free_in], -eye[~self.free_lo],
                          eye[~self.free_up]))
        self.basis = null_space(rows, n)

    @property
    def dim(self) -> int:
        return int(self.basis.shape[1])

    def project(self, v: FloatArray) -> FloatArray:
        return self.basis @ (self.basis.T @ v)


def _first_hits(lo: FloatArray, up: FloatArray, y: FloatArray, sd: FloatArray,
                act: _ActiveSet, resid: FloatArray, c_sd: FloatArray
                ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Step lengths along ``sd`` to each free lower bound, upper bound and inequality."""
    to_lo = np.full(y.size, np.inf)
    to_up = np.full(y.size, np.inf)
    i_lo = act.free_lo & (lo > -np.inf) & (sd < -TINY * np.abs(lo - y))
    i_up = act.free_up & (up < np.inf) & (sd > TINY * np.abs(up - y))
    to_lo[i_lo] = np.maximum((lo[i_lo] - y[i_lo]) / sd[i_lo], 0.0)
    to_up[i_up] = np.maximum((up[i_up] - y[i_up]) / sd[i_up], 0.0)
    to_in = np.full(resid.size, np.inf)
    i_in = act.free_in & (c_sd > TINY * np.abs(resid))
    to_in[i_in] = resid[i_in] / c_sd[i_in]
    return to_lo, to_up, to_in


def active_set_tcg(grad: FloatArray, hess_prod: HessProd, lo: FloatArray, up: FloatArray,
                   ineq: FloatArray, resid: FloatArray, eq: FloatArray,
                   balls: list[tuple[npt.NDArray[np.intp], FloatArray, float]]
                   ) -> tuple[FloatArray, FloatArray, _ActiveSet, bool, float]:
    """Truncated CG for the quadratic subproblem of the module docstring.

    Returns ``(y, grad_at_y, active_set, on_ball, reduction)``.
    """
    n = grad.size
    g = grad.copy()
    act = _ActiveSet(eq, ineq, (lo < 0.0) | (g < 0.0), (up > 0.0) | (g > 0.0),
                     (resid > 0.0) | (ineq @ g > 0.0))
    resid = resid.copy()
    y = np.zeros(n)
    sd = -act.project(g)
    k, reduct, on_ball = 0, 0.0, False
    while k < act.dim:
        g_sd = float(g @ sd)
        if g_sd >= -10.0 * EPS * n * max(1.0, float(np.linalg.norm(g))):
            break
        t_ball = min(ball_step_length(c + y[idx], sd[idx], r) for idx, c, r in balls)
        if -t_ball * g_sd <= 1e-8 * reduct:
            break
        h_sd = hess_prod(sd)
        curv = float(sd @ h_sd)
        t_quad = max(-g_sd / curv, 0.0) if curv > TINY * abs(g_sd) else np.inf
        t = min(t_ball, t_quad)
        if np.isfinite(t) and -t * (g_sd + 0.5 * t * curv) <= 1e-8 * reduct:
            break
        c_sd = ineq @ sd
        to_lo, to_up, to_in = _first_hits(lo, up, y, sd, act, resid, c_sd)
        t_lo, t_up = float(np.min(to_lo, initial=np.inf)), float(np.min(to_up, initial=np.inf))
        t_in = float(np.min(to_in, initial=np.inf))
        t_bd = min(t_lo, t_up)
        t = min(t, t_bd, t_in)
        if not np.isfinite(t):
            break
        if t > 0.0:
            y = np.clip(y + t * sd, lo, up)
            g += t * h_sd
            resid = np.maximum(0.0, resid - t * c_sd)
            reduct -= t * (g_sd + 0.5 * t * curv)
        if t < min(t_ball, t_bd, t_in):  # an interior CG step
            g_proj = act.project(g)
            sd = (g_proj @ h_sd) / curv * sd - g_proj
            k += 1
        elif t < t_ball:  # a constraint became active: restart CG on the smaller space
            _activate_first(to_lo, to_up, to_in, t, y, lo, up, act)
            act.refresh()
            sd = -act.project(g)
            k = 0
        else:  # the ball: every constraint met at the same time becomes active
            _activate_ties(to_lo, to_up, to_in, t, y, lo, up, act)
            act.refresh()
            on_ball = True
            break
    return y, g, act, on_ball, reduct


def _activate_first(to_lo: FloatArray, to_up: FloatArray, to_in: FloatArray, t: float,
                    y: FloatArray, lo: FloatArray, up: FloatArray, act: _ActiveSet) -> None:
    if to_lo.size and np.min(to_lo) <= t:
        i = int(np.argmin(to_lo))
        y[i], act.free_lo[i] = lo[i], False
    elif to_up.size and np.min(to_up) <= t:
        i = int(np.argmin(to_up))
        y[i], act.free_up[i] = up[i], False
    else:
        act.free_in[int(np.argmin(to_in))] = False


def _activate_ties(to_lo: FloatArray, to_up: FloatArray, to_in: FloatArray, t: float,
                   y: FloatArray, lo: FloatArray, up: FloatArray, act: _ActiveSet) -> None:
    if np.min(to_lo, initial=np.inf) <= t:
        hit = to_lo <= np.min(to_lo)
        y[hit], act.free_lo[hit] = lo[hit], False
    if np.min(to_up, initial=np.inf) <= t:
        hit = to_up <= np.min(to_up)
        y[hit], act.free_up[hit] = up[hit], False
    if np.min(to_in, initial=np.inf) <= t:
        act.free_in[to_in <= np.min(to_in)] = False


def _boundary_limits(y: FloatArray, y_proj: FloatArray, sd: FloatArray, lo: FloatArray,
                     up: FloatArray, act: _ActiveSet, resid: FloatArray, ineq: FloatArray
                     ) -> tuple[float, FloatArray, FloatArray, FloatArray]:
    """Largest ``t`` in (0, 1] keeping ``y + sin(th) (sd - t y_proj)`` (``t = tan(th/2)``)
    inside the bounds and inequalities, and the per-constraint limits."""
    n = y.size
    dist_lo, dist_up = np.maximum(y - lo, 0.0), np.maximum(up - y, 0.0)
    tmp_lo, tmp_up = np.zeros(n), np.zeros(n)
    f_lo, f_up = act.free_lo, act.free_up
    with np.errstate(invalid="ignore"):
        tmp_lo[f_lo] = sd[f_lo] ** 2 - dist_lo[f_lo] * (dist_lo[f_lo] - 2.0 * y_proj[f_lo])
        tmp_up[f_up] = sd[f_up] ** 2 - dist_up[f_up] * (dist_up[f_up] + 2.0 * y_proj[f_up])
    tmp_lo = np.where(tmp_lo > 0.0, np.sqrt(np.maximum(tmp_lo, 0.0)) - sd, tmp_lo)
    tmp_up = np.where(tmp_up > 0.0, np.sqrt(np.maximum(tmp_up, 0.0)) + sd, tmp_up)
    t_lo, t_up = np.ones(n), np.ones(n)
    i_lo, i_up = tmp_lo > TINY * dist_lo, tmp_up > TINY * dist_up
    t_lo[i_lo] = np.minimum(1.0, dist_lo[i_lo] / tmp_lo[i_lo])
    t_up[i_up] = np.minimum(1.0, dist_up[i_up] / tmp_up[i_up])
    c_y, c_sd = ineq @ y_proj, ineq @ sd
    tmp_in = np.zeros(resid.size)
    fi = act.free_in
    tmp_in[fi] = c_sd[fi] ** 2 - resid[fi] * (resid[fi] + 2.0 * c_y[fi])
    tmp_in = np.where(tmp_in > 0.0, np.sqrt(np.maximum(tmp_in, 0.0)) + c_sd, tmp_in)
    t_in = np.ones(resid.size)
    i_in = tmp_in > TINY * resid
    t_in[i_in] = np.minimum(1.0, resid[i_in] / tmp_in[i_in])
    t_max = min(float(np.min(t_lo, initial=1.0)), float(np.min(t_up, initial=1.0)),
                float(np.min(t_in, initial=1.0)))
    return t_max, t_lo, t_up, t_in


def _improve_on_boundary(y: FloatArray, g: FloatArray, hess_prod: HessProd, lo: FloatArray,
                         up: FloatArray, ineq: FloatArray, resid: FloatArray, act: _ActiveSet,
                         reduct: float) -> FloatArray:
    """Rotate ``y`` on the trust-region sphere, within the active-set null space, while the
    model decreases (sampled angles, as Powell's BOBYQA/LINCOA)."""
    while act.dim > 0:
        y_proj, g_proj = act.project(y), act.project(g)
        y_sq, g_sq, g_y = float(y_proj @ y_proj), float(g_proj @ g_proj), float(g_proj @ y_proj)
        g_sd = -np.sqrt(max(y_sq * g_sq - g_y ** 2, 0.0))
        sd = act.project(g_y * y - y_sq * g)
        if g_sd >= -1e-8 * reduct or np.any(g_sd >= -TINY * np.abs(sd)):
            break
        sd /= -g_sd
        t_max, t_lo, t_up, t_in = _boundary_limits(y, y_proj, sd, lo, up, act, resid, ineq)
        h_y, h_sd = hess_prod(y_proj), hess_prod(sd)
        curv_y, curv_sd, curv_ysd = float(y_proj @ h_y), float(sd @ h_sd), float(y_proj @ h_sd)
        n_samples = int(17 * t_max + 3)
        ts = np.linspace(t_max / n_samples, t_max, n_samples)
        sins = 2.0 * ts / (1.0 + ts ** 2)
        gains = sins * (g_y * ts - g_sd
                        - sins * (0.5 * ts ** 2 * curv_y - ts * curv_ysd + 0.5 * curv_sd))
        if np.all(gains <= 0.0):
            break
        i = int(np.argmax(gains))
        cos = (1.0 - ts[i] ** 2) / (1.0 + ts[i] ** 2)
        c_y, c_sd = ineq @ y_proj, ineq @ sd
        y = np.clip(y + (cos - 1.0) * y_proj + sins[i] * sd, lo, up)
        g = g + (cos - 1.0) * h_y + sins[i] * h_sd
        resid = np.maximum(0.0, resid - (cos - 1.0) * c_y - sins[i] * c_sd)
        reduct += float(gains[i])
        if not (t_max < 1.0 and i == n_samples - 1):
            break
        _activate_ties(np.where(t_lo <= t_max, t_lo, np.inf), np.where(t_up <= t_max, t_up, np.inf),
                       np.where(t_in <= t_max, t_in, np.inf), t_max, y, lo, up, act)
        act.refresh()
    return y


def tangential_step(grad: FloatArray, hess_prod: HessProd, xl: FloatArray, xu: FloatArray,
                    aub: FloatArray, bub: FloatArray, aeq: FloatArray, radius: float
                    ) -> FloatArray:
    """Approximately minimise ``grad.s + 0.5 s.H s`` subject to ``xl <= s <= xu``,
    ``aub s <= bub``, ``aeq s = 0`` and ``||s|| <= radius`` (the origin is feasible)."""
    lo, up = np.minimum(xl, 0.0), np.maximum(xu, 0.0)
    bub = np.maximum(bub, 0.0)
    n = grad.size
    ball = [(np.arange(n), np.zeros(n), radius)]
    y, g, act, on_ball, reduct = active_set_tcg(grad, hess_prod, lo, up, aub, bub, aeq, ball)
    if on_ball and act.dim > 0:
        resid = np.maximum(0.0, bub - aub @ y)
        better = _improve_on_boundary(y, g, hess_prod, lo, up, aub, resid, act, reduct)
        if grad @ better + 0.5 * better @ hess_prod(better) <= grad @ y + 0.5 * y @ hess_prod(y):
            y = better
    return y


def normal_step(aub: FloatArray, bub: FloatArray, aeq: FloatArray, beq: FloatArray,
                xl: FloatArray, xu: FloatArray, radius: float) -> FloatArray:
    """Approximately minimise ``0.5 (||max(aub s - bub, 0)||^2 + ||aeq s - beq||^2)`` subject to
    ``xl <= s <= xu`` and ``||s|| <= radius`` (slack formulation, see module docstring)."""
    m_ub, n = aub.shape
    lo, up = np.minimum(xl, 0.0), np.maximum(xu, 0.0)
    w0 = np.maximum(0.0, -bub)
    grad = np.concatenate((aeq.T @ -beq, w0))
    ineq = np.hstack((aub, -np.eye(m_ub)))
    lo_all = np.concatenate((lo, -w0))
    up_all = np.concatenate((up, np.full(m_ub, np.inf)))

    def hess_prod(v: FloatArray) -> FloatArray:
        return np.concatenate((aeq.T @ (aeq @ v[:n]), v[n:]))

    slack_radius = float(np.sqrt(beq @ beq + w0 @ w0))
    balls = [(np.arange(n), np.zeros(n), radius)]
    if m_ub:
        balls.append((np.arange(n, n + m_ub), w0, slack_radius))
    y, *_ = active_set_tcg(grad, hess_prod, lo_all, up_all, ineq, bub + w0,
                           np.empty((0, n + m_ub)), balls)
    return np.clip(y[:n], lo, up)
