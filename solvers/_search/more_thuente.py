"""The Moré–Thuente line search (MINPACK-2's ``dcsrch`` with its step rule ``dcstep``).

`more_thuente` looks for a step ``stp > 0`` along a descent direction that satisfies the strong
Wolfe conditions for ``phi(stp) = f(x + stp * d)``::

    phi(stp) <= phi(0) + ftol * stp * phi'(0)          (sufficient decrease)
    |phi'(stp)| <= gtol * |phi'(0)|                     (curvature)

It keeps an interval ``[stx, sty]`` known to contain such a step, proposes trial steps from cubic,
quadratic and secant interpolants of the values and derivatives seen so far (`_trial_step`),
safeguards them, and switches from a modified function ``psi(stp) = phi(stp) - phi(0) -
ftol * stp * phi'(0)`` to ``phi`` itself once a step with ``psi <= 0`` and ``phi' >= 0`` is seen.

Reference: J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed sufficient
decrease", ACM Trans. Math. Software 20 (1994) 286-307.  All arithmetic is on plain Python
floats (no numpy scalars): this runs once or twice per iteration of BFGS, CG and L-BFGS-B.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["more_thuente", "STATUSES"]

#: statuses `more_thuente` returns: success, MINPACK's warnings, the evaluation limit, an error
STATUSES = ("converged", "rounding", "xtol", "stpmax", "stpmin", "maxiter", "error")

_BISECT_FRACTION = 0.66   # bisect when the interval did not shrink below this fraction
_EXTRAP_LOWER = 1.1       # before bracketing, the next step lies in
_EXTRAP_UPPER = 4.0       # [stp + 1.1 (stp - stx), stp + 4 (stp - stx)]
_NAN = math.nan
_INF = math.inf


def _div(num: float, den: float) -> float:
    """IEEE division: ``num / den`` with ±inf or NaN instead of `ZeroDivisionError`."""
    if den != 0.0:
        return num / den
    if num != num or num == 0.0:
        return _NAN
    return math.copysign(_INF, num) * math.copysign(1.0, den)


def _sqrt(value: float) -> float:
    """Square root that returns NaN for a negative (or NaN) argument instead of raising."""
    return math.sqrt(value) if value >= 0.0 else _NAN


def _clip(value: float, lower: float, upper: float) -> float:
    """``value`` clipped into ``[lower, upper]``; a NaN stays NaN."""
    return min(max(value, lower), upper)


def _cubic_gamma(theta: float, da: float, db: float, flip: bool, clamp: bool = False) -> float:
    """Scaled root ``sqrt(theta**2 - da*db)`` of the cubic interpolant, signed by ``flip``."""
    s = max(abs(theta), abs(da), abs(db))
    radicand = _div(theta, s) ** 2 - _div(da, s) * _div(db, s)
    if clamp:
        radicand = max(0.0, radicand)
    gamma = s * _sqrt(radicand)
    return -gamma if flip else gamma


def _trial_step(stx: float, fx: float, dx: float, sty: float, fy: float, dy: float,
                stp: float, fp: float, dp: float, brackt: bool, stpmin: float, stpmax: float,
                ) -> tuple[float, bool]:
    """Return the next trial step and whether a minimiser is now bracketed (``dcstep``).

    ``(stx, fx, dx)`` is the best step so far (``dx`` has the sign opposite to ``stp - stx``),
    ``(sty, fy, dy)`` the other end of the interval and ``(stp, fp, dp)`` the step just tried.
    """
    opposite_signs = (dp < 0.0 < dx) or (dx < 0.0 < dp)
    if fp > fx:
        # Case 1: higher value; the minimum is bracketed.  Cubic step if it is closer to stx
        # than the quadratic step, else the average of the two.
        theta = _div(3.0 * (fx - fp), stp - stx) + dx + dp
        gamma = _cubic_gamma(theta, dx, dp, flip=stp < stx)
        r = _div((gamma - dx) + theta, ((gamma - dx) + gamma) + dp)
        stpc = stx + r * (stp - stx)
        stpq = stx + (_div(dx, _div(fx - fp, stp - stx) + dx) / 2.0) * (stp - stx)
        if abs(stpc - stx) <= abs(stpq - stx):
            return stpc, True
        return stpc + (stpq - stpc) / 2.0, True
    if opposite_signs:
        # Case 2: lower value, derivatives of opposite sign; bracketed.  The cubic step if it
        # is farther from stp than the secant step, else the secant step.
        theta = _div(3.0 * (fx - fp), stp - stx) + dx + dp
        gamma = _cubic_gamma(theta, dx, dp, flip=stp > stx)
        r = _div((gamma - dp) + theta, ((gamma - dp) + gamma) + dx)
        stpc = stp + r * (stx - stp)
        stpq = stp + _div(dp, dp - dx) * (stx - stp)
        return (stpc if abs(stpc - stp) > abs(stpq - stp) else stpq), True
    if abs(dp) < abs(dx):
        return _decreasing_slope_step(stx, dx, sty, stp, fp, dp, fx, brackt, stpmin, stpmax)
    # Case 4: lower value, same-sign derivatives that do not shrink.
    if brackt:
        theta = _div(3.0 * (fp - fy), sty - stp) + dy + dp
        gamma = _cubic_gamma(theta, dy, dp, flip=stp > sty)
        r = _div((gamma - dp) + theta, ((gamma - dp) + gamma) + dy)
        return stp + r * (sty - stp), brackt
    return (stpmax if stp > stx else stpmin), brackt


def _decreasing_slope_step(stx: float, dx: float, sty: float, stp: float, fp: float, dp: float,
                           fx: float, brackt: bool, stpmin: float, stpmax: float,
                           ) -> tuple[float, bool]:
    """Case 3 of ``dcstep``: lower value, same-sign derivatives whose magnitude decreases.

    The cubic step is used only if the cubic tends to infinity in the step's direction or its
    minimum lies beyond ``stp``; otherwise the step goes to the end of the allowed range.
    """
    theta = _div(3.0 * (fx - fp), stp - stx) + dx + dp
    gamma = _cubic_gamma(theta, dx, dp, flip=stp > stx, clamp=True)
    r = _div((gamma - dp) + theta, (gamma + (dx - dp)) + gamma)
    if r < 0.0 and gamma != 0.0:
        stpc = stp + r * (stx - stp)
    elif stp > stx:
        stpc = stpmax
    else:
        stpc = stpmin
    stpq = stp + _div(dp, dp - dx) * (stx - stp)
    if brackt:
        stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
        limit = stp + _BISECT_FRACTION * (sty - stp)
        return (min(limit, stpf) if stp > stx else max(limit, stpf)), brackt
    stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
    return _clip(stpf, stpmin, stpmax), brackt


def _inputs_valid(stp: float, g0: float, ftol: float, gtol: float, xtol: float,
                  stpmin: float, stpmax: float) -> bool:
    return (stpmin <= stp <= stpmax and g0 < 0.0 and ftol >= 0.0 and gtol >= 0.0
            and xtol >= 0.0 and 0.0 <= stpmin <= stpmax)


def more_thuente(phi: Callable[[float], tuple[float, float]], f0: float, g0: float, stp: float,
                 *, ftol: float = 1e-3, gtol: float = 0.9, xtol: float = 0.1,
                 stpmin: float = 0.0, stpmax: float = 1e10, maxiter: int = 20,
                 ) -> tuple[float, float, float, str]:
    """Find a step satisfying the strong Wolfe conditions for ``phi(stp) = f(x + stp*d)``.

    Parameters
    ----------
    phi : callable
        ``phi(stp) -> (value, derivative along d)`` as floats; each call is one function and
        gradient evaluation.  It is never called at ``stp = 0``.
    f0, g0 : float
        Value and derivative of ``phi`` at 0 (``g0 < 0``: ``d`` is a descent direction).
    stp : float
        First trial step, in ``[stpmin, stpmax]``.
    ftol, gtol : float
        Sufficient-decrease and curvature tolerances (``c1`` and ``c2`` of the Wolfe conditions).
    xtol : float
        Relative width of the bracketing interval below which the search gives up.
    stpmin, stpmax : float
        Bounds on the step (``0 <= stpmin <= stpmax``).
    maxiter : int
        Maximum number of calls of ``phi``.

    Returns
    -------
    stp, f, g : float
        The step, and ``phi``'s value and derivative there (``0.0, f0, g0`` when nothing was
        evaluated).
    status : str
        ``'converged'`` (strong Wolfe conditions hold); MINPACK's warnings, where the step only
        satisfies sufficient decrease at best: ``'rounding'`` (rounding errors prevent progress),
        ``'xtol'`` (the interval is narrower than ``xtol``), ``'stpmax'`` / ``'stpmin'`` (the
        step sits at a bound and the conditions point beyond it); ``'maxiter'`` (``maxiter``
        evaluations used; the last step tried is returned, or ``0.0, f0, g0`` when
        ``maxiter < 1``); ``'error'`` (invalid inputs, and nothing is evaluated; or the next
        trial step is not finite, and the last step tried is returned).
    """
    if not _inputs_valid(stp, g0, ftol, gtol, xtol, stpmin, stpmax):
        return 0.0, f0, g0, "error"
    gtest = ftol * g0
    curvature_limit = gtol * -g0
    width = stpmax - stpmin
    width1 = width / 0.5
    stx, fx, gx = 0.0, f0, g0
    sty, fy, gy = 0.0, f0, g0
    stmin, stmax = 0.0, stp + _EXTRAP_UPPER * stp
    brackt = False
    stage1 = True
    last, f, g = 0.0, f0, g0
    for _ in range(maxiter):
        f, g = phi(stp)
        ftest = f0 + stp * gtest
        if stage1 and f <= ftest and g >= 0.0:
            stage1 = False
        if f <= ftest and abs(g) <= curvature_limit:
            return stp, f, g, "converged"
        warning = _warning(stp, f, g, ftest, gtest, brackt, stmin, stmax, xtol, stpmin, stpmax)
        if warning:
            return stp, f, g, warning
        last = stp
        if stage1 and fx >= f > ftest:
            # psi = phi - ftol * stp * phi'(0) predicts the step while the decrease is
            # not yet sufficient (the "modified function" of Moré and Thuente).
            fxm, fym = fx - stx * gtest, fy - sty * gtest
            gxm, gym = gx - gtest, gy - gtest
            stx, fxm, gxm, sty, fym, gym, stp, brackt = _update(
                stx, fxm, gxm, sty, fym, gym, stp, f - stp * gtest, g - gtest, brackt,
                stmin, stmax)
            fx, fy = fxm + stx * gtest, fym + sty * gtest
            gx, gy = gxm + gtest, gym + gtest
        else:
            stx, fx, gx, sty, fy, gy, stp, brackt = _update(
                stx, fx, gx, sty, fy, gy, stp, f, g, brackt, stmin, stmax)
        if brackt:
            if abs(sty - stx) >= _BISECT_FRACTION * width1:
                stp = stx + 0.5 * (sty - stx)
            width1 = width
            width = abs(sty - stx)
            stmin, stmax = min(stx, sty), max(stx, sty)
        else:
            stmin = stp + _EXTRAP_LOWER * (stp - stx)
            stmax = stp + _EXTRAP_UPPER * (stp - stx)
        stp = _clip(stp, stpmin, stpmax)
        if brackt and (stp <= stmin or stp >= stmax or stmax - stmin <= xtol * stmax):
            stp = stx  # no further progress possible: go back to the best step
        if not (-_INF < stp < _INF):
            return last, f, g, "error"
    return last, f, g, "maxiter"


def _warning(stp: float, f: float, g: float, ftest: float, gtest: float, brackt: bool,
             stmin: float, stmax: float, xtol: float, stpmin: float, stpmax: float) -> str:
    """MINPACK's warning for the step just tried, or ``''`` (the last matching test wins)."""
    if stp == stpmin and (f > ftest or g >= gtest):
        return "stpmin"
    if stp == stpmax and f <= ftest and g <= gtest:
        return "stpmax"
    if brackt and stmax - stmin <= xtol * stmax:
        return "xtol"
    if brackt and (stp <= stmin or stp >= stmax):
        return "rounding"
    return ""


def _update(stx: float, fx: float, dx: float, sty: float, fy: float, dy: float, stp: float,
            fp: float, dp: float, brackt: bool, stpmin: float, stpmax: float,
            ) -> tuple[float, float, float, float, float, float, float, bool]:
    """One ``dcstep``: the new interval ``(stx, fx, dx, sty, fy, dy)``, next step, bracketed."""
    new_stp, brackt = _trial_step(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax)
    if fp > fx:
        return stx, fx, dx, stp, fp, dp, new_stp, brackt
    if (dp < 0.0 < dx) or (dx < 0.0 < dp):
        return stp, fp, dp, stx, fx, dx, new_stp, brackt
    return stp, fp, dp, sty, fy, dy, new_stp, brackt
