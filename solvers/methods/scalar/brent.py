"""Brent's method for a function of one variable (``minimize_scalar(method='brent')``).

`brent_search` is the pure core: from a bracket it alternates golden-section steps and
inverse-parabolic steps, exactly as scipy's ``Brent.optimize``, on plain Python floats.  Powell's
unbounded line searches call it too.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..._result import OptimizeResult
from ..._search.brent import brent_search
from ..._search.scalar import (
    BracketError,
    FloatFunction,
    ScalarMonitor,
    initial_bracket,
)
from .common import bracket_failure_result, finish_message, report

__all__ = ["minimize_scalar_brent"]


def minimize_scalar_brent(fun: FloatFunction, brack: Sequence[float] | None = None,
                          monitor: ScalarMonitor | None = None, /, *, xtol: float = 1.48e-8,
                          maxiter: int = 500, disp: int = 0) -> OptimizeResult:
    """Minimize a function of one variable with Brent's method.

    Options
    -------
    maxiter : int
        Maximum number of iterations to perform.
    xtol : float
        Relative error in solution `xopt` acceptable for convergence.
    disp : int, optional
        If non-zero, print messages.

        ``0`` : no message printing.

        ``1`` : non-convergence notification messages only.

        ``2`` : print a message on convergence too.

        ``3`` : print iteration results.

    Notes
    -----
    Uses inverse parabolic interpolation when possible to speed up convergence of the golden
    section method.  ``brack`` is None, ``(xa, xb)`` (a downhill bracket search starts there) or
    ``(xa, xb, xc)`` (a bracket).
    """
    if xtol < 0:
        raise ValueError(f"tolerance should be >= 0, got {xtol!r}")
    try:
        xa, xb, xc, _, fb, _, nfev = initial_bracket(fun, brack)
    except BracketError as error:
        return bracket_failure_result(error)
    if monitor is not None:
        monitor.start(xb, fb, nfev)
    x, fx, nit = brent_search(fun, xa, xb, xc, fb, xtol=xtol, maxiter=maxiter, nfev=nfev,
                              monitor=monitor)
    nan = x != x or fx != fx
    success = nit < maxiter and not nan
    converged = ("\nOptimization terminated successfully;\n"
                 "The returned value satisfies the termination criteria\n"
                 f"(using xtol = {xtol} )")
    res = OptimizeResult(fun=fx, x=x, nit=nit, nfev=nfev + nit, success=success,
                         message=finish_message(success, converged, nan))
    report(res, disp)
    return res
