"""TNC's variable scaling and its active set of bound constraints.

TNC works in scaled variables ``z = (x - offset) / scale`` (a variable with ``scale == 0`` is
held constant), with the objective multiplied by ``fscale``.  A variable is *active* (its
``pivot`` is -1 at the lower bound, 1 at the upper bound, 2 when constant) or free (0); the
search direction, the gradient used in the tests and the CG iteration only see the free ones.
A constraint is added when a line search stops on a bound, and the one with the most negative
Lagrange multiplier estimate is dropped when the last steps made little progress (Gill, Murray
and Wright 1981, p. 308).  Bounds are arrays of shape (n,) with infinities where unbounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .linesearch import EPS

__all__ = ["Scaling", "initial_pivot", "max_step", "add_constraints", "drop_constraint"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

AT_LOWER, FREE, AT_UPPER, CONSTANT = -1, 0, 1, 2


@dataclass
class Scaling:
    """The map between the user's ``x`` and TNC's scaled ``z``; all arrays shape (n,).

    ``lb``/``ub`` are the bounds of ``x`` (set to ``x0`` for a variable held constant by a zero
    scale factor).
    """

    scale: FloatArray
    offset: FloatArray
    lb: FloatArray
    ub: FloatArray

    @classmethod
    def build(cls, x0: FloatArray, lb: FloatArray, ub: FloatArray, scale: FloatArray | None,
              offset: FloatArray | None) -> Scaling:
        """TNC's defaults: ``ub - lb`` and the midpoint for a variable bounded on both sides,
        else ``1 + |x0|`` and ``x0``; a given ``scale`` (absolute value) or ``offset`` wins."""
        lb, ub = lb.copy(), ub.copy()
        if scale is not None:
            xscale = np.abs(scale)
            xoffset = x0.copy()  # only kept where scale == 0
            constant = xscale == 0.0
            lb[constant] = ub[constant] = x0[constant]
        else:
            boxed = np.isfinite(lb) & np.isfinite(ub)
            with np.errstate(invalid="ignore", over="ignore"):
                xscale = np.where(boxed, ub - lb, 1.0 + np.abs(x0))
                xoffset = np.where(boxed, (ub + lb) * 0.5, x0)
        if offset is not None:
            xoffset = offset.copy()
        return cls(xscale, xoffset, lb, ub)

    def to_x(self, z: FloatArray) -> FloatArray:
        """Unscaled point ``z * scale + offset`` (not clipped)."""
        return z * self.scale + self.offset

    @property
    def bounded(self) -> bool:
        """Whether any variable has a finite bound."""
        return bool(np.isfinite(self.lb).any() or np.isfinite(self.ub).any())

    def to_x_in_bounds(self, z: FloatArray) -> FloatArray:
        """Unscaled point clipped into the bounds (where TNC evaluates the objective)."""
        x = z * self.scale + self.offset
        return np.minimum(np.maximum(x, self.lb), self.ub) if self._clips else x

    def __post_init__(self) -> None:
        self._clips = self.bounded

    def to_z(self, x: FloatArray) -> FloatArray:
        """Scaled point; a constant variable (scale 0) keeps its value."""
        positive = self.scale > 0.0
        z = x.copy()
        z[positive] = (x[positive] - self.offset[positive]) / self.scale[positive]
        return z


def _tolerance(bound: FloatArray) -> FloatArray:
    return EPS * 10.0 * (np.abs(bound) + 1.0)


def initial_pivot(z: FloatArray, sc: Scaling) -> IntArray:
    """Active set at the start: -1 on (or below) a lower bound, 2 for constants, else 0.

    As in TNC, the upper bound counts only when ``x`` exceeds it by more than its tolerance.
    """
    x = z * sc.scale + sc.offset
    with np.errstate(invalid="ignore"):
        low = np.isfinite(sc.lb) & (x - sc.lb <= _tolerance(sc.lb))
        high = np.isfinite(sc.ub) & (x - sc.ub >= _tolerance(sc.ub))
    pivot = np.where(low, AT_LOWER, np.where(high, AT_UPPER, FREE))
    pivot[sc.scale == 0.0] = CONSTANT
    return pivot


def max_step(step: float, z: FloatArray, p: FloatArray, pivot: IntArray, sc: Scaling) -> float:
    """Largest step ``<= step`` along ``p`` from ``z`` that keeps the free variables in bounds."""
    if not sc._clips:
        return step
    moving = (pivot == FREE) & (p != 0.0)
    down = moving & (p < 0.0) & np.isfinite(sc.lb)
    up = moving & (p > 0.0) & np.isfinite(sc.ub)
    for i in np.flatnonzero(down | up):
        bound = sc.lb[i] if p[i] < 0.0 else sc.ub[i]
        room = float((bound - sc.offset[i]) / sc.scale[i] - z[i])
        pi = float(p[i])
        if (pi < 0.0 and room > step * pi) or (pi > 0.0 and room < step * pi):
            step = room / pi
    return step


def add_constraints(z: FloatArray, p: FloatArray, pivot: IntArray, sc: Scaling) -> bool:
    """Activate the free variables that moved onto a bound along ``p`` (snapping ``z`` there).

    Returns whether any constraint was added.  ``z`` and ``pivot`` are updated in place.
    """
    added = False
    candidates = np.flatnonzero((pivot == FREE) & (p != 0.0))
    for i in candidates:
        x_i = z[i] * sc.scale[i] + sc.offset[i]
        if p[i] < 0.0 and np.isfinite(sc.lb[i]):
            if x_i - sc.lb[i] <= EPS * 10.0 * (abs(sc.lb[i]) + 1.0):
                pivot[i] = AT_LOWER
                z[i] = (sc.lb[i] - sc.offset[i]) / sc.scale[i]
                added = True
        elif np.isfinite(sc.ub[i]):  # (also reached for p < 0 without a lower bound)
            if sc.ub[i] - x_i <= EPS * 10.0 * (abs(sc.ub[i]) + 1.0):
                pivot[i] = AT_UPPER
                z[i] = (sc.ub[i] - sc.offset[i]) / sc.scale[i]
                added = True
    return added


def drop_constraint(gtp_old: float, gnorm: float, pgtol_scaled: float, f: float,
                    f_last_constraint: float, g: FloatArray, pivot: IntArray) -> bool:
    """Free the active variable whose multiplier ``-pivot * g`` is most negative, if progress
    since the last change of the active set is small (``f_last - f <= -gtp_old / 2``) or the
    projected gradient is already small.  Returns whether a constraint was dropped."""
    if (f_last_constraint - f) <= (gtp_old * -0.5) and gnorm > pgtol_scaled:
        return False
    if not pivot.any():
        return False
    multipliers = np.where(pivot == CONSTANT, 0.0, -pivot * g)
    imax = int(np.argmin(multipliers))
    if multipliers[imax] < 0.0:
        pivot[imax] = FREE
        return True
    return False
