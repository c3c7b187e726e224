"""The filter of evaluated points from which COBYLA picks the point it returns.

Every evaluated point is offered to the filter, which keeps the points that no other point beats
on both the objective and the constraint violation (with a feasibility tolerance ``ctol``).  At
the end, `PointFilter.select` returns the best kept point for the merit
``f + cweight * max(0, cstrv - ctol)``, preferring the least violation among near-ties, as the
PRIMA reference implementation does.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["PointFilter", "FUNCMAX", "CONSTRMAX"]

FloatArray = npt.NDArray[np.float64]

#: values above these count as "infinite" (the moderated extreme barrier of PRIMA)
FUNCMAX = 1e30
CONSTRMAX = 1e30
_EPS = float(np.finfo(float).eps)
_HUGE = float(np.finfo(float).max)


def is_better(f1: float, c1: float, f2: float, c2: float, ctol: float) -> bool:
    """Whether (objective, violation) pair 1 beats pair 2."""
    if (f1 < f2 and c1 <= c2) or (f1 <= f2 and c1 < c2):
        return True
    cref = 10 * max(_EPS, min(ctol, 1e-2 * CONSTRMAX))
    return f1 < _HUGE and c1 <= ctol and (c2 > max(ctol, cref) or np.isnan(c2))


class PointFilter:
    """Non-dominated evaluated points (at most ``capacity``), see module docstring."""

    def __init__(self, capacity: int, ctol: float, cweight: float) -> None:
        self.capacity = max(1, capacity)
        self.ctol = ctol
        self.cweight = cweight
        self.x: list[FloatArray] = []
        self.f: list[float] = []
        self.c: list[float] = []

    def offer(self, x: FloatArray, f: float, cstrv: float) -> None:
        """Keep ``x`` unless a kept point is at least as good; drop the points it beats."""
        ctol = self.ctol
        for fk, ck in zip(self.f, self.c):
            if is_better(fk, ck, f, cstrv, ctol) or (fk <= f and ck <= cstrv):
                return
        keep = [not is_better(f, cstrv, fk, ck, ctol) for fk, ck in zip(self.f, self.c)]
        if sum(keep) >= self.capacity:
            keep[self._worst()] = False
        self.x = [xk for xk, k in zip(self.x, keep) if k] + [np.array(x, dtype=float)]
        self.f = [fk for fk, k in zip(self.f, keep) if k] + [float(f)]
        self.c = [ck for ck, k in zip(self.c, keep) if k] + [float(cstrv)]

    def _worst(self) -> int:
        f, c = np.array(self.f), np.array(self.c)
        shifted = np.maximum(c - self.ctol, 0)
        phi = np.nan_to_num(np.maximum(f, -_HUGE), nan=-_HUGE) + self.cweight * shifted
        cref = np.max(shifted[phi >= np.max(phi)])
        fref = np.max(f[shifted >= cref])
        candidates = np.flatnonzero(f <= fref)
        return int(candidates[np.argmax(c[candidates])])

    def select(self, cweight: float) -> tuple[FloatArray, float, float]:
        """Return ``(x, f, cstrv)`` of the kept point chosen with merit weight ``cweight``."""
        f, c = np.array(self.f), np.array(self.c)
        fref, cref = _HUGE, _HUGE
        for fr, cr in ((FUNCMAX, CONSTRMAX), (_HUGE, CONSTRMAX), (FUNCMAX, _HUGE)):
            if np.any((f < fr) & (c < cr)):
                fref, cref = fr, cr
                break
        usable = (f < fref) & (c < cref)
        if not usable.any():
            k = len(f) - 1
        else:
            shifted = np.maximum(c - self.ctol, 0)
            finite = f < fref
            cref = max(_EPS, 2 * float(np.min(shifted[finite])))
            phi = np.maximum(f, -_HUGE) + cweight * shifted
            phimin = np.min(phi[finite & (shifted <= cref)])
            cref = np.min(shifted[finite & (phi <= phimin)])
            fref = np.min(f[shifted <= cref])
            candidates = np.flatnonzero(f <= fref)
            k = int(candidates[np.argmin(c[candidates])])
        return self.x[k], float(self.f[k]), float(self.c[k])
