"""Per-iteration reporting of the trust-region least-squares methods.

`Monitor` feeds the trace (x, cost, optimality, cumulative nfev per iteration), prints scipy's
``verbose=2`` table and calls the user's callback as scipy 1.17 does: ``callback(x)``, or
``callback(intermediate_result=OptimizeResult(x, fun, nit, nfev, cost))`` when the callable's
only parameter has that name.  A callback raising `StopIteration` asks the method to stop
(status -2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .._core.callback import wants_intermediate_result
from .._core.trace import NULL_TRACE, NullTrace, Trace
from .._result import OptimizeResult

__all__ = ["Monitor"]

FloatArray = npt.NDArray[np.float64]


class Monitor:
    """Trace, verbose table and callback of one run (see module docstring)."""

    def __init__(self, callback: Callable[..., Any] | None, *, trace: bool,
                 verbose: int) -> None:
        self.trace: Trace | NullTrace = Trace() if trace else NULL_TRACE
        self.verbose = verbose
        self._callback = callback
        self._intermediate = callback is not None and wants_intermediate_result(callback)
        if verbose == 2:
            print(f"{'Iteration':^15}{'Total nfev':^15}{'Cost':^15}{'Cost reduction':^15}"
                  f"{'Step norm':^15}{'Optimality':^15}")

    def line(self, iteration: int, x: FloatArray, nfev: int, cost: float,
             reduction: float | None, step_norm: float | None, optimality: float) -> None:
        """Record the iterate whose optimality was just computed (row 0: the start)."""
        self.trace.record(x, cost, optimality, nfev)
        if self.verbose == 2:
            red = " " * 15 if reduction is None else f"{reduction:^15.2e}"
            step = " " * 15 if step_norm is None else f"{step_norm:^15.2e}"
            print(f"{iteration:^15}{nfev:^15}{cost:^15.4e}{red}{step}{optimality:^15.2e}")

    def halt(self, x: FloatArray, f: FloatArray, nit: int, nfev: int, cost: float) -> bool:
        """Call the callback after iteration ``nit``; True when it raised `StopIteration`."""
        if self._callback is None:
            return False
        try:
            if self._intermediate:
                result = OptimizeResult(x=x, fun=f, nit=nit, nfev=nfev, cost=cost)
                self._callback(intermediate_result=result)
            else:
                self._callback(np.copy(x))
        except StopIteration:
            return True
        return False
