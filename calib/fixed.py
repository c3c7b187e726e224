"""Fixed parameters: the user's callables seen through the free parameters only.

A parameter held at a value is not part of the solve: the `calib.Problem` of a sweep with fixed
parameters has only the free ones, and its objective (and vectorised objective, gradient and
vectorised gradient) is `FixedObjective`, which inserts the fixed values before
calling the user's function on the full vector and, for a gradient, keeps the free components.
The wrappers are module-level classes holding plain data, so a `Problem` built from them
pickles (by reference to the user's functions) as it does without fixed parameters.

`FixedLayout` says where the free and the fixed parameters sit in the full vector.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from calib.errors import ProblemError

__all__ = ["FixedLayout", "FixedObjective", "FixedGradient", "UserCallables"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FixedLayout:
    """Which entries of the full parameter vector (length ``n_total``) are fixed, and to what.

    Attributes
    ----------
    n_total : int
        Length of the full vector the user's callables take.
    free_index : tuple of int
        Positions of the free parameters in the full vector, increasing.
    fixed_index : tuple of int
        Positions of the fixed parameters, increasing.
    fixed_values : tuple of float
        The value of each fixed parameter (natural units), in ``fixed_index`` order.

    Raises
    ------
    ProblemError
        When the indices do not partition ``range(n_total)``, the values do not match the
        fixed indices, or no parameter is free.
    """

    n_total: int
    free_index: tuple[int, ...]
    fixed_index: tuple[int, ...]
    fixed_values: tuple[float, ...]

    def __post_init__(self) -> None:
        if sorted(self.free_index + self.fixed_index) != list(range(self.n_total)):
            raise ProblemError(f"free {self.free_index} and fixed {self.fixed_index} positions "
                               f"must partition range({self.n_total})")
        if len(self.fixed_values) != len(self.fixed_index):
            raise ProblemError(f"{len(self.fixed_index)} fixed parameter(s) but "
                               f"{len(self.fixed_values)} value(s)")
        if not self.free_index:
            raise ProblemError("every parameter is fixed: there is nothing to solve for")

    @classmethod
    def of(cls, names: Sequence[str], fixed: Mapping[str, float]) -> FixedLayout:
        """The layout of the parameters ``names`` (full order) with ``fixed`` {name: value}.

        Raises
        ------
        ProblemError
            For a fixed name not in ``names``, or every parameter fixed.
        """
        unknown = sorted(set(fixed) - set(names))
        if unknown:
            raise ProblemError(f"fixed parameter(s) {', '.join(map(repr, unknown))} are not "
                               f"parameters ({', '.join(names)})")
        fixed_index = tuple(i for i, name in enumerate(names) if name in fixed)
        return cls(n_total=len(names),
                   free_index=tuple(i for i, name in enumerate(names) if name not in fixed),
                   fixed_index=fixed_index,
                   fixed_values=tuple(float(fixed[names[i]]) for i in fixed_index))

    def full(self, free: npt.ArrayLike) -> FloatArray:
        """The full vector(s) (..., n_total) from the free values ``free`` (..., n_free)."""
        arr = np.asarray(free, dtype=np.float64)
        out = np.empty(arr.shape[:-1] + (self.n_total,), dtype=np.float64)
        out[..., list(self.free_index)] = arr
        out[..., list(self.fixed_index)] = self.fixed_values
        return out

    def free(self, full: npt.ArrayLike) -> FloatArray:
        """The free components (..., n_free) of full vector(s) ``full`` (..., n_total)."""
        return np.asarray(full, dtype=np.float64)[..., list(self.free_index)]


@dataclass(frozen=True)
class FixedObjective:
    """The user's objective (or its vectorised twin) of the free parameters only.

    ``objective(free (p_free,), data) -> float`` calls ``function(full (p,), data)``; with a
    batch ``free (k, p_free)`` it calls ``function(full (k, p), data)`` and returns its ``(k,)``.
    """

    function: Callable[[FloatArray, FloatArray], Any]
    layout: FixedLayout

    def __call__(self, params: FloatArray, data: FloatArray) -> Any:
        return self.function(self.layout.full(params), data)


@dataclass(frozen=True)
class FixedGradient:
    """The free components of the user's gradient (or of its vectorised twin).

    ``gradient(free (p_free,), data) -> (p_free,)`` from ``function(full (p,), data) -> (p,)``;
    a batch ``(k, p_free)`` gives ``(k, p_free)`` from ``function``'s ``(k, p)``.
    """

    function: Callable[[FloatArray, FloatArray], Any]
    layout: FixedLayout

    def __call__(self, params: FloatArray, data: FloatArray) -> FloatArray:
        return self.layout.free(self.function(self.layout.full(params), data))


@dataclass(frozen=True)
class UserCallables:
    """A problem's user callables: objective, vectorised objective, gradient, its twin."""

    objective: Callable[[FloatArray, FloatArray], Any]
    objective_batch: Callable[[FloatArray, FloatArray], Any] | None = None
    gradient: Callable[[FloatArray, FloatArray], Any] | None = None
    gradient_batch: Callable[[FloatArray, FloatArray], Any] | None = None

    def with_fixed(self, layout: FixedLayout | None) -> UserCallables:
        """These callables seen through the free parameters of ``layout`` (None: unchanged)."""
        if layout is None or not layout.fixed_index:
            return self
        return UserCallables(
            objective=FixedObjective(self.objective, layout),
            objective_batch=None if self.objective_batch is None
            else FixedObjective(self.objective_batch, layout),
            gradient=None if self.gradient is None else FixedGradient(self.gradient, layout),
            gradient_batch=None if self.gradient_batch is None
            else FixedGradient(self.gradient_batch, layout))
