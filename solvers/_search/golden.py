"""Golden-section search on a bracket: the pure search behind
``minimize_scalar(method='golden')`` (scipy's ``_minimize_scalar_golden`` step for step).
"""

from __future__ import annotations

import numpy as np

from .scalar import FloatFunction, ScalarMonitor

__all__ = ['golden_search']

_RATIO = 0.61803399  # golden ratio conjugate, 2 / (1 + sqrt(5)) rounded
_COMPLEMENT = 1.0 - _RATIO
_SQRT_EPS = float(np.sqrt(np.finfo(float).eps))


def golden_search(f: FloatFunction, xa: float, xb: float, xc: float, *,
                  xtol: float = _SQRT_EPS, maxiter: int = 5000, nfev: int = 0,
                  monitor: ScalarMonitor | None = None) -> tuple[float, float, int]:
    """Minimize ``f`` by golden-section search inside the bracket ``xa < xb < xc``.

    Parameters
    ----------
    f : callable
        ``f(x: float) -> float``.
    xa, xb, xc : float
        A bracket (``xa < xc``, ``xb`` between them).
    xtol : float
        Stop when the interval is shorter than ``xtol * (|x1| + |x2|)``.
    maxiter : int
        Maximum number of iterations (one evaluation each, after two initial ones).
    nfev : int
        Evaluations already spent (for the monitor's counts).
    monitor : ScalarMonitor, optional
        Receives the best inner point after each iteration.

    Returns
    -------
    x, fx : float
        The best inner point and its value.
    nit : int
        Iterations done; ``nit + 2`` evaluations were made here.
    """
    x0, x3 = xa, xc
    if abs(xc - xb) > abs(xb - xa):  # put the new inner point into the larger part
        x1, x2 = xb, xb + _COMPLEMENT * (xc - xb)
    else:
        x1, x2 = xb - _COMPLEMENT * (xb - xa), xb
    f1, f2 = f(x1), f(x2)
    nfev += 2
    nit = 0
    for _ in range(maxiter):
        if abs(x3 - x0) <= xtol * (abs(x1) + abs(x2)):
            break
        if f2 < f1:
            x0, x1 = x1, x2
            x2 = _RATIO * x1 + _COMPLEMENT * x3
            f1, f2 = f2, f(x2)
        else:
            x3, x2 = x2, x1
            x1 = _RATIO * x2 + _COMPLEMENT * x0
            f2, f1 = f1, f(x1)
        nit += 1
        if monitor is not None:
            monitor.step(*((x1, f1) if f1 < f2 else (x2, f2)), nfev + nit)
    if f1 < f2:
        return x1, f1, nit
    return x2, f2, nit
