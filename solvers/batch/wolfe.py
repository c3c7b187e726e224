"""One step of a per-start strong-Wolfe line search, for a batch of starts in different states.

Each start searches along its own path ``x(t) = clip(x + t d, lb, ub)`` with value ``phi(t)``
and slope ``phi'(t) = g(x(t)) . d`` on the coordinates not clipped at ``t``. The search keeps
the best acceptable step so far (``lo``: it satisfies the sufficient decrease) and, once the
minimiser is bracketed, the other end of the bracket (``hi``), as Nocedal & Wright's algorithms
3.5 and 3.6. `wolfe_step` takes every start's newest trial at once and returns, per start,
whether the trial satisfies the strong Wolfe conditions (decrease with ``c1``, ``|phi'(t)| <=
c2 |phi'(0)|``), the updated bracket, and the next trial: the minimiser of the cubic through
the bracket's ends (kept inside the middle 80 % of the bracket; at most half the last step
while no trial has given sufficient decrease), or, before a bracket is found,
an extrapolation to between 1.1 and 4 times the last step's advance (as Moré–Thuente's limits).
On a quadratic the cubic is exact, so a rejected first step is followed by the exact minimiser
along the line.

The functions are pure: arrays in, arrays out, each row computed from that row alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Bracket", "WolfeStep", "cubic_minimizer", "wolfe_step", "C1", "C2"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: sufficient-decrease and curvature constants (scipy's L-BFGS-B: ftol=1e-3, gtol=0.9)
C1 = 1e-3
C2 = 0.9
#: extrapolation limits, as multiples of the last advance (Moré–Thuente's xtrapl, xtrapu)
EXTRAPOLATE_MIN, EXTRAPOLATE_MAX = 1.1, 4.0
#: an interpolated trial stays this fraction of the bracket away from either end
SAFEGUARD = 0.1
#: while no trial has given sufficient decrease, each new trial is at most this fraction of the last
BACKTRACK_MAX = 0.5


@dataclass(frozen=True)
class Bracket:
    """The search state of ``m`` starts: best acceptable step ``lo`` and far end ``hi``.

    ``t_*`` steps, ``f_*`` values, ``dphi_*`` slopes, shape (m,); ``bracketed`` (m,) is True
    once ``hi`` is set (``t_hi`` is +inf before).
    """

    t_lo: FloatArray
    f_lo: FloatArray
    dphi_lo: FloatArray
    t_hi: FloatArray
    f_hi: FloatArray
    dphi_hi: FloatArray
    bracketed: BoolArray


@dataclass(frozen=True)
class WolfeStep:
    """What `wolfe_step` decided per start (m,): ``accept`` the trial; the trial became the new
    ``lo`` (``improved``); the new `Bracket`; the next trial step ``t_next``."""

    accept: BoolArray
    improved: BoolArray
    bracket: Bracket
    t_next: FloatArray


def cubic_minimizer(a: FloatArray, fa: FloatArray, da: FloatArray, b: FloatArray,
                    fb: FloatArray, db: FloatArray) -> FloatArray:
    """Minimiser of the cubic with values ``fa``, ``fb`` and slopes ``da``, ``db`` at ``a``,
    ``b`` (Nocedal & Wright eq. 3.59); NaN where it has none."""
    with np.errstate(all="ignore"):
        return _cubic(a, fa, da, b, fb, db)


def _cubic(a: FloatArray, fa: FloatArray, da: FloatArray, b: FloatArray, fb: FloatArray,
           db: FloatArray) -> FloatArray:
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    d2 = np.sign(b - a) * np.sqrt(d1 * d1 - da * db)
    return b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2)


def wolfe_step(t: FloatArray, ft: FloatArray, dphi_t: FloatArray, decrease: FloatArray,
               f0: FloatArray, dphi0: FloatArray, br: Bracket) -> WolfeStep:
    """Judge every start's trial ``t`` (value ``ft``, slope ``dphi_t``) and choose its next.

    ``decrease`` (m,) is ``g(x) . (x(t) - x)``, the linear prediction of the change along the
    projected path, used in the sufficient-decrease test; ``f0``, ``dphi0`` are the value and
    slope at ``t = 0``. Rows that accept keep meaningless ``t_next``; rows whose trial failed
    (NaN or inf) get meaningless values everywhere, without warnings.
    """
    with np.errstate(all="ignore"):
        sufficient = (decrease < 0) & (ft <= f0 + C1 * decrease)
        rises = ~sufficient | (ft >= br.f_lo)
        flat = np.abs(dphi_t) <= -C2 * dphi0
        improved = ~rises & ~flat
        turn = np.where(br.bracketed, dphi_t * (br.t_hi - br.t_lo) >= 0, dphi_t > 0)
        swap = improved & turn          # the minimiser lies between the old lo and t
        t_hi = np.where(rises, t, np.where(swap, br.t_lo, br.t_hi))
        f_hi = np.where(rises, ft, np.where(swap, br.f_lo, br.f_hi))
        dphi_hi = np.where(rises, dphi_t, np.where(swap, br.dphi_lo, br.dphi_hi))
        t_lo = np.where(improved, t, br.t_lo)
        f_lo = np.where(improved, ft, br.f_lo)
        dphi_lo = np.where(improved, dphi_t, br.dphi_lo)
        bracketed = br.bracketed | rises | swap
        # one cubic per row: through the bracket's ends, or (no bracket yet: the trial was too
        # short) through the old lo and t, to extrapolate
        a, fa, da = (np.where(bracketed, new, old) for new, old in
                     ((t_lo, br.t_lo), (f_lo, br.f_lo), (dphi_lo, br.dphi_lo)))
        b, fb, db = (np.where(bracketed, new, old) for new, old in
                     ((t_hi, t), (f_hi, ft), (dphi_hi, dphi_t)))
        cubic = _cubic(a, fa, da, b, fb, db)
        low = np.minimum(a, b)
        width = np.abs(b - a)
        # inside: the middle 80 % of the bracket (at most half of it while lo is still 0)
        top = np.where(t_lo > 0, 1.0 - SAFEGUARD, BACKTRACK_MAX)
        inside = np.where(np.isnan(cubic), low + 0.5 * width, cubic)
        inside = np.minimum(np.maximum(inside, low + SAFEGUARD * width), low + top * width)
        # outside: between 1.1 and 4 times the last advance beyond t
        far = t + EXTRAPOLATE_MAX * width
        outside = np.where(np.isnan(cubic), far, cubic)
        outside = np.minimum(np.maximum(outside, t + EXTRAPOLATE_MIN * width), far)
        t_next = np.where(bracketed, inside, outside)
    return WolfeStep(~rises & flat, improved,
                     Bracket(t_lo, f_lo, dphi_lo, t_hi, f_hi, dphi_hi, bracketed), t_next)
