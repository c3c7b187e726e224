"""Curve-fitting problems for the least-squares tests and benchmark: residuals, Jacobians,
starts and (for some) bounds or scaling.  Data are drawn from seeded generators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LsqProblem:
    """One least-squares test problem.

    Attributes
    ----------
    name : str
        Short identifier (used in test ids).
    fun, jac : callable
        Residuals ``(n,) -> (m,)`` and their Jacobian ``(n,) -> (m, n)``.
    x0 : ndarray, shape (n,)
        Start.
    bounds : tuple of arrays
        ``(lb, ub)``; infinite when the problem is unbounded.
    options : dict
        Extra keyword arguments for ``least_squares`` (e.g. ``x_scale='jac'``).
    """

    name: str
    fun: Callable[[FloatArray], FloatArray]
    jac: Callable[[FloatArray], FloatArray]
    x0: FloatArray
    bounds: tuple[Any, Any] = (-np.inf, np.inf)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def bounded(self) -> bool:
        lb, ub = self.bounds
        return bool(np.any(np.isfinite(lb)) or np.any(np.isfinite(ub)))


def _decay_data(seed: int, n_outliers: int = 0) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 10.0, 40)
    y = 2.5 * np.exp(-0.7 * t) + 0.3 + 0.02 * rng.standard_normal(t.size)
    if n_outliers:
        where = rng.choice(t.size, n_outliers, replace=False)
        y[where] += 4.0 * rng.standard_normal(n_outliers)
    return t, y


def _decay(t: FloatArray, y: FloatArray) -> tuple[Callable[[FloatArray], FloatArray],
                                                  Callable[[FloatArray], FloatArray]]:
    def fun(x: FloatArray) -> FloatArray:
        return x[0] * np.exp(-x[1] * t) + x[2] - y

    def jac(x: FloatArray) -> FloatArray:
        e = np.exp(-x[1] * t)
        return np.column_stack((e, -x[0] * t * e, np.ones_like(t)))
    return fun, jac


def exponential_decay() -> LsqProblem:
    fun, jac = _decay(*_decay_data(1))
    return LsqProblem("exp_decay", fun, jac, np.array([1.0, 0.3, 0.0]))


def gaussian_peak() -> LsqProblem:
    rng = np.random.default_rng(2)
    t = np.linspace(-5.0, 5.0, 60)
    y = 3.0 * np.exp(-((t - 0.8) ** 2) / (2 * 1.3**2)) + 0.05 * rng.standard_normal(t.size)

    def fun(x: FloatArray) -> FloatArray:
        return x[0] * np.exp(-((t - x[1]) ** 2) / (2 * x[2] ** 2)) - y

    def jac(x: FloatArray) -> FloatArray:
        e = np.exp(-((t - x[1]) ** 2) / (2 * x[2] ** 2))
        return np.column_stack((e, x[0] * e * (t - x[1]) / x[2] ** 2,
                                x[0] * e * (t - x[1]) ** 2 / x[2] ** 3))
    return LsqProblem("gaussian", fun, jac, np.array([1.0, 0.0, 1.0]))


def rosenbrock() -> LsqProblem:
    def fun(x: FloatArray) -> FloatArray:
        return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])

    def jac(x: FloatArray) -> FloatArray:
        return np.array([[-20 * x[0], 10.0], [-1.0, 0.0]])
    return LsqProblem("rosenbrock", fun, jac, np.array([-1.2, 1.0]))


def bounded_decay() -> LsqProblem:
    """The decay fit with the rate held below its best value: the upper bound is active."""
    fun, jac = _decay(*_decay_data(1))
    return LsqProblem("bounded_decay", fun, jac, np.array([1.0, 0.3, 0.0]),
                      bounds=(np.array([0.0, 0.0, -1.0]), np.array([10.0, 0.5, 5.0])))


def badly_scaled() -> LsqProblem:
    """Amplitude ~1e-3, time constant ~1e3: solved with ``x_scale='jac'``."""
    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 5000.0, 50)
    y = 2e-3 * np.exp(-t / 1200.0) + 1e-5 * rng.standard_normal(t.size)

    def fun(x: FloatArray) -> FloatArray:
        return x[0] * np.exp(-t / x[1]) - y

    def jac(x: FloatArray) -> FloatArray:
        e = np.exp(-t / x[1])
        return np.column_stack((e, x[0] * e * t / x[1] ** 2))
    return LsqProblem("x_scale_jac", fun, jac, np.array([1e-3, 800.0]),
                      options={"x_scale": "jac"})


def large_residual() -> LsqProblem:
    """The decay fit on data with 8 gross outliers: a large residual at the solution."""
    fun, jac = _decay(*_decay_data(4, n_outliers=8))
    return LsqProblem("large_residual", fun, jac, np.array([1.0, 0.3, 0.0]))


PROBLEMS: tuple[LsqProblem, ...] = (exponential_decay(), gaussian_peak(), rosenbrock(),
                                    bounded_decay(), badly_scaled(), large_residual())
