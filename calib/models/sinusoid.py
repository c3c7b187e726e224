"""The ``sinusoid`` model: ``y = a*sin(x) + b*x + c`` fitted by least squares.

Data columns ``('x', 'y')``; x is an angle in radians, y in any units; ``a`` and ``c`` are in
units of y, ``b`` in units of y per radian. The objective is the sum of squared residuals
``sum((y - a*sin(x) - b*x - c)**2)`` (units of y squared).
"""

from __future__ import annotations

import numpy as np

from calib.models.base import FloatArray, Model, as_batch, as_data, check_vector
from calib.parameters import Parameter

__all__ = ["NOISE_SD", "SINUSOID", "X_RANGE", "objective", "objective_batch", "residuals",
           "residuals_batch", "simulate"]

#: standard deviation of the Gaussian noise the simulator adds to y
NOISE_SD = 0.5
#: the simulator's x values (radians) are evenly spaced over this interval: two full periods
X_RANGE = (0.0, 4.0 * np.pi)


def objective(params: FloatArray, data: FloatArray) -> float:
    """Sum of squared residuals of ``y - (a*sin(x) + b*x + c)``.

    Parameters
    ----------
    params : ndarray, shape (3,)
        ``(a, b, c)``: amplitude, slope, offset.
    data : ndarray, shape (n_obs, 2)
        Columns ``x`` (radians), ``y``.

    Returns
    -------
    float
    """
    a, b, c = check_vector(params, 3, "sinusoid")
    xy = as_data(data, 2, "sinusoid")
    x = xy[:, 0]
    residual = xy[:, 1] - (a * np.sin(x) + b * x + c)
    return float(np.sum(residual * residual))


def objective_batch(params: FloatArray, data: FloatArray) -> FloatArray:
    """`objective` for each row of a ``(k, 3)`` batch of ``(a, b, c)``; returns ``(k,)``.

    The sum of squares is linear least squares in ``p = (a, b, c)`` with design
    ``A = [sin(x), x, 1]``, so it is computed exactly as ``f(p) = f* + |L^T (p - p*)|^2``: ``p*``
    the least-squares solution, ``f*`` its sum of squares (summed directly), ``L`` the Cholesky
    factor of ``A^T A``. That costs O(n_obs) once per call and O(1) per row (both terms are sums
    of non-negative numbers, so the value agrees with the direct sum to rounding, ~1e-15
    relative). When the data are not finite or ``A^T A`` is singular or badly conditioned the
    residuals are summed directly, row by row.
    """
    abc = as_batch(params, 3, "sinusoid")
    xy = as_data(data, 2, "sinusoid")
    x, y = xy[:, 0], xy[:, 1]
    design = np.column_stack([np.sin(x), x, np.ones_like(x)])
    factors = _least_squares_factors(design, y)
    if factors is None:
        residual = y - (abc[:, 0:1] * design[:, 0] + abc[:, 1:2] * x + abc[:, 2:3])
        return np.einsum("ij,ij->i", residual, residual)
    best, f_best, cholesky = factors
    offset = np.einsum("kj,jl->kl", abc - best, cholesky)   # rows of L^T (p - p*)
    return f_best + np.einsum("kl,kl->k", offset, offset)


def residuals(params: FloatArray, data: FloatArray) -> FloatArray:
    """Residuals ``y - (a*sin(x) + b*x + c)``, shape (n_obs,); `objective` is their sum of
    squares."""
    a, b, c = check_vector(params, 3, "sinusoid")
    xy = as_data(data, 2, "sinusoid")
    x = xy[:, 0]
    return np.asarray(xy[:, 1] - (a * np.sin(x) + b * x + c), dtype=np.float64)


def residuals_batch(params: FloatArray, data: FloatArray) -> FloatArray:
    """`residuals` for each row of a ``(k, 3)`` batch of ``(a, b, c)``; shape (k, n_obs)."""
    abc = as_batch(params, 3, "sinusoid")
    xy = as_data(data, 2, "sinusoid")
    x = xy[:, 0]
    return np.asarray(xy[:, 1] - (abc[:, 0:1] * np.sin(x) + abc[:, 1:2] * x + abc[:, 2:3]),
                      dtype=np.float64)


#: ``A^T A`` whose smallest Cholesky pivot squared is below this fraction of its largest
#: diagonal entry is treated as singular (the direct sum is used)
_CONDITION_LIMIT = 1e-10


def _least_squares_factors(design: FloatArray, y: FloatArray
                           ) -> tuple[FloatArray, float, FloatArray] | None:
    """``(p*, f*, L)`` for the least-squares problem ``min |y - A p|^2``, or None when the
    data are not finite or ``A^T A`` is (nearly) singular."""
    if not (np.isfinite(design).all() and np.isfinite(y).all()):
        return None
    gram: FloatArray = design.T @ design
    try:
        cholesky = np.asarray(np.linalg.cholesky(gram), dtype=np.float64)
    except np.linalg.LinAlgError:
        return None
    if np.min(np.diag(cholesky)) ** 2 <= _CONDITION_LIMIT * np.max(np.diag(gram)):
        return None
    best = np.asarray(np.linalg.solve(gram, design.T @ y), dtype=np.float64)
    residual = y - design @ best
    return best, float(residual @ residual), cholesky


def simulate(truth: FloatArray, n_points: int, rng: np.random.Generator) -> FloatArray:
    """Draw ``(x, y)``: x evenly spaced over `X_RANGE`, y = a*sin(x) + b*x + c + N(0, 0.5**2).

    Returns
    -------
    ndarray, shape (n_points, 2)
    """
    a, b, c = check_vector(truth, 3, "sinusoid")
    x = np.linspace(X_RANGE[0], X_RANGE[1], n_points)
    y = a * np.sin(x) + b * x + c + NOISE_SD * rng.standard_normal(n_points)
    return np.column_stack([x, y])


SINUSOID = Model(
    name="sinusoid",
    parameters=(Parameter("a", -100.0, 100.0), Parameter("b", -100.0, 100.0),
                Parameter("c", -100.0, 100.0)),
    columns=("x", "y"),
    objective=objective,
    objective_batch=objective_batch,
    simulate=simulate, kind="sse", residuals=residuals, residuals_batch=residuals_batch,
)
