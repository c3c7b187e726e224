"""Brent's bounded method on ``[lo, hi]``: the pure search behind
``minimize_scalar(method='bounded')`` and Powell's line searches along a feasible segment
(scipy's ``_minimize_scalar_bounded`` step for step, plain floats).
"""

from __future__ import annotations

import math

from .scalar import FloatFunction, ScalarMonitor

__all__ = ['bounded_search']

_SQRT_EPS = math.sqrt(2.2e-16)
_GOLDEN_MEAN = 0.5 * (3.0 - math.sqrt(5.0))


def _parabolic_step(xf: float, fx: float, nfc: float, fnfc: float, fulc: float,
                    ffulc: float) -> tuple[float, float]:
    """Return ``(p, q)``: the vertex of the parabola through the last three points is at
    ``xf + p / q`` (``q >= 0``)."""
    r = (xf - nfc) * (fx - ffulc)
    q = (xf - fulc) * (fx - fnfc)
    p = (xf - fulc) * q - (xf - nfc) * r
    q = 2.0 * (q - r)
    if q > 0.0:
        p = -p
    return p, abs(q)


def _sign_or_one(value: float) -> float:
    """1.0 for ``value >= 0``, -1.0 below zero (NaN stays NaN), like ``sign(v) + (v == 0)``."""
    if value >= 0.0:
        return 1.0
    return -1.0 if value < 0.0 else math.nan


def bounded_search(f: FloatFunction, lo: float, hi: float, *, xatol: float = 1e-5,
                   maxiter: int = 500,
                   monitor: ScalarMonitor | None = None) -> tuple[float, float, int, int]:
    """Minimize ``f`` on ``[lo, hi]`` (finite, ``lo <= hi``) by Brent's bounded method.

    Returns
    -------
    x, fx : float
        The best point and its value.
    nfev : int
        Evaluations made (also scipy's ``nit``); the loop stops once ``nfev >= maxiter``.
    status : int
        0 converged, 1 evaluation limit reached, 2 NaN met.
    """
    a, b = lo, hi
    fulc = a + _GOLDEN_MEAN * (b - a)
    nfc = xf = fulc
    rat = e = 0.0
    fx = f(xf)
    nfev, status, fu = 1, 0, math.inf
    ffulc = fnfc = fx
    xm = 0.5 * (a + b)
    tol1 = _SQRT_EPS * abs(xf) + xatol / 3.0
    tol2 = 2.0 * tol1
    if monitor is not None:
        monitor.start(xf, fx, nfev)
    while abs(xf - xm) > (tol2 - 0.5 * (b - a)):
        golden = True
        if abs(e) > tol1:
            p, q = _parabolic_step(xf, fx, nfc, fnfc, fulc, ffulc)
            r, e = e, rat
            if abs(p) < abs(0.5 * q * r) and p > q * (a - xf) and p < q * (b - xf):
                golden = False
                rat = (p + 0.0) / q
                x = xf + rat
                if (x - a) < tol2 or (b - x) < tol2:
                    rat = tol1 * _sign_or_one(xm - xf)
        if golden:
            e = (a - xf) if xf >= xm else (b - xf)
            rat = _GOLDEN_MEAN * e
        size = abs(rat)
        if not size >= tol1 and size == size:  # np.maximum: NaN wins
            size = tol1
        x = xf + _sign_or_one(rat) * size
        fu = f(x)
        nfev += 1
        if fu <= fx:
            if x >= xf:
                a = xf
            else:
                b = xf
            fulc, ffulc, nfc, fnfc, xf, fx = nfc, fnfc, xf, fx, x, fu
        else:
            if x < xf:
                a = x
            else:
                b = x
            if fu <= fnfc or nfc == xf:
                fulc, ffulc, nfc, fnfc = nfc, fnfc, x, fu
            elif fu <= ffulc or fulc == xf or fulc == nfc:
                fulc, ffulc = x, fu
        xm = 0.5 * (a + b)
        tol1 = _SQRT_EPS * abs(xf) + xatol / 3.0
        tol2 = 2.0 * tol1
        if monitor is not None:
            monitor.step(xf, fx, nfev)
        if nfev >= maxiter:
            status = 1
            break
    if math.isnan(xf) or math.isnan(fx) or math.isnan(fu):
        status = 2
    return xf, fx, nfev, status
