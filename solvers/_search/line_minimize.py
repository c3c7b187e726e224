"""Powell's line search: minimize ``f(p + alpha * d)`` over the scalar ``alpha``.

Without bounds it is Brent's method from a downhill bracket at 0 and 1 (relative tolerance
``tol``); with bounds it is Brent's bounded method on the feasible segment of the line (absolute
tolerance ``tol / 100``), after mapping a half-infinite segment onto a finite one through
``alpha = tan(t)``.  Same steps as scipy's ``_linesearch_powell``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .bounded import bounded_search
from .brent import brent_search
from .scalar import BracketError, bracket_failure_point, bracket_search

__all__ = ["feasible_step_range", "line_minimize"]

FloatArray = npt.NDArray[np.float64]
VectorFunction = Callable[[FloatArray], float]


def feasible_step_range(x: FloatArray, d: FloatArray, lower: FloatArray,
                        upper: FloatArray) -> tuple[float, float]:
    """Return ``(lmin, lmax)``: the steps ``l`` with ``lower <= x + l * d <= upper``.

    Only components with ``d != 0`` constrain ``l``.  When ``x`` is outside the bounds and the
    line cannot reach them, ``(0.0, 0.0)``.  All-zero ``d``: ``(-inf, inf)``.
    """
    moving = d != 0
    if not moving.any():
        return -math.inf, math.inf
    dm, xm = d[moving], x[moving]
    to_lower = (lower[moving] - xm) / dm
    to_upper = (upper[moving] - xm) / dm
    forward = dm > 0
    lmin = float(np.max(np.where(forward, to_lower, to_upper)))
    lmax = float(np.min(np.where(forward, to_upper, to_lower)))
    return (lmin, lmax) if lmax >= lmin else (0.0, 0.0)


def _brent_along(f: Callable[[float], float], tol: float) -> tuple[float, float]:
    """Unbounded line minimum: (alpha, value)."""
    try:
        xa, xb, xc, _, fb, _, _ = bracket_search(f)
    except BracketError as error:
        alpha, value, _ = bracket_failure_point(error)
        return alpha, value
    alpha, value, _ = brent_search(f, xa, xb, xc, fb, xtol=tol)
    return alpha, value


def _tan(t: float) -> float:
    return float(np.tan(t))


def line_minimize(evaluate: VectorFunction, p: FloatArray, d: FloatArray, fval: float, *,
                  tol: float, lower: FloatArray | None = None,
                  upper: FloatArray | None = None) -> tuple[float, FloatArray, FloatArray]:
    """Minimize ``evaluate(p + alpha * d)`` over ``alpha``.

    Parameters
    ----------
    evaluate : callable
        The counted objective, ``evaluate(x) -> float`` for ``x`` of shape (n,).
    p, d : ndarray, shape (n,)
        Start point and direction.
    fval : float
        ``evaluate(p)``, returned unchanged when ``d`` is zero.
    tol : float
        Relative x-tolerance of the unbounded search; the bounded search uses ``tol / 100``.
    lower, upper : ndarray, shape (n,), optional
        Bounds (inf where unbounded); None for an unbounded problem.

    Returns
    -------
    value : float
        The objective at the new point.
    x : ndarray, shape (n,)
        The new point ``p + step``.
    step : ndarray, shape (n,)
        The step taken, ``alpha * d``.
    """
    if not d.any():
        return fval, p, d

    def along(alpha: float) -> float:
        return evaluate(p + alpha * d)

    if lower is None or upper is None:
        alpha, value = _brent_along(along, tol)
    else:
        lmin, lmax = feasible_step_range(p, d, lower, upper)
        low_open, high_open = lmin == -math.inf, lmax == math.inf
        if low_open and high_open:
            alpha, value = _brent_along(along, tol)
        elif not low_open and not high_open:
            alpha, value, _, _ = bounded_search(along, lmin, lmax, xatol=tol / 100)
        else:  # half-infinite segment: search t in (atan(lmin), atan(lmax)), alpha = tan(t)
            lo, hi = float(np.arctan(lmin)), float(np.arctan(lmax))
            t, value, _, _ = bounded_search(lambda t: along(_tan(t)), lo, hi, xatol=tol / 100)
            alpha = _tan(t)
    step = alpha * d
    return value, p + step, step
