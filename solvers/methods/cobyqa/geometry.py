"""COBYQA's geometry steps: move one interpolation point to keep the set well poised.

The point ``k`` to move is replaced by ``x_best + s`` where ``s`` makes the Lagrange polynomial
``l_k`` large in absolute value inside the trust region and the bounds.  Two candidates are tried,
as in Powell's BOBYQA: a Cauchy-type step along the (bound-projected) gradient of ``l_k``, either
sign, and the "spider" steps along the lines through ``x_best`` and the other points; the one with
the larger ``|sigma|`` (Powell's denominator) wins.  Each function returns a step in the
coordinates centred at ``x_best``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["cauchy_geometry", "spider_geometry"]

FloatArray = npt.NDArray[np.float64]
TINY = float(np.finfo(float).tiny)
Curvature = Callable[[FloatArray], float]


def _cauchy_direction(grad: FloatArray, xl: FloatArray, xu: FloatArray, delta: float
                      ) -> FloatArray:
    """The direction ``+grad`` cut by the bounds and scaled onto the sphere of radius delta:
    components whose bound blocks them sit on that bound."""
    at_lo = (xl < 0.0) & (grad > 0.0)
    at_up = (xu > 0.0) & (grad < 0.0)
    d = np.zeros_like(grad)
    d[at_lo], d[at_up] = xl[at_lo], xu[at_up]
    if np.linalg.norm(d) <= delta:
        return d
    working = at_lo | at_up
    while True:
        g_norm = float(np.linalg.norm(grad[working]))
        rest = float(delta ** 2 - d[~working] @ d[~working])
        reduced = np.sqrt(max(rest, 0.0))
        if g_norm <= TINY * abs(reduced):
            return d
        d[working] = max(reduced / g_norm, 0.0) * grad[working]
        low = working & (d < xl)
        high = working & (d > xu)
        if not (np.any(low) or np.any(high)):
            return d
        d[low], d[high] = xl[low], xu[high]
        working &= ~(low | high)


def _cauchy_one_sign(grad: FloatArray, curv: Curvature, xl: FloatArray, xu: FloatArray,
                     delta: float) -> tuple[FloatArray, float]:
    """Largest increase of ``grad.s + 0.5 curv(s)`` along the Cauchy direction: ``(s, value)``."""
    d = _cauchy_direction(grad, xl, xu, delta)
    g_d = float(grad @ d)
    if g_d < 0.0:
        return np.zeros_like(grad), 0.0
    d_norm = float(np.linalg.norm(d))
    t_tr = max(delta / d_norm, 0.0) if d_norm > TINY * delta else 0.0
    c_d = curv(d)
    t_quad = max(-g_d / c_d, 0.0) if c_d < -TINY * g_d else np.inf
    i_lo = (xl > -np.inf) & (d < TINY * xl)
    i_up = (xu < np.inf) & (d > TINY * xu)
    t_bd = min(float(np.min(xl[i_lo] / d[i_lo], initial=np.inf)),
               float(np.min(xu[i_up] / d[i_up], initial=np.inf)))
    t = min(t_tr, t_quad, t_bd)
    return np.clip(t * d, xl, xu), t * g_d + 0.5 * t ** 2 * c_d


def cauchy_geometry(grad: FloatArray, curv: Curvature, xl: FloatArray, xu: FloatArray,
                    delta: float) -> FloatArray:
    """Cauchy step making ``|grad.s + 0.5 curv(s)|`` large, ``xl <= s <= xu``, ``||s|| <= delta``."""
    xl, xu = np.minimum(xl, 0.0), np.maximum(xu, 0.0)
    up, q_up = _cauchy_one_sign(grad, curv, xl, xu, delta)
    down, q_down = _cauchy_one_sign(-grad, lambda v: -curv(v), xl, xu, delta)
    return up if abs(q_up) >= abs(q_down) else down


def _line_limits(xl: FloatArray, xu: FloatArray, d: FloatArray) -> tuple[float, float]:
    """Range ``[t_neg, t_pos]`` of ``t`` with ``xl <= t d <= xu`` (``xl <= 0 <= xu``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_lo, ratio_up = xl / d, xu / d
    hit_lo_pos = (xl > -np.inf) & (d < TINY * xl)     # moving forward meets the lower bound
    hit_up_pos = (xu < np.inf) & (d > TINY * xu)
    hit_lo_neg = (xl > -np.inf) & (d > -TINY * xl)    # moving backward meets the lower bound
    hit_up_neg = (xu < np.inf) & (d < -TINY * xu)
    pos = min(float(np.min(ratio_lo[hit_lo_pos], initial=np.inf)),
              float(np.min(ratio_up[hit_up_pos], initial=np.inf)))
    neg = max(float(np.max(ratio_lo[hit_lo_neg], initial=-np.inf)),
              float(np.max(ratio_up[hit_up_neg], initial=-np.inf)))
    return min(neg, 0.0), max(pos, 0.0)


def _best_on_line(g_d: float, c_d: float, t_lim: float, sign: float) -> tuple[float, float]:
    """The ``t`` (of the given sign, ``|t| <= |t_lim|``) with the largest ``|g_d t + c_d t^2/2|``."""
    t = t_lim
    q = t * g_d + 0.5 * t ** 2 * c_d
    if c_d != 0.0:
        t_quad = -g_d / c_d
        if sign * t_quad > 0.0 and abs(t_quad) < abs(t_lim):
            q_quad = t_quad * g_d + 0.5 * t_quad ** 2 * c_d
            if abs(q_quad) > abs(q):
                return t_quad, q_quad
    return t, q


def spider_geometry(grad: FloatArray, curv: Curvature, directions: FloatArray, xl: FloatArray,
                    xu: FloatArray, delta: float) -> FloatArray:
    """Best step along the lines ``t * directions[:, k]`` for ``|grad.s + 0.5 curv(s)|``."""
    xl, xu = np.minimum(xl, 0.0), np.maximum(xu, 0.0)
    step = np.zeros_like(grad)
    q_best = 0.0
    for d in directions.T:
        d_norm = float(np.linalg.norm(d))
        if d_norm <= TINY * delta:
            continue
        t_tr = delta / d_norm
        t_neg, t_pos = _line_limits(xl, xu, d)
        g_d, c_d = float(grad @ d), curv(d)
        t_p, q_p = _best_on_line(g_d, c_d, min(t_tr, t_pos), 1.0)
        t_n, q_n = _best_on_line(g_d, c_d, max(-t_tr, t_neg), -1.0)
        if abs(q_p) >= abs(q_n) and abs(q_p) > abs(q_best):
            step, q_best = np.clip(t_p * d, xl, xu), q_p
        elif abs(q_n) > abs(q_p) and abs(q_n) > abs(q_best):
            step, q_best = np.clip(t_n * d, xl, xu), q_n
    return step
