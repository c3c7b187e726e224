"""The active set of a batched run: per-start state arrays that shrink as starts finish.

A method keeps the state of its unfinished starts in a frozen dataclass whose fields are arrays
with the start on axis 0 (``ids`` maps rows back to start indices). `take` keeps the rows still
running, so converged and failed starts are never evaluated again, and the few starts that run
much longer than the rest (stragglers) finish in a batch of only themselves.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["take", "gradient_inf_norm"]

State = TypeVar("State")


def take(state: State, keep: npt.NDArray[np.bool_]) -> State:
    """Return ``state`` with only the rows where ``keep`` (m,) is True, in the same order."""
    fields: dict[str, Any] = {f.name: getattr(state, f.name)[keep]
                              for f in dataclasses.fields(state)}  # type: ignore[arg-type]
    return dataclasses.replace(state, **fields)  # type: ignore[type-var]


def gradient_inf_norm(g: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Largest absolute component of each row of ``g`` (m, d): shape (m,)."""
    return np.abs(g).max(axis=1) if g.shape[1] else np.zeros(g.shape[0])
