"""`BatchResult`: the per-start outcome of `minimize_batch` as arrays, and the collector methods
write finished starts into.

Row ``i`` of every array belongs to start ``i`` (row ``i`` of ``x0``). ``result[i]`` (or
``result.results()``) gives the start as a `solvers.OptimizeResult` with scipy's fields and
messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .._core.trace import Trace
from .._result import OptimizeResult

__all__ = ["BatchResult", "Outcomes"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class BatchResult:
    """What `minimize_batch` returns: one row per start.

    Attributes
    ----------
    x : ndarray, shape (k, d)
        Final point of each start.
    fun : ndarray, shape (k,)
        Objective at ``x``.
    jac : ndarray, shape (k, d)
        Gradient at ``x`` (NaN for Nelder-Mead, or where it is unknown).
    success : ndarray of bool, shape (k,)
    status : ndarray of int, shape (k,)
        The method's scipy status code (0 success).
    message : list of str, length k
        scipy's termination message, or why the start failed (exception text, non-finite value).
    nit, nfev, njev : ndarray of int, shape (k,)
        Iterations, objective evaluations (rows of ``X`` evaluated for this start, including
        finite-difference rows) and gradient evaluations, per start.
    method : str
        The method that ran.
    traces : tuple of Trace, or None
        Per-start traces when ``trace=True`` (row 0: the start).
    """

    x: FloatArray
    fun: FloatArray
    jac: FloatArray
    success: npt.NDArray[np.bool_]
    status: IntArray
    message: list[str]
    nit: IntArray
    nfev: IntArray
    njev: IntArray
    method: str
    traces: tuple[Trace, ...] | None = None

    def __len__(self) -> int:
        return int(self.fun.shape[0])

    def __getitem__(self, i: int) -> OptimizeResult:
        """Start ``i`` as an `OptimizeResult` (``x``, ``fun``, ``jac``, counts, status...)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"start index {i} out of range for {len(self)} starts")
        res = OptimizeResult(
            x=self.x[i].copy(), fun=float(self.fun[i]), nit=int(self.nit[i]),
            nfev=int(self.nfev[i]), njev=int(self.njev[i]), status=int(self.status[i]),
            success=bool(self.success[i]), message=self.message[i])
        if np.isfinite(self.jac[i]).all():
            res.jac = self.jac[i].copy()
        if self.traces is not None:
            res.trace = self.traces[i]
        return res

    def results(self) -> list[OptimizeResult]:
        """Every start as an `OptimizeResult`, in start order."""
        return [self[i] for i in range(len(self))]


@dataclass
class Outcomes:
    """Mutable collector of finished starts (methods write here; `freeze` builds the result)."""

    x: FloatArray
    fun: FloatArray
    jac: FloatArray
    status: IntArray
    nit: IntArray
    message: list[str]
    traces: list[Trace] | None
    done: npt.NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        self.done = np.zeros(self.fun.shape[0], dtype=bool)

    @classmethod
    def empty(cls, x0: FloatArray, trace: bool) -> Outcomes:
        k, d = x0.shape
        return cls(x=x0.copy(), fun=np.full(k, np.nan), jac=np.full((k, d), np.nan),
                   status=np.zeros(k, dtype=np.int64), nit=np.zeros(k, dtype=np.int64),
                   message=[""] * k, traces=[Trace() for _ in range(k)] if trace else None)

    def finish(self, ids: npt.ArrayLike, x: FloatArray, f: FloatArray, g: FloatArray | None,
               nit: npt.ArrayLike, status: int, messages: str | list[str]) -> None:
        """Record finished starts ``ids`` (m,) with their ``x`` (m, d), ``f``, ``g``, ``nit``."""
        ids = np.asarray(ids, dtype=np.intp)
        if ids.size == 0:
            return
        self.x[ids], self.fun[ids] = x, f
        if g is not None:
            self.jac[ids] = g
        self.nit[ids], self.status[ids] = nit, status
        texts = [messages] * ids.size if isinstance(messages, str) else messages
        for i, text in zip(ids.tolist(), texts):
            self.message[i] = text
        self.done[ids] = True

    def record(self, ids: npt.ArrayLike, x: FloatArray, f: FloatArray,
               grad_norm: FloatArray, nfev: IntArray) -> None:
        """Append one trace row per start in ``ids`` (no-op without traces)."""
        if self.traces is None:
            return
        for row, i in enumerate(np.asarray(ids).tolist()):
            self.traces[i].record(x[row], float(f[row]), float(grad_norm[row]), int(nfev[i]))

    def freeze(self, method: str, nfev: IntArray, njev: IntArray) -> BatchResult:
        """Build the `BatchResult` (every start must be finished)."""
        if not self.done.all():
            missing = np.flatnonzero(~self.done)[:5].tolist()
            raise RuntimeError(f"internal error: starts {missing} did not finish")
        return BatchResult(x=self.x, fun=self.fun, jac=self.jac, success=self.status == 0,
                           status=self.status, message=list(self.message), nit=self.nit,
                           nfev=nfev.copy(), njev=njev.copy(), method=method,
                           traces=tuple(self.traces) if self.traces is not None else None)
