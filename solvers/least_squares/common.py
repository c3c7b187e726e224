"""Pieces shared by the trust-region least-squares methods (trf, dogbox).

Quadratic models along a line, step lengths to the bounds, active-bound detection, strictly
feasible shifts, Coleman-Li scaling, the trust-radius update and the ftol/xtol test, the scaling
of variables by Jacobian column norms, and the two trust-region subproblems (the exact one
from one SVD, after More 1977, and the 2-d one through a quartic).  Shapes: ``x`` and ``g``
are (n,), ``J`` is (m, n).
"""

from __future__ import annotations

from math import copysign

import numpy as np
import numpy.typing as npt

__all__ = ["EPS", "build_quadratic_1d", "minimize_quadratic_1d", "evaluate_quadratic",
           "in_bounds", "step_size_to_bound", "find_active_constraints",
           "make_strictly_feasible", "coleman_li_scaling", "update_tr_radius",
           "check_termination", "jac_scale", "variable_scale", "intersect_trust_region",
           "solve_lsq_trust_region", "solve_trust_region_2d"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int_]
EPS = float(np.finfo(float).eps)


def build_quadratic_1d(J: FloatArray, g: FloatArray, s: FloatArray,
                       diag: FloatArray | None = None,
                       s0: FloatArray | None = None) -> tuple[float, float, float]:
    """Coefficients ``(a, b, c)`` of ``q(t) = a t**2 + b t + c`` along ``s0 + t s``.

    ``q`` is ``0.5 p (J^T J + diag(diag)) p + g p`` at ``p = s0 + t s``; ``c`` is 0 without
    ``s0``.
    """
    v = J.dot(s)
    a = float(np.dot(v, v))
    if diag is not None:
        a += float(np.dot(s * diag, s))
    a *= 0.5
    b = float(np.dot(g, s))
    c = 0.0
    if s0 is not None:
        u = J.dot(s0)
        b += float(np.dot(u, v))
        c = 0.5 * float(np.dot(u, u)) + float(np.dot(g, s0))
        if diag is not None:
            b += float(np.dot(s0 * diag, s))
            c += 0.5 * float(np.dot(s0 * diag, s0))
    return a, b, c


def minimize_quadratic_1d(a: float, b: float, lb: float, ub: float,
                          c: float = 0.0) -> tuple[float, float]:
    """Minimise ``a t**2 + b t + c`` over ``[lb, ub]`` (finite): ``(t, value)``."""
    candidates = [lb, ub]
    if a != 0:
        extremum = -0.5 * b / a
        if lb < extremum < ub:
            candidates.append(extremum)
    t = np.asarray(candidates, dtype=float)
    y = t * (a * t + b) + c
    best = int(np.argmin(y))
    return float(t[best]), float(y[best])


def evaluate_quadratic(J: FloatArray, g: FloatArray, s: FloatArray,
                       diag: FloatArray | None = None) -> float:
    """``0.5 s (J^T J + diag(diag)) s + g s`` for one step ``s`` (n,)."""
    Js = J.dot(s)
    q = float(np.dot(Js, Js))
    if diag is not None:
        q += float(np.dot(s * diag, s))
    return 0.5 * q + float(np.dot(s, g))


def in_bounds(x: FloatArray, lb: FloatArray, ub: FloatArray) -> bool:
    """Whether ``lb <= x <= ub`` holds everywhere."""
    return bool(np.all((x >= lb) & (x <= ub)))


def step_size_to_bound(x: FloatArray, s: FloatArray, lb: FloatArray,
                       ub: FloatArray) -> tuple[float, IntArray]:
    """Smallest ``t >= 0`` putting ``x + t s`` on a bound, and which bounds it hits.

    The hits are -1 (lower), 1 (upper) or 0 per variable; ``t`` is inf when ``s == 0``.
    """
    moving = np.nonzero(s)
    steps = np.full_like(x, np.inf)
    with np.errstate(over="ignore", divide="ignore"):
        steps[moving] = np.maximum((lb - x)[moving] / s[moving], (ub - x)[moving] / s[moving])
    min_step = float(np.min(steps)) if steps.size else np.inf
    return min_step, np.equal(steps, min_step) * np.sign(s).astype(int)


def find_active_constraints(x: FloatArray, lb: FloatArray, ub: FloatArray,
                            rtol: float = 1e-10) -> IntArray:
    """-1 / 1 where ``x`` is within ``rtol * max(1, |bound|)`` of its lower / upper bound."""
    active = np.zeros_like(x, dtype=int)
    if rtol == 0:
        active[x <= lb] = -1
        active[x >= ub] = 1
        return active
    lower_dist, upper_dist = x - lb, ub - x
    lower_active = np.isfinite(lb) & (
        lower_dist <= np.minimum(upper_dist, rtol * np.maximum(1, np.abs(lb))))
    upper_active = np.isfinite(ub) & (
        upper_dist <= np.minimum(lower_dist, rtol * np.maximum(1, np.abs(ub))))
    active[lower_active] = -1
    active[upper_active] = 1
    return active


def make_strictly_feasible(x: FloatArray, lb: FloatArray, ub: FloatArray,
                           rstep: float = 1e-10) -> FloatArray:
    """Move entries of ``x`` on (or near) a bound inside, by ``rstep`` relative (one ulp if 0)."""
    x_new = x.copy()
    active = find_active_constraints(x, lb, ub, rstep)
    lower, upper = active == -1, active == 1
    if rstep == 0:
        x_new[lower] = np.nextafter(lb[lower], ub[lower])
        x_new[upper] = np.nextafter(ub[upper], lb[upper])
    else:
        x_new[lower] = lb[lower] + rstep * np.maximum(1, np.abs(lb[lower]))
        x_new[upper] = ub[upper] - rstep * np.maximum(1, np.abs(ub[upper]))
    tight = (x_new < lb) | (x_new > ub)
    x_new[tight] = 0.5 * (lb[tight] + ub[tight])
    return x_new


def coleman_li_scaling(x: FloatArray, g: FloatArray, lb: FloatArray,
                       ub: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Coleman-Li scaling ``v`` (distance to the bound the gradient points at, else 1) and
    its derivative ``dv`` (-1, 0 or 1) per variable."""
    v = np.ones_like(x)
    dv = np.zeros_like(x)
    toward_upper = (g < 0) & np.isfinite(ub)
    v[toward_upper] = ub[toward_upper] - x[toward_upper]
    dv[toward_upper] = -1
    toward_lower = (g > 0) & np.isfinite(lb)
    v[toward_lower] = x[toward_lower] - lb[toward_lower]
    dv[toward_lower] = 1
    return v, dv


def update_tr_radius(delta: float, actual_reduction: float, predicted_reduction: float,
                     step_norm: float, bound_hit: bool) -> tuple[float, float]:
    """New trust radius and the ratio of actual to predicted reduction."""
    if predicted_reduction > 0:
        ratio = actual_reduction / predicted_reduction
    elif predicted_reduction == actual_reduction == 0:
        ratio = 1.0
    else:
        ratio = 0.0
    if ratio < 0.25:
        delta = 0.25 * step_norm
    elif ratio > 0.75 and bound_hit:
        delta *= 2.0
    return delta, ratio


def check_termination(reduction: float, cost: float, step_norm: float, x_norm: float,
                      ratio: float, ftol: float, xtol: float) -> int | None:
    """Status 2 (ftol), 3 (xtol), 4 (both) or None (go on)."""
    ftol_met = reduction < ftol * cost and ratio > 0.25
    xtol_met = step_norm < xtol * (xtol + x_norm)
    if ftol_met and xtol_met:
        return 4
    if ftol_met:
        return 2
    if xtol_met:
        return 3
    return None


def jac_scale(J: FloatArray, scale_inv_old: FloatArray | None = None
              ) -> tuple[FloatArray, FloatArray]:
    """``x_scale='jac'``: ``(scale, scale_inv)`` from the column norms of ``J``, never
    decreasing ``scale_inv`` from its previous value."""
    scale_inv = np.sum(J**2, axis=0) ** 0.5
    if scale_inv_old is None:
        scale_inv[scale_inv == 0] = 1
    else:
        scale_inv = np.maximum(scale_inv, scale_inv_old)
    return 1 / scale_inv, scale_inv


def variable_scale(J: FloatArray, x_scale: FloatArray | str) -> tuple[FloatArray, FloatArray]:
    """Initial ``(scale, scale_inv)``: from ``J``'s column norms for 'jac', else ``x_scale``."""
    if isinstance(x_scale, str):
        return jac_scale(J)
    return x_scale, 1 / x_scale


def intersect_trust_region(x: FloatArray, s: FloatArray, delta: float) -> tuple[float, float]:
    """Roots ``t_neg <= t_pos`` of ``||x + t s|| = delta`` (``x`` inside the region).

    Raises
    ------
    ValueError
        When ``s`` is zero or ``x`` lies outside the trust region.
    """
    a = float(np.dot(s, s))
    if a == 0:
        raise ValueError("`s` is zero.")
    b = float(np.dot(x, s))
    c = float(np.dot(x, x)) - delta**2
    if c > 0:
        raise ValueError("`x` is not within the trust region.")
    d = np.sqrt(b * b - a * c)
    q = -(b + copysign(d, b))
    t1, t2 = q / a, c / q
    return (t1, t2) if t1 < t2 else (t2, t1)


def _phi(alpha: float, suf: FloatArray, s: FloatArray, delta: float) -> tuple[float, float]:
    denom = s**2 + alpha
    p_norm = float(np.linalg.norm(suf / denom))
    return p_norm - delta, -float(np.sum(suf**2 / denom**3)) / p_norm


def solve_lsq_trust_region(n: int, m: int, uf: FloatArray, s: FloatArray, V: FloatArray,
                           delta: float, initial_alpha: float | None = None,
                           rtol: float = 0.01, max_iter: int = 10
                           ) -> tuple[FloatArray, float, int]:
    """Minimise ``||J p + f||`` subject to ``||p|| <= delta`` from ``J = U diag(s) V^T``.

    ``uf = U^T f``.  Returns the step (n,), the Levenberg-Marquardt parameter ``alpha`` with
    ``(J^T J + alpha I) p = -J^T f`` and the number of root-finding iterations (0: the
    Gauss-Newton step fits).
    """
    suf = s * uf
    full_rank = bool(m >= n and s[-1] > EPS * m * s[0])
    if full_rank:
        p = -V.dot(uf / s)
        if np.linalg.norm(p) <= delta:
            return p, 0.0, 0
    alpha_upper = float(np.linalg.norm(suf)) / delta
    alpha_lower = 0.0
    if full_rank:
        phi, phi_prime = _phi(0.0, suf, s, delta)
        alpha_lower = -phi / phi_prime
    if initial_alpha is None or (not full_rank and initial_alpha == 0):
        alpha = max(0.001 * alpha_upper, (alpha_lower * alpha_upper) ** 0.5)
    else:
        alpha = initial_alpha
    it = 0
    for it in range(max_iter):
        if alpha < alpha_lower or alpha > alpha_upper:
            alpha = max(0.001 * alpha_upper, (alpha_lower * alpha_upper) ** 0.5)
        phi, phi_prime = _phi(alpha, suf, s, delta)
        if phi < 0:
            alpha_upper = alpha
        ratio = phi / phi_prime
        alpha_lower = max(alpha_lower, alpha - ratio)
        alpha -= (phi + delta) * ratio / delta
        if abs(phi) < rtol * delta:
            break
    p = -V.dot(suf / (s**2 + alpha))
    p *= delta / np.linalg.norm(p)
    return p, alpha, it + 1


def solve_trust_region_2d(B: FloatArray, g: FloatArray, delta: float
                          ) -> tuple[FloatArray, bool]:
    """Minimise ``0.5 p B p + g p`` over ``||p|| <= delta`` in 2-d: ``(p, is_newton_step)``."""
    try:
        L = np.linalg.cholesky(B)
        p = -np.linalg.solve(L.T, np.linalg.solve(L, g))
        if np.dot(p, p) <= delta**2:
            return p, True
    except np.linalg.LinAlgError:
        pass
    a, b, c = B[0, 0] * delta**2, B[0, 1] * delta**2, B[1, 1] * delta**2
    d, f = g[0] * delta, g[1] * delta
    coeffs = np.array([-b + d, 2 * (a - c + f), 6 * b, 2 * (-a + c + f), -b - d])
    t = np.roots(coeffs)
    t = np.real(t[np.isreal(t)])
    p_all = delta * np.vstack((2 * t / (1 + t**2), (1 - t**2) / (1 + t**2)))
    value = 0.5 * np.sum(p_all * B.dot(p_all), axis=0) + np.dot(g, p_all)
    return p_all[:, int(np.argmin(value))], False
