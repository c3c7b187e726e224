"""Equality-constrained QP pieces of trust-constr: intersections, the dogleg normal step and
projected CG for the tangential step.

* `sphere_intersections`, `box_intersections`, `box_sphere_intersections`: the parameter range
  ``[ta, tb]`` for which ``z + t d`` lies in the ball ``|x| <= radius`` and/or the box
  ``lb <= x <= ub`` (``0 <= t <= 1`` for a segment, any ``t`` for the whole line).
* `modified_dogleg`: approximately minimise ``|A x + b|^2 / 2`` in a ball and a box (Byrd,
  Hribar & Nocedal 1999, pp. 885-886): the best of the dogleg path (Cauchy point, then towards
  the minimum-norm Newton point) and the scaled Newton step.
* `projected_cg`: conjugate gradients on ``x^T H x / 2 + c^T x`` in the null space of ``A``
  (Gould, Hribar & Nocedal 2001, algorithm 6.2), stopped at the trust-region boundary, on
  negative curvature, on the residual tolerance, or after ``n - m`` iterations; a step that
  leaves the box is replaced by the last feasible point found on the way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["sphere_intersections", "box_intersections", "box_sphere_intersections",
           "modified_dogleg", "projected_cg", "inside_box"]

FloatArray = npt.NDArray[np.float64]
Map = Callable[[FloatArray], FloatArray]
_TINY = 1e-25


def sphere_intersections(z: FloatArray, d: FloatArray, radius: float,
                         entire_line: bool = False) -> tuple[float, float, bool]:
    """``(ta, tb, intersect)``: ``|z + t d| <= radius`` for ``ta <= t <= tb``."""
    dd = float(d @ d)
    if dd == 0.0:
        return 0.0, 0.0, False
    if math.isinf(radius):
        return (-math.inf, math.inf, True) if entire_line else (0.0, 1.0, True)
    half_b = float(z @ d)
    c = float(z @ z) - radius * radius
    disc = 4.0 * (half_b * half_b - dd * c)
    if disc < 0.0:
        return 0.0, 0.0, False
    # the stable pair of roots of dd t^2 + 2 half_b t + c (Golub & Van Loan, p. 97)
    q = 2.0 * half_b + math.copysign(math.sqrt(disc), 2.0 * half_b)
    roots = (-q / (2.0 * dd), -2.0 * c / q) if q != 0.0 else (0.0, 0.0)
    ta, tb = min(roots), max(roots)
    if entire_line:
        return ta, tb, True
    if tb < 0.0 or ta > 1.0:
        return 0.0, 0.0, False
    return max(0.0, ta), min(1.0, tb), True


def box_intersections(z: FloatArray, d: FloatArray, lb: FloatArray, ub: FloatArray,
                      entire_line: bool = False) -> tuple[float, float, bool]:
    """``(ta, tb, intersect)``: ``lb <= z + t d <= ub`` for ``ta <= t <= tb``."""
    if not np.any(d):
        return 0.0, 0.0, False
    still = d == 0
    if np.any(z[still] < lb[still]) or np.any(z[still] > ub[still]):
        return 0.0, 0.0, False
    moving = ~still
    zm, dm = z[moving], d[moving]
    t_lo = (lb[moving] - zm) / dm
    t_hi = (ub[moving] - zm) / dm
    ta = float(np.max(np.minimum(t_lo, t_hi)))
    tb = float(np.min(np.maximum(t_lo, t_hi)))
    intersect = ta <= tb
    if entire_line:
        return ta, tb, intersect
    if tb < 0.0 or ta > 1.0:
        return 0.0, 0.0, False
    return max(0.0, ta), min(1.0, tb), intersect


def box_sphere_intersections(z: FloatArray, d: FloatArray, lb: FloatArray, ub: FloatArray,
                             radius: float, entire_line: bool = False
                             ) -> tuple[float, float, bool]:
    """The intersection of the box and the ball ranges (see the two functions above)."""
    ta_b, tb_b, hit_b = box_intersections(z, d, lb, ub, entire_line)
    ta_s, tb_s, hit_s = sphere_intersections(z, d, radius, entire_line)
    ta, tb = max(ta_b, ta_s), min(tb_b, tb_s)
    return ta, tb, bool(hit_b and hit_s and ta <= tb)


def inside_box(x: FloatArray, lb: FloatArray, ub: FloatArray) -> bool:
    """``lb <= x <= ub`` componentwise."""
    return bool(np.all(lb <= x) and np.all(x <= ub))


def modified_dogleg(A: FloatArray, row_space: Map, b: FloatArray, radius: float,
                    lb: FloatArray, ub: FloatArray) -> FloatArray:
    """Approximate minimiser of ``|A x + b|^2 / 2`` with ``|x| <= radius``, ``lb <= x <= ub``.

    ``A`` has shape (m, n), ``row_space`` is the minimum-norm solution map of `projections`;
    ``lb <= 0 <= ub`` is expected.  Returns the step, shape (n,).
    """
    newton = -row_space(b)
    if inside_box(newton, lb, ub) and np.linalg.norm(newton) <= radius:
        return newton
    g = A.T @ b
    ag = A @ g
    cauchy = -(float(g @ g) / float(ag @ ag)) * g
    origin = np.zeros_like(cauchy)
    _, alpha, hit = box_sphere_intersections(cauchy, newton - cauchy, lb, ub, radius)
    if hit:
        dogleg = cauchy + alpha * (newton - cauchy)
    else:
        _, alpha, _ = box_sphere_intersections(origin, cauchy, lb, ub, radius)
        dogleg = alpha * cauchy
    _, alpha, _ = box_sphere_intersections(origin, newton, lb, ub, radius)
    scaled_newton = alpha * newton
    if np.linalg.norm(A @ dogleg + b) < np.linalg.norm(A @ scaled_newton + b):
        return dogleg
    return scaled_newton


def _boundary_point(x: FloatArray, p: FloatArray, lb: FloatArray, ub: FloatArray,
                    radius: float, entire_line: bool) -> FloatArray:
    """Move from ``x`` along ``p`` to the farthest point inside the ball and box, clipped."""
    _, t, hit = box_sphere_intersections(x, p, lb, ub, radius, entire_line=entire_line)
    if hit:
        x = x + t * p
    return np.clip(x, lb, ub)


def projected_cg(H: Any, c: FloatArray, null_space: Map, row_space: Map, b: FloatArray,
                 radius: float = math.inf, lb: FloatArray | None = None,
                 ub: FloatArray | None = None) -> tuple[FloatArray, dict[str, Any]]:
    """Minimise ``x^T H x / 2 + c^T x`` subject to ``A x + b = 0``, ``|x| <= radius`` and
    ``lb <= x <= ub`` approximately by projected CG.

    ``H`` has ``.dot(p)``; ``null_space``/``row_space`` are the maps of `projections` for ``A``.
    Returns ``(x, info)`` with ``info = {'niter', 'stop_cond', 'hits_boundary'}``; ``stop_cond``
    is 1 (iteration limit), 2 (trust-region boundary), 3 (negative curvature) or 4 (tolerance).
    """
    n, m = c.size, b.size
    lb = np.full(n, -np.inf) if lb is None else lb
    ub = np.full(n, np.inf) if ub is None else ub
    x = row_space(-b)
    r = null_space(H.dot(x) + c)
    g = null_space(r)
    p = -g
    Hp = H.dot(p)
    gg = float(g @ g)
    room = radius - float(np.linalg.norm(x))
    if room < 0:
        raise ValueError("Trust region problem does not have a solution.")
    if room < _TINY:
        return x, {"niter": 0, "stop_cond": 2, "hits_boundary": True}
    tol = max(min(0.01 * math.sqrt(gg), 0.1 * gg), _TINY)
    limit = n - m
    stop_cond, hits_boundary, outside, k = 1, False, 0, 0
    last_feasible = np.zeros_like(x)
    for _ in range(limit):
        if gg < tol:
            stop_cond = 4
            break
        k += 1
        curvature = float(Hp @ p)
        if curvature <= 0:
            if math.isinf(radius):
                raise ValueError("Negative curvature not allowed for unrestricted problems.")
            x = _boundary_point(x, p, lb, ub, radius, entire_line=True)
            stop_cond, hits_boundary = 3, True
            break
        alpha = gg / curvature
        x_next = x + alpha * p
        if np.linalg.norm(x_next) >= radius:
            x = _boundary_point(x, alpha * p, lb, ub, radius, entire_line=False)
            stop_cond, hits_boundary = 2, True
            break
        outside = 0 if inside_box(x_next, lb, ub) else outside + 1
        if outside > 0:
            _, theta, hit = box_sphere_intersections(x, alpha * p, lb, ub, radius)
            if hit:
                last_feasible = np.clip(x + theta * alpha * p, lb, ub)
                outside = 0
        if outside > limit:
            break
        g_next = null_space(r + alpha * Hp)
        gg_next = float(g_next @ g_next)
        p = -g_next + (gg_next / gg) * p
        x, g, r = x_next, g_next, g_next
        gg = float(g @ g)
        Hp = H.dot(p)
    if not inside_box(x, lb, ub):
        x = last_feasible
        hits_boundary = True
    return x, {"niter": k, "stop_cond": stop_cond, "hits_boundary": hits_boundary}
