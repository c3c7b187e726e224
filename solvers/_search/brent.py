"""Brent's method on a bracket: the pure search behind ``minimize_scalar(method='brent')``
and Powell's unbounded line searches (scipy's ``Brent.optimize`` step for step, plain floats).
"""

from __future__ import annotations

from .scalar import FloatFunction, ScalarMonitor

__all__ = ['brent_search']

_GOLDEN_SECTION = 0.3819660  # (3 - sqrt(5)) / 2 rounded, the golden-section fraction
_MIN_TOL = 1.0e-11  # absolute part of the tolerance, guards against x == 0


def _golden_step(x: float, xmid: float, a: float, b: float) -> tuple[float, float]:
    """Return (deltax, rat): a golden-section step into the larger part of [a, b]."""
    deltax = (a - x) if x >= xmid else (b - x)
    return deltax, _GOLDEN_SECTION * deltax


def brent_search(f: FloatFunction, xa: float, xb: float, xc: float, fb: float, *,
                 xtol: float = 1.48e-8, maxiter: int = 500, nfev: int = 0,
                 monitor: ScalarMonitor | None = None) -> tuple[float, float, int]:
    """Minimize ``f`` from the bracket ``xa, xb, xc`` (``fb = f(xb)``) by Brent's method.

    Parameters
    ----------
    f : callable
        ``f(x: float) -> float``.
    xa, xb, xc : float
        A bracket: ``xb`` between ``xa`` and ``xc`` with the lowest value.
    fb : float
        ``f(xb)``.
    xtol : float
        Relative tolerance on x (an absolute 1e-11 is added).
    maxiter : int
        Maximum number of iterations (one evaluation each).
    nfev : int
        Evaluations already spent (for the monitor's counts).
    monitor : ScalarMonitor, optional
        Receives the best point after each iteration.

    Returns
    -------
    x, fx : float
        The best point and its value.
    nit : int
        Iterations done (= evaluations made here).
    """
    x = w = v = xb
    fx = fw = fv = fb
    a, b = (xa, xc) if xa < xc else (xc, xa)
    deltax = rat = 0.0
    nit = 0
    while nit < maxiter:
        tol1 = xtol * abs(x) + _MIN_TOL
        tol2 = 2.0 * tol1
        xmid = 0.5 * (a + b)
        if abs(x - xmid) < (tol2 - 0.5 * (b - a)):
            break
        if abs(deltax) <= tol1:
            deltax, rat = _golden_step(x, xmid, a, b)
        else:  # try the vertex of the parabola through (v, w, x)
            tmp1 = (x - w) * (fx - fv)
            tmp2 = (x - v) * (fx - fw)
            p = (x - v) * tmp2 - (x - w) * tmp1
            q = 2.0 * (tmp2 - tmp1)
            if q > 0.0:
                p = -p
            q = abs(q)
            previous = deltax
            deltax = rat
            if p > q * (a - x) and p < q * (b - x) and abs(p) < abs(0.5 * q * previous):
                rat = p * 1.0 / q
                u = x + rat
                if (u - a) < tol2 or (b - u) < tol2:
                    rat = tol1 if xmid - x >= 0 else -tol1
            else:
                deltax, rat = _golden_step(x, xmid, a, b)
        if abs(rat) < tol1:  # move by at least tol1
            u = x + tol1 if rat >= 0 else x - tol1
        else:
            u = x + rat
        fu = f(u)
        if fu > fx:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
        else:
            if u >= x:
                a = x
            else:
                b = x
            v, fv, w, fw, x, fx = w, fw, x, fx, u, fu
        nit += 1
        if monitor is not None:
            monitor.step(x, fx, nfev + nit)
    return x, fx, nit
