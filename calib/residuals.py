"""Residual objectives: a least-squares model given by its residual vector.

A residual model is ``residuals(params (p,), data) -> (m,)`` in natural units, with an
optional vectorised twin ``residuals_batch(params (k, p), data) -> (k, m)`` and an optional
Jacobian ``residuals_jacobian(params (p,), data) -> (m, p)``.  The objective calib stores and
minimises with the `solvers.minimize` methods is the plain sum of squares
``fun = sum(r**2)`` (no 0.5 factor: the same value as a ``kind = "sse"`` objective, so the
selection, ``kind`` and the standard errors mean the same thing; scipy's ``cost`` is half of
it).  `ResidualCallables` builds those objectives (`SumOfSquares`, `SumOfSquaresBatch`, and
`SumOfSquaresGradient` ``2 J^T r`` when there is a Jacobian) and sees the user's callables
through the free parameters when some are fixed (`calib.fixed`).

The least-squares methods ``trf``, ``dogbox`` and ``lm`` (`solvers.least_squares`) are
described here by a `solvers.MethodSpec` each (`least_squares_method_spec`) and their options
by `LEAST_SQUARES_OPTIONS`; ``lm`` takes no bounds, so (as for every `minimize` method without
bounds) each point it proposes is clipped into the box before the residuals are evaluated.
Every wrapper is a module-level frozen dataclass, so a `calib.Problem` built from them pickles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from calib.errors import ProblemError
from calib.fixed import FixedGradient, FixedLayout, FixedObjective, UserCallables
from solvers import MethodSpec, least_squares

__all__ = ["LEAST_SQUARES_METHODS", "LEAST_SQUARES_OPTIONS", "ResidualCallables",
           "SumOfSquares", "SumOfSquaresBatch", "SumOfSquaresGradient",
           "check_least_squares_option", "is_least_squares_method",
           "least_squares_method_spec"]

FloatArray = npt.NDArray[np.float64]
ResidualFunction = Callable[[FloatArray, FloatArray], Any]

#: the `solvers.least_squares` methods a problem can name (lower case, as scipy spells them)
LEAST_SQUARES_METHODS: tuple[str, ...] = ("trf", "dogbox", "lm")
#: options of the least-squares methods that a sweep may set, with what each must be
LEAST_SQUARES_OPTIONS: dict[str, str] = {
    "ftol": "a number >= 0", "xtol": "a number >= 0", "gtol": "a number >= 0",
    "x_scale": "a positive number or 'jac'",
    "loss": "one of 'linear', 'soft_l1', 'huber', 'cauchy', 'arctan'",
    "f_scale": "a positive number", "diff_step": "a positive number",
    "max_nfev": "a positive integer", "tr_solver": "'exact' or 'lsmr'"}
_LOSSES = ("linear", "soft_l1", "huber", "cauchy", "arctan")


def is_least_squares_method(method: object) -> bool:
    """True when ``method`` names a `solvers.least_squares` method (case-insensitive)."""
    return isinstance(method, str) and method.lower() in LEAST_SQUARES_METHODS


def least_squares_method_spec(method: str) -> MethodSpec:
    """The capability record of least-squares ``method`` (``'trf'``, ``'dogbox'``, ``'lm'``).

    ``supports_bounds`` is False for ``lm`` only (its points are clipped into the box).

    Raises
    ------
    ProblemError
        When ``method`` is not one of `LEAST_SQUARES_METHODS`.
    """
    name = method.lower()
    if name not in LEAST_SQUARES_METHODS:
        raise ProblemError(f"{method!r} is not a least-squares method; use one of "
                           f"{', '.join(LEAST_SQUARES_METHODS)}")
    return MethodSpec(name, least_squares, uses_jac=True, supports_bounds=name != "lm",
                      supports_return_all=False)


def check_least_squares_option(name: str, value: object) -> str | None:
    """None when ``value`` is valid for least-squares option ``name``, else what it must be."""
    if name not in LEAST_SQUARES_OPTIONS:
        return (f"is not an option of the least-squares methods; their options: "
                f"{', '.join(sorted(LEAST_SQUARES_OPTIONS))}")
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    valid = {
        "ftol": number and float(value) >= 0,  # type: ignore[arg-type]
        "xtol": number and float(value) >= 0,  # type: ignore[arg-type]
        "gtol": number and float(value) >= 0,  # type: ignore[arg-type]
        "x_scale": value == "jac" or (number and float(value) > 0),  # type: ignore[arg-type]
        "loss": value in _LOSSES,
        "f_scale": number and float(value) > 0,  # type: ignore[arg-type]
        "diff_step": number and float(value) > 0,  # type: ignore[arg-type]
        "max_nfev": isinstance(value, int) and not isinstance(value, bool) and value > 0,
        "tr_solver": value in ("exact", "lsmr"),
    }[name]
    return None if valid else f"must be {LEAST_SQUARES_OPTIONS[name]}, got {value!r}"


def _residual_array(raw: Any) -> FloatArray:
    return np.asarray(raw, dtype=np.float64)


@dataclass(frozen=True)
class SumOfSquares:
    """``objective(params (p,), data) -> float``: ``sum(r**2)`` of ``residuals(params, data)``."""

    residuals: ResidualFunction

    def __call__(self, params: FloatArray, data: FloatArray) -> float:
        r = _residual_array(self.residuals(params, data)).ravel()
        return float(r @ r)


@dataclass(frozen=True)
class SumOfSquaresBatch:
    """``objective_batch(params (k, p), data) -> (k,)`` from ``residuals_batch -> (k, m)``."""

    residuals_batch: ResidualFunction

    def __call__(self, params: FloatArray, data: FloatArray) -> FloatArray:
        r = _residual_array(self.residuals_batch(params, data))
        r = r.reshape(r.shape[0], -1) if r.ndim else r.reshape(1, 1)
        return np.einsum("km,km->k", r, r)


@dataclass(frozen=True)
class SumOfSquaresGradient:
    """``gradient(params (p,), data) -> (p,)`` of ``sum(r**2)``: ``2 J^T r``."""

    residuals: ResidualFunction
    jacobian: ResidualFunction

    def __call__(self, params: FloatArray, data: FloatArray) -> FloatArray:
        r = _residual_array(self.residuals(params, data)).ravel()
        jac = _residual_array(self.jacobian(params, data)).reshape(r.size, -1)
        return np.asarray(2.0 * (jac.T @ r), dtype=np.float64)


@dataclass(frozen=True)
class ResidualCallables:
    """A residual model's callables: residuals, their vectorised twin, their Jacobian."""

    residuals: ResidualFunction
    residuals_batch: ResidualFunction | None = None
    jacobian: ResidualFunction | None = None

    def with_fixed(self, layout: FixedLayout | None) -> ResidualCallables:
        """These callables of the free parameters of ``layout`` only (None: unchanged); the
        Jacobian keeps the free columns."""
        if layout is None or not layout.fixed_index:
            return self
        return ResidualCallables(
            residuals=FixedObjective(self.residuals, layout),
            residuals_batch=None if self.residuals_batch is None
            else FixedObjective(self.residuals_batch, layout),
            jacobian=None if self.jacobian is None else FixedGradient(self.jacobian, layout))

    def sum_of_squares(self) -> UserCallables:
        """The objective, vectorised objective and gradient of ``sum(r**2)``."""
        return UserCallables(
            objective=SumOfSquares(self.residuals),
            objective_batch=None if self.residuals_batch is None
            else SumOfSquaresBatch(self.residuals_batch),
            gradient=None if self.jacobian is None
            else SumOfSquaresGradient(self.residuals, self.jacobian))
