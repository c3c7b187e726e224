"""Golden-section search for a function of one variable (``minimize_scalar(method='golden')``).

`golden_search` is the pure core, on plain Python floats, following scipy's
``_minimize_scalar_golden`` step for step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..._result import OptimizeResult
from ..._search.golden import golden_search
from ..._search.scalar import (
    BracketError,
    FloatFunction,
    ScalarMonitor,
    initial_bracket,
)
from .common import bracket_failure_result, finish_message, report

__all__ = ["minimize_scalar_golden"]

_SQRT_EPS = float(np.sqrt(np.finfo(float).eps))


def minimize_scalar_golden(fun: FloatFunction, brack: Sequence[float] | None = None,
                           monitor: ScalarMonitor | None = None, /, *,
                           xtol: float = _SQRT_EPS, maxiter: int = 5000,
                           disp: int = 0) -> OptimizeResult:
    """Minimize a function of one variable by golden-section search.

    Options
    -------
    xtol : float
        Relative error in solution `xopt` acceptable for convergence.
    maxiter : int
        Maximum number of iterations to perform.
    disp: int, optional
        If non-zero, print messages.

        ``0`` : no message printing.

        ``1`` : non-convergence notification messages only.

        ``2`` : print a message on convergence too.

        ``3`` : print iteration results.
    """
    try:
        xa, xb, xc, _, fb, _, nfev = initial_bracket(fun, brack)
    except BracketError as error:
        return bracket_failure_result(error)
    if monitor is not None:
        monitor.start(xb, fb, nfev)
    x, fx, nit = golden_search(fun, xa, xb, xc, xtol=xtol, maxiter=maxiter, nfev=nfev,
                               monitor=monitor)
    nan = x != x or fx != fx
    success = nit < maxiter and not nan
    converged = ("\nOptimization terminated successfully;\n"
                 "The returned value satisfies the termination criteria\n"
                 f"(using xtol = {xtol} )")
    res = OptimizeResult(fun=fx, nfev=nfev + 2 + nit, x=x, nit=nit, success=success,
                         message=finish_message(success, converged, nan))
    report(res, disp)
    return res
