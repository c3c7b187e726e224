"""TNC's safeguarded line search: Gill and Murray's ``getptc`` step finder, as Nash's TN uses it.

The search works on ``phi(t) = f(x + t p)`` along a descent direction ``p`` (in TNC's scaled
variables) with ``0 < t <= xbnd``.  `StepFinder` keeps an interval of uncertainty ``[a, b]``
*relative to the best point so far* (``xmin``), the best and second-best points (``fmin, gmin``
and ``fw, gw`` at offset ``xw``), and proposes the next trial offset ``u`` by safeguarded cubic
interpolation, bisection or extrapolation (factor 5, then 25, ...).  It accepts when the
interval is small or when the best point satisfies the strong-Wolfe-like test
``|phi'(xmin)| <= eta |phi'(0)|`` with decrease (sufficient decrease ``rmu = 1e-4``).

All quantities are Python floats; divisions that can meet a zero in corner cases go through
`ieee_div`, which returns what IEEE arithmetic (and so the C code) would.
"""

from __future__ import annotations

import math
from enum import IntEnum

__all__ = ["StepFinder", "StepCode", "ieee_div", "EPS", "RTEPS"]

EPS = 2.220446049250313e-16  # machine epsilon (TNC's mchpr1)
RTEPS = math.sqrt(EPS)
_BIG = 1.0 / (EPS * EPS)
_RMU = 1e-4


class StepCode(IntEnum):
    """What `StepFinder` asks of its caller."""

    OK = 0  # a suitable step has been found: ``xmin``
    EVAL = 1  # evaluate phi and phi' at ``xmin + u``
    EINVAL = 2  # bad input (no descent, no room to move)
    FAIL = 3  # no lower point can be found


def ieee_div(a: float, b: float) -> float:
    """``a / b`` with IEEE semantics for ``b == 0`` (signed infinity or NaN), no exception."""
    if b != 0.0:
        return a / b
    if a == 0.0 or a != a:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _sqrt(value: float) -> float:
    return math.sqrt(value) if value >= 0.0 else math.nan


class StepFinder:
    """Gill-Murray step-length finder (the state of one line search).

    Parameters
    ----------
    f0, g0 : float
        ``phi(0)`` and ``phi'(0)`` (``g0 <= 0``).
    step0 : float
        First trial step.
    xbnd : float
        Largest allowed step (a bound is hit there).
    reltol, abstol, tnytol : float
        Relative and absolute spacing tolerances, and the smallest spacing allowed.
    eta : float
        Severity of the search: accept when ``|phi'| <= eta |phi'(0)|``.
    fpresn : float
        Estimated precision of f: no lower point when the change in f is below it.
    """

    def __init__(self, f0: float, g0: float, step0: float, xbnd: float, *, reltol: float,
                 abstol: float, tnytol: float, eta: float, fpresn: float) -> None:
        self.reltol, self.abstol, self.tnytol = reltol, abstol, tnytol
        self.xbnd, self.fpresn = xbnd, fpresn
        self.u = step0
        self.code = self._start(f0, g0, eta)

    def _start(self, f0: float, g0: float, eta: float) -> StepCode:
        xbnd = self.xbnd
        if self.u <= 0.0 or xbnd <= self.tnytol or g0 > 0.0:
            self.xmin = 0.0
            return StepCode.EINVAL
        if xbnd < self.abstol:
            self.abstol = xbnd
        self.tol = self.abstol
        self.a = self.xw = self.xmin = 0.0
        self.oldf = self.fmin = self.fw = f0
        self.gw = self.gmin = g0
        self.step = self.u
        self.factor = 5.0
        self.braktd = False
        self.scxbnd = xbnd
        self.b = xbnd + self.reltol * abs(xbnd) + self.abstol
        self.e = self.b + self.b
        self.b1 = self.b
        self.gtest1 = -_RMU * g0
        self.gtest2 = -eta * g0
        self._clip_step_and_set_u()
        return StepCode.EVAL

    def _clip_step_and_set_u(self) -> None:
        """Stop at the bound (moving it left by its tolerance); never step below ``tol``."""
        if self.step >= self.scxbnd:
            self.step = self.scxbnd
            self.scxbnd -= (self.reltol * abs(self.xbnd) + self.abstol) / (1.0 + self.reltol)
        self.u = self.step
        if abs(self.step) < self.tol:
            self.u = -self.tol if self.step < 0.0 else self.tol

    def update(self, fu: float, gu: float) -> StepCode:
        """Take ``phi`` and ``phi'`` at ``xmin + u``; return OK, EVAL (new ``u``) or FAIL."""
        self._absorb(fu, gu)
        twotol = self.tol + self.tol
        xmidpt = 0.5 * (self.a + self.b)
        converged = (abs(xmidpt) <= twotol - 0.5 * (self.b - self.a)) or (
            abs(self.gmin) <= self.gtest2 and self.fmin < self.oldf
            and (abs(self.xmin - self.xbnd) > self.tol or not self.braktd))
        if converged:
            if self.xmin != 0.0:
                return StepCode.OK
            # no reduction yet: is the change in f consistent with tol? else shrink tol
            if abs(self.oldf - self.fw) <= self.fpresn:
                return StepCode.FAIL
            self.tol *= 0.1
            if self.tol < self.tnytol:
                return StepCode.FAIL
            self.reltol *= 0.1
            self.abstol *= 0.1
            twotol *= 0.1
        self._next_trial(twotol, xmidpt)
        return StepCode.EVAL

    def _absorb(self, fu: float, gu: float) -> None:
        """Update the interval and the best points with the new trial."""
        u = self.u
        if fu <= self.fmin:
            chordu = self.oldf - (self.xmin + u) * self.gtest1
            if fu <= chordu:  # sufficient decrease: the trial becomes the new origin
                self.fw, self.fmin = self.fmin, fu
                self.gw, self.gmin = self.gmin, gu
                self.xmin += u
                self.a -= u
                self.b -= u
                self.xw = -u
                self.scxbnd -= u
                if gu <= 0.0:
                    self.a = 0.0
                else:
                    self.b = 0.0
                    self.braktd = True
                self.tol = abs(self.xmin) * self.reltol + self.abstol
                return
            # lower but not lower enough: pretend it is higher (an artificial value and
            # slope) so that the interval's upper end moves here
            chordm = self.oldf - self.xmin * self.gtest1
            gu = -self.gmin
            denom = chordm - self.fmin
            if abs(denom) < 1e-15:
                denom = -1e-15 if denom < 0.0 else 1e-15
            if self.xmin != 0.0:
                gu = self.gmin * (chordu - fu) / denom
            fu = max(0.5 * u * (self.gmin + gu) + self.fmin, self.fmin)
        if u < 0.0:
            self.a = u
        else:
            self.b = u
            self.braktd = True
        self.xw, self.fw, self.gw = u, fu, gu

    def _cubic(self) -> tuple[float, float, float]:
        """Numerator ``s``, denominator ``q`` and old ``e`` of the cubic step (zeros: none)."""
        xw, gw, gmin = self.xw, self.gw, self.gmin
        r = 3.0 * ieee_div(self.fmin - self.fw, xw) + gmin + gw
        absr = abs(r)
        q = absr
        if gw != 0.0 and gmin != 0.0:
            abgw, abgmin = abs(gw), abs(gmin)
            s = math.sqrt(abgmin) * math.sqrt(abgw)
            if gw / abgw * gmin > 0.0:  # same signs: sqrt(r^2 - s^2)
                if r >= s or r <= -s:
                    q = math.sqrt(abs(r + s)) * math.sqrt(abs(r - s))
                else:
                    return 0.0, 0.0, 0.0
            else:  # sqrt(r^2 + s^2) without overflow or underflow
                q = _hypot_guarded(absr, s)
        if xw < 0.0:
            q = -q
        s = xw * (gmin - r - q)
        q = gw - gmin + q + q
        if q > 0.0:
            s = -s
        if q <= 0.0:
            q = -q
        r = self.e
        if self.b1 != self.step or self.braktd:
            self.e = self.step
        return s, q, r

    def _next_trial(self, twotol: float, xmidpt: float) -> None:
        """Choose the next trial offset ``u`` (interpolate, bisect or extrapolate)."""
        s = q = r = 0.0
        if abs(self.e) > self.tol:
            s, q, r = self._cubic()
        a1 = self.a
        self.b1 = self.b
        self.step = xmidpt
        if not self.braktd or (self.a == 0.0 and self.xw < 0.0) or (
                self.b == 0.0 and self.xw > 0.0):
            if self.braktd:  # not bracketed by 0 and xw: stay within (a1, b1)
                d2 = self.b if self.a == 0.0 else self.a
                ratio = ieee_div(-self.xw, d2)
                self.step = 5.0 * d2 * (0.1 + ieee_div(1.0, ratio)) / 11.0
                if ratio < 1.0:
                    self.step = 0.5 * d2 * _sqrt(ratio)
            else:
                self.step = -self.factor * self.xw
                if self.step > self.scxbnd:
                    self.step = self.scxbnd
                if self.step != self.scxbnd:
                    self.factor *= 5.0
            if self.step <= 0.0:
                a1 = self.step
            if self.step > 0.0:
                self.b1 = self.step
        if abs(s) <= abs(0.5 * q * r) or s <= q * a1 or s >= q * self.b1:
            self.e = self.b - self.a
        else:
            self.step = s / q
            if self.step - self.a < twotol or self.b - self.step < twotol:
                self.step = -self.tol if xmidpt <= 0.0 else self.tol
        self._clip_step_and_set_u()


def _hypot_guarded(absr: float, s: float) -> float:
    """``sqrt(absr^2 + s^2)`` the way TNC computes it (capped at ``1 / eps^2``)."""
    sumsq = 1.0
    p = 0.0
    if absr >= s:
        if absr > EPS:
            p = absr * EPS
        if s >= p:
            value = s / absr
            sumsq = 1.0 + value * value
        scale = absr
    else:
        if s > EPS:
            p = s * EPS
        if absr >= p:
            value = absr / s
            sumsq = 1.0 + value * value
        scale = s
    sumsq = math.sqrt(sumsq)
    return scale * sumsq if scale < _BIG / sumsq else _BIG
