"""Per-iteration trace recording.

`Trace` appends one row per iteration: the point ``x`` (shape (n,)), the objective ``f``, the
gradient norm (NaN for methods without a gradient) and the cumulative number of objective
evaluations.  `NULL_TRACE` has the same interface and does nothing, so that methods call
``trace.record`` unconditionally and a run without tracing pays one no-op call per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["Trace", "NullTrace", "NULL_TRACE", "TraceArrays"]


@dataclass(frozen=True)
class TraceArrays:
    """A trace as arrays: ``x`` (n_iter, n), ``f``, ``grad_norm`` and ``nfev`` (n_iter,)."""

    x: npt.NDArray[np.float64]
    f: npt.NDArray[np.float64]
    grad_norm: npt.NDArray[np.float64]
    nfev: npt.NDArray[np.int64]


@dataclass
class Trace:
    """Append-only record of iterates; row 0 is the starting point."""

    x: list[npt.NDArray[np.float64]] = field(default_factory=list)
    f: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    nfev: list[int] = field(default_factory=list)

    enabled = True

    def record(self, x: npt.NDArray[np.float64], f: float, grad_norm: float, nfev: int) -> None:
        """Append one iterate (``x`` is copied)."""
        self.x.append(np.array(x, dtype=float, copy=True))
        self.f.append(float(f))
        self.grad_norm.append(float(grad_norm))
        self.nfev.append(int(nfev))

    def __len__(self) -> int:
        return len(self.f)

    def to_arrays(self) -> TraceArrays:
        """Return the trace as numpy arrays (see `TraceArrays`)."""
        n = self.x[0].size if self.x else 0
        return TraceArrays(
            x=np.array(self.x, dtype=float).reshape(len(self.x), n),
            f=np.array(self.f, dtype=float),
            grad_norm=np.array(self.grad_norm, dtype=float),
            nfev=np.array(self.nfev, dtype=np.int64),
        )

    def __repr__(self) -> str:
        last = f", last f={self.f[-1]:.6g}" if self.f else ""
        return f"Trace({len(self)} iterations{last})"


class NullTrace:
    """A trace that records nothing."""

    enabled = False

    def record(self, x: npt.NDArray[np.float64], f: float, grad_norm: float, nfev: int) -> None:
        """Do nothing."""


NULL_TRACE = NullTrace()
