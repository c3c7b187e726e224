"""The line search of L-BFGS-B (Algorithm 778's ``lnsrlb``) around the Moré–Thuente core.

From ``x`` along ``d = z - x`` (``z`` feasible) it looks for a step satisfying the strong Wolfe
conditions with ``ftol = 1e-3``, ``gtol = 0.9``, ``xtol = 0.1``.  The largest step is the one
that keeps every trial point inside the box (1 on the first iteration of a bounded problem,
``1e10`` without bounds); the first trial step is ``min(1 / ||d||, stpmax)`` on the first
iteration (unless every variable has two bounds) and 1 afterwards.  At most ``maxls``
evaluations are spent.  A trial step of exactly 1 evaluates ``z`` itself, so variables that the
subspace step put on a bound land exactly there.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ..._core.objective import ScalarObjective
from ..._search.more_thuente import more_thuente

__all__ = ["SearchResult", "projected_line_search", "projected_gradient_norm"]

FloatArray = npt.NDArray[np.float64]
_BIG_STEP = 1e10
_SMALL = 32            # up to this many variables, loop over Python floats
_FTOL, _GTOL, _XTOL = 1e-3, 0.9, 0.1
_ACCEPTED = frozenset({"converged", "rounding", "xtol", "stpmax", "stpmin"})


class SearchResult(NamedTuple):
    """A successful line search: the direction ``d``, the step, the new point with ``f`` and
    ``g`` there, and the directional derivatives ``g_new^T d`` and ``g_old^T d``."""

    d: FloatArray
    stp: float
    x: FloatArray
    f: float
    g: FloatArray
    slope: float
    slope0: float


def projected_gradient_norm(x: FloatArray, g: FloatArray, lb: FloatArray | None,
                            ub: FloatArray | None) -> float:
    """Infinity norm of the gradient projected onto the box (L-BFGS-B's ``projgr``).

    ``lb`` and ``ub`` None mean no bounds at all (the projection is then ``g`` itself).
    """
    if not g.size:
        return 0.0
    if lb is None or ub is None:
        return float(np.abs(g).max())
    if g.size <= _SMALL:     # the same IEEE operations on Python floats
        return max(abs(max(xi - hi, gi) if gi < 0.0 else min(xi - lo, gi))
                   for xi, gi, lo, hi in zip(x.tolist(), g.tolist(), lb.tolist(), ub.tolist()))
    pg = np.where(g < 0.0, np.maximum(x - ub, g), np.minimum(x - lb, g))
    return float(np.abs(pg).max())


def _max_step(x: FloatArray, d: FloatArray, lb: FloatArray, ub: FloatArray) -> float:
    """Largest ``a <= 1e10`` with ``lb <= x + a d <= ub`` (the value of `max_feasible_step`)."""
    if not d.size:
        return _BIG_STEP
    if d.size <= _SMALL:
        ratios = [((hi if di > 0.0 else lo) - xi) / di
                  for xi, di, lo, hi in zip(x.tolist(), d.tolist(), lb.tolist(), ub.tolist())
                  if di != 0.0]
        limit = min(ratios, default=math.inf)
    else:
        towards = np.where(d > 0.0, ub, lb)
        ratio = np.divide(towards - x, d, out=np.full(d.size, np.inf), where=d != 0.0)
        limit = float(ratio.min())
    limit = max(limit, 0.0) + 0.0   # -0.0 becomes 0.0
    return limit if limit < _BIG_STEP else _BIG_STEP


def _first_step(x: FloatArray, d: FloatArray, lb: FloatArray, ub: FloatArray, *,
                first_iteration: bool, constrained: bool, boxed: bool) -> tuple[float, float]:
    """Return ``(stp, stpmax)`` for the search along ``d``."""
    if not constrained:
        stpmax = _BIG_STEP
    elif first_iteration:
        stpmax = 1.0
    else:
        stpmax = _max_step(x, d, lb, ub)
    if first_iteration and not boxed:
        dnorm = math.sqrt(float(d @ d))
        stp = min(1.0 / dnorm, stpmax) if dnorm > 0.0 else stpmax
    else:
        stp = 1.0
    return min(stp, stpmax), stpmax


def projected_line_search(obj: ScalarObjective, x: FloatArray, f: float, g: FloatArray,
                          z: FloatArray, lb: FloatArray, ub: FloatArray, *,
                          first_iteration: bool, constrained: bool, boxed: bool,
                          maxls: int) -> SearchResult | None:
    """Search from ``x`` (value ``f``, gradient ``g``) towards ``z``; None when it fails.

    It fails when ``z - x`` is not a descent direction, when ``maxls`` evaluations do not
    suffice, or when the Moré–Thuente search reports an error.
    """
    d = z - x
    slope0 = float(g @ d)
    if not slope0 < 0.0:
        return None
    stp, stpmax = _first_step(x, d, lb, ub, first_iteration=first_iteration,
                              constrained=constrained, boxed=boxed)
    seen: dict[float, tuple[FloatArray, float, FloatArray]] = {}

    def phi(step: float) -> tuple[float, float]:
        xt = z.copy() if step == 1.0 else x + step * d
        ft, gt = obj.fun_and_grad(xt)
        seen[step] = (xt, ft, gt)
        return ft, float(gt @ d)

    stp, _, slope, status = more_thuente(phi, f, slope0, stp, ftol=_FTOL, gtol=_GTOL,
                                         xtol=_XTOL, stpmin=0.0, stpmax=stpmax, maxiter=maxls)
    if status not in _ACCEPTED or stp not in seen:
        return None
    xt, ft, gt = seen[stp]
    return SearchResult(d, stp, xt, ft, gt, slope, slope0)
