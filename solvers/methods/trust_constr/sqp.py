"""Byrd–Omojokun trust-region SQP for ``min f(x)`` subject to ``c(x) = 0`` (trust-constr).

Each iteration splits the step ``d = dn + dt`` (Lalee, Marucha & Plantenga 1998; Byrd, Hribar &
Nocedal 1999):

* the **normal step** ``dn`` reduces the linearised violation ``|A dn + c|`` inside a smaller
  region (``|dn| <= 0.8 radius``, half the box), by the dogleg method (`_tc_qp.modified_dogleg`);
* the **tangential step** ``dt`` minimises the quadratic model of the Lagrangian in the null
  space of ``A`` inside the rest of the region, by projected CG (`_tc_qp.projected_cg`).

The trial point is judged by the merit function ``f + penalty * |c|`` (penalty raised so the
predicted reduction stays positive, formula 3.52 of Byrd et al.).  A rejected step with a small
normal part gets a second-order correction ``-A^T (A A^T)^{-1} c(x + d)``.  The radius grows by
7x or 2x on good steps and shrinks by a factor in [0.1, 0.5] on rejected ones (Nocedal & Wright,
p. 696).  Multipliers are the least-squares ones, ``-(A A^T)^{-1} A g``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .projections import Projections, projections
from .qp import box_intersections, modified_dogleg, projected_cg

__all__ = ["SQPProblem", "equality_constrained_sqp"]

FloatArray = npt.NDArray[np.float64]

PENALTY_FACTOR = 0.3            # rho of formula (3.51)
LARGE_RATIO, MEDIUM_RATIO = 0.9, 0.3
SUFFICIENT_RATIO = 1e-8         # eta
GROW_LARGE, GROW_MEDIUM = 7.0, 2.0
MAX_SHRINK, MIN_SHRINK = 0.5, 0.1
SOC_THRESHOLD = 0.1
NORMAL_FRACTION = 0.8           # zeta of formula (3.21)
BOX_FRACTION = 0.5


@dataclass
class SQPProblem:
    """The equality-constrained problem and the hooks the SQP loop calls.

    ``fun_and_constr(x) -> (f, c)``; ``grad_and_jac(x) -> (g, A)``; ``lagr_hess(x, v)`` -> an
    operator with ``.dot``; ``scaling(x)`` -> the diagonal (shape (n,)) of the variable scaling
    or None for the identity; ``stop(x, failed, optimality, violation, radius, penalty,
    cg_info) -> bool`` is called before every iteration (and decides when to end).
    """

    fun_and_constr: Callable[[FloatArray], tuple[float, FloatArray]]
    grad_and_jac: Callable[[FloatArray], tuple[FloatArray, FloatArray]]
    lagr_hess: Callable[[FloatArray, FloatArray], Any]
    stop: Callable[..., bool]
    scaling: Callable[[FloatArray], FloatArray] | None = None
    factorization: str | None = None
    sparse: bool = False


@dataclass
class _Iterate:
    """The accepted point and what the next iteration needs there."""

    x: FloatArray
    f: float
    g: FloatArray
    c: FloatArray
    A: FloatArray
    proj: Projections
    v: FloatArray
    H: Any
    scale: FloatArray | None


def _at(problem: SQPProblem, x: FloatArray, f: float, g: FloatArray, c: FloatArray,
        A: FloatArray) -> _Iterate:
    proj = projections(A, problem.factorization, sparse=problem.sparse)
    v = -proj.least_squares(g)
    H = problem.lagr_hess(x, v)
    scale = problem.scaling(x) if problem.scaling is not None else None
    return _Iterate(x, f, g, c, A, proj, v, H, scale)


def _measures(it: _Iterate) -> tuple[float, float]:
    """``(optimality, violation)``: inf-norms of the Lagrangian gradient and of ``c``."""
    optimality = float(np.linalg.norm(it.g + it.A.T @ it.v, np.inf))
    violation = float(np.linalg.norm(it.c, np.inf)) if it.c.size else 0.0
    return optimality, violation


def _new_radius(radius: float, ratio: float, step_norm: float) -> float:
    """Formula (3.55) of Byrd et al. for growth; Nocedal & Wright p. 696 for shrinking."""
    if ratio >= LARGE_RATIO:
        return max(GROW_LARGE * step_norm, radius)
    if ratio >= MEDIUM_RATIO:
        return max(GROW_MEDIUM * step_norm, radius)
    if ratio < SUFFICIENT_RATIO:
        candidate = (1 - SUFFICIENT_RATIO) / (1 - ratio) * step_norm
        if candidate >= MAX_SHRINK * radius:
            return radius * MAX_SHRINK
        if candidate >= MIN_SHRINK * radius:
            return candidate
        return radius * MIN_SHRINK
    return radius


def _move(it: _Iterate, step: FloatArray) -> FloatArray:
    return it.x + (step if it.scale is None else it.scale * step)


def equality_constrained_sqp(problem: SQPProblem, x0: FloatArray, f0: float, g0: FloatArray,
                             c0: FloatArray, A0: FloatArray, *, penalty: float, radius: float,
                             trust_lb: FloatArray | None = None,
                             trust_ub: FloatArray | None = None) -> tuple[FloatArray, float]:
    """Run the SQP loop from ``x0`` until ``problem.stop`` says so.

    ``f0, g0, c0, A0`` are the objective, gradient, constraints (m,) and Jacobian (m, n) at
    ``x0``; ``trust_lb``/``trust_ub`` (n,) bound the scaled step.  Returns the last accepted
    point and the final trust radius.
    """
    n = x0.size
    lb = np.full(n, -np.inf) if trust_lb is None else trust_lb
    ub = np.full(n, np.inf) if trust_ub is None else trust_ub
    it = _at(problem, np.array(x0, dtype=float), f0, g0, c0, A0)
    optimality, violation = _measures(it)
    cg_info: dict[str, Any] = {"niter": 0, "stop_cond": 0, "hits_boundary": False}
    failed = False
    while not problem.stop(it.x, failed, optimality, violation, radius, penalty, cg_info):
        dn = modified_dogleg(it.A, it.proj.row_space, it.c, NORMAL_FRACTION * radius,
                             BOX_FRACTION * lb, BOX_FRACTION * ub)
        tangential_radius = math.sqrt(max(radius ** 2 - float(dn @ dn), 0.0))
        dt, cg_info = projected_cg(it.H, it.H.dot(dn) + it.g, it.proj.null_space,
                                   it.proj.row_space, np.zeros_like(it.c), tangential_radius,
                                   lb - dn, ub - dn)
        d = dn + dt
        model = 0.5 * float(it.H.dot(d) @ d) + float(it.g @ d)
        vpred = max(1e-16, float(np.linalg.norm(it.c) - np.linalg.norm(it.A @ d + it.c)))
        previous_penalty = penalty
        if model > 0:
            penalty = max(penalty, model / ((1 - PENALTY_FACTOR) * vpred))
        predicted = -model + penalty * vpred
        merit = it.f + penalty * float(np.linalg.norm(it.c))
        x_next = _move(it, d)
        f_next, c_next = problem.fun_and_constr(x_next)
        ratio = (merit - (f_next + penalty * float(np.linalg.norm(c_next)))) / predicted
        if ratio < SUFFICIENT_RATIO and np.linalg.norm(dn) <= SOC_THRESHOLD * np.linalg.norm(dt):
            correction = -it.proj.row_space(c_next)
            _, t, inside = box_intersections(d, correction, lb, ub)
            x_soc = _move(it, d + t * correction)
            f_soc, c_soc = problem.fun_and_constr(x_soc)
            ratio_soc = (merit - (f_soc + penalty * float(np.linalg.norm(c_soc)))) / predicted
            if inside and ratio_soc >= SUFFICIENT_RATIO:
                x_next, f_next, c_next, ratio = x_soc, f_soc, c_soc, ratio_soc
        radius = _new_radius(radius, ratio, float(np.linalg.norm(d)))
        if ratio >= SUFFICIENT_RATIO:
            g_next, A_next = problem.grad_and_jac(x_next)
            it = _at(problem, x_next, f_next, g_next, c_next, A_next)
            failed = False
            optimality, violation = _measures(it)
        else:
            penalty = previous_penalty
            failed = True
    return it.x, radius
