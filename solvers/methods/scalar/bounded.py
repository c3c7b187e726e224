"""Brent's bounded method for a function of one variable (``minimize_scalar(method='bounded')``).

`bounded_search` is the pure core (golden-section and parabolic steps inside ``[lo, hi]``, as
scipy's ``_minimize_scalar_bounded``), on plain Python floats.  Powell's line searches along a
feasible segment call it too.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._result import MESSAGES, OptimizeResult, OptimizeWarning
from ..._search.bounded import bounded_search
from ..._search.scalar import FloatFunction, ScalarMonitor

__all__ = ["minimize_scalar_bounded", "validate_scalar_bounds"]

_STATUS_MESSAGES = {0: "Solution found.", 1: "Maximum number of function calls reached.",
                    2: MESSAGES["nan"]}


def validate_scalar_bounds(bounds: Any) -> tuple[float, float]:
    """Return ``(lo, hi)`` from a two-item ``bounds``; `ValueError` saying what is wrong."""
    try:
        size = len(bounds)
    except TypeError:
        size = -1
    if size != 2:
        raise ValueError("bounds must have two elements.")
    lo, hi = bounds
    if not (np.size(lo) == 1 and np.size(hi) == 1
            and np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("Optimization bounds must be finite scalars.")
    lo, hi = float(np.asarray(lo).reshape(())), float(np.asarray(hi).reshape(()))
    if lo > hi:
        raise ValueError("The lower bound exceeds the upper bound.")
    return lo, hi


def _end_print(status: int, disp: int, xatol: float) -> None:
    if status == 0:
        if disp > 1:
            print("\nOptimization terminated successfully;\n"
                  "The returned value satisfies the termination criteria\n"
                  f"(using xtol =  {xatol} )")
        return
    text = ("\nMaximum number of function evaluations exceeded --- increase maxfun argument.\n"
            if status == 1 else f"\n{MESSAGES['nan']}")
    warnings.warn(text, OptimizeWarning, stacklevel=4)


def minimize_scalar_bounded(fun: FloatFunction, bounds: Sequence[float],
                            monitor: ScalarMonitor | None = None, /, *, xatol: float = 1e-5,
                            maxiter: int = 500, disp: int = 0) -> OptimizeResult:
    """Minimize a function of one variable on a finite interval with Brent's bounded method.

    Options
    -------
    maxiter : int
        Maximum number of iterations to perform.
    disp: int, optional
        If non-zero, print messages.

        ``0`` : no message printing.

        ``1`` : non-convergence notification messages only.

        ``2`` : print a message on convergence too.

        ``3`` : print iteration results.

    xatol : float
        Absolute error in solution `xopt` acceptable for convergence.
    """
    lo, hi = validate_scalar_bounds(bounds)
    x, fx, nfev, status = bounded_search(fun, lo, hi, xatol=xatol, maxiter=maxiter,
                                         monitor=monitor)
    if disp > 0:
        _end_print(status, disp, xatol)
    return OptimizeResult(fun=fx, status=status, success=status == 0,
                          message=_STATUS_MESSAGES[status], x=x, nfev=nfev, nit=nfev)
