"""The ``linear`` model: a straight line ``y = a*x + b`` fitted by least squares.

Data columns ``('x', 'y')``, any units; ``a`` is in units of y per unit of x, ``b`` in units of
y. The objective is the sum of squared residuals ``sum((y - a*x - b)**2)`` (units of y squared).
"""

from __future__ import annotations

import numpy as np

from calib.models.base import FloatArray, Model, as_batch, as_data, check_vector
from calib.parameters import Parameter

__all__ = ["LINEAR", "NOISE_SD", "X_RANGE", "objective", "objective_batch", "residuals",
           "residuals_batch", "simulate"]

#: standard deviation of the Gaussian noise the simulator adds to y
NOISE_SD = 1.0
#: the simulator's x values are evenly spaced over this interval
X_RANGE = (0.0, 10.0)


def objective(params: FloatArray, data: FloatArray) -> float:
    """Sum of squared residuals of ``y - (a*x + b)``.

    Parameters
    ----------
    params : ndarray, shape (2,)
        ``(a, b)``: slope and intercept.
    data : ndarray, shape (n_obs, 2)
        Columns ``x``, ``y``.

    Returns
    -------
    float
        ``sum((y - a*x - b)**2)``.
    """
    a, b = check_vector(params, 2, "linear")
    xy = as_data(data, 2, "linear")
    residual = xy[:, 1] - (a * xy[:, 0] + b)
    return float(np.sum(residual * residual))


def objective_batch(params: FloatArray, data: FloatArray) -> FloatArray:
    """`objective` for each row of a ``(k, 2)`` batch of ``(a, b)``; returns shape ``(k,)``."""
    ab = as_batch(params, 2, "linear")
    xy = as_data(data, 2, "linear")
    residual = xy[:, 1] - (ab[:, 0:1] * xy[:, 0] + ab[:, 1:2])
    return np.sum(residual * residual, axis=1)


def residuals(params: FloatArray, data: FloatArray) -> FloatArray:
    """Residuals ``y - (a*x + b)``, shape (n_obs,); `objective` is their sum of squares."""
    a, b = check_vector(params, 2, "linear")
    xy = as_data(data, 2, "linear")
    return np.asarray(xy[:, 1] - (a * xy[:, 0] + b), dtype=np.float64)


def residuals_batch(params: FloatArray, data: FloatArray) -> FloatArray:
    """`residuals` for each row of a ``(k, 2)`` batch of ``(a, b)``; shape (k, n_obs)."""
    ab = as_batch(params, 2, "linear")
    xy = as_data(data, 2, "linear")
    return np.asarray(xy[:, 1] - (ab[:, 0:1] * xy[:, 0] + ab[:, 1:2]), dtype=np.float64)


def simulate(truth: FloatArray, n_points: int, rng: np.random.Generator) -> FloatArray:
    """Draw ``(x, y)`` with x evenly spaced over `X_RANGE` and y = a*x + b + N(0, NOISE_SD**2).

    Returns
    -------
    ndarray, shape (n_points, 2)
    """
    a, b = check_vector(truth, 2, "linear")
    x = np.linspace(X_RANGE[0], X_RANGE[1], n_points)
    y = a * x + b + NOISE_SD * rng.standard_normal(n_points)
    return np.column_stack([x, y])


LINEAR = Model(
    name="linear",
    parameters=(Parameter("a", -100.0, 100.0), Parameter("b", -100.0, 100.0)),
    columns=("x", "y"),
    objective=objective,
    objective_batch=objective_batch,
    simulate=simulate, kind="sse", residuals=residuals, residuals_batch=residuals_batch,
)
