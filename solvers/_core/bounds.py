"""Box bounds: the `Bounds` class, conversion from ``(min, max)`` pairs, validation and clipping.

Any object with the attributes of scipy's `Bounds` (``lb``, ``ub`` and optionally
``keep_feasible``) is accepted by those attributes and converted here, once, into our `Bounds`
(`as_bounds`); scipy is never imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Bounds", "as_bounds", "is_bounds_like", "scalar_bounds", "standardize_bounds",
           "clip_to_bounds"]

FloatArray = npt.NDArray[np.float64]


class Bounds:
    """Bounds ``lb <= x <= ub`` on the variables, as `scipy.optimize.Bounds`.

    Parameters
    ----------
    lb, ub : float or array_like
        Lower and upper bounds; ``-np.inf`` / ``np.inf`` mean no bound.  Scalars broadcast.
    keep_feasible : bool or array_like of bool
        Whether iterates must stay feasible (kept for compatibility; the bounded methods here
        always evaluate inside the bounds).
    """

    def __init__(self, lb: Any = -np.inf, ub: Any = np.inf, keep_feasible: Any = False) -> None:
        self.lb = np.asarray(lb, dtype=float)
        self.ub = np.asarray(ub, dtype=float)
        self.keep_feasible = np.asarray(keep_feasible, dtype=bool)

    def __repr__(self) -> str:
        start = f"{type(self).__name__}({self.lb!r}, {self.ub!r}"
        if np.any(self.keep_feasible):
            return start + f", keep_feasible={self.keep_feasible!r})"
        return start + ")"

    def residual(self, x: Any) -> tuple[FloatArray, FloatArray]:
        """Return ``(x - lb, ub - x)``: how far inside the bounds ``x`` is."""
        x = np.asarray(x, dtype=float)
        return x - self.lb, self.ub - x


def is_bounds_like(obj: Any) -> bool:
    """True for our `Bounds` or any object with ``lb`` and ``ub`` attributes (scipy's `Bounds`)."""
    return isinstance(obj, Bounds) or (hasattr(obj, "lb") and hasattr(obj, "ub"))


def as_bounds(obj: Any) -> Bounds:
    """Our `Bounds` from a bounds-like object, by its ``lb``, ``ub``, ``keep_feasible``.

    Raises
    ------
    ValueError
        When ``lb`` or ``ub`` is not an array of real numbers.
    """
    if isinstance(obj, Bounds):
        return obj
    try:
        return Bounds(obj.lb, obj.ub, getattr(obj, "keep_feasible", False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bounds: `lb` and `ub` of the {type(obj).__name__} must be real "
                         f"numbers or arrays of them ({exc}).") from exc


def scalar_bounds(bounds: Any) -> Any:
    """``minimize_scalar``'s bounds: a bounds-like object becomes the pair ``(lb, ub)`` (floats).

    Anything else is returned unchanged (the bounded method validates pairs itself).

    Raises
    ------
    ValueError
        When a bounds-like object does not hold exactly one lower and one upper bound.
    """
    if not is_bounds_like(bounds):
        return bounds
    converted = as_bounds(bounds)
    if converted.lb.size != 1 or converted.ub.size != 1:
        raise ValueError("bounds must have two elements: a Bounds object passed to "
                         "minimize_scalar must hold one lower and one upper bound, got "
                         f"lb of shape {converted.lb.shape} and ub of shape "
                         f"{converted.ub.shape}.")
    return float(converted.lb.reshape(())), float(converted.ub.reshape(()))


def _pairs_to_arrays(pairs: Sequence[Any], n: int) -> tuple[FloatArray, FloatArray]:
    try:
        rows = [tuple(pair) for pair in pairs]
    except TypeError as exc:
        raise ValueError("bounds must be a Bounds instance or a sequence of (min, max) pairs") from exc
    if any(len(row) != 2 for row in rows):
        raise ValueError("each bound must be a (min, max) pair; use None for no bound")
    if len(rows) != n:
        raise ValueError(
            f"The number of bounds is not compatible with the length of `x0`: "
            f"got {len(rows)} bounds for {n} variables."
        )
    lb = np.array([-np.inf if lo is None else lo for lo, _ in rows], dtype=float)
    ub = np.array([np.inf if hi is None else hi for _, hi in rows], dtype=float)
    return lb, ub


def standardize_bounds(bounds: Any, n: int) -> Bounds:
    """Return validated `Bounds` with ``lb`` and ``ub`` of shape (n,).

    ``bounds`` is a bounds-like object (see `is_bounds_like`) or a sequence of ``(min, max)``
    pairs (None: no bound on that side).

    Raises
    ------
    ValueError
        On a wrong number of bounds, a NaN bound, or a lower bound above its upper bound.
    """
    if is_bounds_like(bounds):
        bounds = as_bounds(bounds)
        try:
            lb = np.broadcast_to(bounds.lb, (n,)).astype(float)
            ub = np.broadcast_to(bounds.ub, (n,)).astype(float)
            keep = np.broadcast_to(bounds.keep_feasible, (n,)).copy()
        except ValueError as exc:
            raise ValueError(
                f"The number of bounds is not compatible with the length of `x0`: "
                f"lb has shape {bounds.lb.shape}, ub has shape {bounds.ub.shape}, "
                f"x0 has {n} variables."
            ) from exc
    else:
        lb, ub = _pairs_to_arrays(bounds, n)
        keep = np.zeros(n, dtype=bool)
    if np.isnan(lb).any() or np.isnan(ub).any():
        bad = np.flatnonzero(np.isnan(lb) | np.isnan(ub))
        raise ValueError(f"Bounds must not be NaN (variables {bad.tolist()}).")
    if (lb > ub).any():
        bad = np.flatnonzero(lb > ub)
        raise ValueError(
            "An upper bound is less than the corresponding lower bound "
            f"(variables {bad.tolist()}: lb={lb[bad].tolist()}, ub={ub[bad].tolist()})."
        )
    return Bounds(lb, ub, keep)


def clip_to_bounds(x: FloatArray, bounds: Bounds | None) -> FloatArray:
    """Return ``x`` clipped into ``bounds`` (a copy; ``x`` itself when there are no bounds)."""
    if bounds is None:
        return x
    return np.clip(x, bounds.lb, bounds.ub)
