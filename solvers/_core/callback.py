"""Per-iteration bookkeeping shared by every method: callback, trace, ``allvecs``, ``nit``.

A method calls `Iterations.start` once with the starting point and `Iterations.step` once per
iteration.  The user's callback is called as scipy calls it: ``callback(xk)``, or
``callback(intermediate_result=OptimizeResult(x=..., fun=...))`` when its only parameter is
named ``intermediate_result``.  A callback that raises `StopIteration` ends the run through
`_stops.CallbackStop`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .._result import OptimizeResult
from .stops import CallbackStop
from .trace import NULL_TRACE, NullTrace, Trace

__all__ = ["Iterations", "wants_intermediate_result"]

FloatArray = npt.NDArray[np.float64]


def wants_intermediate_result(callback: Callable[..., Any]) -> bool:
    """Return True when ``callback``'s only parameter is named ``intermediate_result``."""
    try:
        params = inspect.signature(callback).parameters
    except (TypeError, ValueError):
        return False
    return set(params) == {"intermediate_result"}


class Iterations:
    """Counts iterations and feeds each iterate to the trace, ``allvecs`` and the callback.

    Parameters
    ----------
    callback : callable or None
        The user's callback.
    trace : bool
        Record a `Trace` (x, f, gradient norm, cumulative nfev per iteration).
    keep_all : bool
        Keep every iterate for ``result.allvecs`` (scipy's ``return_all``).
    nfev : callable returning int
        Reads the current evaluation count (bound by the method once it has its objective).
    """

    def __init__(self, callback: Callable[..., Any] | None = None, *, trace: bool = False,
                 keep_all: bool = False) -> None:
        self.nit = 0
        self.trace: Trace | NullTrace = Trace() if trace else NULL_TRACE
        self.allvecs: list[FloatArray] | None = [] if keep_all else None
        self._callback = callback
        self._intermediate = callback is not None and wants_intermediate_result(callback)
        self._watch = trace or keep_all
        self.last_x: FloatArray | None = None
        self.last_f: float = np.nan
        self.nfev: Callable[[], int] = lambda: 0

    def _note(self, x: FloatArray, f: float, grad: FloatArray | None) -> None:
        if self.trace.enabled:
            gnorm = float(np.linalg.norm(grad)) if grad is not None else np.nan
            self.trace.record(x, f, gnorm, self.nfev())
        if self.allvecs is not None:
            self.allvecs.append(np.array(x, dtype=float))

    def start(self, x: FloatArray, f: float, grad: FloatArray | None = None) -> None:
        """Record the starting point (trace row 0, first entry of ``allvecs``)."""
        self.last_x, self.last_f = x, f
        if self._watch:
            self._note(x, f, grad)

    def step(self, x: FloatArray, f: float, grad: FloatArray | None = None,
             **extra: Any) -> None:
        """Count one iteration ending at ``x`` with value ``f``; call the callback.

        ``extra`` fields are added to the ``intermediate_result`` passed to the callback.
        """
        self.nit += 1
        self.last_x, self.last_f = x, f
        if self._watch:
            self._note(x, f, grad)
        if self._callback is not None:
            self._notify(x, f, extra)

    def count_unreported(self, x: FloatArray, f: float, grad: FloatArray | None = None) -> None:
        """Count an iteration and trace it, without a callback call or an ``allvecs`` entry.

        (Nelder-Mead counts the evaluation of its initial simplex as iteration 1 this way.)
        """
        self.nit += 1
        self.last_x, self.last_f = x, f
        if self.trace.enabled:
            gnorm = float(np.linalg.norm(grad)) if grad is not None else np.nan
            self.trace.record(x, f, gnorm, self.nfev())

    def report_uncounted(self, x: FloatArray, f: float, **extra: Any) -> None:
        """Report an abandoned iteration to ``allvecs`` and the callback, without counting it.

        (Nelder-Mead reports the iteration cut short by ``maxfev`` this way, as scipy does.)
        """
        self.last_x, self.last_f = x, f
        if self.allvecs is not None:
            self.allvecs.append(np.array(x, dtype=float))
        if self._callback is not None:
            self._notify(x, f, extra)

    @property
    def has_callback(self) -> bool:
        """Whether a user callback is attached."""
        return self._callback is not None

    def detach_callback(self) -> Callable[..., Any] | None:
        """Remove and return the user's callback, for a method that calls it itself with its own
        protocol (trust-constr's ``callback(xk, state)``); `step` then only counts and records."""
        callback, self._callback = self._callback, None
        return callback

    def _notify(self, x: FloatArray, f: float, extra: dict[str, Any]) -> None:
        try:
            if self._intermediate:
                res = OptimizeResult(x=np.array(x, dtype=float), fun=f, nit=self.nit, **extra)
                self._callback(intermediate_result=res)  # type: ignore[misc]
            else:
                self._callback(np.array(x, dtype=float))  # type: ignore[misc]
        except StopIteration as exc:
            raise CallbackStop() from exc
