"""Pieces shared by the scalar minimizers and Powell's line searches.

* `float_function` binds ``args`` to a user objective and returns plain Python floats, so the
  scalar loops run on floats (not numpy scalars);
* `bracket_search` is the downhill bracket search (as `scipy.optimize.bracket`), and
  `initial_bracket` turns a ``brack`` argument (None, two points or three points) into a bracket;
* `BracketError` carries the last points tried when no valid bracket exists, and
  `bracket_failure_point` picks the point a failed search reports;
* `ScalarMonitor` feeds the iterates of a scalar method to `Iterations` (trace) and prints them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core.callback import Iterations
from .._core.objective import as_scalar

__all__ = [
    "BracketError", "BracketInfo", "FloatFunction", "ScalarMonitor", "bracket_failure_point",
    "bracket_search", "float_function", "initial_bracket",
]

FloatFunction = Callable[[float], float]
#: (xa, xb, xc, fa, fb, fc, number of evaluations)
BracketInfo = tuple[float, float, float, float, float, float, int]

GOLDEN_RATIO = 1.618034  # the growth factor of a downhill step, (1 + sqrt(5)) / 2 rounded
_TINY_DENOMINATOR = 1e-21

NO_BRACKET = ("The algorithm terminated without finding a valid bracket. "
              "Consider trying different initial points.")
BRACKET_MAXITER = ("No valid bracket was found before the iteration limit was reached. "
                   "Consider trying different initial points or increasing `maxiter`.")


class BracketError(RuntimeError):
    """No valid bracket was found; ``data`` is the last `BracketInfo` the search reached."""

    def __init__(self, message: str, data: BracketInfo) -> None:
        super().__init__(message)
        self.data = data


def float_function(fun: Callable[..., Any], args: tuple[Any, ...]) -> FloatFunction:
    """Return ``x -> float(fun(x, *args))``; a non-scalar value raises `ValueError` (its shape)."""
    def f(x: float) -> float:
        value = fun(x, *args)
        if isinstance(value, float):
            return float(value)
        return as_scalar(value)
    return f


def _downhill_step(f: FloatFunction, xa: float, xb: float, xc: float, fa: float, fb: float,
                   fc: float, grow_limit: float) -> tuple[tuple[float, ...], int, bool]:
    """One step of the bracket search: the new (xa, xb, xc, fa, fb, fc), evaluations, done."""
    tmp1 = (xb - xa) * (fb - fc)
    tmp2 = (xb - xc) * (fb - fa)
    val = tmp2 - tmp1
    denom = 2.0 * _TINY_DENOMINATOR if abs(val) < _TINY_DENOMINATOR else 2.0 * val
    w = xb - ((xb - xc) * tmp2 - (xb - xa) * tmp1) / denom  # vertex of the parabola
    wlim = xb + grow_limit * (xc - xb)
    if (w - xc) * (xb - w) > 0.0:  # vertex between xb and xc
        fw = f(w)
        if fw < fc:
            return (xb, w, xc, fb, fw, fc), 1, True
        if fw > fb:
            return (xa, xb, w, fa, fb, fw), 1, True
        w = xc + GOLDEN_RATIO * (xc - xb)
        return (xb, xc, w, fb, fc, f(w)), 2, False
    if (w - wlim) * (wlim - xc) >= 0.0:  # vertex beyond the growth limit: stop at the limit
        return (xb, xc, wlim, fb, fc, f(wlim)), 1, False
    if (w - wlim) * (xc - w) > 0.0:  # vertex between xc and the limit
        fw = f(w)
        if fw < fc:
            xb, xc, fb, fc = xc, w, fc, fw
            w = xc + GOLDEN_RATIO * (xc - xb)
            return (xb, xc, w, fb, fc, f(w)), 2, False
        return (xb, xc, w, fb, fc, fw), 1, False
    w = xc + GOLDEN_RATIO * (xc - xb)  # vertex uphill: plain golden step
    return (xb, xc, w, fb, fc, f(w)), 1, False


def bracket_search(f: FloatFunction, xa: float = 0.0, xb: float = 1.0, *,
                   grow_limit: float = 110.0, maxiter: int = 1000) -> BracketInfo:
    """Search downhill from ``xa``, ``xb`` for three points bracketing a minimum of ``f``.

    Returns ``(xa, xb, xc, fa, fb, fc, nfev)`` with ``xb`` strictly between ``xa`` and ``xc``
    and ``fb`` no larger than ``fa`` and ``fc`` (strictly smaller than one of them).

    Raises
    ------
    RuntimeError
        When more than ``maxiter`` + 1 steps were needed.
    BracketError
        When the search ended on points that do not bracket a minimum (or are not finite).
    """
    xa, xb = float(xa), float(xb)
    fa, fb = f(xa), f(xb)
    if fa < fb:  # go downhill from xa to xb
        xa, xb, fa, fb = xb, xa, fb, fa
    xc = xb + GOLDEN_RATIO * (xb - xa)
    fc = f(xc)
    nfev, steps = 3, 0
    while fc < fb:
        if steps > maxiter:
            raise RuntimeError(BRACKET_MAXITER)
        steps += 1
        (xa, xb, xc, fa, fb, fc), used, done = _downhill_step(f, xa, xb, xc, fa, fb, fc,
                                                              grow_limit)
        nfev += used
        if done:
            break
    data = (xa, xb, xc, fa, fb, fc, nfev)
    lowest = (fb < fc and fb <= fa) or (fb < fa and fb <= fc)
    ordered = xa < xb < xc or xc < xb < xa
    finite = math.isfinite(xa) and math.isfinite(xb) and math.isfinite(xc)
    if not (lowest and ordered and finite):
        raise BracketError(NO_BRACKET, data)
    return data


def initial_bracket(f: FloatFunction, brack: Sequence[float] | None) -> BracketInfo:
    """Return the bracket a Brent or golden-section search starts from.

    ``brack`` is None (search downhill from 0 and 1), a pair ``(xa, xb)`` (search downhill from
    them) or a triple ``(xa, xb, xc)`` with ``xa < xb < xc`` and ``f(xb) < f(xa), f(xc)``.

    Raises
    ------
    ValueError
        For a triple that is not ordered or does not bracket, or a ``brack`` of another length.
    BracketError, RuntimeError
        When a downhill search finds no bracket (see `bracket_search`).
    """
    if brack is None:
        return bracket_search(f)
    try:
        size = len(brack)
    except TypeError:
        size = -1
    if size == 2:
        return bracket_search(f, brack[0], brack[1])
    if size != 3:
        raise ValueError("Bracketing interval must be length 2 or 3 sequence.")
    xa, xb, xc = (float(v) for v in brack)
    if xa > xc:
        xa, xc = xc, xa
    if not (xa < xb and xb < xc):
        raise ValueError("Bracketing values (xa, xb, xc) do not fulfill this requirement: "
                         "(xa < xb) and (xb < xc)")
    fa, fb, fc = f(xa), f(xb), f(xc)
    if not (fb < fa and fb < fc):
        raise ValueError("Bracketing values (xa, xb, xc) do not fulfill this requirement: "
                         "(f(xb) < f(xa)) and (f(xb) < f(xc))")
    return xa, xb, xc, fa, fb, fc, 3


def bracket_failure_point(error: BracketError) -> tuple[float, float, int]:
    """Return ``(x, f, nfev)`` reported after a failed bracket search: its lowest point.

    NaN anywhere in the last points gives ``(nan, nan, nfev)``.
    """
    xa, xb, xc, fa, fb, fc, nfev = error.data
    points, values = (xa, xb, xc), (fa, fb, fc)
    if any(math.isnan(v) for v in points + values):
        return math.nan, math.nan, nfev
    best = min(range(3), key=values.__getitem__)
    return points[best], values[best], nfev


class ScalarMonitor:
    """Receives the iterates of a scalar method: records them (x as shape (1,)) and prints them.

    Parameters
    ----------
    iterations : Iterations or None
        Where the trace rows go (None: no trace).
    verbose : bool
        Print one row per iterate (scipy's ``disp=3``).
    """

    def __init__(self, iterations: Iterations | None, *, verbose: bool = False) -> None:
        self.iterations = iterations
        self.verbose = verbose
        self._nfev = 0
        if iterations is not None:
            iterations.nfev = lambda: self._nfev

    def _print(self, x: float, f: float, nfev: int) -> None:
        print(f"{nfev:^12g} {x:^12.6g} {f:^12.6g}")

    def start(self, x: float, f: float, nfev: int) -> None:
        """Record the starting point after ``nfev`` evaluations."""
        self._nfev = nfev
        if self.verbose:
            print(" ")
            print(f"{'Func-count':^12} {'x':^12} {'f(x)': ^12}")
            self._print(x, f, nfev)
        if self.iterations is not None:
            self.iterations.start(np.array([x], dtype=float), f)

    def step(self, x: float, f: float, nfev: int) -> None:
        """Record the best point after one more iteration (``nfev`` evaluations so far)."""
        self._nfev = nfev
        if self.verbose:
            self._print(x, f, nfev)
        if self.iterations is not None:
            self.iterations.step(np.array([x], dtype=float), f)
